//! Log format: `--log-format json` gives one JSON object per stderr line; text stays the
//! default; a bad value stops the server before it starts, in one line.

use std::process::Command;

use serde_json::Value;
use tests::{Backend, TestServer};

use crate::BIN;

/// Every non-empty line of `logs`, parsed as JSON (a line that is not JSON fails the test).
fn json_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{logs}"))
        })
        .collect()
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_level_and_message() {
    let s = TestServer::start_keeping_logs(
        BIN,
        &Backend::Sqlite,
        &[("RUST_LOG", "info")],
        &["--log-format", "json"],
    )
    .await;
    // A request that fails at the handler, so that more than the start-up is logged.
    let r = s.http.get(s.url("/no/such/thing")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let logs = s.logs();
    let lines = json_lines(&logs);
    assert!(!lines.is_empty(), "no log lines at RUST_LOG=info");
    for line in &lines {
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                .contains(&line["level"].as_str().unwrap_or("")),
            "a level on every line: {line}"
        );
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["target"].is_string(), "{line}");
    }
    let listening = lines
        .iter()
        .find(|l| l["message"] == "fieldsync server listening")
        .unwrap_or_else(|| panic!("the start-up line, as a message: {logs}"));
    assert_eq!(listening["level"], "INFO");
    // The event's fields sit beside the message, not in a nested object.
    assert!(
        listening["addr"]
            .as_str()
            .is_some_and(|a| s.base.ends_with(a)),
        "{listening}"
    );
}

#[tokio::test]
async fn text_logs_stay_the_default() {
    let s =
        TestServer::start_keeping_logs(BIN, &Backend::Sqlite, &[("RUST_LOG", "info")], &[]).await;
    let logs = s.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("fieldsync server listening"))
        .unwrap_or_else(|| panic!("the start-up line: {logs}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
}

#[test]
fn an_unknown_log_format_exits_2_with_one_line_from_flag_or_environment() {
    // `--print-policy`: were the value accepted, the server would print and exit, not serve.
    let by_flag = Command::new(BIN)
        .args(["--print-policy", "--log-format", "xml"])
        .output()
        .unwrap();
    let by_env = Command::new(BIN)
        .arg("--print-policy")
        .env("FIELDSYNC_LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    for (out, value) in [(by_flag, "xml"), (by_env, "yaml")] {
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("field-server: log format must be text or json, not \"{value}\"\n")
        );
    }
}
