//! Where log lines go and how they look: always stderr (stdout carries only the `listening on`
//! line scripts read); `RUST_LOG` filters (default [`DEFAULT_FILTER`]); text for people or one JSON object
//! per line for log collectors.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// `info`, except Automerge's spans: it opens an INFO span for every document it loads and
/// formats its arguments into it, which cost about 5 % of the server's CPU in a sync burst
/// (perf, 50 devices × 20 jobs) for lines nobody reads. Its warnings still show.
pub const DEFAULT_FILTER: &str = "info,automerge=warn";

/// Installs the process's tracing subscriber. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
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
