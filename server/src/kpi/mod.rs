//! The KPIs the after-sales manager reports on (SERVICE-RULES, "Targets the managers report on").
//!
//! Three steps:
//!
//! 1. [`facts`] boils one work order down to its [`Facts`]: what the KPIs need of it, derived
//!    from its [`View`] (which applied the conflict rules and so decides *whether* something
//!    counts) and its timed history (which tells *when* it happened, in field time). The server
//!    stores them as one projection row per work order.
//! 2. [`Returns`] indexes, by product serial, the work orders that may bring an earlier one's
//!    fault back, for the repeat-fault rate (`repeat` defines it exactly).
//! 3. [`report`], [`daily`], [`daily_series`] and [`trend`] aggregate facts ([`Inputs`]) over a
//!    [`DateRange`] of UTC calendar days, optionally for one region; [`trend`] by day, ISO week
//!    or calendar month.
//!
//! All instants are field times in ms since the Unix epoch (UTC). Durations come out of device
//! clocks that may disagree, so a negative duration (a step recorded "before" the one it
//! answers) counts as zero. Rates are rounded to 4 decimals and averages to 2, so the JSON is
//! stable; whether a target is met is decided on the unrounded value.
//!
//! | module | what |
//! | --- | --- |
//! | `facts` | [`Facts`] of one work order and [`facts`] deriving them |
//! | `repeat` | the repeat-fault rate's definition and [`Returns`] |
//! | `rates` | [`Targets`], [`Rate`] and [`Average`] |
//! | `range` | [`DateRange`] of UTC days and [`KpiError`] |
//! | `report` | the manager's [`KpiReport`] over a range |
//! | `daily` | the [`Figures`] of a span of days, the [`DailySummary`] and the daily series |
//! | `trends` | the [`trend`] by day, ISO week or month |
//! | `http`, `trends_api` | the endpoints `GET /v1/kpi`, `/v1/kpi/daily` and `/v1/kpi/trends` |
//! | `load` | reading the facts and the returns a KPI endpoint computes from |
//! | `csv` | the series as CSV |
//! | `audit` | the quality audit's figures beside the report (`quality_audit` of `GET /v1/kpi`) |
//!
//! [`View`]: sync_core::workorder::View

mod audit;
mod csv;
mod daily;
mod facts;
pub mod http;
mod load;
mod range;
mod rates;
mod repeat;
mod report;
mod trends;
pub mod trends_api;

#[cfg(test)]
mod props;
#[cfg(test)]
mod testdata;

pub use daily::{daily, daily_series, figures, DailySummary, Figures};
pub use facts::{facts, normalize_serial, Facts};
pub use range::{day_of, DateRange, KpiError};
pub use rates::{Average, Rate, Targets};
pub use repeat::{Returns, DEFAULT_REPEAT_WINDOW_MS};
pub use report::{report, KpiReport};
pub use trends::{periods, trend, Period, TrendPoint};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The first-response window (CS-FIRST-RESPONSE): a response exactly at its end is in time.
pub const FIRST_RESPONSE_WINDOW_MS: i64 = DAY_MS;

/// Longest [`DateRange`] a report covers, in days (a leap year).
pub const MAX_RANGE_DAYS: i64 = 366;

/// A satisfied customer gives at least this score (4 or 5 of 5).
const SATISFIED_SCORE: u8 = 4;

pub use crate::clock::rules::TimedEvent;

/// What every aggregate reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The facts of every work order that matters to the range (created, completed or followed
    /// up in it); each aggregate picks its own population.
    pub facts: &'a [Facts],
    /// The work orders that may bring a fault back, with the repeat window.
    pub returns: &'a Returns,
    /// Service time of the reading: decides which windows are over.
    pub now: i64,
    pub targets: &'a Targets,
}
