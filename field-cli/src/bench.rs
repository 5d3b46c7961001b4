//! `field-cli bench`: the load generator.
//!
//! As the admin it creates a region, a skill, `devices` technicians and `devices × jobs` work
//! orders (one run tag keeps each run apart); every technician's device logs in and fetches its
//! jobs, goes offline and accepts each job and makes `edits` edits to it (notes and part lines
//! by turns); then all devices sync at once, each timing its own sync. Finally, the admin reads
//! every work order back from the server and compares it with the device's copy.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use sync_core::workorder::PartInput;

use crate::api::{Api, ApiError, Tokens};
use crate::device::{Device, SyncSummary};

/// Admin requests in flight at once during set-up (each user creation hashes a password).
const SETUP_CONCURRENCY: usize = 8;
/// Devices logging in, fetching, editing or being checked at once (the final sync is all at once).
const DEVICE_CONCURRENCY: usize = 16;
/// Work-order reads in flight at once while checking.
const VERIFY_CONCURRENCY: usize = 16;

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

/// Sync latency over the devices' concurrent syncs, in milliseconds (nearest-rank percentiles).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LatencyMs {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
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
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of ascending `sorted`; 0 when it is empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    let index = rank.clamp(1, n) - 1;
    sorted.get(index).copied().unwrap_or(0.0)
}

fn latency(durations: &[Duration]) -> LatencyMs {
    let mut ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    LatencyMs {
        p50: round(percentile(&ms, 50.0), 2),
        p95: round(percentile(&ms, 95.0), 2),
        p99: round(percentile(&ms, 99.0), 2),
        max: round(ms.last().copied().unwrap_or(0.0), 2),
    }
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// The admin's session: one HTTP client for every set-up and check call, logging in again
/// when the access token expires.
struct Admin {
    api: Api,
    user: String,
    password: String,
    token: Mutex<String>,
}

impl Admin {
    async fn login(server: &str, user: &str, password: &str) -> anyhow::Result<Admin> {
        let api = Api::new(server)?;
        let token = Self::fresh_token(&api, user, password).await?;
        Ok(Admin {
            api,
            user: user.to_owned(),
            password: password.to_owned(),
            token: Mutex::new(token),
        })
    }

    /// Logs in without a device id: the admin does not sync.
    async fn fresh_token(api: &Api, user: &str, password: &str) -> anyhow::Result<String> {
        let v = api
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(&json!({"user": user, "password": password})),
            )
            .await?;
        let tokens: Tokens = serde_json::from_value(v)
            .map_err(|e| anyhow!("unexpected answer to the login: {e}"))?;
        Ok(tokens.access_token)
    }

    fn token(&self) -> anyhow::Result<String> {
        self.token
            .lock()
            .map(|t| t.clone())
            .map_err(|_| anyhow!("the admin session's lock is poisoned"))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let token = self.token()?;
        match self
            .api
            .call(method.clone(), path, Some(&token), body)
            .await
        {
            Err(ApiError::Expired) => {
                let fresh = Self::fresh_token(&self.api, &self.user, &self.password)
                    .await
                    .context("logging in again as the admin after the access token expired")?;
                if let Ok(mut t) = self.token.lock() {
                    t.clone_from(&fresh);
                }
                Ok(self.api.call(method, path, Some(&fresh), body).await?)
            }
            other => Ok(other?),
        }
    }
}

/// One bar per phase on stderr (or none: not asked for, or stderr is not a terminal).
struct Progress {
    multi: Option<MultiProgress>,
    drawn: AtomicBool,
}

impl Progress {
    fn new(show: bool) -> Progress {
        let show = show && std::io::stderr().is_terminal();
        Progress {
            multi: show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            drawn: AtomicBool::new(false),
        }
    }

    fn phase(&self, name: &str, len: usize) -> ProgressBar {
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
    if opts.devices == 0 || opts.jobs == 0 {
        bail!("bench: --devices and --jobs must be at least 1");
    }
    let tag = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let root = store_root(&tag);
    let result = run_in(opts, &tag, &root).await;
    if let Err(e) = std::fs::remove_dir_all(&root) {
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("field-cli: bench: could not remove {}: {e}", root.display());
        }
    }
    result
}

