//! `field-server --demo`: an empty database gets a working day (every status on the board,
//! region scoping, devices fresh and stale with one clock flagged, breaches, escalations, and
//! accounts that log in with the printed password); a database with data is refused in one
//! line and left as it was.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::{on_each_backend, TestServer, ADMIN_PASSWORD};

use crate::BIN;

const STATUSES: [&str; 15] = [
    "pending_dispatch",
    "assigned",
    "accepted",
    "scheduled",
    "en_route",
    "on_site",
    "diagnosed",
    "quoted",
    "consent_given",
    "in_progress",
    "signed",
    "completed",
    "escalated",
    "closed",
    "cancelled",
];

async fn json(s: &TestServer, token: &str, path: &str) -> Value {
    let r = s.get(token, path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

/// The printed password, and each printed account as (id, role, regions).
fn printed(stdout: &[String]) -> (String, Vec<(String, String, String)>) {
    let pw = stdout
        .iter()
        .find_map(|l| l.strip_prefix("demo password "))
        .unwrap_or_else(|| panic!("no password line: {stdout:#?}"))
        .trim()
        .to_owned();
    let accounts = stdout
        .iter()
        .filter_map(|l| l.strip_prefix("demo account "))
        .map(|l| {
            let mut words = l.split_whitespace();
            let mut next = || words.next().unwrap_or_default().to_owned();
            (next(), next(), next())
        })
        .collect();
    (pw, accounts)
}

/// What the admin sees of the data, to compare before and after a refused start.
async fn snapshot(s: &TestServer, admin: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/v1/workorders",
        "/v1/admin/users",
        "/v1/devices",
        "/v1/regions",
        "/v1/breaches",
        "/v1/escalations?open=false",
    ] {
        out.push(json(s, admin, path).await);
    }
    out
}

/// Runs `field-server` on `database_url` with `FIELDSYNC_DEMO=1`, expecting it to stop by
/// itself; its exit code and stderr.
fn start_again_with_demo(database_url: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("fieldsync-demo-{}", uuid::Uuid::new_v4()));
    let stderr = dir.with_extension("stderr");
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--database-url", database_url])
        .arg("--blob-dir")
        .arg(dir.join("blobs"))
        .env("FIELDSYNC_DEMO", "1")
        .env("FIELDSYNC_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("field-server --demo kept running on a database with data");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&stderr).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&stderr);
    (status.code(), text)
}

on_each_backend! {
    async fn demo_fills_an_empty_database_and_refuses_one_with_data(backend) {
        let s = TestServer::start_keeping_logs(BIN, &backend, &[], &["--demo"]).await;
        let (pw, accounts) = printed(&s.stdout());
        assert!(accounts.len() >= 10, "{accounts:?}");
        let admin = s.admin_token().await;

        // Every status on the admin's board (closed and cancelled too, with `all`).
        let board = json(&s, &admin, "/v1/board?all=true").await;
        let regions = board["regions"].as_object().unwrap();
        assert!(regions.len() >= 2, "{board}");
        let statuses: BTreeSet<&str> = regions
            .values()
            .flat_map(|by_status| by_status.as_object().unwrap().keys())
            .map(String::as_str)
            .collect();
        for status in STATUSES {
            assert!(statuses.contains(status), "no {status} on the board: {statuses:?}");
        }
        let conflicts: i64 = regions
            .values()
            .flat_map(|by_status| by_status.as_object().unwrap().values())
            .flat_map(|rows| rows.as_array().unwrap())
            .map(|row| row["open_conflicts"].as_i64().unwrap())
            .sum();
        assert!(conflicts >= 1, "a conflict to look at");

        // A dispatcher of one region logs in with the printed password and sees that region.
        let (dispatcher, _, region) = accounts
            .iter()
            .find(|(_, role, regions)| role == "dispatcher" && !regions.contains(','))
            .expect("a dispatcher of one region");
        let token = s.token(dispatcher, &pw, None).await;
        let theirs = json(&s, &token, "/v1/board").await;
        let seen: Vec<&String> = theirs["regions"].as_object().unwrap().keys().collect();
        assert_eq!(seen, vec![region], "{dispatcher} sees only {region}");
        let technician = accounts.iter().find(|(_, role, _)| role == "technician").unwrap();
        s.token(&technician.0, &pw, Some("a-new-phone")).await;

        // Devices: one clock flagged, last contacts from minutes to a day ago.
        let devices = json(&s, &admin, "/v1/devices").await;
        let devices = devices.as_array().unwrap();
        assert!(devices.len() >= 4, "{devices:?}");
        assert!(devices.iter().any(|d| !d["flagged_at"].is_null()), "{devices:?}");
        let now = board["now"].as_i64().unwrap();
        let contacts: Vec<i64> = devices
            .iter()
            .map(|d| now - d["last_contact_at"].as_i64().unwrap())
            .collect();
        assert!(contacts.iter().any(|&ago| ago < 15 * 60_000), "minutes ago: {contacts:?}");
        assert!(contacts.iter().any(|&ago| ago > 20 * 3_600_000), "a day ago: {contacts:?}");

        let breaches = json(&s, &admin, "/v1/breaches").await;
        assert!(!breaches.as_array().unwrap().is_empty());
        let escalations = json(&s, &admin, "/v1/escalations").await;
        let kinds: BTreeSet<&str> = escalations
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains("low_score") && kinds.contains("urgent_unassigned"), "{kinds:?}");

        // Started again on the same database (with the environment variable this time): one
        // line on stderr, a non-zero exit, and nothing changed.
        let before = snapshot(&s, &admin).await;
        let (code, stderr) = start_again_with_demo(&s.database_url);
        assert_ne!(code, Some(0), "{stderr}");
        assert!(code.is_some(), "ended by a signal: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].starts_with("field-server: --demo refuses to touch a database that already holds data (")
                && lines[0].ends_with("); use a new --database-url"),
            "{stderr}"
        );
        assert_eq!(snapshot(&s, &admin).await, before);
    }
}
