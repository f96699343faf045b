//! Files: the attestation cache, atomic writes into private directories, and streaming hashes
//! of bottle files.

pub mod atomic;
pub mod cache;
pub mod hashing;
