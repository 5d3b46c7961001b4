//! The KPI endpoints: `GET /v1/kpi` (the manager's report over a range), `GET /v1/kpi/daily`
//! (one summary per day, JSON or CSV) and `GET /v1/kpi/trends` (`trends_api`: by day, ISO week
//! or month). Thin handlers: they read the facts (`load`) and hand them to the pure functions
//! of this module.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::csv::daily_csv;
use super::load::{days, load};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::kpi::{self, DailySummary, KpiReport};
use crate::state::AppState;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/kpi", web::get().to(kpis))
        .route("/v1/kpi/daily", web::get().to(daily))
        .route("/v1/kpi/trends", web::get().to(super::trends_api::trends));
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

/// KPIs over a date range (and a region): first response within 24 h, first-time fix,
/// satisfaction, average acceptance and response times, complaint rate, repeat-fault rate,
/// volume by type.
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
    let region = q.region.as_deref();
    let loaded = load(&state, &user, region, |now| {
        days(now, q.from.as_deref(), q.to.as_deref())
    })
    .await?;
    let report: KpiReport = kpi::report(&loaded.inputs(), &loaded.range, region);
    let report =
        super::audit::with_quality_audit(&state, &user, report, &loaded.range, region).await?;
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
/// completions and resolution rate, satisfaction, first-time fix, repeat-fault rate, and
/// breaches by rule.
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
    let csv = wants_csv(q.format.as_deref())?;
    let region = q.region.as_deref();
    let mut loaded = load(&state, &user, region, |now| {
        days(now, q.from.as_deref(), q.to.as_deref())
    })
    .await?;
    let range = loaded.range;
    let rows = sqlx::query(
        "SELECT rule, region, due_at FROM clocks
         WHERE breached_at IS NOT NULL AND cleared_at IS NULL AND due_at >= $1 AND due_at < $2",
    )
    .bind(range.start_ms())
    .bind(range.end_ms())
    .fetch_all(&mut *loaded.conn)
    .await?;
    let mut by_day: HashMap<i64, BTreeMap<String, u64>> = HashMap::new();
    for r in rows {
        let region: String = r.try_get("region")?;
        if !scope::covers(&loaded.regions, &region) {
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
    let series = kpi::daily_series(&loaded.inputs(), &range, region);
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
        return Ok(csv_download(&name, daily_csv(&out)));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `format`: `json` (the default) or `csv`; anything else is a `bad_query`.
pub(super) fn wants_csv(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::bad(
            "bad_query",
            format!("format {other:?}: use json or csv"),
        )),
    }
}

/// A CSV body offered as a download named `name`.
pub(super) fn csv_download(name: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}
