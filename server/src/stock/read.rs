//! Reading stock: locations and their levels, a technician's own van (what field-cli caches
//! for offline use), the reorder list, shortfalls to reconcile, and the ledger itself.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use sync_core::workorder::Role;

use super::ledger::{self, MoveFilter};
use super::model::{self, van_of, Level, Location, LocationStock, Move, READERS};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::schemas::Id;
use crate::state::AppState;

/// Thresholds per (location, sku): (min_qty, reorder_to).
async fn thresholds(
    conn: &mut AnyConnection,
) -> sqlx::Result<HashMap<(String, String), (i64, i64)>> {
    let mut out = HashMap::new();
    for r in sqlx::query("SELECT location, sku, min_qty, reorder_to FROM stock_thresholds")
        .fetch_all(conn)
        .await?
    {
        out.insert(
            (r.try_get("location")?, r.try_get("sku")?),
            (r.try_get("min_qty")?, r.try_get("reorder_to")?),
        );
    }
    Ok(out)
}

async fn part_names(conn: &mut AnyConnection) -> sqlx::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for r in sqlx::query("SELECT sku, name FROM parts")
        .fetch_all(conn)
        .await?
    {
        out.insert(r.try_get("sku")?, r.try_get("name")?);
    }
    Ok(out)
}

/// Every level of every location (or of one), with names, serials and thresholds; SKUs with a
/// threshold but no moves yet are listed at zero.
pub async fn stock(
    conn: &mut AnyConnection,
    location: Option<&str>,
) -> sqlx::Result<HashMap<String, Vec<Level>>> {
    let names = part_names(conn).await?;
    let limits = thresholds(conn).await?;
    let mut serials = ledger::serials(conn, location).await?;
    let mut qty: HashMap<(String, String), i64> = ledger::levels(conn, location)
        .await?
        .into_iter()
        .map(|(l, s, q)| ((l, s), q))
        .collect();
    for key in limits.keys() {
        if location.is_none_or(|l| l == key.0) {
            qty.entry(key.clone()).or_insert(0);
        }
    }
    let mut out: HashMap<String, Vec<Level>> = HashMap::new();
    for ((loc, sku), q) in qty {
        let limit = limits.get(&(loc.clone(), sku.clone())).copied();
        let level = Level {
            name: names.get(&sku).cloned(),
            qty: q,
            serials: serials
                .remove(&(loc.clone(), sku.clone()))
                .unwrap_or_default(),
            min_qty: limit.map(|l| l.0),
            reorder_to: limit.map(|l| l.1),
            low: limit.is_some_and(|l| q < l.0),
            sku,
        };
        out.entry(loc).or_default().push(level);
    }
    for levels in out.values_mut() {
        levels.sort_by(|a, b| a.sku.cmp(&b.sku));
    }
    Ok(out)
}

/// Whether `user` may read `location`: readers all, a technician its own van.
fn may_read(user: &AuthUser, location: &str) -> Result<(), ApiError> {
    if READERS.contains(&user.role)
        || (user.role == Role::Technician && location == van_of(&user.id))
    {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "a {} may not read the stock of {location}",
        user.role
    )))
}

/// Stock locations: all for office roles and auditors, its own van for a technician.
#[utoipa::path(get, path = "/v1/stock/locations", tag = "stock", operation_id = "list_stock_locations",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Warehouses, then vans.", body = Vec<Location>),
        (status = 403, description = "`forbidden`: agents.", body = ErrorBody),
    ))]
pub(crate) async fn list_locations(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    if user.role != Role::Technician {
        user.require(READERS, "read stock")?;
    }
    let mut conn = state.db.pool.acquire().await?;
    let mut all = ledger::locations(&mut conn).await?;
    if user.role == Role::Technician {
        let mine = van_of(&user.id);
        all.retain(|l| l.id == mine);
    }
    Ok(HttpResponse::Ok().json(all))
}

async fn location_stock(state: &AppState, location: Location) -> Result<LocationStock, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let as_of = state.clock.now(&mut conn).await?;
    let levels = stock(&mut conn, Some(&location.id))
        .await?
        .remove(&location.id)
        .unwrap_or_default();
    Ok(LocationStock {
        location,
        levels,
        as_of,
    })
}

/// The levels of one location.
#[utoipa::path(get, path = "/v1/stock/locations/{id}", tag = "stock", operation_id = "get_stock_location",
    params(("id" = Id, Path, description = "A warehouse or a van (`van:<technician>`).")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The location and its level per SKU.", body = LocationStock),
        (status = 403, description = "`forbidden`: a technician asking for another van, or agents.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such location.", body = ErrorBody),
    ))]
pub(crate) async fn get_location(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    may_read(&user, &id)?;
    let loc = {
        let mut conn = state.db.pool.acquire().await?;
        ledger::location(&mut conn, &id).await?
    };
    let loc = loc.ok_or_else(|| ApiError::NotFound(format!("no stock location {id:?}")))?;
    Ok(HttpResponse::Ok().json(location_stock(&state, loc).await?))
}

/// A technician's van as its device caches it: the levels, and the part lines already
/// counted in them (the device adjusts the levels by its lines not yet among these).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VanStock {
    pub location: Location,
    pub levels: Vec<Level>,
    pub as_of: i64,
    pub lines: Vec<ledger::VanLine>,
}

