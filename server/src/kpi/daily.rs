//! The [`DailySummary`] of one UTC day, and one per day of a range: the daily trend.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use super::range::iso;
use super::report::{in_region, satisfied, volume_by_type};
use super::{DateRange, Facts, Rate, Targets};

/// One day of the daily summary (and, one per day, of the trend).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailySummary {
    pub date: String,
    pub region: Option<String>,
    /// Work orders created that day.
    pub volume: u64,
    /// Those per service type, every type present (zeros included).
    pub by_type: BTreeMap<String, u64>,
    /// Work orders completed that day, whenever created.
    pub completed: u64,
    /// Of those completed that day, the ones fixed; no target.
    pub resolution_rate: Rate,
    /// Of the follow-ups recorded that day, those scoring 4 or 5. Target `satisfaction`.
    pub satisfaction: Rate,
    /// Of those completed that day, the first-time fixes. Target `first_time_fix`.
    pub first_time_fix: Rate,
}

/// The summary of one UTC day, in `region` when given.
pub fn daily(facts: &[Facts], date: Date, region: Option<&str>, targets: &Targets) -> DailySummary {
    let day = DateRange {
        from: date,
        to: date,
    };
    let on_day = |at: Option<i64>| at.is_some_and(|ms| day.contains(ms));
    let created: Vec<&Facts> = in_region(facts, region)
        .filter(|f| day.contains(f.created_at))
        .collect();
    let completed: Vec<&Facts> = in_region(facts, region)
        .filter(|f| on_day(f.completed_at))
        .collect();

    DailySummary {
        date: iso(date),
        region: region.map(str::to_owned),
        volume: created.len() as u64,
        by_type: volume_by_type(&created),
        completed: completed.len() as u64,
        resolution_rate: Rate::of(completed.iter().map(|f| f.fixed == Some(true)), None),
        satisfaction: Rate::of(
            in_region(facts, region)
                .filter(|f| on_day(f.followed_up_at))
                .filter_map(|f| f.score)
                .map(satisfied),
            Some(targets.satisfaction),
        ),
        first_time_fix: Rate::of(
            completed.iter().map(|f| f.first_time_fix),
            Some(targets.first_time_fix),
        ),
    }
}

/// One [`daily`] summary per day of `range`, in order: the trend.
pub fn daily_series(
    facts: &[Facts],
    range: &DateRange,
    region: Option<&str>,
    targets: &Targets,
) -> Vec<DailySummary> {
    range
        .days()
        .map(|date| daily(facts, date, region, targets))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::testdata::*;

    #[test]
    fn daily_summaries_of_the_known_data_set() {
        let targets = Targets::default();
        assert_eq!(
            daily(&known(), D1, None, &targets),
            DailySummary {
                date: "2026-03-01".into(),
                region: None,
                // Created: 1, 2, 3 (9 was created the evening before).
                volume: 3,
                by_type: types(1, 1, 0, 0, 1),
                // Completed that day: 1, and 9 although created the day before.
                completed: 2,
                resolution_rate: rate(2, 2, Some(1.0), None, None),
                // No follow-up that day.
                satisfaction: rate(0, 0, None, Some(0.9), None),
                first_time_fix: rate(2, 2, Some(1.0), Some(0.85), Some(true)),
            }
        );
        assert_eq!(
            daily(&known(), D2, None, &targets),
            DailySummary {
                date: "2026-03-02".into(),
                region: None,
                // Created: 4, 5, 8.
                volume: 3,
                by_type: types(0, 2, 1, 0, 0),
                // Completed: 2 (fixed, two visits), 5 (not fixed).
                completed: 2,
                resolution_rate: rate(1, 2, Some(0.5), None, None),
                // Follow-ups that day: 1 (5) and 9 (5).
                satisfaction: rate(2, 2, Some(1.0), Some(0.9), Some(true)),
                first_time_fix: rate(0, 2, Some(0.0), Some(0.85), Some(false)),
            }
        );
        // South on 03-03: 11 created; no completion; the follow-up of 5 (a 4).
        let south = daily(&known(), D3, Some("south"), &targets);
        assert_eq!((south.volume, south.completed), (1, 0));
        assert_eq!(
            south.satisfaction,
            rate(1, 1, Some(1.0), Some(0.9), Some(true))
        );
        assert_eq!(south.resolution_rate.rate, None);
    }

    #[test]
    fn the_daily_series_has_one_summary_per_day() {
        let series = daily_series(&known(), &range(), None, &Targets::default());
        let dates: Vec<&str> = series.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-03-01", "2026-03-02", "2026-03-03"]);
        let volume: u64 = series.iter().map(|d| d.volume).sum();
        assert_eq!(volume, 9, "the days add up to the report's work orders");
        assert_eq!(series[2].volume, 3, "on 03-03: 6, 10 and 11");
    }
}
