//! `field-cli bench --steady`: many devices, each syncing on its own schedule.
//!
//! Set-up as in the burst (users, work orders through the API), then every device logs in,
//! fetches its jobs and accepts them (untimed). In the steady phase each device sleeps until
//! its next planned sync, makes 1–3 small offline edits on one or two of its jobs, syncs and
//! records the sync's time, bytes and round trips. Devices are in-memory (`memdevice`) and
//! share one HTTP connection pool, so the load generator stays cheap; its own CPU time and
//! how late syncs started against their plan are reported to show it was not the bottleneck.
//! Before the phase, one more device holding `idle_jobs` jobs syncs with nothing to say.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde::Serialize;

use super::admin::Admin;
use super::http::Http;
use super::memdevice::{Edit, MemDevice, SyncStats};
use super::procstat::{CpuWindow, Proc, ServerFigures};
use super::progress::Progress;
use super::report::{latency, ratio, round, LatencyMs};
use super::schedule::{plan_edits, Schedule};
use super::setup::{provision, SETUP_CONCURRENCY};

/// The sync latency the lead's target names (p99, ms, 1,000 devices).
pub const TARGET_P99_MS: f64 = 100.0;
/// An idle device's sync should fit in this many request bytes, in one round trip.
pub const IDLE_TARGET_BYTES_UP: usize = 2048;
/// Error messages kept in the result (the count is always complete).
const ERROR_SAMPLES: usize = 5;
/// Work-order reads in flight at once while checking.
const VERIFY_CONCURRENCY: usize = 8;

#[derive(Debug, Clone)]
pub struct SteadyOptions {
    pub server: String,
    pub admin_user: String,
    pub admin_password: String,
    pub devices: usize,
    pub jobs: usize,
    pub interval: Duration,
    pub duration: Duration,
    pub jitter: f64,
    /// Jobs of the idle device (0: no idle check).
    pub idle_jobs: usize,
    pub seed: u64,
    pub server_pid: Option<u32>,
    pub progress: bool,
}

/// One sync of an idle device (nothing changed on either side).
#[derive(Debug, Clone, Serialize)]
pub struct IdleSync {
    pub jobs: usize,
    pub round_trips: u32,
    pub bytes_up: usize,
    pub bytes_down: usize,
    pub latency_ms: f64,
    /// One round trip and at most `IDLE_TARGET_BYTES_UP` bytes up.
    pub within_target: bool,
}

/// The one JSON line of `field-cli bench --steady`.
#[derive(Debug, Clone, Serialize)]
pub struct SteadyResult {
    pub mode: &'static str,
    pub run_tag: String,
    pub devices: usize,
    pub jobs_per_device: usize,
    pub interval_s: f64,
    pub duration_s: f64,
    pub jitter: f64,
    pub seed: u64,
    /// Seconds to create users and work orders, log every device in and fetch and accept its
    /// jobs.
    pub setup_seconds: f64,
    /// Seconds of the steady phase, until the last device's last sync ended.
    pub wall_seconds: f64,
    pub syncs: usize,
    /// Failed syncs, refused or unappliable documents, failed edits (should be 0).
    pub errors: usize,
    pub error_samples: Vec<String>,
    /// Offline steps the devices made in the phase.
    pub changes: usize,
    /// Changes the devices counted as unshared when their syncs began.
    pub changes_sent: usize,
    pub syncs_per_second: f64,
    pub changes_per_second: f64,
    /// Each sync's time: every exchange round of `POST /v1/sync`.
    pub sync_latency_ms: LatencyMs,
    pub target_p99_ms: f64,
    pub p99_within_target: bool,
    /// Most syncs in flight at one moment.
    pub max_in_flight: usize,
    /// How late syncs started against their plan (a busy load generator shows here).
    pub start_lag_ms: LatencyMs,
    pub round_trips_per_sync: f64,
    pub max_round_trips: u32,
    pub bytes_up_per_sync: f64,
    pub bytes_down_per_sync: f64,
    pub idle_sync: Option<IdleSync>,
    #[serde(flatten)]
    pub cpu: ServerFigures,
    /// Every work order's server copy equals the device's after the phase.
    pub server_holds_every_change: bool,
    pub mismatched_documents: usize,
}

/// What one device did in the steady phase.
#[derive(Default)]
struct DeviceLog {
    syncs: Vec<(Duration, SyncStats)>,
    lags: Vec<Duration>,
    changes: usize,
    errors: Vec<String>,
}

