//! Weekly and monthly trends beside the daily one: the [`Figures`] of each day, ISO week
//! (Monday to Sunday) or calendar month of a range.
//!
//! A range need not start or end on a period's boundary; the first and last periods are then
//! cut to the range, and each [`TrendPoint`] says which days it covers (`from`, `to`, `days`),
//! so a partial week is never mistaken for a whole one. Weeks are labelled the ISO way
//! (`2026-W09`: the week-numbering year, which around New Year may differ from the calendar
//! year of some of its days), months `2026-03`, days `2026-03-01`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use time::{Date, Duration};

use super::daily::{figures, Figures};
use super::range::iso;
use super::{DateRange, Inputs, KpiError};

/// The span each point of a trend covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Day, Period::Week, Period::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The last day of the period that holds `day`.
    fn last_day(self, day: Date) -> Date {
        match self {
            Period::Day => day,
            Period::Week => {
                let from_monday = i64::from(day.weekday().number_days_from_monday());
                day.saturating_add(Duration::days(6 - from_monday))
            }
            Period::Month => day
                .replace_day(day.month().length(day.year()))
                .unwrap_or(day),
        }
    }

    /// The label of the period that holds `day`.
    fn label(self, day: Date) -> String {
        match self {
            Period::Day => iso(day),
            Period::Week => {
                let (year, week, _) = day.to_iso_week_date();
                format!("{year:04}-W{week:02}")
            }
            Period::Month => format!("{:04}-{:02}", day.year(), u8::from(day.month())),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = KpiError;

    fn from_str(s: &str) -> Result<Period, KpiError> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| KpiError::BadPeriod {
                value: s.to_owned(),
            })
    }
}

/// One point of a trend: the figures of one period, cut to the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// `2026-03-01`, `2026-W09` or `2026-03`.
    pub period: String,
    /// First day the point covers (the period's first, or the range's when it starts later).
    pub from: String,
    /// Last day the point covers, inclusive.
    pub to: String,
    /// Days covered: fewer than the period's when the range cuts it.
    pub days: u32,
    pub region: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The periods of `range`, in order, each cut to the range.
pub fn periods(range: &DateRange, period: Period) -> Vec<(String, DateRange)> {
    let mut out = Vec::new();
    let mut from = range.from;
    loop {
        let to = period.last_day(from).min(range.to);
        out.push((period.label(from), DateRange { from, to }));
        match to.next_day() {
            Some(next) if to < range.to => from = next,
            _ => break,
        }
    }
    out
}

