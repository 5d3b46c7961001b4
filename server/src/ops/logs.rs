//! Where log lines go and how they look: always stderr (stdout carries only the `listening on`
//! line scripts read); `RUST_LOG` filters (default `info`); text for people or one JSON object
//! per line for log collectors.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the process's tracing subscriber. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        // `flatten_event` puts `message` and the event's fields at the top level of each
        // object, where collectors look for them.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}
