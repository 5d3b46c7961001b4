//! The daily draw in the database: the candidates of a day (work orders whose completion, in
//! field time, falls in that UTC day), the sample ([`super::sample::draw`]), the audits and
//! who gets them, all in one write transaction.
//!
//! **Once per day.** The draw's row (`audit_draws`, keyed by the day) is inserted with
//! `ON CONFLICT DO NOTHING` before anything else is written: however many instances or
//! admins run the draw of a day at once, one inserts it and the others write nothing.
//!
//! **Who audits.** Each sampled work order goes to the active auditor of its region with the
//! fewest open audits, ties to the smaller user id, counting the audits given out so far in the
//! same draw (least-loaded; a day's sample of one region spreads over its auditors). A region
//! with no auditor leaves its audits `unassigned`: they are listed with `state=unassigned` and
//! every clock pass gives them out as soon as an auditor of the region exists.
//!
//! **Which days.** Every clock pass draws each finished UTC day not yet drawn, from the day
//! after the last draw (or yesterday, on a new database) up to yesterday, at most
//! [`BACKFILL_DAYS`] back. A work order completed offline and synced after its day was drawn
//! is not a candidate of a later day: its completion time decides its day.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::sample::{self, DAY_MS, SEED_LIMIT};
use crate::error::ApiError;
use crate::state::AppState;

/// How many finished days a clock pass draws at most, after a server was stopped for days.
pub const BACKFILL_DAYS: i64 = 7;

/// One region of a draw.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionDraw {
    pub region: String,
    /// Every work order of the region completed that day, sorted.
    pub candidates: Vec<String>,
    /// The sampled ones, sorted (their audits are the day's audits).
    pub chosen: Vec<String>,
}

/// A day's draw: what reproduces it (seed, rate, candidates) and what it chose.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Draw {
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The random seed (0 ≤ seed < 2^53).
    pub seed: i64,
    /// The sample rate of the policy at the draw.
    pub rate: f64,
    /// Work orders completed that day, every region.
    pub candidate_count: i64,
    pub drawn_at: i64,
    /// `system` (the service clock) or the admin who ran it.
    pub drawn_by: String,
    /// True when this request made the draw; false when it had been made before.
    pub new: bool,
    /// Per region (only the caller's regions).
    pub regions: Vec<RegionDraw>,
}

/// The work orders completed in `[start, start + 1 day)`, by region.
async fn candidates(
    conn: &mut AnyConnection,
    start: i64,
) -> sqlx::Result<BTreeMap<String, Vec<String>>> {
    let rows = sqlx::query(
        "SELECT f.wo_id AS wo_id, f.region AS region FROM wo_facts f JOIN work_orders w ON w.id = f.wo_id
         WHERE f.completed_at >= $1 AND f.completed_at < $2 AND w.status <> 'cancelled'
         ORDER BY f.wo_id",
    )
    .bind(start)
    .bind(start + DAY_MS)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        out.entry(r.try_get("region")?)
            .or_default()
            .push(r.try_get("wo_id")?);
    }
    Ok(out)
}

/// A stable id for the audit of `wo_id` drawn on `day`.
pub fn audit_id(day: &str, wo_id: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("{day}\n{wo_id}").as_bytes());
    format!("aud-{}", &hex::encode(d)[..16])
}

/// Active auditors and their open audits, to give audits out least-loaded first.
pub struct Auditors {
    /// (user id, regions), by id.
    people: Vec<(String, Vec<String>)>,
    load: HashMap<String, i64>,
}

impl Auditors {
    pub async fn load(conn: &mut AnyConnection) -> sqlx::Result<Auditors> {
        let mut people = Vec::new();
        for r in sqlx::query(
            "SELECT id, regions FROM users WHERE role = 'auditor' AND active = 1 ORDER BY id",
        )
        .fetch_all(&mut *conn)
        .await?
        {
            let regions: String = r.try_get("regions")?;
            let regions: Vec<String> = serde_json::from_str(&regions).unwrap_or_default();
            people.push((r.try_get("id")?, regions));
        }
        let mut load = HashMap::new();
        for r in sqlx::query(
            "SELECT auditor, COUNT(*) AS n FROM audits WHERE state = 'open' GROUP BY auditor",
        )
        .fetch_all(&mut *conn)
        .await?
        {
            load.insert(r.try_get("auditor")?, r.try_get::<i64, _>("n")?);
        }
        Ok(Auditors { people, load })
    }

    /// The least-loaded auditor of `region` (ties: smaller id), counted as given one more.
    pub fn take(&mut self, region: &str) -> Option<String> {
        let who = self
            .people
            .iter()
            .filter(|(_, rs)| rs.iter().any(|r| r == region))
            .map(|(id, _)| (self.load.get(id).copied().unwrap_or(0), id))
            .min()
            .map(|(_, id)| id.clone())?;
        *self.load.entry(who.clone()).or_default() += 1;
        Some(who)
    }
}