async fn run_in(opts: &BenchOptions, tag: &str, root: &Path) -> anyhow::Result<BenchResult> {
    let n = opts.devices;
    let k = opts.jobs;
    let progress = Progress::new(opts.progress);
    let setup_started = Instant::now();

    // --- Set-up as the admin: region, skill, technicians, work orders.
    let admin = Admin::login(&opts.server, &opts.admin_user, &opts.admin_password)
        .await
        .with_context(|| format!("bench setup: logging in as {}", opts.admin_user))?;
    let scope = format!("bench-{tag}");
    for kind in ["regions", "skills"] {
        admin
            .call(
                Method::PUT,
                &format!("/v1/admin/{kind}/{scope}"),
                Some(&json!({ "name": format!("Bench run {tag}") })),
            )
            .await
            .with_context(|| format!("bench setup: creating {kind} {scope}"))?;
    }
    let password = format!("bench-{tag}-{}", uuid::Uuid::new_v4().simple());
    let users: Vec<String> = (0..n).map(|i| format!("{scope}-t{i}")).collect();
    let bar = progress.phase("users", n);
    stream::iter(users.iter())
        .map(|user| {
            let (admin, bar, scope, password) = (&admin, &bar, &scope, &password);
            async move {
                admin
                    .call(
                        Method::POST,
                        "/v1/admin/users",
                        Some(&json!({
                            "id": user, "role": "technician", "password": password,
                            "regions": [scope], "skills": [scope], "capacity": k,
                        })),
                    )
                    .await
                    .with_context(|| format!("bench setup: creating technician {user}"))?;
                bar.inc(1);
                anyhow::Ok(())
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    bar.finish();

    let bar = progress.phase("intake", n * k);
    let orders: Vec<(String, Option<String>)> = stream::iter(0..n * k)
        .map(|i| {
            let (admin, bar, scope) = (&admin, &bar, &scope);
            async move {
                let intake = json!({
                    "customer": {"name": format!("Bench customer {i}"), "phone": "+49 30 1234567",
                                 "address": format!("Benchstr. {i}"), "tier": "standard"},
                    "product": {"model": "WM-800", "serial": format!("SN-{tag}-{i}"), "purchase_date": ""},
                    "service_type": "repair", "problem": "does not drain", "priority": "normal",
                    "required_skills": [scope], "region": scope, "attachments": [],
                });
                let v = admin
                    .call(
                        Method::POST,
                        "/v1/workorders",
                        Some(&json!({ "intake": intake })),
                    )
                    .await
                    .with_context(|| format!("bench setup: intake of work order {i} of {}", n * k))?;
                let id = v["id"]
                    .as_str()
                    .ok_or_else(|| anyhow!("bench setup: intake of work order {i}: no id in the answer"))?
                    .to_owned();
                bar.inc(1);
                anyhow::Ok((id, v["assignee"].as_str().map(str::to_owned)))
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    bar.finish();

    // Dispatch on intake should have given every technician exactly `k` (capacity `k`, the
    // least-loaded first). Assign whatever it left unassigned (a server with
    // `auto_on_intake = false`) to technicians with room.
    let mut load: HashMap<&str, usize> = users.iter().map(|u| (u.as_str(), 0)).collect();
    let mut unassigned = Vec::new();
    for (id, assignee) in &orders {
        match assignee.as_deref().and_then(|a| load.get_mut(a)) {
            Some(count) => *count += 1,
            None => unassigned.push(id.as_str()),
        }
    }
    let mut plan = Vec::new();
    let mut slots = users.iter().flat_map(|u| {
        std::iter::repeat_n(
            u.as_str(),
            k.saturating_sub(load.get(u.as_str()).copied().unwrap_or(0)),
        )
    });
    for id in unassigned {
        let tech = slots.next().ok_or_else(|| {
            anyhow!("bench setup: work order {id} is not assigned to a bench technician and none has room left (the server's dispatch gave some technicians more than {k})")
        })?;
        plan.push((id, tech));
    }
    if !plan.is_empty() {
        let bar = progress.phase("assign", plan.len());
        stream::iter(plan)
            .map(|(id, tech)| {
                let (admin, bar) = (&admin, &bar);
                async move {
                    admin
                        .call(
                            Method::POST,
                            &format!("/v1/workorders/{id}/assign"),
                            Some(&json!({ "technician": tech })),
                        )
                        .await
                        .with_context(|| {
                            format!("bench setup: assigning work order {id} to {tech}")
                        })?;
                    bar.inc(1);
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        bar.finish();
    }

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
                device
                    .login(&server, &user, &password)
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
        .buffer_unordered(DEVICE_CONCURRENCY)
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
    })
}

/// Where a run's device stores live (removed at the end).
fn store_root(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fieldsync-bench-{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        // Nearest rank: ceil(p/100 · n), never interpolated.
        let v = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(percentile(&v, 50.0), 20.0);
        assert_eq!(percentile(&v, 51.0), 30.0);
        assert_eq!(percentile(&v, 95.0), 40.0);
        assert_eq!(percentile(&v, 1.0), 10.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn latency_sorts_and_rounds() {
        let d: Vec<Duration> = [30u64, 10, 20]
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect();
        let l = latency(&d);
        assert_eq!(
            l,
            LatencyMs {
                p50: 20.0,
                p95: 30.0,
                p99: 30.0,
                max: 30.0
            }
        );
    }
}
