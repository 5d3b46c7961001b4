//! `field-cli sync --watch`: stay connected to the server's event stream and sync whenever it
//! says so.
//!
//! The device directory is opened only for a sync or a token refresh and closed right after,
//! so other commands (`accept`, `note`…) work on the device while it watches. The stream
//! starts with a `sync` (a first connection, or something changed while disconnected), so
//! whatever happened before arrives at once. On `refresh` the token is refreshed and the
//! stream reopened at once; on any error it reopens after an exponential backoff with jitter
//! (never a fixed interval: after a server restart, thousands of devices must not all come
//! back in the same second). Ctrl-C ends it between or during steps; an interrupted sync
//! loses nothing.

pub mod source;
pub mod sse;

use std::path::Path;
use std::time::Duration;

use anyhow::bail;

use crate::api::ApiError;
use crate::device::Device;
use crate::output::Out;
use source::EventSource;

/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// When the server names no `retry:`.
const DEFAULT_BASE: Duration = Duration::from_secs(2);

/// Exponential backoff with "equal jitter": attempt n waits between half and all of
/// `min(cap, base·2ⁿ)`, drawn at random.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The wait before the next attempt, given a random `unit` in [0, 1).
    pub fn wait_with(&mut self, unit: f64) -> Duration {
        let full = self
            .base
            .saturating_mul(2u32.saturating_pow(self.attempt.min(20)))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        full / 2 + (full / 2).mul_f64(unit.clamp(0.0, 1.0))
    }

    pub fn wait(&mut self) -> Duration {
        self.wait_with(rand::random::<f64>())
    }

    pub fn reset(&mut self, base: Duration) {
        self.base = base;
        self.attempt = 0;
    }
}

/// Opens the device for one step and closes it (releasing its lock) right after.
async fn with_device<T>(
    dir: &Path,
    f: impl AsyncFnOnce(&Device) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dev = Device::open(dir).await?;
    let result = f(&dev).await;
    dev.close().await;
    result
}

/// What ended one connection.
enum Ended {
    /// `refresh`, or the token expired: refresh and reconnect at once.
    Refresh,
    /// The stream ended or broke: reconnect after the backoff.
    Lost(String),
}

/// Runs until Ctrl-C. Fails only when watching cannot work at all (not logged in, the session
/// ended, the server refuses the stream).
pub async fn run(dir: &Path, out: &Out) -> anyhow::Result<()> {
    let http = source::client()?;
    let mut last_id: Option<String> = None;
    let mut backoff = Backoff::new(DEFAULT_BASE, MAX_BACKOFF);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let step = async {
            let (api, token) = with_device(dir, async |d| d.api_and_token().await).await?;
            let connected =
                EventSource::connect(&http, api.base(), &token, last_id.as_deref()).await;
            let mut src = match connected {
                Ok(s) => s,
                Err(ApiError::Expired) => return Ok(Ended::Refresh),
                Err(e @ ApiError::Unreachable { .. }) => return Ok(Ended::Lost(e.to_string())),
                Err(e) => bail!("the server refused the event stream: {e}"),
            };
            if !out.is_json() {
                eprintln!(
                    "field-cli: watching {} for changes (Ctrl-C ends)",
                    api.base()
                );
            }
            backoff.reset(
                src.retry_ms()
                    .map(Duration::from_millis)
                    .unwrap_or(DEFAULT_BASE),
            );
            loop {
                match src.next().await {
                    Ok(Some(e)) => {
                        if e.id.is_some() {
                            last_id = e.id.clone();
                        }
                        match e.event.as_str() {
                            "sync" => sync_once(dir, out).await?,
                            "refresh" => return Ok(Ended::Refresh),
                            _ => {}
                        }
                    }
                    Ok(None) => return Ok(Ended::Lost("the server ended the stream".into())),
                    Err(e) => return Ok(Ended::Lost(e.to_string())),
                }
                if let Some(ms) = src.retry_ms() {
                    backoff.reset(Duration::from_millis(ms));
                }
            }
        };
        let ended = tokio::select! {
            r = step => r?,
            _ = &mut ctrl_c => return Ok(()),
        };
        match ended {
            Ended::Refresh => {
                with_device(dir, async |d| {
                    let (api, _) = d.api_and_token().await?;
                    d.refresh(&api).await.map(|_| ())
                })
                .await?
            }
            Ended::Lost(why) => {
                let wait = backoff.wait();
                eprintln!(
                    "field-cli: event stream: {why}; reconnecting in {:.1} s",
                    wait.as_secs_f64()
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = &mut ctrl_c => return Ok(()),
                }
            }
        }
    }
}

/// One sync, printed like `field-cli sync`. A failed sync is reported and watching goes on:
/// the next event syncs again, and a session that has ended stops the watch at its refresh.
async fn sync_once(dir: &Path, out: &Out) -> anyhow::Result<()> {
    match with_device(dir, async |d| d.sync().await).await {
        Ok(s) => out.synced(&s),
        Err(e) => eprintln!("field-cli: sync: {e:#}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(60));
        let lows: Vec<u64> = (0..7)
            .map(|_| b.wait_with(0.0).as_millis() as u64)
            .collect();
        assert_eq!(lows, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        b.reset(Duration::from_secs(2));
        assert_eq!(b.wait_with(0.999_999).as_millis(), 1_999);
        assert_eq!(b.wait_with(0.5), Duration::from_secs(3));
    }

    #[test]
    fn two_clients_backing_off_together_do_not_wait_the_same() {
        let mut a = Backoff::new(Duration::from_secs(2), Duration::from_secs(60));
        let mut b = a.clone();
        let waits: Vec<(Duration, Duration)> = (0..5).map(|_| (a.wait(), b.wait())).collect();
        assert!(waits.iter().any(|(x, y)| x != y), "{waits:?}");
    }
}
