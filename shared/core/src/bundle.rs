//! Reading Sigstore bundles out of the shapes they travel in. No I/O: callers pass bytes.
//!
//! One file may hold:
//! - one bundle (`*.sigstore.json`);
//! - JSON Lines, one bundle per line, as `gh attestation download` writes;
//! - a GitHub attestations API response body, `{"attestations":[{"bundle":{…}}, …]}`;
//! - a mirror sidecar (`<bottle url>.sigs`), a JSON array of bundles.
//!
//! [`parse_api_page`] reads one page of the GitHub attestations API as the network client
//! receives it, keeping apart the entries whose bundle is inline and those that only give a
//! `bundle_url` to fetch.
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
    if let Some(bundle) = single_bundle(trimmed) {
        return vec![BundleCandidate {
            origin: origin.to_owned(),
            bundle: Ok(bundle),
        }];
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| entry(format!("{origin}[{i}]"), item))
            .collect(),
        Ok(Value::Object(mut map)) if map.contains_key("attestations") => {
            match map.remove("attestations") {
                // Moved out of the tree, not copied.
                Some(Value::Array(items)) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| entry(format!("{origin}:attestations[{i}]"), item))
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
                if let Some(bundle) = single_bundle(line) {
                    return BundleCandidate {
                        origin,
                        bundle: Ok(bundle),
                    };
                }
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

/// `text` read straight into a [`Bundle`], when it is one JSON object that the general path
/// ([`entry`] over a [`Value`]) would read as a bundle and that deserializes directly; `None`
/// otherwise, and the caller takes the general path, which makes every error and every other
/// shape what it always was.
///
/// Going through a `Value` tree first costs about as much as the bundle itself. The direct
/// read ([`DirectBundle`]) gives the same `Bundle` in one pass over the text, and declines
/// (so the general path decides) whenever the two could differ: `mediaType` missing or
/// `attestations` present (`entry`'s shape check), a top-level key repeated (the `Value` keeps
/// the last), both `dsseEnvelope` and `messageSignature` present (which one a flattened read
/// takes depends on key order), an escaped top-level key, or anything that does not
/// deserialize.
fn single_bundle(text: &str) -> Option<Box<Bundle>> {
    if !text.starts_with('{') {
        return None;
    }
    serde_json::from_str::<DirectBundle>(text)
        .ok()
        .map(|direct| Box::new(direct.0))
}

/// A bundle object read key by key: `sigstore-types` reads its parts (`MediaType`,
/// `VerificationMaterial`, `DsseEnvelope`, `MessageSignature`) with their own `Deserialize`
/// impls, as its `Bundle` impl does, but without that impl's flattened field, which buffers
/// every key it does not name into a tree first; other keys are skipped, as there. Any shape
/// the general path could read differently is an error here (see [`single_bundle`]).
struct DirectBundle(Bundle);

impl<'de> serde::Deserialize<'de> for DirectBundle {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DirectBundleVisitor)
    }
}

struct DirectBundleVisitor;

