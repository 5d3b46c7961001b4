//! `field-cli scenario run FILE…`: sync scenarios in TOML against a real server.
//!
//! A scenario names users, work orders and devices, then runs steps in order: operations on a
//! device (always offline: they touch only the device's store), `sync`, `offline` / `online`,
//! office calls, moving the service clock and running its pass, and `expect` checks against
//! the server and the devices. See `tests/scenarios/*.toml`; the format:
//!
//! ```toml
//! name = "decline, then the next technician"
//! [server]                       # optional
//! policy = "[dispatch]\nauto_on_intake = true\n"
//! access_ttl_secs = 2
//! [[user]]
//! id = "tech-a"
//! role = "technician"
//! regions = ["north"]
//! skills = ["washers"]
//! [[order]]
//! id = "WO-1"
//! region = "north"
//! skills = ["washers"]
//! [[device]]
//! name = "phone-a"
//! user = "tech-a"
//! [[step]]
//! device = "phone-a"
//! op = "sync"
//! [[step]]
//! device = "phone-a"
//! op = "decline"
//! job = "WO-1"
//! reason = "too far"
//! [[step]]
//! op = "expect"
//! job = "WO-1"
//! assignee = "tech-b"
//! ```
//!
//! Live push: `listen` opens a device's event stream (`GET /v1/events`) and waits for its
//! first event; `wait_event` then waits for the next (`event`, default `sync`) within
//! `timeout` (default 2 s); `no_event` checks that none comes within `timeout` (default 1 s).
//!
//! Spare-part stock: `stock_part`, `stock_warehouse`, `stock_receive`, `stock_issue`,
//! `stock_count` and `stock_expect` (see `scenario/stock.rs`).
//!
//! The quality audit: `audit_draw`, `audit_expect`, `audit_finding`, `audit_verify` and
//! `audit_close` (see `scenario/audit.rs`).
//!
//! Travel-aware dispatch: `travel_home`, `travel_intake`, `travel_on_site`, `travel_expect`
//! and `travel_route` (see `scenario/travel.rs`).
//!
//! The service clock must be manual (`--clock manual`): the runner moves it and keeps every
//! device's clock on service time (plus the device's `clock_skew`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{anyhow, bail, Context};
use reqwest::Method;
use serde_json::{json, Value};
use sync_core::workorder::{ComplaintCategory, PartInput, PartPatch, PhotoKind, WorkOrder};

use crate::cli::{parse_item, parse_time};
use crate::device::Device;

mod audit;
mod events;
mod spec;
mod stock;
mod travel;

pub use spec::{DeviceSpec, OrderSpec, Scenario, ServerSpec, Step, UserSpec};

