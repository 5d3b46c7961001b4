//! `GET /v1/technicians/{id}/route`: a technician's day as a route ([`super::route`]).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sync_core::workorder::{GeoPoint, Role};

use super::places;
use super::route::{plan, Stop};
use super::service::OPEN_STATUSES;
use super::travel::{Km, PositionSource};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/technicians/{id}/route", web::get().to(route));
}

const DAY: i64 = 86_400_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RouteQuery {
    /// The day (UTC), `YYYY-MM-DD`; default today.
    #[param(pattern = r"^\d{4}-\d{2}-\d{2}$", example = "2026-12-03")]
    pub date: Option<String>,
}

/// Where the route starts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteStart {
    pub lat: f64,
    pub lon: f64,
    /// Always `home_base`: a day is planned from where the technician starts it.
    pub source: PositionSource,
}

/// An agreed visit window (ms since the epoch).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// One job on the route, in visiting order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteStop {
    pub work_order: String,
    pub status: String,
    pub customer: String,
    /// The agreed visit window; `null` for a job without an appointment (fitted in by the
    /// heuristic).
    pub appointment: Option<Window>,
    /// The job's site; `null` when the intake had no coordinates.
    #[schema(value_type = Option<crate::ops::openapi::schemas::GeoPoint>)]
    pub site: Option<GeoPoint>,
    /// Great-circle distance from the previous point (the start, for the first stop), in km;
    /// `null` when either end has no coordinates.
    #[schema(value_type = Option<f64>)]
    pub leg_km: Option<Km>,
}

/// A technician's day, ordered: appointments in time order, jobs without one fitted in by
/// nearest neighbour from the home base and improved by 2-opt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayRoute {
    pub technician: String,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// The home base; `null` when none is set (the legs from it are then unknown).
    pub start: Option<RouteStart>,
    pub stops: Vec<RouteStop>,
    /// Sum of the known legs, in km.
    #[schema(value_type = f64)]
    pub total_km: Km,
    /// Legs without a distance (an end without coordinates).
    pub unknown_legs: usize,
}

fn parse_date(text: &str) -> Result<time::Date, ApiError> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &f).map_err(|e| {
        ApiError::bad(
            "bad_date",
            format!("date {text:?} is not a day as YYYY-MM-DD: {e}"),
        )
    })
}

fn day_of(ms: i64) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN)
}

/// A technician's jobs for a day ordered into a route, with the leg distances and the total.
/// The jobs: open jobs assigned to the technician with an appointment that starts that day,
/// and those without an appointment.
#[utoipa::path(get, path = "/v1/technicians/{id}/route", tag = "dispatch", operation_id = "technician_route",
    params(
        ("id" = crate::ops::openapi::schemas::Id, Path, description = "The technician's user id."),
        RouteQuery,
    ),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The day's route.", body = DayRoute),
        (status = 400, description = "`bad_date`: not a day as `YYYY-MM-DD`; `bad_query`: an unknown or malformed query parameter.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: another technician's route, an agent or auditor, or a dispatcher for a technician outside their regions.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such technician.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    ))]
async fn route(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    q: web::Query<RouteQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    match user.role {
        Role::Technician if user.id == id => {}
        Role::Dispatcher | Role::Manager | Role::Admin => {}
        _ => {
            return Err(ApiError::Forbidden(
                "only the technician, dispatchers, managers and admins see a route".into(),
            ))
        }
    }
    let mut conn = state.db.pool.acquire().await?;
    let date = match &q.date {
        Some(d) => parse_date(d)?,
        None => day_of(state.clock.now(&mut conn).await?),
    };
    let tech = crate::db::users::get(&mut conn, &id)
        .await?
        .filter(|u| u.role == Role::Technician.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no technician {id}")))?;
    if user.role == Role::Dispatcher {
        let mine = scope::regions_of(&mut conn, &user.id).await?;
        if !tech.regions().iter().any(|r| mine.contains(r)) {
            return Err(ApiError::Forbidden(format!(
                "{id} works in none of your regions"
            )));
        }
    }
    let from = date.midnight().assume_utc().unix_timestamp() * 1000;
    let open = OPEN_STATUSES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rows = sqlx::query(&format!(
        "SELECT w.id, w.status, w.customer_name, w.appointment_start, w.appointment_end, s.lat, s.lon
         FROM work_orders w LEFT JOIN work_order_sites s ON s.wo_id = w.id
         WHERE w.assignee = $1 AND w.status IN ({open})
           AND (w.appointment_start IS NULL OR (w.appointment_start >= $2 AND w.appointment_start < $3))
         ORDER BY w.id"
    ))
    .bind(&id)
    .bind(from)
    .bind(from + DAY)
    .fetch_all(&mut *conn)
    .await?;
    let mut stops = Vec::with_capacity(rows.len());
    let mut info = Vec::with_capacity(rows.len());
    for r in rows {
        let start: Option<i64> = r.try_get("appointment_start")?;
        let end: Option<i64> = r.try_get("appointment_end")?;
        let lat: Option<f64> = r.try_get("lat")?;
        let lon: Option<f64> = r.try_get("lon")?;
        stops.push(Stop {
            id: r.try_get("id")?,
            site: lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon }),
            window: start.map(|s| (s, end.unwrap_or(s))),
        });
        info.push((
            r.try_get::<String, _>("status")?,
            r.try_get::<String, _>("customer_name")?,
        ));
    }
    let home = places::home(&mut conn, &id).await?;
    drop(conn);
    let planned = plan(home, &stops);
    let out = DayRoute {
        technician: id,
        date: date.to_string(),
        start: home.map(|h| RouteStart {
            lat: h.lat,
            lon: h.lon,
            source: PositionSource::HomeBase,
        }),
        stops: planned
            .order
            .iter()
            .zip(&planned.legs)
            .map(|(&i, leg)| RouteStop {
                work_order: stops[i].id.clone(),
                status: info[i].0.clone(),
                customer: info[i].1.clone(),
                appointment: stops[i].window.map(|(start, end)| Window { start, end }),
                site: stops[i].site,
                leg_km: *leg,
            })
            .collect(),
        total_km: planned.total,
        unknown_legs: planned.unknown_legs,
    };
    Ok(HttpResponse::Ok().json(out))
}
