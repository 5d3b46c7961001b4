//! Refresh-token families. Only SHA-256 hashes of tokens are stored.

use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct FamilyRow {
    pub family_id: String,
    pub user_id: String,
    pub device_id: String,
    pub current_hash: String,
    pub expires_at: i64,
    pub revoked: i64,
    /// The token `current_hash` replaced, while `current_hash` is unused and no grace retry
    /// happened since (see `auth::refresh`); `None` otherwise.
    pub previous_hash: Option<String>,
    /// When `previous_hash` was rotated away (ms since the epoch).
    pub rotated_at: Option<i64>,
}

pub async fn create(conn: &mut AnyConnection, f: &FamilyRow, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_families (family_id, user_id, device_id, current_hash, expires_at, revoked, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(&f.family_id)
    .bind(&f.user_id)
    .bind(&f.device_id)
    .bind(&f.current_hash)
    .bind(f.expires_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Loads a family, locking its row for the rest of the transaction.
pub async fn lock(conn: &mut AnyConnection, family_id: &str) -> sqlx::Result<Option<FamilyRow>> {
    sqlx::query("UPDATE refresh_families SET revoked = revoked WHERE family_id = $1")
        .bind(family_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_as::<_, FamilyRow>(
        "SELECT family_id, user_id, device_id, current_hash, expires_at, revoked, previous_hash, rotated_at
         FROM refresh_families WHERE family_id = $1",
    )
    .bind(family_id)
    .fetch_optional(conn)
    .await
}

pub async fn is_spent(conn: &mut AnyConnection, family_id: &str, hash: &str) -> sqlx::Result<bool> {
    let n = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM refresh_spent WHERE family_id = $1 AND token_hash = $2",
    )
    .bind(family_id)
    .bind(hash)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Marks the current token spent and installs the next one; the spent one becomes the
/// previous token, good for one retry within the grace window from `now` (ms).
pub async fn rotate(
    conn: &mut AnyConnection,
    family_id: &str,
    old_hash: &str,
    new_hash: &str,
    expires_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    mark_spent(&mut *conn, family_id, old_hash).await?;
    sqlx::query(
        "UPDATE refresh_families SET current_hash = $1, expires_at = $2, previous_hash = $3, rotated_at = $4
         WHERE family_id = $5",
    )
    .bind(new_hash)
    .bind(expires_at)
    .bind(old_hash)
    .bind(now)
    .bind(family_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A grace retry: retires the unused current token (spent, so showing it later is reuse),
/// installs the next one, and uses the grace up (no previous token any more).
pub async fn retry_previous(
    conn: &mut AnyConnection,
    family_id: &str,
    unused_hash: &str,
    new_hash: &str,
    expires_at: i64,
) -> sqlx::Result<()> {
    mark_spent(&mut *conn, family_id, unused_hash).await?;
    sqlx::query(
        "UPDATE refresh_families SET current_hash = $1, expires_at = $2, previous_hash = NULL
         WHERE family_id = $3",
    )
    .bind(new_hash)
    .bind(expires_at)
    .bind(family_id)
    .execute(conn)
    .await?;
    Ok(())
}

async fn mark_spent(conn: &mut AnyConnection, family_id: &str, hash: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO refresh_spent (token_hash, family_id) VALUES ($1, $2) ON CONFLICT (token_hash) DO NOTHING")
        .bind(hash)
        .bind(family_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn revoke(conn: &mut AnyConnection, family_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_families SET revoked = 1 WHERE family_id = $1")
        .bind(family_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes every family of a user (password change).
pub async fn revoke_user(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_families SET revoked = 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
