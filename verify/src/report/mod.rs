//! What the user sees: Homebrew-style text, or JSON lines (schema in the README).

pub(crate) mod explain;
pub(crate) mod human;
pub(crate) mod json;

use std::io::Write;

use bottle_attest::policy::Verdict;

use crate::exit::Status;

pub(crate) use bottle_attest_net::checker::{Outcome, Report as BottleReport};

/// The exit status a bottle's report stands for.
pub(crate) fn status(report: &BottleReport) -> Status {
    match &report.outcome {
        Outcome::Verdict(Verdict::Verified(_)) => Status::Ok,
        Outcome::Verdict(Verdict::Invalid { .. }) | Outcome::Refused(_) => Status::Invalid,
        Outcome::Verdict(Verdict::Missing { .. }) => Status::Missing,
        Outcome::Verdict(Verdict::Unavailable { .. }) | Outcome::Error(_) => Status::CouldNotCheck,
    }
}

/// `file name (sha256:…)`, or the raw argument when it could not be resolved.
pub(crate) fn label(report: &BottleReport) -> String {
    match &report.bottle {
        Some(b) => format!(
            "{} (sha256:{})",
            b.filename,
            hex::encode(b.digest.as_bytes())
        ),
        None => human::shorten_arg(&report.input),
    }
}

/// An error and its causes on one line: `cannot write x: permission denied`.
pub(crate) use bottle_attest_net::with_causes;

/// What the user can do about a network failure somewhere in `error`'s chain (`--offline`, a
/// token for rate limits, a longer timeout), if it is one.
pub(crate) fn hint(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use bottle_attest::policy::LookupError;
    use bottle_attest_net::ghcr::GhcrError;
    use bottle_attest_net::github::GitHubError;
    use bottle_attest_net::http::NetError;
    let mut current = Some(error);
    while let Some(e) = current {
        let net = e
            .downcast_ref::<NetError>()
            .or_else(|| e.downcast_ref::<GitHubError>().and_then(GitHubError::net))
            .or_else(|| match e.downcast_ref::<GhcrError>() {
                Some(GhcrError::Net { source, .. }) => Some(source),
                _ => None,
            })
            .or_else(|| {
                let lookup = e.downcast_ref::<LookupError>()?;
                lookup.downcast_ref::<NetError>().or_else(|| {
                    lookup
                        .downcast_ref::<GitHubError>()
                        .and_then(GitHubError::net)
                })
            });
        if let Some(hint) = net.and_then(NetError::hint) {
            return Some(hint);
        }
        current = e.source();
    }
    None
}

/// What to do when a signature failed for a key the trusted root does not know (issue 13).
pub(crate) const STALE_ROOT_HINT: &str = "the trusted root may be stale: this signature uses a \
    key it does not know (a newer Fulcio CA, Rekor log or CT log key). Refresh the roots through \
    TUF with `brew-verify trust refresh` (`brew-verify trust show` says which are in use), update \
    brew-verify for newer embedded ones (`brew upgrade brew-verify`), or pass a current one with \
    `--trusted-root FILE`";

/// Whether a verification failure is the kind a stale trusted root causes: the bundle names a
/// Fulcio CA, Rekor log or CT log key that is not in the root (or not valid at the signing
/// time). The verifier reports these as text (sigstore-verify's `CertificateError::ChainInvalid`
/// / `NoValidAuthority`, `TransparencyLogError::UnknownLog`, its inclusion promise's "No log key
/// valid at integrated time", its checkpoint's "No matching Rekor key found", and
/// sigstore-crypto's keyring "key not found" for an SCT), so they are recognised by their
/// wording, pinned by tests/it/stale_root.rs against a bundle from the kit's own Sigstore
/// stack.
pub(crate) fn unknown_key(reason: &str) -> bool {
    const MARKERS: [&str; 7] = [
        "no log key valid at integrated time",
        "unknown transparency log",
        "no matching rekor key found",
        "certificate chain is invalid",
        "no trusted certificate authority is valid at",
        "sct signature verification failed: key not found",
        "no ct log keys in trusted root",
    ];
    let reason = reason.to_ascii_lowercase();
    MARKERS.iter().any(|m| reason.contains(m))
}

