//! Recording a planned batch in short write transactions ("chunks").
//!
//! `POST /v1/dispatch/auto` plans every waiting job at once without any lock
//! ([`super::explain_batch`]: tens of milliseconds for 10,000 jobs), then records the plan
//! here. Recording costs about a millisecond per assignment (load the document, append the
//! event, change log, projections, `dispatch_log`), so one transaction for 10,000 jobs held
//! SQLite's write lock for ~12 s and every technician's sync waited behind it. A chunk instead
//! ends once it has run its time budget or recorded its most decisions ([`ChunkBounds`], from
//! the policy's `[dispatch]`), commits, and lets waiting writers in before the next one.
//!
//! Each decision stays atomic with its document: the event, the change log, the projections
//! and the `dispatch_log` row commit together, in the decision's chunk. Each chunk takes the
//! locks in the usual order (the dispatch lock, then its documents in id order), re-reads the
//! loads and the jobs, and re-checks every planned decision ([`super::chunk`]): whatever
//! happened between chunks (an intake, a decline or completion in a sync, an admin's change,
//! another instance's batch), no technician is given more than their free slots.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Connection, Row};
use sync_core::workorder::Status;

use super::api::{BatchDecision, BatchReport};
use super::chunk::{Checked, Recheck};
use super::service::{self, Decision};
use super::{Explanation, Job, Travel};
use crate::db::projection::Ctx;
use crate::db::Backend;
use crate::error::ApiError;
use crate::state::AppState;
use crate::workorders::locked::{Locked, SYSTEM_USER};

/// Seconds each chunk held the write transaction.
pub const CHUNK_SECONDS: &str = "fieldsync_dispatch_chunk_seconds";

/// When a chunk ends: after `budget` holding the write lock, or after `max_decisions`.
///
/// The defaults (`[dispatch] batch_chunk_budget = "130ms"`, `batch_chunk_decisions = 256`)
/// aim at no chunk holding the lock for more than ~250 ms. The budget is checked after each
/// decision, so the hold is the budget plus one decision (~1 ms, tens when a document is
/// compacted) plus the commit, usually an fsync of a few ms but, when it crosses SQLite's WAL
/// auto-checkpoint, also a copy of the WAL into the database (up to ~100 ms measured on the
/// 2-core test machine). Counting time rather than decisions keeps the bound on a slow or busy
/// machine; the decision cap bounds the documents a chunk locks up front (at ~0.5 ms a
/// decision it is reached at about the same time as the budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkBounds {
    pub budget: Duration,
    pub max_decisions: usize,
}

impl ChunkBounds {
    pub fn of(policy: &crate::policy::DispatchPolicy) -> ChunkBounds {
        ChunkBounds {
            budget: policy.batch_chunk_budget,
            max_decisions: policy.batch_chunk_decisions,
        }
    }
}

/// What the chunks did, for the log and the benchmark.
#[derive(Debug, Default)]
struct Progress {
    chunks: usize,
    longest: Duration,
    redecided: usize,
    gone: usize,
    /// Decisions the last chunk got through before its time ran out (0 before the first).
    last_recorded: usize,
}

/// How many decisions a chunk locks up front: the time budget usually ends a chunk before
/// [`ChunkBounds::max_decisions`], so after the first chunk this is twice what the last one
/// got through (at least [`MIN_CANDIDATES`]); documents locked and not reached would only be
/// locked again by the next chunk.
fn candidates(bounds: ChunkBounds, last_recorded: usize) -> usize {
    if last_recorded == 0 {
        return bounds.max_decisions;
    }
    bounds
        .max_decisions
        .min(last_recorded.saturating_mul(2).max(MIN_CANDIDATES))
}

/// The fewest decisions a chunk locks up front once the pace is known.
const MIN_CANDIDATES: usize = 16;

