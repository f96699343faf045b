//! The kit's Fulcio: the v2 REST API sigstore-fulcio 0.15.1 speaks.
//!
//! - `POST /api/v2/signingCert`: authenticate the OIDC token (the kit's OIDC key), check the
//!   proof of possession (a signature over the token's `sub`, or `email` when present, by the
//!   submitted key), and issue a 10-minute leaf with the GitHub Actions extensions and an
//!   embedded SCT. Answers `201` with `signedCertificateEmbeddedSct.chain.certificates` (PEM,
//!   leaf first), as Fulcio does.
//! - `GET /api/v2/trustBundle` and `GET /api/v2/configuration`, for completeness.
//!
//! Unlike real Fulcio it accepts any `iss` (so tests can mint wrong-issuer certificates), and
//! only maps claims the GitHub way.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sigstore_crypto::VerificationKey;
use sigstore_types::{DerPublicKey, SignatureBytes};

use crate::clock::Clock;
use crate::ct::CtLog;
use crate::error::{KitError, Result, bad_request};
use crate::http::{Reply, Request, Service};
use crate::identity::GITHUB_ISSUER;
use crate::oidc::OidcProvider;
use crate::pki::{FulcioCa, FulcioExtension, LeafRequest, pem, unb64, unpem};

/// Where Fulcio roots GitHub's URIs (`build-signer-uri` and friends).
const GITHUB_URL: &str = "https://github.com";

/// The signing certificate request, as sigstore-fulcio serializes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertRequest {
    credentials: Credentials,
    public_key_request: PublicKeyRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    oidc_identity_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: PublicKeyContent,
    proof_of_possession: String,
}

#[derive(Deserialize)]
struct PublicKeyContent {
    content: String,
}

/// The kit's Fulcio service.
pub(crate) struct Fulcio {
    pub(crate) ca: FulcioCa,
    /// The CT log whose SCT every leaf embeds; `None` for GitHub's instance, which has none.
    pub(crate) ct: Option<CtLog>,
    pub(crate) oidc: Arc<OidcProvider>,
    pub(crate) clock: Arc<Clock>,
}

impl Service for Fulcio {
    fn handle(&self, request: &Request) -> Reply {
        match (&request.method, request.path.as_str()) {
            (&Method::POST, "/api/v2/signingCert") => match self.signing_cert(&request.body) {
                Ok(chain) => Reply::json(
                    StatusCode::CREATED,
                    &json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}),
                ),
                Err(error) => Reply::error(&error),
            },
            (&Method::GET, "/api/v2/trustBundle") => Reply::json(
                StatusCode::OK,
                &json!({"chains": [{"certificates": self.chain_pem()}]}),
            ),
            (&Method::GET, "/api/v2/configuration") => Reply::json(
                StatusCode::OK,
                &json!({"issuers": [{
                    "issuerUrl": GITHUB_ISSUER,
                    "audience": "sigstore",
                    "issuerType": "github-workflow",
                }]}),
            ),
            _ => Reply::not_found(request),
        }
    }
}

impl Fulcio {
    fn chain_pem(&self) -> Vec<String> {
        self.ca
            .chain_der()
            .iter()
            .map(|der| pem("CERTIFICATE", der))
            .collect()
    }

    /// Issue a certificate; returns the PEM chain, leaf first.
    fn signing_cert(&self, body: &[u8]) -> Result<Vec<String>> {
        let request: SigningCertRequest = serde_json::from_slice(body)
            .map_err(|e| bad_request(format!("invalid signing certificate request: {e}")))?;
        let now = self.clock.now();
        let claims = self
            .oidc
            .authenticate(&request.credentials.oidc_identity_token, now.timestamp())?;
        let github = GithubClaims::from_claims(&claims)?;

        // Proof of possession: the requester signed the token's identity with the key.
        let spki_der = unpem("PUBLIC KEY", &request.public_key_request.public_key.content)?;
        let key = VerificationKey::from_spki(&DerPublicKey::new(spki_der.clone()))
            .map_err(|e| bad_request(format!("unsupported public key: {e}")))?;
        let proof = unb64(
            "proofOfPossession",
            &request.public_key_request.proof_of_possession,
        )?;
        let identity = claims["email"].as_str().unwrap_or(&github.sub);
        key.verify(identity.as_bytes(), &SignatureBytes::new(proof))
            .map_err(|_| {
                KitError::BadRequest(
                    "proof of possession does not verify with the public key".into(),
                )
            })?;

        let san = format!("{GITHUB_URL}/{}", github.job_workflow_ref);
        let leaf = self.ca.issue_leaf(
            &LeafRequest {
                spki_der: &spki_der,
                san_uri: &san,
                extensions: &github.extensions(),
                not_before: now,
            },
            self.ct.as_ref(),
        )?;
        let mut chain = vec![pem("CERTIFICATE", &leaf)];
        chain.extend(self.chain_pem());
        Ok(chain)
    }
}

