//! What the dispatcher and the after-sales manager look at every day: the board (work
//! orders by region and status with their deadlines), technicians' loads and today's jobs,
//! and the KPIs over a date range with a daily summary.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};

use crate::auth::AuthUser;
use crate::dispatch::service::{self, OPEN_STATUSES};
use crate::error::{ApiError, ErrorBody};
use crate::kpi::{self, DailySummary, DateRange, Facts, KpiReport, Targets};
use crate::policy::KpiTargets;
use crate::state::AppState;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/board", web::get().to(board))
        .route("/v1/technicians", web::get().to(technicians))
        .route("/v1/kpi", web::get().to(kpis))
        .route("/v1/kpi/daily", web::get().to(daily));
}

const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    pub region: Option<String>,
    /// Also list closed and cancelled work orders.
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deadline {
    /// The rule id, e.g. `CS-FIRST-RESPONSE`.
    pub rule: String,
    pub due_at: i64,
    /// Past due and still running.
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoardRow {
    pub id: String,
    pub region: String,
    pub status: String,
    pub assignee: Option<String>,
    pub priority: String,
    pub tier: String,
    pub service_type: String,
    pub customer_name: String,
    pub appointment_start: Option<i64>,
    pub open_conflicts: i64,
    pub created_at: i64,
    /// Running clocks, soonest first.
    pub deadlines: Vec<Deadline>,
    /// Breaches recorded on this work order and not withdrawn.
    pub breaches: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Board {
    /// Service time the board was read at.
    pub now: i64,
    /// region → status → work orders (urgent first, then soonest deadline).
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Vec<BoardRow>>>)]
    pub regions: BTreeMap<String, BTreeMap<String, Vec<BoardRow>>>,
}

#[derive(FromRow)]
struct WoRow {
    id: String,
    region: String,
    status: String,
    assignee: Option<String>,
    priority: String,
    tier: String,
    service_type: String,
    customer_name: String,
    appointment_start: Option<i64>,
    open_conflicts: i64,
    created_at: i64,
}

