//! Field times, devices, clock rows and escalations in the database.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use sync_core::workorder::View;

use super::rules::{ClockRow, Rule, StopKind};

/// Clamps a device time into `[lower, upper]`. Returns the field time and how far outside
/// the bounds the device time was: positive when ahead of the receipt, negative when before
/// the device's previous contact, zero inside.
pub fn clamp(device_at: i64, lower: i64, upper: i64) -> (i64, i64) {
    let lower = lower.min(upper);
    // Device times are input: saturate rather than overflow on absurd values.
    if device_at > upper {
        (upper, device_at.saturating_sub(upper))
    } else if device_at < lower {
        (lower, device_at.saturating_sub(lower))
    } else {
        (device_at, 0)
    }
}

/// A device's sync as the clock sees it.
pub struct Arrival<'a> {
    pub device: &'a str,
    pub user: &'a str,
    /// When the device last synced successfully, if ever.
    pub previous_contact: Option<i64>,
    /// When the server received this sync (service time).
    pub now: i64,
}

/// When `device` last synced.
pub async fn previous_contact(conn: &mut AnyConnection, device: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT last_contact_at FROM devices WHERE device_id = $1")
        .bind(device)
        .fetch_optional(conn)
        .await
}

fn human(ms: i64) -> String {
    let m = ms.unsigned_abs() / 60_000;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Notes the device's contact. `offset` is the worst offset of the events it sent (`None`
/// when it sent none): beyond `tolerance` the device is flagged; a sync whose events all
/// fit clears the flag (the clock has been put right).
pub async fn touch_device(
    conn: &mut AnyConnection,
    a: &Arrival<'_>,
    offset: Option<i64>,
    tolerance: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO devices (device_id, user_id, last_contact_at) VALUES ($1, $2, $3)
         ON CONFLICT (device_id) DO UPDATE SET user_id = excluded.user_id, last_contact_at = excluded.last_contact_at",
    )
    .bind(a.device)
    .bind(a.user)
    .bind(a.now)
    .execute(&mut *conn)
    .await?;
    match offset {
        Some(off) if off.unsigned_abs() > tolerance.unsigned_abs() => {
            let reason = if off > 0 {
                format!(
                    "clock {} ahead: events dated after they reached the server",
                    human(off)
                )
            } else {
                format!(
                    "clock {} behind: events dated before the device's previous contact",
                    human(off)
                )
            };
            tracing::warn!(
                device = a.device,
                user = a.user,
                offset_ms = off,
                "device clock is off"
            );
            sqlx::query(
                "UPDATE devices SET clock_skew_ms = $1, flagged_at = $2, flag_reason = $3 WHERE device_id = $4",
            )
            .bind(off)
            .bind(a.now)
            .bind(reason)
            .bind(a.device)
            .execute(conn)
            .await?;
        }
        Some(off) => {
            sqlx::query(
                "UPDATE devices SET clock_skew_ms = $1, flagged_at = NULL, flag_reason = NULL WHERE device_id = $2",
            )
            .bind(off)
            .bind(a.device)
            .execute(conn)
            .await?;
        }
        None => {}
    }
    Ok(())
}

fn stop_text(s: Option<StopKind>) -> Option<&'static str> {
    s.map(|s| match s {
        StopKind::Met => "met",
        StopKind::Moot => "moot",
    })
}

/// A stored clock row's state: due, not before, stopped at, stopped by, stop.
pub type Stored = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// A work order's stored clock rows by (rule, anchor).
pub type ClockMap = HashMap<(String, String), Stored>;