/// A `field-server` the runner started; stopped when dropped.
pub struct SpawnedServer {
    child: Child,
    pub url: String,
    pub admin_password: String,
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin` on a free port with a fresh SQLite database in `dir`.
pub fn spawn_server(
    bin: &Path,
    dir: &Path,
    env: &[(String, String)],
) -> anyhow::Result<SpawnedServer> {
    let admin_password = format!("scenario-{}", uuid::Uuid::new_v4().simple());
    let mut child = Command::new(bin)
        .arg("--bind")
        .arg("127.0.0.1:0")
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("server.db").display()))
        .arg("--blob-dir")
        .arg(dir.join("server-blobs"))
        .env("FIELDSYNC_ADMIN_PASSWORD", &admin_password)
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout from {}", bin.display()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("field-server listening on ") {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let url = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(u) => u,
        Err(_) => {
            let _ = child.kill();
            bail!("{} did not start within 60 s", bin.display());
        }
    };
    Ok(SpawnedServer {
        child,
        url,
        admin_password,
    })
}

/// The `field-server` next to this program, for `scenario run` without `--server`.
pub fn sibling_server_bin() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot locate field-cli itself")?;
    let bin = me
        .parent()
        .map(|d| d.join(format!("field-server{}", std::env::consts::EXE_SUFFIX)))
        .filter(|p| p.exists())
        .ok_or_else(|| {
            anyhow!("no field-server next to field-cli: build it (cargo build -p server) or pass --server URL")
        })?;
    Ok(bin)
}

/// What a scenario run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub steps: usize,
    pub checks: usize,
}

struct Run<'a> {
    scenario: &'a Scenario,
    admin: Device,
    devices: BTreeMap<String, Device>,
    skews: BTreeMap<String, i64>,
    lines: BTreeMap<String, String>,
    url: String,
    dir: PathBuf,
    checks: usize,
    /// Photos made so far (each gets its own image).
    photos: std::cell::Cell<u8>,
    /// Devices' open event streams (`listen`), by device name.
    streams: BTreeMap<String, events::Listener>,
}

const UNREACHABLE: &str = "http://127.0.0.1:9";

fn skew_ms(text: &str) -> anyhow::Result<i64> {
    let t = text.trim();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.trim_start_matches('+')),
    };
    let d = humantime_serde::re::humantime::parse_duration(rest)
        .map_err(|e| anyhow!("clock_skew {text:?}: {e}"))?;
    Ok(sign * i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A tiny valid PNG (a 2×2 image) whose pixels depend on `seed`, for photos and signatures.
fn png(seed: u8) -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn adler(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &d in data {
            a = (a + u32::from(d)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc(&body).to_be_bytes());
    }
    let raw: Vec<u8> = [0, seed, 0, 0, seed, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        .into_iter()
        .collect();
    // zlib stream with one stored block
    let mut z = vec![0x78, 0x01, 1];
    z.extend((raw.len() as u16).to_le_bytes());
    z.extend((!(raw.len() as u16)).to_le_bytes());
    z.extend(&raw);
    z.extend(adler(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = 2u32.to_be_bytes().to_vec();
    ihdr.extend(2u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

impl Run<'_> {
    fn device(&self, step: &Step) -> anyhow::Result<&Device> {
        let name = step
            .device
            .as_deref()
            .ok_or_else(|| anyhow!("op {:?} needs `device`", step.op))?;
        self.devices
            .get(name)
            .ok_or_else(|| anyhow!("no device {name:?} in the scenario"))
    }

    fn job<'s>(&self, step: &'s Step) -> anyhow::Result<&'s str> {
        step.job
            .as_deref()
            .ok_or_else(|| anyhow!("op {:?} needs `job`", step.op))
    }

    /// Keeps every device's clock on service time (plus its skew).
    async fn follow_clock(&mut self) -> anyhow::Result<()> {
        let v = self.admin.call(Method::GET, "/v1/clock", None).await?;
        let service = v["now"]
            .as_i64()
            .ok_or_else(|| anyhow!("the server's clock is unreadable"))?;
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.admin.set_clock_offset(service - real);
        for (name, d) in self.devices.iter_mut() {
            d.set_clock_offset(service - real + self.skews.get(name).copied().unwrap_or(0));
        }
        Ok(())
    }

    async fn setup(&mut self) -> anyhow::Result<()> {
        for u in &self.scenario.users {
            for r in &u.regions {
                self.admin
                    .call(
                        Method::PUT,
                        &format!("/v1/admin/regions/{r}"),
                        Some(&json!({"name": r})),
                    )
                    .await?;
            }
            for s in &u.skills {
                self.admin
                    .call(
                        Method::PUT,
                        &format!("/v1/admin/skills/{s}"),
                        Some(&json!({"name": s})),
                    )
                    .await?;
            }
            self.admin
                .call(
                    Method::POST,
                    "/v1/admin/users",
                    Some(&json!({"id": u.id, "role": u.role, "password": format!("{}-password", u.id),
                        "regions": u.regions, "skills": u.skills, "capacity": u.capacity})),
                )
                .await
                .with_context(|| format!("creating user {}", u.id))?;
        }
        for d in &self.scenario.devices {
            let dev = Device::open(&self.dir.join(&d.name)).await?;
            dev.login(&self.url, &d.user, &format!("{}-password", d.user))
                .await
                .with_context(|| format!("device {} logging in as {}", d.name, d.user))?;
            if let Some(s) = &d.clock_skew {
                self.skews.insert(d.name.clone(), skew_ms(s)?);
            }
            self.devices.insert(d.name.clone(), dev);
        }
        for o in &self.scenario.orders {
            let intake = json!({
                "customer": {"name": "Ada Customer", "phone": "+49 30 1234567", "address": "Hauptstr. 1", "tier": o.tier},
                "product": {"model": "WM-800", "serial": "SN-0001", "purchase_date": ""},
                "service_type": o.service_type, "problem": "does not drain", "priority": o.priority,
                "required_skills": o.skills, "region": o.region, "attachments": [],
            });
            self.admin
                .call(
                    Method::POST,
                    "/v1/workorders",
                    Some(&json!({"id": o.id, "intake": intake})),
                )
                .await
                .with_context(|| format!("creating work order {}", o.id))?;
        }
        self.follow_clock().await
    }

    async fn op(&mut self, step: &Step) -> anyhow::Result<()> {
        let s = step;
        match s.op.as_str() {
            "sync" => {
                let r = self.device(s)?.sync().await?;
                if let Some((id, why)) = r.rejected.first().or(r.failed.first()) {
                    bail!("sync left {id} behind: {why}");
                }
                if let Some(n) = s.images_uploaded {
                    self.check(r.blobs_uploaded == n, || {
                        format!("{} image(s) uploaded, expected {n}", r.blobs_uploaded)
                    })?;
                }
            }
            "offline" => self.device(s)?.set_server(UNREACHABLE).await?,
            "online" => self.device(s)?.set_server(&self.url).await?,
            "advance" => {
                let by =
                    s.by.as_deref()
                        .ok_or_else(|| anyhow!("advance needs `by`"))?;
                self.admin
                    .call(
                        Method::POST,
                        "/v1/admin/clock",
                        Some(&json!({ "advance": by })),
                    )
                    .await?;
                self.follow_clock().await?;
            }
            "tick" => {
                self.admin
                    .call(Method::POST, "/v1/admin/clock/tick", None)
                    .await?;
            }
            "wait" => {
                let by = s.by.as_deref().ok_or_else(|| anyhow!("wait needs `by`"))?;
                let d = humantime_serde::re::humantime::parse_duration(by)
                    .map_err(|e| anyhow!("wait {by:?}: {e}"))?;
                if d > std::time::Duration::from_secs(5) {
                    bail!("wait is for real time (token expiry) and at most 5 s; use advance for the service clock");
                }
                tokio::time::sleep(d).await;
                self.follow_clock().await?;
            }
            "dispatch" => {
                self.office_call(s, Method::POST, "/v1/dispatch/auto", json!({}))
                    .await?;
            }
            "assign_api" => {
                let job = self.job(s)?.to_owned();
                let body = json!({"technician": s.technician, "reason": s.reason});
                self.office_call(
                    s,
                    Method::POST,
                    &format!("/v1/workorders/{job}/assign"),
                    body,
                )
                .await?;
            }
            "followup_api" => {
                let job = self.job(s)?.to_owned();
                let body = json!({"score": s.score.unwrap_or(5), "comment": s.text.clone().unwrap_or_default()});
                self.office_call(
                    s,
                    Method::POST,
                    &format!("/v1/workorders/{job}/followup"),
                    body,
                )
                .await?;
            }
            "expect" => self.expect(s).await?,
            "listen" | "wait_event" | "no_event" => self.events_op(s).await?,
            op if op.starts_with("stock_") => self.stock_op(s).await?,
            op if op.starts_with("travel_") => self.travel_op(s).await?,
            op if op.starts_with("audit_") => self.audit_op(s).await?,
            _ => self.device_op(s).await?,
        }
        Ok(())
    }

    /// An office call as the step's device user, or as the admin.
    async fn office_call(
        &self,
        s: &Step,
        method: Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let who = match &s.device {
            Some(_) => self.device(s)?,
            None => &self.admin,
        };
        who.call(method, path, Some(&body)).await
    }

    async fn device_op(&mut self, s: &Step) -> anyhow::Result<()> {
        let job = self.job(s)?.to_owned();
        let dev = self.device(s)?;
        let reason = s.reason.clone().unwrap_or_else(|| "scenario".into());
        match s.op.as_str() {
            "accept" => dev.act(&job, |w, a, now| w.accept(a, now)).await?,
            "decline" => {
                dev.act(&job, |w, a, now| w.decline(a, &reason, now))
                    .await?
            }
            "appointment" => {
                let start = parse_time(s.at.as_deref().unwrap_or("+2h"), dev.now())?;
                let why = s.reason.clone();
                dev.act(&job, |w, a, now| {
                    w.set_appointment(
                        a,
                        start,
                        start.saturating_add(7_200_000),
                        why.as_deref(),
                        now,
                    )
                })
                .await?
            }
            "en_route" => dev.act(&job, |w, a, now| w.en_route(a, now)).await?,
            "on_site" => dev.act(&job, |w, a, now| w.on_site(a, now)).await?,
            "diagnose" => {
                let cause = s.cause.clone().unwrap_or_else(|| "worn pump".into());
                dev.act(&job, |w, a, now| {
                    w.diagnose(a, &cause, &["replace it"], now)
                })
                .await?
            }
            "quote" => {
                let items = s
                    .items
                    .iter()
                    .flatten()
                    .map(|i| parse_item(i))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                dev.act(&job, |w, a, now| w.quote(a, &items, now)).await?
            }
            "consent" => {
                dev.act(&job, |w, a, now| w.consent(a, "Ada Customer", now))
                    .await?
            }
            "start" => dev.act(&job, |w, a, now| w.start_work(a, now)).await?,
            "part_add" => {
                let mut p = PartInput::new(
                    s.sku.clone().unwrap_or_else(|| "PUMP-7".into()),
                    s.qty.unwrap_or(1),
                    s.price_cents.unwrap_or(0),
                );
                p.serial_new = s.serial.clone().unwrap_or_default();
                let r = dev.act(&job, |w, a, now| w.add_part(a, p, now)).await?;
                if let Some(label) = &s.line {
                    self.lines.insert(label.clone(), r.0.clone());
                }
                r
            }
            "part_change" | "part_remove" => {
                let label = s
                    .line
                    .as_deref()
                    .ok_or_else(|| anyhow!("{} needs `line`", s.op))?;
                let line = self
                    .lines
                    .get(label)
                    .cloned()
                    .ok_or_else(|| anyhow!("no part line labelled {label:?} yet"))?;
                if s.op == "part_remove" {
                    dev.act(&job, |w, a, now| w.remove_part(a, &line, now))
                        .await?
                } else {
                    let patch = PartPatch {
                        qty: s.qty,
                        serial_new: s.serial.clone(),
                        price_cents: s.price_cents,
                        ..PartPatch::default()
                    };
                    dev.act(&job, |w, a, now| w.change_part(a, &line, patch, now))
                        .await?
                }
            }
            "photo" => {
                let n = self.photos.get().wrapping_add(1);
                self.photos.set(n);
                let file = self.dir.join(format!("photo-{n}.png"));
                std::fs::write(&file, png(n))?;
                let hash = dev.add_image(&file).await?;
                let kind: PhotoKind = s
                    .kind
                    .as_deref()
                    .unwrap_or("after")
                    .parse()
                    .map_err(|e: String| anyhow!(e))?;
                let caption = s.text.clone().unwrap_or_default();
                dev.act(&job, |w, a, now| {
                    w.add_photo(a, hash.as_str(), kind, &caption, now, now)
                })
                .await?
            }
            "note" => {
                let text = s.text.clone().unwrap_or_default();
                dev.act(&job, |w, a, now| {
                    let notes = w.view()?.notes;
                    w.edit_notes(a, &format!("{notes} {text}"), now)
                })
                .await?
            }
            "test" => {
                let passed = s.passed.unwrap_or(true);
                dev.act(&job, |w, a, now| w.record_test(a, passed, "", now))
                    .await?
            }
            "sign" => {
                let file = self.dir.join("signature.png");
                std::fs::write(&file, png(42))?;
                let hash = dev.add_image(&file).await?;
                let name = s.name.clone().unwrap_or_else(|| "Ada Customer".into());
                dev.act(&job, |w, a, now| w.sign(a, &name, hash.as_str(), now))
                    .await?
            }
            "complete" => {
                let fixed = s.fixed.unwrap_or(true);
                dev.act(&job, |w, a, now| w.complete(a, fixed, now)).await?
            }
            "assign" => {
                let t = s
                    .technician
                    .clone()
                    .ok_or_else(|| anyhow!("assign needs `technician`"))?;
                let why = s.reason.clone();
                dev.act(&job, |w, a, now| w.assign(a, &t, why.as_deref(), now))
                    .await?
            }
            "unassign" => {
                dev.act(&job, |w, a, now| w.unassign(a, &reason, now))
                    .await?
            }
            "cancel" => dev.act(&job, |w, a, now| w.cancel(a, &reason, now)).await?,
            "followup" => {
                let score = s.score.unwrap_or(5);
                dev.act(&job, |w, a, now| w.follow_up(a, score, "", "", now))
                    .await?
            }
            "classify" => {
                let c: ComplaintCategory = s
                    .category
                    .as_deref()
                    .unwrap_or("quality")
                    .parse()
                    .map_err(|e: String| anyhow!(e))?;
                let urgent = s.urgent.unwrap_or(false);
                dev.act(&job, |w, a, now| w.classify(a, c, urgent, now))
                    .await?
            }
            other => bail!("unknown op {other:?}"),
        };
        Ok(())
    }

    async fn server_view(&self, job: &str) -> anyhow::Result<Value> {
        self.admin
            .call(Method::GET, &format!("/v1/workorders/{job}"), None)
            .await
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> anyhow::Result<()> {
        self.checks += 1;
        if ok {
            Ok(())
        } else {
            bail!("expectation failed: {}", what())
        }
    }

    async fn expect(&mut self, s: &Step) -> anyhow::Result<()> {
        let before = self.checks;
        self.expect_inner(s).await?;
        if self.checks == before {
            bail!("this expect step checks nothing: name at least one expectation");
        }
        Ok(())
    }

    async fn expect_inner(&mut self, s: &Step) -> anyhow::Result<()> {
        if let Some(flagged) = &s.flagged {
            let v = self
                .admin
                .call(Method::GET, "/v1/devices?flagged=true", None)
                .await?;
            let got: BTreeSet<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["device_id"].as_str().map(str::to_owned))
                .collect();
            let mut want = BTreeSet::new();
            for name in flagged {
                let dev = self
                    .devices
                    .get(name)
                    .ok_or_else(|| anyhow!("no device {name:?}"))?;
                want.insert(dev.device_id().await?);
            }
            self.check(got == want, || {
                format!("flagged devices {got:?}, expected {want:?}")
            })?;
        }
        let Some(job) = s.job.clone() else {
            return Ok(());
        };
        let v = self.server_view(&job).await?;
        if let Some(st) = &s.status {
            self.check(v["status"] == st.as_str(), || {
                format!("{job}: status {}, expected {st}", v["status"])
            })?;
        }
        if let Some(a) = &s.assignee {
            let want = if a == "none" { Value::Null } else { json!(a) };
            self.check(v["assignee"] == want, || {
                format!("{job}: assignee {}, expected {a}", v["assignee"])
            })?;
        }
        if let Some(acc) = s.accepted {
            self.check(v["accepted"] == acc, || {
                format!("{job}: accepted {}, expected {acc}", v["accepted"])
            })?;
        }
        if let Some(fixed) = s.fixed_outcome {
            self.check(v["completion"]["fixed"] == fixed, || {
                format!(
                    "{job}: completion {}, expected fixed = {fixed}",
                    v["completion"]
                )
            })?;
        }
        if let Some(cause) = &s.cause {
            self.check(v["diagnosis"]["cause"] == cause.as_str(), || {
                format!(
                    "{job}: diagnosis {}, expected {cause}",
                    v["diagnosis"]["cause"]
                )
            })?;
        }
        if let Some(by) = &s.appointment_by {
            self.check(v["appointment"]["set"]["user"] == by.as_str(), || {
                format!(
                    "{job}: appointment set by {}, expected {by}",
                    v["appointment"]["set"]["user"]
                )
            })?;
        }
        if let Some(kinds) = &s.conflicts {
            let got: BTreeSet<String> = v["conflicts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["kind"].as_str().map(str::to_owned))
                .collect();
            let want: BTreeSet<String> = kinds.iter().cloned().collect();
            self.check(got == want, || {
                format!("{job}: conflicts {got:?}, expected {want:?}")
            })?;
        }
        if let Some(n) = s.open_conflicts {
            let got = v["conflicts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["resolved"] == false)
                .count();
            self.check(got == n, || {
                format!("{job}: {got} open conflicts, expected {n}")
            })?;
        }
        if let Some(n) = s.parts {
            let got = v["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["removed"].is_null())
                .count();
            self.check(got == n, || {
                format!("{job}: {got} active part lines, expected {n}")
            })?;
        }
        if let Some(n) = s.photos {
            let got = v["photos"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["removed"].is_null())
                .count();
            self.check(got == n, || format!("{job}: {got} photos, expected {n}"))?;
        }
        if let Some(label) = &s.line {
            // One part line (by its label): the fields named in the step.
            let id = self
                .lines
                .get(label)
                .cloned()
                .ok_or_else(|| anyhow!("no part line labelled {label:?}"))?;
            let line = v["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["line"] == id.as_str())
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(q) = s.qty {
                self.check(line["qty"] == q, || {
                    format!("{job}: line {label} qty {}, expected {q}", line["qty"])
                })?;
            }
            if let Some(serial) = &s.serial {
                self.check(line["serial_new"] == serial.as_str(), || {
                    format!(
                        "{job}: line {label} serial {}, expected {serial}",
                        line["serial_new"]
                    )
                })?;
            }
        }
        if let Some(texts) = &s.notes_contain {
            let notes = v["notes"].as_str().unwrap_or("").to_owned();
            for t in texts {
                self.check(notes.contains(t.as_str()), || {
                    format!("{job}: notes {notes:?} lack {t:?}")
                })?;
            }
        }
        if let Some(devs) = &s.held_by {
            for d in devs {
                let held = self.devices_named(d)?.job_ids().await?.contains(&job);
                self.check(held, || format!("{job}: not on device {d}"))?;
            }
        }
        if let Some(devs) = &s.not_held_by {
            for d in devs {
                let held = self.devices_named(d)?.job_ids().await?.contains(&job);
                self.check(!held, || format!("{job}: still on device {d}"))?;
            }
        }
        if let Some(devs) = &s.converged {
            for d in devs {
                let local = self.devices_named(d)?.view(&job).await?;
                let local = serde_json::to_value(&local)?;
                let same = local == v;
                self.check(same, || {
                    format!(
                        "{job}: device {d} differs from the server (device {} events, status {}; server {} events, status {})",
                        local["event_count"], local["status"], v["event_count"], v["status"]
                    )
                })?;
            }
        }
        if let Some(intact) = s.signature_intact {
            // The admin's copy, synced now, is the server's document.
            self.admin.sync().await?;
            let report = self.admin_doc(&job).await?.verify_signature()?;
            let got = report.as_ref().map(|r| r.intact());
            self.check(got == Some(intact), || {
                format!("{job}: signature intact {got:?}, expected {intact}")
            })?;
        }
        if let Some(rules) = &s.breaches {
            let list = self.admin.call(Method::GET, "/v1/breaches", None).await?;
            let got: BTreeSet<String> = list
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b["wo_id"] == job.as_str())
                .filter_map(|b| b["rule"].as_str().map(str::to_owned))
                .collect();
            let want: BTreeSet<String> = rules.iter().cloned().collect();
            self.check(got == want, || {
                format!("{job}: breaches {got:?}, expected {want:?}")
            })?;
        }
        if let Some(kinds) = &s.escalations {
            let list = self
                .admin
                .call(Method::GET, "/v1/escalations", None)
                .await?;
            let got: BTreeSet<String> = list
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["wo_id"] == job.as_str())
                .filter_map(|e| e["kind"].as_str().map(str::to_owned))
                .collect();
            let want: BTreeSet<String> = kinds.iter().cloned().collect();
            self.check(got == want, || {
                format!("{job}: open escalations {got:?}, expected {want:?}")
            })?;
        }
        Ok(())
    }

    fn devices_named(&self, name: &str) -> anyhow::Result<&Device> {
        self.devices
            .get(name)
            .ok_or_else(|| anyhow!("no device {name:?} in the scenario"))
    }

    async fn admin_doc(&self, job: &str) -> anyhow::Result<WorkOrder> {
        self.admin.work_order(job).await
    }
}

/// Runs one scenario against the server at `url` (manual clock) with the admin's password.
/// Device stores go under `dir`.
pub async fn run(
    scenario: &Scenario,
    url: &str,
    admin_password: &str,
    dir: &Path,
) -> anyhow::Result<ScenarioReport> {
    let admin = Device::open(&dir.join("admin")).await?;
    admin
        .login(url, "admin", admin_password)
        .await
        .context("logging in as admin")?;
    let clock = admin.call(Method::GET, "/v1/clock", None).await?;
    if clock["mode"] != "manual" {
        bail!("scenarios need a server with a manual clock (field-server --clock manual)");
    }
    let mut r = Run {
        scenario,
        admin,
        devices: BTreeMap::new(),
        skews: BTreeMap::new(),
        lines: BTreeMap::new(),
        url: url.to_owned(),
        dir: dir.to_owned(),
        checks: 0,
        photos: std::cell::Cell::new(0),
        streams: BTreeMap::new(),
    };
    r.setup().await.context("setting up")?;
    for (i, step) in scenario.steps.iter().enumerate() {
        let where_ = format!(
            "step {} ({}{}{})",
            i + 1,
            step.op,
            step.device
                .as_deref()
                .map(|d| format!(" on {d}"))
                .unwrap_or_default(),
            step.job
                .as_deref()
                .map(|j| format!(" {j}"))
                .unwrap_or_default()
        );
        let result = r.op(step).await;
        match (&step.fails_with, result) {
            (None, Ok(())) => {}
            (None, Err(e)) => return Err(e.context(where_)),
            (Some(want), Ok(())) => bail!("{where_}: should have failed with {want:?}"),
            (Some(want), Err(e)) => {
                let msg = format!("{e:#}");
                if !msg.contains(want.as_str()) {
                    bail!("{where_}: failed with {msg:?}, expected {want:?}");
                }
                r.checks += 1;
            }
        }
    }
    let report = ScenarioReport {
        name: scenario.name.clone(),
        steps: scenario.steps.len(),
        checks: r.checks,
    };
    for (_, d) in std::mem::take(&mut r.devices) {
        d.close().await;
    }
    r.admin.close().await;
    Ok(report)
}
