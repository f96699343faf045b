//! What the user sees: Homebrew-style text, or JSON lines (schema in the README).

pub(crate) mod explain;
pub(crate) mod human;
pub(crate) mod json;

use std::io::Write;

use bottle_attest::BottleRef;
use bottle_attest::policy::Verdict;

use crate::exit::Status;

/// The result for one BOTTLE argument.
pub(crate) struct BottleReport {
    /// The argument as given.
    pub(crate) input: String,
    /// The bottle, when the argument could be resolved.
    pub(crate) bottle: Option<BottleRef>,
    pub(crate) outcome: Outcome,
    /// Bundles about this digest from repositories outside the policy.
    pub(crate) ignored: Vec<(String, String)>,
}

pub(crate) enum Outcome {
    Verdict(Verdict),
    /// The registry contradicts the formula: the bytes on offer are not the ones it names.
    Refused(String),
    /// The bottle could not be checked at all.
    Error(String),
}

impl BottleReport {
    pub(crate) fn status(&self) -> Status {
        match &self.outcome {
            Outcome::Verdict(Verdict::Verified(_)) => Status::Ok,
            Outcome::Verdict(Verdict::Invalid { .. }) | Outcome::Refused(_) => Status::Invalid,
            Outcome::Verdict(Verdict::Missing { .. }) => Status::Missing,
            Outcome::Verdict(Verdict::Unavailable { .. }) | Outcome::Error(_) => {
                Status::CouldNotCheck
            }
        }
    }

    /// `file name (sha256:…)`, or the raw argument when it could not be resolved.
    pub(crate) fn label(&self) -> String {
        match &self.bottle {
            Some(b) => format!(
                "{} (sha256:{})",
                b.filename,
                hex::encode(b.digest.as_bytes())
            ),
            None => self.input.clone(),
        }
    }
}

/// Writes reports as they come, in the chosen format, and a summary at the end.
pub(crate) struct Reporter {
    json: bool,
    explain: bool,
    counts: [usize; 4],
    out: std::io::Stdout,
}

impl Reporter {
    pub(crate) fn new(json: bool, explain: bool) -> Self {
        Self {
            json,
            explain,
            counts: [0; 4],
            out: std::io::stdout(),
        }
    }

    pub(crate) fn bottle(&mut self, report: &BottleReport) -> std::io::Result<()> {
        let slot = match report.status() {
            Status::Ok => 0,
            Status::Invalid => 1,
            Status::Missing => 2,
            _ => 3,
        };
        self.counts[slot] += 1;
        let mut out = self.out.lock();
        if self.json {
            serde_json::to_writer(&mut out, &json::bottle(report))?;
            writeln!(out)
        } else {
            human::bottle(&mut out, report, self.explain)
        }
    }

    pub(crate) fn finish(self) -> std::io::Result<()> {
        let [ok, invalid, missing, error] = self.counts;
        if self.json || ok + invalid + missing + error <= 1 {
            return Ok(());
        }
        human::summary(&mut self.out.lock(), ok, invalid, missing, error)
    }
}
