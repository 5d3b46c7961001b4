//! User accounts, and the failed-login counters that guard them ([`throttle`]).

pub mod throttle;

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub role: String,
    pub password_hash: String,
    pub regions: String,
    pub skills: String,
    pub capacity: i64,
    pub active: i64,
    pub created_at: i64,
}

/// A user as the API shows it (never the hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub role: String,
    pub regions: Vec<String>,
    pub skills: Vec<String>,
    pub capacity: i64,
    pub active: bool,
    /// A technician's home base, when set (`PATCH /v1/admin/users/{id}`); the admin users
    /// API shows it, other answers leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ops::openapi::schemas::GeoPoint>)]
    pub home: Option<sync_core::workorder::GeoPoint>,
}

impl UserRow {
    pub fn regions(&self) -> Vec<String> {
        serde_json::from_str(&self.regions).unwrap_or_default()
    }

    pub fn skills(&self) -> Vec<String> {
        serde_json::from_str(&self.skills).unwrap_or_default()
    }

    pub fn public(&self) -> User {
        User {
            id: self.id.clone(),
            role: self.role.clone(),
            regions: self.regions(),
            skills: self.skills(),
            capacity: self.capacity,
            active: self.active != 0,
            home: None,
        }
    }
}

const COLUMNS: &str = "id, role, password_hash, regions, skills, capacity, active, created_at";

pub async fn get(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn list(conn: &mut AnyConnection) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users ORDER BY id"))
        .fetch_all(conn)
        .await
}

pub async fn count(conn: &mut AnyConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await
}

/// Inserts a user; returns false when the id is taken.
pub async fn insert(conn: &mut AnyConnection, u: &UserRow) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO users (id, role, password_hash, regions, skills, capacity, active, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&u.id)
    .bind(&u.role)
    .bind(&u.password_hash)
    .bind(&u.regions)
    .bind(&u.skills)
    .bind(u.capacity)
    .bind(u.active)
    .bind(u.created_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(conn: &mut AnyConnection, id: &str, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes role, regions, skills, capacity, active flag and password hash of an existing user.
pub async fn update(conn: &mut AnyConnection, u: &UserRow) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET role = $1, password_hash = $2, regions = $3, skills = $4, capacity = $5, active = $6
         WHERE id = $7",
    )
    .bind(&u.role)
    .bind(&u.password_hash)
    .bind(&u.regions)
    .bind(&u.skills)
    .bind(u.capacity)
    .bind(u.active)
    .bind(&u.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the user exists and is active: one primary-key read of one column, for the
/// check every authenticated request makes (`AuthUser`).
pub async fn is_active(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<bool>> {
    let active = sqlx::query_scalar::<_, i64>("SELECT active FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(active.map(|a| a != 0))
}
