//! `POST /v1/auth/login` and `POST /v1/auth/password`: the two endpoints that check a password.
//!
//! A login runs in this order, so that a refused attempt costs as little as possible and an
//! unknown user costs exactly as much as a known one:
//! 1. the throttle check (one indexed read of two counters): 429 without any hash;
//! 2. the user read, then one argon2 verification through the hash limiter (the dummy one for
//!    an unknown or disabled user): 503 `busy` when the limiter is full;
//! 3. a failure is counted for the name and the address (one write, bounded by the hash
//!    rate); a success clears the name's counter and starts a refresh-token family.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sync_core::ids::{DeviceId, UserId};

use super::hash_limit::HashOp;
use super::throttle::{self, Scope};
use super::{issue, password, refresh, AuthUser, LoginRequest, TokenResponse};
use crate::db::{self, now_ms};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Logs in with a user name and password; answers an access token and a refresh token.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in. Bind the session to a device (`device_id`) to sync.",
            body = TokenResponse),
        (status = 400, description = "`bad_device_id`: the device id is malformed; \
            `malformed_json`: the body is not a `LoginRequest`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: wrong user name or password, or the account is disabled.",
            body = ErrorBody),
        (status = 413, description = "`body_too_large`: the JSON body exceeds 1 MiB.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`.",
            body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: 5 failed logins for this user name, or 50 \
            from this address, in the last 15 minutes; the `Retry-After` header says when to try again \
            (even the right password is refused until then).", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends."))),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
        (status = 503, description = "`busy`: too many passwords are being checked at once; try again \
            after `Retry-After` seconds.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let tokens = password_login(&state, &req, body.into_inner(), |_| Ok(())).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// A password login as `POST /v1/auth/login` runs it (throttle, one hash, failure counting).
/// `admit` may still refuse a user whose password was right (the console refuses
/// technicians); nothing is issued then, and it does not count as a failed login.
pub(crate) async fn password_login(
    state: &AppState,
    req: &HttpRequest,
    body: LoginRequest,
    admit: impl FnOnce(&db::users::UserRow) -> Result<(), ApiError>,
) -> Result<TokenResponse, ApiError> {
    let device = match &body.device_id {
        Some(d) => DeviceId::parse(d.as_str())
            .map_err(|e| ApiError::bad("bad_device_id", e.to_string()))?
            .to_string(),
        None => String::new(),
    };
    let guards = &state.auth;
    let account_key = throttle::account_key(&body.user);
    // The TCP peer: no proxy is trusted, so X-Forwarded-For is ignored (see `throttle`).
    let address_key = req.peer_addr().map_or_else(
        || "ip:unknown".to_owned(),
        |a| throttle::address_key(a.ip()),
    );

    let mut conn = state.db.pool.acquire().await?;
    let (by_account, by_address) =
        db::users::throttle::load(&mut conn, &account_key, &address_key).await?;
    if let Err(t) = guards
        .throttle
        .check(by_account.as_ref(), by_address.as_ref(), now_ms())
    {
        metrics::counter!("fieldsync_login_throttled_total", "scope" => t.scope.label())
            .increment(1);
        let whom = match t.scope {
            Scope::Account => "for this user name",
            Scope::Address => "from this address",
        };
        return Err(ApiError::TooManyAttempts {
            retry_after_secs: t.retry_after_secs,
            message: format!(
                "too many failed logins {whom}; try again in {} seconds",
                t.retry_after_secs
            ),
        });
    }
    let user = match UserId::parse(body.user.as_str()) {
        Ok(id) => db::users::get(&mut conn, id.as_str()).await?,
        Err(_) => None,
    };
    drop(conn);

    let password = body.password;
    // Unknown users still cost one hash check, so timing does not reveal which accounts exist.
    let ok = match &user {
        Some(u) if u.active != 0 => {
            let (phc, who) = (u.password_hash.clone(), u.id.clone());
            guards
                .hashes
                .run(HashOp::Verify, move || {
                    password::verify_password(&password, &phc).unwrap_or_else(|e| {
                        tracing::error!(user = %who, error = %e, "stored password hash unusable");
                        false
                    })
                })
                .await?
        }
        _ => {
            guards
                .hashes
                .run(HashOp::Dummy, move || {
                    password::verify_against_dummy(&password);
                    false
                })
                .await?
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        record_failure(state, &account_key, &address_key).await?;
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    };
    admit(&user)?;

    let (token, record) = refresh::new_family();
    let now = now_ms();
    let mut conn = state.db.pool.acquire().await?;
    if by_account.is_some() {
        // Only when there is something to clear: a clean login costs no extra write.
        db::users::throttle::clear(&mut conn, &account_key).await?;
    }
    db::tokens::create(
        &mut conn,
        &db::tokens::FamilyRow {
            family_id: record.family_id.as_str().to_owned(),
            user_id: user.id.clone(),
            device_id: device.clone(),
            current_hash: record.token_hash.clone(),
            expires_at: now + state.refresh_ttl_secs * 1000,
            revoked: 0,
            previous_hash: None,
            rotated_at: None,
        },
        now,
    )
    .await?;
    tracing::info!(user = %user.id, device = %device, "login");
    issue(state, &user, &device, token.expose().to_owned()).await
}

/// Counts a failed login for the name and the address, and drops counters whose window ended
/// (so the table never grows past the live windows).
async fn record_failure(state: &AppState, account: &str, address: &str) -> Result<(), ApiError> {
    metrics::counter!("fieldsync_login_failures_total").increment(1);
    let (now, window) = (now_ms(), state.auth.throttle.window_ms);
    let mut tx = state.db.begin_write().await?;
    db::users::throttle::record_failure(&mut tx, account, now, window).await?;
    db::users::throttle::record_failure(&mut tx, address, now, window).await?;
    db::users::throttle::prune(&mut tx, now).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 10 characters and at most 1,024 bytes of UTF-8.
    #[schema(min_length = 10, max_length = 1024)]
    pub new_password: String,
}

/// Changes the caller's password and revokes all of its refresh tokens (every device logs in again).
#[utoipa::path(
    post,
    path = "/v1/auth/password",
    tag = "auth",
    request_body = PasswordChange,
    security(("bearer_jwt" = [])),
    responses(
        (status = 204, description = "Changed; every refresh token of the user is revoked."),
        (status = 400, description = "`weak_password`: the new password breaks the password policy; \
            `malformed_json`: the body is not a `PasswordChange`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token, or an unknown user; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the current password is wrong.", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the JSON body exceeds 1 MiB.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`.",
            body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
        (status = 503, description = "`busy`: too many passwords are being checked at once; try again \
            after `Retry-After` seconds.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    password::check_password_policy(&body.new_password)
        .map_err(|e| ApiError::bad("weak_password", e.to_string()))?;
    let mut conn = state.db.pool.acquire().await?;
    let row = db::users::get(&mut conn, &user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown user".into()))?;
    drop(conn);
    let (current, phc) = (body.current_password, row.password_hash);
    let hashes = &state.auth.hashes;
    let matches = hashes
        .run(HashOp::Verify, move || {
            password::verify_password(&current, &phc).unwrap_or(false)
        })
        .await?;
    if !matches {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    let new = body.new_password;
    let hash = hashes
        .run(HashOp::Hash, move || password::hash_password(&new))
        .await?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing: {e}")))?;
    let mut tx = state.db.begin_write().await?;
    db::users::set_password(&mut tx, &user.id, &hash).await?;
    db::tokens::revoke_user(&mut tx, &user.id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