/// The trend of `range` by `period`, in `region` when given.
pub fn trend(
    input: &Inputs<'_>,
    range: &DateRange,
    period: Period,
    region: Option<&str>,
) -> Vec<TrendPoint> {
    periods(range, period)
        .into_iter()
        .map(|(label, span)| TrendPoint {
            period: label,
            from: iso(span.from),
            to: iso(span.to),
            days: u32::try_from((span.to - span.from).whole_days() + 1).unwrap_or(u32::MAX),
            region: region.map(str::to_owned),
            figures: figures(input, &span, region),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::daily_series;
    use crate::kpi::testdata::*;

    fn spans(from: &str, to: &str, period: Period) -> Vec<(String, String, String)> {
        let range = DateRange::parse(from, to).unwrap();
        periods(&range, period)
            .into_iter()
            .map(|(label, r)| (label, iso(r.from), iso(r.to)))
            .collect()
    }

    fn s(label: &str, from: &str, to: &str) -> (String, String, String) {
        (label.into(), from.into(), to.into())
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_are_cut_to_the_range() {
        // 2026-03-01 is a Sunday, 03-02 a Monday.
        assert_eq!(
            spans("2026-03-01", "2026-03-16", Period::Week),
            [
                s("2026-W09", "2026-03-01", "2026-03-01"),
                s("2026-W10", "2026-03-02", "2026-03-08"),
                s("2026-W11", "2026-03-09", "2026-03-15"),
                s("2026-W12", "2026-03-16", "2026-03-16"),
            ]
        );
        // Around New Year: 2026-12-28 (Monday) to 2027-01-03 is week 53 of 2026; 2027-01-04
        // starts week 1 of 2027.
        assert_eq!(
            spans("2026-12-31", "2027-01-04", Period::Week),
            [
                s("2026-W53", "2026-12-31", "2027-01-03"),
                s("2027-W01", "2027-01-04", "2027-01-04"),
            ]
        );
    }

    #[test]
    fn months_end_on_their_last_day_leap_years_included() {
        assert_eq!(
            spans("2024-01-31", "2024-03-01", Period::Month),
            [
                s("2024-01", "2024-01-31", "2024-01-31"),
                s("2024-02", "2024-02-01", "2024-02-29"),
                s("2024-03", "2024-03-01", "2024-03-01"),
            ]
        );
        assert_eq!(
            spans("2026-02-01", "2026-02-28", Period::Month),
            [s("2026-02", "2026-02-01", "2026-02-28")]
        );
        assert_eq!(
            spans("2026-03-02", "2026-03-03", Period::Day),
            [
                s("2026-03-02", "2026-03-02", "2026-03-02"),
                s("2026-03-03", "2026-03-03", "2026-03-03"),
            ]
        );
    }

    #[test]
    fn the_weekly_trend_of_the_known_data_set() {
        // 03-01 is a Sunday: week 9 holds only it, week 10 holds 03-02 and 03-03.
        let points = trend(&Known::new().at(now()), &range(), Period::Week, None);
        let w9 = &points[0];
        assert_eq!(
            (
                w9.period.as_str(),
                w9.from.as_str(),
                w9.to.as_str(),
                w9.days
            ),
            ("2026-W09", "2026-03-01", "2026-03-01", 1)
        );
        // The same as that day's summary.
        assert_eq!(w9.figures.volume, 3);
        assert_eq!(
            w9.figures.repeat_fault_rate,
            rate(2, 2, Some(1.0), None, None)
        );
        let w10 = &points[1];
        assert_eq!(
            (w10.from.as_str(), w10.to.as_str(), w10.days),
            ("2026-03-02", "2026-03-03", 2)
        );
        assert_eq!(
            w10.figures,
            Figures {
                // 4, 5, 8 on 03-02; 6, 10, 11 on 03-03.
                volume: 6,
                by_type: types(1, 2, 1, 1, 1),
                // 2, 5 on 03-02; 10 on 03-03.
                completed: 3,
                resolution_rate: rate(2, 3, Some(0.6667), None, None),
                // Follow-ups of 1 (5) and 9 (5) on 03-02, 2 (3), 5 (4), 10 (2) on 03-03.
                satisfaction: rate(3, 5, Some(0.6), Some(0.9), Some(false)),
                first_time_fix: rate(0, 3, Some(0.0), Some(0.85), Some(false)),
                // 2 has no serial; 5 and 10 are inside their windows at NOW.
                repeat_fault_rate: rate(0, 0, None, None, None),
            }
        );
        assert_eq!(points.len(), 2);
    }

    #[test]
    fn a_monthly_trend_adds_up_the_days_and_a_day_trend_is_the_daily_series() {
        let k = Known::new();
        let input = k.at(now());
        let feb_to_apr = DateRange::parse("2026-02-28", "2026-04-01").unwrap();
        let months = trend(&input, &feb_to_apr, Period::Month, None);
        let labels: Vec<&str> = months.iter().map(|p| p.period.as_str()).collect();
        assert_eq!(labels, ["2026-02", "2026-03", "2026-04"]);
        assert_eq!(
            months.iter().map(|p| p.days).collect::<Vec<_>>(),
            [1, 31, 1]
        );
        // February's last day holds 9 (created 23:59:59.999); March the other ten.
        assert_eq!(
            months.iter().map(|p| p.figures.volume).collect::<Vec<_>>(),
            [1, 10, 0]
        );
        let march = &months[1].figures;
        // Completed in March: 1, 9, 2, 5, 10, 7; repeats: 1 and 9 back, the others still
        // inside their windows.
        assert_eq!(march.completed, 6);
        assert_eq!(march.repeat_fault_rate, rate(2, 2, Some(1.0), None, None));

        let days = trend(&input, &range(), Period::Day, Some("north"));
        let series = daily_series(&input, &range(), Some("north"));
        assert_eq!(days.len(), series.len());
        for (p, d) in days.iter().zip(&series) {
            assert_eq!((&p.period, &p.from, &p.to), (&d.date, &d.date, &d.date));
            assert_eq!(p.figures, d.figures);
            assert_eq!(p.region.as_deref(), Some("north"));
        }
    }

    #[test]
    fn periods_parse_from_their_names_only() {
        assert_eq!("week".parse::<Period>(), Ok(Period::Week));
        assert_eq!("month".parse::<Period>(), Ok(Period::Month));
        assert_eq!("day".parse::<Period>(), Ok(Period::Day));
        for bad in ["Week", "weekly", "", "year"] {
            let err = bad.parse::<Period>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("period {bad:?} is not one of day, week, month")
            );
        }
    }
}
