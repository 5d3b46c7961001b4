//! The arguments of `field-cli bench` (flattened into the `bench` subcommand in `cli.rs`).

use std::time::Duration;

use clap::Args;
use humantime_serde::re::humantime;

/// Shown after `field-cli bench --help`.
pub const AFTER_HELP: &str = "\
Examples:
  # burst: 100 devices edit offline, then all sync at once
  field-cli bench --server http://127.0.0.1:8080 --devices 100 --jobs 20 --edits 10
  # steady: 1,000 devices each syncing about every 30 s (1-3 edits before each sync) for 2 minutes,
  # with the server's CPU and memory
  field-cli bench --server http://127.0.0.1:8080 --steady --devices 1000 --jobs 5 \\
    --interval 30s --duration 120s --server-pid \"$(pgrep -x field-server)\"
  # store 10,000 more work orders through the intake API (8 requests in flight)
  field-cli bench --server http://127.0.0.1:8080 --seed-orders 10000

Each prints one JSON line. The steady line also holds `idle_sync`: one sync of a device holding
--idle-jobs jobs with nothing new on either side (target: 1 round trip, at most 2 KB up).";

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[arg(long)]
    pub server: String,
    #[arg(long, default_value_t = 10)]
    pub devices: usize,
    /// Jobs per device.
    #[arg(long, default_value_t = 5)]
    pub jobs: usize,
    /// Offline edits per job (burst mode).
    #[arg(long, default_value_t = 5)]
    pub edits: usize,
    #[arg(long, default_value = "admin")]
    pub admin_user: String,
    /// Otherwise FIELDSYNC_ADMIN_PASSWORD, otherwise a prompt.
    #[arg(long, env = "FIELDSYNC_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// The server's process id (same machine): report its CPU time and memory (from /proc).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Steady state instead of a burst: each device syncs on its own schedule.
    #[arg(long)]
    pub steady: bool,
    /// Steady mode: time between a device's syncs (e.g. 30s, 1m, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration, requires = "steady")]
    pub interval: Duration,
    /// Steady mode: how long devices keep syncing.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = positive_duration, requires = "steady")]
    pub duration: Duration,
    /// Steady mode: each gap is the interval times 1 ± this fraction.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.1, value_parser = jitter, requires = "steady")]
    pub jitter: f64,
    /// Steady mode: jobs of the one idle device whose sync is measured (0: skip it).
    #[arg(long, value_name = "N", default_value_t = 50, requires = "steady")]
    pub idle_jobs: usize,
    /// Steady mode: seed of the schedules and edits (same seed, same plan).
    #[arg(long, default_value_t = 1, requires = "steady")]
    pub seed: u64,
    /// Instead of a benchmark, store N more work orders through the intake API (in region
    /// `seed`, which no technician works in: they wait for dispatch).
    #[arg(long, value_name = "N", conflicts_with = "steady")]
    pub seed_orders: Option<usize>,
    /// With --seed-orders: intake requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "seed_orders")]
    pub seed_concurrency: usize,
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration like 30s, 2m or 500ms ({e})"))?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}

fn jitter(s: &str) -> Result<f64, String> {
    let j: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number like 0.1"))?;
    if !(0.0..1.0).contains(&j) {
        return Err("must be at least 0 and below 1".into());
    }
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(positive_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(positive_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(positive_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(positive_duration("0s").is_err());
        assert!(positive_duration("soon").is_err());
        assert!(positive_duration("30").is_err());
    }

    #[test]
    fn jitter_is_a_fraction_below_one() {
        assert_eq!(jitter("0"), Ok(0.0));
        assert_eq!(jitter("0.25"), Ok(0.25));
        assert!(jitter("1").is_err());
        assert!(jitter("-0.1").is_err());
        assert!(jitter("NaN").is_err());
    }
}