/// The GitHub Actions claims Fulcio requires, as strings.
struct GithubClaims {
    iss: String,
    sub: String,
    event_name: String,
    sha: String,
    workflow: String,
    repository: String,
    git_ref: String,
    job_workflow_ref: String,
    job_workflow_sha: String,
    runner_environment: String,
    repository_id: String,
    repository_owner: String,
    repository_owner_id: String,
    workflow_ref: String,
    workflow_sha: String,
    run_id: String,
    run_attempt: String,
    repository_visibility: String,
    environment: Option<String>,
}

impl GithubClaims {
    fn from_claims(claims: &Value) -> Result<Self> {
        let optional = |name: &str| match &claims[name] {
            Value::String(value) => Some(value.clone()),
            Value::Number(value) => Some(value.to_string()),
            _ => None,
        };
        let required = |name: &str| {
            optional(name)
                .ok_or_else(|| bad_request(format!("identity token has no `{name}` claim")))
        };
        Ok(Self {
            iss: required("iss")?,
            sub: required("sub")?,
            event_name: required("event_name")?,
            sha: required("sha")?,
            workflow: required("workflow")?,
            repository: required("repository")?,
            git_ref: required("ref")?,
            job_workflow_ref: required("job_workflow_ref")?,
            job_workflow_sha: required("job_workflow_sha")?,
            runner_environment: required("runner_environment")?,
            repository_id: required("repository_id")?,
            repository_owner: required("repository_owner")?,
            repository_owner_id: required("repository_owner_id")?,
            workflow_ref: required("workflow_ref")?,
            workflow_sha: required("workflow_sha")?,
            run_id: required("run_id")?,
            run_attempt: required("run_attempt")?,
            repository_visibility: required("repository_visibility")?,
            environment: optional("environment"),
        })
    }

    /// The extensions Fulcio's `github-workflow` provider writes, in its order
    /// (see fulcio `docs/oid-info.md`).
    fn extensions(&self) -> Vec<FulcioExtension> {
        use FulcioExtension::{Raw, Utf8};
        let mut extensions = vec![
            Raw(1, self.iss.clone()),
            Raw(2, self.event_name.clone()),
            Raw(3, self.sha.clone()),
            Raw(4, self.workflow.clone()),
            Raw(5, self.repository.clone()),
            Raw(6, self.git_ref.clone()),
            Utf8(8, self.iss.clone()),
            Utf8(9, format!("{GITHUB_URL}/{}", self.job_workflow_ref)),
            Utf8(10, self.job_workflow_sha.clone()),
            Utf8(11, self.runner_environment.clone()),
            Utf8(12, format!("{GITHUB_URL}/{}", self.repository)),
            Utf8(13, self.sha.clone()),
            Utf8(14, self.git_ref.clone()),
            Utf8(15, self.repository_id.clone()),
            Utf8(16, format!("{GITHUB_URL}/{}", self.repository_owner)),
            Utf8(17, self.repository_owner_id.clone()),
            Utf8(18, format!("{GITHUB_URL}/{}", self.workflow_ref)),
            Utf8(19, self.workflow_sha.clone()),
            Utf8(20, self.event_name.clone()),
            Utf8(
                21,
                format!(
                    "{GITHUB_URL}/{}/actions/runs/{}/attempts/{}",
                    self.repository, self.run_id, self.run_attempt
                ),
            ),
            Utf8(22, self.repository_visibility.clone()),
        ];
        if let Some(environment) = &self.environment {
            extensions.push(Utf8(23, environment.clone()));
        }
        extensions.push(Utf8(24, self.sub.clone()));
        extensions
    }
}
