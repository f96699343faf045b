//! `brew-backfill sign`: sign the plan's bottles in batches, each batch one in-toto statement
//! with many subjects, resumably.
//!
//! Per batch, in this order (each step waits for the journal record before it):
//!
//! 1. Fulcio certificate and DSSE signature ([`signing::prepare`]), then `prepared` in the
//!    journal, holding the envelope and certificate.
//! 2. Rekor ([`signing::log`]); a resubmission finds the existing entry (409).
//! 3. Timestamp, bundle, and our verifier with the tap's policy source, once per subject.
//! 4. The bundle file, written atomically; then `signed` in the journal.
//!
//! A re-run first finishes every batch that is `prepared` but not `signed` by going back to
//! step 2 with the recorded envelope, then signs the plan's subjects that no batch holds yet.
//! So a subject is signed at most once, whatever the moment of a kill. A batch whose timestamp
//! cannot be had (a TSA outage) is `abandoned` at once, before anything reached Rekor, and its
//! subjects are signed afresh by the next run. One case still signs again: a batch killed
//! before its timestamp and resumed so late that its certificate expired before its envelope
//! ever reached Rekor (step 2 then logs it now, the verifier refuses it, the batch is
//! `abandoned` and signed afresh): the abandoned entry names an expired certificate and
//! verifies for no one. A batch that was in the log before the late run is never abandoned.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, anyhow};
use bottle_attest::bottle::BottleRef;
use bottle_attest::bundle::BundleCandidate;
use bottle_attest::policy::{Lookup, Verdict};
use bottle_attest::provenance::{
    BackfillProvenance, BackfillRun, DigestSource, StatementSubject, statement_bytes,
};
use bottle_attest::{Policy, TrustRoot};
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};
use sigstore_types::{Bundle, Sha256Hash};

use crate::cli::{BatchArgs, PolicyArgs, SignArgs, SigningArgs};
use crate::exit::Status;
use crate::journal::{BatchState, Journal, Record};
use crate::planfile::{Plan, PlanEntry};
use crate::progress::{Progress, Ui};
use crate::shard::Shard;
use crate::signing::{self, Prepared, ServicePauses, Services, TokenSource, WorkflowClaims};

/// What `sign` is asked to do.
pub(crate) struct SignJob<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) shard: Option<Shard>,
    pub(crate) journal: &'a Path,
    pub(crate) out: &'a Path,
    pub(crate) batch: &'a BatchArgs,
    pub(crate) signing: &'a SigningArgs,
    pub(crate) policy: &'a PolicyArgs,
    pub(crate) repo: Option<&'a str>,
    pub(crate) dry_run: bool,
}

/// `sign` as a command.
pub(crate) fn run(args: &SignArgs, ui: Ui) -> anyhow::Result<Status> {
    let plan = crate::planfile::read(&args.plan)?;
    let job = SignJob {
        plan: &plan,
        shard: args.shard,
        journal: &args.journal,
        out: &args.out,
        batch: &args.batch,
        signing: &args.signing,
        policy: &args.policy,
        repo: args.repo.as_deref(),
        dry_run: args.dry_run,
    };
    crate::runtime()?.block_on(sign(job, ui))
}

/// The plan's subjects (in this shard) in plan order.
fn planned(plan: &Plan, shard: Option<Shard>) -> Vec<&PlanEntry> {
    plan.entries
        .iter()
        .filter(|e| shard.is_none_or(|s| s.contains(&e.subject)))
        .collect()
}

fn subject_of(entry: &PlanEntry) -> anyhow::Result<StatementSubject> {
    Ok(StatementSubject {
        name: entry.subject.clone(),
        sha256: Sha256Hash::from_hex(&entry.sha256)
            .map_err(|_| anyhow!("`{}` is not a SHA-256", entry.sha256))?,
    })
}