impl<'de> serde::de::Visitor<'de> for DirectBundleVisitor {
    type Value = DirectBundle;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a Sigstore bundle object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<DirectBundle, A::Error> {
        use serde::de::{Error, IgnoredAny};
        use sigstore_types::bundle::{MediaType, SignatureContent, VerificationMaterial};
        fn once<T, E: Error>(slot: &mut Option<T>, value: T, key: &str) -> Result<(), E> {
            match slot.replace(value) {
                None => Ok(()),
                Some(_) => Err(E::custom(format_args!("repeated or conflicting `{key}`"))),
            }
        }
        let mut media_type: Option<MediaType> = None;
        let mut material: Option<VerificationMaterial> = None;
        let mut content: Option<SignatureContent> = None;
        // A borrowed key: an escaped one fails here, and the general path reads it.
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "mediaType" => once(&mut media_type, map.next_value()?, key)?,
                "verificationMaterial" => once(&mut material, map.next_value()?, key)?,
                "dsseEnvelope" => once(
                    &mut content,
                    SignatureContent::DsseEnvelope(map.next_value()?),
                    key,
                )?,
                "messageSignature" => once(
                    &mut content,
                    SignatureContent::MessageSignature(map.next_value()?),
                    key,
                )?,
                "attestations" => return Err(A::Error::custom("an attestations API body")),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (media_type, material, content) {
            (Some(media_type), Some(material), Some(content)) => {
                Ok(DirectBundle(Bundle::new(media_type, material, content)))
            }
            _ => Err(A::Error::custom("not a complete bundle")),
        }
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

/// One entry of a GitHub attestations API page.
#[derive(Debug, Clone)]
pub enum ApiEntry {
    /// The bundle is inline: parsed, or why it is unusable (an entry with neither `bundle` nor
    /// `bundle_url` is an unusable inline bundle, so that it is reported, not dropped).
    Inline(Result<Box<Bundle>, BundleParseError>),
    /// No inline bundle: it must be fetched from this URL (blob storage on another host; the
    /// body is raw-block snappy around the bundle's JSON). The URL is outside data: the caller
    /// decides whether and how to fetch it.
    BundleUrl(String),
}

/// Why an attestations API page as a whole is unusable. A page that is not what the API sends
/// must not be read as "no attestations": that would let a broken or hostile answer pass for
/// the authoritative "none".
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ApiPageError {
    /// The body is not JSON (or not UTF-8).
    #[error("the attestations API page is not valid JSON: {0}")]
    Json(String),
    /// JSON, but not `{"attestations": [...]}`.
    #[error("the attestations API page is not an object with an `attestations` array")]
    Shape,
}

/// Parse one page of `GET /repos/{owner}/{repo}/attestations/{digest}`:
/// `{"attestations": [{"bundle": {…} | null, "bundle_url": "…", "repository_id": …}, …]}`.
///
/// The page must be an object holding an `attestations` array (an empty array is the API's
/// "none"); anything else is an [`ApiPageError`]. Each entry becomes one [`ApiEntry`], in order:
/// a non-null `bundle` wins over `bundle_url`, as `gh` reads them. Entries that are malformed
/// on their own (not an object, a `bundle_url` that is not a string) become failed inline
/// candidates rather than failing the page, so that one bad entry makes the bottle *invalid*
/// (it cannot be mistaken for a missing attestation), exactly like an unreadable bundle.
/// Other fields (`repository_id`, `initiator`) are not read: the bundle itself says who signed.
pub fn parse_api_page(bytes: &[u8]) -> Result<Vec<ApiEntry>, ApiPageError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiPageError::Json(e.to_string()))?;
    let Value::Object(mut page) = value else {
        return Err(ApiPageError::Shape);
    };
    let Some(Value::Array(items)) = page.remove("attestations") else {
        return Err(ApiPageError::Shape);
    };
    Ok(items.into_iter().map(api_entry).collect())
}

/// One page of `POST /{orgs|users}/{owner}/attestations/bulk-list`: for each subject digest
/// asked (`sha256:<hex>`), the entries filed for it in any repository of the owner, and the
/// cursor of the next page.
#[derive(Debug, Clone)]
pub struct BulkPage {
    /// `(digest as the API wrote it, entries)`; a `null` list is an empty one.
    pub digests: Vec<(String, Vec<ApiEntry>)>,
    /// `page_info.next` when `page_info.has_next`.
    pub next: Option<String>,
}

