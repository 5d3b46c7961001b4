//! End-to-end test harness: starts the real `field-server` binary on a random port with a
//! fresh database (SQLite file or a new PostgreSQL database), and simulates devices that
//! speak the real sync protocol over HTTP.
//!
//! The tests themselves are in `tests/e2e/`, compiled as the `e2e` test of the `server`
//! package (so Cargo builds the binary and hands its path over in `CARGO_BIN_EXE_field-server`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod device;
mod server;

pub use device::Device;
pub use server::{Backend, TestServer, ADMIN_PASSWORD};

/// The backends to run a test against: SQLite always; PostgreSQL when
/// `FIELDSYNC_TEST_POSTGRES_URL` is set. Without it the PostgreSQL run is reported as skipped,
/// and under `CI=true` a skip is a failure.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("FIELDSYNC_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => out.push(Backend::Postgres(url)),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("FIELDSYNC_TEST_POSTGRES_URL is not set: under CI=true the PostgreSQL suite must run");
            }
            eprintln!("skipped: the PostgreSQL run (set FIELDSYNC_TEST_POSTGRES_URL to run it)");
        }
    }
    out
}
