//! The auditor's work: recording findings, verifying corrective actions, closing the audit.
//! Each write locks the audit's row first (`version = version + 1`), then writes the finding,
//! its history line and, for a failed finding, its QA-CORRECTIVE clock row, in one
//! transaction.

use actix_web::{web, HttpResponse};
use sqlx::AnyConnection;
use sync_core::workorder::Role;

use super::api::{audit_regions, in_scope};
use super::draw::history;
use super::model::{Audit, AuditDetail, Finding, NewFinding, Verify, QA_CORRECTIVE};
use super::store::{self, FINDING_COLUMNS};
use crate::auth::AuthUser;
use crate::db::WriteTx;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

fn conflict(code: &'static str, message: String) -> ApiError {
    ApiError::Status {
        status: 409,
        code,
        message,
    }
}

/// Locks the audit's row and reads it; 404 when there is none, 403 outside the caller's
/// regions.
async fn lock(conn: &mut AnyConnection, user: &AuthUser, id: &str) -> Result<Audit, ApiError> {
    let regions = audit_regions(conn, user).await?;
    sqlx::query("UPDATE audits SET version = version + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let audit = store::audit(conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no audit {id}")))?;
    in_scope(&regions, &audit.region)?;
    Ok(audit)
}

/// 403 unless `user` is the audit's auditor or an admin. An auditor of the region may take
/// an audit still waiting for one.
fn may_audit(user: &AuthUser, audit: &Audit) -> Result<(), ApiError> {
    user.require(&[Role::Auditor, Role::Admin], "record audit findings")?;
    match (&audit.auditor, user.role) {
        (_, Role::Admin) | (None, _) => Ok(()),
        (Some(a), _) if *a == user.id => Ok(()),
        (Some(a), _) => Err(ApiError::Forbidden(format!(
            "audit {} is {a}'s; only its auditor or an admin records findings",
            audit.id
        ))),
    }
}

/// Commits a change to audit `id`, tells the live stream its work order changed, and answers
/// the audit as it now stands.
async fn commit_and_answer(
    state: &AppState,
    tx: WriteTx,
    id: &str,
    wo_id: &str,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    tx.commit().await?;
    let mut conn = state.db.pool.acquire().await?;
    let d: Option<AuditDetail> = store::detail(&mut conn, id).await?;
    crate::events::notify(state, [crate::events::Change::doc(wo_id)]);
    Ok(HttpResponse::build(status).json(d))
}

/// Records a finding. A pass needs only the standard; a fail needs the problem, the
/// responsible team, the corrective action and its deadline, which then runs on the service
/// clock (rule `QA-CORRECTIVE`) until someone verifies it.
#[utoipa::path(post, path = "/v1/audits/{id}/findings", tag = "audit", operation_id = "record_finding",
    params(("id" = String, Path, description = "The audit id, `aud-…`.")),
    request_body = NewFinding, security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "The audit with the new finding.", body = AuditDetail),
        (status = 400, description = "`missing_field`: a field the result needs, named; \
            `unexpected_field`: a corrective field on a pass; `deadline_past`: the deadline is not \
            after the service time now; `too_long`; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the audit's auditor (or an auditor of its \
            region, while it waits for one) or an admin.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such audit.", body = ErrorBody),
        (status = 409, description = "`audit_closed`: the audit is closed.", body = ErrorBody),
    ))]
pub(crate) async fn record(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<NewFinding>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let audit = lock(&mut tx, &user, &id).await?;
    may_audit(&user, &audit)?;
    if audit.state == "closed" {
        return Err(conflict(
            "audit_closed",
            format!("audit {id} is closed; findings can no longer be added"),
        ));
    }
    let f = body.check(now)?;
    // An auditor of the region takes an audit still waiting; an admin records without taking it.
    if audit.auditor.is_none() && user.role == Role::Auditor {
        sqlx::query(
            "UPDATE audits SET state = 'open', auditor = $1, assigned_at = $2 WHERE id = $3",
        )
        .bind(&user.id)
        .bind(now)
        .bind(&audit.id)
        .execute(&mut *tx)
        .await?;
        history(&mut tx, &audit.id, now, &user.id, "assigned", &user.id).await?;
    }
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_findings WHERE audit_id = $1",
    )
    .bind(&audit.id)
    .fetch_one(&mut *tx)
    .await?;
    let fid = format!("fnd-{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "INSERT INTO audit_findings (id, audit_id, seq, standard, result, problem, responsible_team,
             corrective_action, deadline_at, note, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&fid)
    .bind(&audit.id)
    .bind(seq)
    .bind(&f.standard)
    .bind(if f.fail { "fail" } else { "pass" })
    .bind(f.problem.clone())
    .bind(f.responsible_team.clone())
    .bind(f.corrective_action.clone())
    .bind(f.deadline_at)
    .bind(&f.note)
    .bind(&user.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let detail = match (&f.corrective_action, f.deadline_at) {
        (Some(action), Some(due)) => format!(
            "{fid} fail: {}; {} to {action} by {due}",
            f.standard,
            f.responsible_team.as_deref().unwrap_or("?")
        ),
        _ => format!("{fid} pass: {}", f.standard),
    };
    history(&mut tx, &audit.id, now, &user.id, "finding", &detail).await?;
    if let Some(due) = f.deadline_at {
        sqlx::query(
            "INSERT INTO clocks (wo_id, rule, anchor, region, technician, started_at, due_at)
             VALUES ($1, $2, $3, $4, NULL, $5, $6)",
        )
        .bind(&audit.wo_id)
        .bind(QA_CORRECTIVE)
        .bind(&fid)
        .bind(&audit.region)
        .bind(now)
        .bind(due)
        .execute(&mut *tx)
        .await?;
        crate::clock::store::summarize(&mut tx, std::slice::from_ref(&audit.wo_id)).await?;
    }
    commit_and_answer(
        &state,
        tx,
        &audit.id,
        &audit.wo_id,
        actix_web::http::StatusCode::CREATED,
    )
    .await
}

/// Verifies a failed finding's corrective action: who, when (service time) and a note. Once:
/// the verification stops its QA-CORRECTIVE clock; late, the breach stays on record.
#[utoipa::path(post, path = "/v1/audits/{id}/findings/{finding}/verify", tag = "audit",
    operation_id = "verify_finding",
    params(
        ("id" = String, Path, description = "The audit id, `aud-…`."),
        ("finding" = String, Path, description = "The finding id, `fnd-…`."),
    ),
    request_body = Verify, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The audit with the verified finding.", body = AuditDetail),
        (status = 400, description = "`too_long`; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an auditor or manager of the region, or an admin.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such audit, or no such finding in it.", body = ErrorBody),
        (status = 409, description = "`already_verified`; `nothing_to_verify`: a passed finding has \
            no corrective action.", body = ErrorBody),
    ))]
