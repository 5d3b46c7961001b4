//! Office steps on a work order through the API (the server records them in the document on
//! the caller's behalf, as this instance's device): assign, reassign and unassign, classify a
//! complaint, record the follow-up call. Offline office devices can record the same steps
//! through sync; both go through the same sync-core operations and checks.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sync_core::workorder::{Actor, ComplaintCategory, Role, View, WorkOrder, WorkOrderError};

use crate::auth::AuthUser;
use crate::dispatch::{explain, service, Exclusion};
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::schemas::{Id, NonBlankText, Text};
use crate::ops::openapi::WorkOrderView;
use crate::state::AppState;
use crate::workorders::locked::Locked;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/workorders/{id}/assign", web::post().to(assign))
        .route("/v1/workorders/{id}/unassign", web::post().to(unassign))
        .route("/v1/workorders/{id}/cancel", web::post().to(cancel))
        .route("/v1/workorders/{id}/classify", web::post().to(classify))
        .route("/v1/workorders/{id}/followup", web::post().to(follow_up));
}

/// Loads work order `id` for change, after checking the caller may act on it: a dispatcher
/// only in its regions.
async fn load_for_office(
    conn: &mut sqlx::AnyConnection,
    state: &AppState,
    user: &AuthUser,
    id: &str,
) -> Result<Locked, ApiError> {
    if !scope::can_see(conn, user, id).await? {
        return Err(ApiError::NotFound(format!(
            "no work order {id} that you can see"
        )));
    }
    Locked::load(conn, id, &state.instance_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no work order {id}")))
}

/// Longest free text of a step, in bytes after trimming (sync-core's limit).
const MAX_TEXT_BYTES: usize = 4_000;

/// A request's free text as sync-core will check it (trimmed; not blank when `required`; at
/// most [`MAX_TEXT_BYTES`]), so that what sync-core refuses after this is the work order's
/// state, not the request (see [`ApiError::on_state`]).
fn check_text(field: &str, value: &str, required: bool) -> Result<(), ApiError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(ApiError::bad(
            "invalid",
            format!("{field} must not be blank"),
        ));
    }
    if v.len() > MAX_TEXT_BYTES {
        return Err(ApiError::bad(
            "invalid",
            format!("{field} is {} bytes, at most {MAX_TEXT_BYTES}", v.len()),
        ));
    }
    Ok(())
}

fn actor(state: &AppState, user: &AuthUser) -> Actor {
    Actor::new(user.id.clone(), user.role, state.instance_id.clone())
}

/// One office step on work order `id` in its own transaction: `op` records it on the
/// document as the caller (on this instance's device); the change is appended and projected.
/// `dispatch` steps take the dispatch lock first, like every other dispatch decision.
async fn office_step(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    dispatch: bool,
    op: impl FnOnce(&mut WorkOrder, &Actor, i64) -> Result<String, WorkOrderError>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    if dispatch {
        service::lock(&mut tx).await?;
    }
    let mut doc = load_for_office(&mut tx, state, user, id).await?;
    // A dispatch step may take the job from its technician, whose devices must hear of it.
    let taken_from = if dispatch { doc.view()?.assignee } else { None };
    op(&mut doc.wo, &actor(state, user), now).map_err(ApiError::on_state)?;
    let view = doc
        .save(&mut tx, &user.id, &state.instance_id, &state.ctx(now))
        .await?;
    tx.commit().await?;
    crate::events::notify(
        state,
        [crate::events::Change::doc(id).taken_from(taken_from)],
    );
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The user id of an active technician.
    #[schema(value_type = Id)]
    pub technician: String,
    /// Required (not blank) when the job already has a technician: a reassignment. At most
    /// 4,000 bytes.
    #[schema(value_type = Option<Text>)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssignResult {
    #[schema(value_type = WorkOrderView)]
    pub work_order: View,
    /// Why automatic dispatch would not have chosen this technician, if it would not have
    /// been eligible (outside the region, missing skills, at capacity, declined before).
    /// A dispatcher may override; the reason is recorded in the dispatch log.
    #[schema(value_type = Option<crate::ops::openapi::dispatch::Exclusion>)]
    pub warning: Option<Exclusion>,
}

/// Assigns or reassigns a work order to a technician (dispatchers in their regions,
/// managers, admins).
#[utoipa::path(post, path = "/v1/workorders/{id}/assign", tag = "dispatch", operation_id = "assign_work_order",
    params(("id" = Id, Path, description = "The work order id.")),
    request_body = AssignBody, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Assigned; with a warning when dispatch rules would not have chosen them.", body = AssignResult),
        (status = 400, description = "`invalid`: a reason over 4,000 bytes; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a dispatcher, manager or admin.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order the caller can see.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: signed or completed work orders keep their technician, \
            a reassignment needs a reason, or it is the same technician; `not_a_technician`: no active \
            technician has that id.", body = ErrorBody),
    ))]
