//! The formula API's signed document, checked the way brew checks it.
//!
//! brew does not trust the per-formula JSON: it reads `formula.jws.json`, a JWS in the General
//! JSON Serialization with an unencoded payload (RFC 7797), and verifies it before using any
//! formula (Homebrew/brew `Library/Homebrew/api.rb`, `verify_and_parse_jws`):
//!
//! - the signature used is the first whose *unprotected* `header.kid` is `homebrew-1`;
//! - its protected header must be a JSON object with `"alg": "PS512"` and `"b64": false`
//!   (strictly `false`: absent is refused);
//! - the signing input is `<protected, as written>.<payload, raw>`;
//! - the signature is RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt, under the key
//!   in `Library/Homebrew/api/homebrew-1.pem` (embedded here as [`HOMEBREW_1_PEM`]).
//!
//! Whoever serves `HOMEBREW_API_DOMAIN` could otherwise point a formula at an older, validly
//! attested bottle (a rollback to a version with known holes) or at another formula's bottle,
//! and still get a green "verified". Pure: bytes and a key in, the payload out.

use base64::Engine as _;

/// Homebrew's API signing key, `homebrew-1` (`Library/Homebrew/api/homebrew-1.pem`, RSA 4096;
/// sha256 of the file `ef2d2c9e0219d485df9f07fff7b037feadc36c93085be9ffefb1390f31a3de1d`).
pub const HOMEBREW_1_PEM: &str = include_str!("../keys/homebrew-1.pem");

/// The key id brew looks for.
pub const HOMEBREW_KEY_ID: &str = "homebrew-1";

/// A public key that may sign the formula API.
#[derive(Clone)]
pub struct ApiKey {
    /// `kid` the signature must carry.
    id: String,
    /// SubjectPublicKeyInfo, DER.
    spki: Vec<u8>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey").field("id", &self.id).finish()
    }
}

/// Why a signed API document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// The key file is not a PEM public key.
    #[error("the formula API key is not a PEM `PUBLIC KEY`: {0}")]
    Key(String),
    /// Not the JWS JSON brew reads.
    #[error("the signed formula API document is not a JWS: {0}")]
    Malformed(String),
    /// No signature with the expected key id (including an unsigned document).
    #[error("the formula API document has no signature by key `{0}`")]
    NoSignature(String),
    /// The protected header is not `{"alg": "PS512", "b64": false, …}`.
    #[error("the formula API signature's header is refused: {0}")]
    Header(String),
    /// The signature does not verify under the key.
    #[error("the formula API document's signature does not match its content (key `{0}`)")]
    Mismatch(String),
}

impl ApiKey {
    /// Homebrew's own key.
    pub fn homebrew() -> Self {
        // The embedded PEM is a constant of this crate; a test checks it parses.
        Self::from_pem(HOMEBREW_KEY_ID, HOMEBREW_1_PEM).unwrap_or_else(|_| Self {
            id: HOMEBREW_KEY_ID.into(),
            spki: Vec::new(),
        })
    }

    /// A key from a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) document, used under key id `id`.
    pub fn from_pem(id: &str, pem: &str) -> Result<Self, JwsError> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
            .skip(1)
            .take_while(|l| *l != "-----END PUBLIC KEY-----")
            .collect();
        if body.is_empty() {
            return Err(JwsError::Key("no `BEGIN PUBLIC KEY` block".into()));
        }
        let spki = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| JwsError::Key(e.to_string()))?;
        Ok(Self {
            id: id.to_owned(),
            spki,
        })
    }

    /// The key id signatures must carry.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Verify `document` (the bytes of `formula.jws.json`) under `key` and return its payload, the
/// JSON text of the formula array.
pub fn verify_jws<'d>(document: &'d [u8], key: &ApiKey) -> Result<Payload<'d>, JwsError> {
    #[derive(serde::Deserialize)]
    struct Document<'a> {
        #[serde(borrow)]
        payload: std::borrow::Cow<'a, str>,
        #[serde(default)]
        signatures: Vec<Signature>,
    }
    #[derive(serde::Deserialize)]
    struct Signature {
        protected: String,
        #[serde(default)]
        header: Option<serde_json::Value>,
        signature: String,
    }
    let doc: Document<'d> =
        serde_json::from_slice(document).map_err(|e| JwsError::Malformed(e.to_string()))?;
    let signature = doc
        .signatures
        .iter()
        .find(|s| {
            s.header
                .as_ref()
                .and_then(|h| h.get("kid"))
                .and_then(serde_json::Value::as_str)
                == Some(key.id.as_str())
        })
        .ok_or_else(|| JwsError::NoSignature(key.id.clone()))?;
    let header_bytes = base64url(&signature.protected)
        .map_err(|e| JwsError::Header(format!("not base64url: {e}")))?;
    let header: serde_json::Value = serde_json::from_slice(&header_bytes)
        .map_err(|e| JwsError::Header(format!("not JSON: {e}")))?;
    if header.get("alg").and_then(serde_json::Value::as_str) != Some("PS512") {
        return Err(JwsError::Header(format!(
            "`alg` is {}, not \"PS512\"",
            header
                .get("alg")
                .map_or("absent".into(), ToString::to_string)
        )));
    }
    if header.get("b64") != Some(&serde_json::Value::Bool(false)) {
        return Err(JwsError::Header(
            "`b64` must be false (an unencoded payload)".into(),
        ));
    }
    let sig = base64url(&signature.signature).map_err(|_| JwsError::Mismatch(key.id.clone()))?;
    let mut signing_input = Vec::with_capacity(signature.protected.len() + 1 + doc.payload.len());
    signing_input.extend_from_slice(signature.protected.as_bytes());
    signing_input.push(b'.');
    signing_input.extend_from_slice(doc.payload.as_bytes());
    let public = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA512,
        &key.spki,
    );
    public
        .verify(&signing_input, &sig)
        .map_err(|_| JwsError::Mismatch(key.id.clone()))?;
    Ok(Payload { text: doc.payload })
}

