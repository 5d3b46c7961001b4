//! The figures of a span of days ([`Figures`]), the [`DailySummary`] of one UTC day, and one
//! per day of a range: the daily trend. Weekly and monthly trends (`trends`) are the same
//! figures over longer spans.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use super::range::iso;
use super::report::{in_region, satisfied, volume_by_type};
use super::{DateRange, Facts, Inputs, Rate};

/// What the trends show of a span of days (one day, an ISO week, a calendar month).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Work orders created in the span.
    pub volume: u64,
    /// Those per service type, every type present (zeros included).
    pub by_type: BTreeMap<String, u64>,
    /// Work orders completed in the span, whenever created.
    pub completed: u64,
    /// Of those completed in the span, the ones fixed; no target.
    pub resolution_rate: Rate,
    /// Of the follow-ups recorded in the span, those scoring 4 or 5. Target `satisfaction`.
    pub satisfaction: Rate,
    /// Of those completed in the span, the first-time fixes. Target `first_time_fix`.
    pub first_time_fix: Rate,
    /// Of those completed in the span with a serial, those whose fault came back within the
    /// repeat window (counted once back or once the window is over; `kpi::repeat`); no target.
    pub repeat_fault_rate: Rate,
}

/// The [`Figures`] of the days of `span`, in `region` when given.
pub fn figures(input: &Inputs<'_>, span: &DateRange, region: Option<&str>) -> Figures {
    let facts = input.facts;
    let within = |at: Option<i64>| at.is_some_and(|ms| span.contains(ms));
    let created: Vec<&Facts> = in_region(facts, region)
        .filter(|f| span.contains(f.created_at))
        .collect();
    let completed: Vec<&Facts> = in_region(facts, region)
        .filter(|f| within(f.completed_at))
        .collect();

    Figures {
        volume: created.len() as u64,
        by_type: volume_by_type(&created),
        completed: completed.len() as u64,
        resolution_rate: Rate::of(completed.iter().map(|f| f.fixed == Some(true)), None),
        satisfaction: Rate::of(
            in_region(facts, region)
                .filter(|f| within(f.followed_up_at))
                .filter_map(|f| f.score)
                .map(satisfied),
            Some(input.targets.satisfaction),
        ),
        first_time_fix: Rate::of(
            completed.iter().map(|f| f.first_time_fix),
            Some(input.targets.first_time_fix),
        ),
        repeat_fault_rate: Rate::of(
            completed
                .iter()
                .filter_map(|f| input.returns.came_back(f, input.now)),
            None,
        ),
    }
}

/// One day of the daily summary (and, one per day, of the trend).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailySummary {
    pub date: String,
    pub region: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The summary of one UTC day, in `region` when given.
pub fn daily(input: &Inputs<'_>, date: Date, region: Option<&str>) -> DailySummary {
    let day = DateRange {
        from: date,
        to: date,
    };
    DailySummary {
        date: iso(date),
        region: region.map(str::to_owned),
        figures: figures(input, &day, region),
    }
}

/// One [`daily`] summary per day of `range`, in order: the trend.
pub fn daily_series(
    input: &Inputs<'_>,
    range: &DateRange,
    region: Option<&str>,
) -> Vec<DailySummary> {
    range
        .days()
        .map(|date| daily(input, date, region))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::testdata::*;

    #[test]
    fn daily_summaries_of_the_known_data_set() {
        let k = Known::new();
        assert_eq!(
            daily(&k.at(now()), D1, None),
            DailySummary {
                date: "2026-03-01".into(),
                region: None,
                figures: Figures {
                    // Created: 1, 2, 3 (9 was created the evening before).
                    volume: 3,
                    by_type: types(1, 1, 0, 0, 1),
                    // Completed that day: 1, and 9 although created the day before.
                    completed: 2,
                    resolution_rate: rate(2, 2, Some(1.0), None, None),
                    // No follow-up that day.
                    satisfaction: rate(0, 0, None, Some(0.9), None),
                    first_time_fix: rate(2, 2, Some(1.0), Some(0.85), Some(true)),
                    // 1 (SN-A) came back in 10, 9 (SN-C) in 7.
                    repeat_fault_rate: rate(2, 2, Some(1.0), None, None),
                },
            }
        );
        assert_eq!(
            daily(&k.at(now()), D2, None),
            DailySummary {
                date: "2026-03-02".into(),
                region: None,
                figures: Figures {
                    // Created: 4, 5, 8.
                    volume: 3,
                    by_type: types(0, 2, 1, 0, 0),
                    // Completed: 2 (fixed, two visits), 5 (not fixed).
                    completed: 2,
                    resolution_rate: rate(1, 2, Some(0.5), None, None),
                    // Follow-ups that day: 1 (5) and 9 (5).
                    satisfaction: rate(2, 2, Some(1.0), Some(0.9), Some(true)),
                    first_time_fix: rate(0, 2, Some(0.0), Some(0.85), Some(false)),
                    // 2 has no serial; 5's window (SN-B) is still open at NOW.
                    repeat_fault_rate: rate(0, 0, None, None, None),
                },
            }
        );
        // South on 03-03: 11 created; no completion; the follow-up of 5 (a 4).
        let south = daily(&k.at(now()), D3, Some("south")).figures;
        assert_eq!((south.volume, south.completed), (1, 0));
        assert_eq!(
            south.satisfaction,
            rate(1, 1, Some(1.0), Some(0.9), Some(true))
        );
        assert_eq!(south.resolution_rate.rate, None);
    }

    #[test]
    fn the_daily_series_has_one_summary_per_day() {
        let series = daily_series(&Known::new().at(now()), &range(), None);
        let dates: Vec<&str> = series.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-03-01", "2026-03-02", "2026-03-03"]);
        let volume: u64 = series.iter().map(|d| d.figures.volume).sum();
        assert_eq!(volume, 9, "the days add up to the report's work orders");
        assert_eq!(series[2].figures.volume, 3, "on 03-03: 6, 10 and 11");
    }

    #[test]
    fn a_daily_summary_serializes_flat() {
        let d = daily(&Known::new().at(now()), D1, None);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["date"], "2026-03-01");
        assert_eq!(json["volume"], 3);
        assert_eq!(json["repeat_fault_rate"]["numerator"], 2);
        assert!(json.get("figures").is_none());
    }
}
