//! The journal: an append-only JSON Lines file, one record per step, each written with one
//! `write` and fsynced before the step it records is taken further.
//!
//! The records and their line format are `bottle_attest::journal`'s (documented there), so
//! that the parser of this outside data (a journal comes back as a CI artifact) is fuzzed with
//! the rest of the core.
//!
//! A process killed in the middle of a write leaves a last line without its newline; it is
//! cut off when the journal is next opened (the step it announced was not taken yet, since
//! every step waits for its record to be on disk).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use bottle_attest::journal::{
    JournalLineError, decode_prepared, encode_line, parse_line, split_lines,
};
use bottle_attest::provenance::StatementSubject;
use chrono::Utc;

use crate::signing::Prepared;

pub(crate) use bottle_attest::journal::Record;

/// What the journal says about one batch.
#[derive(Debug, Clone)]
pub(crate) struct BatchState {
    pub(crate) batch: u64,
    pub(crate) prepared: Prepared,
    pub(crate) subjects: Vec<StatementSubject>,
    pub(crate) signed: Option<SignedState>,
    pub(crate) abandoned: Option<String>,
    /// The TSA token recorded right after the batch was prepared.
    pub(crate) timestamp: Option<sigstore_types::TimestampToken>,
    /// Lower-case `owner/repo` of uploads started.
    pub(crate) upload_started: BTreeSet<String>,
    /// Lower-case `owner/repo` → attestation id (None when found by lookup).
    pub(crate) uploaded: BTreeMap<String, Option<u64>>,
}

/// A batch's saved bundle.
#[derive(Debug, Clone)]
pub(crate) struct SignedState {
    pub(crate) bundle: String,
    pub(crate) bundle_sha256: String,
}

impl BatchState {
    /// Prepared, neither signed nor given up: to be finished.
    pub(crate) fn is_pending(&self) -> bool {
        self.signed.is_none() && self.abandoned.is_none()
    }

    /// Its subjects are taken (signed, or being signed).
    pub(crate) fn holds_subjects(&self) -> bool {
        self.abandoned.is_none()
    }
}

/// Everything the journal records, batch by batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct JournalState {
    pub(crate) batches: BTreeMap<u64, BatchState>,
    /// Records read.
    pub(crate) records: usize,
    /// Whether a torn last line was found (and, when opened for writing, cut off).
    pub(crate) torn_tail: bool,
}

impl JournalState {
    /// Subjects (name, digest) held by signed or pending batches.
    pub(crate) fn taken_subjects(&self) -> BTreeSet<(String, [u8; 32])> {
        self.batches
            .values()
            .filter(|b| b.holds_subjects())
            .flat_map(|b| b.subjects.iter())
            .map(|s| (s.name.clone(), *s.sha256.as_bytes()))
            .collect()
    }

    fn apply(&mut self, record: Record) -> anyhow::Result<()> {
        self.records += 1;
        fn known(s: &mut JournalState, batch: u64) -> anyhow::Result<&mut BatchState> {
            s.batches
                .get_mut(&batch)
                .ok_or_else(|| anyhow!("a record names batch {batch}, which was never prepared"))
        }
        match record {
            Record::Prepared {
                batch,
                envelope,
                certificate,
                ..
            } => {
                if self.batches.contains_key(&batch) {
                    bail!("batch {batch} is prepared twice");
                }
                let decoded = decode_prepared(batch, &envelope, &certificate)?;
                self.batches.insert(
                    batch,
                    BatchState {
                        batch,
                        prepared: Prepared {
                            envelope: decoded.envelope,
                            certificate: decoded.certificate,
                        },
                        subjects: decoded.subjects,
                        signed: None,
                        abandoned: None,
                        timestamp: None,
                        upload_started: BTreeSet::new(),
                        uploaded: BTreeMap::new(),
                    },
                );
            }
            Record::Signed {
                batch,
                bundle,
                bundle_sha256,
                ..
            } => {
                known(self, batch)?.signed = Some(SignedState {
                    bundle,
                    bundle_sha256,
                });
            }
            Record::Abandoned { batch, reason } => known(self, batch)?.abandoned = Some(reason),
            Record::Timestamped { batch, token } => {
                let token = sigstore_types::TimestampToken::from_base64(&token).map_err(|e| {
                    anyhow!("batch {batch}: the recorded timestamp token is not base64: {e}")
                })?;
                known(self, batch)?.timestamp = Some(token);
            }
            Record::UploadStarted { batch, repo } => {
                let b = known(self, batch)?;
                if b.signed.is_none() {
                    bail!("batch {batch} is uploaded before it is signed");
                }
                b.upload_started.insert(repo.to_ascii_lowercase());
            }
            Record::Uploaded {
                batch, repo, id, ..
            } => {
                known(self, batch)?
                    .uploaded
                    .insert(repo.to_ascii_lowercase(), id);
            }
        }
        Ok(())
    }
}

/// An open journal, appended to by one process.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    dir: PathBuf,
    file: Mutex<File>,
    next_batch: Mutex<u64>,
}

