//! `POST /v1/auth/refresh` and `POST /v1/auth/logout`: what a device does with its refresh
//! token. The rule (rotation, the grace retry after a lost response, reuse detection) is the
//! pure [`refresh::decide_with_grace`]; these handlers load, decide and write in one
//! transaction with the family row locked.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::refresh::{self, FamilyState, PreviousToken, RefreshDecision};
use super::{issue, TokenResponse};
use crate::db::{self, now_ms};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Trades a refresh token for a new access token and a new refresh token. Each refresh token
/// works once: reusing a spent one revokes every session of that login. The one exception is
/// a device whose refresh response was lost: the token it sent may be sent again once, within
/// 60 seconds, as long as the token that response carried was never used.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A fresh access token and the next refresh token (also for a \
            retry within 60 s after a lost response; the token that response carried is then void).",
            body = TokenResponse),
        (status = 400, description = "`malformed_json`: the body is not a `RefreshRequest`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: the refresh token is malformed, unknown, expired, \
            revoked or already used (which revokes its whole family), or the account is disabled; log in again.",
            body = ErrorBody),
        (status = 413, description = "`body_too_large`: the JSON body exceeds 1 MiB.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`.",
            body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub async fn refresh_token(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let tokens = rotate(&state, &body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Trades `refresh_token` for new tokens as `POST /v1/auth/refresh` does.
pub(crate) async fn rotate(
    state: &AppState,
    refresh_token: &str,
) -> Result<TokenResponse, ApiError> {
    let parsed = refresh::parse(refresh_token)
        .map_err(|e| ApiError::Unauthorized(format!("refresh token refused: {e}")))?;
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    // Locking the family row serializes concurrent refreshes of one family.
    let Some(family) = db::tokens::lock(&mut tx, parsed.family_id.as_str()).await? else {
        return Err(ApiError::Unauthorized(
            "refresh token refused: unknown".into(),
        ));
    };
    let spent = db::tokens::is_spent(&mut tx, &family.family_id, &parsed.hash).await?;
    let stored = FamilyState {
        current_hash: family.current_hash.clone(),
        spent_hashes: if spent {
            vec![parsed.hash.clone()]
        } else {
            vec![]
        },
        previous: family
            .previous_hash
            .clone()
            .zip(family.rotated_at)
            .map(|(hash, at)| PreviousToken {
                hash,
                rotated_at: at / 1000,
            }),
        expires_at: family.expires_at / 1000,
        revoked: family.revoked != 0,
    };
    let decision = refresh::decide_with_grace(
        &parsed.hash,
        Some(&stored),
        now / 1000,
        state.auth.refresh_grace_secs,
    );
    match decision {
        RefreshDecision::Rotate | RefreshDecision::GraceRetry => {}
        RefreshDecision::ReuseDetected => {
            db::tokens::revoke(&mut tx, &family.family_id).await?;
            tx.commit().await?;
            metrics::counter!("fieldsync_refresh_reuse_total").increment(1);
            tracing::warn!(family = %family.family_id, user = %family.user_id, "refresh token reuse: family revoked");
            return Err(ApiError::Unauthorized(
                "refresh token was already used; every session of this login is revoked, log in again".into(),
            ));
        }
        other => {
            return Err(ApiError::Unauthorized(
                format!("refresh token refused: {other:?}").to_lowercase(),
            ));
        }
    }
    let Some(user) = db::users::get(&mut tx, &family.user_id)
        .await?
        .filter(|u| u.active != 0)
    else {
        return Err(ApiError::Unauthorized("the account is disabled".into()));
    };
    let (token, record) = refresh::rotate(&parsed.family_id);
    let expires_at = now + state.refresh_ttl_secs * 1000;
    if decision == RefreshDecision::GraceRetry {
        // The device never got the current token: retire it and hand out a fresh one.
        db::tokens::retry_previous(
            &mut tx,
            &family.family_id,
            &family.current_hash,
            &record.token_hash,
            expires_at,
        )
        .await?;
        metrics::counter!("fieldsync_refresh_grace_total").increment(1);
        tracing::info!(family = %family.family_id, user = %family.user_id, "refresh retried within the grace window");
    } else {
        db::tokens::rotate(
            &mut tx,
            &family.family_id,
            &family.current_hash,
            &record.token_hash,
            expires_at,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    issue(state, &user, &family.device_id, token.expose().to_owned()).await
}

/// Ends a login: revokes the refresh token's family, so no device session of it can refresh.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out."),
        (status = 400, description = "`malformed_json`: the body is not a `RefreshRequest`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: the refresh token is malformed, unknown or not the current one.",
            body = ErrorBody),
        (status = 413, description = "`body_too_large`: the JSON body exceeds 1 MiB.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`.",
            body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub async fn logout(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    end(&state, &body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes the family of `refresh_token`, which must be its current token.
pub(crate) async fn end(state: &AppState, refresh_token: &str) -> Result<(), ApiError> {
    let parsed = refresh::parse(refresh_token)
        .map_err(|e| ApiError::Unauthorized(format!("refresh token refused: {e}")))?;
    let mut tx = state.db.begin_write().await?;
    if let Some(f) = db::tokens::lock(&mut tx, parsed.family_id.as_str()).await? {
        if refresh::hashes_equal(&f.current_hash, &parsed.hash) {
            db::tokens::revoke(&mut tx, &f.family_id).await?;
        } else {
            return Err(ApiError::Unauthorized(
                "refresh token refused: not current".into(),
            ));
        }
    } else {
        return Err(ApiError::Unauthorized(
            "refresh token refused: unknown".into(),
        ));
    }
    tx.commit().await?;
    Ok(())
}
