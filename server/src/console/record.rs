//! A work order's whole record for the console: the view, the event timeline with device and
//! received times, its clocks, the signature's seal, open escalations, and what the caller
//! may do next.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use sqlx::{FromRow, Row};
use sync_core::workorder::{Role, ServiceType, Status, View, WorkOrder};

use super::cards;
use crate::auth::AuthUser;
use crate::clock::api::EscalationRow;
use crate::db;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::scope;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub event: String,
    /// The event as recorded: `{"kind": "assigned", ...}` with its fields.
    #[schema(value_type = Object)]
    pub kind: serde_json::Value,
    pub user: String,
    pub role: String,
    pub device: String,
    /// The device's clock when the event was recorded (ms).
    pub device_at: i64,
    /// When the server received it (ms); missing for changes made before times were kept.
    pub received_at: Option<i64>,
    /// When it happened in the field as the clocks count it: the device time clamped
    /// between the device's previous contact and the receipt.
    pub field_at: Option<i64>,
}

#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct ClockRow {
    pub rule: String,
    pub anchor: String,
    pub technician: Option<String>,
    pub started_at: i64,
    pub due_at: i64,
    pub stopped_at: Option<i64>,
    /// `met` or `moot` once stopped.
    pub stop: Option<String>,
    pub breached_at: Option<i64>,
    pub cleared_at: Option<i64>,
    #[sqlx(skip)]
    pub at_risk: bool,
    #[sqlx(skip)]
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Seal {
    /// `none` (not signed), `valid` (nothing signed changed since), `broken` (see `changes`)
    /// or `unverifiable` (the signed state is missing from the document).
    pub state: String,
    pub detail: String,
    /// What changed after signing, when broken.
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkOrderRecord {
    pub now: i64,
    #[schema(value_type = crate::ops::openapi::schemas::WorkOrderView)]
    pub view: View,
    /// Every event in causal order.
    pub timeline: Vec<TimelineEntry>,
    pub clocks: Vec<ClockRow>,
    pub seal: Seal,
    /// Open escalations of this work order.
    pub escalations: Vec<EscalationRow>,
    /// What the caller may do now: `assign`, `unassign`, `classify`, `follow_up`, `cancel`,
    /// `resolve_escalation`.
    pub actions: Vec<String>,
}

/// One work order's whole record.
#[utoipa::path(get, path = "/v1/console/workorder/{id}", tag = "console",
    params(("id" = String, Path, description = "The work order id.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The record.", body = WorkOrderRecord),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such work order the caller can see.", body = ErrorBody),
    ))]
pub async fn record(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    // Office roles only (technicians see their jobs through sync).
    scope::office_regions(&mut conn, &user, None).await?;
    if !scope::can_see(&mut conn, &user, &id).await? {
        return Err(ApiError::NotFound(format!(
            "no work order {id} that you can see"
        )));
    }
    let doc = db::docs::load(&mut conn, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no work order {id}")))?;
    let times: HashMap<String, (i64, i64)> =
        sqlx::query("SELECT event_id, received_at, field_at FROM event_times WHERE wo_id = $1")
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("event_id")?,
                    (r.try_get("received_at")?, r.try_get("field_at")?),
                ))
            })
            .collect::<sqlx::Result<_>>()?;
    let mut clocks: Vec<ClockRow> = sqlx::query_as(
        "SELECT rule, anchor, technician, started_at, due_at, stopped_at, stop, breached_at, cleared_at
         FROM clocks WHERE wo_id = $1 ORDER BY due_at, rule, anchor",
    )
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?;
    let escalations: Vec<EscalationRow> = sqlx::query_as(
        "SELECT id, wo_id, kind, region, reason, opened_at, due_at, resolved_at, resolved_by, resolution
         FROM escalations WHERE wo_id = $1 AND resolved_at IS NULL ORDER BY opened_at, id",
    )
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    for c in clocks.iter_mut().filter(|c| c.stopped_at.is_none()) {
        let d = cards::deadline(c.rule.clone(), c.started_at, c.due_at, now);
        (c.at_risk, c.overdue) = (d.at_risk, d.overdue);
    }
    // Folding and checking the seal load Automerge: off the async workers.
    let (view, timeline, seal) = tokio::task::spawn_blocking(move || {
        let wo = WorkOrder::from_automerge(doc);
        let view = wo.view()?;
        let history = wo.history()?;
        let seal = seal_of(&wo);
        let timeline = history
            .into_iter()
            .map(|e| {
                let t = times.get(&e.id).copied();
                TimelineEntry {
                    kind: serde_json::to_value(&e.kind).unwrap_or(serde_json::Value::Null),
                    event: e.id,
                    user: e.user,
                    role: e.role.as_str().to_owned(),
                    device: e.device,
                    device_at: e.at,
                    received_at: t.map(|t| t.0),
                    field_at: t.map(|t| t.1),
                }
            })
            .collect::<Vec<_>>();
        Ok::<_, sync_core::workorder::WorkOrderError>((view, timeline, seal))
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading work order {e}")))?
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let actions = allowed(user.role, &view, !escalations.is_empty());
    Ok(HttpResponse::Ok().json(WorkOrderRecord {
        now,
        view,
        timeline,
        clocks,
        seal,
        escalations,
        actions,
    }))
}

fn seal_of(wo: &WorkOrder) -> Seal {
    match wo.verify_signature() {
        Ok(None) => Seal {
            state: "none".into(),
            detail: "not signed".into(),
            changes: Vec::new(),
        },
        Ok(Some(r)) if r.intact() => Seal {
            state: "valid".into(),
            detail: format!("signed by {}; nothing signed has changed since", r.signer),
            changes: Vec::new(),
        },
        Ok(Some(r)) => Seal {
            state: "broken".into(),
            detail: if r.digest_matches {
                format!(
                    "signed by {}; {} signed item(s) changed after signing",
                    r.signer,
                    r.changes.len()
                )
            } else {
                format!(
                    "signed by {}; the signed content does not match its digest",
                    r.signer
                )
            },
            changes: r
                .changes
                .iter()
                .filter_map(|c| serde_json::to_value(c).ok())
                .collect(),
        },
        Err(e) => Seal {
            state: "unverifiable".into(),
            detail: e.to_string(),
            changes: Vec::new(),
        },
    }
}

/// What `role` may do to a work order in the state of `view` (the same rules the endpoints
/// and the document enforce; they still have the last word).
pub fn allowed(role: Role, view: &View, open_escalation: bool) -> Vec<String> {
    use Role::*;
    let dispatching = matches!(role, Dispatcher | Manager | Admin);
    let office = matches!(role, Agent | Dispatcher | Manager | Admin);
    let field_open = !matches!(
        view.status,
        Status::Signed | Status::Completed | Status::Closed | Status::Cancelled | Status::Escalated
    );
    let mut out = Vec::new();
    if dispatching && field_open {
        out.push("assign");
        if view.assignee.is_some() {
            out.push("unassign");
        }
    }
    if office
        && view.intake.service_type == ServiceType::Complaint
        && view.classification.is_none()
        && view.status != Status::Cancelled
    {
        out.push("classify");
    }
    if office && view.status == Status::Completed && view.follow_up.is_none() {
        out.push("follow_up");
    }
    if office && field_open && view.signature.is_none() {
        out.push("cancel");
    }
    if matches!(role, Manager | Admin) && open_escalation {
        out.push("resolve_escalation");
    }
    out.into_iter().map(str::to_owned).collect()
}
