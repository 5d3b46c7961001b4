//! What the stock API reads and writes, and the checks on requests that need no database.

use serde::Serialize;
use sqlx::FromRow;
use sync_core::ids::UserId;
use sync_core::workorder::Role;

use crate::error::ApiError;

/// Largest quantity one move, count or threshold may carry: far above any real delivery, low
/// enough that sums over the ledger stay exact in every backend's integer type.
pub const MAX_QTY: i64 = 1_000_000;

/// Most serials one move may list (one per unit).
pub const MAX_SERIALS: usize = 1_000;

/// Longest serial number or note accepted (characters).
const MAX_SERIAL_CHARS: usize = 128;
const MAX_NOTE_CHARS: usize = 1_000;

/// Prefix of a technician's van: `van:<technician>`.
pub const VAN_PREFIX: &str = "van:";

/// Office roles move stock and count it (SERVICE-RULES: dispatchers issue parts to
/// technicians; managers and admins run the warehouse).
pub const WRITERS: &[Role] = &[Role::Dispatcher, Role::Manager, Role::Admin];
/// Roles that read every location; technicians read their own van.
pub const READERS: &[Role] = &[Role::Dispatcher, Role::Manager, Role::Admin, Role::Auditor];

/// The van of a technician.
pub fn van_of(technician: &str) -> String {
    format!("{VAN_PREFIX}{technician}")
}

/// The technician whose van `location` is, if it names a van.
pub fn van_owner(location: &str) -> Option<&str> {
    location.strip_prefix(VAN_PREFIX)
}

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Location {
    pub id: String,
    /// `warehouse` or `van`.
    pub kind: String,
    pub name: String,
    /// Vans: the technician whose van it is.
    pub technician: Option<String>,
    pub created_at: i64,
}

/// How much of one SKU a location holds: derived from the ledger, never stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Level {
    pub sku: String,
    /// The catalogue's name, when the SKU is in the catalogue.
    pub name: Option<String>,
    /// May be negative for a van: parts used offline before they were issued (a shortfall).
    pub qty: i64,
    /// Serial numbers of the units here, when they were received with serials.
    pub serials: Vec<String>,
    /// The low-stock threshold, when one is set.
    pub min_qty: Option<i64>,
    pub reorder_to: Option<i64>,
    /// Below the threshold.
    pub low: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LocationStock {
    pub location: Location,
    pub levels: Vec<Level>,
    /// Service time the levels were read at (ms since the epoch).
    pub as_of: i64,
}

/// One row of the ledger.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Move {
    pub id: i64,
    /// `receipt`, `transfer`, `return`, `consumption`, `consumption_reversal` or
    /// `count_adjustment`.
    pub kind: String,
    pub sku: String,
    pub qty: i64,
    /// Where the parts came from; `null` from outside (a supplier, a count that found more).
    pub from_loc: Option<String>,
    /// Where they went; `null` out of stock (fitted on a job, a count that found fewer).
    pub to_loc: Option<String>,
    pub serial: String,
    /// Consumption: the serial of the part taken out.
    pub serial_old: String,
    /// Return: `repair` or `scrap`.
    pub disposition: Option<String>,
    pub wo_id: Option<String>,
    /// Consumption: the work order's part-line id.
    pub line: Option<String>,
    pub technician: Option<String>,
    pub device: Option<String>,
    /// Consumption: how many the van lacked when it was taken in (flagged for reconciliation).
    pub short: i64,
    pub note: String,
    pub by_user: String,
    pub at: i64,
}

/// A move to append, as the ledger writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMove {
    pub kind: &'static str,
    pub sku: String,
    pub qty: i64,
    pub from_loc: Option<String>,
    pub to_loc: Option<String>,
    pub serial: String,
    pub serial_old: String,
    pub disposition: Option<String>,
    pub wo_id: Option<String>,
    pub line: Option<String>,
    pub technician: Option<String>,
    pub device: Option<String>,
    pub short: i64,
    pub note: String,
    pub by_user: String,
    pub at: i64,
}

/// A quantity a request names: a whole number from 1 to [`MAX_QTY`].
pub fn check_qty(what: &str, qty: i64) -> Result<i64, ApiError> {
    if qty <= 0 {
        return Err(ApiError::bad(
            "bad_qty",
            format!(
                "the quantity of a {what} must be at least 1, not {qty}; to take parts out of a \
                 location, transfer them or record a count"
            ),
        ));
    }
    if qty > MAX_QTY {
        return Err(ApiError::bad(
            "bad_qty",
            format!("the quantity of a {what} is at most {MAX_QTY}, not {qty}"),
        ));
    }
    Ok(qty)
}