pub async fn run(opts: &SteadyOptions) -> anyhow::Result<SteadyResult> {
    if opts.devices == 0 || opts.jobs == 0 {
        bail!("bench --steady: --devices and --jobs must be at least 1");
    }
    let server_proc = opts.server_pid.map(Proc::server).transpose()?;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let progress = Progress::new(opts.progress);
    let setup_started = Instant::now();
    let http = Http::new(&opts.server)?;
    let admin = Admin::login(&http, &opts.admin_user, &opts.admin_password)
        .await
        .with_context(|| format!("bench setup: logging in as {}", opts.admin_user))?;
    let crew = provision(
        &admin,
        &progress,
        &format!("bench-{tag}"),
        opts.devices,
        opts.jobs,
    )
    .await?;

    let bar = progress.phase("first sync", opts.devices);
    let devices: Vec<MemDevice> = stream::iter(crew.users.iter())
        .map(|user| {
            let (http, password, bar, k) =
                (http.clone(), crew.password.clone(), bar.clone(), opts.jobs);
            let user = user.clone();
            on_task(format!("bench first sync: device of {user}"), async move {
                let mut dev = first_sync(&http, &user, &password, k).await?;
                for i in 0..k {
                    dev.edit(i, Edit::Accept)?;
                }
                let s = dev.sync().await?;
                if !s.rejected.is_empty() || !s.failed.is_empty() {
                    bail!(
                        "{user}: accepting its jobs: {:?} {:?}",
                        s.rejected,
                        s.failed
                    );
                }
                bar.inc(1);
                Ok(dev)
            })
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    bar.finish();

    let idle_sync = if opts.idle_jobs > 0 {
        let idle = provision(
            &admin,
            &progress,
            &format!("bench-{tag}-idle"),
            1,
            opts.idle_jobs,
        )
        .await?;
        let user = idle
            .users
            .first()
            .ok_or_else(|| anyhow!("bench setup: no idle technician"))?;
        let mut dev = first_sync(&http, user, &idle.password, opts.idle_jobs).await?;
        let started = Instant::now();
        let s = dev.sync().await.context("bench idle sync")?;
        let took = started.elapsed();
        Some(IdleSync {
            jobs: opts.idle_jobs,
            round_trips: s.round_trips,
            bytes_up: s.bytes_up,
            bytes_down: s.bytes_down,
            latency_ms: round(took.as_secs_f64() * 1000.0, 2),
            within_target: s.round_trips == 1 && s.bytes_up <= IDLE_TARGET_BYTES_UP,
        })
    } else {
        None
    };
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    // --- The steady phase.
    let schedule = Schedule {
        interval: opts.interval,
        jitter: opts.jitter,
    };
    let bar = progress.phase("steady (s)", opts.duration.as_secs() as usize);
    let in_flight = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let window = CpuWindow::start(server_proc.as_ref())?;
    let t0 = tokio::time::Instant::now();
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                bar.inc(1);
            }
        })
    };
    let handles: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(i, dev)| {
            let rng =
                StdRng::seed_from_u64(opts.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
            tokio::spawn(steady_device(
                dev,
                rng,
                schedule,
                t0,
                opts.duration,
                in_flight.clone(),
            ))
        })
        .collect();
    let mut devices = Vec::with_capacity(opts.devices);
    let mut logs = Vec::with_capacity(opts.devices);
    for joined in futures_util::future::join_all(handles).await {
        let (dev, log) =
            joined.map_err(|e| anyhow!("bench steady: a device's task failed: {e}"))?;
        devices.push(dev);
        logs.push(log);
    }
    let wall = t0.elapsed().as_secs_f64();
    ticker.abort();
    bar.finish();
    let changes: usize = logs.iter().map(|l| l.changes).sum();
    let cpu = window.finish(changes, wall)?;

    let (checked, mismatched) = verify(&admin, &devices, &progress).await?;
    Ok(summarize(
        opts,
        tag,
        setup_seconds,
        wall,
        &logs,
        in_flight.1.load(Ordering::Relaxed),
        idle_sync,
        cpu,
        checked,
        mismatched,
    ))
}

/// Logs a device in and fetches its jobs, checking it got exactly `k`.
async fn first_sync(
    http: &Http,
    user: &str,
    password: &str,
    k: usize,
) -> anyhow::Result<MemDevice> {
    let mut dev = MemDevice::login(http, user, password).await?;
    let s = dev
        .sync()
        .await
        .with_context(|| format!("first sync of {user}"))?;
    if dev.job_count() != k || !s.failed.is_empty() {
        bail!(
            "bench setup: {user} holds {} work orders after its first sync, expected {k} (is another dispatcher or policy moving them?)",
            dev.job_count()
        );
    }
    Ok(dev)
}

async fn on_task<T: Send + 'static>(
    what: String,
    fut: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::spawn(fut)
        .await
        .map_err(|e| anyhow!("{what}: the task failed: {e}"))?
        .with_context(|| what)
}

