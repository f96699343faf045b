//! `brew-backfill upload`: POST each signed bundle the journal has not seen uploaded to the
//! tap's attestations API, exactly once.
//!
//! Per bundle: `upload-started` is recorded, the bundle is POSTed (the client never retries a
//! POST by itself), and `uploaded` is recorded with the id. Whenever it is not known whether
//! a POST reached the API — a re-run finds `upload-started` without `uploaded`, or the POST
//! failed in transit (timeout, reset, 5xx) — the API is asked first: the attestations of the
//! bundle's first subject are listed and compared by DSSE signature, which no other bundle
//! shares (every batch has its own key). Found: recorded as uploaded, not posted. A rate limit
//! is a refusal, so the POST is simply sent again after the wait.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use bottle_attest::statement::SLSA_PROVENANCE_V1;
use bottle_attest_net::env::Env;
use bottle_attest_net::github::{GitHubClient, GitHubError};
use sha2::{Digest as _, Sha256};
use sigstore_types::{Bundle, SignatureContent};

use crate::cli::{ApiArgs, UploadArgs};
use crate::exit::Status;
use crate::journal::{BatchState, Journal, Record};
use crate::progress::{Progress, Ui, human};

/// POST attempts per bundle after transient failures (each followed by a lookup).
const POST_ATTEMPTS: u32 = 5;

/// `upload` as a command.
pub(crate) fn run(args: &UploadArgs, ui: Ui) -> anyhow::Result<Status> {
    crate::runtime()?.block_on(upload(
        &args.journal,
        &args.repo,
        &args.api,
        args.dry_run,
        Duration::from_secs(args.max_rate_limit_wait),
        ui,
    ))
}

fn to_upload<'s>(batches: impl Iterator<Item = &'s BatchState>, repo: &str) -> Vec<&'s BatchState> {
    let key = repo.to_ascii_lowercase();
    batches
        .filter(|b| b.signed.is_some() && b.abandoned.is_none() && !b.uploaded.contains_key(&key))
        .collect()
}

/// Upload what the journal has signed and not uploaded to `repo`.
pub(crate) async fn upload(
    journal_path: &Path,
    repo: &str,
    api: &ApiArgs,
    dry_run: bool,
    max_wait: Duration,
    ui: Ui,
) -> anyhow::Result<Status> {
    if dry_run {
        let state = Journal::read(journal_path)?;
        let todo = to_upload(state.batches.values(), repo);
        let mut out = String::new();
        for b in &todo {
            let check = if b.upload_started.contains(&repo.to_ascii_lowercase()) {
                " (an earlier upload was interrupted: the API is asked first)"
            } else {
                ""
            };
            out.push_str(&format!(
                "would upload\tbatch {}\t{} subjects{check}\n",
                b.batch,
                b.subjects.len()
            ));
        }
        let uploaded = state
            .batches
            .values()
            .filter(|b| b.uploaded.contains_key(&repo.to_ascii_lowercase()))
            .count();
        out.push_str(&format!(
            "upload (dry run): {} bundles ({} subjects) to upload to {repo}; {uploaded} already \
             uploaded; nothing was sent\n",
            todo.len(),
            todo.iter().map(|b| b.subjects.len()).sum::<usize>()
        ));
        crate::stdout(&out)?;
        return Ok(Status::Ok);
    }

    let env = Env::from_process();
    let http = crate::net::http()?;
    let client = crate::net::github(&http, &env, &api.api_url)?;
    if !client.is_authenticated() {
        return Err(crate::exit::UsageError(format!(
            "uploading needs a GitHub token with `attestations: write` for {}: set GITHUB_TOKEN \
             (GH_ENTERPRISE_TOKEN for a GitHub Enterprise or other API host)",
            client.api_url()
        ))
        .into());
    }
    // Lookups retry and wait out short rate limits; POSTs do neither (the client never
    // retries an upload: one whose answer was lost may have been stored).
    let (reader, poster) = (client.clone(), client);

    let (journal, state) = Journal::open(journal_path)?;
    let todo = to_upload(state.batches.values(), repo);
    let progress = Progress::new(ui, "upload", "bundles", todo.len() as u64);
    let mut uploader = Uploader {
        journal: &journal,
        journal_path,
        repo,
        reader: &reader,
        poster: &poster,
        progress: &progress,
        max_wait,
        waits: 0,
        posted: 0,
        found: 0,
    };
    let mut failed = 0usize;
    for (i, batch) in todo.iter().enumerate() {
        match uploader.one(batch).await {
            Ok(()) => {}
            Err(Stop::Item(e)) => {
                failed += 1;
                crate::error_line_with(&progress, &format!("error: batch {}: {e:#}", batch.batch));
            }
            Err(Stop::All(e)) => {
                failed += todo.len() - i;
                crate::error_line_with(&progress, &format!("error: {e:#}"));
                break;
            }
        }
        progress.advance(
            1,
            &format!(
                "{} posted, {} found already uploaded, {} rate-limit waits",
                uploader.posted, uploader.found, uploader.waits
            ),
        );
    }
    progress.finish();
    let stats = reader.stats();
    let post_stats = poster.stats();
    ui.note(&format!(
        "upload: {} bundles posted to {repo}, {} found already uploaded by an interrupted run, \
         {failed} failed; {} API requests, {} rate-limit waits",
        uploader.posted,
        uploader.found,
        stats.api_requests + post_stats.api_requests,
        uploader.waits + stats.rate_limit_waits
    ));
    Ok(if failed == 0 {
        Status::Ok
    } else {
        Status::Failed
    })
}

