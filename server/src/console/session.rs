//! The browser console's session: the same access and refresh tokens as a device's, kept in
//! cookies the page's scripts cannot read.
//!
//! - `fs_access`: the access token (HttpOnly, SameSite=Strict, Path=/). Every `/v1` handler
//!   accepts it in place of `Authorization: Bearer` (`auth::authenticate`).
//! - `fs_refresh`: the refresh token (HttpOnly, SameSite=Strict, Path=/console/session), sent
//!   only to the refresh and logout endpoints.
//! - Both are `Secure` when the request came over https.
//!
//! CSRF: SameSite=Strict already keeps other sites' requests from carrying the cookies; on top
//! of that every request authenticated by the cookie that changes something (any method but
//! GET, HEAD and OPTIONS) must send `X-CSRF-Token` equal to the access token's `jti`. The page
//! learns it from the session endpoints' JSON (which another site cannot read), it changes
//! with every refresh, and it cannot be forged without the HttpOnly cookie. The session
//! endpoints themselves (login, refresh) require `X-Requested-With: fieldsync`, a header no
//! cross-site form can send.

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sync_core::workorder::Role;

use crate::auth::jwt::Claims;
use crate::auth::{AuthUser, LoginRequest, TokenResponse};
use crate::db::{self, now_ms};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub const ACCESS_COOKIE: &str = "fs_access";
pub const REFRESH_COOKIE: &str = "fs_refresh";
const REFRESH_PATH: &str = "/console/session";
const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleLogin {
    pub user: String,
    pub password: String,
}

/// Who is logged in to the console.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsoleUser {
    pub id: String,
    /// What the console shows for the user (the id: accounts have no display name yet).
    pub name: String,
    pub role: String,
    /// The regions the user dispatches (dispatchers); empty for every other role, which sees
    /// every region.
    pub regions: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsoleSession {
    pub user: ConsoleUser,
    /// Send it as `X-CSRF-Token` with every request that changes something.
    pub csrf: String,
    /// When the access cookie's token expires (Unix seconds); refresh before or on `401
    /// token_expired`.
    pub access_expires_at: i64,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/session", web::post().to(login))
        .route("/console/session", web::get().to(current))
        .route("/console/session/refresh", web::post().to(refresh))
        .route("/console/logout", web::post().to(logout));
}

