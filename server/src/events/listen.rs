//! PostgreSQL: every instance runs one listener on [`super::CHANNEL`] and fans out locally.
//!
//! A notification is delivered to listeners when the transaction that sent it commits, in
//! commit order, to every instance listening at the time. While the listener's connection is
//! down nothing is received, so after every (re)connection the hub treats everything before
//! as unknown: open streams get a `sync` and resumes from older ids too.

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::publish::parse;
use super::{Hub, CHANNEL};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub async fn run(hub: Hub, url: String) {
    let mut backoff = Duration::from_millis(250);
    let mut first = true;
    loop {
        match listen_once(&hub, &url, first).await {
            Ok(()) => {
                tracing::warn!("live push: the listener's connection ended; reconnecting");
                backoff = Duration::from_millis(250);
            }
            Err(e) => {
                tracing::warn!(error = %e, "live push: cannot listen on PostgreSQL; retrying");
            }
        }
        first = false;
        // Jitter, so that instances do not reconnect in step after a database restart.
        let jitter = rand::random::<f64>() * 0.5 + 0.75;
        tokio::time::sleep(backoff.mul_f64(jitter)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Listens until the connection is lost (`Ok`) or cannot be set up (`Err`).
async fn listen_once(hub: &Hub, url: &str, first: bool) -> anyhow::Result<()> {
    let mut listener = PgListener::connect(url).await?;
    // No silent reconnect inside `try_recv`: a gap must be seen, to resync.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    let now: i64 =
        sqlx::query_scalar("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)")
            .fetch_one(&mut listener)
            .await?;
    if !first {
        tracing::info!("live push: listening again; every open stream is told to sync");
    }
    // At start nothing can have been missed by a stream of this process; after a gap
    // everything may have been.
    hub.resync_all(now);
    loop {
        match listener.try_recv().await? {
            Some(n) => match parse(n.payload()) {
                Some((stamp, touched)) => hub.arrived(stamp, touched),
                None => tracing::warn!(
                    payload = n.payload(),
                    "live push: a notification that is not ours; ignored"
                ),
            },
            None => return Ok(()),
        }
    }
}
