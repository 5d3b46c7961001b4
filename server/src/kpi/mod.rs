//! The KPIs the after-sales manager reports on (SERVICE-RULES, "Targets the managers report on").
//!
//! Two steps:
//!
//! 1. [`facts`] boils one work order down to its [`Facts`]: what the KPIs need of it, derived
//!    from its [`View`] (which applied the conflict rules and so decides *whether* something
//!    counts) and its timed history (which tells *when* it happened, in field time). The server
//!    stores them as one projection row per work order.
//! 2. [`report`], [`daily`] and [`daily_series`] aggregate facts over a [`DateRange`] of UTC
//!    calendar days, optionally for one region.
//!
//! All instants are field times in ms since the Unix epoch (UTC). Durations come out of device
//! clocks that may disagree, so a negative duration (a step recorded "before" the one it
//! answers) counts as zero. Rates are rounded to 4 decimals and averages to 2, so the JSON is
//! stable; whether a target is met is decided on the unrounded value.
//!
//! | module | what |
//! | --- | --- |
//! | `facts` | [`Facts`] of one work order and [`facts`] deriving them |
//! | `rates` | [`Targets`], [`Rate`] and [`Average`] |
//! | `range` | [`DateRange`] of UTC days and [`KpiError`] |
//! | `report` | the manager's [`KpiReport`] over a range |
//! | `daily` | the [`DailySummary`] of one day and the daily series |
//! | `http` | the endpoints `GET /v1/kpi` and `GET /v1/kpi/daily` |
//! | `csv` | the figures as CSV |

mod csv;
mod daily;
mod facts;
pub mod http;
mod range;
mod rates;
mod report;

#[cfg(test)]
mod props;
#[cfg(test)]
mod testdata;

pub use daily::{daily, daily_series, DailySummary};
pub use facts::{facts, Facts};
pub use range::{day_of, DateRange, KpiError};
pub use rates::{Average, Rate, Targets};
pub use report::{report, KpiReport};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The first-response window (CS-FIRST-RESPONSE): a response exactly at its end is in time.
pub const FIRST_RESPONSE_WINDOW_MS: i64 = DAY_MS;

/// Longest [`DateRange`] a report covers, in days (a leap year).
pub const MAX_RANGE_DAYS: i64 = 366;

/// A satisfied customer gives at least this score (4 or 5 of 5).
const SATISFIED_SCORE: u8 = 4;

pub use crate::clock::rules::TimedEvent;
