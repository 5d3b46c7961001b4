//! Authentication: login with argon2id passwords, short-lived JWT access tokens and rotating
//! refresh tokens (a device offline for days stays logged in; reusing a spent refresh token
//! revokes its whole family), logout and password change. [`AuthUser`] is the extractor every
//! protected handler takes.

pub mod jwt;
pub mod password;
pub mod refresh;

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sync_core::ids::{DeviceId, UserId};
use sync_core::workorder::Role;

use crate::config::Secret;
use crate::db::{self, now_ms, Db};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/auth/login", web::post().to(login))
        .route("/v1/auth/refresh", web::post().to(refresh_token))
        .route("/v1/auth/logout", web::post().to(logout))
        .route("/v1/auth/password", web::post().to(change_password));
}

/// The key for access tokens: configured, or generated once and shared through the database
/// so that every instance accepts every other instance's tokens.
pub async fn jwt_secret(db: &Db, configured: Option<&Secret>) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = configured {
        return Ok(s.expose().as_bytes().to_vec());
    }
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let fresh = base64::engine::general_purpose::STANDARD.encode(key);
    sqlx::query("INSERT INTO server_settings (key, value) VALUES ('jwt_secret', $1) ON CONFLICT (key) DO NOTHING")
        .bind(&fresh)
        .execute(&db.pool)
        .await?;
    let stored: String =
        sqlx::query_scalar("SELECT value FROM server_settings WHERE key = 'jwt_secret'")
            .fetch_one(&db.pool)
            .await?;
    Ok(stored.into_bytes())
}

/// The authenticated caller, from `Authorization: Bearer <access token>`.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub role: Role,
    pub device: Option<String>,
}

impl AuthUser {
    pub fn require(&self, allowed: &[Role], what: &str) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} may not {what}",
                self.role
            )))
        }
    }

    pub fn device(&self) -> Result<&str, ApiError> {
        self.device.as_deref().ok_or_else(|| {
            ApiError::Forbidden(
                "this token is not bound to a device; log in with a device id".into(),
            )
        })
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let header = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
    let token = header.strip_prefix("Bearer ").ok_or_else(|| {
        ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
    })?;
    let claims = state
        .jwt
        .verify(token.trim(), now_ms() / 1000)
        .map_err(|e| match e {
            // A distinct code tells a device to refresh rather than to log in again.
            jwt::JwtError::Expired => ApiError::Status {
                status: 401,
                code: "token_expired",
                message: "the access token has expired; refresh it".into(),
            },
            other => ApiError::Unauthorized(format!("access token refused: {other}")),
        })?;
    let role: Role = claims
        .role
        .parse()
        .map_err(|_| ApiError::Unauthorized("access token has an unknown role".into()))?;
    Ok(AuthUser {
        id: claims.sub,
        role,
        device: claims.dev,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
    /// The device logging in; sync needs it. Omit for a browser or script session.
    pub device_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: db::users::User,
}

async fn issue(
    state: &AppState,
    user: &db::users::UserRow,
    device: &str,
    refresh_token: String,
) -> Result<TokenResponse, ApiError> {
    let access = state
        .jwt
        .issue(
            &user.id,
            &user.role,
            Some(device).filter(|d| !d.is_empty()),
            now_ms() / 1000,
            state.access_ttl_secs,
        )
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("issuing a token: {e}")))?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer".into(),
        expires_in: state.access_ttl_secs,
        refresh_token,
        user: user.public(),
    })
}

/// Runs CPU-heavy work (argon2) off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("blocking task failed: {e}")))
}

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
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let device = match &body.device_id {
        Some(d) => DeviceId::parse(d.as_str())
            .map_err(|e| ApiError::bad("bad_device_id", e.to_string()))?
            .to_string(),
        None => String::new(),
    };
    let mut conn = state.db.pool.acquire().await?;
    let user = match UserId::parse(body.user.as_str()) {
        Ok(id) => db::users::get(&mut conn, id.as_str()).await?,
        Err(_) => None,
    };
    drop(conn);
    let password = body.password.clone();
    // Unknown users still cost one hash check, so timing does not reveal which accounts exist.
    let ok = match &user {
        Some(u) if u.active != 0 => {
            let (phc, who) = (u.password_hash.clone(), u.id.clone());
            blocking(move || {
                password::verify_password(&password, &phc).unwrap_or_else(|e| {
                    tracing::error!(user = %who, error = %e, "stored password hash unusable");
                    false
                })
            })
            .await?
        }
        _ => {
            blocking(move || {
                password::verify_against_dummy(&password);
                false
            })
            .await?
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    };
    let (token, record) = refresh::new_family();
    let now = now_ms();
    let mut conn = state.db.pool.acquire().await?;
    db::tokens::create(
        &mut conn,
        &db::tokens::FamilyRow {
            family_id: record.family_id.as_str().to_owned(),
            user_id: user.id.clone(),
            device_id: device.clone(),
            current_hash: record.token_hash.clone(),
            expires_at: now + state.refresh_ttl_secs * 1000,
            revoked: 0,
        },
        now,
    )
    .await?;
    tracing::info!(user = %user.id, device = %device, "login");
    Ok(HttpResponse::Ok().json(issue(&state, &user, &device, token.expose().to_owned()).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Trades a refresh token for a new access token and a new refresh token. Each refresh token
/// works once: reusing a spent one revokes every session of that login.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A fresh access token and the next refresh token.", body = TokenResponse),
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
async fn refresh_token(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let parsed = refresh::parse(&body.refresh_token)
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
    let decision = refresh::decide(
        &parsed.hash,
        Some(&refresh::FamilyState {
            current_hash: family.current_hash.clone(),
            spent_hashes: if spent {
                vec![parsed.hash.clone()]
            } else {
                vec![]
            },
            expires_at: family.expires_at / 1000,
            revoked: family.revoked != 0,
        }),
        now / 1000,
    );
    match decision {
        refresh::RefreshDecision::Rotate => {}
        refresh::RefreshDecision::ReuseDetected => {
            db::tokens::revoke(&mut tx, &family.family_id).await?;
            tx.commit().await?;
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
    db::tokens::rotate(
        &mut tx,
        &family.family_id,
        &family.current_hash,
        &record.token_hash,
        now + state.refresh_ttl_secs * 1000,
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok()
        .json(issue(&state, &user, &family.device_id, token.expose().to_owned()).await?))
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
async fn logout(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let parsed = refresh::parse(&body.refresh_token)
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
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
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
    )
)]
async fn change_password(
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
    let (current, phc) = (body.current_password.clone(), row.password_hash.clone());
    if !blocking(move || password::verify_password(&current, &phc).unwrap_or(false)).await? {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    let new = body.new_password.clone();
    let hash = blocking(move || password::hash_password(&new))
        .await?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing: {e}")))?;
    let mut tx = state.db.begin_write().await?;
    db::users::set_password(&mut tx, &user.id, &hash).await?;
    db::tokens::revoke_user(&mut tx, &user.id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
