//! Dispatch against the database: technicians with their current loads, jobs waiting for
//! someone, and decisions recorded in the documents (the server is an Automerge actor) with
//! their explanations in `dispatch_log`.
//!
//! Every transaction that makes dispatch decisions first locks one row ([`lock`]), then the
//! documents it changes: decisions are serialized across instances, so two instances never
//! both give the last free slot of a technician away, and the lock order is always the same.

use serde::Serialize;
use sqlx::{AnyConnection, Row};
use sync_core::workorder::{CustomerTier, Event, EventKind, Priority, View};

use super::{explain_with, places, Explanation, Job, Technician};
use crate::clock::store::{self, NewEscalation, URGENT_UNASSIGNED};
use crate::db::projection::Ctx;
use crate::error::ApiError;
use crate::workorders::locked::{system_actor, Locked, SYSTEM_USER};

/// Statuses in which a job counts against its technician's capacity.
pub const OPEN_STATUSES: &[&str] = &[
    "assigned",
    "accepted",
    "scheduled",
    "en_route",
    "on_site",
    "diagnosed",
    "quoted",
    "consent_given",
    "in_progress",
    "signed",
];

fn open_list() -> String {
    OPEN_STATUSES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Serializes dispatch decisions across server instances (row lock on PostgreSQL, the write
/// lock on SQLite). Take it before locking any document.
pub async fn lock(conn: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query("UPDATE server_settings SET value = value WHERE key = 'dispatch_lock'")
        .execute(conn)
        .await?;
    Ok(())
}

/// Every technician (or those working in `region`), with their open jobs counted now.
pub async fn technicians(
    conn: &mut AnyConnection,
    region: Option<&str>,
) -> sqlx::Result<Vec<Technician>> {
    let users = crate::db::users::list(conn).await?;
    let loads = sqlx::query(&format!(
        "SELECT assignee, COUNT(*) AS n FROM work_orders WHERE assignee IS NOT NULL AND status IN ({}) GROUP BY assignee",
        open_list()
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut open = std::collections::HashMap::new();
    for r in loads {
        let who: String = r.try_get("assignee")?;
        let n: i64 = r.try_get("n")?;
        open.insert(who, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(users
        .into_iter()
        .filter(|u| u.role == "technician")
        .map(|u| Technician {
            regions: u.regions(),
            skills: u.skills(),
            active: u.active != 0,
            capacity: u32::try_from(u.capacity.max(0)).unwrap_or(u32::MAX),
            open: open.get(&u.id).copied().unwrap_or(0),
            id: u.id,
        })
        .filter(|t| region.is_none_or(|r| t.regions.iter().any(|x| x == r)))
        .collect())
}

/// Jobs waiting for dispatch (in `regions`, when given), with their earliest running
/// deadline and the technicians who already refused them.
pub async fn pending_jobs(
    conn: &mut AnyConnection,
    regions: Option<&[String]>,
) -> sqlx::Result<Vec<Job>> {
    let rows = sqlx::query(
        "SELECT id, region, priority, tier, skills, refused_by, created_at FROM work_orders
         WHERE status = 'pending_dispatch' ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let deadlines = sqlx::query(
        "SELECT c.wo_id AS wo_id, MIN(c.due_at) AS due FROM clocks c JOIN work_orders w ON w.id = c.wo_id
         WHERE w.status = 'pending_dispatch' AND c.stopped_at IS NULL GROUP BY c.wo_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut due = std::collections::HashMap::new();
    for r in deadlines {
        let id: String = r.try_get("wo_id")?;
        let d: i64 = r.try_get("due")?;
        due.insert(id, d);
    }
    let mut jobs = Vec::with_capacity(rows.len());
    for r in rows {
        let region: String = r.try_get("region")?;
        if regions.is_some_and(|rs| !rs.contains(&region)) {
            continue;
        }
        let id: String = r.try_get("id")?;
        let priority: String = r.try_get("priority")?;
        let tier: String = r.try_get("tier")?;
        let skills: String = r.try_get("skills")?;
        let refused: String = r.try_get("refused_by")?;
        jobs.push(Job {
            deadline: due.get(&id).copied(),
            id,
            region,
            skills: serde_json::from_str(&skills).unwrap_or_default(),
            priority: priority.parse().unwrap_or(Priority::Normal),
            tier: tier.parse().unwrap_or(CustomerTier::Standard),
            created_at: r.try_get("created_at")?,
            refused: serde_json::from_str(&refused).unwrap_or_default(),
        });
    }
    Ok(jobs)
}

/// The job of a loaded work order (for a single decision; the deadline does not matter then).
pub fn job_of(view: &View, refused: Vec<String>, created_at: i64) -> Job {
    Job {
        id: view.id.clone(),
        region: view.intake.region.clone(),
        skills: view.intake.required_skills.clone(),
        priority: view.intake.priority,
        tier: view.intake.customer.tier,
        deadline: None,
        created_at,
        refused,
    }
}

/// The site of a loaded work order, keyed for [`places::travel_with_sites`].
pub fn site_of(view: &View) -> std::collections::HashMap<String, sync_core::workorder::GeoPoint> {
    view.intake
        .site
        .map(|s| (view.id.clone(), s))
        .into_iter()
        .collect()
}

/// Why a job is waiting for dispatch, when it came back on its own: its technician declined
/// it or let the acceptance time out. `None` when it was never assigned or a person took it
/// back (unassigned): then it waits for a dispatcher or an on-demand run.
pub fn returned_by(history: &[Event]) -> Option<&'static str> {
    history.iter().rev().find_map(|e| match e.kind {
        EventKind::Declined { .. } => Some(Some("decline")),
        EventKind::AcceptTimedOut { .. } => Some(Some("timeout")),
        EventKind::Assigned { .. } | EventKind::Unassigned { .. } | EventKind::Reopened { .. } => {
            Some(None)
        }
        _ => None,
    })?
}

/// One dispatch decision as the API reports it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub work_order: String,
    /// Who got the job; `None` when nobody was eligible.
    pub technician: Option<String>,
    /// Urgent and nobody eligible: escalated to a manager.
    pub escalated: bool,
    /// What led to the decision: `intake`, `batch`, `decline`, `timeout`, `manual`.
    pub cause: String,
    /// The candidates and why (`GET /v1/workorders/{id}/explain` shows it later too).
    #[schema(value_type = Object)]
    pub explanation: Explanation,
}

/// Records `explanation`'s choice on a loaded work order that is waiting for dispatch:
/// assigns the chosen technician as the server, or, for an urgent job nobody can take, opens
/// an escalation to the managers. The caller saves the document and then calls [`log`].
pub async fn record(
    conn: &mut AnyConnection,
    doc: &mut Locked,
    history: &[Event],
    explanation: Explanation,
    cause: &str,
    instance_id: &str,
    ctx: &Ctx<'_>,
) -> Result<Decision, ApiError> {
    if let Some(t) = &explanation.chosen {
        doc.wo.assign(
            &system_actor(instance_id),
            t,
            Some(&format!("auto-dispatch ({cause})")),
            ctx.now,
        )?;
    } else if explanation.escalate {
        let view = doc.view()?;
        let anchor = history
            .iter()
            .rev()
            .find(|e| {
                matches!(
                    e.kind,
                    EventKind::Created
                        | EventKind::Declined { .. }
                        | EventKind::AcceptTimedOut { .. }
                        | EventKind::Unassigned { .. }
                        | EventKind::Reopened { .. }
                )
            })
            .map(|e| e.id.clone())
            .unwrap_or_else(|| "intake".into());
        let major = i64::try_from(ctx.policy.clock.major.as_millis()).unwrap_or(i64::MAX);
        let opened = store::open_escalation(
            conn,
            &NewEscalation {
                wo_id: &view.id,
                kind: URGENT_UNASSIGNED,
                anchor: &anchor,
                region: &view.intake.region,
                reason: format!(
                    "urgent, and no technician in {} is eligible ({} candidates)",
                    view.intake.region,
                    explanation.candidates.len()
                ),
                opened_at: ctx.now,
                due_at: ctx.now.saturating_add(major),
            },
        )
        .await?;
        if opened {
            tracing::warn!(work_order = %view.id, "urgent job with no eligible technician: escalated");
        }
    }
    Ok(Decision {
        work_order: explanation.job.clone(),
        technician: explanation.chosen.clone(),
        escalated: explanation.escalate,
        cause: cause.to_owned(),
        explanation,
    })
}

/// Keeps the decision and its explanation (after the work order row exists).
pub async fn log(conn: &mut AnyConnection, d: &Decision, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO dispatch_log (id, wo_id, decided_at, cause, technician, escalated, explanation)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&d.work_order)
    .bind(now)
    .bind(&d.cause)
    .bind(d.technician.clone())
    .bind(i64::from(d.escalated))
    .bind(serde_json::to_string(&d.explanation).unwrap_or_else(|_| "{}".into()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Decides for one loaded work order waiting for dispatch, records it and saves the
/// document. The caller holds the dispatch lock.
pub async fn dispatch_loaded(
    conn: &mut AnyConnection,
    mut doc: Locked,
    cause: &str,
    instance_id: &str,
    ctx: &Ctx<'_>,
) -> Result<Decision, ApiError> {
    let view = doc.view()?;
    let history = doc
        .wo
        .history()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let refused = crate::db::projection::refused_by(&history);
    let created_at = history.first().map(|e| e.at).unwrap_or(ctx.now);
    let techs = technicians(conn, Some(&view.intake.region)).await?;
    let travel = places::travel_with_sites(conn, site_of(&view), ctx.now).await?;
    let explanation = explain_with(&job_of(&view, refused, created_at), &techs, &travel);
    let decision = record(
        conn,
        &mut doc,
        &history,
        explanation,
        cause,
        instance_id,
        ctx,
    )
    .await?;
    doc.save(conn, SYSTEM_USER, instance_id, ctx).await?;
    log(conn, &decision, ctx.now).await?;
    Ok(decision)
}

/// Re-dispatches work order `id` if its technician gave it back (declined, or the
/// acceptance timed out) and it is still waiting. Its own transaction; errors are logged,
/// and the job then waits for the next on-demand run.
pub async fn redispatch_returned(
    state: &crate::state::AppState,
    id: &str,
) -> Result<Option<Decision>, ApiError> {
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    lock(&mut tx).await?;
    let Some(doc) = Locked::load(&mut tx, id, &state.instance_id).await? else {
        return Ok(None);
    };
    let view = doc.view()?;
    if view.status != sync_core::workorder::Status::PendingDispatch {
        return Ok(None);
    }
    let history = doc
        .wo
        .history()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let Some(cause) = returned_by(&history) else {
        return Ok(None);
    };
    let ctx = state.ctx(now);
    let decision = dispatch_loaded(&mut tx, doc, cause, &state.instance_id, &ctx).await?;
    tx.commit().await?;
    crate::events::notify(state, [crate::events::Change::doc(id)]);
    Ok(Some(decision))
}
