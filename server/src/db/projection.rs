//! Writes a work order's relational projection ([`crate::projection::Projection`]) in the
//! same transaction as its merge. It decides nothing: every row comes from the pure
//! computation. The projections can always be rebuilt from the documents.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use sync_core::workorder::{Event, View};

use crate::clock::store::{self, ClockMap};
use crate::db::values::Values;
use crate::db::MAX_BINDS;
use crate::policy::Policy;
use crate::projection::{self, EventTime, Projection};

pub use crate::projection::refused_by;

/// What a projection needs beyond the work order: the service policy and the service time.
pub struct Ctx<'a> {
    pub policy: &'a Policy,
    pub now: i64,
}

/// Rewrites every projection of one work order (reading what it needs first): the row, part
/// lines, photos, blobs, scores, field times, service clocks, escalations and KPI facts.
/// `history` is the work order's events in causal order. For writers other than the sync
/// pipeline, which reads its inputs for many documents at once before it takes the write lock.
pub async fn project(
    conn: &mut AnyConnection,
    v: &View,
    history: &[Event],
    created_at: i64,
    ctx: &Ctx<'_>,
) -> sqlx::Result<()> {
    let ids = [v.id.clone()];
    let times = event_times(conn, &ids)
        .await?
        .remove(&v.id)
        .unwrap_or_default();
    let clocks = store::stored_clocks(conn, &ids)
        .await?
        .remove(&v.id)
        .unwrap_or_default();
    let p = projection::compute(v.clone(), history, &times, None, ctx.policy, ctx.now);
    write(conn, &p, created_at, &clocks, ctx).await
}

/// Field times already recorded, per work order and event.
pub async fn event_times(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<HashMap<String, HashMap<String, i64>>> {
    let mut out: HashMap<String, HashMap<String, i64>> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_BINDS) {
        let sql = format!(
            "SELECT wo_id, event_id, field_at FROM event_times WHERE wo_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.entry(r.try_get("wo_id")?)
                .or_default()
                .insert(r.try_get("event_id")?, r.try_get("field_at")?);
        }
    }
    Ok(out)
}

/// `$from, $from+1, …` for `n` values.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `($1,…,$k),($k+1,…)` for `rows` rows of `cols` columns.
pub(crate) fn rows_sql(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(1 + r * cols, cols)))
        .collect::<Vec<_>>()
        .join(",")
}

/// One work order's projection to write, with what its inputs read of the database.
pub struct ToWrite<'a> {
    pub p: &'a Projection,
    /// Its clock rows as stored when the inputs were read (under its lock, or conditional
    /// on its heads: still current).
    pub clocks: &'a ClockMap,
    /// The kinds of escalation open on it, when known (else the resolving updates run).
    pub open_escalations: Option<&'a [String]>,
}

/// Writes `p`. `clocks` are the clock rows the database held for this work order when its
/// inputs were read (under the document's lock, so still current).
pub async fn write(
    conn: &mut AnyConnection,
    p: &Projection,
    created_at: i64,
    clocks: &ClockMap,
    ctx: &Ctx<'_>,
) -> sqlx::Result<()> {
    let one = ToWrite {
        p,
        clocks,
        open_escalations: None,
    };
    write_many(conn, &[one], created_at, ctx).await
}

