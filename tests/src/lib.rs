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

/// The PostgreSQL backend of a test made by [`on_each_backend!`] or [`on_postgres!`].
///
/// Those tests are marked ignored at build time when `FIELDSYNC_TEST_POSTGRES_URL` is unset
/// (see `tests/build.rs`), so this runs without it only under `CI=true` (where a skipped
/// PostgreSQL run is a failure), with `--ignored`, or from a test binary built in another
/// environment: each of those fails here, saying why.
pub fn postgres() -> Backend {
    match std::env::var("FIELDSYNC_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Backend::Postgres(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("FIELDSYNC_TEST_POSTGRES_URL is not set: under CI=true the PostgreSQL suite must run")
        }
        _ => panic!(
            "FIELDSYNC_TEST_POSTGRES_URL is not set: set it (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests"
        ),
    }
}

/// The backends to run a test against in a loop: SQLite always; PostgreSQL when
/// `FIELDSYNC_TEST_POSTGRES_URL` is set. Prefer [`on_each_backend!`], which makes one test per
/// backend so that a skipped PostgreSQL run shows as ignored. Here a skip is a line on the
/// terminal's stderr (written past the test harness's capture), and under `CI=true` a failure.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("FIELDSYNC_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => out.push(Backend::Postgres(url)),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("FIELDSYNC_TEST_POSTGRES_URL is not set: under CI=true the PostgreSQL suite must run");
            }
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: the PostgreSQL run (set FIELDSYNC_TEST_POSTGRES_URL to run it)"
            );
        }
    }
    out
}

/// One test per backend: `on_each_backend! { async fn name(backend) { … } }` makes the module
/// `name` with the tests `name::sqlite` and `name::postgres`, each running the body with
/// `backend` bound to its [`Backend`]. Without `FIELDSYNC_TEST_POSTGRES_URL` the PostgreSQL
/// test is reported as ignored, with the reason. The body sees the enclosing module's items.
#[macro_export]
macro_rules! on_each_backend {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($backend: $crate::Backend) $body

            #[::tokio::test]
            async fn sqlite() {
                run($crate::Backend::Sqlite).await
            }

            $crate::on_postgres! {
                async fn postgres(backend) {
                    run(backend).await
                }
            }
        }
    };
}

/// A test that needs PostgreSQL (several instances on one database):
/// `on_postgres! { async fn name(backend) { … } }`; ignored, with the reason, without
/// `FIELDSYNC_TEST_POSTGRES_URL`.
#[macro_export]
macro_rules! on_postgres {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        $crate::__postgres_test! {
            $(#[$meta])*
            async fn $name() {
                let $backend = $crate::postgres();
                $body
            }
        }
    };
}

#[cfg(fieldsync_skip_pg)]
#[doc(hidden)]
#[macro_export]
macro_rules! __postgres_test {
    ($item:item) => {
        #[::tokio::test]
        #[ignore = "needs PostgreSQL: set FIELDSYNC_TEST_POSTGRES_URL"]
        $item
    };
}

#[cfg(not(fieldsync_skip_pg))]
#[doc(hidden)]
#[macro_export]
macro_rules! __postgres_test {
    ($item:item) => {
        #[::tokio::test]
        $item
    };
}
