//! `rustls-webpki` signature verification algorithms backed by `sigstore-crypto`.
//!
//! This module bridges `sigstore-crypto`'s active cryptographic backend to
//! [`rustls_pki_types::SignatureVerificationAlgorithm`], allowing `rustls-webpki`
//! to verify X.509 certificate chains without depending on `aws-lc-rs` directly.

use crate::provider::default_provider;
use crate::signing::SigningScheme;
use crate::verification::{validate_raw_public_key, VerificationKey};
use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};

#[derive(Debug)]
struct WebpkiVerificationAlg {
    public_key_alg_id: AlgorithmIdentifier,
    signature_alg_id: AlgorithmIdentifier,
    scheme: SigningScheme,
}

impl SignatureVerificationAlgorithm for WebpkiVerificationAlg {
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key_alg_id
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id
    }

    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        validate_raw_public_key(self.scheme, public_key).map_err(|_| InvalidSignature)?;
        default_provider()
            .verify_raw(self.scheme, public_key, message, signature)
            .map_err(|_| InvalidSignature)
    }
}

/// ECDSA P-256 with SHA-256 verification algorithm for `webpki`.
pub static ECDSA_P256_SHA256: &dyn SignatureVerificationAlgorithm = &ECDSA_P256_SHA256_ALG;
const ECDSA_P256_SHA256_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ECDSA_P256,
    signature_alg_id: alg_id::ECDSA_SHA256,
    scheme: SigningScheme::EcdsaP256Sha256,
};

/// ECDSA P-256 with SHA-384 verification algorithm for `webpki`.
pub static ECDSA_P256_SHA384: &dyn SignatureVerificationAlgorithm = &ECDSA_P256_SHA384_ALG;
const ECDSA_P256_SHA384_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ECDSA_P256,
    signature_alg_id: alg_id::ECDSA_SHA384,
    scheme: SigningScheme::EcdsaP256Sha384,
};

/// ECDSA P-384 with SHA-256 verification algorithm for `webpki`.
pub static ECDSA_P384_SHA256: &dyn SignatureVerificationAlgorithm = &ECDSA_P384_SHA256_ALG;
const ECDSA_P384_SHA256_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ECDSA_P384,
    signature_alg_id: alg_id::ECDSA_SHA256,
    scheme: SigningScheme::EcdsaP384Sha256,
};

/// ECDSA P-384 with SHA-384 verification algorithm for `webpki`.
pub static ECDSA_P384_SHA384: &dyn SignatureVerificationAlgorithm = &ECDSA_P384_SHA384_ALG;
const ECDSA_P384_SHA384_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ECDSA_P384,
    signature_alg_id: alg_id::ECDSA_SHA384,
    scheme: SigningScheme::EcdsaP384Sha384,
};

/// Ed25519 verification algorithm for `webpki`.
pub static ED25519: &dyn SignatureVerificationAlgorithm = &ED25519_ALG;
const ED25519_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ED25519,
    signature_alg_id: alg_id::ED25519,
    scheme: SigningScheme::Ed25519,
};

/// RSA PKCS#1 v1.5 (2048–8192 bits) with SHA-256 verification algorithm for `webpki`.
pub static RSA_PKCS1_2048_8192_SHA256: &dyn SignatureVerificationAlgorithm =
    &RSA_PKCS1_2048_8192_SHA256_ALG;
const RSA_PKCS1_2048_8192_SHA256_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: alg_id::RSA_PKCS1_SHA256,
    scheme: SigningScheme::RsaPkcs1Sha256,
};

/// RSA PKCS#1 v1.5 (2048–8192 bits) with SHA-384 verification algorithm for `webpki`.
pub static RSA_PKCS1_2048_8192_SHA384: &dyn SignatureVerificationAlgorithm =
    &RSA_PKCS1_2048_8192_SHA384_ALG;
const RSA_PKCS1_2048_8192_SHA384_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: alg_id::RSA_PKCS1_SHA384,
    scheme: SigningScheme::RsaPkcs1Sha384,
};

/// RSA PKCS#1 v1.5 (2048–8192 bits) with SHA-512 verification algorithm for `webpki`.
pub static RSA_PKCS1_2048_8192_SHA512: &dyn SignatureVerificationAlgorithm =
    &RSA_PKCS1_2048_8192_SHA512_ALG;
const RSA_PKCS1_2048_8192_SHA512_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: alg_id::RSA_PKCS1_SHA512,
    scheme: SigningScheme::RsaPkcs1Sha512,
};

/// RSA PKCS#1 v1.5 (2048–8192 bits) with SHA-256 and absent `AlgorithmIdentifier` parameters (RFC 4055 §5).
pub static RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS: &dyn SignatureVerificationAlgorithm =
    &RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS_ALG;
const RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b,
    ]),
    scheme: SigningScheme::RsaPkcs1Sha256,
};

/// RSA PKCS#1 v1.5 (2048–8192 bits) with SHA-384 and absent `AlgorithmIdentifier` parameters (RFC 4055 §5).
pub static RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS: &dyn SignatureVerificationAlgorithm =
    &RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS_ALG;
const RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c,
    ]),
    scheme: SigningScheme::RsaPkcs1Sha384,
};

/// RSA PKCS#1 v1.5 (2048–8192 bits) with SHA-512 and absent `AlgorithmIdentifier` parameters (RFC 4055 §5).
pub static RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS: &dyn SignatureVerificationAlgorithm =
    &RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS_ALG;
const RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d,
    ]),
    scheme: SigningScheme::RsaPkcs1Sha512,
};

/// RSA-PSS (2048–8192 bits) with SHA-256 verification algorithm for `webpki`.
pub static RSA_PSS_2048_8192_SHA256: &dyn SignatureVerificationAlgorithm =
    &RSA_PSS_2048_8192_SHA256_ALG;
const RSA_PSS_2048_8192_SHA256_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: alg_id::RSA_PSS_SHA256,
    scheme: SigningScheme::RsaPssSha256,
};

/// RSA-PSS (2048–8192 bits) with SHA-384 verification algorithm for `webpki`.
pub static RSA_PSS_2048_8192_SHA384: &dyn SignatureVerificationAlgorithm =
    &RSA_PSS_2048_8192_SHA384_ALG;
const RSA_PSS_2048_8192_SHA384_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: alg_id::RSA_PSS_SHA384,
    scheme: SigningScheme::RsaPssSha384,
};

/// RSA-PSS (2048–8192 bits) with SHA-512 verification algorithm for `webpki`.
pub static RSA_PSS_2048_8192_SHA512: &dyn SignatureVerificationAlgorithm =
    &RSA_PSS_2048_8192_SHA512_ALG;
const RSA_PSS_2048_8192_SHA512_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::RSA_ENCRYPTION,
    signature_alg_id: alg_id::RSA_PSS_SHA512,
    scheme: SigningScheme::RsaPssSha512,
};

/// ML-DSA-44 verification algorithm for `webpki`.
pub static ML_DSA_44: &dyn SignatureVerificationAlgorithm = &ML_DSA_44_ALG;
const ML_DSA_44_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ML_DSA_44,
    signature_alg_id: alg_id::ML_DSA_44,
    scheme: SigningScheme::MlDsa44,
};

/// ML-DSA-65 verification algorithm for `webpki`.
pub static ML_DSA_65: &dyn SignatureVerificationAlgorithm = &ML_DSA_65_ALG;
const ML_DSA_65_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ML_DSA_65,
    signature_alg_id: alg_id::ML_DSA_65,
    scheme: SigningScheme::MlDsa65,
};

/// ML-DSA-87 verification algorithm for `webpki`.
pub static ML_DSA_87: &dyn SignatureVerificationAlgorithm = &ML_DSA_87_ALG;
const ML_DSA_87_ALG: WebpkiVerificationAlg = WebpkiVerificationAlg {
    public_key_alg_id: alg_id::ML_DSA_87,
    signature_alg_id: alg_id::ML_DSA_87,
    scheme: SigningScheme::MlDsa87,
};

/// All X.509 signature verification algorithms supported by `sigstore-crypto` for `rustls-webpki`.
pub static WEBPKI_VERIFICATION_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    ECDSA_P256_SHA256,
    ECDSA_P256_SHA384,
    ECDSA_P384_SHA256,
    ECDSA_P384_SHA384,
    ED25519,
    RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_2048_8192_SHA384,
    RSA_PKCS1_2048_8192_SHA512,
    RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    RSA_PSS_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA384,
    RSA_PSS_2048_8192_SHA512,
    ML_DSA_44,
    ML_DSA_65,
    ML_DSA_87,
];

/// The algorithms of [`WEBPKI_VERIFICATION_ALGS`], in the same order.
const ALGORITHMS: [&WebpkiVerificationAlg; 17] = [
    &ECDSA_P256_SHA256_ALG,
    &ECDSA_P256_SHA384_ALG,
    &ECDSA_P384_SHA256_ALG,
    &ECDSA_P384_SHA384_ALG,
    &ED25519_ALG,
    &RSA_PKCS1_2048_8192_SHA256_ALG,
    &RSA_PKCS1_2048_8192_SHA384_ALG,
    &RSA_PKCS1_2048_8192_SHA512_ALG,
    &RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS_ALG,
    &RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS_ALG,
    &RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS_ALG,
    &RSA_PSS_2048_8192_SHA256_ALG,
    &RSA_PSS_2048_8192_SHA384_ALG,
    &RSA_PSS_2048_8192_SHA512_ALG,
    &ML_DSA_44_ALG,
    &ML_DSA_65_ALG,
    &ML_DSA_87_ALG,
];

