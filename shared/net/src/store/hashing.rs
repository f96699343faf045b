//! Streaming SHA-256 of a bottle file.
//!
//! Bottles reach hundreds of megabytes, so the file is read in fixed-size chunks and never held
//! in memory whole.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::Digest as _;
use sigstore_types::{Sha256Hash, Sha512Hash};

/// Read size: large enough that syscall overhead disappears next to hashing, small enough to
/// stay in L2 cache.
const CHUNK: usize = 256 * 1024;

/// A file could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read `{}`", path.display())]
pub struct HashFileError {
    /// The file.
    pub path: PathBuf,
    /// The I/O failure.
    #[source]
    pub source: std::io::Error,
}

/// Feed everything `reader` yields through `H`, in constant memory.
fn digest_reader<H: sha2::Digest>(mut reader: impl Read) -> std::io::Result<H> {
    let mut hasher = H::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hasher),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// SHA-256 of everything `reader` yields, in constant memory.
pub fn sha256_reader(reader: impl Read) -> std::io::Result<Sha256Hash> {
    Ok(Sha256Hash::new(
        digest_reader::<sha2::Sha256>(reader)?.finalize().into(),
    ))
}

fn open(path: &Path) -> Result<std::fs::File, HashFileError> {
    std::fs::File::open(path).map_err(|source| HashFileError {
        path: path.to_owned(),
        source,
    })
}

/// SHA-256 of the file at `path`, streaming.
pub fn sha256_file(path: &Path) -> Result<Sha256Hash, HashFileError> {
    sha256_reader(open(path)?).map_err(|source| HashFileError {
        path: path.to_owned(),
        source,
    })
}

/// SHA-256 and SHA-512 of the file at `path` in one streaming pass, for the generic `bundle`
/// check, which does not know in advance which one a bundle's subjects use.
pub fn sha256_and_sha512_file(path: &Path) -> Result<(Sha256Hash, Sha512Hash), HashFileError> {
    let mut file = open(path)?;
    let mut sha256 = sha2::Sha256::new();
    let mut sha512 = sha2::Sha512::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                sha256.update(&buf[..n]);
                sha512.update(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(HashFileError {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    Ok((
        Sha256Hash::new(sha256.finalize().into()),
        Sha512Hash::new(sha512.finalize().into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bottle_attest::digest::sha256_bytes;

    #[test]
    fn known_vectors() {
        assert_eq!(
            hex::encode(sha256_bytes(b"abc").as_bytes()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let big = vec![7u8; CHUNK * 3 + 17];
        assert_eq!(sha256_reader(&big[..]).unwrap(), sha256_bytes(&big));
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = sha256_file(Path::new("/nonexistent/bottle.tar.gz")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/bottle.tar.gz"));
    }
}
