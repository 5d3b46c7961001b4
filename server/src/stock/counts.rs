//! Counts of a van or warehouse (counted against expected, the variance posted as an
//! adjustment so levels match what is on the shelf) and low-stock thresholds.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::ledger;
use super::model::{self, NewMove, READERS, WRITERS};
use super::moves::existing_or_van;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::schemas::Id;
use crate::state::AppState;

/// Most SKUs one count may list.
const MAX_COUNT_ITEMS: usize = 500;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountItem {
    #[schema(value_type = Id)]
    pub sku: String,
    /// What is on the shelf.
    #[serde(deserialize_with = "crate::ops::openapi::integer::i64")]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub counted: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountBody {
    /// A warehouse or a van (`van:<technician>`).
    #[schema(value_type = Id)]
    pub location: String,
    #[schema(min_items = 1, max_items = 500)]
    pub items: Vec<CountItem>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// One counted SKU: counted against what the ledger expected, by whom and when.
#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct CountRow {
    /// Rows of one count share this id.
    pub count_id: String,
    pub location: String,
    pub sku: String,
    pub expected: i64,
    pub counted: i64,
    /// `counted - expected`: negative when parts are missing.
    pub variance: i64,
    /// The adjustment move that brought the level to the count (none when it matched).
    pub move_id: Option<i64>,
    pub note: String,
    pub by_user: String,
    pub at: i64,
}

/// Records a count of a location: per SKU what was expected, what was counted, and the
/// variance, which is posted as a `count_adjustment` so the level becomes the count. A van
/// that went below zero offline is reconciled this way (or by a transfer that covers it).
#[utoipa::path(post, path = "/v1/stock/counts", tag = "stock", operation_id = "count_stock",
    request_body = CountBody, security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Recorded, one row per SKU.", body = Vec<CountRow>),
        (status = 400, description = "`bad_qty`: a count outside 0 to 1,000,000; `bad_items`: no \
            items, more than 500, or a SKU listed twice; `bad_id`, `bad_note`, `malformed_json`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: dispatchers, managers and admins only.", body = ErrorBody),
        (status = 409, description = "`unknown_location`; `unknown_sku`: a SKU neither in the \
            catalogue nor ever moved here.", body = ErrorBody),
    ))]
pub(crate) async fn count(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CountBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS, "count stock")?;
    let b = body.into_inner();
    model::check_id("location", &b.location)?;
    if b.items.is_empty() || b.items.len() > MAX_COUNT_ITEMS {
        return Err(ApiError::bad(
            "bad_items",
            format!("a count lists 1 to {MAX_COUNT_ITEMS} SKUs"),
        ));
    }
    for (i, it) in b.items.iter().enumerate() {
        model::check_id("part", &it.sku)?;
        model::check_count("a count", it.counted)?;
        if b.items[..i].iter().any(|o| o.sku == it.sku) {
            return Err(ApiError::bad(
                "bad_items",
                format!("{} is listed twice", it.sku),
            ));
        }
    }
    let note = model::check_note(b.note.as_deref())?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let loc = existing_or_van(&mut tx, &b.location, now).await?;
    ledger::lock(&mut tx, &loc.id).await?;
    let held = ledger::levels(&mut tx, Some(&loc.id)).await?;
    let count_id = uuid::Uuid::new_v4().simple().to_string();
    let mut rows = Vec::with_capacity(b.items.len());
    for it in &b.items {
        let expected = held
            .iter()
            .find(|(_, s, _)| *s == it.sku)
            .map(|(_, _, q)| *q);
        if expected.is_none() {
            let known: Option<String> = sqlx::query_scalar("SELECT sku FROM parts WHERE sku = $1")
                .bind(&it.sku)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(ApiError::Status {
                    status: 409,
                    code: "unknown_sku",
                    message: format!(
                        "no part {:?} in the catalogue or ever at {}",
                        it.sku, loc.id
                    ),
                });
            }
        }
        let expected = expected.unwrap_or(0);
        let variance = it.counted - expected;
        let move_id = if variance == 0 {
            None
        } else {
            let m = NewMove {
                kind: "count_adjustment",
                sku: it.sku.clone(),
                qty: variance.abs(),
                from_loc: (variance < 0).then(|| loc.id.clone()),
                to_loc: (variance > 0).then(|| loc.id.clone()),
                technician: loc.technician.clone(),
                note: format!("count {count_id}"),
                by_user: user.id.clone(),
                at: now,
                ..NewMove::default()
            };
            Some(ledger::append_one(&mut tx, &m).await?)
        };
        sqlx::query(
            "INSERT INTO stock_counts (count_id, location, sku, expected, counted, variance, \
             move_id, note, by_user, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&count_id)
        .bind(&loc.id)
        .bind(&it.sku)
        .bind(expected)
        .bind(it.counted)
        .bind(variance)
        .bind(move_id)
        .bind(&note)
        .bind(&user.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        rows.push(CountRow {
            count_id: count_id.clone(),
            location: loc.id.clone(),
            sku: it.sku.clone(),
            expected,
            counted: it.counted,
            variance,
            move_id,
            note: note.clone(),
            by_user: user.id.clone(),
            at: now,
        });
    }
    tx.commit().await?;
    super::published(&state, [loc.id.as_str()]);
    Ok(HttpResponse::Created().json(rows))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CountQuery {
    /// Only counts of this location.
    pub location: Option<String>,
}

/// Counts, newest first (at most 1,000 rows).
#[utoipa::path(get, path = "/v1/stock/counts", tag = "stock", operation_id = "list_counts",
    params(CountQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Counted SKUs, newest first.", body = Vec<CountRow>),
        (status = 403, description = "`forbidden`: office roles and auditors only.", body = ErrorBody),
    ))]