/// The clock rows stored for each of `ids`.
pub async fn stored_clocks(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<HashMap<String, ClockMap>> {
    let mut out: HashMap<String, ClockMap> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(crate::db::MAX_BINDS) {
        let sql = format!(
            // Rules named QA-… (the audit's corrective actions) are not the rules' to rewrite.
            "SELECT wo_id, rule, anchor, due_at, not_before, stopped_at, stopped_by, stop FROM clocks WHERE rule NOT LIKE 'QA-%' AND wo_id IN ({})",
            crate::db::projection::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.entry(r.try_get("wo_id")?).or_default().insert(
                (r.try_get("rule")?, r.try_get("anchor")?),
                (
                    r.try_get("due_at")?,
                    r.try_get("not_before")?,
                    r.try_get("stopped_at")?,
                    r.try_get("stopped_by")?,
                    r.try_get("stop")?,
                ),
            );
        }
    }
    Ok(out)
}

/// One work order's clock rows as the rules produce them, with what is stored.
pub struct ClocksToWrite<'a> {
    pub wo_id: &'a str,
    pub region: &'a str,
    pub rows: &'a [ClockRow],
    pub have: &'a ClockMap,
}

/// Writes the clock rows of several work orders that differ from what is stored, clears
/// recorded breaches that the field times now show were met in time, and rewrites the
/// board's summary of each work order whose clocks changed ([`summarize`]). A handful of
/// statements for a whole sync request, not a few per work order.
pub async fn write_clocks(
    conn: &mut AnyConnection,
    items: &[ClocksToWrite<'_>],
    now: i64,
) -> sqlx::Result<()> {
    let mut upserts: Vec<(&str, &str, &ClockRow)> = Vec::new();
    let mut touched: Vec<String> = Vec::new();
    let mut changed: Vec<String> = Vec::new();
    for item in items {
        let mut any = false;
        for row in item.rows {
            let want: Stored = (
                row.due_at,
                row.not_before,
                row.stopped_at,
                row.stopped_by.clone(),
                stop_text(row.stop).map(str::to_owned),
            );
            if item
                .have
                .get(&(row.rule.id().to_owned(), row.anchor.clone()))
                != Some(&want)
            {
                upserts.push((item.wo_id, item.region, row));
                any = true;
            }
        }
        // Rows the rules no longer produce (the policy changed: e.g. a service type left
        // CS-CONTACT) stop counting; recorded breaches stay on record.
        let produced: std::collections::HashSet<(&str, &str)> = item
            .rows
            .iter()
            .map(|r| (r.rule.id(), r.anchor.as_str()))
            .collect();
        let mut dropped = false;
        for (rule, anchor) in item.have.keys() {
            if !produced.contains(&(rule.as_str(), anchor.as_str())) {
                dropped = true;
                sqlx::query(
                    "DELETE FROM clocks WHERE wo_id = $1 AND rule = $2 AND anchor = $3 AND breached_at IS NULL",
                )
                .bind(item.wo_id)
                .bind(rule)
                .bind(anchor)
                .execute(&mut *conn)
                .await?;
            }
        }
        if any {
            changed.push(item.wo_id.to_owned());
        }
        if any || dropped {
            touched.push(item.wo_id.to_owned());
        }
    }
    const COLS: usize = 11;
    let values = crate::db::values::Values::of(conn);
    for chunk in upserts.chunks(values.rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO clocks (wo_id, rule, anchor, region, technician, started_at, due_at, not_before, stopped_at, stopped_by, stop)
             VALUES {}
             ON CONFLICT (wo_id, rule, anchor) DO UPDATE SET region = excluded.region,
               technician = excluded.technician, started_at = excluded.started_at, due_at = excluded.due_at,
               not_before = excluded.not_before, stopped_at = excluded.stopped_at,
               stopped_by = excluded.stopped_by, stop = excluded.stop",
            values.sql(chunk.len(), COLS)
        );
        let mut q = sqlx::query(&sql);
        for (wo_id, region, row) in chunk {
            q = q
                .bind(*wo_id)
                .bind(row.rule.id())
                .bind(&row.anchor)
                .bind(*region)
                .bind(row.technician.clone())
                .bind(row.started_at)
                .bind(row.due_at)
                .bind(row.not_before)
                .bind(row.stopped_at)
                .bind(row.stopped_by.clone())
                .bind(stop_text(row.stop));
        }
        q.execute(&mut *conn).await?;
    }
    for chunk in changed.chunks(crate::db::MAX_BINDS - 1) {
        let sql = format!(
            "UPDATE clocks SET cleared_at = $1
             WHERE wo_id IN ({}) AND breached_at IS NOT NULL AND cleared_at IS NULL AND stop IS NOT NULL
               AND stopped_at <= due_at AND (stop = 'moot' OR not_before IS NULL OR stopped_at >= not_before)",
            crate::db::projection::placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(now);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    summarize(conn, &touched).await
}

/// Rewrites what the board reads of each work order's clocks on its `work_orders` row: the
/// soonest running clock and the breaches recorded and not withdrawn (every read is on the
/// clocks' primary key prefix). Call after changing their clock rows, in the same transaction.
pub async fn summarize(conn: &mut AnyConnection, ids: &[String]) -> sqlx::Result<()> {
    for chunk in ids.chunks(crate::db::MAX_BINDS) {
        let sql = format!(
            "UPDATE work_orders SET
               next_rule = (SELECT c.rule FROM clocks c WHERE c.wo_id = work_orders.id
                            AND c.stopped_at IS NULL ORDER BY c.due_at, c.rule LIMIT 1),
               next_started_at = (SELECT c.started_at FROM clocks c WHERE c.wo_id = work_orders.id
                                  AND c.stopped_at IS NULL ORDER BY c.due_at, c.rule LIMIT 1),
               next_due_at = (SELECT c.due_at FROM clocks c WHERE c.wo_id = work_orders.id
                              AND c.stopped_at IS NULL ORDER BY c.due_at, c.rule LIMIT 1),
               breaches = (SELECT COUNT(*) FROM clocks c WHERE c.wo_id = work_orders.id
                           AND c.breached_at IS NOT NULL AND c.cleared_at IS NULL)
             WHERE id IN ({})",
            crate::db::projection::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Kinds of escalation to a manager.
pub const URGENT_UNASSIGNED: &str = "urgent_unassigned";
pub const LOW_SCORE: &str = "low_score";
pub const URGENT_COMPLAINT: &str = "urgent_complaint";

/// A stable, URL-safe id for the escalation of `kind` on `wo_id` started by `anchor`.
pub fn escalation_id(wo_id: &str, kind: &str, anchor: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("{wo_id}\n{kind}\n{anchor}").as_bytes());
    format!("esc-{}", &hex::encode(d)[..20])
}

pub struct NewEscalation<'a> {
    pub wo_id: &'a str,
    pub kind: &'a str,
    pub anchor: &'a str,
    pub region: &'a str,
    pub reason: String,
    pub opened_at: i64,
    pub due_at: i64,
}

/// Opens an escalation once (its id is derived from what started it). True when new.
pub async fn open_escalation(
    conn: &mut AnyConnection,
    e: &NewEscalation<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO escalations (id, wo_id, kind, anchor, region, reason, opened_at, due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
    )
    .bind(escalation_id(e.wo_id, e.kind, e.anchor))
    .bind(e.wo_id)
    .bind(e.kind)
    .bind(e.anchor)
    .bind(e.region)
    .bind(&e.reason)
    .bind(e.opened_at)
    .bind(e.due_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn resolve_open(
    conn: &mut AnyConnection,
    wo_id: &str,
    kinds: &[&str],
    at: i64,
    by: &str,
    resolution: &str,
) -> sqlx::Result<()> {
    // The kinds are this module's constants, never input.
    let kinds: Vec<String> = kinds.iter().map(|k| format!("'{k}'")).collect();
    sqlx::query(&format!(
        "UPDATE escalations SET resolved_at = $1, resolved_by = $2, resolution = $3
         WHERE wo_id = $4 AND kind IN ({}) AND resolved_at IS NULL",
        kinds.join(",")
    ))
    .bind(at)
    .bind(by)
    .bind(resolution)
    .bind(wo_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens and resolves the escalations that follow from the work order's events: a low
/// follow-up score (with the CS-LOWSCORE clock), an urgent complaint (to the manager at
/// once), and resolves urgent ones once someone is assigned or the order is cancelled.
/// `open` are the kinds of escalation open on this work order, when known (the sync pipeline
/// reads them for all its documents at once): resolving is then skipped when none is open.
pub async fn sync_escalations(
    conn: &mut AnyConnection,
    view: &View,
    rows: &[ClockRow],
    complaint_dispatch_ms: i64,
    now: i64,
    open: Option<&[String]>,
) -> sqlx::Result<()> {
    let is_open =
        |kinds: &[&str]| open.is_none_or(|o| o.iter().any(|k| kinds.contains(&k.as_str())));
    let region = view.intake.region.as_str();
    for row in rows.iter().filter(|r| r.rule == Rule::LowScore) {
        let score = view.follow_up.as_ref().map(|f| f.score).unwrap_or(0);
        open_escalation(
            conn,
            &NewEscalation {
                wo_id: &view.id,
                kind: LOW_SCORE,
                anchor: &row.anchor,
                region,
                reason: format!(
                    "follow-up score {score}: {}",
                    view.follow_up
                        .as_ref()
                        .map(|f| f.comment.as_str())
                        .unwrap_or("")
                ),
                opened_at: row.started_at,
                due_at: row.due_at,
            },
        )
        .await?;
        if let (Some(at), Some(stop)) = (row.stopped_at, row.stop) {
            let (by, what) = match (&view.escalation_handled, stop) {
                (Some(h), StopKind::Met) => (h.by.user.clone(), h.action.clone()),
                _ => (
                    "system".to_owned(),
                    "the work order was reopened".to_owned(),
                ),
            };
            sqlx::query(
                "UPDATE escalations SET resolved_at = $1, resolved_by = $2, resolution = $3
                 WHERE id = $4 AND resolved_at IS NULL",
            )
            .bind(at)
            .bind(by)
            .bind(what)
            .bind(escalation_id(&view.id, LOW_SCORE, &row.anchor))
            .execute(&mut *conn)
            .await?;
        }
    }
    if let Some(c) = view.classification.as_ref().filter(|c| c.urgent) {
        open_escalation(
            conn,
            &NewEscalation {
                wo_id: &view.id,
                kind: URGENT_COMPLAINT,
                anchor: &c.by.event,
                region,
                reason: format!("urgent complaint about {}", c.category),
                opened_at: c.by.at.min(now),
                due_at: c.by.at.min(now).saturating_add(complaint_dispatch_ms),
            },
        )
        .await?;
    }
    if let Some(t) = view
        .assignee
        .as_ref()
        .filter(|_| is_open(&[URGENT_UNASSIGNED]))
    {
        // An urgent complaint stays with the managers until one of them resolves it.
        resolve_open(
            conn,
            &view.id,
            &[URGENT_UNASSIGNED],
            now,
            "system",
            &format!("assigned to {t}"),
        )
        .await?;
    }
    if view.cancellation.is_some() && is_open(&[URGENT_UNASSIGNED, URGENT_COMPLAINT, LOW_SCORE]) {
        resolve_open(
            conn,
            &view.id,
            &[URGENT_UNASSIGNED, URGENT_COMPLAINT, LOW_SCORE],
            now,
            "system",
            "the work order was cancelled",
        )
        .await?;
    }
    Ok(())
}

/// The kinds of escalation still open on each of `ids` (work orders with none are absent).
pub async fn open_escalations(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(crate::db::MAX_BINDS) {
        let sql = format!(
            "SELECT wo_id, kind FROM escalations WHERE resolved_at IS NULL AND wo_id IN ({})",
            crate::db::projection::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for (wo, kind) in q.fetch_all(&mut *conn).await? {
            out.entry(wo).or_default().push(kind);
        }
    }
    Ok(out)
}
