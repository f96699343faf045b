//! The kit's Rekor: the v1 REST API sigstore-rekor 0.15.1 speaks, over an RFC 6962 tree.
//!
//! - `POST /api/v1/log/entries` takes `hashedrekord` 0.0.1 and `dsse` 0.0.1 (`proposedContent`)
//!   requests, verifies their signatures against the submitted certificate like Rekor does,
//!   stores the canonical body Rekor would store (certificates re-encoded as LF PEM, DSSE
//!   envelopes reduced to envelope hash, payload hash and signatures), appends its leaf and
//!   answers `201` with `{uuid: {body, integratedTime, logID, logIndex, verification:
//!   {inclusionProof: {checkpoint, hashes, logIndex, rootHash, treeSize}, signedEntryTimestamp}}}`.
//!   A duplicate entry is a `409`, as in Rekor.
//! - `GET /api/v1/log/entries/{uuid}`, `GET /api/v1/log/entries?logIndex=N`, `GET /api/v1/log`
//!   and `GET /api/v1/log/publicKey` read the log back.
//!
//! Checkpoints are signed notes (`origin\nsize\nroot\n\n— name base64(keyhint || sig)\n`) whose
//! key hint is the first four bytes of the log ID, the SHA-256 of the log key's SPKI; the SET
//! signs the RFC 8785 form of `{body, integratedTime, logID, logIndex}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hyper::header::{ETAG, LOCATION};
use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sigstore_crypto::{KeyPair, VerificationKey};
use sigstore_types::{DerPublicKey, SignatureBytes};

use crate::clock::Clock;
use crate::error::{KitError, Result, bad_request};
use crate::http::{Reply, Request, Service};
use crate::merkle::{self, Hash};
use crate::pki::{b64, certificate_spki, pem, unb64, unpem};

/// One entry as the log stores it.
struct StoredEntry {
    /// The canonicalized body (RFC 8785 JSON), the Merkle leaf's contents.
    body: Vec<u8>,
    /// Unix seconds at which the kit's clock saw the entry integrated.
    integrated_time: i64,
}

#[derive(Default)]
struct LogState {
    entries: Vec<StoredEntry>,
    tree: merkle::Tree,
    by_leaf: HashMap<Hash, usize>,
}

/// The kit's Rekor service.
pub(crate) struct Rekor {
    key: KeyPair,
    spki_der: Vec<u8>,
    log_id: [u8; 32],
    tree_id: u64,
    /// The signed note's origin name: Rekor uses its hostname.
    hostname: String,
    clock: Arc<Clock>,
    state: Mutex<LogState>,
}

impl Rekor {
    /// A log with a fresh P-256 key, named after the host it serves on.
    pub(crate) fn new(hostname: &str, clock: Arc<Clock>) -> Result<Self> {
        let key = KeyPair::generate_ecdsa_p256()?;
        let spki_der = key.public_key_der()?.as_bytes().to_vec();
        let log_id: [u8; 32] = Sha256::digest(&spki_der).into();
        let tree_id = u64::from_be_bytes(
            log_id[24..]
                .try_into()
                .map_err(|_| bad_request("log ID too short"))?,
        ) >> 1;
        Ok(Self {
            key,
            spki_der,
            log_id,
            tree_id,
            hostname: hostname.to_owned(),
            clock,
            state: Mutex::new(LogState::default()),
        })
    }

