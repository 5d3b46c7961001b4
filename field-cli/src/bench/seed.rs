//! `field-cli bench --seed-orders N`: stores N more work orders on the server, through the
//! same intake API an agent uses (`POST /v1/workorders`), so that memory and latency can be
//! measured against a database that holds many documents.
//!
//! The orders go to a region and skill of their own (`seed`) that no technician works in:
//! dispatch on intake finds nobody and they wait for dispatch, so they never reach a bench
//! device and the burst and steady runs measured afterwards see only their own jobs. Each
//! order is a real document (created, projected, its clocks started, dispatch tried and
//! logged), as intake makes it.

use std::time::Instant;

use anyhow::{bail, Context};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use super::admin::Admin;
use super::http::Http;
use super::procstat::Proc;
use super::progress::Progress;
use super::report::round;

/// The region and skill the seeded orders belong to.
pub const SEED_SCOPE: &str = "seed";

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub server: String,
    pub admin_user: String,
    pub admin_password: String,
    /// Work orders to add.
    pub orders: usize,
    /// Intake requests in flight at once.
    pub concurrency: usize,
    pub server_pid: Option<u32>,
    pub progress: bool,
}

/// The one JSON line of `field-cli bench --seed-orders`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    pub mode: &'static str,
    /// Work orders this run added.
    pub seeded: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub orders_per_second: f64,
    /// The server's peak (`VmHWM`, since it started) and current resident memory after the
    /// run (with `--server-pid`).
    pub server_peak_rss_mib: Option<f64>,
    pub server_rss_mib: Option<f64>,
}

/// The intake of seeded order `i` of run `tag`: varied customers, products and priorities
/// (never urgent: an urgent order nobody can take opens an escalation, which is not what
/// a store of many documents is about).
pub fn intake(tag: &str, i: usize) -> serde_json::Value {
    const SERVICES: [&str; 4] = ["repair", "install", "maintenance", "inspection"];
    const MODELS: [&str; 3] = ["WM-800", "DW-450", "FR-210"];
    const TIERS: [&str; 2] = ["standard", "vip"];
    json!({
        "customer": {"name": format!("Seed customer {tag}-{i}"), "phone": "+49 30 1234567",
                     "address": format!("Seedweg {}", i % 997), "tier": TIERS[i % TIERS.len()]},
        "product": {"model": MODELS[i % MODELS.len()], "serial": format!("SN-{tag}-{i}"),
                    "purchase_date": ""},
        "service_type": SERVICES[i % SERVICES.len()],
        "problem": format!("seeded order {i}: does not start"),
        "priority": if i.is_multiple_of(5) { "vip" } else { "normal" },
        "required_skills": [SEED_SCOPE], "region": SEED_SCOPE, "attachments": [],
    })
}

pub async fn run(opts: &SeedOptions) -> anyhow::Result<SeedResult> {
    if opts.orders == 0 {
        bail!("bench: --seed-orders must be at least 1");
    }
    if opts.concurrency == 0 {
        bail!("bench: --seed-concurrency must be at least 1");
    }
    let server = opts.server_pid.map(Proc::server).transpose()?;
    let http = Http::new(&opts.server)?;
    let admin = Admin::login(&http, &opts.admin_user, &opts.admin_password)
        .await
        .context("bench: logging in as the admin")?;
    for kind in ["regions", "skills"] {
        admin
            .call(
                Method::PUT,
                &format!("/v1/admin/{kind}/{SEED_SCOPE}"),
                Some(&json!({ "name": "Seeded orders (no technicians)" })),
            )
            .await
            .with_context(|| format!("bench seed: creating {kind} {SEED_SCOPE}"))?;
    }
    let tag = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let progress = Progress::new(opts.progress);
    let bar = progress.phase("seed orders", opts.orders);
    let started = Instant::now();
    stream::iter(0..opts.orders)
        .map(|i| {
            let (admin, bar, tag) = (&admin, &bar, &tag);
            async move {
                let body = json!({ "intake": intake(tag, i) });
                admin
                    .call(Method::POST, "/v1/workorders", Some(&body))
                    .await
                    .with_context(|| {
                        format!("bench seed: intake of order {i} of {}", opts.orders)
                    })?;
                bar.inc(1);
                anyhow::Ok(())
            }
        })
        .buffer_unordered(opts.concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    let rss = server.as_ref().map(Proc::rss_kib).transpose()?;
    let mib = |kib: u64| round(kib as f64 / 1024.0, 1);
    Ok(SeedResult {
        mode: "seed",
        seeded: opts.orders,
        concurrency: opts.concurrency,
        seconds: round(seconds, 2),
        orders_per_second: round(opts.orders as f64 / seconds.max(1e-9), 1),
        server_peak_rss_mib: rss.map(|(peak, _)| mib(peak)),
        server_rss_mib: rss.map(|(_, now)| mib(now)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_orders_are_distinct_and_in_the_seed_region() {
        let a = intake("t", 1);
        let b = intake("t", 2);
        assert_ne!(a["product"]["serial"], b["product"]["serial"]);
        assert_eq!(a["region"], SEED_SCOPE);
        assert_eq!(a["required_skills"][0], SEED_SCOPE);
        let priorities: Vec<_> = (0..10)
            .map(|i| intake("t", i)["priority"].clone())
            .collect();
        assert!(priorities.iter().all(|p| p != "urgent"));
        assert!(priorities.iter().any(|p| p == "vip"));
    }
}
