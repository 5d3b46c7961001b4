//! Reading audits and draws, and the admin's draw on demand.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sqlx::AnyConnection;
use sync_core::workorder::Role;

use super::draw::{self, Draw};
use super::model::{is_state, Audit, AuditDetail};
use super::sample::{self, DAY_MS};
use super::store::{self, Filter};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::scope;

/// The regions whose audits `user` sees: `None` (every region) for admins, its own regions
/// for auditors and managers; 403 for everyone else.
pub(super) async fn audit_regions(
    conn: &mut AnyConnection,
    user: &AuthUser,
) -> Result<Option<Vec<String>>, ApiError> {
    match user.role {
        Role::Admin => Ok(None),
        Role::Auditor | Role::Manager => Ok(Some(scope::regions_of(conn, &user.id).await?)),
        other => Err(ApiError::Forbidden(format!(
            "a {other} has no audit views; auditors and managers of the region, and admins, have"
        ))),
    }
}

/// 403 unless `regions` covers `region`.
pub(super) fn in_scope(regions: &Option<Vec<String>>, region: &str) -> Result<(), ApiError> {
    if scope::covers(regions, region) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "region {region} is not one of yours"
        )))
    }
}

/// 400 `bad_day` unless `day` is a date `YYYY-MM-DD`.
fn check_day(day: &str) -> Result<i64, ApiError> {
    sample::day_start(day).ok_or_else(|| {
        ApiError::bad(
            "bad_day",
            format!("{day:?} is not a day; write it YYYY-MM-DD, e.g. 2026-12-01"),
        )
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only audits drawn for this UTC day (`YYYY-MM-DD`): the day's sample.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub day: Option<String>,
    /// Only this region (one of the caller's).
    pub region: Option<String>,
    /// Only this auditor's audits.
    pub auditor: Option<String>,
    /// `unassigned`, `open` or `closed`.
    #[param(pattern = "^(unassigned|open|closed)$")]
    pub state: Option<String>,
}

/// Audits in the caller's regions: a day's sample, an auditor's work, those waiting for an
/// auditor (`state=unassigned`).
#[utoipa::path(get, path = "/v1/audits", tag = "audit", operation_id = "list_audits",
    params(AuditQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Audits by day, region and work order.", body = Vec<Audit>),
        (status = 400, description = "`bad_day`: not a day YYYY-MM-DD; `bad_query`: an unknown \
            state or parameter.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, dispatchers and agents; a region \
            not the caller's.", body = ErrorBody),
    ))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let regions = audit_regions(&mut conn, &user).await?;
    if let Some(day) = &q.day {
        check_day(day)?;
    }
    if let Some(s) = q.state.as_deref().filter(|s| !is_state(s)) {
        return Err(ApiError::bad(
            "bad_query",
            format!("state {s:?}: use unassigned, open or closed"),
        ));
    }
    if let Some(r) = &q.region {
        in_scope(&regions, r)?;
    }
    let audits = store::list(
        &mut conn,
        &Filter {
            day: q.day.as_deref(),
            region: q.region.as_deref(),
            auditor: q.auditor.as_deref(),
            state: q.state.as_deref(),
            regions: regions.as_deref(),
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(audits))
}

/// One audit with its findings and its history.
#[utoipa::path(get, path = "/v1/audits/{id}", tag = "audit", operation_id = "get_audit",
    params(("id" = String, Path, description = "The audit id, `aud-…`.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The audit.", body = AuditDetail),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, dispatchers and agents; an audit \
            of a region not the caller's.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such audit.", body = ErrorBody),
    ))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let regions = audit_regions(&mut conn, &user).await?;
    let Some(d) = store::detail(&mut conn, &id).await? else {
        return Err(ApiError::NotFound(format!("no audit {id}")));
    };
    in_scope(&regions, &d.audit.region)?;
    Ok(HttpResponse::Ok().json(d))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DrawQuery {
    /// One day's draw (`YYYY-MM-DD`); without it, the 30 most recent.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub day: Option<String>,
}

/// Draws with what reproduces them (seed, rate, every candidate) and what they chose, the
/// caller's regions only.
#[utoipa::path(get, path = "/v1/audits/draws", tag = "audit", operation_id = "list_audit_draws",
    params(DrawQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Draws, newest day first (empty when the day was not drawn).", body = Vec<Draw>),
        (status = 400, description = "`bad_day`; `bad_query`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, dispatchers and agents.", body = ErrorBody),
    ))]
pub(crate) async fn draws(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<DrawQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let regions = audit_regions(&mut conn, &user).await?;
    let days = match &q.day {
        Some(day) => {
            check_day(day)?;
            vec![day.clone()]
        }
        None => {
            let mut d = store::drawn_days(&mut conn, "0000-00-00", "9999-99-99").await?;
            d.truncate(30);
            d
        }
    };
    let mut out = Vec::new();
    for day in days {
        if let Some(d) = store::draw(&mut conn, &day, regions.as_deref()).await? {
            out.push(d);
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawBody {
    /// The finished UTC day to draw (`YYYY-MM-DD`); yesterday when absent.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    #[serde(default)]
    pub day: Option<String>,
}

/// Runs a day's draw now (admin), as the clock pass would: idempotent, a day drawn before is
/// answered as it was drawn (`new: false`).
#[utoipa::path(post, path = "/v1/audits/draws", tag = "audit", operation_id = "run_audit_draw",
    request_body = DrawBody, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The day's draw.", body = Draw),
        (status = 400, description = "`bad_day`: not a day YYYY-MM-DD; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        (status = 409, description = "`day_not_over`: the day has not ended in service time; its \
            sample would miss the work still to be completed.", body = ErrorBody),
    ))]
pub(crate) async fn run_draw(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<DrawBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin], "run the audit draw")?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let day = match &body.day {
        Some(d) => d.clone(),
        None => sample::day_of(now - DAY_MS),
    };
    let start = check_day(&day)?;
    if start.saturating_add(DAY_MS) > now {
        return Err(ApiError::Status {
            status: 409,
            code: "day_not_over",
            message: format!(
                "{day} has not ended in service time; draw a finished day (yesterday or before)"
            ),
        });
    }
    let new = draw::draw_day(&mut tx, &day, state.policy.audit.sample_rate, &user.id, now).await?;
    tx.commit().await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut d = store::draw(&mut conn, &day, None)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the draw of {day} vanished"))?;
    d.new = new;
    Ok(HttpResponse::Ok().json(d))
}