/// Records `plan` (decisions for `jobs`, in serving order) chunk by chunk and reports what
/// was decided. A failing chunk stops the batch: earlier chunks stay committed, and the jobs
/// after it still wait for dispatch (a new run takes them).
pub async fn record(
    state: &AppState,
    jobs: Vec<Job>,
    plan: Vec<Explanation>,
    travel: Travel,
    bounds: ChunkBounds,
) -> Result<BatchReport, ApiError> {
    let mut report = BatchReport {
        considered: jobs.len(),
        assigned: 0,
        waiting: 0,
        escalated: 0,
        decisions: Vec::with_capacity(plan.len()),
    };
    let jobs: HashMap<String, Job> = jobs.into_iter().map(|j| (j.id.clone(), j)).collect();
    let mut queue: VecDeque<Explanation> = plan.into();
    let mut progress = Progress::default();
    // One connection for every chunk. Measured with 10,000 jobs on an idle server: a chunk
    // on a connection taken afresh from the pool got through ~63 decisions in 150 ms, on the
    // same connection ~113. (Likely why: SQLite drops a connection's page cache when another
    // connection wrote since its last transaction, and the pool hands out its connections in
    // turn.)
    let mut conn = state.db.pool.acquire().await?;
    while !queue.is_empty() {
        let step = chunk(
            state,
            &mut conn,
            Inputs {
                jobs: &jobs,
                travel: &travel,
            },
            &mut queue,
            bounds,
            &mut report,
            &mut progress,
        );
        if let Err(e) = step.await {
            tracing::error!(
                recorded = report.decisions.len(),
                left = queue.len(),
                "auto-dispatch stopped by a failing chunk; the rest still waits"
            );
            return Err(e);
        }
        if !queue.is_empty() {
            yield_to_writers(&state.db).await;
        }
    }
    tracing::info!(
        chunks = progress.chunks,
        longest_chunk_ms = progress.longest.as_secs_f64() * 1e3,
        redecided = progress.redecided,
        no_longer_waiting = progress.gone,
        "auto-dispatch recorded"
    );
    Ok(report)
}

/// What every chunk decides from: the jobs as planned, and the travel they were ranked with
/// (a job decided again is ranked the same way).
#[derive(Clone, Copy)]
struct Inputs<'a> {
    jobs: &'a HashMap<String, Job>,
    travel: &'a Travel,
}

/// One chunk: the first decisions of `queue`, in one short transaction.
async fn chunk(
    state: &AppState,
    conn: &mut AnyConnection,
    inputs: Inputs<'_>,
    queue: &mut VecDeque<Explanation>,
    bounds: ChunkBounds,
    report: &mut BatchReport,
    progress: &mut Progress,
) -> Result<(), ApiError> {
    let ids: Vec<String> = queue
        .iter()
        .take(candidates(bounds, progress.last_recorded))
        .map(|e| e.job.clone())
        .collect();
    let left_before = queue.len();
    let decided_before = report.decisions.len();
    // As `Db::begin_write`: this process's writer turn, then SQLite's write lock at once.
    let _turn = state.db.write_turn().await?;
    let mut tx = match state.db.backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    };
    let started = Instant::now();
    let now = state.clock.now(&mut tx).await?;
    // Lock order, as everywhere: the dispatch lock, then the documents in id order. The reads
    // come after the locks, so they see every writer that committed before this chunk.
    service::lock(&mut tx).await?;
    crate::db::docs::lock_rows(&mut tx, &ids)
        .await
        .map_err(ApiError::Internal)?;
    let mut recheck = Recheck::with_travel(
        service::technicians(&mut tx, None).await?,
        inputs.travel.clone(),
    );
    let waiting = still_waiting(&mut tx, &ids).await?;
    let prologue = started.elapsed();
    let ctx = state.ctx(now);
    for _ in 0..ids.len() {
        let Some(planned) = queue.pop_front() else {
            break;
        };
        let current = waiting.get(&planned.job).and_then(|refused| {
            inputs.jobs.get(&planned.job).map(|j| Job {
                refused: refused.clone(),
                ..j.clone()
            })
        });
        let e = match recheck.check(planned, current.as_ref()) {
            Checked::Gone => None,
            Checked::Planned(e) => Some(e),
            Checked::Redecided(e) => {
                progress.redecided += 1;
                Some(e)
            }
        };
        match e {
            Some(e) => match record_one(&mut tx, e, state, &ctx).await? {
                Some(d) => count(report, d),
                None => progress.gone += 1,
            },
            None => progress.gone += 1,
        }
        if started.elapsed() >= bounds.budget {
            break;
        }
    }
    let before_commit = started.elapsed();
    tx.commit().await?;
    let decided = report.decisions[decided_before..]
        .iter()
        .filter(|d| d.technician.is_some() || d.escalated);
    crate::events::notify(
        state,
        decided.map(|d| crate::events::Change::doc(&d.work_order)),
    );
    let held = started.elapsed();
    metrics::histogram!(CHUNK_SECONDS).record(held.as_secs_f64());
    progress.chunks += 1;
    progress.longest = progress.longest.max(held);
    progress.last_recorded = left_before - queue.len();
    tracing::debug!(
        chunk = progress.chunks,
        held_ms = held.as_secs_f64() * 1e3,
        // The chunk's fixed costs: locks and re-reads before the first decision, the commit.
        prologue_ms = prologue.as_secs_f64() * 1e3,
        commit_ms = (held - before_commit).as_secs_f64() * 1e3,
        recorded = report.decisions.len(),
        left = queue.len(),
        "auto-dispatch chunk committed"
    );
    Ok(())
}

