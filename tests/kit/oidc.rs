//! The kit's OIDC provider: mints GitHub-Actions-shaped identity tokens (ES256 JWTs) and lets the
//! kit's Fulcio authenticate them, as real Fulcio authenticates GitHub's tokens against GitHub's
//! JWKS. Only the kit's own key is trusted; any `iss` claim is accepted, so tests can mint
//! certificates for a wrong issuer and watch the verifier reject them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sigstore_crypto::{KeyPair, VerificationKey};
use sigstore_types::SignatureBytes;

use crate::error::{KitError, Result, bad_request};

/// The `kid` of the kit's token signing key.
const KEY_ID: &str = "brew-verify-testkit";

/// The token signing key.
pub(crate) struct OidcProvider {
    key: KeyPair,
    verifier: VerificationKey,
}

impl OidcProvider {
    /// A provider with a fresh P-256 key.
    pub(crate) fn new() -> Result<Self> {
        let key = KeyPair::generate_ecdsa_p256()?;
        let verifier = VerificationKey::from_spki(&key.public_key_der()?)?;
        Ok(Self { key, verifier })
    }

    /// A compact JWS (`header.claims.signature`) over `claims`, signed ES256.
    pub(crate) fn mint(&self, claims: &Value) -> Result<String> {
        let header = json!({"alg": "ES256", "kid": KEY_ID, "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        let der = self.key.sign(signing_input.as_bytes())?;
        let fixed = der_to_fixed(der.as_bytes())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(fixed)))
    }

    /// The claims of `token` if the kit signed it and it has not expired at `now` (Unix
    /// seconds, the kit's clock).
    pub(crate) fn authenticate(&self, token: &str, now: i64) -> Result<Value> {
        let unauthorized = |why: &str| KitError::Unauthorized(why.to_owned());
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unauthorized("identity token is not a compact JWS"));
        };
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(header)
                .map_err(|_| unauthorized("JWT header is not base64url"))?,
        )
        .map_err(|_| unauthorized("JWT header is not JSON"))?;
        if header["alg"] != "ES256" {
            return Err(unauthorized("JWT is not ES256"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| unauthorized("JWT signature is not base64url"))?;
        let der = fixed_to_der(&signature).ok_or_else(|| unauthorized("bad ES256 signature"))?;
        let signing_input_len = token.len() - signature_b64_len(token);
        self.verifier
            .verify(
                &token.as_bytes()[..signing_input_len],
                &SignatureBytes::new(der),
            )
            .map_err(|_| unauthorized("identity token was not signed by the kit's OIDC key"))?;
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(claims)
                .map_err(|_| unauthorized("JWT claims are not base64url"))?,
        )
        .map_err(|_| unauthorized("JWT claims are not JSON"))?;
        match claims["exp"].as_i64() {
            Some(exp) if exp > now => Ok(claims),
            Some(_) => Err(unauthorized("identity token has expired")),
            None => Err(unauthorized("identity token has no exp claim")),
        }
    }
}

/// Length of the base64url signature segment plus its leading dot.
fn signature_b64_len(token: &str) -> usize {
    token.rfind('.').map_or(0, |dot| token.len() - dot)
}

/// An ECDSA `Ecdsa-Sig-Value` (DER SEQUENCE of r and s) as JWS's fixed 64-byte `r || s`.
fn der_to_fixed(der: &[u8]) -> Result<[u8; 64]> {
    let malformed = || bad_request("malformed ECDSA signature");
    let body = match der {
        [0x30, len, body @ ..] if usize::from(*len) == body.len() => body,
        _ => return Err(malformed()),
    };
    let (r, rest) = der_integer(body).ok_or_else(malformed)?;
    let (s, rest) = der_integer(rest).ok_or_else(malformed)?;
    if !rest.is_empty() {
        return Err(malformed());
    }
    let mut fixed = [0u8; 64];
    let (r_slot, s_slot) = fixed.split_at_mut(32);
    for (value, slot) in [(r, r_slot), (s, s_slot)] {
        let value = strip_zeros(value);
        if value.len() > 32 {
            return Err(malformed());
        }
        slot[32 - value.len()..].copy_from_slice(value);
    }
    Ok(fixed)
}

/// JWS's fixed `r || s` as a DER `Ecdsa-Sig-Value`.
fn fixed_to_der(fixed: &[u8]) -> Option<Vec<u8>> {
    if fixed.len() != 64 {
        return None;
    }
    let mut body = Vec::with_capacity(72);
    for half in fixed.chunks(32) {
        let value = strip_zeros(half);
        let pad = value.first().is_none_or(|byte| byte & 0x80 != 0);
        body.push(0x02);
        body.push(u8::try_from(value.len() + usize::from(pad)).ok()?);
        if pad {
            body.push(0);
        }
        body.extend_from_slice(value);
    }
    let mut der = vec![0x30, u8::try_from(body.len()).ok()?];
    der.extend_from_slice(&body);
    Some(der)
}

/// One short-form DER INTEGER at the start of `bytes`: its content and the rest.
fn der_integer(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    match bytes {
        [0x02, len, rest @ ..] if usize::from(*len) <= rest.len() && *len < 0x80 => {
            Some(rest.split_at(usize::from(*len)))
        }
        _ => None,
    }
}

fn strip_zeros(mut bytes: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_authenticate_until_they_expire() {
        let provider = OidcProvider::new().expect("provider");
        let token = provider
            .mint(&json!({"iss": "x", "sub": "y", "exp": 100}))
            .expect("mint");
        let claims = provider.authenticate(&token, 99).expect("valid");
        assert_eq!(claims["sub"], "y");
        assert!(matches!(
            provider.authenticate(&token, 100),
            Err(KitError::Unauthorized(_))
        ));
        let other = OidcProvider::new().expect("provider");
        assert!(other.authenticate(&token, 0).is_err());
        let tampered = token.replacen('.', ".e30", 1);
        assert!(provider.authenticate(&tampered, 0).is_err());
    }

    #[test]
    fn signature_formats_round_trip() {
        let key = KeyPair::generate_ecdsa_p256().expect("key");
        for i in 0..32u8 {
            let der = key.sign(&[i]).expect("sign");
            let fixed = der_to_fixed(der.as_bytes()).expect("fixed");
            assert_eq!(fixed_to_der(&fixed).expect("der"), der.as_bytes());
        }
    }
}
