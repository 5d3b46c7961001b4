//! Intake (the server is an Automerge actor of its own), listing and reading work orders.

pub mod actions;
pub mod locked;
pub mod scope;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sync_core::ids::WorkOrderId;
use sync_core::workorder::{Actor, Intake, Role, WorkOrder};

use crate::auth::AuthUser;
use crate::db;
use crate::dispatch;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::WorkOrderView;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/workorders", web::post().to(create))
        .route("/v1/workorders", web::get().to(list))
        .route("/v1/workorders/{id}", web::get().to(get));
    actions::routes(cfg);
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkOrder {
    /// Optional (absent or `null`): the server numbers the work order. 1 to 128 letters,
    /// digits and `- _ . : @`.
    #[schema(pattern = "^[A-Za-z0-9_.:@-]{1,128}$")]
    pub id: Option<String>,
    #[serde(deserialize_with = "strict_intake")]
    #[schema(value_type = crate::ops::openapi::schemas::Intake)]
    pub intake: Intake,
}

/// The intake as sent, refusing fields `Intake` does not have: sync-core's types ignore them,
/// the document says `additionalProperties: false`, and a misspelt field should not pass
/// silently.
fn strict_intake<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Intake, D::Error> {
    use serde::de::Error;
    let sent = serde_json::Value::deserialize(d)?;
    let intake: Intake = serde_json::from_value(sent.clone()).map_err(D::Error::custom)?;
    let known = serde_json::to_value(&intake).map_err(D::Error::custom)?;
    match unknown_field(&sent, &known) {
        Some(path) => Err(D::Error::custom(format!("unknown field `intake.{path}`"))),
        None => Ok(intake),
    }
}

/// The first key of `sent` (depth first, dotted) that `known`, the same value re-serialized
/// from its type, does not have.
fn unknown_field(sent: &serde_json::Value, known: &serde_json::Value) -> Option<String> {
    let (Some(sent), Some(known)) = (sent.as_object(), known.as_object()) else {
        return None;
    };
    sent.iter().find_map(|(key, value)| match known.get(key) {
        // An optional field sent as `null` is left out when re-serialized (`site`).
        None if value.is_null() => None,
        None => Some(key.clone()),
        Some(k) => unknown_field(value, k).map(|inner| format!("{key}.{inner}")),
    })
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("{e}"))
}

fn new_number(now: i64) -> String {
    let mut b = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    format!("WO-{}-{}", now / 1000, hex::encode(b))
}

