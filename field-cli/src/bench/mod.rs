//! `field-cli bench`: the load generator, in two modes.
//!
//! | module | concern |
//! | --- | --- |
//! | `burst` | every device edits offline, then all sync at once (the default mode) |
//! | `steady` | `--steady`: devices sync on their own schedules, spread over an interval |
//! | `seed` | `--seed-orders N`: N more stored work orders through the intake API |
//! | `schedule` | when a steady device syncs and what it edits first (pure) |
//! | `memdevice` | an in-memory device for the steady mode (the real protocol client) |
//! | `setup` | users, regions and work orders through the API |
//! | `admin`, `http` | the admin's session; HTTP that waits out `503` + `Retry-After` |
//! | `procstat` | server and load-generator CPU time and memory from `/proc` |
//! | `report`, `progress` | percentiles; progress bars |

mod admin;
mod args;
mod burst;
mod http;
mod memdevice;
mod procstat;
mod progress;
mod report;
mod schedule;
mod seed;
mod setup;
mod steady;

pub use args::BenchArgs;
pub use burst::{run, run_observed, BenchOptions, BenchResult};
pub use report::LatencyMs;
pub use seed::{SeedOptions, SeedResult};
pub use steady::{IdleSync, SteadyOptions, SteadyResult};

/// The examples shown after `field-cli bench --help`.
pub const fn args_after_help() -> &'static str {
    args::AFTER_HELP
}

/// Runs `field-cli bench` as its arguments ask and returns the JSON line to print.
pub async fn run_cli(
    args: BenchArgs,
    admin_password: String,
    progress: bool,
) -> anyhow::Result<String> {
    if let Some(orders) = args.seed_orders {
        let result = seed::run(&SeedOptions {
            server: args.server,
            admin_user: args.admin_user,
            admin_password,
            orders,
            concurrency: args.seed_concurrency,
            server_pid: args.server_pid,
            progress,
        })
        .await?;
        return Ok(serde_json::to_string(&result)?);
    }
    if args.steady {
        let result = steady::run(&SteadyOptions {
            server: args.server,
            admin_user: args.admin_user,
            admin_password,
            devices: args.devices,
            jobs: args.jobs,
            interval: args.interval,
            duration: args.duration,
            jitter: args.jitter,
            idle_jobs: args.idle_jobs,
            seed: args.seed,
            server_pid: args.server_pid,
            progress,
        })
        .await?;
        Ok(serde_json::to_string(&result)?)
    } else {
        let result = run_observed(
            &BenchOptions {
                server: args.server,
                admin_user: args.admin_user,
                admin_password,
                devices: args.devices,
                jobs: args.jobs,
                edits: args.edits,
                progress,
            },
            args.server_pid,
        )
        .await?;
        Ok(serde_json::to_string(&result)?)
    }
}

/// Runs the steady mode (for tests and programs; the CLI goes through [`run_cli`]).
pub async fn run_steady(opts: &SteadyOptions) -> anyhow::Result<SteadyResult> {
    steady::run(opts).await
}
