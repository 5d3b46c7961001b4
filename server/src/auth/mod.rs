//! Authentication: login with argon2id passwords, short-lived JWT access tokens and rotating
//! refresh tokens (a device offline for days stays logged in; reusing a spent refresh token
//! revokes its whole family, except a retry after a lost response), logout and password change.
//! [`AuthUser`] is the extractor every protected handler takes; it refuses a deactivated
//! account at once.
//!
//! What keeps the endpoints standing under attack ([`AuthGuards`]): every argon2 run goes
//! through one [`hash_limit::HashLimiter`], and repeated failed logins are refused per
//! account and per address before any hash ([`throttle`]).

pub mod hash_limit;
pub mod jwt;
mod login;
pub mod password;
pub mod refresh;
mod session;
pub mod throttle;

use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use sync_core::workorder::Role;

use crate::config::Secret;
use crate::db::{self, now_ms, Db};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) use login::password_login;
pub use login::{__path_change_password, __path_login, change_password, login};
pub use session::{__path_logout, __path_refresh_token, logout, refresh_token};
pub(crate) use session::{end as end_session, rotate as rotate_refresh};

/// What guards the auth endpoints, built once per process (one field of `AppState`). The
/// defaults are documented on each part; a deployment may build its own.
#[derive(Debug)]
pub struct AuthGuards {
    /// Every argon2 hash or verification goes through it.
    pub hashes: hash_limit::HashLimiter,
    /// Failed-login limits per account and per client address.
    pub throttle: throttle::ThrottlePolicy,
    /// How long a rotated-away refresh token stays good for one retry (seconds).
    pub refresh_grace_secs: i64,
}

impl Default for AuthGuards {
    fn default() -> Self {
        Self {
            hashes: hash_limit::HashLimiter::default(),
            throttle: throttle::ThrottlePolicy::default(),
            refresh_grace_secs: refresh::DEFAULT_GRACE_SECS,
        }
    }
}

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

/// The authenticated caller, from `Authorization: Bearer <access token>`, or from the browser
/// console's session cookie (then every request that changes something must carry the
/// session's CSRF token, see `console::session`).
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub role: Role,
    pub device: Option<String>,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
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
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let claimed = authenticate(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let user = claimed?;
            let state = state
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            require_active(&state, &user.id).await?;
            Ok(user)
        })
    }
}

/// Refuses a token whose user was deactivated (or removed) since it was issued, so an admin's
/// deactivation takes effect at the next request rather than when the access token expires.
///
/// Cost: one primary-key read of one column (`SELECT active FROM users WHERE id = $1`) on a
/// pooled connection, no write; every authenticated request pays it, the sync included.
async fn require_active(state: &AppState, user: &str) -> Result<(), ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    match db::users::is_active(&mut conn, user).await? {
        Some(true) => Ok(()),
        Some(false) => {
            metrics::counter!("fieldsync_auth_refused_total", "reason" => "account_disabled")
                .increment(1);
            Err(ApiError::Status {
                status: 401,
                code: "account_disabled",
                message: "this account is disabled; ask an admin to reactivate it".into(),
            })
        }
        None => Err(ApiError::Unauthorized(
            "the account this token was issued to no longer exists".into(),
        )),
    }
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    // A device or script sends the header; the browser console sends its session cookie.
    let (token, from_cookie) = match req.headers().get("authorization") {
        Some(header) => {
            let header = header.to_str().map_err(|_| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
            let token = header.strip_prefix("Bearer ").ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
            (token.trim().to_owned(), false)
        }
        None => match req.cookie(crate::console::session::ACCESS_COOKIE) {
            Some(c) => (c.value().to_owned(), true),
            None => {
                return Err(ApiError::Unauthorized(
                    "missing Authorization: Bearer token".into(),
                ))
            }
        },
    };
    let token = token.as_str();
    let claims = state
        .jwt
        .verify(token, now_ms() / 1000)
        .map_err(|e| match e {
            // A distinct code tells a device to refresh rather than to log in again.
            jwt::JwtError::Expired => ApiError::Status {
                status: 401,
                code: "token_expired",
                message: "the access token has expired; refresh it".into(),
            },
            other => ApiError::Unauthorized(format!("access token refused: {other}")),
        })?;
    if from_cookie {
        crate::console::session::check_csrf(req, &claims)?;
    }
    let role: Role = claims
        .role
        .parse()
        .map_err(|_| ApiError::Unauthorized("access token has an unknown role".into()))?;
    Ok(AuthUser {
        id: claims.sub,
        role,
        device: claims.dev,
        expires_at: claims.exp,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The user id. Any string is accepted; a wrong one is refused like a wrong password.
    pub user: String,
    pub password: String,
    /// The device logging in; sync needs it. Omit (or `null`) for a browser or script
    /// session. 1 to 128 letters, digits and `- _ . : @`.
    #[schema(pattern = "^[A-Za-z0-9_.:@-]{1,128}$")]
    pub device_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(pattern = "^Bearer$")]
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