async fn assign(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[Role::Dispatcher, Role::Manager, Role::Admin],
        "assign work orders",
    )?;
    let id = id.into_inner();
    let body = body.into_inner();
    check_text("reason", body.reason.as_deref().unwrap_or(""), false)?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    service::lock(&mut tx).await?;
    let mut doc = load_for_office(&mut tx, &state, &user, &id).await?;
    let before = doc.view()?;
    let techs = service::technicians(&mut tx, None).await?;
    let Some(tech) = techs.iter().find(|t| t.id == body.technician && t.active) else {
        // 409: a well-formed request naming what is not (or no longer) a technician.
        return Err(ApiError::Status {
            status: 409,
            code: "not_a_technician",
            message: format!("no active technician {:?}", body.technician),
        });
    };
    let history = doc
        .wo
        .history()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let created_at = history.first().map(|e| e.at).unwrap_or(now);
    let refused = crate::db::projection::refused_by(&history);
    let job = service::job_of(&before, refused, created_at);
    let mut explanation = explain(
        &job,
        techs
            .iter()
            .filter(|t| t.regions.contains(&job.region) || t.id == tech.id),
    );
    let warning = explanation
        .candidates
        .iter()
        .find(|c| c.technician == tech.id)
        .and_then(|c| c.excluded.clone());
    doc.wo
        .assign(&actor(&state, &user), &tech.id, body.reason.as_deref(), now)
        .map_err(ApiError::on_state)?;
    let ctx = state.ctx(now);
    let view = doc
        .save(&mut tx, &user.id, &state.instance_id, &ctx)
        .await?;
    explanation.chosen = Some(tech.id.clone());
    let decision = service::Decision {
        work_order: id.clone(),
        technician: Some(tech.id.clone()),
        escalated: false,
        cause: format!("manual by {}", user.id),
        explanation,
    };
    service::log(&mut tx, &decision, now).await?;
    tx.commit().await?;
    crate::events::notify(
        &state,
        [crate::events::Change::doc(&id).taken_from(before.assignee)],
    );
    Ok(HttpResponse::Ok().json(AssignResult {
        work_order: view,
        warning,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schema(value_type = NonBlankText)]
    pub reason: String,
}

/// Takes a work order back to dispatch (dispatchers in their regions, managers, admins).
#[utoipa::path(post, path = "/v1/workorders/{id}/unassign", tag = "dispatch", operation_id = "unassign_work_order",
    params(("id" = Id, Path, description = "The work order id.")),
    request_body = ReasonBody, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Back to pending dispatch.", body = WorkOrderView),
        (status = 400, description = "`invalid`: the reason is blank or over 4,000 bytes; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a dispatcher, manager or admin.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order the caller can see.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: not assigned, or already signed.", body = ErrorBody),
    ))]
async fn unassign(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[Role::Dispatcher, Role::Manager, Role::Admin],
        "unassign work orders",
    )?;
    check_text("reason", &body.reason, true)?;
    office_step(&state, &user, &id, true, |wo, a, now| {
        wo.unassign(a, &body.reason, now)
    })
    .await
}

/// Cancels a work order the customer has not signed (agents, dispatchers in their regions,
/// managers, admins). Its technician's slot is free again.
#[utoipa::path(post, path = "/v1/workorders/{id}/cancel", tag = "workorders", operation_id = "cancel_work_order",
    params(("id" = Id, Path, description = "The work order id.")),
    request_body = ReasonBody, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Cancelled.", body = WorkOrderView),
        (status = 400, description = "`invalid`: the reason is blank or over 4,000 bytes; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians and auditors.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order the caller can see.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: signed, completed, closed or already cancelled.", body = ErrorBody),
    ))]
async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[Role::Agent, Role::Dispatcher, Role::Manager, Role::Admin],
        "cancel work orders",
    )?;
    check_text("reason", &body.reason, true)?;
    office_step(&state, &user, &id, true, |wo, a, now| {
        wo.cancel(a, &body.reason, now)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    #[schema(value_type = crate::ops::openapi::schemas::ComplaintCategory)]
    pub category: ComplaintCategory,
    pub urgent: bool,
}

/// Classifies a complaint (CS-COMPLAINT-CLASSIFY); an urgent one is escalated to the managers.
#[utoipa::path(post, path = "/v1/workorders/{id}/classify", tag = "workorders", operation_id = "classify_complaint",
    params(("id" = Id, Path, description = "The work order id.")),
    request_body = ClassifyBody, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Classified.", body = WorkOrderView),
        (status = 400, description = "`malformed_json`: e.g. an unknown category.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians and auditors.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order the caller can see.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: not a complaint, or cancelled.", body = ErrorBody),
    ))]
async fn classify(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<ClassifyBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[Role::Agent, Role::Dispatcher, Role::Manager, Role::Admin],
        "classify complaints",
    )?;
    office_step(&state, &user, &id, false, |wo, a, now| {
        wo.classify(a, body.category, body.urgent, now)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    /// 1 to 5; 3 or less escalates to a manager (CS-LOWSCORE).
    #[serde(deserialize_with = "crate::ops::openapi::integer::u8")]
    #[schema(minimum = 1, maximum = 5)]
    pub score: u8,
    #[serde(default)]
    #[schema(value_type = Text)]
    pub comment: String,
    #[serde(default)]
    #[schema(value_type = Text)]
    pub remedial: String,
}

/// Records the follow-up call of a completed work order (agents, dispatchers, managers, admins).
#[utoipa::path(post, path = "/v1/workorders/{id}/followup", tag = "workorders", operation_id = "record_follow_up",
    params(("id" = Id, Path, description = "The work order id.")),
    request_body = FollowUpBody, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Recorded: closed, or escalated for a low score.", body = WorkOrderView),
        (status = 400, description = "`invalid`: the score is not 1 to 5, or a text is over 4,000 bytes; \
            `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians and auditors.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order the caller can see.", body = ErrorBody),
        (status = 409, description = "`wrong_state`: not completed, or already followed up.", body = ErrorBody),
    ))]
async fn follow_up(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<FollowUpBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[Role::Agent, Role::Dispatcher, Role::Manager, Role::Admin],
        "record follow-up calls",
    )?;
    if !(1..=5).contains(&body.score) {
        return Err(ApiError::bad(
            "invalid",
            format!("score {} is not between 1 and 5", body.score),
        ));
    }
    check_text("comment", &body.comment, false)?;
    check_text("remedial", &body.remedial, false)?;
    office_step(&state, &user, &id, false, |wo, a, now| {
        wo.follow_up(a, body.score, &body.comment, &body.remedial, now)
    })
    .await
}
