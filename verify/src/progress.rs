//! A progress bar on a terminal (stderr), nothing otherwise: CI logs and pipes stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `total` items, shown only on a terminal, for more than one item.
    pub(crate) fn new(total: u64, wanted: bool) -> Self {
        let show = wanted && total > 1 && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        Self { bar }
    }

    pub(crate) fn advance(&self, label: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(label.to_owned());
            bar.inc(1);
        }
    }

    /// Run `f` (which prints) with the bar hidden.
    pub(crate) fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
