//! Decides at build time whether the PostgreSQL variants of the tests run, so that a run
//! without a database reports them as *ignored* (with the reason) instead of as passed.
//!
//! `fieldsync_skip_pg` is set when `FIELDSYNC_TEST_POSTGRES_URL` is unset or empty, except
//! under `CI=true`: there the PostgreSQL variants stay in and fail, because CI must run them.
//! Cargo re-runs this script when either variable changes, so `cargo test` always matches the
//! environment it is started in.

fn main() {
    println!("cargo::rerun-if-env-changed=FIELDSYNC_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(fieldsync_skip_pg)");
    let has_url = std::env::var("FIELDSYNC_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !has_url && !ci {
        println!("cargo::rustc-cfg=fieldsync_skip_pg");
    }
}