/// [`WEBPKI_VERIFICATION_ALGS`] with the keys of trusted certificate
/// authorities parsed once.
///
/// A certificate chain check verifies the leaf's signature with its issuer's
/// key, which for a Sigstore bundle is a Fulcio CA of the trusted root: the
/// same few keys for every bundle. webpki hands an algorithm only the key's
/// bytes, so these algorithms keep the trusted keys parsed (as
/// [`VerificationKey::prepare`](crate::VerificationKey::prepare) does for a
/// keyring) and use a parsed key when the bytes are exactly that key's. Any
/// other key is verified as [`WEBPKI_VERIFICATION_ALGS`] verifies it, and every
/// result is the same as theirs.
pub struct PreparedWebpkiAlgorithms {
    algorithms: Vec<PreparedWebpkiAlgorithm>,
}

struct PreparedWebpkiAlgorithm {
    algorithm: &'static WebpkiVerificationAlg,
    /// The trusted keys that parse under this algorithm's scheme, prepared.
    keys: Vec<VerificationKey>,
}

impl std::fmt::Debug for PreparedWebpkiAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedWebpkiAlgorithm")
            .field("algorithm", self.algorithm)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl PreparedWebpkiAlgorithms {
    /// Prepare `trusted_keys` (raw `subjectPublicKey` bytes, as webpki passes
    /// them) for every algorithm whose scheme they parse under.
    pub fn new<'k>(trusted_keys: impl IntoIterator<Item = &'k [u8]> + Clone) -> Self {
        let algorithms = ALGORITHMS
            .iter()
            .map(|&algorithm| PreparedWebpkiAlgorithm {
                algorithm,
                keys: trusted_keys
                    .clone()
                    .into_iter()
                    .filter_map(|key| VerificationKey::prepared(key, algorithm.scheme))
                    .collect(),
            })
            .collect();
        Self { algorithms }
    }

    /// The algorithms, for `webpki`'s `verify_for_usage`.
    pub fn algorithms(&self) -> Vec<&dyn SignatureVerificationAlgorithm> {
        self.algorithms
            .iter()
            .map(|algorithm| algorithm as &dyn SignatureVerificationAlgorithm)
            .collect()
    }
}

impl SignatureVerificationAlgorithm for PreparedWebpkiAlgorithm {
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.public_key_alg_id
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.signature_alg_id
    }

    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        // A trusted key, by its exact bytes: verified as `VerificationKey`
        // verifies (validated, then through its parsed key while its provider
        // is the default), which is what the static algorithm does.
        match self.keys.iter().find(|key| key.as_bytes() == public_key) {
            Some(key) => key
                .verify_inner(message, signature)
                .map_err(|_| InvalidSignature),
            None => self
                .algorithm
                .verify_signature(public_key, message, signature),
        }
    }
}

#[cfg(all(test, feature = "aws-lc-rs"))]
mod tests {
    use super::*;
    use crate::signing::KeyPair;
    use sigstore_types::HashAlgorithm;

    #[test]
    fn webpki_algorithms_verify_and_reject_invalid_signatures() {
        let msg = b"webpki tbsCertificate test payload";

        // 1. ECDSA P-256
        let kp = KeyPair::generate_ecdsa_p256().unwrap();
        let sig = kp.sign(msg).unwrap();
        assert!(ECDSA_P256_SHA256
            .verify_signature(kp.public_key_bytes(), msg, sig.as_bytes())
            .is_ok());
        assert!(ECDSA_P256_SHA256
            .verify_signature(kp.public_key_bytes(), b"wrong", sig.as_bytes())
            .is_err());

        // 2. ECDSA P-384
        let (p384_pk, p384_sig) = crate::aws_lc::test_support::sign_p384_sha384(msg);
        assert!(ECDSA_P384_SHA384
            .verify_signature(&p384_pk, msg, p384_sig.as_bytes())
            .is_ok());
        assert!(ECDSA_P384_SHA256
            .verify_signature(&p384_pk, msg, p384_sig.as_bytes())
            .is_err());

        // 3. Ed25519
        let (ed_pk, ed_sig) = crate::aws_lc::test_support::sign_ed25519(msg);
        assert!(ED25519
            .verify_signature(&ed_pk, msg, ed_sig.as_bytes())
            .is_ok());

        // 4. RSA PKCS#1 (with and without NULL params) and RSA-PSS
        let (rsa_pk, pkcs1_sig, pss_sig) =
            crate::aws_lc::test_support::sign_rsa(msg, HashAlgorithm::Sha2256);
        for alg in [
            RSA_PKCS1_2048_8192_SHA256,
            RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        ] {
            assert!(alg
                .verify_signature(rsa_pk.as_bytes(), msg, pkcs1_sig.as_bytes())
                .is_ok());
            assert!(alg
                .verify_signature(rsa_pk.as_bytes(), msg, pss_sig.as_bytes())
                .is_err());
        }
        assert!(RSA_PSS_2048_8192_SHA256
            .verify_signature(rsa_pk.as_bytes(), msg, pss_sig.as_bytes())
            .is_ok());

        // 5. ML-DSA-44/65/87
        let seed = [0x33u8; 32];
        for (scheme, alg) in [
            (SigningScheme::MlDsa44, ML_DSA_44),
            (SigningScheme::MlDsa65, ML_DSA_65),
            (SigningScheme::MlDsa87, ML_DSA_87),
        ] {
            let (mldsa_pk, mldsa_sig) = crate::aws_lc::test_support::sign_mldsa(scheme, &seed, msg);
            assert!(alg
                .verify_signature(&mldsa_pk, msg, mldsa_sig.as_bytes())
                .is_ok());
        }

        assert_eq!(WEBPKI_VERIFICATION_ALGS.len(), 17);
    }