pub(crate) async fn list_counts(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<CountQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(READERS, "read stock counts")?;
    let mut conn = state.db.pool.acquire().await?;
    let cols = "count_id, location, sku, expected, counted, variance, move_id, note, by_user, at";
    let rows: Vec<CountRow> = match &q.location {
        Some(l) => {
            sqlx::query_as(&format!(
                "SELECT {cols} FROM stock_counts WHERE location = $1 ORDER BY id DESC LIMIT 1000"
            ))
            .bind(l)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {cols} FROM stock_counts ORDER BY id DESC LIMIT 1000"
            ))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdBody {
    /// Below this the SKU is on the reorder list.
    #[serde(deserialize_with = "crate::ops::openapi::integer::i64")]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub min_qty: i64,
    /// Reorder up to this level (at least `min_qty` is suggested).
    #[serde(deserialize_with = "crate::ops::openapi::integer::i64")]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub reorder_to: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Threshold {
    pub location: String,
    pub sku: String,
    pub min_qty: i64,
    pub reorder_to: i64,
}

/// Sets the low-stock threshold of a SKU at a location.
#[utoipa::path(put, path = "/v1/stock/thresholds/{location}/{sku}", tag = "stock",
    operation_id = "set_stock_threshold",
    params(("location" = Id, Path, description = "A warehouse or a van (`van:<technician>`)."),
           ("sku" = Id, Path, description = "A SKU of the catalogue.")),
    request_body = ThresholdBody, security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Set.", body = Threshold),
        (status = 400, description = "`bad_qty`, `bad_id`, `malformed_json`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: dispatchers, managers and admins only.", body = ErrorBody),
        (status = 409, description = "`unknown_location`, `unknown_sku`.", body = ErrorBody),
    ))]
pub(crate) async fn set_threshold(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: web::Json<ThresholdBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS, "set stock thresholds")?;
    let (location, sku) = path.into_inner();
    model::check_id("location", &location)?;
    model::check_id("part", &sku)?;
    let min_qty = model::check_count("min_qty", body.min_qty)?;
    let reorder_to = model::check_count("reorder_to", body.reorder_to)?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let known: Option<String> = sqlx::query_scalar("SELECT sku FROM parts WHERE sku = $1")
        .bind(&sku)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(ApiError::Status {
            status: 409,
            code: "unknown_sku",
            message: format!("no part {sku:?} in the parts catalogue"),
        });
    }
    let loc = existing_or_van(&mut tx, &location, now).await?;
    sqlx::query(
        "INSERT INTO stock_thresholds (location, sku, min_qty, reorder_to, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (location, sku) DO UPDATE SET \
         min_qty = excluded.min_qty, reorder_to = excluded.reorder_to, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&loc.id)
    .bind(&sku)
    .bind(min_qty)
    .bind(reorder_to)
    .bind(&user.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    super::published(&state, [loc.id.as_str()]);
    Ok(HttpResponse::Ok().json(Threshold {
        location: loc.id,
        sku,
        min_qty,
        reorder_to,
    }))
}
