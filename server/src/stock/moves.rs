//! Office moves: warehouses, receipts, transfers (issue to a van and back) and returns of
//! removed old parts. Each is checked, then appended to the ledger in one write transaction.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::ledger;
use super::model::{self, van_owner, Location, Move, NewMove, WRITERS};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::schemas::{CatalogName, Id};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehouseBody {
    #[schema(value_type = Id)]
    pub id: String,
    #[schema(value_type = CatalogName)]
    pub name: String,
}

/// Creates a warehouse (vans are created with their first move).
#[utoipa::path(post, path = "/v1/stock/locations", tag = "stock", operation_id = "create_warehouse",
    request_body = WarehouseBody, security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Created.", body = Location),
        (status = 400, description = "`bad_id`, `bad_name`, `malformed_json`; `van_id`: ids starting \
            `van:` are technicians' vans.", body = ErrorBody),
        (status = 403, description = "`forbidden`: dispatchers, managers and admins only.", body = ErrorBody),
        (status = 409, description = "`conflict`: a location with this id exists.", body = ErrorBody),
    ))]
pub(crate) async fn create_warehouse(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<WarehouseBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS, "create stock locations")?;
    let body = body.into_inner();
    model::check_id("location", &body.id)?;
    if van_owner(&body.id).is_some() {
        return Err(ApiError::bad(
            "van_id",
            "ids starting with \"van:\" are technicians' vans, created when parts are first \
             issued to them; choose another warehouse id",
        ));
    }
    let name = model::check_name(&body.name)?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    if !ledger::create_warehouse(&mut tx, &body.id, &name, now).await? {
        return Err(ApiError::Conflict(format!(
            "a stock location {:?} exists already",
            body.id
        )));
    }
    let loc = ledger::location(&mut tx, &body.id).await?;
    tx.commit().await?;
    super::published(&state, [body.id.as_str()]);
    Ok(HttpResponse::Created().json(loc))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// A warehouse.
    #[schema(value_type = Id)]
    pub location: String,
    /// A SKU of the parts catalogue.
    #[schema(value_type = Id)]
    pub sku: String,
    #[serde(deserialize_with = "crate::ops::openapi::integer::i64")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub qty: i64,
    /// Optional: one serial per unit.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub serials: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// The moves a request appended.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Posted {
    pub moves: Vec<Move>,
    /// The level of the SKU afterwards, at each location the moves touched.
    pub levels: Vec<LevelAfter>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LevelAfter {
    pub location: String,
    pub sku: String,
    pub qty: i64,
}

/// 409 `unknown_sku` unless the catalogue holds `sku`.
async fn known_sku(conn: &mut AnyConnection, sku: &str) -> Result<(), ApiError> {
    let found: Option<String> = sqlx::query_scalar("SELECT sku FROM parts WHERE sku = $1")
        .bind(sku)
        .fetch_optional(conn)
        .await?;
    found.map(|_| ()).ok_or_else(|| ApiError::Status {
        status: 409,
        code: "unknown_sku",
        message: format!("no part {sku:?} in the parts catalogue; an admin adds it first"),
    })
}

/// The location `id`; a technician's van is created on first use. 409 `unknown_location`
/// otherwise.
pub(super) async fn existing_or_van(
    conn: &mut AnyConnection,
    id: &str,
    now: i64,
) -> Result<Location, ApiError> {
    if let Some(l) = ledger::location(conn, id).await? {
        return Ok(l);
    }
    if let Some(tech) = van_owner(id) {
        let row = crate::db::users::get(conn, tech).await?;
        if row.is_some_and(|u| u.role == "technician" && u.active != 0) {
            ledger::ensure_van(conn, tech, now).await?;
            if let Some(l) = ledger::location(conn, id).await? {
                return Ok(l);
            }
        }
    }
    Err(ApiError::Status {
        status: 409,
        code: "unknown_location",
        message: format!(
            "no stock location {id:?}: create a warehouse first, or name a van as \
             van:<technician> of an active technician"
        ),
    })
}

async fn levels_after(
    conn: &mut AnyConnection,
    moves: &[NewMove],
) -> Result<Vec<LevelAfter>, ApiError> {
    let mut out: Vec<LevelAfter> = Vec::new();
    for m in moves {
        for loc in [&m.from_loc, &m.to_loc].into_iter().flatten() {
            if out.iter().any(|l| &l.location == loc && l.sku == m.sku) {
                continue;
            }
            out.push(LevelAfter {
                location: loc.clone(),
                sku: m.sku.clone(),
                qty: ledger::level(conn, loc, &m.sku).await?,
            });
        }
    }
    Ok(out)
}

