//! HTTP surface of the service clock: its time (and advancing a manual one), a pass on
//! demand, breaches, escalations and their resolution, devices whose clocks are off, and the
//! effective policy.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sync_core::workorder::Role;

use super::store::LOW_SCORE;
use super::tick::{self, TickReport};
use super::ServiceClock;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::locked::Locked;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/clock", web::get().to(get_clock))
        .route("/v1/admin/clock", web::post().to(advance_clock))
        .route("/v1/admin/clock/tick", web::post().to(run_tick))
        .route("/v1/breaches", web::get().to(breaches))
        .route("/v1/escalations", web::get().to(escalations))
        .route("/v1/escalations/{id}/resolve", web::post().to(resolve))
        .route("/v1/devices", web::get().to(devices))
        .route("/v1/policy", web::get().to(policy));
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClockInfo {
    /// Service time now, ms since the epoch.
    pub now: i64,
    #[schema(value_type = ClockMode)]
    pub mode: &'static str,
}

/// `system`: the service clock is the server's; `manual`: it moves only when an admin
/// advances it (`--clock manual`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: `mode` below writes the same names
pub enum ClockMode {
    #[schema(rename = "system")]
    System,
    #[schema(rename = "manual")]
    Manual,
}

fn mode(c: ServiceClock) -> &'static str {
    match c {
        ServiceClock::System => "system",
        ServiceClock::Manual => "manual",
    }
}

/// The service clock's time and mode.
#[utoipa::path(get, path = "/v1/clock", tag = "clock", operation_id = "get_clock",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Service time now.", body = ClockInfo),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
    ))]
async fn get_clock(state: web::Data<AppState>, _user: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    Ok(HttpResponse::Ok().json(ClockInfo {
        now,
        mode: mode(state.clock),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// How far to move the manual clock forward, e.g. `"90m"`, `"3days"`, `"1h 30m"`: one to
    /// four parts, each 1 to 9 digits and a unit, optionally one space between parts.
    #[schema(
        pattern = "^[0-9]{1,9}(ms|s|sec|secs|seconds|m|min|mins|minutes|h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks)( ?[0-9]{1,9}(ms|s|sec|secs|seconds|m|min|mins|minutes|h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks)){0,3}$"
    )]
    pub advance: String,
}

/// The units [`AdvanceClock::advance`] takes (a subset of humantime's), as its pattern says.
const DURATION_UNITS: &[&str] = &[
    "ms", "s", "sec", "secs", "seconds", "m", "min", "mins", "minutes", "h", "hr", "hrs", "hour",
    "hours", "d", "day", "days", "w", "wk", "wks", "week", "weeks",
];

/// Whether `s` matches the pattern of [`AdvanceClock::advance`]: at most four parts of 1 to 9
/// digits and a unit, so that the sum always fits in i64 milliseconds.
fn is_duration(s: &str) -> bool {
    let mut rest = s.as_bytes();
    for part in 0..4 {
        if part > 0 {
            if rest.is_empty() {
                return true;
            }
            rest = rest.strip_prefix(b" ").unwrap_or(rest);
        }
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let letters = rest[digits..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let unit = &rest[digits..digits + letters];
        if !(1..=9).contains(&digits) || !DURATION_UNITS.iter().any(|u| u.as_bytes() == unit) {
            return false;
        }
        rest = &rest[digits + letters..];
    }
    rest.is_empty()
}

/// Moves a manual service clock forward (admin; servers started with `--clock manual`).
#[utoipa::path(post, path = "/v1/admin/clock", tag = "clock", operation_id = "advance_clock",
    request_body = AdvanceClock, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The clock after the move.", body = ClockInfo),
        (status = 400, description = "`bad_duration`: not a duration of the documented form, such as `90m`; \
            `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only an admin moves the clock.", body = ErrorBody),
        (status = 409, description = "`clock_not_manual`: this server runs on the system clock.", body = ErrorBody),
    ))]
async fn advance_clock(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<AdvanceClock>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin], "move the service clock")?;
    if state.clock != ServiceClock::Manual {
        return Err(ApiError::Status {
            status: 409,
            code: "clock_not_manual",
            message: "this server runs on the system clock; start it with --clock manual".into(),
        });
    }
    if !is_duration(&body.advance) {
        return Err(ApiError::bad(
            "bad_duration",
            format!(
                "{:?} is not a duration such as 90m, 3days or 1h 30m",
                body.advance
            ),
        ));
    }
    let by = humantime_serde::re::humantime::parse_duration(&body.advance)
        .map_err(|e| ApiError::bad("bad_duration", format!("{:?}: {e}", body.advance)))?;
    let by = i64::try_from(by.as_millis()).map_err(|_| ApiError::bad("bad_duration", "too far"))?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.advance(&mut tx, by).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(ClockInfo {
        now,
        mode: mode(state.clock),
    }))
}