    /// The log key (SubjectPublicKeyInfo DER), for the trusted root.
    pub(crate) fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The log ID: SHA-256 of the log key's SubjectPublicKeyInfo.
    pub(crate) fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// How many entries the log holds.
    pub(crate) fn size(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry UUID Rekor returns for a shard: 16 hex digits of tree ID, then the leaf hash.
    fn uuid(&self, leaf: &Hash) -> String {
        format!("{:016x}{}", self.tree_id, hex::encode(leaf))
    }

    /// Append a new entry; returns the response map `{uuid: entry}`.
    fn create(&self, body: &[u8]) -> Result<(String, Value)> {
        let proposed: Value = serde_json::from_slice(body)
            .map_err(|e| bad_request(format!("entry is not JSON: {e}")))?;
        let canonical = match (proposed["kind"].as_str(), proposed["apiVersion"].as_str()) {
            (Some("hashedrekord"), Some("0.0.1")) => hashedrekord_body(&proposed)?,
            (Some("dsse"), Some("0.0.1")) => dsse_body(&proposed)?,
            (kind, version) => {
                return Err(bad_request(format!(
                    "unsupported entry kind {}/{}",
                    kind.unwrap_or("?"),
                    version.unwrap_or("?")
                )));
            }
        };
        let canonical = serde_json_canonicalizer::to_vec(&canonical)
            .map_err(|e| bad_request(format!("cannot canonicalize entry: {e}")))?;
        let leaf = merkle::leaf_hash(&canonical);
        let mut state = self.lock();
        if let Some(existing) = state.by_leaf.get(&leaf) {
            return Err(KitError::Conflict(format!(
                "an equivalent entry already exists in the transparency log at index {existing}"
            )));
        }
        let index = state.entries.len();
        state.entries.push(StoredEntry {
            body: canonical,
            integrated_time: self.clock.now().timestamp(),
        });
        state.tree.push(leaf);
        state.by_leaf.insert(leaf, index);
        let uuid = self.uuid(&leaf);
        let entry = self.entry_json(&state, index)?;
        Ok((uuid, entry))
    }

    /// The v1 `LogEntryAnon` of entry `index`, with an inclusion proof in the current tree.
    fn entry_json(&self, state: &LogState, index: usize) -> Result<Value> {
        let entry = state
            .entries
            .get(index)
            .ok_or_else(|| bad_request(format!("no entry at index {index}")))?;
        let body = b64(&entry.body);
        let log_id = hex::encode(self.log_id);
        let set_payload = serde_json_canonicalizer::to_vec(&json!({
            "body": body,
            "integratedTime": entry.integrated_time,
            "logID": log_id,
            "logIndex": index,
        }))
        .map_err(|e| bad_request(format!("cannot canonicalize SET payload: {e}")))?;
        let set = self.key.sign(&set_payload)?;
        let tree_size = state.tree.len();
        let root = state.tree.root(tree_size);
        let hashes: Vec<String> = state
            .tree
            .inclusion_proof(index, tree_size)
            .iter()
            .map(hex::encode)
            .collect();
        Ok(json!({
            "body": body,
            "integratedTime": entry.integrated_time,
            "logID": log_id,
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "checkpoint": self.checkpoint(tree_size, &root)?,
                    "hashes": hashes,
                    "logIndex": index,
                    "rootHash": hex::encode(root),
                    "treeSize": tree_size,
                },
                "signedEntryTimestamp": b64(set.as_bytes()),
            },
        }))
    }

    /// A signed checkpoint (signed note) for the tree of `size` leaves with `root`.
    fn checkpoint(&self, size: usize, root: &Hash) -> Result<String> {
        let note = format!(
            "{} - {}\n{size}\n{}\n",
            self.hostname,
            self.tree_id,
            b64(root)
        );
        let signature = self.key.sign(note.as_bytes())?;
        let mut signed = self.log_id[..4].to_vec();
        signed.extend_from_slice(signature.as_bytes());
        Ok(format!(
            "{note}\n\u{2014} {} {}\n",
            self.hostname,
            b64(signed)
        ))
    }

    fn get_entry(&self, index: usize) -> Result<(String, Value)> {
        let state = self.lock();
        let entry = state
            .entries
            .get(index)
            .ok_or_else(|| bad_request(format!("no entry at index {index}")))?;
        let uuid = self.uuid(&merkle::leaf_hash(&entry.body));
        Ok((uuid, self.entry_json(&state, index)?))
    }

    fn index_of_uuid(&self, uuid: &str) -> Option<usize> {
        // Accept both the 80-digit shard UUID and the bare 64-digit leaf hash, as Rekor does.
        let leaf_hex = uuid.get(uuid.len().checked_sub(64)?..)?;
        let leaf: Hash = hex::decode(leaf_hex).ok()?.try_into().ok()?;
        self.lock().by_leaf.get(&leaf).copied()
    }

    fn log_info(&self) -> Result<Value> {
        let state = self.lock();
        let size = state.tree.len();
        let root = state.tree.root(size);
        Ok(json!({
            "rootHash": hex::encode(root),
            "treeSize": size,
            "signedTreeHead": self.checkpoint(size, &root)?,
            "treeID": self.tree_id.to_string(),
        }))
    }
}

fn not_found(what: String) -> Reply {
    Reply::json(
        StatusCode::NOT_FOUND,
        &json!({"code": 404, "message": what}),
    )
}

impl Service for Rekor {
    fn handle(&self, request: &Request) -> Reply {
        let path = request.path.as_str();
        match (&request.method, path) {
            (&Method::POST, "/api/v1/log/entries") => match self.create(&request.body) {
                Ok((uuid, entry)) => Reply::json(StatusCode::CREATED, &json!({ &uuid: entry }))
                    .with_header(LOCATION, format!("/api/v1/log/entries/{uuid}"))
                    .with_header(ETAG, uuid),
                Err(error) => Reply::error(&error),
            },
            (&Method::GET, "/api/v1/log/entries") => {
                let Some(index) = request
                    .query_param("logIndex")
                    .and_then(|index| index.parse::<usize>().ok())
                else {
                    return Reply::error(&bad_request("logIndex query parameter required"));
                };
                match self.get_entry(index) {
                    Ok((uuid, entry)) => Reply::json(StatusCode::OK, &json!({ &uuid: entry })),
                    Err(_) => not_found(format!("no entry at index {index}")),
                }
            }
            (&Method::GET, "/api/v1/log") => match self.log_info() {
                Ok(info) => Reply::json(StatusCode::OK, &info),
                Err(error) => Reply::error(&error),
            },
            (&Method::GET, "/api/v1/log/publicKey") => Reply::bytes(
                StatusCode::OK,
                "application/x-pem-file",
                pem("PUBLIC KEY", &self.spki_der).into_bytes(),
            ),
            (&Method::GET, _) if path.starts_with("/api/v1/log/entries/") => {
                let uuid = &path["/api/v1/log/entries/".len()..];
                match self.index_of_uuid(uuid).map(|index| self.get_entry(index)) {
                    Some(Ok((uuid, entry))) => {
                        Reply::json(StatusCode::OK, &json!({ &uuid: entry }))
                    }
                    _ => not_found(format!("entry {uuid} not found")),
                }
            }
            _ => Reply::not_found(request),
        }
    }
}

