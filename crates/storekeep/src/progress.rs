//! Progress bars for the long commands (backups, imports): drawn on stderr
//! while it is a terminal and the command was not asked for `--json`,
//! otherwise nothing at all.

/// Progress on stderr while on a terminal (and not `--json`).
#[derive(Clone)]
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub fn new(shown: bool) -> Self {
        use std::io::IsTerminal;
        Self((shown && std::io::stderr().is_terminal()).then(indicatif::ProgressBar::no_length))
    }

    /// A new step: `what`, measured in `total` bytes (0: unknown).
    pub fn step(&self, what: &str, total: u64) {
        let template = if total > 0 {
            "{msg:<12} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{spinner} {msg:<12} {elapsed}"
        };
        self.start(what, total, template);
    }

    /// A new step: `what`, counted in `total` rows.
    pub fn rows(&self, what: &str, total: u64) {
        self.start(
            what,
            total,
            "{msg:<12} {bar:30} {pos}/{len} rows {per_sec} eta {eta}",
        );
    }

    fn start(&self, what: &str, total: u64, template: &str) {
        if let Some(bar) = &self.0 {
            bar.set_style(
                indicatif::ProgressStyle::with_template(template).expect("a valid template"),
            );
            bar.set_length(total);
            bar.set_position(0);
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
        }
    }

    /// How far the step has come (bytes or rows).
    pub fn at(&self, done: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(done);
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
