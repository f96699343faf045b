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

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use bottle_attest::statement::SLSA_PROVENANCE_V1;
use bottle_attest_net::env::Env;
use bottle_attest_net::github::{GitHubClient, GitHubError};
use bottle_attest_net::http::retry::{self, Attempt};
use bottle_attest_net::http::{NetErrorKind, NetEvents, PauseReason, RetryEvent, RetryPolicy};
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
    let events = UploadEvents {
        progress: &progress,
        waits: AtomicU64::new(0),
    };
    let mut uploader = Uploader {
        journal: &journal,
        journal_path,
        repo,
        reader: &reader,
        poster: &poster,
        progress: &progress,
        max_wait,
        events: &events,
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
                uploader.posted,
                uploader.found,
                events.waits.load(Ordering::Relaxed)
            ),
        );
    }
    progress.finish();
    // Reader and poster share one HTTP client, hence one set of counters.
    let stats = reader.stats();
    ui.note(&format!(
        "upload: {} bundles posted to {repo}, {} found already uploaded by an interrupted run, \
         {failed} failed; {} API requests, {} rate-limit waits",
        uploader.posted,
        uploader.found,
        stats.api_requests + stats.uploads,
        events.waits.load(Ordering::Relaxed) + stats.rate_limit_waits
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
    events: &'a UploadEvents<'a>,
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
        // Whether a POST of this bundle may have been stored without our hearing the answer
        // (an interrupted run, a lost response): then look before posting again.
        let maybe_stored = Cell::new(batch.upload_started.contains(&key));
        // The network layer's one retry loop: transient failures are retried (after looking),
        // rate limits up to --max-rate-limit-wait are sat out (a refused POST was not stored).
        let policy = RetryPolicy {
            max_attempts: POST_ATTEMPTS,
            max_rate_limit_wait: self.max_wait,
            max_rate_limit_waits: u32::MAX,
            ..RetryPolicy::default()
        };
        let this = &*self;
        let url = self.poster.api_url().clone();
        let (json, bundle, maybe_stored) = (&json, &bundle, &maybe_stored);
        let outcome = retry::run(&policy, None, None, self.events, &url, |n| async move {
            if maybe_stored.get() {
                match this.found_in_api(batch, bundle).await {
                    Ok(true) => return Attempt::Done(Ok(Ok(Posted::Found))),
                    Ok(false) => {}
                    Err(e) => return Attempt::Done(Ok(Err(Stop::Item(e)))),
                }
            }
            if n == 1 || maybe_stored.get() {
                let started = this.journal.append(Record::UploadStarted {
                    batch: batch.batch,
                    repo: this.repo.to_owned(),
                });
                if let Err(e) = started {
                    return Attempt::Done(Ok(Err(Stop::All(e))));
                }
                crate::checkpoint("upload-started");
            }
            match this.poster.upload_attestation(this.repo, json).await {
                Ok(id) => {
                    crate::checkpoint("posted");
                    Attempt::Done(Ok(Ok(Posted::New(id))))
                }
                Err(GitHubError::Net(net)) => match net.kind() {
                    // Refused, so certainly not stored: wait and post again.
                    NetErrorKind::RateLimited { retry_after, .. } => {
                        maybe_stored.set(false);
                        Attempt::RateLimited {
                            wait: *retry_after,
                            error: net,
                        }
                    }
                    // Lost in transit: it may or may not be stored.
                    _ if net.is_transient() => {
                        maybe_stored.set(true);
                        this.progress.println(&format!(
                            "batch {}: upload failed ({net}); checking whether it arrived \
                             before posting again",
                            batch.batch
                        ));
                        Attempt::Retry(net)
                    }
                    _ => Attempt::Done(Ok(Err(Stop::Item(
                        anyhow::Error::new(net).context("upload failed"),
                    )))),
                },
                Err(e @ GitHubError::BadCredentials { .. }) => {
                    Attempt::Done(Ok(Err(Stop::All(anyhow::Error::new(e)))))
                }
                Err(e) => Attempt::Done(Ok(Err(Stop::Item(
                    anyhow::Error::new(e).context("upload failed"),
                )))),
            }
        })
        .await;
        let (id, found_existing) = match outcome {
            Ok(Ok(Posted::New(id))) => (Some(id), false),
            Ok(Ok(Posted::Found)) => (None, true),
            Ok(Err(stop)) => return Err(stop),
            Err(net) => {
                return Err(match net.kind() {
                    NetErrorKind::RateLimited { retry_after, .. } => Stop::All(anyhow!(
                        "the API asks to wait {} before the next upload, longer than \
                         --max-rate-limit-wait; run `upload` again later (nothing is lost)",
                        human(*retry_after)
                    )),
                    _ => item(anyhow::Error::new(net).context("upload failed")),
                });
            }
        };
        self.journal
            .append(Record::Uploaded {
                batch: batch.batch,
                repo: self.repo.to_owned(),
                id,
                found_existing,
            })
            .map_err(Stop::All)?;
        if found_existing {
            self.found += 1;
        } else {
            self.posted += 1;
        }
        Ok(())
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

/// What a successful upload attempt came to.
enum Posted {
    /// Stored now, under this id.
    New(u64),
    /// An earlier POST had arrived after all.
    Found,
}

/// The retry loop's pauses as progress lines, with rate-limit waits counted.
struct UploadEvents<'a> {
    progress: &'a Progress,
    waits: AtomicU64,
}

impl NetEvents for UploadEvents<'_> {
    fn retrying(&self, event: &RetryEvent<'_>) {
        let line = match event.reason {
            PauseReason::RateLimit => {
                self.waits.fetch_add(1, Ordering::Relaxed);
                format!(
                    "rate-limited by the API: waiting {} before the next upload",
                    human(event.delay)
                )
            }
            PauseReason::Transient => format!(
                "retrying the upload ({}/{}) after {}",
                event.next_attempt,
                event.max_attempts,
                human(event.delay)
            ),
        };
        self.progress.println(&line);
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
