//! Prometheus metrics through the `metrics` facade.
//!
//! [`Metrics::install`] puts a `metrics-exporter-prometheus` recorder in place once per process
//! (tests may build several applications in one process: the second build reuses the first
//! recorder). From then on any `metrics::counter!`/`histogram!`/`gauge!` anywhere in the server
//! shows up in `GET /metrics`, which renders the recorder's handle (the exporter runs no HTTP
//! listener of its own). Process figures (`process_resident_memory_bytes`,
//! `process_virtual_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`,
//! `process_threads`, …) come from `metrics-process` and are refreshed on every scrape.
//!
//! Handlers report through the functions here ([`record_http`], [`record_sync`]) so that metric
//! names, labels and units live in one file.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `method`, `route` (the route pattern) and `status`.
pub const HTTP_REQUESTS: &str = "fieldsync_http_requests_total";
/// Requests being handled now: from the parsed request head to the response head (a request
/// whose body is still arriving counts).
pub const HTTP_IN_FLIGHT: &str = "fieldsync_http_requests_in_flight";
/// Time to the response head, by `method`, `route` and `status`.
pub const HTTP_DURATION: &str = "fieldsync_http_request_duration_seconds";
/// Sync requests answered.
pub const SYNCS: &str = "fieldsync_syncs_total";
/// Document changes merged from devices.
pub const CHANGES_MERGED: &str = "fieldsync_changes_merged_total";
/// Documents refused inside an answered sync (each got an error reply).
pub const SYNC_REJECTED: &str = "fieldsync_sync_documents_rejected_total";
/// Wall time of one answered sync.
pub const SYNC_DURATION: &str = "fieldsync_sync_duration_seconds";
/// Database time of one answered sync.
pub const SYNC_DB: &str = "fieldsync_sync_db_seconds";
/// Changes merged by one answered sync.
pub const SYNC_CHANGES: &str = "fieldsync_sync_changes";
/// Documents named by one answered sync.
pub const SYNC_DOCUMENTS: &str = "fieldsync_sync_documents";
/// Document writes redone after a concurrent write (counted by `sync/`).
pub const SYNC_WRITE_RETRIES: &str = "fieldsync_sync_write_retries_total";
/// Blobs stored (a photo or signature seen for the first time).
pub const BLOBS_STORED: &str = "fieldsync_blobs_stored_total";

/// Upper bounds (seconds) of the latency buckets: a 1 ms health check up to a one-minute sync
/// of a device that was offline for days; roughly ×2.5 per step.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Upper bounds of the per-sync count buckets (changes, documents): 0 is its own bucket (a
/// device that only asks for news), then roughly ×2 to a few thousand (a first sync of a
/// dispatcher's region).
const COUNT_BUCKETS: &[f64] = &[
    0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

/// How often histogram samples are folded into buckets between scrapes (bounds their memory).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process-wide recorder; `Err` keeps the reason a first install failed.
static EXPORTER: OnceLock<Result<Exporter, String>> = OnceLock::new();

/// The installed recorder's handle and the process collector.
struct Exporter {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

/// What `AppState.metrics` holds: the installed exporter.
pub struct Metrics {
    exporter: &'static Exporter,
}

impl Metrics {
    /// Installs the recorder on first use in this process (later calls reuse it).
    pub fn install() -> anyhow::Result<Self> {
        let exporter = EXPORTER
            .get_or_init(install_exporter)
            .as_ref()
            .map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
        Ok(Metrics { exporter })
    }

    /// The Prometheus text exposition of every metric, process figures refreshed now.
    pub fn render(&self) -> String {
        self.exporter.process.collect();
        // Publishes descriptions registered since the last upkeep, so `# HELP` lines appear.
        self.exporter.handle.run_upkeep();
        self.exporter.handle.render()
    }
}

/// Bucket layout and matchers; `install_exporter` and the unit tests share it.
fn builder() -> Result<PrometheusBuilder, String> {
    let b = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(SYNC_CHANGES.into()), COUNT_BUCKETS))
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(SYNC_DOCUMENTS.into()), COUNT_BUCKETS)
        });
    b.map_err(|e| e.to_string())
}