/// Runs a pass of the service clock now (admin): records due breaches and times out jobs
/// nobody accepted in time. The background task does the same every `clock.tick`.
#[utoipa::path(post, path = "/v1/admin/clock/tick", tag = "clock", operation_id = "run_clock_tick",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "What the pass recorded and did.", body = TickReport),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
    ))]
async fn run_tick(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin], "run the service clock")?;
    Ok(HttpResponse::Ok().json(tick::run_once(&state).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreachQuery {
    /// Only this region.
    pub region: Option<String>,
    /// Only breaches whose deadline is at or after this time (ms since the epoch).
    pub from: Option<i64>,
    /// Only breaches whose deadline is before this time (ms since the epoch).
    pub to: Option<i64>,
    /// Also list breaches withdrawn because field times showed the step was in time.
    pub include_cleared: Option<bool>,
}

#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct BreachRow {
    pub wo_id: String,
    pub rule: String,
    pub anchor: String,
    pub region: String,
    pub technician: Option<String>,
    pub started_at: i64,
    pub due_at: i64,
    /// When the step was done (field time), if it was.
    pub stopped_at: Option<i64>,
    /// When the service clock recorded the breach.
    pub breached_at: i64,
    /// Set when later field evidence showed the step was done in time.
    pub cleared_at: Option<i64>,
}

/// Recorded breaches, most recent deadline first.
#[utoipa::path(get, path = "/v1/breaches", tag = "clock", operation_id = "list_breaches",
    params(BreachQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Breaches the caller's regions hold.", body = Vec<BreachRow>),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
async fn breaches(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<BreachQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let regions = scope::office_regions(&mut conn, &user, q.region.as_deref()).await?;
    let rows: Vec<BreachRow> = sqlx::query_as(
        "SELECT wo_id, rule, anchor, region, technician, started_at, due_at, stopped_at, breached_at, cleared_at
         FROM clocks WHERE breached_at IS NOT NULL AND due_at >= $1 AND due_at < $2
         ORDER BY due_at DESC, wo_id, rule, anchor",
    )
    .bind(q.from.unwrap_or(i64::MIN))
    .bind(q.to.unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    let all = q.include_cleared.unwrap_or(false);
    let rows: Vec<BreachRow> = rows
        .into_iter()
        .filter(|r| scope::covers(&regions, &r.region) && (all || r.cleared_at.is_none()))
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EscalationQuery {
    pub region: Option<String>,
    /// `true` (default): only open escalations; `false`: all.
    pub open: Option<bool>,
}

#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct EscalationRow {
    pub id: String,
    pub wo_id: String,
    /// `urgent_unassigned`, `low_score` or `urgent_complaint`.
    pub kind: String,
    pub region: String,
    pub reason: String,
    pub opened_at: i64,
    /// The escalation's own deadline.
    pub due_at: i64,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
}

/// Escalations to managers, oldest first.
#[utoipa::path(get, path = "/v1/escalations", tag = "clock", operation_id = "list_escalations",
    params(EscalationQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Escalations in the caller's regions.", body = Vec<EscalationRow>),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
async fn escalations(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<EscalationQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let regions = scope::office_regions(&mut conn, &user, q.region.as_deref()).await?;
    let rows: Vec<EscalationRow> = sqlx::query_as(
        "SELECT id, wo_id, kind, region, reason, opened_at, due_at, resolved_at, resolved_by, resolution
         FROM escalations ORDER BY opened_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let open_only = q.open.unwrap_or(true);
    let rows: Vec<EscalationRow> = rows
        .into_iter()
        .filter(|r| scope::covers(&regions, &r.region) && (!open_only || r.resolved_at.is_none()))
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveEscalation {
    /// What the manager did, e.g. "called back, replaced the hose free of charge". Not blank,
    /// at most 4,000 bytes; stored trimmed.
    #[schema(value_type = crate::ops::openapi::schemas::NonBlankText)]
    pub action: String,
}

/// A manager resolves an escalation. For a low score this records the handling in the work
/// order (it closes); other kinds close in the escalation list only.
#[utoipa::path(post, path = "/v1/escalations/{id}/resolve", tag = "clock", operation_id = "resolve_escalation",
    params(("id" = String, Path, description = "The escalation id, e.g. `esc-…`.")),
    request_body = ResolveEscalation, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The escalation, resolved.", body = EscalationRow),
        (status = 400, description = "`invalid`: the action is empty or too long; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: managers and admins only.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such escalation.", body = ErrorBody),
        (status = 409, description = "`already_resolved`; `wrong_state`: the work order is no longer escalated.", body = ErrorBody),
    ))]
async fn resolve(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<ResolveEscalation>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Manager, Role::Admin], "resolve escalations")?;
    let id = id.into_inner();
    let action = body.into_inner().action;
    if action.trim().is_empty() || action.trim().len() > 4_000 {
        return Err(ApiError::bad(
            "invalid",
            "the action must not be blank and at most 4,000 bytes",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let found: Option<EscalationRow> = sqlx::query_as(
        "SELECT id, wo_id, kind, region, reason, opened_at, due_at, resolved_at, resolved_by, resolution
         FROM escalations WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(esc) = found else {
        return Err(ApiError::NotFound(format!("no escalation {id}")));
    };
    if esc.resolved_at.is_some() {
        return Err(ApiError::Status {
            status: 409,
            code: "already_resolved",
            message: format!("escalation {id} is already resolved"),
        });
    }
    if esc.kind == LOW_SCORE {
        // The handling belongs to the work order's history; the projection resolves the row.
        let mut doc = Locked::load(&mut tx, &esc.wo_id, &state.instance_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no work order {}", esc.wo_id)))?;
        let actor =
            sync_core::workorder::Actor::new(user.id.clone(), user.role, state.instance_id.clone());
        doc.wo
            .handle_escalation(&actor, &id, &action, now)
            .map_err(ApiError::on_state)?;
        doc.save(&mut tx, &user.id, &state.instance_id, &state.ctx(now))
            .await?;
    } else {
        sqlx::query(
            "UPDATE escalations SET resolved_at = $1, resolved_by = $2, resolution = $3 WHERE id = $4 AND resolved_at IS NULL",
        )
        .bind(now)
        .bind(&user.id)
        .bind(action.trim())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    }
    let row: EscalationRow = sqlx::query_as(
        "SELECT id, wo_id, kind, region, reason, opened_at, due_at, resolved_at, resolved_by, resolution
         FROM escalations WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::events::notify(&state, [crate::events::Change::doc(&row.wo_id)]);
    Ok(HttpResponse::Ok().json(row))
}

#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct DeviceRow {
    pub device_id: String,
    pub user_id: String,
    pub last_contact_at: i64,
    /// The last offset seen outside the bounds (+ ahead, - behind), ms.
    pub clock_skew_ms: i64,
    /// Set while the device's clock looks wrong.
    pub flagged_at: Option<i64>,
    pub flag_reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    /// Only devices whose clock is flagged.
    pub flagged: Option<bool>,
}

/// Devices that have synced, with their last contact and clock check (managers, admins).
#[utoipa::path(get, path = "/v1/devices", tag = "clock", operation_id = "list_devices",
    params(DeviceQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Devices by id.", body = Vec<DeviceRow>),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: managers and admins only.", body = ErrorBody),
    ))]
async fn devices(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<DeviceQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Manager, Role::Admin], "list devices")?;
    let mut conn = state.db.pool.acquire().await?;
    let rows: Vec<DeviceRow> = sqlx::query_as(
        "SELECT device_id, user_id, last_contact_at, clock_skew_ms, flagged_at, flag_reason FROM devices ORDER BY device_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let flagged = q.flagged.unwrap_or(false);
    let rows: Vec<DeviceRow> = rows
        .into_iter()
        .filter(|d| !flagged || d.flagged_at.is_some())
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}

/// The effective service policy (clock rules, dispatch, KPI targets).
#[utoipa::path(get, path = "/v1/policy", tag = "clock", operation_id = "get_policy",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The policy, durations as text (`1h`, `30m`).", body = Object),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians.", body = ErrorBody),
    ))]
async fn policy(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    if user.role == Role::Technician {
        return Err(ApiError::Forbidden(
            "a technician has no office views".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(&*state.policy))
}
