//! `field-server`: run it with no arguments for a working server on 127.0.0.1:8080 with
//! `./fieldsync.db` and `./blobs/`.

use clap::Parser;
use server::app::Application;
use server::config::{Cli, Settings};

#[tokio::main]
async fn main() {
    // Logs go to stderr; stdout carries only the `listening on` line scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let settings = match Settings::load(Cli::parse()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("field-server: {e}");
            std::process::exit(2);
        }
    };
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
