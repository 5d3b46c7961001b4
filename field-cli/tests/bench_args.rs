//! `field-cli bench`'s flags without a server: bad values are one-line errors with exit 2
//! (usage) or 1 (a process that cannot be read), and `--help` shows the steady mode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("field-cli-bench-args-{}", std::process::id()));
    Command::new(env!("CARGO_BIN_EXE_field-cli"))
        .arg("--device")
        .arg(&dir)
        .arg("bench")
        .args(args)
        .env_remove("FIELDSYNC_ADMIN_PASSWORD")
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

const SERVER: &[&str] = &["--server", "http://127.0.0.1:1", "--admin-password", "x"];

fn with(extra: &[&str]) -> Vec<String> {
    SERVER
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect()
}

fn run(extra: &[&str]) -> Output {
    let args = with(extra);
    bench(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn a_bad_interval_or_duration_is_a_one_line_usage_error() {
    fails(
        &run(&["--steady", "--interval", "soon"]),
        2,
        "duration like 30s",
    );
    fails(&run(&["--steady", "--interval", "30"]), 2, "--interval");
    fails(
        &run(&["--steady", "--duration", "0s"]),
        2,
        "longer than zero",
    );
    fails(&run(&["--steady", "--jitter", "1.5"]), 2, "below 1");
    fails(&run(&["--steady", "--idle-jobs", "many"]), 2, "--idle-jobs");
}

#[test]
fn steady_flags_without_steady_are_a_usage_error() {
    fails(&run(&["--interval", "30s"]), 2, "--steady");
}

#[test]
fn a_server_pid_that_is_not_running_is_a_one_line_error() {
    // pid_max is at most 2^22 on Linux: this process never exists.
    fails(
        &run(&["--server-pid", "4294967295"]),
        1,
        "--server-pid 4294967295",
    );
    fails(
        &run(&["--steady", "--server-pid", "4294967295"]),
        1,
        "--server-pid 4294967295",
    );
    fails(&run(&["--server-pid", "me"]), 2, "--server-pid");
}

#[test]
fn help_shows_the_steady_mode_with_an_example() {
    let out = bench(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--steady",
        "--interval",
        "--duration",
        "--server-pid",
        "--idle-jobs",
        "--steady --devices 1000",
    ] {
        assert!(help.contains(needle), "{needle} missing from: {help}");
    }
}
