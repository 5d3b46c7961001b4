//! `field-cli bench` (the burst): all devices sync at once.
//!
//! As the admin it creates a region, a skill, `devices` technicians and `devices × jobs` work
//! orders (one run tag keeps each run apart); every technician's device logs in and fetches its
//! jobs, goes offline and accepts each job and makes `edits` edits to it (notes and part lines
//! by turns); then all devices sync at once, each timing its own sync. Finally, the admin reads
//! every work order back from the server and compares it with the device's copy.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Serialize;
use sync_core::workorder::PartInput;

use super::admin::Admin;
use super::http::Http;
use super::procstat::{CpuWindow, Proc, ServerFigures};
use super::progress::Progress;
use super::report::{latency, round, LatencyMs};
use super::setup::{provision, SETUP_CONCURRENCY};
use crate::api::ApiError;
use crate::device::{Device, SyncSummary};

/// Devices logging in, fetching, editing or being checked at once (the final sync is all at once).
const DEVICE_CONCURRENCY: usize = 16;
/// Work-order reads in flight at once while checking.
const VERIFY_CONCURRENCY: usize = 16;
/// Logins refused as busy (`503`) before a device gives up; `Device::login` does not expose
/// `Retry-After`, so it waits `LOGIN_RETRY_WAIT` between tries.
const LOGIN_RETRIES: u32 = 60;
const LOGIN_RETRY_WAIT: Duration = Duration::from_secs(1);

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
    /// The run's tag: its region, skill and technicians are named `bench-<tag>…`.
    pub run_tag: String,
    /// Devices (one technician each) that synced concurrently.
    pub devices: usize,
    /// Work orders per device.
    pub jobs_per_device: usize,
    /// Offline edits per work order (after accepting it).
    pub edits_per_job: usize,
    /// Work orders in the run (`devices × jobs_per_device`).
    pub documents: usize,
    /// Changes the devices made offline and then synced (per job: the acceptance plus the edits).
    pub changes: usize,
    /// Automerge changes the devices counted as not yet shared when the concurrent sync began;
    /// equals `changes` unless a device had something else pending.
    pub changes_sent: usize,
    /// Seconds to create the users and work orders and fetch every device's jobs.
    pub setup_seconds: f64,
    /// Seconds the devices spent making their offline changes.
    pub offline_seconds: f64,
    /// Seconds of the concurrent sync phase: from starting the first device's sync to the
    /// end of the last one.
    pub wall_seconds: f64,
    /// `changes / wall_seconds`.
    pub changes_per_second: f64,
    /// Each device's own `sync` time (upload, every exchange round, the parts catalogue).
    pub sync_latency_ms: LatencyMs,
    /// Request bytes the devices sent in the concurrent sync.
    pub bytes_up: usize,
    /// Response bytes the devices received in the concurrent sync.
    pub bytes_down: usize,
    /// Mean sync exchanges (HTTP round trips of `POST /v1/sync`) per device sync.
    pub round_trips_per_sync: f64,
    /// Documents whose changes the server refused during the concurrent sync.
    pub rejected_documents: usize,
    /// Whether, for every work order, the server's copy is the same work order (every event,
    /// part line and note) as the device's copy after the sync, and the devices sent every
    /// change they made.
    pub server_holds_every_change: bool,
    /// Work orders whose server copy differs from the device's (0 when all match).
    pub mismatched_documents: usize,
    /// Server CPU and memory over the concurrent sync phase (with `--server-pid`), and the
    /// bench's own CPU.
    #[serde(flatten)]
    pub cpu: ServerFigures,
}

/// A technician's device in the run.
struct BenchDevice {
    user: String,
    device: Device,
    /// The work orders on the device after its first sync.
    jobs: Vec<String>,
}

/// Runs a future on its own task (devices do CPU work: Automerge, their SQLite stores).
async fn on_task<T: Send + 'static>(
    what: String,
    fut: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::spawn(fut)
        .await
        .map_err(|e| anyhow!("{what}: the task failed: {e}"))?
}

pub async fn run(opts: &BenchOptions) -> anyhow::Result<BenchResult> {
    run_observed(opts, None).await
}

