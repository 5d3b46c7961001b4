//! The tasks behind [`super::notify`]: resolve, stamp, publish; gather, deliver.
//!
//! Writers only queue ([`super::Hub::queue`]). One publisher task per process takes whatever
//! queued while it was busy (so a burst of commits is one query and one notification), reads
//! each work order's region and assignee as committed, and publishes:
//! - on SQLite (one process) straight to this hub, stamped with a monotonic clock;
//! - on PostgreSQL with `pg_notify`, stamped by the database's clock, so every instance
//!   (this one included, through its listener) receives the same ids in commit order.
//!
//! One delivery task waits [`super::COALESCE`] after the first batch arrives, then delivers
//! everything that arrived meanwhile at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::Row;

use super::{Change, Hub, Touched, CHANNEL, COALESCE};
use crate::db::{self, Backend, Db};

/// Largest payload sent in one notification (bytes); PostgreSQL's limit is 8000.
pub const MAX_PAYLOAD: usize = 7000;

/// Starts the publisher, the delivery task and, on PostgreSQL, the listener.
pub fn start(hub: &Hub, db: Db, database_url: &str) {
    let publisher = hub.clone();
    tokio::spawn(async move { publish_loop(publisher, db).await });
    let deliverer = hub.clone();
    tokio::spawn(async move {
        loop {
            deliverer.inner.inbox_ready.notified().await;
            tokio::time::sleep(COALESCE).await;
            deliverer.deliver_arrived();
        }
    });
    if database_url.starts_with("postgres") {
        let listener = hub.clone();
        let url = database_url.to_owned();
        tokio::spawn(async move { super::listen::run(listener, url).await });
    }
}

async fn publish_loop(hub: Hub, db: Db) {
    let clock = AtomicI64::new(0);
    loop {
        hub.inner.outbox_ready.notified().await;
        let changes =
            std::mem::take(&mut *hub.inner.outbox.lock().unwrap_or_else(|p| p.into_inner()));
        if changes.is_empty() {
            continue;
        }
        let touched = match resolve(&db, merge(changes)).await {
            Ok(t) => t,
            Err(e) => {
                // A lost event costs nothing: the devices' next sync brings everything.
                tracing::warn!(error = %e, "live push: could not read the changed work orders; no event sent");
                continue;
            }
        };
        let sent = match db.backend {
            Backend::Sqlite => {
                hub.arrived(monotonic(&clock), touched);
                Ok(())
            }
            Backend::Postgres => send(&db, &touched).await,
        };
        match sent {
            Ok(()) => metrics::counter!("fieldsync_event_batches_total").increment(1),
            Err(e) => {
                tracing::warn!(error = %e, "live push: pg_notify failed; no event sent")
            }
        }
    }
}

/// Milliseconds since the epoch, strictly increasing within this process.
fn monotonic(last: &AtomicI64) -> i64 {
    let now = db::now_ms();
    let prev = last
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
            Some(now.max(p + 1))
        })
        .unwrap_or(now);
    now.max(prev + 1)
}

/// All the changes of one work order in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub id: String,
    /// Every technician it was taken from.
    pub taken_from: Vec<String>,
    /// Kept only when every change came from that one device.
    pub origin: Option<String>,
}

/// One entry per work order, in id order.
pub fn merge(changes: Vec<Change>) -> Vec<Merged> {
    let mut by_id: BTreeMap<String, Merged> = BTreeMap::new();
    let mut mixed: Vec<String> = Vec::new();
    for c in changes {
        let m = by_id.entry(c.id.clone()).or_insert_with(|| Merged {
            id: c.id.clone(),
            taken_from: Vec::new(),
            origin: c.origin.clone(),
        });
        if let Some(t) = c.taken_from {
            if !m.taken_from.contains(&t) {
                m.taken_from.push(t);
            }
        }
        if m.origin != c.origin {
            mixed.push(c.id);
        }
    }
    for id in mixed {
        if let Some(m) = by_id.get_mut(&id) {
            m.origin = None;
        }
    }
    by_id.into_values().collect()
}

/// Reads the region and assignee of each changed work order (as committed).
async fn resolve(db: &Db, changes: Vec<Merged>) -> anyhow::Result<Vec<Touched>> {
    let mut rows: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let mut conn = db.pool.acquire().await?;
    for part in changes.chunks(db::MAX_BINDS) {
        let ph: Vec<String> = (1..=part.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, region, assignee FROM work_orders WHERE id IN ({})",
            ph.join(",")
        );
        let mut q = sqlx::query(&sql);
        for c in part {
            q = q.bind(c.id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            rows.insert(
                row.try_get("id")?,
                (row.try_get("region")?, row.try_get("assignee")?),
            );
        }
    }
    Ok(touch(changes, &rows))
}

/// The pure part of [`resolve`]: whom each change concerns, given the committed rows.
pub fn touch(
    changes: Vec<Merged>,
    rows: &BTreeMap<String, (String, Option<String>)>,
) -> Vec<Touched> {
    changes
        .into_iter()
        .map(|c| {
            let (region, assignee) = rows.get(&c.id).cloned().unwrap_or_default();
            let mut technicians: Vec<String> = assignee.into_iter().collect();
            for t in c.taken_from {
                if !technicians.contains(&t) {
                    technicians.push(t);
                }
            }
            Touched {
                id: c.id,
                region,
                technicians,
                origin: c.origin,
            }
        })
        .collect()
}

/// Splits a batch into JSON payloads of at most [`MAX_PAYLOAD`] bytes.
pub fn payloads(touched: &[Touched]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&Touched> = Vec::new();
    let mut size = 2;
    for t in touched {
        let one = serde_json::to_string(t).map(|s| s.len()).unwrap_or(0) + 1;
        if !current.is_empty() && size + one > MAX_PAYLOAD {
            out.push(serde_json::to_string(&current).unwrap_or_default());
            current.clear();
            size = 2;
        }
        current.push(t);
        size += one;
    }
    if !current.is_empty() {
        out.push(serde_json::to_string(&current).unwrap_or_default());
    }
    out
}

/// `pg_notify` with the database's clock as the stamp: `<stamp> <json>`. It commits at once
/// (no transaction), so listeners receive it now.
async fn send(db: &Db, touched: &[Touched]) -> anyhow::Result<()> {
    let mut conn = db.pool.acquire().await?;
    for payload in payloads(touched) {
        sqlx::query(
            "SELECT 1 AS sent FROM pg_notify($1, CAST(CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS TEXT) || ' ' || $2)",
        )
        .bind(CHANNEL)
        .bind(payload)
        .fetch_all(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Parses a notification's payload (`<stamp> <json>`).
pub fn parse(payload: &str) -> Option<(i64, Vec<Touched>)> {
    let (stamp, json) = payload.split_once(' ')?;
    Some((stamp.parse().ok()?, serde_json::from_str(json).ok()?))
}