/// Logs in to the console: office roles only.
#[utoipa::path(post, path = "/console/session", tag = "console", request_body = ConsoleLogin,
    params(("X-Requested-With" = String, Header, description = "Must be `fieldsync`.")),
    responses(
        (status = 200, description = "Logged in; the session cookies are set.", body = ConsoleSession),
        (status = 400, description = "`missing_header`: no `X-Requested-With: fieldsync`; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: wrong user name or password.", body = ErrorBody),
        (status = 403, description = "`office_only`: technicians use the field app, not the console.", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`.", body = ErrorBody),
        (status = 503, description = "`busy`, with `Retry-After`.", body = ErrorBody),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ConsoleLogin>,
) -> Result<HttpResponse, ApiError> {
    require_console_header(&req)?;
    let body = body.into_inner();
    let request = LoginRequest {
        user: body.user,
        password: body.password,
        device_id: None,
    };
    let tokens = crate::auth::password_login(&state, &req, request, |user| {
        match user.role.parse::<Role>() {
            Ok(Role::Technician) | Ok(Role::System) | Err(_) => Err(office_only()),
            Ok(_) => Ok(()),
        }
    })
    .await?;
    respond(&state, &req, tokens)
}

/// The session of the cookie, for a page that loads.
#[utoipa::path(get, path = "/console/session", tag = "console",
    responses(
        (status = 200, description = "The current session.", body = ConsoleSession),
        (status = 401, description = "`unauthorized` (not logged in) or `token_expired` (refresh).", body = ErrorBody),
        (status = 403, description = "`office_only`.", body = ErrorBody),
    ))]
pub async fn current(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let token = req
        .cookie(ACCESS_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| ApiError::Unauthorized("not logged in to the console".into()))?;
    let claims = state
        .jwt
        .verify(&token, now_ms() / 1000)
        .map_err(|e| ApiError::Unauthorized(format!("access token refused: {e}")))?;
    let mut conn = state.db.pool.acquire().await?;
    let row = db::users::get(&mut conn, &user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown user".into()))?;
    if matches!(user.role, Role::Technician | Role::System) {
        return Err(office_only());
    }
    Ok(HttpResponse::Ok().json(session(&row.public(), &claims)))
}

/// Rotates the session's tokens (the refresh cookie's rule is the device's: each works once).
#[utoipa::path(post, path = "/console/session/refresh", tag = "console",
    params(("X-Requested-With" = String, Header, description = "Must be `fieldsync`.")),
    responses(
        (status = 200, description = "New tokens in the cookies; a new CSRF token.", body = ConsoleSession),
        (status = 400, description = "`missing_header`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: log in again.", body = ErrorBody),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_console_header(&req)?;
    let token = req
        .cookie(REFRESH_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| ApiError::Unauthorized("no console session to refresh; log in".into()))?;
    let tokens = crate::auth::rotate_refresh(&state, &token).await?;
    respond(&state, &req, tokens)
}

/// Ends the session: revokes its refresh token and clears the cookies.
#[utoipa::path(post, path = "/console/logout", tag = "console",
    params(("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token \
        (required when the session cookie authenticates the request).")),
    responses(
        (status = 204, description = "Logged out; the cookies are cleared."),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`csrf`: the CSRF token is missing or wrong.", body = ErrorBody),
    ))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    _user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    if let Some(c) = req.cookie(REFRESH_COOKIE) {
        // An already revoked or rotated token still ends in cleared cookies.
        if let Err(e) = crate::auth::end_session(&state, c.value()).await {
            tracing::info!(error = %e, "console logout: the refresh token was no longer current");
        }
    }
    let secure = is_https(&req);
    Ok(HttpResponse::NoContent()
        .cookie(expired(ACCESS_COOKIE, "/", secure))
        .cookie(expired(REFRESH_COOKIE, REFRESH_PATH, secure))
        .finish())
}

/// For a request authenticated by the cookie: one that changes something must carry the
/// session's CSRF token.
pub fn check_csrf(req: &HttpRequest, claims: &Claims) -> Result<(), ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match sent {
        Some(t) if crate::auth::refresh::hashes_equal(t.trim(), &claims.jti) => Ok(()),
        _ => Err(ApiError::Status {
            status: 403,
            code: "csrf",
            message: "this change needs the session's X-CSRF-Token header; reload the console"
                .into(),
        }),
    }
}

fn require_console_header(req: &HttpRequest) -> Result<(), ApiError> {
    let ok = req
        .headers()
        .get("x-requested-with")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("fieldsync"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(
            "missing_header",
            "console session requests must send X-Requested-With: fieldsync",
        ))
    }
}

fn office_only() -> ApiError {
    ApiError::Status {
        status: 403,
        code: "office_only",
        message: "The console is for the office; technicians use the field app.".into(),
    }
}

fn respond(
    state: &AppState,
    req: &HttpRequest,
    tokens: TokenResponse,
) -> Result<HttpResponse, ApiError> {
    let claims = state
        .jwt
        .verify(&tokens.access_token, now_ms() / 1000)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a token just issued: {e}")))?;
    let secure = is_https(req);
    let access = Cookie::build(ACCESS_COOKIE, tokens.access_token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(CookieAge::seconds(state.refresh_ttl_secs))
        .finish();
    let refresh = Cookie::build(REFRESH_COOKIE, tokens.refresh_token.clone())
        .path(REFRESH_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(CookieAge::seconds(state.refresh_ttl_secs))
        .finish();
    Ok(HttpResponse::Ok()
        .cookie(access)
        .cookie(refresh)
        .insert_header(("cache-control", "no-store"))
        .json(session(&tokens.user, &claims)))
}

fn session(user: &db::users::User, claims: &Claims) -> ConsoleSession {
    let regions = if user.role == Role::Dispatcher.as_str() {
        user.regions.clone()
    } else {
        Vec::new()
    };
    ConsoleSession {
        user: ConsoleUser {
            id: user.id.clone(),
            name: user.id.clone(),
            role: user.role.clone(),
            regions,
        },
        csrf: claims.jti.clone(),
        access_expires_at: claims.exp,
    }
}

fn expired(name: &'static str, path: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(name, "")
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    c.make_removal();
    c
}

fn is_https(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}