pub(crate) async fn verify(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: web::Json<Verify>,
) -> Result<HttpResponse, ApiError> {
    let (id, fid) = path.into_inner();
    let note = body.note()?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let audit = lock(&mut tx, &user, &id).await?;
    let finding: Option<Finding> = sqlx::query_as(&format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings WHERE id = $1 AND audit_id = $2"
    ))
    .bind(&fid)
    .bind(&id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(finding) = finding else {
        return Err(ApiError::NotFound(format!(
            "no finding {fid} in audit {id}"
        )));
    };
    if finding.result != "fail" {
        return Err(conflict(
            "nothing_to_verify",
            format!("finding {fid} passed: it has no corrective action to verify"),
        ));
    }
    if let (Some(by), Some(at)) = (&finding.verified_by, finding.verified_at) {
        return Err(conflict(
            "already_verified",
            format!("finding {fid} was verified by {by} at {at}"),
        ));
    }
    sqlx::query(
        "UPDATE audit_findings SET verified_by = $1, verified_at = $2, verification_note = $3
         WHERE id = $4 AND verified_at IS NULL",
    )
    .bind(&user.id)
    .bind(now)
    .bind(&note)
    .bind(&fid)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE clocks SET stopped_at = $1, stopped_by = $2, stop = 'met'
         WHERE wo_id = $3 AND rule = $4 AND anchor = $5 AND stopped_at IS NULL",
    )
    .bind(now)
    .bind(&user.id)
    .bind(&audit.wo_id)
    .bind(QA_CORRECTIVE)
    .bind(&fid)
    .execute(&mut *tx)
    .await?;
    crate::clock::store::summarize(&mut tx, std::slice::from_ref(&audit.wo_id)).await?;
    let late = finding.deadline_at.is_some_and(|d| now > d);
    let detail = format!(
        "{fid}{}{}{note}",
        if late { " (late)" } else { "" },
        if note.is_empty() { "" } else { ": " }
    );
    history(&mut tx, &id, now, &user.id, "verified", &detail).await?;
    commit_and_answer(
        &state,
        tx,
        &id,
        &audit.wo_id,
        actix_web::http::StatusCode::OK,
    )
    .await
}

/// Closes an audit that has findings (its auditor or an admin). Corrective actions still open
/// keep running on the clock until verified.
#[utoipa::path(post, path = "/v1/audits/{id}/close", tag = "audit", operation_id = "close_audit",
    params(("id" = String, Path, description = "The audit id, `aud-…`.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The closed audit.", body = AuditDetail),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the audit's auditor or an admin.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such audit.", body = ErrorBody),
        (status = 409, description = "`no_findings`: record at least one finding first; \
            `audit_closed`: closed already.", body = ErrorBody),
    ))]
pub(crate) async fn close(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let audit = lock(&mut tx, &user, &id).await?;
    may_audit(&user, &audit)?;
    if audit.state == "closed" {
        return Err(conflict(
            "audit_closed",
            format!("audit {id} is closed already"),
        ));
    }
    let findings = store::findings(&mut tx, &id).await?;
    if findings.is_empty() {
        return Err(conflict(
            "no_findings",
            format!("audit {id} has no findings; record at least one before closing it"),
        ));
    }
    sqlx::query("UPDATE audits SET state = 'closed', closed_at = $1, closed_by = $2 WHERE id = $3")
        .bind(now)
        .bind(&user.id)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let failed = findings.iter().filter(|f| f.result == "fail").count();
    let detail = match failed {
        0 => format!("passed: {} finding(s), none failed", findings.len()),
        n => format!("failed: {n} of {} finding(s) failed", findings.len()),
    };
    history(&mut tx, &id, now, &user.id, "closed", &detail).await?;
    commit_and_answer(
        &state,
        tx,
        &id,
        &audit.wo_id,
        actix_web::http::StatusCode::OK,
    )
    .await
}