/// The board: work orders by region and status, with their running deadlines.
#[utoipa::path(get, path = "/v1/board", tag = "board", operation_id = "board",
    params(BoardQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Work orders by region and status.", body = Board),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
async fn board(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, &user, q.region.as_deref()).await?;
    let all = q.all.unwrap_or(false);
    let rows: Vec<WoRow> = sqlx::query_as(
        "SELECT id, region, status, assignee, priority, tier, service_type, customer_name,
                appointment_start, open_conflicts, created_at FROM work_orders ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let clocks = sqlx::query(
        "SELECT wo_id, rule, due_at, stopped_at, breached_at, cleared_at FROM clocks
         WHERE stopped_at IS NULL OR (breached_at IS NOT NULL AND cleared_at IS NULL)",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut deadlines: HashMap<String, Vec<Deadline>> = HashMap::new();
    let mut breaches: HashMap<String, i64> = HashMap::new();
    for c in clocks {
        let wo: String = c.try_get("wo_id")?;
        if c.try_get::<Option<i64>, _>("breached_at")?.is_some()
            && c.try_get::<Option<i64>, _>("cleared_at")?.is_none()
        {
            *breaches.entry(wo.clone()).or_default() += 1;
        }
        if c.try_get::<Option<i64>, _>("stopped_at")?.is_none() {
            let due_at: i64 = c.try_get("due_at")?;
            deadlines.entry(wo).or_default().push(Deadline {
                rule: c.try_get("rule")?,
                due_at,
                overdue: due_at < now,
            });
        }
    }
    let mut out: BTreeMap<String, BTreeMap<String, Vec<BoardRow>>> = BTreeMap::new();
    for r in rows {
        if !scope::covers(&regions, &r.region)
            || (!all && matches!(r.status.as_str(), "closed" | "cancelled"))
        {
            continue;
        }
        let mut d = deadlines.remove(&r.id).unwrap_or_default();
        d.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.rule.cmp(&b.rule)));
        let row = BoardRow {
            breaches: breaches.get(&r.id).copied().unwrap_or(0),
            deadlines: d,
            id: r.id,
            region: r.region.clone(),
            status: r.status.clone(),
            assignee: r.assignee,
            priority: r.priority,
            tier: r.tier,
            service_type: r.service_type,
            customer_name: r.customer_name,
            appointment_start: r.appointment_start,
            open_conflicts: r.open_conflicts,
            created_at: r.created_at,
        };
        out.entry(r.region)
            .or_default()
            .entry(r.status)
            .or_default()
            .push(row);
    }
    for statuses in out.values_mut() {
        for list in statuses.values_mut() {
            list.sort_by(|a, b| {
                let urgent = |r: &BoardRow| r.priority != "urgent";
                let next = |r: &BoardRow| r.deadlines.first().map_or(i64::MAX, |d| d.due_at);
                urgent(a)
                    .cmp(&urgent(b))
                    .then(next(a).cmp(&next(b)))
                    .then_with(|| a.id.cmp(&b.id))
            });
        }
    }
    Ok(HttpResponse::Ok().json(Board { now, regions: out }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TechQuery {
    pub region: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TodayJob {
    pub id: String,
    pub status: String,
    pub region: String,
    pub customer_name: String,
    pub appointment_start: Option<i64>,
    pub appointment_end: Option<i64>,
}

/// How fresh a technician's device is: what a dispatcher asks first when a job looks stuck.
#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct DeviceFreshness {
    pub device_id: String,
    /// The device's last sync (ms, server time).
    pub last_contact_at: i64,
    /// The largest clock offset seen (ms): + ahead, - behind.
    pub clock_skew_ms: i64,
    /// When its clock was flagged as wrong, if it is.
    pub flagged_at: Option<i64>,
    pub flag_reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TechnicianLoad {
    pub id: String,
    pub active: bool,
    pub regions: Vec<String>,
    pub skills: Vec<String>,
    pub capacity: u32,
    /// Open jobs (assigned and not yet completed or cancelled).
    pub open: u32,
    /// open / capacity (1.0 = full).
    pub load: f64,
    /// Open jobs with a visit today (service day, UTC), then open jobs not yet scheduled.
    pub today: Vec<TodayJob>,
    /// The technician's devices, most recently synced first (none: never synced).
    pub devices: Vec<DeviceFreshness>,
}

/// Every technician's load against capacity and today's jobs.
#[utoipa::path(get, path = "/v1/technicians", tag = "board", operation_id = "technician_loads",
    params(TechQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Technicians by id.", body = Vec<TechnicianLoad>),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
async fn technicians(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<TechQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, &user, q.region.as_deref()).await?;
    let techs = service::technicians(&mut conn, None).await?;
    let day_start = now - now.rem_euclid(DAY_MS);
    let open = OPEN_STATUSES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    let jobs = sqlx::query(&format!(
        "SELECT id, status, region, customer_name, appointment_start, appointment_end, assignee FROM work_orders
         WHERE assignee IS NOT NULL AND status IN ({open}) ORDER BY appointment_start, id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut today: HashMap<String, Vec<TodayJob>> = HashMap::new();
    for j in jobs {
        let start: Option<i64> = j.try_get("appointment_start")?;
        let region: String = j.try_get("region")?;
        if start.is_some_and(|s| s < day_start || s >= day_start + DAY_MS)
            || !scope::covers(&regions, &region)
        {
            continue;
        }
        today
            .entry(j.try_get("assignee")?)
            .or_default()
            .push(TodayJob {
                id: j.try_get("id")?,
                status: j.try_get("status")?,
                region,
                customer_name: j.try_get("customer_name")?,
                appointment_start: start,
                appointment_end: j.try_get("appointment_end")?,
            });
    }
    let mut devices: HashMap<String, Vec<DeviceFreshness>> = HashMap::new();
    for d in sqlx::query(
        "SELECT device_id, user_id, last_contact_at, clock_skew_ms, flagged_at, flag_reason FROM devices
         ORDER BY last_contact_at DESC, device_id",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        devices
            .entry(d.try_get("user_id")?)
            .or_default()
            .push(DeviceFreshness::from_row(&d)?);
    }
    let out: Vec<TechnicianLoad> = techs
        .into_iter()
        .filter(|t| t.regions.iter().any(|r| scope::covers(&regions, r)))
        .map(|t| {
            let mut jobs = today.remove(&t.id).unwrap_or_default();
            // Scheduled visits first, by time; unscheduled jobs after.
            jobs.sort_by_key(|j| (j.appointment_start.is_none(), j.appointment_start));
            TechnicianLoad {
                load: if t.capacity == 0 {
                    1.0
                } else {
                    f64::from(t.open) / f64::from(t.capacity)
                },
                today: jobs,
                devices: devices.remove(&t.id).unwrap_or_default(),
                id: t.id,
                active: t.active,
                regions: t.regions,
                skills: t.skills,
                capacity: t.capacity,
                open: t.open,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// The daily rows as CSV: one line per day; rates as fractions (empty when nothing was
/// counted), every service type and clock rule seen in the range as its own column.
fn daily_csv(rows: &[DailyRow]) -> String {
    use std::collections::BTreeSet;
    let types: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.summary.by_type.keys().map(String::as_str))
        .collect();
    let rules: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.breaches.keys().map(String::as_str))
        .collect();
    let rate = |r: &kpi::Rate| r.rate.map(|x| x.to_string()).unwrap_or_default();
    let mut head: Vec<String> = [
        "date",
        "region",
        "volume",
        "completed",
        "resolution_rate",
        "satisfaction_rate",
        "satisfaction_count",
        "first_time_fix_rate",
        "first_time_fix_count",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    head.extend(types.iter().map(|t| format!("volume_{t}")));
    head.extend(rules.iter().map(|r| format!("breaches_{r}")));
    let mut out = csv_line(&head);
    for r in rows {
        let s = &r.summary;
        let mut line = vec![
            s.date.clone(),
            s.region.clone().unwrap_or_default(),
            s.volume.to_string(),
            s.completed.to_string(),
            rate(&s.resolution_rate),
            rate(&s.satisfaction),
            s.satisfaction.denominator.to_string(),
            rate(&s.first_time_fix),
            s.first_time_fix.denominator.to_string(),
        ];
        line.extend(
            types
                .iter()
                .map(|t| s.by_type.get(*t).copied().unwrap_or(0).to_string()),
        );
        line.extend(
            rules
                .iter()
                .map(|x| r.breaches.get(*x).copied().unwrap_or(0).to_string()),
        );
        out.push_str(&csv_line(&line));
    }
    out
}

/// One CSV record (RFC 4180): fields with a comma, quote or line break are quoted. A field
/// that a spreadsheet would read as a formula is prefixed with `'`.
fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| {
            let f = if f.starts_with(['=', '+', '-', '@']) && f.parse::<f64>().is_err() {
                format!("'{f}")
            } else {
                f.clone()
            };
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

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
async fn kpis(
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
struct DailyRow {
    #[serde(flatten)]
    summary: DailySummary,
    /// Breaches whose deadline fell on this day, by rule.
    breaches: BTreeMap<String, u64>,
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
async fn daily(
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

#[cfg(test)]
mod tests {
    use super::csv_line;

    #[test]
    fn csv_fields_are_quoted_when_needed_and_formulas_are_defused() {
        let f = |v: &[&str]| csv_line(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(f(&["2026-11-30", "north", "3"]), "2026-11-30,north,3\r\n");
        assert_eq!(f(&["a,b", "say \"hi\""]), "\"a,b\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(f(&["=SUM(A1)", "-0.5", "@x"]), "'=SUM(A1),-0.5,'@x\r\n");
    }
}
