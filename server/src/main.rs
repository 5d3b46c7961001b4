//! `field-server`: run it with no arguments for a working server on 127.0.0.1:8080 with
//! `./fieldsync.db` and `./blobs/`.

use clap::Parser;
use server::app::Application;
use server::config::{Cli, Settings};

/// mimalloc returns freed pages to the system (a burst of argon2 hashes or of large sync
/// bodies does not leave the process at its peak size, as glibc's per-thread arenas do), with
/// the settings of [`ALLOCATOR_SETTINGS`].
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc options (its documented `MIMALLOC_*` environment variables) the server runs with
/// unless the environment names them already. mimalloc reads them once, when the process
/// loads, so `main` starts the server again with them (see [`with_allocator_settings`]).
///
/// Measured with the 200 devices × 10 jobs burst on SQLite (README.md, "Server memory"): peak
/// RSS 146–174 MiB with mimalloc's defaults, 88 MiB with these, at the same CPU per change.
/// - `PURGE_DELAY=0`: freed pages go back to the system at once, not after 1 s. In a second
///   a login burst frees and allocates dozens of 19 MiB argon2 blocks; with the delay, freed
///   blocks still count while new ones are placed elsewhere (+40–90 MiB).
/// - `ALLOW_THP=0`: no transparent huge pages. mimalloc asks for them on its arena, so every
///   touched 2 MiB range is resident whole (+40 MiB through the burst).
pub const ALLOCATOR_SETTINGS: &[(&str, &str)] =
    &[("MIMALLOC_PURGE_DELAY", "0"), ("MIMALLOC_ALLOW_THP", "0")];

/// The settings of [`ALLOCATOR_SETTINGS`] that `env` does not name yet.
fn missing_settings(env: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    ALLOCATOR_SETTINGS
        .iter()
        .copied()
        .filter(|(name, _)| !env(name))
        .collect()
}

/// Replaces this process with itself, same arguments, plus the allocator settings the
/// environment lacks (the second start finds them all and goes on). If that fails the server
/// runs with mimalloc's defaults and says so.
fn with_allocator_settings() {
    use std::os::unix::process::CommandExt;
    let missing = missing_settings(|name| std::env::var_os(name).is_some());
    if missing.is_empty() {
        return;
    }
    let mut args = std::env::args_os();
    let arg0 = args.next();
    let err = match std::env::current_exe() {
        Ok(exe) => {
            let mut cmd = std::process::Command::new(exe);
            if let Some(arg0) = arg0 {
                cmd.arg0(arg0);
            }
            cmd.args(args).envs(missing).exec()
        }
        Err(e) => e,
    };
    eprintln!("field-server: running with mimalloc's default settings (restarting with {ALLOCATOR_SETTINGS:?} failed: {err})");
}

fn main() {
    with_allocator_settings();
    run();
}

#[tokio::main]
async fn run() {
    let cli = Cli::parse();
    let command = cli.command.clone();
    let settings = match Settings::load(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("field-server: {e}");
            std::process::exit(2);
        }
    };
    // Logs go to stderr; stdout carries only the `listening on` line scripts read.
    server::ops::logs::init(settings.log_format);
    if let Some(server::config::Command::Blobs(cmd)) = &command {
        if let Err(e) = server::blobs::admin::run(&settings, cmd).await {
            eprintln!("field-server: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if settings.print_policy {
        match settings.policy.as_deref().map(server::policy::Policy::load) {
            None => print!("{}", server::policy::Policy::default().to_toml()),
            Some(Ok(p)) => print!("{}", p.to_toml()),
            Some(Err(e)) => {
                eprintln!("field-server: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("field-server: {e:#}");
            std::process::exit(1);
        }
    };
    // Tests and scripts read the address from this line (the port may have been 0).
    println!("field-server listening on http://{}", app.addr());
    if let Err(e) = app.run_until_stopped().await {
        eprintln!("field-server: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allocator_settings_the_environment_lacks_are_added() {
        assert_eq!(missing_settings(|_| false), ALLOCATOR_SETTINGS.to_vec());
        assert!(missing_settings(|_| true).is_empty());
        // A value the operator set is kept: only the other one is added.
        assert_eq!(
            missing_settings(|name| name == "MIMALLOC_PURGE_DELAY"),
            vec![("MIMALLOC_ALLOW_THP", "0")]
        );
    }
}