/// Appends `moves` and answers 201 with them and the levels after.
async fn post(
    state: &AppState,
    mut tx: crate::db::WriteTx,
    moves: Vec<NewMove>,
) -> Result<HttpResponse, ApiError> {
    let mut ids = Vec::with_capacity(moves.len());
    for m in &moves {
        ids.push(ledger::append_one(&mut tx, m).await?);
    }
    let levels = levels_after(&mut tx, &moves).await?;
    let posted = ledger::moves_by_id(&mut tx, &ids).await?;
    tx.commit().await?;
    super::published(state, levels.iter().map(|l| l.location.as_str()));
    Ok(HttpResponse::Created().json(Posted {
        moves: posted,
        levels,
    }))
}

/// One move per serial when serials are listed, otherwise one move of the whole quantity.
fn split(template: NewMove, serials: Vec<String>) -> Vec<NewMove> {
    if serials.is_empty() {
        return vec![template];
    }
    serials
        .into_iter()
        .map(|s| NewMove {
            qty: 1,
            serial: s,
            ..template.clone()
        })
        .collect()
}

/// Receives parts into a warehouse.
#[utoipa::path(post, path = "/v1/stock/receipts", tag = "stock", operation_id = "receive_stock",
    request_body = ReceiptBody, security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Received: the moves (one per serial when serials are listed) \
            and the level after.", body = Posted),
        (status = 400, description = "`bad_qty`: not 1 to 1,000,000 (a negative receipt); `bad_serials`: \
            not one distinct serial per unit; `bad_id`, `bad_note`, `malformed_json`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: dispatchers, managers and admins only.", body = ErrorBody),
        (status = 409, description = "`unknown_sku`: not in the parts catalogue; `unknown_location`: \
            no such warehouse; `not_a_warehouse`: receipts go into warehouses; `serial_in_stock`: a \
            serial already in stock.", body = ErrorBody),
    ))]
pub(crate) async fn receive(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ReceiptBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS, "receive stock")?;
    let b = body.into_inner();
    model::check_id("location", &b.location)?;
    model::check_id("part", &b.sku)?;
    let qty = model::check_qty("receipt", b.qty)?;
    let serials = model::check_serials(qty, &b.serials)?;
    let note = model::check_note(b.note.as_deref())?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    known_sku(&mut tx, &b.sku).await?;
    let loc = existing_or_van(&mut tx, &b.location, now).await?;
    if loc.kind != "warehouse" {
        return Err(ApiError::Status {
            status: 409,
            code: "not_a_warehouse",
            message: format!(
                "{} is a van: receive parts into a warehouse, then transfer them",
                loc.id
            ),
        });
    }
    ledger::lock(&mut tx, &loc.id).await?;
    for s in &serials {
        if let Some(Some(at)) = ledger::serial_at(&mut tx, &b.sku, s).await? {
            return Err(ApiError::Status {
                status: 409,
                code: "serial_in_stock",
                message: format!("{} serial {s:?} is in stock at {at} already", b.sku),
            });
        }
    }
    let template = NewMove {
        kind: "receipt",
        sku: b.sku,
        qty,
        to_loc: Some(loc.id),
        note,
        by_user: user.id.clone(),
        at: now,
        ..NewMove::default()
    };
    post(&state, tx, split(template, serials)).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// Where the parts are: a warehouse or a van (`van:<technician>`).
    #[schema(value_type = Id)]
    pub from: String,
    /// Where they go; a technician's van is created on its first transfer.
    #[schema(value_type = Id)]
    pub to: String,
    #[schema(value_type = Id)]
    pub sku: String,
    #[serde(deserialize_with = "crate::ops::openapi::integer::i64")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub qty: i64,
    /// Optional: which units, one serial per unit; each must be at `from`.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub serials: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Moves parts between locations: issue to a technician's van, or back to a warehouse.
#[utoipa::path(post, path = "/v1/stock/transfers", tag = "stock", operation_id = "transfer_stock",
    request_body = TransferBody, security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Moved: the moves and the levels after at both ends.", body = Posted),
        (status = 400, description = "`bad_qty`, `bad_serials`, `bad_id`, `bad_note`, `malformed_json`; \
            `same_location`: from and to are the same.", body = ErrorBody),
        (status = 403, description = "`forbidden`: dispatchers, managers and admins only.", body = ErrorBody),
        (status = 409, description = "`unknown_sku`; `unknown_location`: no such location (a van \
            must name an active technician); `insufficient_stock`: more than `from` holds; \
            `serial_not_here`: a serial that is not at `from`.", body = ErrorBody),
    ))]
