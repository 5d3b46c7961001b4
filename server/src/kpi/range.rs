//! [`DateRange`]: an inclusive range of UTC calendar days, and why one is refused.

use std::fmt;

use time::{Date, OffsetDateTime};

use super::{DAY_MS, MAX_RANGE_DAYS};

/// Why a report's parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiError {
    /// A date is not a calendar day written YYYY-MM-DD.
    BadDate {
        field: &'static str,
        value: String,
        reason: String,
    },
    /// The range ends before it starts.
    Reversed { from: Date, to: Date },
    /// The range covers more than [`MAX_RANGE_DAYS`] days.
    TooLong { days: i64, max: i64 },
    /// A trend's period is not `day`, `week` or `month`.
    BadPeriod { value: String },
}

impl fmt::Display for KpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KpiError::BadDate {
                field,
                value,
                reason,
            } => write!(
                f,
                "{field} date {value:?} is not a calendar day written YYYY-MM-DD ({reason})"
            ),
            KpiError::Reversed { from, to } => write!(
                f,
                "the range starts on {} but ends earlier, on {}; `from` must not be after `to`",
                iso(*from),
                iso(*to)
            ),
            KpiError::TooLong { days, max } => write!(
                f,
                "the range covers {days} days; a report covers at most {max} days"
            ),
            KpiError::BadPeriod { value } => {
                write!(f, "period {value:?} is not one of day, week, month")
            }
        }
    }
}

impl std::error::Error for KpiError {}

/// An inclusive range of UTC calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl DateRange {
    /// Parses two `YYYY-MM-DD` days; `from` must not be after `to`, and the range covers at
    /// most [`MAX_RANGE_DAYS`] days.
    pub fn parse(from: &str, to: &str) -> Result<DateRange, KpiError> {
        DateRange::new(parse_date("from", from)?, parse_date("to", to)?)
    }

    /// `from` must not be after `to`, and the range covers at most [`MAX_RANGE_DAYS`] days.
    pub fn new(from: Date, to: Date) -> Result<DateRange, KpiError> {
        if from > to {
            return Err(KpiError::Reversed { from, to });
        }
        let days = (to - from).whole_days() + 1;
        if days > MAX_RANGE_DAYS {
            return Err(KpiError::TooLong {
                days,
                max: MAX_RANGE_DAYS,
            });
        }
        Ok(DateRange { from, to })
    }

    /// 00:00 UTC of `from`, ms since the epoch (inclusive).
    pub fn start_ms(&self) -> i64 {
        day_start_ms(self.from)
    }

    /// 00:00 UTC of the day after `to`, ms since the epoch (exclusive).
    pub fn end_ms(&self) -> i64 {
        day_start_ms(self.to).saturating_add(DAY_MS)
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = Date> {
        let to = self.to;
        std::iter::successors(Some(self.from).filter(|d| *d <= to), move |d| {
            d.next_day().filter(|n| *n <= to)
        })
    }

    pub(super) fn contains(&self, ms: i64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&ms)
    }
}

pub(super) fn parse_date(field: &'static str, value: &str) -> Result<Date, KpiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value.trim(), format).map_err(|e| KpiError::BadDate {
        field,
        value: value.to_owned(),
        reason: e.to_string(),
    })
}

pub(super) fn day_start_ms(day: Date) -> i64 {
    day.midnight()
        .assume_utc()
        .unix_timestamp()
        .saturating_mul(1000)
}

/// `YYYY-MM-DD`.
pub(super) fn iso(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The UTC calendar day of an instant in ms since the epoch; `None` outside the supported years.
pub fn day_of(ms: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(|t| t.date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::testdata::{range, D1, D2, D3, D4};
    use time::macros::date;

    #[test]
    fn date_ranges_cover_whole_utc_days() {
        let r = range();
        assert_eq!(r.start_ms(), 1_772_323_200_000); // 2026-03-01T00:00:00Z
        assert_eq!(r.end_ms(), 1_772_323_200_000 + 3 * DAY_MS);
        assert_eq!(r.days().collect::<Vec<_>>(), [D1, D2, D3]);
        assert_eq!(day_of(r.end_ms() - 1), Some(D3));
        assert_eq!(day_of(r.end_ms()), Some(D4));
        assert_eq!(day_of(-1), Some(date!(1969 - 12 - 31)));
        assert_eq!(day_of(i64::MAX), None);
        let leap = DateRange::parse("2024-01-01", "2024-12-31").unwrap();
        assert_eq!(leap.days().count(), 366);
        assert_eq!(
            DateRange::parse(" 2026-03-01", "2026-03-01 ")
                .unwrap()
                .days()
                .count(),
            1
        );
    }

    #[test]
    fn bad_date_ranges_are_refused_with_clear_messages() {
        let err = DateRange::parse("2026-3-01", "2026-03-02").unwrap_err();
        assert!(
            matches!(err, KpiError::BadDate { field: "from", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("\"2026-3-01\""), "{err}");
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");

        let err = DateRange::parse("2026-03-01", "2026-02-30").unwrap_err();
        assert!(
            matches!(err, KpiError::BadDate { field: "to", .. }),
            "{err:?}"
        );
        assert!(DateRange::parse("yesterday", "2026-03-01").is_err());
        assert!(DateRange::parse("2026-03-01T00:00", "2026-03-02").is_err());

        let err = DateRange::parse("2026-03-02", "2026-03-01").unwrap_err();
        assert_eq!(err, KpiError::Reversed { from: D2, to: D1 });
        assert_eq!(
            err.to_string(),
            "the range starts on 2026-03-02 but ends earlier, on 2026-03-01; `from` must not be after `to`"
        );

        let err = DateRange::parse("2025-01-01", "2026-01-02").unwrap_err();
        assert_eq!(
            err,
            KpiError::TooLong {
                days: 367,
                max: 366
            }
        );
        assert_eq!(
            err.to_string(),
            "the range covers 367 days; a report covers at most 366 days"
        );
    }
}