/// A count or threshold: a whole number from 0 to [`MAX_QTY`].
pub fn check_count(what: &str, n: i64) -> Result<i64, ApiError> {
    if !(0..=MAX_QTY).contains(&n) {
        return Err(ApiError::bad(
            "bad_qty",
            format!("{what} is a whole number from 0 to {MAX_QTY}, not {n}"),
        ));
    }
    Ok(n)
}

/// Ids of locations and SKUs follow the rule of user ids (1 to 128 of `A-Z a-z 0-9 - _ . : @`).
pub fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    UserId::parse(id).map(|_| ()).map_err(|e| {
        ApiError::bad(
            "bad_id",
            format!("{what}: {}", e.to_string().replace("user id", what)),
        )
    })
}

/// Serials of a move: none, or one per unit, each non-blank, distinct and at most 128
/// characters. Returned trimmed.
pub fn check_serials(qty: i64, serials: &[String]) -> Result<Vec<String>, ApiError> {
    if serials.is_empty() {
        return Ok(vec![]);
    }
    if serials.len() > MAX_SERIALS || serials.len() as i64 != qty {
        return Err(ApiError::bad(
            "bad_serials",
            format!(
                "list one serial per unit: {qty} unit(s) but {} serial(s)",
                serials.len()
            ),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(serials.len());
    for s in serials {
        let t = check_serial(s)?;
        if out.contains(&t) {
            return Err(ApiError::bad(
                "bad_serials",
                format!("serial {t:?} is listed twice"),
            ));
        }
        out.push(t);
    }
    Ok(out)
}

/// One serial: not blank, at most 128 characters; returned trimmed.
pub fn check_serial(s: &str) -> Result<String, ApiError> {
    let t = s.trim();
    if t.is_empty() || s.chars().count() > MAX_SERIAL_CHARS {
        return Err(ApiError::bad(
            "bad_serials",
            format!("a serial is not blank and at most {MAX_SERIAL_CHARS} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// A free-text note: at most 1,000 characters; returned trimmed.
pub fn check_note(note: Option<&str>) -> Result<String, ApiError> {
    let n = note.unwrap_or("");
    if n.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::bad(
            "bad_note",
            format!("a note is at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(n.trim().to_owned())
}

/// A name: not blank and at most 200 characters; returned trimmed.
pub fn check_name(name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad(
            "bad_name",
            "a name is not blank and at most 200 characters",
        ));
    }
    Ok(n.to_owned())
}

/// What the reorder list suggests for one level: up to `reorder_to` once below `min_qty`.
pub fn reorder_qty(qty: i64, min_qty: i64, reorder_to: i64) -> Option<i64> {
    (qty < min_qty).then(|| reorder_to.max(min_qty) - qty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_or_zero_quantity_is_refused_with_a_hint() {
        for q in [-3, 0, MAX_QTY + 1] {
            let e = check_qty("receipt", q).unwrap_err();
            assert_eq!(e.code(), "bad_qty", "{q}");
        }
        assert_eq!(check_qty("receipt", 5).unwrap(), 5);
        assert!(check_qty("receipt", -1)
            .unwrap_err()
            .to_string()
            .contains("transfer"));
    }

    #[test]
    fn serials_are_one_per_unit_and_distinct() {
        assert!(check_serials(3, &[]).unwrap().is_empty());
        assert_eq!(
            check_serials(2, &[" a ".into(), "b".into()]).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            check_serials(3, &["a".into(), "b".into()])
                .unwrap_err()
                .code(),
            "bad_serials"
        );
        assert_eq!(
            check_serials(2, &["a".into(), "a ".into()])
                .unwrap_err()
                .code(),
            "bad_serials"
        );
        assert!(check_serials(1, &["  ".into()]).is_err());
    }

    #[test]
    fn vans_are_named_after_their_technician() {
        assert_eq!(van_of("tech-a"), "van:tech-a");
        assert_eq!(van_owner("van:tech-a"), Some("tech-a"));
        assert_eq!(van_owner("central"), None);
    }

    #[test]
    fn the_reorder_list_tops_up_to_the_target_once_below_the_minimum() {
        assert_eq!(reorder_qty(5, 5, 20), None);
        assert_eq!(reorder_qty(4, 5, 20), Some(16));
        assert_eq!(reorder_qty(-2, 5, 20), Some(22));
        // A target below the minimum still brings the level up to the minimum.
        assert_eq!(reorder_qty(1, 5, 0), Some(4));
    }
}
