//! Users (admin only). The first start creates `admin`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sync_core::ids::UserId;
use sync_core::workorder::Role;

use crate::auth::hash_limit::HashOp;
use crate::auth::{password, AuthUser};
use crate::config::Secret;
use crate::db::catalog::{missing, Kind};
use crate::db::users::User;
use crate::db::{self, now_ms, Db};
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::integer;
use crate::ops::openapi::schemas::{AccountRole, CatalogRef, Id};
use crate::state::AppState;

pub mod catalog;
pub mod home;

use home::HomeBase;

pub fn routes(cfg: &mut web::ServiceConfig) {
    catalog::routes(cfg);
    cfg.route("/v1/admin/users", web::post().to(create_user))
        .route("/v1/admin/users", web::get().to(list_users))
        .route("/v1/admin/users/{id}", web::patch().to(update_user));
}

/// Creates `admin` on first start, with `FIELDSYNC_ADMIN_PASSWORD` or a generated password
/// printed once.
pub async fn ensure_admin(db: &Db, configured: Option<&Secret>) -> anyhow::Result<()> {
    let mut conn = db.pool.acquire().await?;
    if db::users::get(&mut conn, "admin").await?.is_some() {
        return Ok(());
    }
    let (pw, generated) = match configured {
        Some(s) => (s.expose().to_owned(), false),
        None => {
            use base64::Engine;
            use rand::RngCore;
            let mut b = [0u8; 15];
            rand::rngs::OsRng.fill_bytes(&mut b);
            (
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
                true,
            )
        }
    };
    password::check_password_policy(&pw)
        .map_err(|e| anyhow::anyhow!("FIELDSYNC_ADMIN_PASSWORD: {e}"))?;
    let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw).map(|h| (h, pw)))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing the admin password: {e}"))?;
    let created = db::users::insert(
        &mut conn,
        &db::users::UserRow {
            id: "admin".into(),
            role: Role::Admin.as_str().into(),
            password_hash: hash.0,
            regions: "[]".into(),
            skills: "[]".into(),
            capacity: 0,
            active: 1,
            created_at: now_ms(),
        },
    )
    .await?;
    if created && generated {
        // Printed once, on the first start only.
        println!("created user admin with password {}", hash.1);
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(value_type = Id)]
    pub id: String,
    #[schema(value_type = AccountRole)]
    pub role: String,
    /// At least 10 characters and at most 1,024 bytes of UTF-8.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    #[serde(default)]
    #[schema(value_type = Vec<CatalogRef>)]
    pub regions: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<CatalogRef>)]
    pub skills: Vec<String>,
    /// Open jobs a technician can hold at once.
    #[serde(default, deserialize_with = "integer::i64")]
    #[schema(minimum = 0, maximum = 1000)]
    pub capacity: i64,
    /// Optional: a technician's home base, where their routes start and, without a recent
    /// on-site report, where dispatch measures their distance from.
    #[schema(value_type = Option<crate::ops::openapi::schemas::GeoPoint>)]
    pub home: Option<HomeBase>,
}