/// The journal's directory, against which bundle paths are recorded.
fn journal_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Parse journal text; `Ok((state, valid_len))` where `valid_len` ends the last whole record.
fn parse(path: &Path, text: &[u8]) -> anyhow::Result<(JournalState, usize)> {
    let mut state = JournalState::default();
    let split = split_lines(text);
    // No newline at the end: a write cut short by a kill. Nothing after it was acted upon.
    state.torn_tail = split.torn_tail(text.len());
    for (line_no, line) in split.lines {
        let parsed = match parse_line(line) {
            Ok(parsed) => parsed,
            Err(JournalLineError::Version { found }) => bail!(
                "{}:{line_no}: journal format version {found} (this brew-backfill writes {})",
                path.display(),
                bottle_attest::journal::JOURNAL_VERSION
            ),
            Err(JournalLineError::NotARecord(why)) => {
                return Err(anyhow!(why)).with_context(|| {
                    format!(
                        "{}:{line_no}: not a journal record (the journal is damaged; it is never \
                         rewritten, so restore it from the artifact or a backup)",
                        path.display()
                    )
                });
            }
        };
        state
            .apply(parsed.record)
            .with_context(|| format!("{}:{line_no}", path.display()))?;
    }
    Ok((state, split.valid_len))
}

impl Journal {
    /// Read a journal without opening it for writing (`--dry-run`); absent = empty.
    pub(crate) fn read(path: &Path) -> anyhow::Result<JournalState> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(parse(path, &bytes)?.0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JournalState::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        }
    }

    /// Open (creating) the journal for appending, cutting off a torn last line.
    pub(crate) fn open(path: &Path) -> anyhow::Result<(Self, JournalState)> {
        let dir = journal_dir(path);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("cannot open the journal `{}`", path.display()))?;
        if !existed {
            crate::fsutil::sync_dir(&dir)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let (state, valid) = parse(path, &bytes)?;
        if valid < bytes.len() {
            file.set_len(valid as u64)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot cut the torn tail of `{}`", path.display()))?;
            file.seek(SeekFrom::End(0))?;
        }
        let next_batch = state.batches.keys().next_back().map_or(1, |b| b + 1);
        Ok((
            Self {
                path: path.to_path_buf(),
                dir,
                file: Mutex::new(file),
                next_batch: Mutex::new(next_batch),
            },
            state,
        ))
    }

    /// Append one record and fsync it. Returns only once it is durable.
    pub(crate) fn append(&self, record: Record) -> anyhow::Result<()> {
        let text = encode_line(Utc::now(), record)?;
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow!("the journal lock is poisoned"))?;
        // One write call per record: a kill leaves either the whole line or a torn tail.
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .with_context(|| format!("cannot write the journal `{}`", self.path.display()))
    }

    /// A new batch number.
    pub(crate) fn allocate_batch(&self) -> anyhow::Result<u64> {
        let mut next = self
            .next_batch
            .lock()
            .map_err(|_| anyhow!("the journal lock is poisoned"))?;
        let batch = *next;
        *next += 1;
        Ok(batch)
    }

    /// How `path` is written in a record: relative to the journal's directory when inside it.
    pub(crate) fn record_path(&self, path: &Path) -> String {
        record_path(&self.dir, path)
    }
}

pub(crate) fn record_path(dir: &Path, path: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (dir_abs, path_abs) = (abs(dir), abs(path));
    match path_abs.strip_prefix(&dir_abs) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => path_abs.to_string_lossy().into_owned(),
    }
}

/// Where a recorded path is, for a journal at `journal`.
pub(crate) fn resolve(journal: &Path, recorded: &str) -> PathBuf {
    journal_dir(journal).join(recorded)
}

/// The `prepared` record of a batch.
pub(crate) fn prepared_record(
    batch: u64,
    prepared: &Prepared,
    subjects: usize,
) -> anyhow::Result<Record> {
    Ok(Record::Prepared {
        batch,
        subjects,
        envelope: serde_json::to_value(&prepared.envelope)?,
        certificate: base64::engine::general_purpose::STANDARD
            .encode(prepared.certificate.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_cut_and_whole_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "{\"v\":1,\"at\":").unwrap();
        let (journal, state) = Journal::open(&path).unwrap();
        assert!(state.torn_tail);
        assert_eq!(state.records, 0);
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
        journal
            .append(Record::UploadStarted {
                batch: 9,
                repo: "o/r".into(),
            })
            .unwrap();
        // The appended record starts on a clean line, and is refused on reading because
        // batch 9 was never prepared: a journal is checked as a whole.
        let err = Journal::read(&path).unwrap_err();
        assert!(format!("{err:#}").contains("never prepared"), "{err:#}");
    }

    #[test]
    fn damaged_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "garbage\n").unwrap();
        assert!(Journal::open(&path).is_err());
    }

    #[test]
    fn paths_are_recorded_relative_to_the_journal() {
        let dir = Path::new("/tmp/x");
        assert_eq!(
            record_path(dir, Path::new("/tmp/x/b/batch-1.json")),
            "b/batch-1.json"
        );
        assert_eq!(
            record_path(dir, Path::new("/elsewhere/b.json")),
            "/elsewhere/b.json"
        );
    }
}
