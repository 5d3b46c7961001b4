//! `field-server`: run it with no arguments for a working server on 127.0.0.1:8080 with
//! `./fieldsync.db` and `./blobs/`.

use clap::Parser;
use server::app::Application;
use server::config::{Cli, Settings};

/// mimalloc returns freed pages to the system (a burst of argon2 hashes or of large sync
/// bodies does not leave the process at its peak size, as glibc's per-thread arenas do).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let settings = match Settings::load(Cli::parse()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("field-server: {e}");
            std::process::exit(2);
        }
    };
    // Logs go to stderr; stdout carries only the `listening on` line scripts read.
    server::ops::logs::init(settings.log_format);
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
