//! The stock ledger in SQL: appending moves and deriving quantities from them. Nothing stores a
//! level: a level is the sum of the moves into a location minus the moves out of it, so a
//! rebuild is the same query. Return moves (old parts back for repair or scrap) land in a
//! warehouse but are not usable stock: they are left out of every level.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::model::{van_of, Location, Move, NewMove};
use crate::db::projection::rows_sql;
use crate::db::MAX_BINDS;

const LOCATION_COLUMNS: &str = "id, kind, name, technician, created_at";
const MOVE_COLUMNS: &str = "id, kind, sku, qty, from_loc, to_loc, serial, serial_old, \
     disposition, wo_id, line, technician, device, short, note, by_user, at";
/// Columns an insert binds (every column of [`MOVE_COLUMNS`] but `id`).
const INSERT_COLUMNS: usize = 16;

/// Every location, warehouses first.
pub async fn locations(conn: &mut AnyConnection) -> sqlx::Result<Vec<Location>> {
    sqlx::query_as::<_, Location>(&format!(
        "SELECT {LOCATION_COLUMNS} FROM stock_locations ORDER BY kind DESC, id"
    ))
    .fetch_all(conn)
    .await
}

pub async fn location(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<Location>> {
    sqlx::query_as::<_, Location>(&format!(
        "SELECT {LOCATION_COLUMNS} FROM stock_locations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Creates a warehouse; false when the id is taken.
pub async fn create_warehouse(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO stock_locations (id, kind, name, technician, created_at) \
         VALUES ($1, 'warehouse', $2, NULL, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(name)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The van of `technician`, created if it has none yet. Returns its id.
pub async fn ensure_van(
    conn: &mut AnyConnection,
    technician: &str,
    now: i64,
) -> sqlx::Result<String> {
    let id = van_of(technician);
    sqlx::query(
        "INSERT INTO stock_locations (id, kind, name, technician, created_at) \
         VALUES ($1, 'van', $2, $3, $4) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(format!("van of {technician}"))
    .bind(technician)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Takes the location's row lock for the rest of the transaction, so checked moves out of one
/// location (a transfer, a count) run one after the other on PostgreSQL too. False when the
/// location does not exist.
pub async fn lock(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE stock_locations SET version = version + 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How much of `sku` the location holds.
pub async fn level(conn: &mut AnyConnection, location: &str, sku: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(CASE WHEN to_loc = $1 THEN qty ELSE -qty END), 0) AS BIGINT) \
         FROM stock_moves WHERE sku = $2 AND kind <> 'return' AND (to_loc = $1 OR from_loc = $1)",
    )
    .bind(location)
    .bind(sku)
    .fetch_one(conn)
    .await
}

/// Levels per (location, sku), of one location or of all; SKUs that ever moved there are
/// listed, at zero too.
pub async fn levels(
    conn: &mut AnyConnection,
    location: Option<&str>,
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let filter = if location.is_some() {
        "WHERE loc = $1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT loc, sku, CAST(SUM(q) AS BIGINT) AS qty FROM ( \
           SELECT to_loc AS loc, sku, qty AS q FROM stock_moves \
             WHERE to_loc IS NOT NULL AND kind <> 'return' \
           UNION ALL \
           SELECT from_loc AS loc, sku, -qty AS q FROM stock_moves \
             WHERE from_loc IS NOT NULL AND kind <> 'return' \
         ) t {filter} GROUP BY loc, sku ORDER BY loc, sku"
    );
    let mut q = sqlx::query(&sql);
    if let Some(l) = location {
        q = q.bind(l);
    }
    q.fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("loc")?, r.try_get("sku")?, r.try_get("qty")?)))
        .collect()
}

/// Serials whose latest move put them into a location: (location, sku) -> serials.
pub async fn serials(
    conn: &mut AnyConnection,
    location: Option<&str>,
) -> sqlx::Result<HashMap<(String, String), Vec<String>>> {
    let filter = if location.is_some() {
        "AND m.to_loc = $1"
    } else {
        "AND m.to_loc IS NOT NULL"
    };
    let sql = format!(
        "SELECT m.to_loc AS loc, m.sku, m.serial FROM stock_moves m \
         WHERE m.serial <> '' AND m.kind <> 'return' {filter} AND m.id = ( \
           SELECT MAX(x.id) FROM stock_moves x \
           WHERE x.sku = m.sku AND x.serial = m.serial AND x.kind <> 'return') \
         ORDER BY m.serial"
    );
    let mut q = sqlx::query(&sql);
    if let Some(l) = location {
        q = q.bind(l);
    }
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    for r in q.fetch_all(conn).await? {
        out.entry((r.try_get("loc")?, r.try_get("sku")?))
            .or_default()
            .push(r.try_get("serial")?);
    }
    Ok(out)
}

/// Where a serial of `sku` is now: `Some(Some(loc))` in stock at `loc`, `Some(None)` moved out
/// of stock (fitted), `None` never seen.
pub async fn serial_at(
    conn: &mut AnyConnection,
    sku: &str,
    serial: &str,
) -> sqlx::Result<Option<Option<String>>> {
    let row = sqlx::query(
        "SELECT to_loc FROM stock_moves WHERE sku = $1 AND serial = $2 AND kind <> 'return' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(sku)
    .bind(serial)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get::<Option<String>, _>("to_loc"))
        .transpose()
}

/// Appends moves.
pub async fn append(conn: &mut AnyConnection, moves: &[NewMove]) -> sqlx::Result<()> {
    let values = crate::db::values::Values::of(conn);
    for chunk in moves.chunks(values.rows_per_statement(INSERT_COLUMNS)) {
        let sql = format!(
            "INSERT INTO stock_moves (kind, sku, qty, from_loc, to_loc, serial, serial_old, \
             disposition, wo_id, line, technician, device, short, note, by_user, at) VALUES {}",
            values.sql(chunk.len(), INSERT_COLUMNS)
        );
        let mut q = sqlx::query(&sql);
        for m in chunk {
            q = bind_move(q, m);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends one move and returns its id.
pub async fn append_one(conn: &mut AnyConnection, m: &NewMove) -> sqlx::Result<i64> {
    let sql = format!(
        "INSERT INTO stock_moves (kind, sku, qty, from_loc, to_loc, serial, serial_old, \
         disposition, wo_id, line, technician, device, short, note, by_user, at) VALUES {} \
         RETURNING id",
        rows_sql(1, INSERT_COLUMNS)
    );
    bind_move(sqlx::query(&sql), m)
        .fetch_one(conn)
        .await?
        .try_get(0)
}

/// Binds one move's values in `INSERT_COLUMNS` order.
fn bind_move<'q>(q: AnyQuery<'q>, m: &'q NewMove) -> AnyQuery<'q> {
    q.bind(m.kind)
        .bind(&m.sku)
        .bind(m.qty)
        .bind(&m.from_loc)
        .bind(&m.to_loc)
        .bind(&m.serial)
        .bind(&m.serial_old)
        .bind(&m.disposition)
        .bind(&m.wo_id)
        .bind(&m.line)
        .bind(&m.technician)
        .bind(&m.device)
        .bind(m.short)
        .bind(&m.note)
        .bind(&m.by_user)
        .bind(m.at)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Filters of [`moves`]; every one optional.
#[derive(Debug, Default)]
pub struct MoveFilter<'a> {
    pub location: Option<&'a str>,
    pub sku: Option<&'a str>,
    pub work_order: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub limit: i64,
}

/// Moves, newest first.
pub async fn moves(conn: &mut AnyConnection, f: &MoveFilter<'_>) -> sqlx::Result<Vec<Move>> {
    let mut clauses: Vec<String> = Vec::new();
    let mut binds: Vec<&str> = Vec::new();
    if let Some(l) = f.location {
        binds.push(l);
        let n = binds.len();
        clauses.push(format!("(from_loc = ${n} OR to_loc = ${n})"));
    }
    for (col, v) in [("sku", f.sku), ("wo_id", f.work_order), ("kind", f.kind)] {
        if let Some(v) = v {
            binds.push(v);
            clauses.push(format!("{col} = ${}", binds.len()));
        }
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {MOVE_COLUMNS} FROM stock_moves {filter} ORDER BY id DESC LIMIT {}",
        f.limit.clamp(1, 10_000)
    );
    let mut q = sqlx::query_as::<_, Move>(&sql);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(conn).await
}

/// The moves with these ids, oldest first.
pub async fn moves_by_id(conn: &mut AnyConnection, ids: &[i64]) -> sqlx::Result<Vec<Move>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_BINDS) {
        let sql = format!(
            "SELECT {MOVE_COLUMNS} FROM stock_moves WHERE id IN ({}) ORDER BY id",
            crate::db::projection::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, Move>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// What has been posted for each part line of these work orders: (work order, line) ->
/// (net quantity consumed, van, sku).
pub async fn posted_lines(
    conn: &mut AnyConnection,
    work_orders: &[&str],
) -> sqlx::Result<HashMap<(String, String), Posted>> {
    let mut out: HashMap<(String, String), Posted> = HashMap::new();
    for chunk in work_orders.chunks(MAX_BINDS) {
        let sql = format!(
            "SELECT wo_id, line, kind, qty, from_loc, to_loc FROM stock_moves \
             WHERE wo_id IN ({}) AND kind IN ('consumption', 'consumption_reversal') \
             ORDER BY id",
            crate::db::projection::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let key = (r.try_get("wo_id")?, r.try_get("line")?);
            let kind: String = r.try_get("kind")?;
            let qty: i64 = r.try_get("qty")?;
            let van: Option<String> = if kind == "consumption" {
                r.try_get("from_loc")?
            } else {
                r.try_get("to_loc")?
            };
            let p = out.entry(key).or_insert_with(|| Posted {
                net: 0,
                van: van.clone().unwrap_or_default(),
            });
            p.net += if kind == "consumption" { qty } else { -qty };
        }
    }
    Ok(out)
}

/// The net consumption recorded for one part line, and the van it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub net: i64,
    pub van: String,
}

/// The part lines a van has given parts to, with the net quantity each took: what a device
/// compares its own lines with to show the van offline.
pub async fn van_lines(conn: &mut AnyConnection, van: &str) -> sqlx::Result<Vec<VanLine>> {
    sqlx::query_as::<_, VanLine>(
        "SELECT wo_id, line, sku, CAST(SUM(CASE WHEN kind = 'consumption' THEN qty ELSE -qty END) \
         AS BIGINT) AS qty FROM stock_moves \
         WHERE (from_loc = $1 OR to_loc = $1) AND kind IN ('consumption', 'consumption_reversal') \
         GROUP BY wo_id, line, sku ORDER BY wo_id, line",
    )
    .bind(van)
    .fetch_all(conn)
    .await
}

/// One part line's net consumption from a van.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VanLine {
    pub wo_id: String,
    pub line: String,
    pub sku: String,
    pub qty: i64,
}
