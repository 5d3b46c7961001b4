//! Spare-part stock: warehouses and one van per technician, an append-only ledger of moves,
//! counts and low-stock thresholds (SERVICE-RULES "Spare parts"; issue 12).
//!
//! | file | what |
//! | --- | --- |
//! | `model` | request checks, the types the API shows |
//! | `ledger` | SQL: appending moves, deriving levels from them |
//! | `consume` | part lines of synced work orders become consumptions (the sync hook) |
//! | `moves` | warehouses, receipts, transfers, returns |
//! | `counts` | counts (expected, counted, variance) and thresholds |
//! | `read` | levels, a technician's van, reorder list, shortfalls, the ledger |
//!
//! Every quantity is derived: a level is what moved into a location minus what moved out,
//! summed over `stock_moves` when it is read; no table stores a level, so there is nothing
//! to rebuild or drift. Rows of the ledger and of counts are only ever inserted.
//!
//! A part line recorded on a work order, offline, becomes a consumption from the van of the
//! technician who recorded it when the server takes the work order in, in the same
//! transaction as the document ([`consume::reconcile`]). It is keyed by work order and
//! part-line id, so a second device's copy of the line or a retry posts nothing; removing the
//! line posts a reversal; a changed quantity posts the difference. A van may go below zero:
//! the sync never refuses a line for stock, the consumption records how much was missing, and
//! `GET /v1/stock/shortfalls` lists the van until a count or a transfer reconciles it.
//!
//! Every office change (a move, a count, a threshold, a new warehouse) is announced after its
//! commit on the live event stream as `stock/<location>` ([`published`]): the console's stock
//! pages refetch, and a van's technician's devices sync. Consumptions need no announcement of
//! their own: the sync that posts them announces its work orders.

use actix_web::web;

pub mod consume;
pub mod counts;
pub mod ledger;
pub mod model;
pub mod moves;
pub mod read;

/// Announces, after the commit, that stock changed at `locations` (see the module's docs).
pub fn published<'a>(state: &crate::state::AppState, locations: impl IntoIterator<Item = &'a str>) {
    let mut seen: Vec<&str> = Vec::new();
    for l in locations {
        if !seen.contains(&l) {
            seen.push(l);
        }
    }
    crate::events::notify(
        state,
        seen.into_iter()
            .map(|l| crate::events::Change::stock(l, model::van_owner(l).map(str::to_owned))),
    );
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/stock/locations", web::get().to(read::list_locations))
        .route(
            "/v1/stock/locations",
            web::post().to(moves::create_warehouse),
        )
        .route(
            "/v1/stock/locations/{id}",
            web::get().to(read::get_location),
        )
        .route("/v1/stock/van", web::get().to(read::my_van))
        .route("/v1/stock/receipts", web::post().to(moves::receive))
        .route("/v1/stock/transfers", web::post().to(moves::transfer))
        .route("/v1/stock/returns", web::post().to(moves::return_part))
        .route("/v1/stock/counts", web::post().to(counts::count))
        .route("/v1/stock/counts", web::get().to(counts::list_counts))
        .route(
            "/v1/stock/thresholds/{location}/{sku}",
            web::put().to(counts::set_threshold),
        )
        .route("/v1/stock/reorder", web::get().to(read::reorder))
        .route("/v1/stock/shortfalls", web::get().to(read::shortfalls))
        .route("/v1/stock/moves", web::get().to(read::list_moves));
}
