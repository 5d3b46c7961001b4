//! What the dispatcher and the after-sales manager look at every day: the board (work
//! orders by region and status with their deadlines), technicians' loads and today's jobs.
//! The KPIs over a date range are in `kpi::http`.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};

use crate::auth::AuthUser;
use crate::dispatch::service::{self, OPEN_STATUSES};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/board", web::get().to(board))
        .route("/v1/technicians", web::get().to(technicians));
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