/// A submitted verifier: base64 of a PEM certificate. Returns the canonical PEM (what Rekor
/// stores) and the key that verifies signatures.
fn parse_verifier(base64_pem: &str) -> Result<(String, VerificationKey)> {
    let pem_bytes = unb64("verifier", base64_pem)?;
    let pem_text =
        String::from_utf8(pem_bytes).map_err(|_| bad_request("verifier PEM is not UTF-8"))?;
    let der = unpem("CERTIFICATE", &pem_text)?;
    let spki = certificate_spki(&der)?;
    let key = VerificationKey::from_spki(&DerPublicKey::new(spki))
        .map_err(|e| bad_request(format!("unsupported verifier key: {e}")))?;
    Ok((pem("CERTIFICATE", &der), key))
}

/// The hashedrekord 0.0.1 request, as sigstore-rekor serializes it.
#[derive(Deserialize)]
struct HashedRekordSpec {
    data: HashedRekordData,
    signature: HashedRekordSignature,
}

#[derive(Deserialize)]
struct HashedRekordData {
    hash: HashedRekordHash,
}

#[derive(Deserialize)]
struct HashedRekordHash {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordSignature {
    content: String,
    public_key: HashedRekordPublicKey,
}

#[derive(Deserialize)]
struct HashedRekordPublicKey {
    content: String,
}

/// Verify a hashedrekord request and return the body Rekor stores.
fn hashedrekord_body(proposed: &Value) -> Result<Value> {
    let spec: HashedRekordSpec = serde_json::from_value(proposed["spec"].clone())
        .map_err(|e| bad_request(format!("invalid hashedrekord spec: {e}")))?;
    if spec.data.hash.algorithm != "sha256" {
        return Err(bad_request(format!(
            "unsupported hash algorithm {}",
            spec.data.hash.algorithm
        )));
    }
    let digest = hex::decode(&spec.data.hash.value)
        .ok()
        .filter(|digest| digest.len() == 32)
        .ok_or_else(|| bad_request("hash value is not 64 hex digits"))?;
    let signature = unb64("signature content", &spec.signature.content)?;
    let (canonical_pem, key) = parse_verifier(&spec.signature.public_key.content)?;
    key.verify_prehashed(&digest, &SignatureBytes::new(signature.clone()))
        .map_err(|_| bad_request("signature does not verify against the artifact hash"))?;
    Ok(json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            "signature": {
                "content": b64(&signature),
                "publicKey": {"content": b64(canonical_pem)},
            },
        },
    }))
}

/// A DSSE envelope as it travels in `proposedContent.envelope`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

/// Verify a dsse `proposedContent` request and return the body Rekor stores.
fn dsse_body(proposed: &Value) -> Result<Value> {
    let content = &proposed["spec"]["proposedContent"];
    let envelope_text = content["envelope"]
        .as_str()
        .ok_or_else(|| bad_request("dsse entry has no proposedContent.envelope"))?;
    let envelope: Envelope = serde_json::from_str(envelope_text)
        .map_err(|e| bad_request(format!("invalid DSSE envelope: {e}")))?;
    let verifiers = content["verifiers"]
        .as_array()
        .filter(|verifiers| !verifiers.is_empty())
        .ok_or_else(|| bad_request("dsse entry has no verifiers"))?
        .iter()
        .map(|verifier| {
            verifier
                .as_str()
                .ok_or_else(|| bad_request("verifier is not a string"))
                .and_then(parse_verifier)
        })
        .collect::<Result<Vec<_>>>()?;
    if envelope.signatures.is_empty() {
        return Err(bad_request("DSSE envelope has no signatures"));
    }
    let payload = unb64("DSSE payload", &envelope.payload)?;
    let pae = sigstore_types::pae(&envelope.payload_type, &payload);
    let mut signatures = Vec::new();
    for signature in &envelope.signatures {
        let sig = unb64("DSSE signature", &signature.sig)?;
        let (verifier_pem, _) = verifiers
            .iter()
            .find(|(_, key)| key.verify(&pae, &SignatureBytes::new(sig.clone())).is_ok())
            .ok_or_else(|| bad_request("DSSE signature does not verify with any verifier"))?;
        signatures.push(json!({"signature": b64(&sig), "verifier": b64(verifier_pem)}));
    }
    Ok(json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {
                "algorithm": "sha256",
                "value": hex::encode(Sha256::digest(envelope_text.as_bytes())),
            },
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))},
            "signatures": signatures,
        },
    }))
}
