//! The batched statements of the consumption hook: it runs inside every sync's write
//! transaction, so it costs a fixed number of statements per request, not one or two per
//! (van, SKU) pair.

use std::collections::{BTreeSet, HashMap};

use sqlx::{AnyConnection, Row};

use crate::db::projection::placeholders;
use crate::db::MAX_BINDS;

/// Creates the vans of `technicians` that do not exist yet, in one statement per
/// `MAX_BINDS / 4` technicians (existing vans are left alone by `ON CONFLICT DO NOTHING`).
pub async fn ensure_vans(
    conn: &mut AnyConnection,
    technicians: &BTreeSet<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let techs: Vec<&str> = technicians.iter().copied().collect();
    let values = crate::db::values::Values::of(conn);
    for chunk in techs.chunks(values.rows_per_statement(5)) {
        let sql = format!(
            "INSERT INTO stock_locations (id, kind, name, technician, created_at) VALUES {} \
             ON CONFLICT (id) DO NOTHING",
            // `kind` is bound too so the rows keep one shape.
            values.sql(chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for t in chunk {
            q = q
                .bind(crate::stock::model::van_of(t))
                .bind("van")
                .bind(format!("van of {t}"))
                .bind(*t)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The level of each (location, sku) pair, derived from the ledger like `ledger::level`
/// (every move but returns; in minus out), in one grouped query per chunk of pairs. Pairs
/// that never moved are at 0.
pub async fn levels_of(
    conn: &mut AnyConnection,
    pairs: &BTreeSet<(&str, &str)>,
) -> sqlx::Result<HashMap<(String, String), i64>> {
    let mut out: HashMap<(String, String), i64> = pairs
        .iter()
        .map(|(l, s)| (((*l).to_owned(), (*s).to_owned()), 0))
        .collect();
    let list: Vec<(&str, &str)> = pairs.iter().copied().collect();
    // Each chunk binds at most its distinct locations plus its distinct SKUs.
    for chunk in list.chunks(MAX_BINDS / 2) {
        let locs: BTreeSet<&str> = chunk.iter().map(|p| p.0).collect();
        let skus: BTreeSet<&str> = chunk.iter().map(|p| p.1).collect();
        let l = placeholders(1, locs.len());
        let s = placeholders(1 + locs.len(), skus.len());
        let sql = format!(
            "SELECT loc, sku, CAST(SUM(q) AS BIGINT) AS qty FROM ( \
               SELECT to_loc AS loc, sku, qty AS q FROM stock_moves \
                 WHERE to_loc IN ({l}) AND sku IN ({s}) AND kind <> 'return' \
               UNION ALL \
               SELECT from_loc AS loc, sku, -qty AS q FROM stock_moves \
                 WHERE from_loc IN ({l}) AND sku IN ({s}) AND kind <> 'return' \
             ) t GROUP BY loc, sku"
        );
        let mut q = sqlx::query(&sql);
        for v in &locs {
            q = q.bind(*v);
        }
        for v in &skus {
            q = q.bind(*v);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let key: (String, String) = (r.try_get("loc")?, r.try_get("sku")?);
            // The cross product of a chunk's locations and SKUs may hold pairs not asked for.
            if let Some(level) = out.get_mut(&key) {
                *level = r.try_get("qty")?;
            }
        }
    }
    Ok(out)
}
