//! Progress on stderr: a bar on a terminal, plain lines every `--progress-interval` seconds
//! otherwise (CI logs), nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ui {
    pub(crate) quiet: bool,
    pub(crate) interval: Duration,
}

impl Ui {
    /// A message on stderr (hidden by `--quiet`).
    pub(crate) fn note(&self, message: &str) {
        if !self.quiet {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{message}");
            }
        }
    }
}

/// Progress of one phase over `total` units.
#[derive(Debug)]
pub(crate) struct Progress {
    label: &'static str,
    unit: &'static str,
    total: u64,
    bar: Option<ProgressBar>,
    plain: Option<Mutex<Plain>>,
    started: Instant,
    interval: Duration,
}

#[derive(Debug)]
struct Plain {
    done: u64,
    last: Instant,
    extra: String,
}

impl Progress {
    pub(crate) fn new(ui: Ui, label: &'static str, unit: &'static str, total: u64) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!ui.quiet && terminal && total > 0).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = format!(
                "{{prefix}} {{bar:30}} {{pos}}/{{len}} {unit} · ETA {{eta}} · {{wide_msg}}"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            bar.set_prefix(label);
            bar
        });
        let plain = (!ui.quiet && !terminal && total > 0).then(|| {
            Mutex::new(Plain {
                done: 0,
                last: Instant::now(),
                extra: String::new(),
            })
        });
        Self {
            label,
            unit,
            total,
            bar,
            plain,
            started: Instant::now(),
            interval: ui.interval,
        }
    }

    /// `n` more units done; `extra` describes the rest of the state (bundles, waits).
    pub(crate) fn advance(&self, n: u64, extra: &str) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
            bar.set_message(extra.to_owned());
        }
        if let Some(plain) = &self.plain {
            let Ok(mut p) = plain.lock() else { return };
            p.done += n;
            p.extra = extra.to_owned();
            if p.last.elapsed() >= self.interval || p.done >= self.total {
                p.last = Instant::now();
                self.line(p.done, &p.extra);
            }
        }
    }

    fn line(&self, done: u64, extra: &str) {
        let pct = done.saturating_mul(100) / self.total.max(1);
        let elapsed = self.started.elapsed();
        let eta = if done > 0 && done < self.total {
            let left = elapsed.mul_f64((self.total - done) as f64 / done as f64);
            format!(", ETA {}", human(left))
        } else {
            String::new()
        };
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "{}: {done}/{} {} ({pct}%){extra}{eta}",
                self.label, self.total, self.unit
            );
        }
    }

    /// Print `message` without garbling the bar.
    pub(crate) fn println(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| print_err(message)),
            None => print_err(message),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[allow(clippy::print_stderr)]
fn print_err(message: &str) {
    eprintln!("{message}");
}

/// `1h02m`, `3m05s`, `42s`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
