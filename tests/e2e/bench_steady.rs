//! `field-cli bench --steady` against the real server: a short run with a handful of devices,
//! each syncing on its own schedule, with the server's CPU and memory read from its process.

use tests::{backends, TestServer, ADMIN_PASSWORD};

use crate::BIN;

#[tokio::test]
async fn a_short_steady_run_syncs_every_device_on_its_schedule_without_errors() {
    for backend in backends() {
        let s = TestServer::start(BIN, &backend).await;
        let r = field_cli::bench::run_steady(&field_cli::bench::SteadyOptions {
            server: s.url(""),
            admin_user: "admin".into(),
            admin_password: ADMIN_PASSWORD.into(),
            devices: 5,
            jobs: 2,
            interval: std::time::Duration::from_millis(500),
            duration: std::time::Duration::from_secs(2),
            jitter: 0.1,
            idle_jobs: 3,
            seed: 7,
            server_pid: s.pid(),
            progress: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", backend.name()));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["errors"], 0, "{v}");
        // 2 s at one sync per 0.5 s: about 4 syncs per device (the first at a random offset).
        let syncs = v["syncs"].as_u64().unwrap();
        assert!((5 * 3..=5 * 5).contains(&syncs), "{v}");
        // Each sync follows 1 to 3 edits, and the devices sent every one of them.
        let changes = v["changes"].as_u64().unwrap();
        assert!((syncs..=3 * syncs).contains(&changes), "{v}");
        assert_eq!(v["changes_sent"], v["changes"], "{v}");
        assert_eq!(v["server_holds_every_change"], true, "{v}");
        assert_eq!(v["round_trips_per_sync"], 1.0, "{v}");
        assert!(v["sync_latency_ms"]["p99"].as_f64().unwrap() > 0.0, "{v}");
        assert!(v["bytes_up_per_sync"].as_f64().unwrap() > 0.0, "{v}");
        // The server's process was read: CPU time over the phase and its memory.
        assert!(v["server_cpu_ms"].as_f64().unwrap() > 0.0, "{v}");
        assert!(
            v["server_peak_rss_mib"].as_f64().unwrap() >= v["server_rss_mib"].as_f64().unwrap(),
            "{v}"
        );
        // The idle device: its sync is measured, one round trip.
        assert_eq!(v["idle_sync"]["jobs"], 3, "{v}");
        assert_eq!(v["idle_sync"]["round_trips"], 1, "{v}");
    }
}