fn count(report: &mut BatchReport, d: Decision) {
    match (&d.technician, d.escalated) {
        (Some(_), _) => report.assigned += 1,
        (None, true) => report.escalated += 1,
        (None, false) => report.waiting += 1,
    }
    report.decisions.push(BatchDecision {
        work_order: d.work_order,
        technician: d.technician,
        escalated: d.escalated,
    });
}

/// Of `ids`, the work orders still waiting for dispatch, with who refused each so far.
async fn still_waiting(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<HashMap<String, Vec<String>>> {
    let mut out = HashMap::with_capacity(ids.len());
    for part in ids.chunks(crate::db::MAX_BINDS) {
        let sql = format!(
            "SELECT id, refused_by FROM work_orders WHERE status = 'pending_dispatch' AND id IN ({})",
            crate::db::projection::placeholders(1, part.len())
        );
        let mut q = sqlx::query(&sql);
        for id in part {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let refused: String = row.try_get("refused_by")?;
            out.insert(
                row.try_get("id")?,
                serde_json::from_str(&refused).unwrap_or_default(),
            );
        }
    }
    Ok(out)
}

/// Records one checked decision with its document. `None` when the document is no longer
/// waiting for dispatch after all.
async fn record_one(
    tx: &mut AnyConnection,
    e: Explanation,
    state: &AppState,
    ctx: &Ctx<'_>,
) -> Result<Option<Decision>, ApiError> {
    let decision = if e.chosen.is_none() && !e.escalate {
        // Nothing to record in the document; the explanation says why it waits.
        Decision {
            work_order: e.job.clone(),
            technician: None,
            escalated: false,
            cause: "batch".into(),
            explanation: e,
        }
    } else {
        let Some(mut doc) = Locked::load(tx, &e.job, &state.instance_id).await? else {
            return Ok(None);
        };
        if doc.view()?.status != Status::PendingDispatch {
            return Ok(None);
        }
        let history = doc
            .wo
            .history()
            .map_err(|x| ApiError::Internal(anyhow::anyhow!("{x}")))?;
        let d =
            service::record(tx, &mut doc, &history, e, "batch", &state.instance_id, ctx).await?;
        doc.save(tx, SYSTEM_USER, &state.instance_id, ctx).await?;
        d
    };
    service::log(tx, &decision, ctx.now).await?;
    Ok(Some(decision))
}

/// The longest pause between two chunks on SQLite.
const SQLITE_YIELD_MAX: Duration = Duration::from_millis(100);

/// Lets other requests in between two chunks. Writers already waiting go first anyway (they
/// queued for the write turn before the next chunk does, `db::write`), but requests still
/// reading or merging would need the lock a moment later: without a pause the batch held
/// SQLite's lock ~85 % of the time and syncs queued for seconds behind it (measured: sync p99
/// 3.7 s during a 10,000-order batch). So on SQLite the batch waits while other pooled
/// connections are in use, at most [`SQLITE_YIELD_MAX`]. PostgreSQL locks rows, not the
/// database: a yield is enough.
async fn yield_to_writers(db: &crate::db::Db) {
    match db.backend {
        Backend::Postgres => tokio::task::yield_now().await,
        Backend::Sqlite => {
            let start = Instant::now();
            loop {
                // Also lets our own connection go back to the pool before it is counted.
                tokio::time::sleep(Duration::from_millis(2)).await;
                // The batch's own connection stays out of the pool.
                let others = (db.pool.size() as usize)
                    .saturating_sub(db.pool.num_idle())
                    .saturating_sub(1);
                if others == 0 || start.elapsed() >= SQLITE_YIELD_MAX {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_locks_twice_what_the_last_one_got_through_within_the_bounds() {
        let b = ChunkBounds::of(&crate::policy::DispatchPolicy::default());
        assert_eq!(b.max_decisions, 256);
        assert_eq!(candidates(b, 0), 256, "the first chunk");
        assert_eq!(candidates(b, 70), 140);
        assert_eq!(candidates(b, 200), 256);
        assert_eq!(candidates(b, 1), MIN_CANDIDATES);
        let tiny = ChunkBounds {
            max_decisions: 3,
            ..b
        };
        assert_eq!(candidates(tiny, 3), 3);
        assert_eq!(candidates(tiny, 1), 3);
    }
}