pub async fn history(
    conn: &mut AnyConnection,
    audit: &str,
    at: i64,
    by: &str,
    action: &str,
    detail: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_history (audit_id, at, by_user, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(audit)
    .bind(at)
    .bind(by)
    .bind(action)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Draws `day` unless it was drawn already; true when this call drew it. Call in a write
/// transaction.
pub async fn draw_day(
    conn: &mut AnyConnection,
    day: &str,
    rate: f64,
    by: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let start = sample::day_start(day)
        .ok_or_else(|| ApiError::bad("bad_day", format!("{day:?} is not a day YYYY-MM-DD")))?;
    let pool = candidates(conn, start).await?;
    let seed = rand::rngs::OsRng.gen_range(0..SEED_LIMIT);
    let chosen = sample::draw(&pool, rate, seed);
    let total: usize = pool.values().map(Vec::len).sum();
    let inserted = sqlx::query(
        "INSERT INTO audit_draws (day, day_start, seed, rate, candidate_count, drawn_at, drawn_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (day) DO NOTHING",
    )
    .bind(day)
    .bind(start)
    .bind(seed as i64) // < 2^53
    .bind(rate)
    .bind(total as i64)
    .bind(now)
    .bind(by)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    let mut auditors = Auditors::load(conn).await?;
    for (region, ids) in &pool {
        let picked = chosen.get(region).map(Vec::as_slice).unwrap_or_default();
        sqlx::query(
            "INSERT INTO audit_draw_regions (day, region, candidates, chosen) VALUES ($1, $2, $3, $4)",
        )
        .bind(day)
        .bind(region)
        .bind(serde_json::to_string(ids).map_err(anyhow::Error::from)?)
        .bind(picked.len() as i64)
        .execute(&mut *conn)
        .await?;
        for wo in picked {
            let id = audit_id(day, wo);
            let auditor = auditors.take(region);
            sqlx::query(
                "INSERT INTO audits (id, day, day_start, wo_id, region, state, auditor, assigned_at, drawn_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(day)
            .bind(start)
            .bind(wo)
            .bind(region)
            .bind(if auditor.is_some() { "open" } else { "unassigned" })
            .bind(auditor.clone())
            .bind(auditor.as_ref().map(|_| now))
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let detail = format!(
                "{} of {} completed in {region} on {day}; seed {seed}, rate {rate}",
                picked.len(),
                ids.len()
            );
            history(conn, &id, now, by, "drawn", &detail).await?;
            if let Some(a) = &auditor {
                history(conn, &id, now, by, "assigned", a).await?;
            }
        }
    }
    tracing::info!(day, seed, candidates = total, "audit draw made");
    Ok(true)
}

/// Gives waiting audits to auditors of their regions, if any exist now. Returns how many.
pub async fn assign_waiting(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let waiting: Vec<(String, String)> = {
        let mut conn = state.db.pool.acquire().await?;
        sqlx::query_as(
            "SELECT id, region FROM audits WHERE state = 'unassigned' ORDER BY day_start, id",
        )
        .fetch_all(&mut *conn)
        .await?
    };
    if waiting.is_empty() {
        return Ok(0);
    }
    let mut tx = state.db.begin_write().await?;
    let mut auditors = Auditors::load(&mut tx).await?;
    let mut given = 0;
    for (id, region) in waiting {
        let Some(a) = auditors.take(&region) else {
            continue;
        };
        let done = sqlx::query(
            "UPDATE audits SET state = 'open', auditor = $1, assigned_at = $2, version = version + 1
             WHERE id = $3 AND state = 'unassigned'",
        )
        .bind(&a)
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            history(&mut tx, &id, now, "system", "assigned", &a).await?;
            given += 1;
        }
    }
    tx.commit().await?;
    Ok(given)
}

/// What a clock pass does for the audit: draws every finished day not drawn yet (see the
/// module's docs) and gives out waiting audits. Returns the draws it made.
pub async fn run_due(state: &AppState, now: i64) -> Result<Vec<Draw>, ApiError> {
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    let last: Option<String> = {
        let mut conn = state.db.pool.acquire().await?;
        sqlx::query_scalar("SELECT MAX(day) FROM audit_draws")
            .fetch_one(&mut *conn)
            .await?
    };
    let first = match last.as_deref().and_then(sample::day_start) {
        Some(d) => d + DAY_MS,
        None => today - DAY_MS,
    }
    .max(today - BACKFILL_DAYS * DAY_MS);
    let mut made = Vec::new();
    let mut start = first;
    while start < today {
        let day = sample::day_of(start);
        let mut tx = state.db.begin_write().await?;
        let new = draw_day(&mut tx, &day, state.policy.audit.sample_rate, "system", now).await?;
        tx.commit().await?;
        if new {
            let mut conn = state.db.pool.acquire().await?;
            if let Some(mut d) = super::store::draw(&mut conn, &day, None).await? {
                d.new = true;
                made.push(d);
            }
        }
        start += DAY_MS;
    }
    assign_waiting(state, now).await?;
    Ok(made)
}