/// One device's steady phase: sleep until the next planned sync, edit, sync, repeat until
/// the phase's end (a sync never starts after it; one in flight finishes).
async fn steady_device(
    mut dev: MemDevice,
    mut rng: StdRng,
    schedule: Schedule,
    t0: tokio::time::Instant,
    duration: Duration,
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
) -> (MemDevice, DeviceLog) {
    let mut log = DeviceLog::default();
    let mut at = schedule.first(&mut rng);
    while at < duration {
        let planned = t0 + at;
        tokio::time::sleep_until(planned).await;
        log.lags
            .push(tokio::time::Instant::now().saturating_duration_since(planned));
        for job in plan_edits(dev.job_count(), &mut rng) {
            let edit = if rng.gen_bool(0.5) {
                Edit::Note
            } else {
                Edit::Part
            };
            match dev.edit(job, edit) {
                Ok(()) => log.changes += 1,
                Err(e) => log.errors.push(format!("{}: edit: {e:#}", dev.user)),
            }
        }
        let now = in_flight.0.fetch_add(1, Ordering::Relaxed) + 1;
        in_flight.1.fetch_max(now, Ordering::Relaxed);
        let started = Instant::now();
        let result = dev.sync().await;
        let took = started.elapsed();
        in_flight.0.fetch_sub(1, Ordering::Relaxed);
        match result {
            Ok(s) => {
                for r in s.rejected.iter().chain(&s.failed) {
                    log.errors.push(format!("{}: {r}", dev.user));
                }
                log.syncs.push((took, s));
            }
            Err(e) => log.errors.push(format!("{}: sync: {e:#}", dev.user)),
        }
        // A sync that overran its gap makes the next one start at once, never two at a time.
        at = schedule.next(at, &mut rng);
    }
    (dev, log)
}

/// Compares every work order's server copy with its device's. Returns (checked, mismatched).
async fn verify(
    admin: &Admin,
    devices: &[MemDevice],
    progress: &Progress,
) -> anyhow::Result<(usize, usize)> {
    let pairs: Vec<(&MemDevice, usize)> = devices
        .iter()
        .flat_map(|d| (0..d.job_count()).map(move |i| (d, i)))
        .collect();
    let bar = progress.phase("verify", pairs.len());
    let verdicts: Vec<bool> = stream::iter(pairs)
        .map(|(dev, i)| {
            let bar = &bar;
            async move {
                let local = dev.view(i)?;
                let remote = admin
                    .call(Method::GET, &format!("/v1/workorders/{}", local.id), None)
                    .await
                    .with_context(|| {
                        format!("bench verify: reading {} from the server", local.id)
                    })?;
                bar.inc(1);
                anyhow::Ok(serde_json::to_value(&local).ok().as_ref() == Some(&remote))
            }
        })
        .buffer_unordered(VERIFY_CONCURRENCY)
        .try_collect()
        .await?;
    bar.finish();
    Ok((verdicts.len(), verdicts.iter().filter(|ok| !**ok).count()))
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    opts: &SteadyOptions,
    run_tag: String,
    setup_seconds: f64,
    wall: f64,
    logs: &[DeviceLog],
    max_in_flight: usize,
    idle_sync: Option<IdleSync>,
    cpu: ServerFigures,
    checked: usize,
    mismatched: usize,
) -> SteadyResult {
    let syncs: Vec<&(Duration, SyncStats)> = logs.iter().flat_map(|l| &l.syncs).collect();
    let errors: Vec<&String> = logs.iter().flat_map(|l| &l.errors).collect();
    let n = syncs.len() as f64;
    let durations: Vec<Duration> = syncs.iter().map(|(d, _)| *d).collect();
    let lags: Vec<Duration> = logs.iter().flat_map(|l| l.lags.iter().copied()).collect();
    let changes: usize = logs.iter().map(|l| l.changes).sum();
    let sum = |f: fn(&SyncStats) -> usize| syncs.iter().map(|(_, s)| f(s)).sum::<usize>() as f64;
    let sync_latency_ms = latency(&durations);
    SteadyResult {
        mode: "steady",
        run_tag,
        devices: opts.devices,
        jobs_per_device: opts.jobs,
        interval_s: opts.interval.as_secs_f64(),
        duration_s: opts.duration.as_secs_f64(),
        jitter: opts.jitter,
        seed: opts.seed,
        setup_seconds: round(setup_seconds, 3),
        wall_seconds: round(wall, 3),
        syncs: syncs.len(),
        errors: errors.len(),
        error_samples: errors
            .iter()
            .take(ERROR_SAMPLES)
            .map(|e| (*e).clone())
            .collect(),
        changes,
        changes_sent: sum(|s| s.changes_sent) as usize,
        syncs_per_second: ratio(n, wall, 2),
        changes_per_second: ratio(changes as f64, wall, 2),
        p99_within_target: !durations.is_empty() && sync_latency_ms.p99 <= TARGET_P99_MS,
        sync_latency_ms,
        target_p99_ms: TARGET_P99_MS,
        max_in_flight,
        start_lag_ms: latency(&lags),
        round_trips_per_sync: ratio(sum(|s| s.round_trips as usize), n, 3),
        max_round_trips: syncs.iter().map(|(_, s)| s.round_trips).max().unwrap_or(0),
        bytes_up_per_sync: ratio(sum(|s| s.bytes_up), n, 1),
        bytes_down_per_sync: ratio(sum(|s| s.bytes_down), n, 1),
        idle_sync,
        cpu,
        server_holds_every_change: checked > 0 && mismatched == 0,
        mismatched_documents: mismatched,
    }
}
