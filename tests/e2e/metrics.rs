//! `GET /metrics` after real traffic: per-route latency histograms labelled by route pattern
//! and status, sync figures, and the process's own gauges.

use std::collections::BTreeMap;

use sync_core::workorder::Role;
use tests::TestServer;

use crate::BIN;

/// One sample line of the Prometheus text format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the sample lines (comments skipped); a line that does not parse fails the test.
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no value: {line:?}"));
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value: {line:?}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_owned(), BTreeMap::new()),
                Some((name, rest)) => (name.to_owned(), parse_labels(rest, line)),
            };
            Sample {
                name,
                labels,
                value,
            }
        })
        .collect()
}

/// `k="v",k2="v2"}`: values may hold `{`, `}` and `,` (route patterns), and `\"` escapes.
fn parse_labels(mut rest: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !rest.starts_with('}') {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad labels: {line:?}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label: {line:?}"),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

/// Buckets of one histogram series, in `le` order: cumulative counts ending at `+Inf`.
fn buckets(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
    let bucket = format!("{name}_bucket");
    let mut out: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| {
            s.name == bucket
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| {
            let le = &s.labels["le"];
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, s.value)
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// A histogram series is whole: cumulative buckets from 1 ms up to `+Inf`, which equals
/// `_count`; `_sum` agrees with the count (positive when anything was observed).
fn assert_histogram(samples: &[Sample], name: &str, labels: &[(&str, &str)], at_least: f64) {
    let b = buckets(samples, name, labels);
    assert!(b.len() >= 10, "{name} {labels:?}: {b:?}");
    assert_eq!(b[0].0, 0.001, "{name}: the first bucket is 1 ms");
    assert!(b.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative: {b:?}");
    let count = value(samples, &format!("{name}_count"), labels);
    let sum = value(samples, &format!("{name}_sum"), labels);
    assert_eq!(
        b.last().unwrap(),
        &(f64::INFINITY, count),
        "{name} {labels:?}"
    );
    assert!(count >= at_least, "{name} {labels:?}: {count} < {at_least}");
    assert!(
        sum > 0.0 && sum < 60.0 * count,
        "{name} {labels:?}: sum {sum}"
    );
}

tests::on_each_backend! {
    async fn a_scrape_shows_route_latencies_syncs_and_the_process(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[]).await;
        s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
        let agent = s.user_token("agent-1").await;
        s.create_order(&agent, "WO-1", "north").await;
        let mut pc = s.device("disp-n", Role::Dispatcher, "pc-n").await;
        pc.sync(&s).await.unwrap();
        pc.act("WO-1", |wo, me| wo.edit_notes(me, "gate code 4711", 1_000).unwrap());
        pc.sync(&s).await.unwrap();
        let r = s.get(&admin, "/v1/workorders/WO-1").await;
        assert_eq!(r.status(), 200);
        let r = s.http.get(s.url("/no/such/thing/42")).send().await.unwrap();
        assert_eq!(r.status(), 404);

        let r = s.http.get(s.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = r.text().await.unwrap();
        let m = parse(&text);

        // HTTP: labelled by route pattern and status, never by the raw path.
        let login = [("method", "POST"), ("route", "/v1/auth/login"), ("status", "200")];
        assert_histogram(&m, "fieldsync_http_request_duration_seconds", &login, 3.0);
        assert!(value(&m, "fieldsync_http_requests_total", &login) >= 3.0);
        let sync = [("method", "POST"), ("route", "/v1/sync"), ("status", "200")];
        assert_histogram(&m, "fieldsync_http_request_duration_seconds", &sync, 2.0);
        let read = [("method", "GET"), ("route", "/v1/workorders/{id}"), ("status", "200")];
        assert_eq!(value(&m, "fieldsync_http_requests_total", &read), 1.0);
        let missing = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
        assert_eq!(value(&m, "fieldsync_http_requests_total", &missing), 1.0);
        assert_histogram(&m, "fieldsync_http_request_duration_seconds", &missing, 1.0);
        assert!(!text.contains("WO-1") && !text.contains("/no/such"), "raw paths leaked:\n{text}");
        assert!(text.contains("# TYPE fieldsync_http_request_duration_seconds histogram\n"));
        assert!(text.contains("# HELP fieldsync_http_requests_total "), "{text}");
        // Every earlier request has finished: only this scrape is in flight.
        assert_eq!(value(&m, "fieldsync_http_requests_in_flight", &[]), 1.0);

        // Sync: counters, latency and database time, changes and documents per sync.
        let syncs = value(&m, "fieldsync_syncs_total", &[]);
        assert!(syncs >= 2.0, "{syncs}");
        assert!(value(&m, "fieldsync_changes_merged_total", &[]) >= 1.0);
        assert_eq!(value(&m, "fieldsync_sync_documents_rejected_total", &[]), 0.0);
        assert_histogram(&m, "fieldsync_sync_duration_seconds", &[], syncs);
        assert_histogram(&m, "fieldsync_sync_db_seconds", &[], syncs);
        assert!(
            value(&m, "fieldsync_sync_db_seconds_sum", &[])
                <= value(&m, "fieldsync_sync_duration_seconds_sum", &[]),
            "database time is part of the sync's time"
        );
        for name in ["fieldsync_sync_changes", "fieldsync_sync_documents"] {
            let b = buckets(&m, name, &[]);
            assert_eq!(b[0].0, 0.0, "{name}: 0 is its own bucket");
            assert_eq!(b.last().unwrap(), &(f64::INFINITY, syncs), "{name}");
            assert!(value(&m, &format!("{name}_sum"), &[]) >= 1.0, "{name}");
        }

        // The process, refreshed by this scrape.
        let rss = value(&m, "process_resident_memory_bytes", &[]);
        assert!((1e6..4e9).contains(&rss), "resident memory {rss}");
        assert!(value(&m, "process_virtual_memory_bytes", &[]) >= rss);
        let fds = value(&m, "process_open_fds", &[]);
        assert!(fds >= 3.0 && fds <= value(&m, "process_max_fds", &[]), "open fds {fds}");
        assert!(value(&m, "process_threads", &[]) >= 2.0);
        assert!(value(&m, "process_cpu_seconds_total", &[]) > 0.0);
    }
}