/// [`run`], also reading the CPU time and memory of the server process `server_pid` (on this
/// machine) around the concurrent sync.
pub async fn run_observed(
    opts: &BenchOptions,
    server_pid: Option<u32>,
) -> anyhow::Result<BenchResult> {
    if opts.devices == 0 || opts.jobs == 0 {
        bail!("bench: --devices and --jobs must be at least 1");
    }
    let server = server_pid.map(Proc::server).transpose()?;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let root = store_root(&tag);
    let result = run_in(opts, &tag, &root, server.as_ref()).await;
    if let Err(e) = std::fs::remove_dir_all(&root) {
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("field-cli: bench: could not remove {}: {e}", root.display());
        }
    }
    result
}

async fn run_in(
    opts: &BenchOptions,
    tag: &str,
    root: &Path,
    server: Option<&Proc>,
) -> anyhow::Result<BenchResult> {
    let n = opts.devices;
    let k = opts.jobs;
    let progress = Progress::new(opts.progress);
    let setup_started = Instant::now();

    // --- Set-up as the admin: region, skill, technicians, work orders.
    let http = Http::new(&opts.server)?;
    let admin = Admin::login(&http, &opts.admin_user, &opts.admin_password)
        .await
        .with_context(|| format!("bench setup: logging in as {}", opts.admin_user))?;
    let crew = provision(&admin, &progress, &format!("bench-{tag}"), n, k).await?;
    let (users, password) = (crew.users, crew.password);

    // --- Every device logs in and fetches its jobs.
    let bar = progress.phase("first sync", n);
    let mut devices: Vec<(usize, BenchDevice)> = stream::iter(users.iter().enumerate())
        .map(|(i, user)| {
            let (user, dir) = (user.clone(), root.join(format!("t{i}")));
            let (server, password, bar) = (opts.server.clone(), password.clone(), bar.clone());
            let what = format!("bench first sync: device of {user}");
            on_task(what.clone(), async move {
                let device = Device::open(&dir)
                    .await
                    .with_context(|| format!("{what}: opening its store in {}", dir.display()))?;
                login(&device, &server, &user, &password)
                    .await
                    .with_context(|| format!("{what}: logging in"))?;
                device.sync().await.with_context(|| format!("{what}: syncing"))?;
                let jobs = device.job_ids().await.with_context(|| what.clone())?;
                if jobs.len() != k {
                    bail!(
                        "{what}: it holds {} work orders, expected {k}; the server did not give each bench technician exactly {k} (is another dispatcher or policy moving them?)",
                        jobs.len()
                    );
                }
                bar.inc(1);
                Ok((i, BenchDevice { user, device, jobs }))
            })
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    bar.finish();
    devices.sort_by_key(|(i, _)| *i);
    let devices: Vec<BenchDevice> = devices.into_iter().map(|(_, d)| d).collect();
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    // --- Offline: accept each job and edit it.
    let edits = opts.edits;
    let bar = progress.phase("offline edits", n * k);
    let offline_started = Instant::now();
    let edited: Vec<(BenchDevice, usize)> = stream::iter(devices)
        .map(|dev| {
            let bar = bar.clone();
            let what = format!("bench offline edits: device of {}", dev.user);
            on_task(what.clone(), async move {
                let mut changes = 0;
                for job in &dev.jobs {
                    let (_, view) = dev
                        .device
                        .act(job, |wo, actor, now| wo.accept(actor, now))
                        .await
                        .with_context(|| format!("{what}: accepting {job}"))?;
                    changes += 1;
                    let mut notes = view.notes;
                    for e in 0..edits {
                        let result = if e % 2 == 0 {
                            notes.push_str(&format!("Bench note {} on {job}. ", e / 2 + 1));
                            let text = notes.clone();
                            dev.device
                                .act(job, move |wo, actor, now| wo.edit_notes(actor, &text, now))
                                .await
                        } else {
                            let part = PartInput::new(format!("BENCH-{}", e / 2 + 1), 1, 100);
                            dev.device
                                .act(job, move |wo, actor, now| wo.add_part(actor, part, now))
                                .await
                        };
                        result.with_context(|| format!("{what}: edit {} of {job}", e + 1))?;
                        changes += 1;
                    }
                    bar.inc(1);
                }
                Ok((dev, changes))
            })
        })
        .buffer_unordered(DEVICE_CONCURRENCY)
        .try_collect()
        .await?;
    bar.finish();
    let offline_seconds = offline_started.elapsed().as_secs_f64();
    let changes: usize = edited.iter().map(|(_, c)| c).sum();

    // --- All devices sync at once, each timing its own sync.
    let bar = progress.phase("sync (all)", n);
    let window = CpuWindow::start(server)?;
    let sync_started = Instant::now();
    let handles: Vec<_> = edited
        .into_iter()
        .map(|(dev, _)| {
            let bar = bar.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let summary = dev.device.sync().await;
                let took = started.elapsed();
                bar.inc(1);
                (dev, summary, took)
            })
        })
        .collect();
    let joined = futures_util::future::join_all(handles).await;
    let wall = sync_started.elapsed();
    let cpu = window.finish(changes, wall.as_secs_f64())?;
    bar.finish();
    let mut synced: Vec<(BenchDevice, SyncSummary, Duration)> = Vec::with_capacity(n);
    for j in joined {
        let (dev, summary, took) =
            j.map_err(|e| anyhow!("bench sync: a device's task failed: {e}"))?;
        let summary = summary.with_context(|| format!("bench sync: device of {}", dev.user))?;
        synced.push((dev, summary, took));
    }
    let durations: Vec<Duration> = synced.iter().map(|(_, _, d)| *d).collect();
    let bytes_up = synced.iter().map(|(_, s, _)| s.bytes_up).sum();
    let bytes_down = synced.iter().map(|(_, s, _)| s.bytes_down).sum();
    let changes_sent = synced.iter().map(|(_, s, _)| s.changes_sent).sum();
    let round_trips: u64 = synced
        .iter()
        .map(|(_, s, _)| u64::from(s.round_trips))
        .sum();
    let rejected_documents = synced.iter().map(|(_, s, _)| s.rejected.len()).sum();

    // --- Check: the server's copy of every work order against the device's.
    let bar = progress.phase("verify", n * k);
    let pairs: Vec<(&BenchDevice, &String)> = synced
        .iter()
        .flat_map(|(dev, _, _)| dev.jobs.iter().map(move |j| (dev, j)))
        .collect();
    let verdicts: Vec<bool> = stream::iter(pairs)
        .map(|(dev, job)| {
            let (admin, bar) = (&admin, &bar);
            async move {
                let local = dev.device.view(job).await.with_context(|| {
                    format!("bench verify: {job} on the device of {}", dev.user)
                })?;
                let remote = admin
                    .call(Method::GET, &format!("/v1/workorders/{job}"), None)
                    .await
                    .with_context(|| format!("bench verify: reading {job} from the server"))?;
                bar.inc(1);
                // The whole derived work order: events, status, part lines, notes…
                anyhow::Ok(serde_json::to_value(&local).ok().as_ref() == Some(&remote))
            }
        })
        .buffer_unordered(VERIFY_CONCURRENCY)
        .try_collect()
        .await?;
    bar.finish();
    let mismatched_documents = verdicts.iter().filter(|ok| !**ok).count();

    for (dev, _, _) in synced {
        dev.device.close().await;
    }
    let wall_seconds = wall.as_secs_f64();
    Ok(BenchResult {
        run_tag: tag.to_owned(),
        devices: n,
        jobs_per_device: k,
        edits_per_job: edits,
        documents: n * k,
        changes,
        changes_sent,
        setup_seconds: round(setup_seconds, 3),
        offline_seconds: round(offline_seconds, 3),
        wall_seconds: round(wall_seconds, 3),
        changes_per_second: if wall_seconds > 0.0 {
            round(changes as f64 / wall_seconds, 1)
        } else {
            0.0
        },
        sync_latency_ms: latency(&durations),
        bytes_up,
        bytes_down,
        round_trips_per_sync: round(round_trips as f64 / n as f64, 2),
        rejected_documents,
        server_holds_every_change: mismatched_documents == 0
            && rejected_documents == 0
            && changes_sent == changes,
        mismatched_documents,
        cpu,
    })
}

/// Logs a device in, trying again while the server answers that it is busy (its hashing
/// queue is full).
async fn login(device: &Device, server: &str, user: &str, password: &str) -> anyhow::Result<()> {
    let mut tries = 0;
    loop {
        match device.login(server, user, password).await {
            Ok(_) => return Ok(()),
            Err(e)
                if tries < LOGIN_RETRIES
                    && matches!(
                        e.downcast_ref::<ApiError>(),
                        Some(ApiError::Refused {
                            status: 503 | 429,
                            ..
                        })
                    ) =>
            {
                tries += 1;
                tokio::time::sleep(LOGIN_RETRY_WAIT).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where a run's device stores live (removed at the end).
fn store_root(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fieldsync-bench-{tag}"))
}