/// [`STALE_ROOT_HINT`] when a bottle's report failed for an unknown key.
pub(crate) fn stale_root_hint(report: &BottleReport) -> Option<&'static str> {
    match &report.outcome {
        Outcome::Verdict(Verdict::Invalid { failures, .. }) => failures
            .iter()
            .any(|f| unknown_key(&f.reason.to_string()))
            .then_some(STALE_ROOT_HINT),
        _ => None,
    }
}

/// Whether `--explain` speaks, and what it says a run looked up where.
#[derive(Debug)]
pub(crate) enum Explain {
    /// No `--explain`.
    Off,
    /// `--explain`, with what the run looked up where.
    On(Box<explain::Setting>),
}

impl Explain {
    fn is_on(&self) -> bool {
        matches!(self, Self::On(_))
    }

    fn setting(&self) -> Option<&explain::Setting> {
        match self {
            Self::On(setting) => Some(setting),
            Self::Off => None,
        }
    }
}

/// Writes reports as they come, in the chosen format, and a summary at the end.
pub(crate) struct Reporter {
    json: bool,
    explain: Explain,
    /// The trusted roots the checks ran under (`--json`'s `trust_root`).
    roots: Vec<bottle_attest_net::trust::RootInfo>,
    counts: [usize; 4],
    out: std::io::Stdout,
}

impl Reporter {
    pub(crate) fn new(
        json: bool,
        explain: Explain,
        roots: Vec<bottle_attest_net::trust::RootInfo>,
    ) -> Self {
        Self {
            json,
            explain,
            roots,
            counts: [0; 4],
            out: std::io::stdout(),
        }
    }

    /// Count a report without writing it (`--quiet` on a verified bottle).
    pub(crate) fn count(&mut self, report: &BottleReport) {
        let slot = match status(report) {
            Status::Ok => 0,
            Status::Invalid => 1,
            Status::Missing => 2,
            _ => 3,
        };
        self.counts[slot] += 1;
    }

    pub(crate) fn bottle(&mut self, report: &BottleReport) -> std::io::Result<()> {
        self.count(report);
        let mut out = self.out.lock();
        if self.json {
            serde_json::to_writer(
                &mut out,
                &json::bottle(report, &self.explain, self.roots.first()),
            )?;
            writeln!(out)
        } else {
            human::bottle(
                &mut out,
                &mut std::io::stderr().lock(),
                report,
                &self.explain,
            )
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

#[cfg(test)]
mod tests {
    use super::unknown_key;

    #[test]
    fn unknown_keys_are_told_from_other_failures() {
        // sigstore-verify's and sigstore-crypto's wording for a key the root does not know.
        for reason in [
            "cryptographic verification failed: invalid inclusion promise: No log key valid at \
             integrated time 2026-12-06T02:21:00Z for log ID NFvo…",
            "unknown transparency log abc=",
            "invalid checkpoint: No matching Rekor key found for checkpoint signature",
            "certificate chain is invalid: certificate chain validation failed: …",
            "no trusted certificate authority is valid at 2026-01-01T00:00:00Z",
            "invalid signed certificate timestamp: SCT signature verification failed: key not \
             found or not valid at 2026-01-01T00:00:00Z: 0a0b",
        ] {
            assert!(unknown_key(reason), "{reason}");
        }
        for reason in [
            "no subject with the bottle's digest is named x",
            "invalid signed certificate timestamp: SCT signature verification failed: \
             signature invalid",
            "certificate had expired at 2026-01-01T00:00:00Z (not after 2025-01-01T00:00:00Z)",
        ] {
            assert!(!unknown_key(reason), "{reason}");
        }
    }
}
