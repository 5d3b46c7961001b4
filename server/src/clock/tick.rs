//! One pass of the service clock, and the background task that runs it.
//!
//! A pass looks for clock rows past their deadline whose breach is not recorded yet, and
//! records each with a conditional update (`… AND breached_at IS NULL`): however many
//! instances run the pass at once, exactly one records a given breach and takes its action.
//! The only action today is CS-ACCEPT's: the job its technician did not accept in time is
//! taken back (an `accept_timed_out` event by the server) and offered to the next technician.

use serde::Serialize;
use sqlx::Row;
use sync_core::workorder::Status;

use super::rules::Rule;
use crate::dispatch::service::{self, Decision};
use crate::error::ApiError;
use crate::state::AppState;
use crate::workorders::locked::{system_actor, Locked};

/// Most breaches recorded by one pass; the rest wait for the next.
const BATCH: i64 = 500;

/// A breach this pass recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Breach {
    pub work_order: String,
    /// The rule id, e.g. `CS-ACCEPT`.
    pub rule: String,
    pub anchor: String,
    pub due_at: i64,
}

/// What one pass did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct TickReport {
    /// Service time of the pass (ms since the epoch).
    pub now: i64,
    pub breaches: Vec<Breach>,
    /// Jobs taken back because nobody accepted them in time.
    pub timed_out: Vec<String>,
    /// Where those jobs went next.
    pub redispatched: Vec<Decision>,
    /// Quality-audit draws this pass made (each finished day is drawn once).
    pub audit_draws: Vec<crate::audit::draw::Draw>,
}

/// Runs one pass at the service time.
pub async fn run_once(state: &AppState) -> Result<TickReport, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let due = sqlx::query(
        "SELECT wo_id, rule, anchor, technician, due_at, stopped_at FROM clocks
         WHERE breached_at IS NULL AND (
             (stopped_at IS NULL AND due_at < $1)
          OR (stopped_at IS NOT NULL AND stopped_at > due_at)
          OR (stop = 'met' AND not_before IS NOT NULL AND stopped_at < not_before))
         ORDER BY due_at, wo_id, rule, anchor LIMIT $2",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let mut report = TickReport {
        now,
        ..TickReport::default()
    };
    for row in due {
        if let Err(e) = record_one(state, &row, now, &mut report).await {
            // Logged and skipped: one damaged work order must not stop every later breach.
            tracing::error!(error = %e, "service clock: recording a breach failed");
        }
    }
    match crate::audit::draw::run_due(state, now).await {
        Ok(draws) => report.audit_draws = draws,
        Err(e) => tracing::error!(error = %e, "service clock: the audit draw failed"),
    }
    Ok(report)
}

/// Records one due row's breach (once) and takes its action, in one transaction.
async fn record_one(
    state: &AppState,
    row: &sqlx::any::AnyRow,
    now: i64,
    report: &mut TickReport,
) -> Result<(), ApiError> {
    let wo_id: String = row.try_get("wo_id")?;
    let rule: String = row.try_get("rule")?;
    let anchor: String = row.try_get("anchor")?;
    let technician: Option<String> = row.try_get("technician")?;
    let due_at: i64 = row.try_get("due_at")?;
    let running = row.try_get::<Option<i64>, _>("stopped_at")?.is_none();
    let accept = running && rule == Rule::Accept.id();

    let mut tx = state.db.begin_write().await?;
    // Lock order, as everywhere: the dispatch lock, then the document, then its rows.
    let doc = if accept {
        service::lock(&mut tx).await?;
        Locked::load(&mut tx, &wo_id, &state.instance_id).await?
    } else {
        None
    };
    // The condition again: a sync may have stopped the clock in time since the read.
    let recorded = sqlx::query(
        "UPDATE clocks SET breached_at = $1
             WHERE wo_id = $2 AND rule = $3 AND anchor = $4 AND breached_at IS NULL AND (
                 (stopped_at IS NULL AND due_at < $1)
              OR (stopped_at IS NOT NULL AND stopped_at > due_at)
              OR (stop = 'met' AND not_before IS NOT NULL AND stopped_at < not_before))",
    )
    .bind(now)
    .bind(&wo_id)
    .bind(&rule)
    .bind(&anchor)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !recorded {
        // Another instance got there first, or the clock stopped in time meanwhile.
        return Ok(());
    }
    crate::clock::store::summarize(&mut tx, std::slice::from_ref(&wo_id)).await?;
    tracing::info!(work_order = %wo_id, %rule, %anchor, due_at, "service clock: breach recorded");
    let redispatched = match (doc, technician.as_deref()) {
        (Some(doc), Some(t)) => time_out(state, &mut tx, doc, t, now).await?,
        _ => None,
    };
    tx.commit().await?;
    let taken_from = redispatched.as_ref().and(technician);
    crate::events::notify(
        state,
        [crate::events::Change::doc(&wo_id).taken_from(taken_from)],
    );
    if let Some(d) = redispatched {
        report.timed_out.push(wo_id.clone());
        report.redispatched.push(d);
    }
    report.breaches.push(Breach {
        work_order: wo_id,
        rule,
        anchor,
        due_at,
    });
    Ok(())
}

/// Takes back a job `technician` did not accept in time and offers it to the next one.
/// Nothing happens when the job has moved on meanwhile (accepted, reassigned, cancelled).
async fn time_out(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    mut doc: Locked,
    technician: &str,
    now: i64,
) -> Result<Option<Decision>, ApiError> {
    let view = doc.view()?;
    let wo_id = view.id.clone();
    if view.status != Status::Assigned || view.assignee.as_deref() != Some(technician) {
        return Ok(None);
    }
    doc.wo
        .accept_timed_out(&system_actor(&state.instance_id), now)?;
    tracing::info!(work_order = %wo_id, technician, "acceptance timed out: back to dispatch");
    let ctx = state.ctx(now);
    let d = service::dispatch_loaded(tx, doc, "timeout", &state.instance_id, &ctx).await?;
    Ok(Some(d))
}

/// Runs a pass every `policy.clock.tick` until the process stops. A failed pass is logged
/// and retried at the next tick.
pub fn spawn(state: actix_web::web::Data<AppState>) {
    let every = state.policy.clock.tick;
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match run_once(&state).await {
                Ok(r) if !r.breaches.is_empty() => {
                    tracing::info!(
                        breaches = r.breaches.len(),
                        timed_out = r.timed_out.len(),
                        "service clock pass"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "service clock pass failed"),
            }
        }
    });
}