pub(crate) async fn transfer(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS, "move stock")?;
    let b = body.into_inner();
    model::check_id("location", &b.from)?;
    model::check_id("location", &b.to)?;
    model::check_id("part", &b.sku)?;
    let qty = model::check_qty("transfer", b.qty)?;
    let serials = model::check_serials(qty, &b.serials)?;
    let note = model::check_note(b.note.as_deref())?;
    if b.from == b.to {
        return Err(ApiError::bad(
            "same_location",
            "a transfer goes from one location to another",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    known_sku(&mut tx, &b.sku).await?;
    let from = existing_or_van(&mut tx, &b.from, now).await?;
    let to = existing_or_van(&mut tx, &b.to, now).await?;
    // The lock makes the check and the move one step for concurrent transfers.
    ledger::lock(&mut tx, &from.id).await?;
    let held = ledger::level(&mut tx, &from.id, &b.sku).await?;
    if held < qty {
        return Err(ApiError::Status {
            status: 409,
            code: "insufficient_stock",
            message: format!(
                "{} holds {held} of {}, fewer than the {qty} to move",
                from.id, b.sku
            ),
        });
    }
    for s in &serials {
        if ledger::serial_at(&mut tx, &b.sku, s)
            .await?
            .flatten()
            .as_deref()
            != Some(&from.id)
        {
            return Err(ApiError::Status {
                status: 409,
                code: "serial_not_here",
                message: format!("{} serial {s:?} is not at {}", b.sku, from.id),
            });
        }
    }
    let technician = to.technician.clone().or_else(|| from.technician.clone());
    let template = NewMove {
        kind: "transfer",
        sku: b.sku,
        qty,
        from_loc: Some(from.id),
        to_loc: Some(to.id),
        technician,
        note,
        by_user: user.id.clone(),
        at: now,
        ..NewMove::default()
    };
    post(&state, tx, split(template, serials)).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// The warehouse that takes the old part in.
    #[schema(value_type = Id)]
    pub location: String,
    #[schema(value_type = Id)]
    pub sku: String,
    /// The removed part's serial.
    #[schema(min_length = 1, max_length = 128)]
    pub serial: String,
    /// `repair` or `scrap`.
    pub disposition: String,
    /// The work order the part was removed on, if known (otherwise found by the serial).
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub work_order: Option<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Records a removed old part brought back, by its serial, for repair or scrap. Returned
/// parts are not usable stock: they appear in the ledger, not in levels.
#[utoipa::path(post, path = "/v1/stock/returns", tag = "stock", operation_id = "return_part",
    request_body = ReturnBody, security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Recorded, linked to the work order that removed the part when \
            known.", body = Posted),
        (status = 400, description = "`bad_disposition`: not `repair` or `scrap`; `bad_serials`: a \
            blank serial; `bad_id`, `bad_note`, `malformed_json`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: dispatchers, managers and admins only.", body = ErrorBody),
        (status = 409, description = "`unknown_sku`, `unknown_location`, `not_a_warehouse`.", body = ErrorBody),
    ))]
pub(crate) async fn return_part(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ReturnBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS, "record returned parts")?;
    let b = body.into_inner();
    model::check_id("location", &b.location)?;
    model::check_id("part", &b.sku)?;
    let serial = model::check_serial(&b.serial)?;
    if !matches!(b.disposition.as_str(), "repair" | "scrap") {
        return Err(ApiError::bad(
            "bad_disposition",
            format!(
                "a returned part goes to `repair` or `scrap`, not {:?}",
                b.disposition
            ),
        ));
    }
    if let Some(w) = &b.work_order {
        model::check_id("work order", w)?;
    }
    let note = model::check_note(b.note.as_deref())?;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    known_sku(&mut tx, &b.sku).await?;
    let loc = existing_or_van(&mut tx, &b.location, now).await?;
    if loc.kind != "warehouse" {
        return Err(ApiError::Status {
            status: 409,
            code: "not_a_warehouse",
            message: format!("{} is a van: old parts are returned to a warehouse", loc.id),
        });
    }
    // The consumption that took this part out, for traceability.
    let found: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT wo_id, technician FROM stock_moves WHERE kind = 'consumption' AND sku = $1 \
         AND serial_old = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(&b.sku)
    .bind(&serial)
    .fetch_optional(&mut *tx)
    .await?;
    let (wo_id, technician) = match (b.work_order, found) {
        (Some(w), f) => (Some(w), f.and_then(|f| f.1)),
        (None, Some((w, t))) => (Some(w), t),
        (None, None) => (None, None),
    };
    let m = NewMove {
        kind: "return",
        sku: b.sku,
        qty: 1,
        to_loc: Some(loc.id),
        serial_old: serial,
        disposition: Some(b.disposition),
        wo_id,
        technician,
        note,
        by_user: user.id.clone(),
        at: now,
        ..NewMove::default()
    };
    post(&state, tx, vec![m]).await
}
