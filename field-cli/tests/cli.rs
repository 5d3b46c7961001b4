//! The `field-cli` program without a server: offline commands, and every error as one line
//! with a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("field-cli-test-{}", uuid_like()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn run(device: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_field-cli"))
        .arg("--device")
        .arg(device)
        .args(args)
        .env_remove("FIELDSYNC_PASSWORD")
        .output()
        .unwrap()
}

/// Fails with exit `code` and exactly one line on stderr that contains `needle`.
fn fails(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line, got: {err:?}");
    assert!(err.starts_with("field-cli: "), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

#[test]
fn a_fresh_device_lists_no_jobs_and_says_how_to_get_them() {
    let d = dir();
    let out = run(&d, &["jobs"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("field-cli sync"));
    let out = run(&d, &["jobs", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn every_error_is_one_line_with_a_non_zero_exit() {
    let d = dir();
    fails(
        &run(&d, &["show", "WO-404"]),
        1,
        "no job WO-404 on this device",
    );
    fails(&run(&d, &["accept", "WO-404"]), 1, "not logged in");
    fails(&run(&d, &["sync"]), 1, "not logged in");
    fails(&run(&d, &["board"]), 1, "not logged in");
    fails(&run(&d, &["accept"]), 2, "<JOB>");
    fails(&run(&d, &["frobnicate"]), 2, "unrecognized subcommand");
    fails(&run(&d, &["test", "WO-1"]), 2, "--passed");
    fails(
        &run(
            &d,
            &[
                "login",
                "--server",
                "http://127.0.0.1:9",
                "--user",
                "tech-a",
                "--password",
                "x",
            ],
        ),
        1,
        "cannot reach the server",
    );
    fails(
        &run(
            &d,
            &[
                "login",
                "--server",
                "ftp://example",
                "--user",
                "a",
                "--password",
                "x",
            ],
        ),
        1,
        "not an http",
    );
}

#[test]
fn help_has_examples_for_every_command() {
    let d = dir();
    for cmd in [
        "login",
        "jobs",
        "show",
        "decline",
        "appointment",
        "diagnose",
        "quote",
        "note",
        "test",
        "sign",
        "complete",
        "assign",
        "kpi",
        "followup",
        "bench",
    ] {
        let out = run(&d, &[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "{cmd} --help has no example:\n{text}"
        );
    }
    for cmd in [
        ["part", "add"],
        ["photo", "add"],
        ["user", "add"],
        ["order", "create"],
        ["dispatch", "auto"],
        ["scenario", "run"],
    ] {
        let out = run(&d, &[cmd[0], cmd[1], "--help"]);
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Example"),
            "{cmd:?}"
        );
    }
}
