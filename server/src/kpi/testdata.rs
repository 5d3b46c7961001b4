//! The known data set the report and daily tests check hand-computed figures against.

use std::collections::BTreeMap;

use sync_core::workorder::{Priority, ServiceType};
use time::macros::date;
use time::Date;

use super::range::day_start_ms;
use super::repeat::{Returns, DEFAULT_REPEAT_WINDOW_MS};
use super::{Average, DateRange, Facts, Inputs, Rate, Targets};

pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;

pub const D1: Date = date!(2026 - 03 - 01);
pub const D2: Date = date!(2026 - 03 - 02);
pub const D3: Date = date!(2026 - 03 - 03);
pub const D4: Date = date!(2026 - 03 - 04);

/// `hh:mm` UTC on `day`.
pub fn t(day: Date, hh: i64, mm: i64) -> i64 {
    day_start_ms(day) + hh * HOUR + mm * MIN
}

pub fn fact(id: &str, region: &str, service_type: ServiceType, created_at: i64) -> Facts {
    Facts {
        wo_id: id.into(),
        region: region.into(),
        serial: String::new(),
        service_type,
        priority: Priority::Normal,
        created_at,
        first_assigned_at: None,
        accept_ms: None,
        first_response_at: None,
        completed_at: None,
        fixed: None,
        visits: 0,
        reopened: false,
        first_time_fix: false,
        score: None,
        followed_up_at: None,
        cancelled: false,
    }
}

/// Eleven work orders around 2026-03-01..=03-03; `NOW` is 2026-03-04 12:00.
///
/// | wo | region | type | created | response after | accept | completed | fixed | ftf | score (on) |
/// |----|--------|------|---------|----------------|--------|-----------|-------|-----|------------|
/// | 1 | north | repair | 03-01 08:00 | 60 min | 10 | 03-01 12:00 | yes | yes | 5 (03-02) |
/// | 2 | north | install | 03-01 10:00 | exactly 24 h | 20 | 03-02 15:00 | yes | no, 2 visits | 3 (03-03) |
/// | 3 | south | complaint | 03-01 11:00 | 24 h + 1 ms | - | - | | | |
/// | 4 | north | maintenance | 03-02 09:00 | none, cancelled | - | - | | | |
/// | 5 | south | repair | 03-02 12:00 | 30 min | 5 | 03-02 16:00 | no | no | 4 (03-03) |
/// | 6 | north | inspection | 03-03 23:59:59.999 | none, window open at NOW | - | - | | | |
/// | 7 | north | repair | 03-04 00:00 (after range) | 10 min | 1 | 03-04 | yes | yes | 1 (03-04) |
/// | 8 | south | repair | 03-02 08:00 | none, window over at NOW | - | - | | | |
/// | 9 | north | repair | 02-28 23:59:59.999 (before range) | - | - | 03-01 15:00 | yes | yes | 5 (03-02) |
/// | 10 | north | complaint | 03-03 07:00 | 25 min | 15 | 03-03 17:00 | yes | no, reopened | 2 (03-03) |
/// | 11 | south | install | 03-03 14:00 | 60 min, then cancelled | 30 | - | | | |
///
/// Serials (the rest have none): 1 and 10 `SN-A` (10, a complaint 1 d 19 h after 1's
/// completion, brings 1's fault back), 5 `SN-B` (nothing comes back), 9 and 7 `SN-C` (7, a
/// repair 1 d 9 h after 9's completion, brings 9's fault back).
pub fn known() -> Vec<Facts> {
    use ServiceType::*;
    vec![
        Facts {
            first_assigned_at: Some(t(D1, 8, 5)),
            accept_ms: Some(10 * MIN),
            first_response_at: Some(t(D1, 9, 0)),
            completed_at: Some(t(D1, 12, 0)),
            fixed: Some(true),
            visits: 1,
            first_time_fix: true,
            score: Some(5),
            followed_up_at: Some(t(D2, 10, 0)),
            serial: "SN-A".into(),
            ..fact("WO-1", "north", Repair, t(D1, 8, 0))
        },
        Facts {
            accept_ms: Some(20 * MIN),
            first_response_at: Some(t(D2, 10, 0)),
            completed_at: Some(t(D2, 15, 0)),
            fixed: Some(true),
            visits: 2,
            score: Some(3),
            followed_up_at: Some(t(D3, 9, 0)),
            ..fact("WO-2", "north", Install, t(D1, 10, 0))
        },
        Facts {
            priority: Priority::Urgent,
            first_response_at: Some(t(D2, 11, 0) + 1),
            ..fact("WO-3", "south", Complaint, t(D1, 11, 0))
        },
        Facts {
            cancelled: true,
            ..fact("WO-4", "north", Maintenance, t(D2, 9, 0))
        },
        Facts {
            accept_ms: Some(5 * MIN),
            first_response_at: Some(t(D2, 12, 30)),
            completed_at: Some(t(D2, 16, 0)),
            fixed: Some(false),
            visits: 1,
            score: Some(4),
            followed_up_at: Some(t(D3, 10, 0)),
            serial: "SN-B".into(),
            ..fact("WO-5", "south", Repair, t(D2, 12, 0))
        },
        fact("WO-6", "north", Inspection, t(D4, 0, 0) - 1),
        Facts {
            accept_ms: Some(MIN),
            first_response_at: Some(t(D4, 0, 10)),
            completed_at: Some(t(D4, 3, 0)),
            fixed: Some(true),
            visits: 1,
            first_time_fix: true,
            score: Some(1),
            followed_up_at: Some(t(D4, 9, 0)),
            serial: "SN-C".into(),
            ..fact("WO-7", "north", Repair, t(D4, 0, 0))
        },
        fact("WO-8", "south", Repair, t(D2, 8, 0)),
        Facts {
            completed_at: Some(t(D1, 15, 0)),
            fixed: Some(true),
            visits: 1,
            first_time_fix: true,
            score: Some(5),
            followed_up_at: Some(t(D2, 9, 0)),
            serial: "SN-C".into(),
            ..fact("WO-9", "north", Repair, t(D1, 0, 0) - 1)
        },
        Facts {
            accept_ms: Some(15 * MIN),
            first_response_at: Some(t(D3, 7, 25)),
            completed_at: Some(t(D3, 17, 0)),
            fixed: Some(true),
            visits: 1,
            reopened: true,
            score: Some(2),
            followed_up_at: Some(t(D3, 20, 0)),
            serial: "SN-A".into(),
            ..fact("WO-10", "north", Complaint, t(D3, 7, 0))
        },
        Facts {
            accept_ms: Some(30 * MIN),
            first_response_at: Some(t(D3, 15, 0)),
            cancelled: true,
            ..fact("WO-11", "south", Install, t(D3, 14, 0))
        },
    ]
}

