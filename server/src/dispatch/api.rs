//! HTTP surface of dispatch: auto-dispatch on demand (a region, or everything the caller
//! dispatches) and the explanation of every decision about a work order.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sync_core::workorder::Role;

use super::service;
use super::{batch, explain_batch_with, explain_with, places, Explanation};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/dispatch/auto", web::post().to(auto))
        .route("/v1/workorders/{id}/explain", web::get().to(explain_order));
    super::route_api::routes(cfg);
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoDispatch {
    /// Only this region; absent or `null`: every region the caller dispatches.
    pub region: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchDecision {
    pub work_order: String,
    pub technician: Option<String>,
    pub escalated: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchReport {
    /// Work orders that were waiting for dispatch.
    pub considered: usize,
    pub assigned: usize,
    /// Still waiting: nobody eligible had room.
    pub waiting: usize,
    /// Urgent jobs nobody could take, escalated to managers.
    pub escalated: usize,
    /// One per work order, in the order they were served (urgent, VIP, deadline, age).
    pub decisions: Vec<BatchDecision>,
}

/// Assigns every work order waiting for dispatch (in a region, or in all the caller's),
/// never loading a technician over capacity. Each decision and its explanation is kept. The
/// batch is planned at once and recorded in short transactions (`batch`), so a large one
/// never holds the write lock for long.
#[utoipa::path(post, path = "/v1/dispatch/auto", tag = "dispatch", operation_id = "auto_dispatch",
    request_body(content = Option<AutoDispatch>, description = "Optional: an empty body is every region the caller dispatches."),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "What the batch decided.", body = BatchReport),
        (status = 400, description = "`malformed_json`: a body that is not empty, `null` or an `AutoDispatch`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a dispatcher, manager or admin, or a region not the dispatcher's.", body = ErrorBody),
    ))]
async fn auto(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[Role::Dispatcher, Role::Manager, Role::Admin],
        "run dispatch",
    )?;
    // An empty body or `null` means every region; anything else must be an `AutoDispatch`
    // object (serde would also take a struct written as an array).
    let malformed = |e: serde_json::Error| ApiError::bad("malformed_json", e.to_string());
    let body: AutoDispatch = if body.iter().all(u8::is_ascii_whitespace) {
        AutoDispatch::default()
    } else {
        match serde_json::from_slice(&body).map_err(malformed)? {
            serde_json::Value::Null => AutoDispatch::default(),
            object @ serde_json::Value::Object(_) => {
                serde_json::from_value(object).map_err(malformed)?
            }
            _ => {
                return Err(ApiError::bad(
                    "malformed_json",
                    "the body is empty, null or an AutoDispatch object",
                ))
            }
        }
    };
    let bounds = batch::ChunkBounds::of(&state.policy.dispatch);
    // Plan without any lock (a read; tens of milliseconds for 10,000 jobs): the chunks that
    // record the plan re-check every decision against the loads of their time.
    let mut conn = state.db.pool.acquire().await?;
    let regions = scope::office_regions(&mut conn, &user, body.region.as_deref()).await?;
    let mut techs = service::technicians(&mut conn, None).await?;
    let jobs = service::pending_jobs(&mut conn, regions.as_deref()).await?;
    let now = state.clock.now(&mut conn).await?;
    let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let travel = places::travel(&mut conn, &ids, now).await?;
    drop(conn);
    let (jobs, plan, travel) = tokio::task::spawn_blocking(move || {
        let plan = explain_batch_with(&jobs, &mut techs, &travel);
        (jobs, plan, travel)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("planning the batch: {e}")))?;
    let report = batch::record(&state, jobs, plan, travel, bounds).await?;
    tracing::info!(
        by = %user.id,
        considered = report.considered,
        assigned = report.assigned,
        escalated = report.escalated,
        "auto-dispatch"
    );
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoggedDecision {
    pub decided_at: i64,
    /// `intake`, `batch`, `decline`, `timeout` or `manual`.
    pub cause: String,
    pub technician: Option<String>,
    pub escalated: bool,
    #[schema(value_type = crate::ops::openapi::dispatch::Explanation)]
    pub explanation: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExplainReport {
    pub work_order: String,
    pub status: String,
    pub assignee: Option<String>,
    /// Every dispatch decision about this work order, oldest first, with its candidates.
    pub decisions: Vec<LoggedDecision>,
    /// What dispatch would decide now, with the current loads (as if it were waiting).
    #[schema(value_type = crate::ops::openapi::dispatch::Explanation)]
    pub now: Explanation,
}

/// Why this technician: every dispatch decision about a work order with each candidate's
/// rank or reason for exclusion, and what dispatch would decide now.
#[utoipa::path(get, path = "/v1/workorders/{id}/explain", tag = "dispatch", operation_id = "explain_dispatch",
    params(("id" = crate::ops::openapi::schemas::Id, Path, description = "The work order id.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The decisions and the candidates.", body = ExplainReport),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order the caller can see.", body = ErrorBody),
    ))]
async fn explain_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if user.role == Role::Technician {
        return Err(ApiError::Forbidden(
            "a technician has no dispatch explanations".into(),
        ));
    }
    let id = id.into_inner();
    let mut conn = state.db.pool.acquire().await?;
    if !scope::can_see(&mut conn, &user, &id).await? {
        return Err(ApiError::NotFound(format!(
            "no work order {id} that you can see"
        )));
    }
    let doc = crate::db::docs::load(&mut conn, &id)
        .await
        .map_err(ApiError::Internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no work order {id}")))?;
    let wo = sync_core::workorder::WorkOrder::from_automerge(doc);
    let internal =
        |e: sync_core::workorder::WorkOrderError| ApiError::Internal(anyhow::anyhow!("{e}"));
    let view = wo.view().map_err(internal)?;
    let history = wo.history().map_err(internal)?;
    let rows = sqlx::query(
        "SELECT decided_at, cause, technician, escalated, explanation FROM dispatch_log
         WHERE wo_id = $1 ORDER BY decided_at, id",
    )
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?;
    let mut decisions = Vec::with_capacity(rows.len());
    for r in rows {
        let explanation: String = r.try_get("explanation")?;
        decisions.push(LoggedDecision {
            decided_at: r.try_get("decided_at")?,
            cause: r.try_get("cause")?,
            technician: r.try_get("technician")?,
            escalated: r.try_get::<i64, _>("escalated")? != 0,
            explanation: serde_json::from_str(&explanation).unwrap_or(serde_json::Value::Null),
        });
    }
    let techs = service::technicians(&mut conn, Some(&view.intake.region)).await?;
    let refused = crate::db::projection::refused_by(&history);
    let created_at = history.first().map(|e| e.at).unwrap_or(0);
    let at = state.clock.now(&mut conn).await?;
    let travel = places::travel_with_sites(&mut conn, service::site_of(&view), at).await?;
    let now = explain_with(
        &service::job_of(&view, refused, created_at),
        &techs,
        &travel,
    );
    Ok(HttpResponse::Ok().json(ExplainReport {
        work_order: id,
        status: view.status.as_str().to_owned(),
        assignee: view.assignee,
        decisions,
        now,
    }))
}
