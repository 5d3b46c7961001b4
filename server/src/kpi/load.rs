//! Reading what the KPI endpoints aggregate: the service time, the caller's regions, the facts
//! of the work orders that matter to a range, and the work orders that may bring their faults
//! back ([`Returns`]).

use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};

use super::{DateRange, Facts, Inputs, KpiError, Returns, Targets};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::policy::KpiTargets;
use crate::state::AppState;
use crate::workorders::scope;

/// Everything a KPI endpoint computes from, read in one go.
pub(super) struct Loaded {
    pub range: DateRange,
    pub facts: Vec<Facts>,
    pub returns: Returns,
    pub now: i64,
    pub targets: Targets,
    /// The caller's regions (as `scope::office_regions` answers them).
    pub regions: Option<Vec<String>>,
    pub conn: PoolConnection<Any>,
}

impl Loaded {
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            facts: &self.facts,
            returns: &self.returns,
            now: self.now,
            targets: &self.targets,
        }
    }
}

pub(super) fn targets(t: &KpiTargets) -> Targets {
    Targets {
        first_response: t.first_response_target,
        first_time_fix: t.first_time_fix_target,
        satisfaction: t.satisfaction_target,
        avg_response_minutes: t.avg_response_target_minutes,
    }
}

/// Reads the range (`range_at` decides it from the service time: the query's days or their
/// defaults), the facts of every work order created, completed or followed up in it that the
/// caller may see, and every work order sharing a serial with one completed in it.
pub(super) async fn load(
    state: &AppState,
    user: &AuthUser,
    region: Option<&str>,
    range_at: impl FnOnce(i64) -> Result<DateRange, KpiError>,
) -> Result<Loaded, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, user, region).await?;
    let range = range_at(now).map_err(|e| ApiError::bad("bad_query", e.to_string()))?;
    let (start, end) = (range.start_ms(), range.end_ms());
    let rows = sqlx::query(
        "SELECT facts, region FROM wo_facts
         WHERE (created_at >= $1 AND created_at < $2) OR (completed_at >= $1 AND completed_at < $2)
            OR (followed_up_at >= $1 AND followed_up_at < $2)",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let mut facts = Vec::with_capacity(rows.len());
    for r in rows {
        let region: String = r.try_get("region")?;
        if scope::covers(&regions, &region) {
            facts.extend(parse(&r)?);
        }
    }
    // A return may be in any region and any time after the range: the product came back.
    let rows = sqlx::query(
        "SELECT facts FROM wo_facts WHERE serial IN (
             SELECT serial FROM wo_facts WHERE serial <> '' AND completed_at IS NOT NULL
               AND ((created_at >= $1 AND created_at < $2) OR (completed_at >= $1 AND completed_at < $2)))",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for r in rows {
        candidates.extend(parse(&r)?);
    }
    let window_ms =
        i64::try_from(state.policy.kpi.repeat_fault_window.as_millis()).unwrap_or(i64::MAX);
    Ok(Loaded {
        range,
        facts,
        returns: Returns::new(window_ms, &candidates),
        now,
        targets: targets(&state.policy.kpi),
        regions,
        conn,
    })
}

/// The facts of a row; an unreadable row is logged and skipped (one bad row must not take
/// every report down).
fn parse(r: &sqlx::any::AnyRow) -> Result<Option<Facts>, ApiError> {
    let text: String = r.try_get("facts")?;
    match serde_json::from_str::<Facts>(&text) {
        Ok(f) => Ok(Some(f)),
        Err(e) => {
            tracing::error!(error = %e, "unreadable KPI facts row; rebuild the projection");
            Ok(None)
        }
    }
}

/// The query's days: `from` (default: the service day of `now`) to `to` (default: `from`).
pub(super) fn days(now: i64, from: Option<&str>, to: Option<&str>) -> Result<DateRange, KpiError> {
    let today = super::day_of(now)
        .map(|d| d.to_string())
        .unwrap_or_else(|| "1970-01-01".into());
    let from = from.map_or(today, str::to_owned);
    let to = to.map_or_else(|| from.clone(), str::to_owned);
    DateRange::parse(&from, &to)
}