/// The calling technician's van: what its device caches at each sync and shows offline.
#[utoipa::path(get, path = "/v1/stock/van", tag = "stock", operation_id = "get_my_van",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The van, its levels (empty before its first move) and the part \
            lines they count.", body = VanStock),
        (status = 403, description = "`forbidden`: only technicians have a van.", body = ErrorBody),
    ))]
pub(crate) async fn my_van(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Technician], "have a van")?;
    let id = van_of(&user.id);
    let (loc, lines) = {
        let mut conn = state.db.pool.acquire().await?;
        (
            ledger::location(&mut conn, &id).await?,
            ledger::van_lines(&mut conn, &id).await?,
        )
    };
    let loc = loc.unwrap_or(Location {
        name: format!("van of {}", user.id),
        id,
        kind: "van".into(),
        technician: Some(user.id.clone()),
        created_at: 0,
    });
    let s = location_stock(&state, loc).await?;
    Ok(HttpResponse::Ok().json(VanStock {
        location: s.location,
        levels: s.levels,
        as_of: s.as_of,
        lines,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReorderLine {
    pub location: String,
    pub sku: String,
    pub name: Option<String>,
    pub qty: i64,
    pub min_qty: i64,
    pub reorder_to: i64,
    /// How many to order (or issue) to reach `reorder_to`.
    pub suggested: i64,
}

/// SKUs below their location's threshold, with how many to reorder.
#[utoipa::path(get, path = "/v1/stock/reorder", tag = "stock", operation_id = "stock_reorder_list",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "By location and SKU.", body = Vec<ReorderLine>),
        (status = 403, description = "`forbidden`: office roles and auditors only.", body = ErrorBody),
    ))]
pub(crate) async fn reorder(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(READERS, "read the reorder list")?;
    let mut conn = state.db.pool.acquire().await?;
    let mut out = Vec::new();
    for (loc, levels) in stock(&mut conn, None).await? {
        for l in levels {
            let (Some(min), Some(to)) = (l.min_qty, l.reorder_to) else {
                continue;
            };
            if let Some(n) = model::reorder_qty(l.qty, min, to) {
                out.push(ReorderLine {
                    location: loc.clone(),
                    sku: l.sku,
                    name: l.name,
                    qty: l.qty,
                    min_qty: min,
                    reorder_to: to,
                    suggested: n,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.location, &a.sku).cmp(&(&b.location, &b.sku)));
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Shortfall {
    pub location: String,
    pub technician: Option<String>,
    pub sku: String,
    /// Below zero: parts used that the ledger never saw issued.
    pub qty: i64,
    /// The consumptions flagged short at this location and SKU, newest first (at most 20).
    pub consumptions: Vec<Move>,
}

/// Locations below zero, to reconcile: parts consumed offline beyond what was issued. A
/// count or a transfer that covers the difference clears the entry.
#[utoipa::path(get, path = "/v1/stock/shortfalls", tag = "stock", operation_id = "stock_shortfalls",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "By location and SKU.", body = Vec<Shortfall>),
        (status = 403, description = "`forbidden`: office roles and auditors only.", body = ErrorBody),
    ))]
pub(crate) async fn shortfalls(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(READERS, "read stock shortfalls")?;
    let mut conn = state.db.pool.acquire().await?;
    let mut out = Vec::new();
    for (loc, sku, qty) in ledger::levels(&mut conn, None).await? {
        if qty >= 0 {
            continue;
        }
        let mut consumptions = ledger::moves(
            &mut conn,
            &MoveFilter {
                location: Some(&loc),
                sku: Some(&sku),
                kind: Some("consumption"),
                limit: 200,
                ..Default::default()
            },
        )
        .await?;
        consumptions.retain(|m| m.short > 0);
        consumptions.truncate(20);
        out.push(Shortfall {
            technician: model::van_owner(&loc).map(str::to_owned),
            location: loc,
            sku,
            qty,
            consumptions,
        });
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MoveQuery {
    /// Moves into or out of this location.
    pub location: Option<String>,
    pub sku: Option<String>,
    /// A work order's traceable parts: its consumptions, reversals and returns.
    pub work_order: Option<String>,
    /// `receipt`, `transfer`, `return`, `consumption`, `consumption_reversal`, `count_adjustment`.
    pub kind: Option<String>,
    /// At most this many, newest first (1 to 10,000; default 200).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<i64>,
}

/// The ledger, newest first. A technician reads the moves of its own van.
#[utoipa::path(get, path = "/v1/stock/moves", tag = "stock", operation_id = "list_stock_moves",
    params(MoveQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Moves, newest first.", body = Vec<Move>),
        (status = 400, description = "`bad_query`; `bad_limit`: outside 1 to 10,000.", body = ErrorBody),
        (status = 403, description = "`forbidden`: agents, or a technician asking for another location.", body = ErrorBody),
    ))]
pub(crate) async fn list_moves(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<MoveQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let mine = van_of(&user.id);
    let location = if user.role == Role::Technician {
        match q.location.as_deref() {
            None => Some(mine.as_str()),
            Some(l) => {
                may_read(&user, l)?;
                Some(l)
            }
        }
    } else {
        user.require(READERS, "read the stock ledger")?;
        q.location.as_deref()
    };
    let limit = q.limit.unwrap_or(200);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad(
            "bad_limit",
            format!("limit is 1 to 10,000, not {limit}"),
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    let moves = ledger::moves(
        &mut conn,
        &MoveFilter {
            location,
            sku: q.sku.as_deref(),
            work_order: q.work_order.as_deref(),
            kind: q.kind.as_deref(),
            limit,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(moves))
}