/// Creates a work order from intake; the server is its first Automerge actor.
#[utoipa::path(
    post,
    path = "/v1/workorders",
    tag = "workorders",
    operation_id = "create_work_order",
    request_body = CreateWorkOrder,
    security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Created; the work order as derived from its document.", body = WorkOrderView),
        (status = 400, description = "`bad_id`: the id is malformed; `invalid_work_order`: the intake is invalid \
            (a blank required text, a text over 4,000 bytes, a malformed attachment address); \
            `malformed_json`: the body is not a `CreateWorkOrder`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an agent, dispatcher, admin or manager, \
            or is a dispatcher and the region is not one of theirs.", body = ErrorBody),
        (status = 409, description = "`conflict`: a work order with this id already exists.", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the JSON body exceeds 1 MiB.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`.",
            body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateWorkOrder>,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[Role::Agent, Role::Dispatcher, Role::Admin, Role::Manager],
        "create work orders",
    )?;
    let body = body.into_inner();
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let id = match body.id {
        Some(id) => WorkOrderId::parse(id)
            .map_err(|e| ApiError::bad("bad_id", e.to_string()))?
            .to_string(),
        None => new_number(now),
    };
    if user.role == Role::Dispatcher
        && !scope::regions_of(&mut conn, &user.id)
            .await?
            .contains(&body.intake.region)
    {
        return Err(ApiError::Forbidden(format!(
            "region {} is not one of yours",
            body.intake.region
        )));
    }
    drop(conn);
    let actor = Actor::new(user.id.clone(), user.role, state.instance_id.clone());
    let wo = WorkOrder::create(&id, &actor, body.intake, now)
        .map_err(|e| ApiError::bad("invalid_work_order", e.to_string()))?;
    let mut tx = state.db.begin_write().await?;
    let auto = state.policy.dispatch.auto_on_intake;
    if auto {
        dispatch::service::lock(&mut tx).await?;
    }
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM documents WHERE id = $1")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(ApiError::Conflict(format!(
            "work order {id} already exists"
        )));
    }
    let ctx = state.ctx(now);
    let history = wo.history().map_err(internal)?;
    db::docs::insert(&mut tx, &id, wo.doc(), now).await?;
    let created = wo.view().map_err(internal)?;
    db::projection::project(&mut tx, &created, &history, now, &ctx).await?;
    dispatch::places::put_site(&mut tx, &id, created.intake.site).await?;
    if auto {
        // Dispatch on intake: the decision is a change of its own, in the same transaction.
        let doc = locked::Locked::load(&mut tx, &id, &state.instance_id)
            .await?
            .ok_or_else(|| internal("the new work order vanished"))?;
        dispatch::service::dispatch_loaded(&mut tx, doc, "intake", &state.instance_id, &ctx)
            .await?;
    }
    let view = db::docs::load(&mut tx, &id)
        .await
        .map_err(ApiError::Internal)?
        .map(WorkOrder::from_automerge)
        .ok_or_else(|| internal("the new work order vanished"))?
        .view()
        .map_err(internal)?;
    tx.commit().await?;
    crate::events::notify(&state, [crate::events::Change::doc(&id)]);
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct WorkOrderRow {
    pub id: String,
    pub region: String,
    pub status: String,
    pub assignee: Option<String>,
    pub priority: String,
    pub service_type: String,
    pub customer_name: String,
    pub open_conflicts: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only work orders in this status, e.g. `pending_dispatch` or `on_site`.
    #[param(value_type = Option<crate::ops::openapi::schemas::WorkOrderStatus>)]
    pub status: Option<sync_core::workorder::Status>,
    /// Only work orders in this region.
    pub region: Option<String>,
}

/// Lists the work orders the caller can see, oldest first, optionally filtered.
#[utoipa::path(
    get,
    path = "/v1/workorders",
    tag = "workorders",
    operation_id = "list_work_orders",
    params(ListQuery),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The visible work orders, by creation time.", body = Vec<WorkOrderRow>),
        (status = 400, description = "`bad_query`: an unknown or malformed query parameter.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let visible = scope::visible(&mut conn, &user).await?;
    let rows: Vec<WorkOrderRow> = sqlx::query_as(
        "SELECT id, region, status, assignee, priority, service_type, customer_name, open_conflicts, created_at, updated_at
         FROM work_orders ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let rows: Vec<WorkOrderRow> = rows
        .into_iter()
        .filter(|r| visible.contains(&r.id))
        .filter(|r| q.status.is_none_or(|s| r.status == s.as_str()))
        .filter(|r| q.region.as_ref().is_none_or(|s| &r.region == s))
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}

/// Reads one work order the caller can see.
#[utoipa::path(
    get,
    path = "/v1/workorders/{id}",
    tag = "workorders",
    operation_id = "get_work_order",
    params(("id" = crate::ops::openapi::schemas::Id, Path, description = "The work order id, e.g. `WO-2026-000123`.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The work order as derived from its document.", body = WorkOrderView),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order, or not one the caller can see \
            (the two are not told apart).", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut conn = state.db.pool.acquire().await?;
    if !scope::can_see(&mut conn, &user, &id).await? {
        return Err(ApiError::NotFound(format!(
            "no work order {id} that you can see"
        )));
    }
    let doc = db::docs::load(&mut conn, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no work order {id}")))?;
    let view = WorkOrder::from_automerge(doc)
        .view()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(HttpResponse::Ok().json(view))
}