fn install_exporter() -> Result<Exporter, String> {
    let recorder = builder()?.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("another metrics recorder is installed: {e}"))?;
    describe();
    let process = metrics_process::Collector::default();
    process.describe();
    let upkeep = handle.clone();
    // A plain thread, not a task: it must outlive whichever runtime built the first app.
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkeep.run_upkeep();
        })
        .map_err(|e| format!("cannot start the upkeep thread: {e}"))?;
    Ok(Exporter { handle, process })
}

/// `# HELP` text for every metric this server records, and the counters that must read 0
/// before anything happened (a scrape of a fresh server shows them).
fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route pattern and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to the response head, by method, route pattern and status."
    );
    describe_counter!(SYNCS, "Sync requests answered.");
    describe_counter!(CHANGES_MERGED, "Document changes merged from devices.");
    describe_counter!(
        SYNC_REJECTED,
        "Documents refused inside answered sync requests (each got an error reply)."
    );
    describe_histogram!(
        SYNC_DURATION,
        Unit::Seconds,
        "Wall time of one answered sync."
    );
    describe_histogram!(
        SYNC_DB,
        Unit::Seconds,
        "Database time of one answered sync (transaction and reads)."
    );
    describe_histogram!(
        SYNC_CHANGES,
        Unit::Count,
        "Changes merged by one answered sync."
    );
    describe_histogram!(
        SYNC_DOCUMENTS,
        Unit::Count,
        "Documents named by one answered sync."
    );
    describe_counter!(
        SYNC_WRITE_RETRIES,
        "Document writes of answered syncs redone after a concurrent write changed the document."
    );
    describe_counter!(
        BLOBS_STORED,
        "Blobs stored (first upload of a photo or signature)."
    );
    describe_histogram!(
        "fieldsync_sync_step_seconds",
        Unit::Seconds,
        "Time of each step of one sync request (decode, queue, triage, load, merge, persist, reply)."
    );
    describe_histogram!(
        "fieldsync_sync_write_seconds",
        Unit::Seconds,
        "Time one sync request's statements spend inside the write transaction."
    );
    describe_histogram!(
        "fieldsync_db_group_jobs",
        Unit::Count,
        "Sync requests committed together by one SQLite group commit."
    );
    describe_counter!(
        "fieldsync_doc_cache_total",
        "Lookups of the hot-document cache, by result (hit; stale: held with other heads; miss: not held)."
    );
    describe_gauge!(
        HTTP_IN_FLIGHT,
        Unit::Count,
        "HTTP requests being handled now, from the parsed head to the response head."
    );
    describe_gauge!(
        "fieldsync_doc_cache_bytes",
        Unit::Bytes,
        "Estimated memory of the documents in the hot-document cache."
    );
    describe_auth();
    for name in [SYNCS, CHANGES_MERGED, SYNC_REJECTED, BLOBS_STORED] {
        counter!(name).absolute(0);
    }
}

/// `# HELP` text for the counters `auth/` records (its code owns when they count; the text
/// lives here so that every description is in one place).
fn describe_auth() {
    describe_counter!(
        "fieldsync_login_failures_total",
        "Failed logins (wrong name or password)."
    );
    describe_counter!(
        "fieldsync_login_throttled_total",
        "Logins refused by the throttle before any password check, by scope (account or address)."
    );
    describe_counter!(
        "fieldsync_auth_refused_total",
        "Authenticated requests refused, by reason (e.g. account_disabled)."
    );
    describe_counter!(
        "fieldsync_password_hashes_total",
        "argon2 hashes and verifications run, by op."
    );
    describe_counter!(
        "fieldsync_password_hash_queued_total",
        "Password hashes that waited for a free hashing slot."
    );
    describe_counter!(
        "fieldsync_password_hash_refused_total",
        "Password hashes refused as busy (queue full or wait too long), by reason."
    );
    describe_counter!(
        "fieldsync_refresh_reuse_total",
        "Refresh tokens presented again after rotation: the token family was revoked."
    );
    describe_counter!(
        "fieldsync_refresh_grace_total",
        "Refresh retries answered within the grace window (a lost reply, not a theft)."
    );
}