/// Parse one page of `POST /{orgs|users}/{owner}/attestations/bulk-list` (GitHub REST
/// 2022-11-28; docs.github.com/en/rest/orgs/attestations, "List attestations by bulk subject
/// digests"):
///
/// ```json
/// {"attestations_subject_digests": {"sha256:<hex>": [{"bundle": {…} | null,
///   "repository_id": 1, "bundle_url": "…"}] | null, …},
///  "page_info": {"has_next": false, "has_previous": false, "next": "…", "previous": "…"}}
/// ```
///
/// The schema says `attestations_subject_digests` is an object mapping each digest to a list
/// or `null`; the rendered example wraps that object in an array, so both are read. Each entry
/// is read as [`parse_api_page`] reads one. `page_info` is optional in the schema (a page
/// without it is the last one, as far as the body says); when present it must be an object
/// whose `has_next`, if present, is a boolean, and `has_next: true` needs a non-empty `next`
/// cursor. Anything else is an [`ApiPageError`], never an empty answer: a broken page must not
/// pass for "this owner has none".
pub fn parse_bulk_page(bytes: &[u8]) -> Result<BulkPage, ApiPageError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiPageError::Json(e.to_string()))?;
    let Value::Object(mut page) = value else {
        return Err(ApiPageError::Shape);
    };
    let maps: Vec<serde_json::Map<String, Value>> =
        match page.remove("attestations_subject_digests") {
            Some(Value::Object(map)) => vec![map],
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Value::Object(map) => Ok(map),
                    _ => Err(ApiPageError::Shape),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(ApiPageError::Shape),
        };
    let mut digests = Vec::new();
    for map in maps {
        for (digest, list) in map {
            let entries = match list {
                Value::Null => Vec::new(),
                Value::Array(items) => items.into_iter().map(api_entry).collect(),
                _ => return Err(ApiPageError::Shape),
            };
            digests.push((digest, entries));
        }
    }
    let next = match page.remove("page_info") {
        None | Some(Value::Null) => None,
        Some(Value::Object(info)) => {
            let has_next = match info.get("has_next") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(ApiPageError::Shape),
            };
            match info.get("next") {
                Some(Value::String(next)) if has_next && !next.is_empty() => Some(next.clone()),
                _ if has_next => return Err(ApiPageError::Shape),
                _ => None,
            }
        }
        Some(_) => return Err(ApiPageError::Shape),
    };
    Ok(BulkPage { digests, next })
}