pub fn now() -> i64 {
    t(D4, 12, 0)
}

pub fn range() -> DateRange {
    DateRange::parse("2026-03-01", "2026-03-03").unwrap()
}

pub fn rate(n: u64, d: u64, rate: Option<f64>, target: Option<f64>, meets: Option<bool>) -> Rate {
    Rate {
        numerator: n,
        denominator: d,
        rate,
        target,
        meets_target: meets,
    }
}

pub fn avg(value: Option<f64>, count: u64, target: Option<f64>, meets: Option<bool>) -> Average {
    Average {
        value,
        count,
        target,
        meets_target: meets,
    }
}

pub fn types(
    install: u64,
    repair: u64,
    maintenance: u64,
    inspection: u64,
    complaint: u64,
) -> BTreeMap<String, u64> {
    [
        ("install", install),
        ("repair", repair),
        ("maintenance", maintenance),
        ("inspection", inspection),
        ("complaint", complaint),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The known data set indexed for the repeat-fault rate, with the default targets.
pub struct Known {
    pub facts: Vec<Facts>,
    pub returns: Returns,
    pub targets: Targets,
}

impl Known {
    pub fn new() -> Known {
        Known::of(known())
    }

    pub fn of(facts: Vec<Facts>) -> Known {
        Known {
            returns: Returns::new(DEFAULT_REPEAT_WINDOW_MS, &facts),
            facts,
            targets: Targets::default(),
        }
    }

    /// The inputs as read at `now`.
    pub fn at(&self, now: i64) -> Inputs<'_> {
        Inputs {
            facts: &self.facts,
            returns: &self.returns,
            now,
            targets: &self.targets,
        }
    }
}