/// A verified payload.
#[derive(Debug)]
pub struct Payload<'d> {
    text: std::borrow::Cow<'d, str>,
}

impl Payload<'_> {
    /// The payload text (for `formula.jws.json`, a JSON array of formulae).
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// brew's lenient base64url: padding optional.
fn base64url(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{KeyPair as _, RSA_PSS_SHA512, RsaKeyPair};

    fn b64url(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A test key pair and its public key as an [`ApiKey`].
    fn keys() -> (RsaKeyPair, ApiKey) {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
            pair.public_key(),
        )
        .unwrap();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(spki.as_ref())
        );
        (pair, ApiKey::from_pem("homebrew-1", &pem).unwrap())
    }

    fn sign(pair: &RsaKeyPair, header: &serde_json::Value, kid: &str, payload: &str) -> Vec<u8> {
        let protected = b64url(header.to_string().as_bytes());
        let input = format!("{protected}.{payload}");
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(&RSA_PSS_SHA512, &rng, input.as_bytes(), &mut sig)
            .unwrap();
        serde_json::json!({
            "payload": payload,
            "signatures": [{"protected": protected, "header": {"kid": kid}, "signature": b64url(&sig)}],
        })
        .to_string()
        .into_bytes()
    }

    fn good_header() -> serde_json::Value {
        serde_json::json!({"alg": "PS512", "b64": false, "crit": ["b64"]})
    }

    #[test]
    fn the_embedded_homebrew_key_parses() {
        let key = ApiKey::homebrew();
        assert_eq!(key.id(), "homebrew-1");
        assert!(key.spki.len() > 500, "RSA 4096 SPKI");
    }

    #[test]
    fn a_signed_document_yields_its_payload() {
        let (pair, key) = keys();
        let payload = r#"[{"name":"wget"}]"#;
        let doc = sign(&pair, &good_header(), "homebrew-1", payload);
        assert_eq!(verify_jws(&doc, &key).unwrap().text(), payload);
    }

    #[test]
    fn every_tampering_is_refused_with_its_reason() {
        let (pair, key) = keys();
        let payload = r#"[{"name":"wget","versions":{"stable":"1.24.5"}}]"#;
        // A payload changed after signing (a rollback of the version).
        let doc = sign(&pair, &good_header(), "homebrew-1", payload);
        let tampered = String::from_utf8(doc).unwrap().replace("1.24.5", "1.21.0");
        assert_eq!(
            verify_jws(tampered.as_bytes(), &key).unwrap_err(),
            JwsError::Mismatch("homebrew-1".into())
        );
        // Another key id.
        let doc = sign(&pair, &good_header(), "homebrew-2", payload);
        assert_eq!(
            verify_jws(&doc, &key).unwrap_err(),
            JwsError::NoSignature("homebrew-1".into())
        );
        // `alg: none`.
        let doc = sign(
            &pair,
            &serde_json::json!({"alg": "none", "b64": false}),
            "homebrew-1",
            payload,
        );
        assert!(
            matches!(verify_jws(&doc, &key), Err(JwsError::Header(why)) if why.contains("PS512"))
        );
        // `b64: true`, and `b64` absent.
        for header in [
            serde_json::json!({"alg": "PS512", "b64": true}),
            serde_json::json!({"alg": "PS512"}),
        ] {
            let doc = sign(&pair, &header, "homebrew-1", payload);
            assert!(
                matches!(verify_jws(&doc, &key), Err(JwsError::Header(why)) if why.contains("b64")),
                "{header}"
            );
        }
        // Unsigned: the per-formula JSON, or a JWS without signatures.
        assert!(matches!(
            verify_jws(payload.as_bytes(), &key),
            Err(JwsError::Malformed(_))
        ));
        let unsigned = serde_json::json!({"payload": payload, "signatures": []}).to_string();
        assert_eq!(
            verify_jws(unsigned.as_bytes(), &key).unwrap_err(),
            JwsError::NoSignature("homebrew-1".into())
        );
        // Signed by another key.
        let (other, _) = keys();
        let doc = sign(&other, &good_header(), "homebrew-1", payload);
        assert_eq!(
            verify_jws(&doc, &key).unwrap_err(),
            JwsError::Mismatch("homebrew-1".into())
        );
    }
}
