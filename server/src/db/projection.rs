//! Relational projections of a work order, written in the same transaction as its merge.
//! They can always be rebuilt from the documents.

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use sync_core::workorder::{Event, EventKind, View};

use crate::clock::{rules, store};
use crate::kpi;
use crate::policy::Policy;

/// What a projection needs beyond the work order: the service policy and the service time.
pub struct Ctx<'a> {
    pub policy: &'a Policy,
    pub now: i64,
}

/// Technicians who declined the job or let its acceptance time out since it was last
/// reopened: dispatch tries someone else.
pub fn refused_by(history: &[Event]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for e in history {
        match &e.kind {
            EventKind::Declined { .. } => {
                out.insert(e.user.clone());
            }
            EventKind::AcceptTimedOut { technician } => {
                out.insert(technician.clone());
            }
            EventKind::Reopened { .. } => out.clear(),
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// Rewrites every projection of one work order: the row, part lines, photos, blobs,
/// scores, field times, service clocks, escalations and KPI facts. `history` is the
/// work order's events in causal order ([`sync_core::workorder::WorkOrder::history`]).
pub async fn project(
    conn: &mut AnyConnection,
    v: &View,
    history: &[Event],
    created_at: i64,
    ctx: &Ctx<'_>,
) -> sqlx::Result<()> {
    let now = ctx.now;
    let open_conflicts = v.open_conflicts().count() as i64;
    let skills = serde_json::to_string(&v.intake.required_skills).unwrap_or_else(|_| "[]".into());
    let refused = serde_json::to_string(&refused_by(history)).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO work_orders (id, region, status, assignee, priority, service_type, customer_name, open_conflicts, created_at, updated_at,
           tier, skills, refused_by, appointment_start, appointment_end)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (id) DO UPDATE SET region = excluded.region, status = excluded.status,
           assignee = excluded.assignee, priority = excluded.priority, service_type = excluded.service_type,
           customer_name = excluded.customer_name, open_conflicts = excluded.open_conflicts,
           updated_at = excluded.updated_at, tier = excluded.tier, skills = excluded.skills,
           refused_by = excluded.refused_by, appointment_start = excluded.appointment_start,
           appointment_end = excluded.appointment_end",
    )
    .bind(&v.id)
    .bind(&v.intake.region)
    .bind(v.status.as_str())
    .bind(v.assignee.clone())
    .bind(v.intake.priority.as_str())
    .bind(v.intake.service_type.as_str())
    .bind(&v.intake.customer.name)
    .bind(open_conflicts)
    .bind(created_at)
    .bind(now)
    .bind(v.intake.customer.tier.as_str())
    .bind(skills)
    .bind(refused)
    .bind(v.appointment.as_ref().map(|a| a.start))
    .bind(v.appointment.as_ref().map(|a| a.end))
    .execute(&mut *conn)
    .await?;
    for table in ["part_lines", "photos", "doc_blobs", "scores"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE wo_id = $1"))
            .bind(&v.id)
            .execute(&mut *conn)
            .await?;
    }
    for p in &v.parts {
        sqlx::query(
            "INSERT INTO part_lines (wo_id, line, sku, qty, price_cents, removed, technician) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&v.id)
        .bind(&p.line)
        .bind(&p.sku)
        .bind(i64::from(p.qty))
        .bind(p.price_cents)
        .bind(i64::from(p.removed.is_some()))
        .bind(&p.added.user)
        .execute(&mut *conn)
        .await?;
    }
    for p in &v.photos {
        sqlx::query(
            "INSERT INTO photos (wo_id, photo, blob, kind, removed) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&v.id)
        .bind(&p.photo)
        .bind(&p.blob)
        .bind(p.kind.as_str())
        .bind(i64::from(p.removed.is_some()))
        .execute(&mut *conn)
        .await?;
    }
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
    let mut blobs: Vec<&str> = v.intake.attachments.iter().map(String::as_str).collect();
    blobs.extend(v.signature.as_ref().map(|s| s.blob.as_str()));
    blobs.sort_unstable();
    blobs.dedup();
    for b in blobs {
        sqlx::query("INSERT INTO doc_blobs (wo_id, blob) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&v.id)
            .bind(b)
            .execute(&mut *conn)
            .await?;
    }
    let mut timed = store::timed_history(conn, &v.id, history, now).await?;
    if v.cancellation.is_none() && (v.completion.is_some() || v.signature.is_some()) {
        // The fold kept recorded work over a concurrent cancellation: the clocks run on.
        // (A cancellation undone by a reopen stays: the rules keep its clocks stopped.)
        timed.retain(|t| !matches!(t.event.kind, EventKind::Cancelled { .. }));
    }
    let rows = rules::evaluate(&ctx.policy.clock, &v.intake, &timed);
    store::save_clocks(conn, &v.id, &v.intake.region, &rows, now).await?;
    let dispatch_ms =
        i64::try_from(ctx.policy.clock.complaint_dispatch.as_millis()).unwrap_or(i64::MAX);
    store::sync_escalations(conn, v, &rows, dispatch_ms, now).await?;
    let facts = kpi::facts(v, &timed);
    sqlx::query(
        "INSERT INTO wo_facts (wo_id, facts, region, created_at, completed_at, followed_up_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (wo_id) DO UPDATE SET facts = excluded.facts, region = excluded.region,
           created_at = excluded.created_at, completed_at = excluded.completed_at,
           followed_up_at = excluded.followed_up_at",
    )
    .bind(&v.id)
    .bind(serde_json::to_string(&facts).unwrap_or_else(|_| "{}".into()))
    .bind(&facts.region)
    .bind(facts.created_at)
    .bind(facts.completed_at)
    .bind(facts.followed_up_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