enum Stop {
    /// This bundle failed; go on with the next.
    Item(anyhow::Error),
    /// Nothing more can be uploaded now (a long rate limit, a refused token).
    All(anyhow::Error),
}

struct Uploader<'a> {
    journal: &'a Journal,
    journal_path: &'a Path,
    repo: &'a str,
    reader: &'a GitHubClient,
    poster: &'a GitHubClient,
    progress: &'a Progress,
    max_wait: Duration,
    waits: u64,
    posted: u64,
    found: u64,
}

impl Uploader<'_> {
    async fn one(&mut self, batch: &BatchState) -> Result<(), Stop> {
        let item = |e: anyhow::Error| Stop::Item(e);
        let signed = batch
            .signed
            .as_ref()
            .ok_or_else(|| Stop::Item(anyhow!("not signed")))?;
        let path = crate::journal::resolve(self.journal_path, &signed.bundle);
        let json = std::fs::read_to_string(&path)
            .with_context(|| {
                format!(
                    "cannot read the bundle `{}` (restore the bundle directory beside the journal)",
                    path.display()
                )
            })
            .map_err(item)?;
        if hex::encode(Sha256::digest(json.as_bytes())) != signed.bundle_sha256 {
            return Err(item(anyhow!(
                "`{}` is not the bundle the journal recorded (its SHA-256 differs)",
                path.display()
            )));
        }
        let bundle = Bundle::from_json(&json)
            .map_err(|e| item(anyhow!("`{}` is not a bundle: {e}", path.display())))?;
        let key = self.repo.to_ascii_lowercase();
        let mut must_check = batch.upload_started.contains(&key);
        let mut attempts = 0;
        loop {
            if must_check && self.found_in_api(batch, &bundle).await.map_err(item)? {
                self.journal
                    .append(Record::Uploaded {
                        batch: batch.batch,
                        repo: self.repo.to_owned(),
                        id: None,
                        found_existing: true,
                    })
                    .map_err(Stop::All)?;
                self.found += 1;
                return Ok(());
            }
            if attempts == 0 || must_check {
                self.journal
                    .append(Record::UploadStarted {
                        batch: batch.batch,
                        repo: self.repo.to_owned(),
                    })
                    .map_err(Stop::All)?;
                crate::checkpoint("upload-started");
            }
            attempts += 1;
            match self.poster.upload_attestation(self.repo, &json).await {
                Ok(id) => {
                    crate::checkpoint("posted");
                    self.journal
                        .append(Record::Uploaded {
                            batch: batch.batch,
                            repo: self.repo.to_owned(),
                            id: Some(id),
                            found_existing: false,
                        })
                        .map_err(Stop::All)?;
                    self.posted += 1;
                    return Ok(());
                }
                // Refused, so certainly not stored: wait and post again.
                Err(e) if e.retry_after().is_some() => {
                    let retry_after = e.retry_after().unwrap_or_default();
                    if retry_after > self.max_wait {
                        return Err(Stop::All(anyhow!(
                            "the API asks to wait {} before the next upload, longer than \
                             --max-rate-limit-wait; run `upload` again later (nothing is lost)",
                            human(retry_after)
                        )));
                    }
                    self.waits += 1;
                    self.progress.println(&format!(
                        "rate-limited by the API: waiting {} before the next upload",
                        human(retry_after)
                    ));
                    tokio::time::sleep(retry_after).await;
                    attempts -= 1;
                    must_check = false;
                }
                // Lost in transit: it may or may not be stored. Look before posting again.
                Err(e) if e.is_transient() && attempts < POST_ATTEMPTS => {
                    self.progress.println(&format!(
                        "batch {}: upload failed ({e}); checking whether it arrived",
                        batch.batch
                    ));
                    tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempts))).await;
                    must_check = true;
                }
                Err(e @ GitHubError::BadCredentials { .. }) => {
                    return Err(Stop::All(anyhow::Error::new(e)));
                }
                Err(e) => return Err(item(anyhow::Error::new(e).context("upload failed"))),
            }
        }
    }

    /// Whether the API already holds this bundle (same DSSE signature) for its first subject.
    async fn found_in_api(&self, batch: &BatchState, bundle: &Bundle) -> anyhow::Result<bool> {
        let first = batch
            .subjects
            .first()
            .ok_or_else(|| anyhow!("the batch has no subject"))?;
        let candidates = self
            .reader
            .attestations(self.repo, &first.sha256, Some(SLSA_PROVENANCE_V1), None)
            .await
            .context("cannot tell whether an interrupted upload arrived")?
            .into_candidates();
        let ours = signature_of(bundle);
        Ok(ours.is_some()
            && candidates
                .iter()
                .any(|c| c.bundle.as_ref().is_ok_and(|b| signature_of(b) == ours)))
    }
}

/// The DSSE signature and payload of a bundle.
fn signature_of(bundle: &Bundle) -> Option<(Vec<u8>, Vec<u8>)> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => Some((
            env.signature.sig.as_bytes().to_vec(),
            env.payload.as_bytes().to_vec(),
        )),
        _ => None,
    }
}
