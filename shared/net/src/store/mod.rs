//! Files: the attestation cache, atomic writes, and streaming hashes of bottle files.

pub mod cache;
pub mod hashing;