/// Sign everything the journal does not hold yet.
pub(crate) async fn sign(job: SignJob<'_>, ui: Ui) -> anyhow::Result<Status> {
    let batch_size = usize::try_from(job.batch.batch_size).unwrap_or(64).max(1);
    let entries = planned(job.plan, job.shard);
    if job.dry_run {
        return dry_run(&job, &entries, batch_size);
    }

    let trust = crate::tap::trust_root(job.policy)?;
    let tokens = TokenSource::new(job.signing.identity_token.clone());
    let first_token = tokens.token().await?;
    let claims = WorkflowClaims::of(&first_token);
    let repo = job
        .repo
        .map(str::to_owned)
        .or_else(|| {
            std::env::var("GITHUB_REPOSITORY")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .or_else(|| claims.repository.clone())
        .ok_or_else(|| {
            crate::exit::UsageError("cannot tell which tap signs: pass --repo OWNER/REPO".into())
        })?;
    let mode = job.plan.header.mode;
    let policy = crate::tap::backfill_only(job.policy, mode, &repo, None)?;
    // Every pause towards Fulcio, Rekor and the TSA is printed and counted for the summary.
    let pauses = std::sync::Arc::new(ServicePauses::default());
    let http = crate::net::http_reporting(pauses.clone())?;
    let services = Services::new(
        &http,
        &job.signing.fulcio_url,
        &job.signing.rekor_url,
        (!job.signing.no_tsa).then_some(job.signing.tsa_url.as_str()),
        pauses.clone(),
    )?;
    let predicate = provenance(job.plan, job.shard, &claims).predicate();

    let (journal, state) = Journal::open(job.journal)?;
    if state.torn_tail {
        ui.note(
            "note: the journal's last record was cut short by an interrupted run; it was dropped",
        );
    }
    std::fs::create_dir_all(job.out)
        .with_context(|| format!("cannot create `{}`", job.out.display()))?;
    // A run killed inside an atomic write leaves its temporary file; nothing else will.
    let stale = crate::fsutil::clean_temporaries(job.out);
    if stale > 0 {
        ui.note(&format!(
            "note: removed {stale} half-written file(s) an interrupted run left in `{}`",
            job.out.display()
        ));
    }

    let taken = state.taken_subjects();
    let already: usize = state
        .batches
        .values()
        .filter(|b| b.signed.is_some() && b.abandoned.is_none())
        .map(|b| b.subjects.len())
        .sum();
    let pending: Vec<BatchState> = state
        .batches
        .values()
        .filter(|b| b.is_pending())
        .cloned()
        .collect();
    let todo: Vec<StatementSubject> = entries
        .iter()
        .map(|e| subject_of(e))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|s| !taken.contains(&(s.name.clone(), *s.sha256.as_bytes())))
        .collect();
    let total = pending.iter().map(|b| b.subjects.len()).sum::<usize>() + todo.len();
    if !pending.is_empty() {
        ui.note(&format!(
            "resuming {} batch(es) signed but not yet known to be logged by an earlier run",
            pending.len()
        ));
    }

    let progress = Progress::new(ui, "sign", "subjects", total as u64);
    let ctx = Ctx {
        journal: &journal,
        services: &services,
        tokens: &tokens,
        policy: &policy,
        mode,
        trust: &trust,
        predicate: &predicate,
        bottles: &entries
            .iter()
            .map(|e| (e.subject.clone(), (e.file_name.clone(), e.url.clone())))
            .collect(),
        out: job.out,
        progress: &progress,
        bundles: AtomicU64::new(0),
        recovered: AtomicU64::new(0),
        subjects: AtomicU64::new(0),
    };
    let work = pending
        .into_iter()
        .map(|b| Work::Resume(Box::new(b)))
        .chain(todo.chunks(batch_size).map(|c| Work::New(c.to_vec())));
    let (ctx, progress) = (&ctx, &progress);
    let failures: Vec<(usize, anyhow::Error)> = futures_util::stream::iter(work)
        .map(|w| async move {
            let n = w.subjects();
            let result = ctx.process(w).await;
            if let Err(e) = &result {
                crate::error_line_with(progress, &format!("error: a batch of {n} subjects: {e:#}"));
            }
            result.err().map(|e| (n, e))
        })
        .buffer_unordered(usize::try_from(job.batch.sign_jobs).unwrap_or(1).max(1))
        .filter_map(|r| async move { r })
        .collect()
        .await;
    progress.finish();

    let failed_subjects: usize = failures.iter().map(|(n, _)| n).sum();
    ui.note(&format!(
        "sign: {} subjects signed in {} bundles this run ({} finished from an interrupted run); \
         {already} were already signed{}{}",
        ctx.subjects.load(Ordering::Relaxed),
        ctx.bundles.load(Ordering::Relaxed),
        ctx.recovered.load(Ordering::Relaxed),
        pauses
            .summary()
            .map(|p| format!("; Sigstore services: {p}"))
            .unwrap_or_default(),
        if failures.is_empty() {
            String::new()
        } else {
            format!(
                "; {} batches ({failed_subjects} subjects) failed: run `sign` again to retry them",
                failures.len()
            )
        }
    ));
    Ok(if failures.is_empty() {
        Status::Ok
    } else {
        Status::Failed
    })
}

fn dry_run(job: &SignJob<'_>, entries: &[&PlanEntry], batch_size: usize) -> anyhow::Result<Status> {
    let state = Journal::read(job.journal)?;
    let taken = state.taken_subjects();
    let pending: Vec<&BatchState> = state.batches.values().filter(|b| b.is_pending()).collect();
    let signed = state
        .batches
        .values()
        .filter(|b| b.signed.is_some() && b.abandoned.is_none())
        .count();
    let mut todo = Vec::new();
    for e in entries {
        let s = subject_of(e)?;
        if !taken.contains(&(s.name.clone(), *s.sha256.as_bytes())) {
            todo.push(*e);
        }
    }
    // Who would sign and where, checked before anything is counted: a run that would stop at
    // its first token is better found now.
    let mut out = signing::dry_run_identity(job.signing)?;
    for b in &pending {
        out.push_str(&format!(
            "would finish\tbatch {}\t{} subjects\n",
            b.batch,
            b.subjects.len()
        ));
    }
    for (i, chunk) in todo.chunks(batch_size).enumerate() {
        for e in chunk {
            out.push_str(&format!(
                "would sign\tnew batch {}\t{}\tsha256:{}\n",
                i + 1,
                e.file_name,
                e.sha256
            ));
        }
    }
    let new_batches = todo.len().div_ceil(batch_size);
    out.push_str(&format!(
        "sign (dry run): {} planned subjects; {} already in {signed} signed bundles; {} batches \
         to finish; {} subjects to sign in {new_batches} new batches of up to {batch_size}: \
         {} Fulcio certificates and {} Rekor entries; nothing was written\n",
        entries.len(),
        entries.len() - todo.len(),
        pending.len(),
        todo.len(),
        new_batches,
        new_batches + pending.len(),
    ));
    crate::stdout(&out)?;
    Ok(Status::Ok)
}

/// The provenance predicate of this run.
fn provenance(plan: &Plan, shard: Option<Shard>, claims: &WorkflowClaims) -> BackfillProvenance {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let builder_id = claims
        .job_workflow_ref
        .clone()
        .or_else(|| env("GITHUB_WORKFLOW_REF"))
        .map(|r| format!("https://github.com/{r}"))
        .unwrap_or_else(|| "brew-backfill (local run)".to_owned());
    let repo = env("GITHUB_REPOSITORY").or_else(|| claims.repository.clone());
    let run_id = env("GITHUB_RUN_ID").or_else(|| claims.run_id.clone());
    let attempt = env("GITHUB_RUN_ATTEMPT").or_else(|| claims.run_attempt.clone());
    let invocation_id = match (repo, run_id) {
        (Some(repo), Some(run)) => Some(format!(
            "{}/{repo}/actions/runs/{run}/attempts/{}",
            env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
            attempt.unwrap_or_else(|| "1".into())
        )),
        _ => None,
    };
    BackfillProvenance {
        source: DigestSource {
            formulae: plan.header.formulae.clone(),
            formulae_sha256: Sha256Hash::from_hex(&plan.header.formulae_sha256).ok(),
            core_repository: plan.header.core_repository.clone(),
            checked_registry: plan.header.checked_registry,
            bottle_root: plan.header.bottle_root.clone(),
        },
        run: BackfillRun {
            builder_id,
            invocation_id,
            started_on: Some(chrono::Utc::now()),
            tool: concat!("brew-backfill ", env!("CARGO_PKG_VERSION")).to_owned(),
            shard: shard.map(|s| s.to_string()),
        },
    }
}

enum Work {
    /// A batch an earlier run prepared and did not finish.
    Resume(Box<BatchState>),
    /// Subjects no batch holds yet.
    New(Vec<StatementSubject>),
}

impl Work {
    fn subjects(&self) -> usize {
        match self {
            Self::Resume(b) => b.subjects.len(),
            Self::New(s) => s.len(),
        }
    }
}

/// Why a batch did not end `signed`.
enum Unfinished {
    /// Rekor (or, for a resumed batch, the TSA) failed: the batch stays `prepared`, and the
    /// next run resumes it.
    Pending(anyhow::Error),
    /// The bundle failed our verifier; `fresh_entry`: its Rekor entry was created just now.
    Refused { reason: String, fresh_entry: bool },
    /// Saving or recording failed.
    Local(anyhow::Error),
}

struct Ctx<'a> {
    journal: &'a Journal,
    services: &'a Services,
    tokens: &'a TokenSource,
    policy: &'a Policy,
    /// How the plan names subjects.
    mode: crate::tap::Mode,
    trust: &'a TrustRoot,
    predicate: &'a serde_json::Value,
    /// Subject name → (bottle file name, bottle URL), for each batch's resolved inputs.
    bottles: &'a std::collections::HashMap<String, (String, String)>,
    out: &'a Path,
    progress: &'a Progress,
    bundles: AtomicU64,
    recovered: AtomicU64,
    subjects: AtomicU64,
}

