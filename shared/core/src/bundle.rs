//! Reading Sigstore bundles out of the shapes they travel in. No I/O: callers pass bytes.
//!
//! One file may hold:
//! - one bundle (`*.sigstore.json`);
//! - JSON Lines, one bundle per line, as `gh attestation download` writes;
//! - a GitHub attestations API response body, `{"attestations":[{"bundle":{…}}, …]}`;
//! - a mirror sidecar (`<bottle url>.sigs`), a JSON array of bundles.
//!
//! A bundle that cannot be parsed is not dropped: it becomes a candidate carrying its parse error,
//! so that a verifier can report "this attestation exists but is unusable" instead of "missing".

use serde_json::Value;
use sigstore_types::Bundle;

/// One bundle found in an input, or the reason it could not be read.
#[derive(Debug, Clone)]
pub struct BundleCandidate {
    /// Where it came from, for error messages: `file`, `file:line 3`, `file:attestations[1]`.
    pub origin: String,
    /// The parsed bundle, or why it is unusable.
    pub bundle: Result<Box<Bundle>, BundleParseError>,
}

/// Why one bundle could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BundleParseError {
    /// The text is not JSON at all.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// JSON, but not a Sigstore bundle this verifier understands.
    #[error("not a valid Sigstore bundle: {0}")]
    Bundle(String),
    /// An attestations API entry with no inline bundle, only a `bundle_url` to fetch.
    #[error("the bundle is not inline (only `bundle_url` {0}); it must be fetched first")]
    NotInline(String),
    /// The input holds nothing that looks like a bundle.
    #[error("no bundle found: {0}")]
    Empty(&'static str),
}

/// Parse every bundle in `bytes`, labelling each with `origin` (usually the file name).
pub fn parse_attestations(origin: &str, bytes: &[u8]) -> Vec<BundleCandidate> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return vec![BundleCandidate {
                origin: origin.to_owned(),
                bundle: Err(BundleParseError::Json(format!("not UTF-8: {e}"))),
            }];
        }
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return vec![BundleCandidate {
            origin: origin.to_owned(),
            bundle: Err(BundleParseError::Empty("the input is empty")),
        }];
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| entry(format!("{origin}[{i}]"), item))
            .collect(),
        Ok(Value::Object(map)) if map.contains_key("attestations") => {
            match map.get("attestations") {
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| entry(format!("{origin}:attestations[{i}]"), item.clone()))
                    .collect(),
                _ => vec![BundleCandidate {
                    origin: origin.to_owned(),
                    bundle: Err(BundleParseError::Bundle(
                        "`attestations` is not an array".into(),
                    )),
                }],
            }
        }
        Ok(value) => vec![entry(origin.to_owned(), value)],
        // Several documents: JSON Lines. A single malformed document stays one candidate.
        Err(_) if trimmed.lines().filter(|l| !l.trim().is_empty()).count() > 1 => trimmed
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                let origin = format!("{origin}:line {}", n + 1);
                match serde_json::from_str::<Value>(line) {
                    Ok(value) => entry(origin, value),
                    Err(e) => BundleCandidate {
                        origin,
                        bundle: Err(BundleParseError::Json(e.to_string())),
                    },
                }
            })
            .collect(),
        Err(e) => vec![BundleCandidate {
            origin: origin.to_owned(),
            bundle: Err(BundleParseError::Json(e.to_string())),
        }],
    }
}

/// One JSON value that should be a bundle, or an API entry wrapping one.
fn entry(origin: String, value: Value) -> BundleCandidate {
    let bundle = match value {
        Value::Object(mut map) if !map.contains_key("mediaType") => {
            match (map.remove("bundle"), map.remove("bundle_url")) {
                (Some(inner), _) if !inner.is_null() => bundle_from_value(inner),
                (_, Some(Value::String(url))) => Err(BundleParseError::NotInline(url)),
                _ => Err(BundleParseError::Bundle(
                    "the object has no `mediaType` and no `bundle`".into(),
                )),
            }
        }
        other => bundle_from_value(other),
    };
    BundleCandidate { origin, bundle }
}

fn bundle_from_value(value: Value) -> Result<Box<Bundle>, BundleParseError> {
    // `Bundle` validates while deserializing (media type, base64, required fields).
    serde_json::from_value::<Bundle>(value)
        .map(Box::new)
        .map_err(|e| BundleParseError::Bundle(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_single_document_is_one_failed_candidate() {
        let c = parse_attestations("x.json", b"{\"mediaType\": ");
        assert_eq!(c.len(), 1);
        assert!(matches!(c[0].bundle, Err(BundleParseError::Json(_))));
    }

    #[test]
    fn api_entry_without_inline_bundle_is_reported() {
        let c = parse_attestations(
            "api.json",
            br#"{"attestations":[{"bundle":null,"bundle_url":"https://example.invalid/b"}]}"#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].origin, "api.json:attestations[0]");
        assert!(matches!(c[0].bundle, Err(BundleParseError::NotInline(_))));
    }

    #[test]
    fn empty_input() {
        let c = parse_attestations("e", b"  \n");
        assert!(matches!(c[0].bundle, Err(BundleParseError::Empty(_))));
        assert!(parse_attestations("a", b"[]").is_empty());
    }
}
