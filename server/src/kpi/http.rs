//! The KPI endpoints: `GET /v1/kpi` (the manager's report over a range) and `GET /v1/kpi/daily`
//! (one summary per day, JSON or CSV). Thin handlers: they read the facts ([`load`]) and hand
//! them to the pure functions of this module.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::csv::daily_csv;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::kpi::{self, DailySummary, DateRange, Facts, KpiReport, Targets};
use crate::policy::KpiTargets;
use crate::state::AppState;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/kpi", web::get().to(kpis))
        .route("/v1/kpi/daily", web::get().to(daily));
}

const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// First day, `YYYY-MM-DD` (UTC); default: today (service time).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD`; default: `from`. At most 366 days after `from`.
    #[param(format = Date)]
    pub to: Option<String>,
    pub region: Option<String>,
    /// `/v1/kpi/daily` only: `json` (default) or `csv` (a spreadsheet-ready download).
    pub format: Option<String>,
}

fn targets(t: &KpiTargets) -> Targets {
    Targets {
        first_response: t.first_response_target,
        first_time_fix: t.first_time_fix_target,
        satisfaction: t.satisfaction_target,
        avg_response_minutes: t.avg_response_target_minutes,
    }
}

/// Reads the range and the facts of every work order that matters to it.
async fn load(
    state: &AppState,
    user: &AuthUser,
    q: &KpiQuery,
) -> Result<
    (
        DateRange,
        Vec<Facts>,
        i64,
        sqlx::pool::PoolConnection<sqlx::Any>,
    ),
    ApiError,
> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, user, q.region.as_deref()).await?;
    let today = kpi::day_of(now)
        .map(|d| d.to_string())
        .unwrap_or_else(|| "1970-01-01".into());
    let from = q.from.clone().unwrap_or(today);
    let to = q.to.clone().unwrap_or_else(|| from.clone());
    let range =
        DateRange::parse(&from, &to).map_err(|e| ApiError::bad("bad_query", e.to_string()))?;
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
        if !scope::covers(&regions, &region) {
            continue;
        }
        let text: String = r.try_get("facts")?;
        match serde_json::from_str::<Facts>(&text) {
            Ok(f) => facts.push(f),
            Err(e) => {
                tracing::error!(error = %e, "unreadable KPI facts row; rebuild the projection")
            }
        }
    }
    Ok((range, facts, now, conn))
}

/// KPIs over a date range (and a region): first response within 24 h, first-time fix,
/// satisfaction, average acceptance and response times, complaint rate, volume by type.
#[utoipa::path(get, path = "/v1/kpi", tag = "board", operation_id = "kpi_report",
    params(KpiQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The KPIs, each with its definition's numerator, denominator and target.", body = Object),
        (status = 400, description = "`bad_query`: a malformed date, from after to, or over 366 days.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
pub async fn kpis(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<KpiQuery>,
) -> Result<HttpResponse, ApiError> {
    if q.format.as_deref().is_some_and(|f| f != "json") {
        return Err(ApiError::bad(
            "bad_query",
            "format: the report is JSON only (CSV is offered by /v1/kpi/daily)",
        ));
    }
    let (range, facts, now, _conn) = load(&state, &user, &q).await?;
    let report: KpiReport = kpi::report(
        &facts,
        &range,
        q.region.as_deref(),
        now,
        &targets(&state.policy.kpi),
    );
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Serialize)]
pub(super) struct DailyRow {
    #[serde(flatten)]
    pub(super) summary: DailySummary,
    /// Breaches whose deadline fell on this day, by rule.
    pub(super) breaches: BTreeMap<String, u64>,
}

/// The daily summary for each day of a range (default: today): volume, type distribution,
/// completions and resolution rate, satisfaction, first-time fix, and breaches by rule.
#[utoipa::path(get, path = "/v1/kpi/daily", tag = "board", operation_id = "kpi_daily",
    params(KpiQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "One summary per day (`format=csv`: the same as CSV, one line per day).",
            content((Vec<Object> = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`bad_query`: a malformed date, from after to, over 366 days, or an unknown format.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
pub async fn daily(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<KpiQuery>,
) -> Result<HttpResponse, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "bad_query",
                format!("format {other:?}: use json or csv"),
            ))
        }
    };
    let (range, facts, _now, mut conn) = load(&state, &user, &q).await?;
    let regions = scope::office_regions(&mut conn, &user, q.region.as_deref()).await?;
    let rows = sqlx::query(
        "SELECT rule, region, due_at FROM clocks
         WHERE breached_at IS NOT NULL AND cleared_at IS NULL AND due_at >= $1 AND due_at < $2",
    )
    .bind(range.start_ms())
    .bind(range.end_ms())
    .fetch_all(&mut *conn)
    .await?;
    let mut by_day: HashMap<i64, BTreeMap<String, u64>> = HashMap::new();
    for r in rows {
        let region: String = r.try_get("region")?;
        if !scope::covers(&regions, &region) {
            continue;
        }
        let due: i64 = r.try_get("due_at")?;
        let rule: String = r.try_get("rule")?;
        *by_day
            .entry(due.div_euclid(DAY_MS))
            .or_default()
            .entry(rule)
            .or_default() += 1;
    }
    let series = kpi::daily_series(
        &facts,
        &range,
        q.region.as_deref(),
        &targets(&state.policy.kpi),
    );
    let start_day = range.start_ms().div_euclid(DAY_MS);
    let out: Vec<DailyRow> = series
        .into_iter()
        .enumerate()
        .map(|(i, summary)| DailyRow {
            summary,
            breaches: by_day.remove(&(start_day + i as i64)).unwrap_or_default(),
        })
        .collect();
    if csv {
        let name = format!("kpi-daily-{}-{}.csv", range.from, range.to);
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "content-disposition",
                format!("attachment; filename=\"{name}\""),
            ))
            .body(daily_csv(&out)));
    }
    Ok(HttpResponse::Ok().json(out))
}