impl Ctx<'_> {
    async fn process(&self, work: Work) -> anyhow::Result<()> {
        match work {
            Work::New(subjects) => self.sign_new(&subjects).await,
            Work::Resume(batch) => {
                match self
                    .finish(
                        batch.batch,
                        &batch.prepared,
                        &batch.subjects,
                        batch.timestamp.clone(),
                    )
                    .await
                {
                    Ok(()) => Ok(()),
                    // Logged only now, long after it was prepared: the certificate had expired,
                    // so this entry verifies for no one and the earlier attempt never reached
                    // the log. Give the batch up and sign its subjects afresh.
                    Err(Unfinished::Refused {
                        reason,
                        fresh_entry: true,
                    }) => {
                        self.journal.append(Record::Abandoned {
                            batch: batch.batch,
                            reason: reason.clone(),
                        })?;
                        self.progress.println(&format!(
                            "note: batch {} could not be finished ({reason}); signing its {} \
                             subjects again",
                            batch.batch,
                            batch.subjects.len()
                        ));
                        self.sign_new(&batch.subjects).await
                    }
                    Err(e) => Err(self.settle(batch.batch, e)),
                }
            }
        }
    }

    async fn sign_new(&self, subjects: &[StatementSubject]) -> anyhow::Result<()> {
        let inputs: Vec<(String, String, Sha256Hash)> = subjects
            .iter()
            .filter_map(|s| {
                let (file, url) = self.bottles.get(&s.name)?;
                Some((file.clone(), url.clone(), s.sha256))
            })
            .collect();
        let predicate = bottle_attest::provenance::predicate_for_bottles(self.predicate, &inputs);
        let statement = statement_bytes(subjects, &predicate);
        let token = self.tokens.token().await?;
        let prepared = signing::prepare(self.services, &token, &statement).await?;
        let batch = self.journal.allocate_batch()?;
        self.journal.append(crate::journal::prepared_record(
            batch,
            &prepared,
            subjects.len(),
        )?)?;
        crate::checkpoint("prepared");
        // The timestamp now, while the certificate is surely valid, recorded before Rekor: a
        // batch resumed hours later still gets a time inside the certificate's validity.
        let timestamp = match signing::timestamp(self.services, &prepared).await {
            Ok(token) => token,
            // Nothing has reached Rekor yet, so giving the batch up now leaves nothing public
            // behind. Kept pending, a run after the certificate expired (a TSA outage, then a
            // late re-run: issue 11) would log it first and only then find its bundle refused,
            // leaving a log entry that verifies for no one.
            Err(e) => {
                self.journal.append(Record::Abandoned {
                    batch,
                    reason: format!("the timestamp authority failed before it was logged: {e:#}"),
                })?;
                return Err(e.context(format!(
                    "batch {batch} was given up before it reached the log; its subjects are \
                     signed afresh by the next run"
                )));
            }
        };
        if let Some(token) = &timestamp {
            self.journal.append(Record::Timestamped {
                batch,
                token: token.to_base64(),
            })?;
            crate::checkpoint("timestamped");
        }
        self.finish(batch, &prepared, subjects, timestamp)
            .await
            .map_err(|e| self.settle(batch, e))
    }

    /// Record what an unfinished batch leaves behind, and say why.
    fn settle(&self, batch: u64, e: Unfinished) -> anyhow::Error {
        match e {
            Unfinished::Pending(e) => e.context(format!(
                "batch {batch} is signed but not finished; the next run resumes it"
            )),
            // A batch whose signature was already in the log is never given up: its entry
            // would be left without an upload, and its subjects signed twice. It stays
            // pending for a person to look at.
            Unfinished::Refused {
                reason,
                fresh_entry: false,
            } => anyhow!(
                "batch {batch} is in the transparency log, but our verifier refuses its bundle: \
                 {reason}; it is left pending (not abandoned, not signed again)"
            ),
            Unfinished::Refused { reason, .. } => {
                let recorded = self.journal.append(Record::Abandoned {
                    batch,
                    reason: reason.clone(),
                });
                let e = anyhow!(
                    "batch {batch}: our verifier refused the bundle: {reason} (check --repo, \
                     --workflow, --cutoff and --trusted-root; its subjects are left unsigned)"
                );
                match recorded {
                    Ok(()) => e,
                    Err(r) => e.context(r),
                }
            }
            Unfinished::Local(e) => e.context(format!("batch {batch}")),
        }
    }

    /// Steps 2–4 for a prepared batch.
    async fn finish(
        &self,
        batch: u64,
        prepared: &Prepared,
        subjects: &[StatementSubject],
        recorded: Option<sigstore_types::TimestampToken>,
    ) -> Result<(), Unfinished> {
        // Retried inside, by the network layer's one retry loop.
        let logged = signing::log(self.services, prepared)
            .await
            .map_err(Unfinished::Pending)?;
        crate::checkpoint("logged");
        let asked_late = recorded.is_none();
        let timestamp = match recorded {
            Some(token) => Some(token),
            // A batch from a journal that recorded none (an older run, or a TSA outage).
            None => signing::timestamp(self.services, prepared)
                .await
                .map_err(Unfinished::Pending)?,
        };
        let late_token = asked_late && timestamp.is_some();
        let mut bundle =
            signing::bundle(prepared, &logged, timestamp).map_err(Unfinished::Pending)?;
        if let Err(reason) = self.verify(batch, &bundle, subjects) {
            // A token asked only now can fall after the certificate expired; the log's own
            // time may still prove the signature was made in time.
            let without = late_token
                .then(|| signing::bundle(prepared, &logged, None).ok())
                .flatten()
                .filter(|b| self.verify(batch, b, subjects).is_ok());
            match without {
                Some(b) => bundle = b,
                None => {
                    return Err(Unfinished::Refused {
                        reason,
                        fresh_entry: !logged.recovered,
                    });
                }
            }
        }
        let json = bundle
            .to_json()
            .map_err(|e| Unfinished::Local(anyhow!("cannot serialize the bundle: {e}")))?;
        let path = self.out.join(format!("batch-{batch:05}.sigstore.json"));
        crate::fsutil::write_atomic(&path, json.as_bytes()).map_err(Unfinished::Local)?;
        self.journal
            .append(Record::Signed {
                batch,
                bundle: self.journal.record_path(&path),
                bundle_sha256: hex::encode(Sha256::digest(json.as_bytes())),
                log_index: logged.entry.log_index.get(),
                recovered: logged.recovered,
            })
            .map_err(Unfinished::Local)?;
        crate::checkpoint("signed");
        self.bundles.fetch_add(1, Ordering::Relaxed);
        if logged.recovered {
            self.recovered.fetch_add(1, Ordering::Relaxed);
        }
        let n = subjects.len() as u64;
        let done = self.subjects.fetch_add(n, Ordering::Relaxed) + n;
        self.progress.advance(
            n,
            &format!(
                "{} bundles, {done} subjects signed",
                self.bundles.load(Ordering::Relaxed)
            ),
        );
        Ok(())
    }

    /// Our verifier and the tap's policy source, for every subject.
    fn verify(
        &self,
        batch: u64,
        bundle: &Bundle,
        subjects: &[StatementSubject],
    ) -> Result<(), String> {
        let found = vec![BundleCandidate {
            origin: format!("batch {batch}"),
            bundle: Ok(Box::new(bundle.clone())),
        }];
        let mut names = BTreeSet::new();
        for s in subjects {
            let bottle = BottleRef {
                digest: s.sha256,
                filename: self.mode.file_of(&s.name)?,
            };
            if !names.insert(&s.name) {
                return Err(format!("subject {} appears twice", s.name));
            }
            match self
                .policy
                .evaluate(&bottle, self.trust, |_, _| Lookup::Found(found.clone()))
            {
                Verdict::Verified(_) => {}
                Verdict::Invalid { failures, .. } => {
                    let why = failures
                        .first()
                        .map_or_else(|| "no reason given".to_owned(), |f| f.reason.to_string());
                    return Err(format!("{}: {why}", bottle.filename));
                }
                other => return Err(format!("{}: {other:?}", bottle.filename)),
            }
        }
        Ok(())
    }
}
