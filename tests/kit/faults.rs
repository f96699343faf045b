//! Fault injection for the kit's Fulcio, Rekor and TSA: "answer the next n requests with status
//! S (and `Retry-After: R`)", so that tests can show what a client does with an outage, a 5xx or
//! a rate limit, counted in requests rather than measured in time.
//!
//! Each service is served through [`Faulty`], which answers from the queue of planned faults
//! before the service sees the request; a request answered by a fault changes nothing in the
//! service (no certificate issued, no log entry, no timestamp). Kept apart from the services
//! so that each of them stays a faithful implementation of its protocol.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::StatusCode;
use hyper::header::RETRY_AFTER;
use serde_json::json;

use crate::http::{Reply, Request, Service};

/// One planned failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fault {
    status: StatusCode,
    retry_after: Option<Duration>,
}

/// The faults planned for one service, and how many were served.
#[derive(Debug, Default)]
pub struct Faults {
    planned: Mutex<VecDeque<Fault>>,
    injected: AtomicU64,
}

impl Faults {
    /// Answer the next `n` requests with `status` (a JSON `{"code", "message"}` body, as Fulcio
    /// and Rekor send), with `Retry-After: <whole seconds>` when `retry_after` is given. Adds to
    /// what is already planned. Panics on a status that is not an HTTP status: a test bug.
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<Duration>) {
        let status = StatusCode::from_u16(status).expect("an HTTP status");
        let mut planned = self.lock();
        planned.extend(std::iter::repeat_n(
            Fault {
                status,
                retry_after,
            },
            n,
        ));
    }

    /// Drop every planned fault (the outage is over).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Requests answered by a fault so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Faults still planned.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Fault>> {
        self.planned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The reply of the next planned fault, if one is planned.
    fn take(&self) -> Option<Reply> {
        let fault = self.lock().pop_front()?;
        self.injected.fetch_add(1, Ordering::Relaxed);
        let reply = Reply::json(
            fault.status,
            &json!({
                "code": fault.status.as_u16(),
                "message": format!("injected fault: {}", fault.status),
            }),
        );
        Some(match fault.retry_after {
            Some(wait) => reply.with_header(RETRY_AFTER, wait.as_secs().to_string()),
            None => reply,
        })
    }
}

/// The faults of each service of a [`crate::SigstoreStack`].
#[derive(Debug, Default)]
pub struct StackFaults {
    /// Fulcio's (`POST /api/v2/signingCert` and the rest).
    pub fulcio: Arc<Faults>,
    /// Rekor's (submissions and reads alike).
    pub rekor: Arc<Faults>,
    /// The TSA's.
    pub tsa: Arc<Faults>,
}

/// A service behind its faults: the hook each server is wrapped in when it is started.
pub(crate) struct Faulty {
    faults: Arc<Faults>,
    inner: Arc<dyn Service>,
}

impl Faulty {
    /// `inner`, answering from `faults` first.
    pub(crate) fn wrap(faults: &Arc<Faults>, inner: Arc<dyn Service>) -> Arc<dyn Service> {
        Arc::new(Self {
            faults: Arc::clone(faults),
            inner,
        })
    }
}

impl Service for Faulty {
    fn handle(&self, request: &Request) -> Reply {
        self.faults
            .take()
            .unwrap_or_else(|| self.inner.handle(request))
    }
}