fn api_entry(item: Value) -> ApiEntry {
    let Value::Object(mut map) = item else {
        return ApiEntry::Inline(Err(BundleParseError::Bundle(
            "the API entry is not an object".into(),
        )));
    };
    match (map.remove("bundle"), map.remove("bundle_url")) {
        (Some(inner), _) if !inner.is_null() => ApiEntry::Inline(bundle_from_value(inner)),
        (_, Some(Value::String(url))) => ApiEntry::BundleUrl(url),
        (_, Some(url)) if !url.is_null() => ApiEntry::Inline(Err(BundleParseError::Bundle(
            "the API entry's `bundle_url` is not a string".into(),
        ))),
        _ => ApiEntry::Inline(Err(BundleParseError::Bundle(
            "the API entry has neither `bundle` nor `bundle_url`".into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_pages_read_both_shapes_and_refuse_others() {
        let map = br#"{"attestations_subject_digests": {"sha256:aa": null, "sha256:bb": [{"bundle_url": "https://x/1"}]}, "page_info": {"has_next": true, "next": "c1"}}"#;
        let page = parse_bulk_page(map).unwrap();
        assert_eq!(page.next.as_deref(), Some("c1"));
        let by: std::collections::BTreeMap<_, _> = page.digests.into_iter().collect();
        assert!(by["sha256:aa"].is_empty());
        assert!(matches!(by["sha256:bb"][0], ApiEntry::BundleUrl(_)));
        let wrapped = br#"{"attestations_subject_digests": [{"sha256:aa": []}], "page_info": {"has_next": false}}"#;
        assert_eq!(parse_bulk_page(wrapped).unwrap().digests.len(), 1);
        // `page_info` is optional; without it, or with `has_next: false`, there is no next page
        // (whatever `next` says).
        for last in [
            &br#"{"attestations_subject_digests": {}}"#[..],
            br#"{"attestations_subject_digests": {}, "page_info": {"has_next": false, "next": "c9"}}"#,
            br#"{"attestations_subject_digests": {}, "page_info": {}}"#,
        ] {
            let page = parse_bulk_page(last).unwrap();
            assert!(page.digests.is_empty() && page.next.is_none());
        }
        for bad in [
            &br#"{}"#[..],
            br#"{"attestations_subject_digests": 3}"#,
            br#"{"attestations_subject_digests": {"sha256:aa": 1}}"#,
            br#"{"attestations_subject_digests": {}, "page_info": {"has_next": true}}"#,
            br#"{"attestations_subject_digests": {}, "page_info": {"has_next": true, "next": ""}}"#,
            br#"{"attestations_subject_digests": {}, "page_info": {"has_next": "yes", "next": "c"}}"#,
            br#"{"attestations_subject_digests": {}, "page_info": []}"#,
            br#"{"attestations_subject_digests": [3]}"#,
            br#"{"attestations_subject_digests": null}"#,
            br#"{"page_info": {"has_next": false}}"#,
            br#"[]"#,
            b"<html>",
        ] {
            assert!(
                parse_bulk_page(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// The general path: every document through a `Value` tree.
    fn via_value(text: &str) -> Result<Box<Bundle>, BundleParseError> {
        entry("x".into(), serde_json::from_str::<Value>(text).unwrap()).bundle
    }

    #[test]
    fn direct_read_gives_the_bundle_the_value_path_gives() {
        let corpus = [
            include_str!(
                "../../../tests/fixtures/corpus/bundles/gh-actions/cli-gh_2.54.0_linux_armv6.tar.gz.sigstore.json"
            ),
            include_str!(
                "../../../tests/fixtures/corpus/bundles/gh-actions/cli-sigstore-js-2.1.0.v0.1.sigstore.json"
            ),
            include_str!(
                "../../../tests/fixtures/corpus/bundles/gh-actions/spy-rfc8785-0.1.2-py3-none-any.whl.sigstore.json"
            ),
            include_str!(
                "../../../tests/fixtures/corpus/bundles/other/sjs-bundleV02-intoto.sigstore.json"
            ),
            include_str!(
                "../../../tests/fixtures/corpus/bundles/conformance/rekor2-dsse-happy-path.sigstore.json"
            ),
        ];
        for text in corpus {
            let direct = single_bundle(text.trim()).expect("a bundle reads directly");
            assert_eq!(direct, via_value(text).unwrap());
            let got = parse_attestations("f", text.as_bytes());
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].bundle.as_ref().unwrap(), &direct);
        }
        let jsonl = include_str!(
            "../../../tests/fixtures/corpus/bundles/gh-actions/cli-sigstore-js-2.1.0_with_2_bundles.jsonl"
        );
        let got = parse_attestations("f", jsonl.as_bytes());
        let lines: Vec<&str> = jsonl.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(got.len(), lines.len());
        for (c, line) in got.iter().zip(lines) {
            assert_eq!(c.bundle.as_ref().unwrap(), &via_value(line).unwrap());
        }
    }

    /// Reordered, padded and extended bundles still read directly, to the same `Bundle` the
    /// `Value` path gives; the shapes the two could read differently are declined, and the
    /// general path then reads them as it always did.
    #[test]
    fn direct_read_agrees_with_the_value_path_on_variations() {
        let texts = [
            include_str!(
                "../../../tests/fixtures/corpus/bundles/gh-actions/cli-gh_2.54.0_linux_armv6.tar.gz.sigstore.json"
            ),
            include_str!(
                "../../../tests/fixtures/corpus/bundles/other/sjs-bundleV02-intoto.sigstore.json"
            ),
            include_str!(
                "../../../tests/fixtures/corpus/bundles/conformance/rekor2-dsse-happy-path.sigstore.json"
            ),
        ];
        for text in texts {
            let Value::Object(map) = serde_json::from_str::<Value>(text).unwrap() else {
                panic!("a bundle is an object");
            };
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            let object = |parts: &[String]| format!("{{{}}}", parts.join(","));
            let mut reversed = pairs.clone();
            reversed.reverse();
            let mut extra = pairs.clone();
            extra.insert(
                1,
                r#""comment":{"nested":[1,{"mediaType":2}],"x":null}"#.into(),
            );
            extra.push(r#""zzz":"ignored""#.into());
            let spaced = format!(" {{ {} }} ", pairs.join(" ,\n "));
            for same in [object(&pairs), object(&reversed), object(&extra), spaced] {
                let direct = single_bundle(same.trim()).expect("reads directly");
                assert_eq!(direct, via_value(&same).unwrap());
            }

            let with = |key: &str, value: &str| {
                let mut parts = pairs.clone();
                parts.push(format!("\"{key}\":{value}"));
                object(&parts)
            };
            let other_content = if map.contains_key("dsseEnvelope") {
                with("messageSignature", r#"{"signature":"AAAA"}"#)
            } else {
                with(
                    "dsseEnvelope",
                    r#"{"payload":"e30=","payloadType":"x","signatures":[]}"#,
                )
            };
            let escaped = object(&pairs).replacen(r#""mediaType""#, r#""\u006dediaType""#, 1);
            let declined = [
                other_content,
                with(
                    "mediaType",
                    r#""application/vnd.dev.sigstore.bundle.v0.3+json""#,
                ),
                with("verificationMaterial", "{}"),
                with("attestations", "[]"),
                escaped,
                object(&pairs[1..]),
                "{}".to_owned(),
            ];
            for text in declined {
                assert!(
                    single_bundle(&text).is_none(),
                    "{}",
                    &text[..80.min(text.len())]
                );
            }
        }
    }

    #[test]
    fn other_shapes_and_repeated_keys_take_the_value_path() {
        let text = include_str!(
            "../../../tests/fixtures/corpus/bundles/gh-actions/cli-gh_2.54.0_linux_armv6.tar.gz.sigstore.json"
        )
        .trim();
        let body = text.strip_prefix('{').unwrap();
        // A repeated key: the `Value` keeps the last, so the direct read must not decide.
        let media = r#""mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1","#;
        let envelope = r#""dsseEnvelope":{"payload":"e30=","payloadType":"x","signatures":[]},"#;
        for repeated in [format!("{{{media}{body}"), format!("{{{envelope}{body}")] {
            assert!(single_bundle(&repeated).is_none());
        }
        // `attestations` makes it an API body; no `mediaType` makes it an API entry.
        let api = format!(r#"{{"attestations":[],{body}"#);
        assert!(single_bundle(&api).is_none());
        assert!(parse_attestations("f", api.as_bytes()).is_empty());
        let unnamed = text.replacen(r#""mediaType""#, r#""mediaTypo""#, 1);
        assert!(single_bundle(&unnamed).is_none());
        assert!(
            parse_attestations("f", unnamed.as_bytes())[0]
                .bundle
                .is_err()
        );
    }

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

    #[test]
    fn api_page_keeps_inline_and_url_entries_in_order() {
        let page = br#"{"attestations":[
            {"bundle":null,"bundle_url":"https://blob.invalid/1","repository_id":1},
            {"bundle":{"mediaType":"nonsense"}},
            {"repository_id":2},
            {"bundle_url":7},
            "nope"
        ]}"#;
        let entries = parse_api_page(page).unwrap();
        assert_eq!(entries.len(), 5);
        assert!(matches!(&entries[0], ApiEntry::BundleUrl(u) if u == "https://blob.invalid/1"));
        assert!(matches!(
            &entries[1],
            ApiEntry::Inline(Err(BundleParseError::Bundle(_)))
        ));
        for (i, why) in [(2, "neither"), (3, "not a string"), (4, "not an object")] {
            match &entries[i] {
                ApiEntry::Inline(Err(BundleParseError::Bundle(m))) => {
                    assert!(m.contains(why), "{i}: {m}")
                }
                other => panic!("{i}: {other:?}"),
            }
        }
    }

    #[test]
    fn api_page_that_is_not_a_list_is_an_error_not_none() {
        assert_eq!(parse_api_page(br#"{"attestations":[]}"#).unwrap().len(), 0);
        for bad in [
            &b"{}"[..],
            b"[]",
            br#"{"attestations":null}"#,
            br#"{"attestations":{}}"#,
        ] {
            assert_eq!(parse_api_page(bad).unwrap_err(), ApiPageError::Shape);
        }
        assert!(matches!(
            parse_api_page(b"\xff{"),
            Err(ApiPageError::Json(_))
        ));
    }

    #[test]
    fn real_api_page_entries_are_inline_bundles() {
        // Recorded from GitHub's attestations API (tests/fixtures/corpus/SOURCES.md): entries
        // carry both an inline `bundle` and a `bundle_url`; the inline one wins.
        let page = include_bytes!(
            "../../../tests/fixtures/corpus/bundles/api/konnekt-snapshot-linux-amd64.attestations-api.json"
        );
        let entries = parse_api_page(page).unwrap();
        assert!(!entries.is_empty());
        for entry in &entries {
            assert!(matches!(entry, ApiEntry::Inline(Ok(_))), "{entry:?}");
        }
    }
}
