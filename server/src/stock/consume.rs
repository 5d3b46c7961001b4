//! Part lines become consumptions from their technician's van when the server takes in a
//! work order (the hook in `sync/persist.rs`, inside the sync's write transaction).
//!
//! Idempotent by construction: for each part line the ledger already holds a net quantity
//! (consumptions minus reversals, keyed by work order and line id); the merged document says
//! what the net should be (the line's quantity, or 0 once removed); only the difference is
//! posted. Two devices' copies of one line, a retried request or a slow-path re-merge find the
//! difference already posted and post nothing. A van may go below zero: the technician is
//! never blocked, and the consumption records how much the van lacked (`short`) so a person
//! reconciles it (a count, or a transfer that covers it).

use std::collections::{BTreeSet, HashMap};

use sqlx::AnyConnection;
use sync_core::workorder::View;

use super::ledger::{self, Posted};

#[path = "consume_sql.rs"]
mod sql;
use super::model::{van_of, NewMove};

/// One change to post for one part line: `delta` > 0 consumes, < 0 reverses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDelta {
    pub wo_id: String,
    pub line: String,
    pub sku: String,
    pub delta: i64,
    pub van: String,
    pub technician: String,
    pub device: String,
    pub serial: String,
    pub serial_old: String,
}

/// What each part line of `views` still needs posted, given what `posted` already holds.
/// Pure: the same inputs give the same deltas, and posting them makes the next call return
/// nothing.
pub fn plan(views: &[&View], posted: &HashMap<(String, String), Posted>) -> Vec<LineDelta> {
    let mut out = Vec::new();
    for v in views {
        for p in &v.parts {
            let want = if p.removed.is_some() {
                0
            } else {
                i64::from(p.qty)
            };
            let key = (v.id.clone(), p.line.clone());
            let had = posted.get(&key);
            let delta = want - had.map_or(0, |h| h.net);
            if delta == 0 {
                continue;
            }
            // A line stays with the van it was first taken from, whoever changes it later.
            let van = match had {
                Some(h) if !h.van.is_empty() => h.van.clone(),
                _ => van_of(&p.added.user),
            };
            let by = match (&p.removed, delta < 0) {
                (Some(r), true) => r,
                _ => &p.added,
            };
            out.push(LineDelta {
                wo_id: v.id.clone(),
                line: p.line.clone(),
                sku: p.sku.clone(),
                delta,
                van,
                technician: p.added.user.clone(),
                device: by.device.clone(),
                serial: p.serial_new.clone(),
                serial_old: p.serial_old.clone(),
            });
        }
    }
    out
}

/// The moves for `deltas`, given each (van, sku)'s level before them: a consumption is
/// flagged `short` by how much of it the van did not hold.
pub fn moves(
    deltas: &[LineDelta],
    mut levels: HashMap<(String, String), i64>,
    by_user: &str,
    now: i64,
) -> Vec<NewMove> {
    deltas
        .iter()
        .map(|d| {
            let level = levels.entry((d.van.clone(), d.sku.clone())).or_insert(0);
            let before = *level;
            *level += -d.delta;
            let consume = d.delta > 0;
            NewMove {
                kind: if consume {
                    "consumption"
                } else {
                    "consumption_reversal"
                },
                sku: d.sku.clone(),
                qty: d.delta.abs(),
                from_loc: consume.then(|| d.van.clone()),
                to_loc: (!consume).then(|| d.van.clone()),
                serial: d.serial.clone(),
                serial_old: d.serial_old.clone(),
                wo_id: Some(d.wo_id.clone()),
                line: Some(d.line.clone()),
                technician: Some(d.technician.clone()),
                device: Some(d.device.clone()),
                short: if consume {
                    (d.delta - before.max(0)).clamp(0, d.delta)
                } else {
                    0
                },
                by_user: by_user.to_owned(),
                at: now,
                ..NewMove::default()
            }
        })
        .collect()
}

/// Posts what the part lines of `views` still need, inside the caller's transaction. Costs
/// nothing for work orders without part lines; otherwise one read of their posted lines,
/// and writes only when a line changed.
pub async fn reconcile(
    conn: &mut AnyConnection,
    views: &[&View],
    by_user: &str,
    now: i64,
) -> sqlx::Result<usize> {
    let with_parts: Vec<&View> = views
        .iter()
        .copied()
        .filter(|v| !v.parts.is_empty())
        .collect();
    if with_parts.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = with_parts.iter().map(|v| v.id.as_str()).collect();
    let posted = ledger::posted_lines(conn, &ids).await?;
    let deltas = plan(&with_parts, &posted);
    if deltas.is_empty() {
        return Ok(0);
    }
    let pairs: BTreeSet<(&str, &str)> = deltas
        .iter()
        .map(|d| (d.van.as_str(), d.sku.as_str()))
        .collect();
    let technicians: BTreeSet<&str> = pairs
        .iter()
        .filter_map(|(van, _)| super::model::van_owner(van))
        .collect();
    sql::ensure_vans(conn, &technicians, now).await?;
    let levels = sql::levels_of(conn, &pairs).await?;
    let moves = moves(&deltas, levels, by_user, now);
    ledger::append(conn, &moves).await?;
    metrics::counter!("fieldsync_stock_consumption_moves_total").increment(moves.len() as u64);
    Ok(moves.len())
}

#[cfg(test)]
#[path = "consume_tests.rs"]
mod tests;
