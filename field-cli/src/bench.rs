//! `field-cli bench`: the load generator (being written).

use serde::Serialize;

/// What `field-cli bench` is asked to do.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub server: String,
    pub admin_user: String,
    pub admin_password: String,
    pub devices: usize,
    pub jobs: usize,
    pub edits: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// The one JSON line `field-cli bench` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub devices: usize,
}

pub async fn run(opts: &BenchOptions) -> anyhow::Result<BenchResult> {
    anyhow::bail!("bench is not built yet ({} devices asked)", opts.devices)
}