/// Writes the projections of several work orders, table by table: a handful of statements
/// for a whole sync request rather than a dozen per work order.
pub async fn write_many(
    conn: &mut AnyConnection,
    items: &[ToWrite<'_>],
    created_at: i64,
    ctx: &Ctx<'_>,
) -> sqlx::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let now = ctx.now;
    let values = Values::of(conn);
    for chunk in items.chunks(values.rows_per_statement(15)) {
        let sql = format!(
            "INSERT INTO work_orders (id, region, status, assignee, priority, service_type, customer_name, open_conflicts, created_at, updated_at,
               tier, skills, refused_by, appointment_start, appointment_end)
             VALUES {}
             ON CONFLICT (id) DO UPDATE SET region = excluded.region, status = excluded.status,
               assignee = excluded.assignee, priority = excluded.priority, service_type = excluded.service_type,
               customer_name = excluded.customer_name, open_conflicts = excluded.open_conflicts,
               updated_at = excluded.updated_at, tier = excluded.tier, skills = excluded.skills,
               refused_by = excluded.refused_by, appointment_start = excluded.appointment_start,
               appointment_end = excluded.appointment_end",
            values.sql(chunk.len(), 15)
        );
        let mut q = sqlx::query(&sql);
        for item in chunk {
            let (p, v) = (item.p, &item.p.view);
            q = q
                .bind(&v.id)
                .bind(&v.intake.region)
                .bind(v.status.as_str())
                .bind(v.assignee.clone())
                .bind(v.intake.priority.as_str())
                .bind(v.intake.service_type.as_str())
                .bind(&v.intake.customer.name)
                .bind(v.open_conflicts().count() as i64)
                .bind(created_at)
                .bind(now)
                .bind(v.intake.customer.tier.as_str())
                .bind(
                    serde_json::to_string(&v.intake.required_skills)
                        .unwrap_or_else(|_| "[]".into()),
                )
                .bind(serde_json::to_string(&p.refused_by).unwrap_or_else(|_| "[]".into()))
                .bind(v.appointment.as_ref().map(|a| a.start))
                .bind(v.appointment.as_ref().map(|a| a.end));
        }
        q.execute(&mut *conn).await?;
    }
    let views: Vec<&View> = items.iter().map(|i| &i.p.view).collect();
    write_children(conn, &views).await?;
    let times: Vec<(&str, &EventTime)> = items
        .iter()
        .flat_map(|i| i.p.new_times.iter().map(|t| (i.p.view.id.as_str(), t)))
        .collect();
    write_times(conn, &times).await?;
    let dispatch_ms =
        i64::try_from(ctx.policy.clock.complaint_dispatch.as_millis()).unwrap_or(i64::MAX);
    let clocks: Vec<store::ClocksToWrite<'_>> = items
        .iter()
        .map(|item| store::ClocksToWrite {
            wo_id: &item.p.view.id,
            region: &item.p.view.intake.region,
            rows: &item.p.clocks,
            have: item.clocks,
        })
        .collect();
    store::write_clocks(conn, &clocks, now).await?;
    for item in items {
        let (p, v) = (item.p, &item.p.view);
        store::sync_escalations(conn, v, &p.clocks, dispatch_ms, now, item.open_escalations)
            .await?;
    }
    for chunk in items.chunks(values.rows_per_statement(7)) {
        let sql = format!(
            "INSERT INTO wo_facts (wo_id, facts, region, created_at, completed_at, followed_up_at, serial)
             VALUES {}
             ON CONFLICT (wo_id) DO UPDATE SET facts = excluded.facts, region = excluded.region,
               created_at = excluded.created_at, completed_at = excluded.completed_at,
               followed_up_at = excluded.followed_up_at, serial = excluded.serial",
            values.sql(chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for item in chunk {
            let f = &item.p.facts;
            q = q
                .bind(&item.p.view.id)
                .bind(serde_json::to_string(f).unwrap_or_else(|_| "{}".into()))
                .bind(&f.region)
                .bind(f.created_at)
                .bind(f.completed_at)
                .bind(f.followed_up_at)
                .bind(&f.serial);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Part lines, photos, referenced blobs and scores: replaced whole, one statement per table
/// and chunk.
async fn write_children(conn: &mut AnyConnection, views: &[&View]) -> sqlx::Result<()> {
    for chunk in views.chunks(MAX_BINDS) {
        for table in ["part_lines", "photos", "doc_blobs", "scores"] {
            let sql = format!(
                "DELETE FROM {table} WHERE wo_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for v in chunk {
                q = q.bind(&v.id);
            }
            q.execute(&mut *conn).await?;
        }
    }
    let parts: Vec<(&str, &sync_core::workorder::PartLine)> = views
        .iter()
        .flat_map(|v| v.parts.iter().map(|p| (v.id.as_str(), p)))
        .collect();
    let values = Values::of(conn);
    for chunk in parts.chunks(values.rows_per_statement(7)) {
        let sql = format!(
            "INSERT INTO part_lines (wo_id, line, sku, qty, price_cents, removed, technician) VALUES {}",
            values.sql(chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for (id, p) in chunk {
            q = q
                .bind(*id)
                .bind(&p.line)
                .bind(&p.sku)
                .bind(i64::from(p.qty))
                .bind(p.price_cents)
                .bind(i64::from(p.removed.is_some()))
                .bind(&p.added.user);
        }
        q.execute(&mut *conn).await?;
    }
    let photos: Vec<(&str, &sync_core::workorder::Photo)> = views
        .iter()
        .flat_map(|v| v.photos.iter().map(|p| (v.id.as_str(), p)))
        .collect();
    for chunk in photos.chunks(values.rows_per_statement(5)) {
        let sql = format!(
            "INSERT INTO photos (wo_id, photo, blob, kind, removed) VALUES {}",
            values.sql(chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (id, p) in chunk {
            q = q
                .bind(*id)
                .bind(&p.photo)
                .bind(&p.blob)
                .bind(p.kind.as_str())
                .bind(i64::from(p.removed.is_some()));
        }
        q.execute(&mut *conn).await?;
    }
    for v in views {
        if let Some(f) = &v.follow_up {
            sqlx::query("INSERT INTO scores (wo_id, score, comment, called_by, called_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&v.id)
                .bind(i64::from(f.score))
                .bind(&f.comment)
                .bind(&f.by.user)
                .bind(f.by.at)
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut blobs: Vec<(&str, &str)> = Vec::new();
    for v in views {
        let mut mine: Vec<&str> = v.intake.attachments.iter().map(String::as_str).collect();
        mine.extend(v.signature.as_ref().map(|s| s.blob.as_str()));
        mine.sort_unstable();
        mine.dedup();
        blobs.extend(mine.into_iter().map(|b| (v.id.as_str(), b)));
    }
    for chunk in blobs.chunks(values.rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO doc_blobs (wo_id, blob) VALUES {} ON CONFLICT DO NOTHING",
            values.sql(chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for (id, b) in chunk {
            q = q.bind(*id).bind(*b);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Keeps each event's device time, receipt and field time (once: replays change nothing).
async fn write_times(conn: &mut AnyConnection, times: &[(&str, &EventTime)]) -> sqlx::Result<()> {
    let values = Values::of(conn);
    for chunk in times.chunks(values.rows_per_statement(6)) {
        let sql = format!(
            "INSERT INTO event_times (wo_id, event_id, device_id, device_at, received_at, field_at)
             VALUES {} ON CONFLICT (wo_id, event_id) DO NOTHING",
            values.sql(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (wo_id, t) in chunk {
            q = q
                .bind(*wo_id)
                .bind(&t.event_id)
                .bind(&t.device)
                .bind(t.device_at)
                .bind(t.received_at)
                .bind(t.field_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
