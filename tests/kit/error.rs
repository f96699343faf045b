//! The kit's error type: what went wrong while starting the stack, answering a request or
//! minting a bundle.

/// Why the kit could not do what it was asked.
///
/// Server handlers turn these into HTTP error responses (like the real services, a bad request
/// is the client's problem, not a crash); the blocking `SigstoreStack` API panics with them
/// because a broken kit is a broken test.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KitError {
    /// A certificate, SCT or timestamp could not be DER-encoded or decoded.
    #[error("DER encoding failed")]
    Der(#[from] x509_cert::der::Error),
    /// Key generation, signing or signature verification failed.
    #[error("crypto operation failed")]
    Crypto(#[from] sigstore_crypto::Error),
    /// Binding or serving a loopback socket failed.
    #[error("I/O failed")]
    Io(#[from] std::io::Error),
    /// JSON could not be produced or parsed.
    #[error("JSON failed")]
    Json(#[from] serde_json::Error),
    /// A client request was malformed or not acceptable (HTTP 400 on the wire).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request conflicts with the log state (HTTP 409, e.g. a duplicate Rekor entry).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The OIDC token was not acceptable (HTTP 401 on the wire).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// sigstore-sign failed while the kit signed through its own services.
    #[error("signing through the kit's services failed")]
    Sign(#[from] sigstore_sign::Error),
    /// A bundle the kit minted could not be serialized.
    #[error("bundle serialization failed")]
    Bundle(#[from] sigstore_types::Error),
}

/// Results of kit operations.
pub type Result<T, E = KitError> = std::result::Result<T, E>;

/// A [`KitError::BadRequest`] with a message.
pub(crate) fn bad_request(message: impl Into<String>) -> KitError {
    KitError::BadRequest(message.into())
}
