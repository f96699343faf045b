//! The loopback HTTP/1.1 plumbing the kit's services share: bind `127.0.0.1:0`, accept on the
//! kit's tokio runtime, collect each request body (capped), hand it to a synchronous handler
//! and count requests per service. Handlers do CPU work only (signing, hashing), so they run
//! inline on the runtime's worker threads.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::error::{KitError, Result};

/// The largest request body a kit service reads (Rekor entries carry whole DSSE envelopes).
const MAX_BODY: usize = 64 << 20;

/// One request, body collected.
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    /// The request headers (for services that check `Authorization` or log them).
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

impl Request {
    /// The value of `name` in the query string, if present (no percent-decoding: the kit's
    /// clients only send digits and hex).
    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// The value of header `name`, if present and valid text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// One response.
pub(crate) struct Reply {
    status: StatusCode,
    content_type: &'static str,
    headers: Vec<(HeaderName, String)>,
    body: Vec<u8>,
}

impl Reply {
    /// A JSON response.
    pub(crate) fn json(status: StatusCode, body: &Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// A response with a raw body.
    pub(crate) fn bytes(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body,
        }
    }

    /// Add a response header.
    pub(crate) fn with_header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The `{"code": N, "message": "..."}` error body Fulcio and Rekor send.
    pub(crate) fn error(error: &KitError) -> Self {
        let status = match error {
            KitError::BadRequest(_) => StatusCode::BAD_REQUEST,
            KitError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            KitError::Conflict(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Self::json(
            status,
            &json!({"code": status.as_u16(), "message": message}),
        )
    }

    /// 404 for a path the service does not serve.
    pub(crate) fn not_found(request: &Request) -> Self {
        Self::json(
            StatusCode::NOT_FOUND,
            &json!({"code": 404, "message": format!("{} {} not found", request.method, request.path)}),
        )
    }

    fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut response = hyper::Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

/// A kit service: Fulcio, Rekor or the TSA.
pub(crate) trait Service: Send + Sync + 'static {
    /// Answer one request.
    fn handle(&self, request: &Request) -> Reply;
}

/// A listening socket on a free loopback port.
pub(crate) fn bind() -> Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The base URL (`http://127.0.0.1:PORT`) of a bound listener.
pub(crate) fn url(listener: &std::net::TcpListener) -> Result<String> {
    Ok(format!("http://{}", listener.local_addr()?))
}

/// Serve `service` on `listener` from `runtime` until the runtime shuts down; every request
/// increments `counter`. Aborting the returned accept task closes the listener (the TUF
/// repository uses that to become unreachable and reachable again on the same port).
pub(crate) fn serve(
    runtime: &tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    service: Arc<dyn Service>,
    counter: Arc<AtomicU64>,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = {
        let _guard = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let accept = runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let service = Arc::clone(&service);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let handler = hyper::service::service_fn(move |request| {
                    let service = Arc::clone(&service);
                    counter.fetch_add(1, Ordering::Relaxed);
                    async move { Ok::<_, Infallible>(respond(service.as_ref(), request).await) }
                });
                // A client hanging up mid-request is not the kit's problem.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), handler)
                    .await;
            });
        }
    });
    Ok(accept)
}

async fn respond(
    service: &dyn Service,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return Reply::error(&KitError::BadRequest(format!(
                "request body unreadable: {error}"
            )))
            .into_response();
        }
    };
    let request = Request {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    };
    service.handle(&request).into_response()
}
