//! One progress bar per phase on stderr (or none: not asked for, or stderr is not a terminal).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    multi: Option<MultiProgress>,
    drawn: AtomicBool,
}

impl Progress {
    pub fn new(show: bool) -> Progress {
        let show = show && std::io::stderr().is_terminal();
        Progress {
            multi: show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            drawn: AtomicBool::new(false),
        }
    }

    pub fn phase(&self, name: &str, len: usize) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        self.drawn.store(true, Ordering::Relaxed);
        let style = ProgressStyle::with_template(
            "{prefix:>15} [{bar:32}] {pos:>6}/{len:<6} {elapsed:>4} {msg}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = multi.add(ProgressBar::new(len as u64));
        bar.set_style(style);
        bar.set_prefix(name.to_owned());
        bar
    }
}

impl Drop for Progress {
    /// Leaves the bars in place and moves to a new line, so that the result or the error
    /// does not land on the last bar's line (both go to the same terminal).
    fn drop(&mut self) {
        if self.drawn.load(Ordering::Relaxed) {
            eprintln!();
        }
    }
}