    /// The prepared algorithms give every static algorithm's verdict, for a
    /// trusted key (which they verify with the key parsed once) and for any
    /// other key (which they verify as the static ones do).
    #[test]
    fn prepared_algorithms_agree_with_the_static_ones() {
        let msg = b"webpki tbsCertificate test payload";
        let trusted = KeyPair::generate_ecdsa_p256().unwrap();
        let other = KeyPair::generate_ecdsa_p256().unwrap();
        let (p384_pk, p384_sig) = crate::aws_lc::test_support::sign_p384_sha384(msg);
        let (rsa_pk, pkcs1_sig, pss_sig) =
            crate::aws_lc::test_support::sign_rsa(msg, HashAlgorithm::Sha2256);
        let not_a_key = [0x04u8; 65];
        let prepared = PreparedWebpkiAlgorithms::new([
            trusted.public_key_bytes(),
            p384_pk.as_slice(),
            rsa_pk.as_bytes(),
            not_a_key.as_slice(),
        ]);
        let algorithms = prepared.algorithms();
        assert_eq!(algorithms.len(), WEBPKI_VERIFICATION_ALGS.len());

        // The trusted P-256 and P-384 keys were parsed for their curve's two
        // schemes; the RSA key for the six RSA algorithms; the bogus point for none.
        let prepared_keys: Vec<usize> = prepared.algorithms.iter().map(|a| a.keys.len()).collect();
        assert_eq!(prepared_keys[..4], [1, 1, 1, 1]);
        assert_eq!(prepared_keys[4], 0);

        let trusted_sig = trusted.sign(msg).unwrap();
        let other_sig = other.sign(msg).unwrap();
        let cases: [(&[u8], &[u8], &[u8]); 10] = [
            (trusted.public_key_bytes(), msg, trusted_sig.as_bytes()),
            (
                trusted.public_key_bytes(),
                b"tampered",
                trusted_sig.as_bytes(),
            ),
            (trusted.public_key_bytes(), msg, other_sig.as_bytes()),
            (other.public_key_bytes(), msg, other_sig.as_bytes()),
            (other.public_key_bytes(), msg, trusted_sig.as_bytes()),
            (&p384_pk, msg, p384_sig.as_bytes()),
            (&p384_pk, b"tampered", p384_sig.as_bytes()),
            (rsa_pk.as_bytes(), msg, pkcs1_sig.as_bytes()),
            (rsa_pk.as_bytes(), msg, pss_sig.as_bytes()),
            (&not_a_key, msg, trusted_sig.as_bytes()),
        ];
        let mut accepted = 0;
        for (prepared_alg, static_alg) in algorithms.iter().zip(WEBPKI_VERIFICATION_ALGS) {
            assert_eq!(
                prepared_alg.public_key_alg_id(),
                static_alg.public_key_alg_id()
            );
            assert_eq!(
                prepared_alg.signature_alg_id(),
                static_alg.signature_alg_id()
            );
            for (key, message, signature) in cases {
                let got = prepared_alg.verify_signature(key, message, signature);
                let want = static_alg.verify_signature(key, message, signature);
                assert_eq!(got.is_ok(), want.is_ok(), "{static_alg:?} on {key:02x?}");
                accepted += usize::from(got.is_ok());
            }
        }
        // P-256 trusted and other (each under ECDSA_P256_SHA256), P-384 under
        // ECDSA_P384_SHA384, PKCS#1 under its two SHA-256 algorithms, PSS under one.
        assert_eq!(accepted, 6);
    }
}
