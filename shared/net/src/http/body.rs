//! Body size caps, enforced while the body streams in (and from `Content-Length` before it
//! does), so that a hostile server streaming gigabytes costs at most the cap in memory
//! (issue 10, item 4). Each cap is a named constant with the reason for its size.

use reqwest::Url;

use super::error::{NetError, NetErrorKind};

/// The most this client reads of one body, and what the body was meant to be (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyCap {
    /// Bytes.
    pub limit: u64,
    /// `attestations API page`, `sidecar`, … for the error message.
    pub what: &'static str,
}

impl BodyCap {
    /// A cap for a body whose size is known in advance (a bottle: the size its manifest names).
    pub const fn exactly(limit: u64, what: &'static str) -> Self {
        Self { limit, what }
    }
}

/// One page of the attestations API: up to 100 entries, each an inline bundle of a few KiB
/// (large statements with 1,024 subjects reach ~200 KiB), so 32 MiB is generous.
pub const API_PAGE: BodyCap = BodyCap {
    limit: 32 << 20,
    what: "attestations API page",
};
/// A `bundle_url` body (snappy-compressed bundle). The decompressed size is checked against
/// [`BUNDLE_JSON`] from snappy's header before anything is allocated.
pub const BUNDLE_COMPRESSED: BodyCap = BodyCap {
    limit: 16 << 20,
    what: "compressed bundle",
};
/// A bundle once decompressed: 64 MiB is far above any real one (they are KiB-sized).
pub const BUNDLE_JSON: u64 = 64 << 20;
/// A mirror sidecar (`<bottle url>.sigs`): a few bundles per bottle, tens of KiB.
pub const SIDECAR: BodyCap = BodyCap {
    limit: 16 << 20,
    what: "sidecar",
};
/// One formula's JSON (`formula/<name>.json`): tens of KiB in practice.
pub const FORMULA_JSON: BodyCap = BodyCap {
    limit: 8 << 20,
    what: "formula JSON",
};
/// A whole signed formula index (`formula.jws.json`, ~30 MiB in 2026): room to grow threefold,
/// no more.
pub const FORMULA_INDEX: BodyCap = BodyCap {
    limit: 96 << 20,
    what: "formula index",
};
/// An OCI image index or manifest: the distribution spec asks registries to accept manifests
/// up to 4 MiB; a bottle's are a few KiB.
pub const OCI_MANIFEST: BodyCap = BodyCap {
    limit: 4 << 20,
    what: "OCI manifest",
};
/// A registry token response: a JWT and a few fields.
pub const REGISTRY_TOKEN: BodyCap = BodyCap {
    limit: 64 << 10,
    what: "registry token response",
};
/// Answers of Fulcio, Rekor, a TSA or the upload endpoint: a certificate chain, a log entry
/// with its proof, a timestamp, an id.
pub const SERVICE_RESPONSE: BodyCap = BodyCap {
    limit: 4 << 20,
    what: "service response",
};
/// TUF metadata (`root.json`, `timestamp.json`, …) when the caller gives no length.
pub const TUF_METADATA: BodyCap = BodyCap {
    limit: 8 << 20,
    what: "TUF metadata",
};
/// An error body, read only for its message.
pub const ERROR_BODY: BodyCap = BodyCap {
    limit: 64 << 10,
    what: "error body",
};

/// Refuse a body whose announced length is over the cap, before reading any of it.
pub(crate) fn check_announced(
    url: &Url,
    announced: Option<u64>,
    cap: BodyCap,
) -> Result<(), NetError> {
    match announced {
        Some(n) if n > cap.limit => Err(too_large(url, cap)),
        _ => Ok(()),
    }
}

pub(crate) fn too_large(url: &Url, cap: BodyCap) -> NetError {
    NetError::new(
        url,
        NetErrorKind::TooLarge {
            limit: cap.limit,
            what: cap.what,
        },
    )
}

/// The one body reader of the crate: the chunks of a response, failing as soon as they pass
/// the cap (after refusing an announced length over it). Buffered reads, streamed downloads
/// and error messages all read through it.
#[derive(Debug)]
pub(crate) struct CappedBody {
    response: reqwest::Response,
    url: Url,
    cap: BodyCap,
    read: u64,
}

impl CappedBody {
    /// Start reading `response` under `cap`.
    pub(crate) fn new(response: reqwest::Response, cap: BodyCap) -> Result<Self, NetError> {
        let url = response.url().clone();
        check_announced(&url, response.content_length(), cap)?;
        Ok(Self {
            response,
            url,
            cap,
            read: 0,
        })
    }

    /// The announced length, if any.
    pub(crate) fn content_length(&self) -> Option<u64> {
        self.response.content_length()
    }

    /// Where the answer came from.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The next chunk; `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, NetError> {
        match self.response.chunk().await {
            Ok(Some(chunk)) => {
                self.read += chunk.len() as u64;
                if self.read > self.cap.limit {
                    return Err(too_large(&self.url, self.cap));
                }
                Ok(Some(chunk))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(super::classify(&self.url, &e)),
        }
    }
}

/// Read the whole body, failing as soon as it passes the cap.
pub(crate) async fn read_capped(
    response: reqwest::Response,
    cap: BodyCap,
) -> Result<Vec<u8>, NetError> {
    let mut body = CappedBody::new(response, cap)?;
    let mut out = Vec::new();
    while let Some(chunk) = body.chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The first bytes of an error body, for its message: whatever arrived within
/// [`ERROR_BODY`]; the rest (or a failure) is dropped.
pub(crate) async fn read_prefix(response: reqwest::Response) -> Vec<u8> {
    let mut body = CappedBody {
        url: response.url().clone(),
        response,
        cap: ERROR_BODY,
        read: 0,
    };
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = body.chunk().await {
        out.extend_from_slice(&chunk);
    }
    out
}
