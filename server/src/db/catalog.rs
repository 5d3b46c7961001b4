//! Regions, skills and the parts catalogue.

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, FromRow};

/// A region or a skill: an id used everywhere, and a name for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow, utoipa::ToSchema)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow, utoipa::ToSchema)]
pub struct Part {
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub active: i64,
}

/// The two lists of named things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Regions,
    Skills,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Regions => "regions",
            Kind::Skills => "skills",
        }
    }
}

/// Creates or renames; returns true when it was created.
pub async fn upsert_named(conn: &mut AnyConnection, kind: Kind, n: &Named) -> sqlx::Result<bool> {
    let existed: Option<String> =
        sqlx::query_scalar(&format!("SELECT id FROM {} WHERE id = $1", kind.table()))
            .bind(&n.id)
            .fetch_optional(&mut *conn)
            .await?;
    sqlx::query(&format!(
        "INSERT INTO {} (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        kind.table()
    ))
    .bind(&n.id)
    .bind(&n.name)
    .execute(conn)
    .await?;
    Ok(existed.is_none())
}

pub async fn list_named(conn: &mut AnyConnection, kind: Kind) -> sqlx::Result<Vec<Named>> {
    sqlx::query_as(&format!(
        "SELECT id, name FROM {} ORDER BY id",
        kind.table()
    ))
    .fetch_all(conn)
    .await
}

/// Which of `ids` do not exist.
pub async fn missing(
    conn: &mut AnyConnection,
    kind: Kind,
    ids: &[String],
) -> sqlx::Result<Vec<String>> {
    let known: Vec<String> = sqlx::query_scalar(&format!("SELECT id FROM {}", kind.table()))
        .fetch_all(conn)
        .await?;
    Ok(ids.iter().filter(|i| !known.contains(i)).cloned().collect())
}

pub async fn upsert_part(conn: &mut AnyConnection, p: &Part, now: i64) -> sqlx::Result<bool> {
    let existed: Option<String> = sqlx::query_scalar("SELECT sku FROM parts WHERE sku = $1")
        .bind(&p.sku)
        .fetch_optional(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO parts (sku, name, price_cents, active, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents,
           active = excluded.active, updated_at = excluded.updated_at",
    )
    .bind(&p.sku)
    .bind(&p.name)
    .bind(p.price_cents)
    .bind(p.active)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(existed.is_none())
}

pub async fn list_parts(conn: &mut AnyConnection) -> sqlx::Result<Vec<Part>> {
    sqlx::query_as("SELECT sku, name, price_cents, active FROM parts ORDER BY sku")
        .fetch_all(conn)
        .await
}