/// Methods outside this list share the label `other`: actix accepts any token as a method, and
/// a label per made-up method would let clients grow the series without bound.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// One answered HTTP request. `route` is the matched route pattern (`/v1/workorders/{id}`),
/// never the raw path, so the series stay bounded; `None` (no route matched) is `unmatched`.
pub fn record_http(method: &str, route: Option<&str>, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method_label(method).to_owned()),
        ("route", route.unwrap_or("unmatched").to_owned()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// What one answered sync request cost and carried. The sync handler fills one in after the
/// commit and hands it to [`record_sync`]; a refused request (4xx, 5xx) is not a sync here
/// (the HTTP series count it under `route="/v1/sync"`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SyncObservation {
    /// From the handler's start to the encoded response: decoding, scope checks, merges,
    /// projections, the commit and encoding.
    pub total: Duration,
    /// The part of `total` spent waiting on the database: the transaction (locks, loads,
    /// writes, commit) and reads outside it.
    pub db: Duration,
    /// Automerge changes from the device that the server merged (changes it already had do
    /// not count, so a replayed request adds 0).
    pub changes: u64,
    /// Documents the request named (uploads and documents the device only asked about).
    pub docs: u64,
    /// Of `docs`, those refused with an error reply (out of scope, forged, undecodable).
    pub rejected: u64,
}

/// Records one answered sync: counters of syncs, changes and refusals, and histograms of its
/// latency, database time, changes and documents.
pub fn record_sync(o: &SyncObservation) {
    counter!(SYNCS).increment(1);
    counter!(CHANGES_MERGED).increment(o.changes);
    counter!(SYNC_REJECTED).increment(o.rejected);
    histogram!(SYNC_DURATION).record(o.total.as_secs_f64());
    histogram!(SYNC_DB).record(o.db.as_secs_f64());
    histogram!(SYNC_CHANGES).record(o.changes as f64);
    histogram!(SYNC_DOCUMENTS).record(o.docs as f64);
}

/// One blob stored for the first time.
pub fn blob_stored() {
    counter!(BLOBS_STORED).increment(1);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Runs `f` against a recorder of our layout that is local to this thread, and renders it.
    fn render_after(f: impl FnOnce()) -> String {
        let recorder = builder().unwrap().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            f();
        });
        handle.run_upkeep();
        handle.render()
    }

    #[test]
    fn a_sync_lands_in_the_buckets_its_figures_belong_to() {
        let text = render_after(|| {
            record_sync(&SyncObservation {
                total: Duration::from_millis(1500),
                db: Duration::from_millis(40),
                changes: 3,
                docs: 12,
                rejected: 1,
            })
        });
        for line in [
            "fieldsync_syncs_total 1\n",
            "fieldsync_changes_merged_total 3\n",
            "fieldsync_sync_documents_rejected_total 1\n",
            "fieldsync_sync_duration_seconds_bucket{le=\"1\"} 0\n",
            "fieldsync_sync_duration_seconds_bucket{le=\"2.5\"} 1\n",
            "fieldsync_sync_db_seconds_bucket{le=\"0.025\"} 0\n",
            "fieldsync_sync_db_seconds_bucket{le=\"0.05\"} 1\n",
            "fieldsync_sync_changes_bucket{le=\"2\"} 0\n",
            "fieldsync_sync_changes_bucket{le=\"5\"} 1\n",
            "fieldsync_sync_documents_bucket{le=\"10\"} 0\n",
            "fieldsync_sync_documents_bucket{le=\"20\"} 1\n",
            "# HELP fieldsync_sync_db_seconds Database time of one answered sync",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
    }

    #[test]
    fn http_series_carry_the_route_pattern_and_bounded_methods() {
        let text = render_after(|| {
            record_http(
                "GET",
                Some("/v1/workorders/{id}"),
                200,
                Duration::from_millis(3),
            );
            record_http("BREW", None, 404, Duration::from_micros(200));
        });
        assert!(
            text.contains(
                "fieldsync_http_requests_total{method=\"GET\",route=\"/v1/workorders/{id}\",status=\"200\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "fieldsync_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",status=\"404\",le=\"0.001\"} 1\n"
            ),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
    }

    #[test]
    fn a_fresh_server_shows_its_counters_at_zero() {
        let text = render_after(|| {});
        describe_auth();
        for name in [SYNCS, CHANGES_MERGED, SYNC_REJECTED, BLOBS_STORED] {
            assert!(text.contains(&format!("\n{name} 0\n")), "{name}: {text}");
        }
    }
}