/// Creates a user (admins only).
#[utoipa::path(
    post,
    path = "/v1/admin/users",
    tag = "admin",
    request_body = NewUser,
    security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Created.", body = User),
        (status = 400, description = "`bad_user_id`, `bad_role` (unknown, or `system`), `bad_capacity` \
            (outside 0 to 1000), `bad_name` (a region or skill blank or over 100 characters), `weak_password`, \
            `bad_coordinates` (a home base with |lat| > 90 or |lon| > 180), or `malformed_json` (the body is \
            not a `NewUser`).", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an admin.", body = ErrorBody),
        (status = 409, description = "`conflict`: a user with this id already exists; `unknown_region`, \
            `unknown_skill`: a region or skill that does not exist (yet).", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the JSON body exceeds 1 MiB.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`.",
            body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
        (status = 503, description = "`busy`: too many passwords are being hashed at once; try again \
            after `Retry-After` seconds.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
async fn create_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin], "create users")?;
    let body = body.into_inner();
    let id =
        UserId::parse(body.id.as_str()).map_err(|e| ApiError::bad("bad_user_id", e.to_string()))?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: String| ApiError::bad("bad_role", e))?;
    if role == Role::System {
        return Err(ApiError::bad(
            "bad_role",
            "system is reserved for the server itself",
        ));
    }
    if !(0..=1000).contains(&body.capacity) {
        return Err(ApiError::bad(
            "bad_capacity",
            "capacity must be between 0 and 1000",
        ));
    }
    check_names(body.regions.iter().chain(&body.skills))?;
    let home = body.home.map(HomeBase::checked).transpose()?;
    password::check_password_policy(&body.password)
        .map_err(|e| ApiError::bad("weak_password", e.to_string()))?;
    {
        let mut conn = state.db.pool.acquire().await?;
        require_known(&mut conn, Kind::Regions, &body.regions).await?;
        require_known(&mut conn, Kind::Skills, &body.skills).await?;
    }
    let pw = body.password.clone();
    let hash = state
        .auth
        .hashes
        .run(HashOp::Hash, move || password::hash_password(&pw))
        .await?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing: {e}")))?;
    let row = db::users::UserRow {
        id: id.to_string(),
        role: role.as_str().into(),
        password_hash: hash,
        regions: serde_json::to_string(&body.regions).unwrap_or_else(|_| "[]".into()),
        skills: serde_json::to_string(&body.skills).unwrap_or_else(|_| "[]".into()),
        capacity: body.capacity,
        active: 1,
        created_at: now_ms(),
    };
    let mut tx = state.db.begin_write().await?;
    if !db::users::insert(&mut tx, &row).await? {
        return Err(ApiError::Conflict(format!("user {id} already exists")));
    }
    if home.is_some() {
        crate::dispatch::places::set_home(&mut tx, &row.id, home, row.created_at).await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Created().json(User {
        home,
        ..row.public()
    }))
}

/// Lists every user (admins, dispatchers and managers).
#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Every user, by id.", body = Vec<User>),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an admin, dispatcher or manager.",
            body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
async fn list_users(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    caller.require(
        &[Role::Admin, Role::Dispatcher, Role::Manager],
        "list users",
    )?;
    let mut conn = state.db.pool.acquire().await?;
    let mut homes = crate::dispatch::places::homes(&mut conn).await?;
    let users: Vec<_> = db::users::list(&mut conn)
        .await?
        .iter()
        .map(|u| User {
            home: homes.remove(&u.id),
            ..u.public()
        })
        .collect();
    Ok(HttpResponse::Ok().json(users))
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<AccountRole>)]
    pub role: Option<String>,
    #[schema(value_type = Option<Vec<CatalogRef>>)]
    pub regions: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<CatalogRef>>)]
    pub skills: Option<Vec<String>>,
    #[serde(default, deserialize_with = "integer::option_i64")]
    #[schema(minimum = 0, maximum = 1000)]
    pub capacity: Option<i64>,
    /// `false` deactivates: no more logins, and every refresh token of the user is revoked.
    pub active: Option<bool>,
    /// A new password set by the admin (at least 10 characters, at most 1,024 bytes); the
    /// user's sessions end.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: Option<String>,
    /// A technician's home base; `null` removes it, absent leaves it.
    #[serde(default, deserialize_with = "home::set_or_clear")]
    #[schema(value_type = Option<crate::ops::openapi::schemas::GeoPoint>, nullable)]
    pub home: Option<Option<HomeBase>>,
}

/// Changes a user's role, regions, skills, capacity, active flag, password or home base.
#[utoipa::path(
    patch,
    path = "/v1/admin/users/{id}",
    tag = "admin",
    params(("id" = String, Path, description = "User id.")),
    request_body = UserPatch,
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The user as it is now.", body = User),
        (status = 400, description = "`bad_role`, `bad_capacity`, `bad_name`, `weak_password`, \
            `bad_coordinates` (a home base with |lat| > 90 or |lon| > 180) or `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only; `self_deactivation`: an admin may not \
            deactivate itself.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user.", body = ErrorBody),
        (status = 409, description = "`unknown_region`, `unknown_skill`: a region or skill that does not \
            exist (yet).", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
        (status = 503, description = "`busy`: too many passwords are being hashed at once; try again \
            after `Retry-After` seconds.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub(crate) async fn update_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin], "change users")?;
    let (id, patch) = (id.into_inner(), body.into_inner());
    let mut conn = state.db.pool.acquire().await?;
    let mut row = db::users::get(&mut conn, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {id}")))?;
    if let Some(role) = &patch.role {
        let role: Role = role
            .parse()
            .map_err(|e: String| ApiError::bad("bad_role", e))?;
        if role == Role::System {
            return Err(ApiError::bad(
                "bad_role",
                "system is reserved for the server itself",
            ));
        }
        row.role = role.as_str().into();
    }
    check_names(patch.regions.iter().chain(&patch.skills).flatten())?;
    let home = patch
        .home
        .map(|h| h.map(HomeBase::checked).transpose())
        .transpose()?;
    if let Some(regions) = &patch.regions {
        require_known(&mut conn, Kind::Regions, regions).await?;
        row.regions = serde_json::to_string(regions).unwrap_or_else(|_| "[]".into());
    }
    if let Some(skills) = &patch.skills {
        require_known(&mut conn, Kind::Skills, skills).await?;
        row.skills = serde_json::to_string(skills).unwrap_or_else(|_| "[]".into());
    }
    if let Some(capacity) = patch.capacity {
        if !(0..=1000).contains(&capacity) {
            return Err(ApiError::bad(
                "bad_capacity",
                "capacity must be between 0 and 1000",
            ));
        }
        row.capacity = capacity;
    }
    if let Some(active) = patch.active {
        if !active && id == caller.id {
            return Err(ApiError::Status {
                status: 403,
                code: "self_deactivation",
                message: "you cannot deactivate yourself".into(),
            });
        }
        row.active = i64::from(active);
    }
    if let Some(pw) = patch.password.clone() {
        password::check_password_policy(&pw)
            .map_err(|e| ApiError::bad("weak_password", e.to_string()))?;
        row.password_hash = state
            .auth
            .hashes
            .run(HashOp::Hash, move || password::hash_password(&pw))
            .await?
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing: {e}")))?;
    }
    drop(conn);
    let mut tx = state.db.begin_write().await?;
    db::users::update(&mut tx, &row).await?;
    if patch.active == Some(false) || patch.password.is_some() {
        db::tokens::revoke_user(&mut tx, &id).await?;
    }
    if let Some(home) = home {
        crate::dispatch::places::set_home(&mut tx, &id, home, now_ms()).await?;
    }
    let home = crate::dispatch::places::home(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(User {
        home,
        ..row.public()
    }))
}

/// A user's regions and skills are not blank and at most 100 characters.
fn check_names<'a>(mut names: impl Iterator<Item = &'a String>) -> Result<(), ApiError> {
    if names.any(|n| n.trim().is_empty() || n.chars().count() > 100) {
        return Err(ApiError::bad(
            "bad_name",
            "regions and skills are not blank and at most 100 characters",
        ));
    }
    Ok(())
}

/// Users may only name regions and skills that exist.
async fn require_known(
    conn: &mut sqlx::AnyConnection,
    kind: Kind,
    ids: &[String],
) -> Result<(), ApiError> {
    let unknown = missing(conn, kind, ids).await?;
    if unknown.is_empty() {
        return Ok(());
    }
    let (code, what, path) = match kind {
        Kind::Regions => ("unknown_region", "region", "regions"),
        Kind::Skills => ("unknown_skill", "skill", "skills"),
    };
    // 409: the request is well formed; it names what does not exist yet.
    Err(ApiError::Status {
        status: 409,
        code,
        message: format!(
            "no such {what}: {}; create it with PUT /v1/admin/{path}/{{id}}",
            unknown.join(", ")
        ),
    })
}
