//! End-to-end tests: the real `field-server` binary, a real HTTP client, simulated devices.
//! Every test runs on SQLite and, when `FIELDSYNC_TEST_POSTGRES_URL` is set, on PostgreSQL:
//! `tests::on_each_backend!` makes `<test>::sqlite` and `<test>::postgres`, the latter reported
//! as ignored without the variable (under `CI=true` it fails instead).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod auth;
mod bench_steady;
mod blobs;
mod blobs_admin;
mod blobs_resume;
mod blobs_s3;
mod blobs_shared;
mod cli;
mod clock;
mod console;
mod demo;
mod dispatch;
mod durability;
mod errors;
mod events;
mod kpi_trends;
mod logs;
mod metrics;
mod openapi;
mod scenarios;
mod stock;
mod stock_cli;
mod sync;
mod travel;

pub const BIN: &str = env!("CARGO_BIN_EXE_field-server");
