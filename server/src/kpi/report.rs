//! The manager's [`KpiReport`] over a range of days.

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::workorder::ServiceType;

use super::range::iso;
use super::{
    Average, DateRange, Facts, Inputs, Rate, DAY_MS, FIRST_RESPONSE_WINDOW_MS, SATISFIED_SCORE,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub from: String,
    pub to: String,
    pub region: Option<String>,
    /// Work orders created in the range (and region): the population of every KPI below.
    pub work_orders: u64,
    /// First response within 24 h of intake (a response exactly at 24 h counts). Counted: every
    /// responded work order, and every unresponded one whose 24 h have passed at `now`, unless
    /// it was cancelled. Target `first_response`.
    pub first_response_24h: Rate,
    /// Of the completed work orders (whenever completed), those fixed on the first visit and
    /// never reopened. Target `first_time_fix`.
    pub first_time_fix: Rate,
    /// Of the scored follow-ups, those scoring 4 or 5. Target `satisfaction`.
    pub satisfaction: Rate,
    /// Mean minutes from an assignment to its acceptance, over the accepted work orders; no
    /// target.
    pub avg_acceptance_minutes: Average,
    /// Mean minutes from intake to the first response, over the responded work orders (late
    /// responses included). Target `avg_response_minutes`, met when the mean is at most it.
    pub avg_response_minutes: Average,
    /// Complaints among all work orders; no target.
    pub complaint_rate: Rate,
    /// Of the completed work orders with a product serial, those whose fault came back: a new
    /// repair or complaint for the same serial within the repeat window of the completion
    /// (`kpi::repeat` has the exact definition). Counted once it came back or once its window
    /// is over at `now`; no target (lower is better).
    pub repeat_fault_rate: Rate,
    /// The repeat window the rate was computed with, in days.
    pub repeat_window_days: f64,
    /// Work orders per service type, every type present (zeros included).
    pub volume_by_type: BTreeMap<String, u64>,
    /// Work orders that are completed (whenever completed).
    pub completed: u64,
    /// Work orders that are cancelled.
    pub cancelled: u64,
    // Figures of other modules (e.g. the quality audit's, from `kpi/audit.rs`) go below, each
    // a field of its own type computed by its own module.
}

/// The KPIs of the work orders created in `range`, in `region` when given, as of `input.now`.
pub fn report(input: &Inputs<'_>, range: &DateRange, region: Option<&str>) -> KpiReport {
    let Inputs {
        facts,
        returns,
        now,
        targets,
    } = *input;
    let created: Vec<&Facts> = in_region(facts, region)
        .filter(|f| range.contains(f.created_at))
        .collect();
    let completed: Vec<&Facts> = created
        .iter()
        .copied()
        .filter(|f| f.completed_at.is_some())
        .collect();
    let response_ms = |f: &Facts| {
        f.first_response_at
            .map(|at| at.saturating_sub(f.created_at).max(0))
    };

    KpiReport {
        from: iso(range.from),
        to: iso(range.to),
        region: region.map(str::to_owned),
        work_orders: created.len() as u64,
        first_response_24h: Rate::of(
            created.iter().filter_map(|f| responded_in_time(f, now)),
            Some(targets.first_response),
        ),
        first_time_fix: Rate::of(
            completed.iter().map(|f| f.first_time_fix),
            Some(targets.first_time_fix),
        ),
        satisfaction: Rate::of(
            created.iter().filter_map(|f| f.score).map(satisfied),
            Some(targets.satisfaction),
        ),
        avg_acceptance_minutes: Average::minutes(
            created
                .iter()
                .filter_map(|f| f.accept_ms.map(|ms| ms.max(0))),
            None,
        ),
        avg_response_minutes: Average::minutes(
            created.iter().filter_map(|f| response_ms(f)),
            Some(targets.avg_response_minutes),
        ),
        complaint_rate: Rate::of(
            created
                .iter()
                .map(|f| f.service_type == ServiceType::Complaint),
            None,
        ),
        repeat_fault_rate: Rate::of(
            completed.iter().filter_map(|f| returns.came_back(f, now)),
            None,
        ),
        repeat_window_days: returns.window_ms() as f64 / DAY_MS as f64,
        volume_by_type: volume_by_type(&created),
        completed: completed.len() as u64,
        cancelled: created.iter().filter(|f| f.cancelled).count() as u64,
    }
}

/// Whether a work order counts toward the first-response rate, and if so whether it was
/// answered in time: `None` when cancelled without a response, or unresponded while its
/// window is still open at `now`.
fn responded_in_time(f: &Facts, now: i64) -> Option<bool> {
    match f.first_response_at {
        Some(at) => Some(at.saturating_sub(f.created_at) <= FIRST_RESPONSE_WINDOW_MS),
        None if f.cancelled => None,
        None if now <= f.created_at.saturating_add(FIRST_RESPONSE_WINDOW_MS) => None,
        None => Some(false),
    }
}

pub(super) fn satisfied(score: u8) -> bool {
    score >= SATISFIED_SCORE
}

pub(super) fn in_region<'a>(
    facts: &'a [Facts],
    region: Option<&'a str>,
) -> impl Iterator<Item = &'a Facts> + 'a {
    facts
        .iter()
        .filter(move |f| region.is_none_or(|r| f.region == r))
}

/// Count per service type, every type present.
pub(super) fn volume_by_type(facts: &[&Facts]) -> BTreeMap<String, u64> {
    let mut volume: BTreeMap<String, u64> = ServiceType::ALL
        .iter()
        .map(|t| (t.as_str().to_owned(), 0))
        .collect();
    for f in facts {
        *volume
            .entry(f.service_type.as_str().to_owned())
            .or_default() += 1;
    }
    volume
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::testdata::*;
    use crate::kpi::{daily, daily_series};

    #[test]
    fn the_known_data_set_reports_the_hand_computed_kpis() {
        let r = report(&Known::new().at(now()), &range(), None);
        let expected = KpiReport {
            from: "2026-03-01".into(),
            to: "2026-03-03".into(),
            region: None,
            // Created in range: 1, 2, 3, 4, 5, 6 (23:59:59.999 on the last day), 8, 10, 11.
            // Not 7 (00:00 the day after) nor 9 (23:59:59.999 the day before).
            work_orders: 9,
            // Counted: 1, 2, 3, 5, 8, 10, 11 = 7 (not 4: cancelled unanswered; not 6: its
            // window is open at NOW). In time: 1, 2 (exactly 24 h), 5, 10, 11 = 5.
            // Late: 3 (24 h + 1 ms), 8 (never answered, window over). 5/7 = 0.714285…
            first_response_24h: rate(5, 7, Some(0.7143), Some(0.95), Some(false)),
            // Completed: 1, 2, 5, 10 = 4; first-time fix: 1 only (2: two visits, 5: not
            // fixed, 10: reopened).
            first_time_fix: rate(1, 4, Some(0.25), Some(0.85), Some(false)),
            // Scored: 1 (5), 2 (3), 5 (4), 10 (2) = 4; satisfied: 1, 5.
            satisfaction: rate(2, 4, Some(0.5), Some(0.9), Some(false)),
            // 10 + 20 + 5 + 15 + 30 = 80 min over 5.
            avg_acceptance_minutes: avg(Some(16.0), 5, None, None),
            // 60 + 1440 + (1440 + 1/60000) + 30 + 25 + 60 = 3055.0000167 min over 6
            // = 509.1666…
            avg_response_minutes: avg(Some(509.17), 6, Some(30.0), Some(false)),
            // Complaints: 3, 10 of 9 = 0.2222…
            complaint_rate: rate(2, 9, Some(0.2222), None, None),
            // Completed: 1 (SN-A: back in 10, a complaint created 2 days later), 2 (no serial:
            // left out), 5 (SN-B: nothing back, window open at NOW), 10 (SN-A: nothing after
            // it, window open) = 1 of 1.
            repeat_fault_rate: rate(1, 1, Some(1.0), None, None),
            repeat_window_days: 30.0,
            // install 2, 11; repair 1, 5, 8; maintenance 4; inspection 6; complaint 3, 10.
            volume_by_type: types(2, 3, 1, 1, 2),
            completed: 4,
            cancelled: 2,
        };
        assert_eq!(r, expected);
    }

    #[test]
    fn the_known_data_set_for_one_region() {
        let r = report(&Known::new().at(now()), &range(), Some("south"));
        let expected = KpiReport {
            from: "2026-03-01".into(),
            to: "2026-03-03".into(),
            region: Some("south".into()),
            // 3, 5, 8, 11.
            work_orders: 4,
            // All four counted (11 was answered before it was cancelled); in time: 5, 11.
            first_response_24h: rate(2, 4, Some(0.5), Some(0.95), Some(false)),
            // Completed: 5, not fixed.
            first_time_fix: rate(0, 1, Some(0.0), Some(0.85), Some(false)),
            // Scored: 5 with a 4.
            satisfaction: rate(1, 1, Some(1.0), Some(0.9), Some(true)),
            // (5 + 30) / 2.
            avg_acceptance_minutes: avg(Some(17.5), 2, None, None),
            // (1440.0000167 + 30 + 60) / 3 = 510.0000056.
            avg_response_minutes: avg(Some(510.0), 3, Some(30.0), Some(false)),
            complaint_rate: rate(1, 4, Some(0.25), None, None),
            // Completed: 5 (SN-B), window open at NOW: not counted yet.
            repeat_fault_rate: rate(0, 0, None, None, None),
            repeat_window_days: 30.0,
            volume_by_type: types(1, 2, 0, 0, 1),
            completed: 1,
            cancelled: 1,
        };
        assert_eq!(r, expected);
    }

    #[test]
    fn an_average_response_within_target_meets_it() {
        // North on 03-03: 6 (unanswered, window open) and 10 (answered after 25 min).
        let day = DateRange::parse("2026-03-03", "2026-03-03").unwrap();
        let r = report(&Known::new().at(now()), &day, Some("north"));
        assert_eq!(r.work_orders, 2);
        assert_eq!(
            r.avg_response_minutes,
            avg(Some(25.0), 1, Some(30.0), Some(true))
        );
        assert_eq!(
            r.first_response_24h,
            rate(1, 1, Some(1.0), Some(0.95), Some(true))
        );
    }

    #[test]
    fn an_unanswered_work_order_counts_as_a_miss_once_its_window_is_over() {
        let k = Known::new();
        let wo6_deadline = t(D4, 0, 0) - 1 + FIRST_RESPONSE_WINDOW_MS;
        // At the deadline a response would still be in time: not counted yet.
        let r = report(&k.at(wo6_deadline), &range(), None);
        assert_eq!(
            (
                r.first_response_24h.numerator,
                r.first_response_24h.denominator
            ),
            (5, 7)
        );
        // One ms later it is a miss.
        let r = report(&k.at(wo6_deadline + 1), &range(), None);
        assert_eq!(
            r.first_response_24h,
            rate(5, 8, Some(0.625), Some(0.95), Some(false))
        );
    }

    #[test]
    fn no_work_orders_give_no_rates_and_no_panic() {
        let empty = Known::of(vec![]);
        let r = report(&empty.at(now()), &range(), None);
        assert_eq!(r.work_orders, 0);
        for rate in [
            &r.first_response_24h,
            &r.first_time_fix,
            &r.satisfaction,
            &r.complaint_rate,
            &r.repeat_fault_rate,
        ] {
            assert_eq!(
                (rate.denominator, rate.rate, rate.meets_target),
                (0, None, None)
            );
        }
        assert_eq!(r.avg_acceptance_minutes, avg(None, 0, None, None));
        assert_eq!(r.avg_response_minutes, avg(None, 0, Some(30.0), None));
        assert_eq!(r.volume_by_type, types(0, 0, 0, 0, 0));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["first_time_fix"]["rate"], serde_json::Value::Null);
        assert_eq!(json["volume_by_type"]["complaint"], 0);

        let d = daily(&empty.at(now()), D1, Some("north"));
        assert_eq!((d.figures.volume, d.figures.completed), (0, 0));
        assert_eq!(d.figures.satisfaction.rate, None);
        assert!(daily_series(&empty.at(now()), &range(), None)
            .iter()
            .all(|d| d.figures.volume == 0));
    }
}

#[cfg(test)]
mod repeat_tests {
    use super::*;
    use crate::kpi::testdata::*;

    #[test]
    fn the_repeat_fault_rate_counts_a_work_order_once_its_window_is_over() {
        let k = Known::new();
        let window_of_5 = t(D2, 16, 0) + 30 * DAY_MS;
        // SN-B (5) stays quiet: counted as not back only once its 30 days are over.
        let r = report(&k.at(window_of_5), &range(), None);
        assert_eq!(r.repeat_fault_rate, rate(1, 1, Some(1.0), None, None));
        let r = report(&k.at(window_of_5 + 1), &range(), None);
        assert_eq!(r.repeat_fault_rate, rate(1, 2, Some(0.5), None, None));
        // Much later 10 (SN-A, completed 03-03) is counted too, as not back: 1 of 3.
        let r = report(&k.at(t(D4, 0, 0) + 60 * DAY_MS), &range(), None);
        assert_eq!(r.repeat_fault_rate, rate(1, 3, Some(0.3333), None, None));
    }

    #[test]
    fn a_shorter_policy_window_leaves_a_two_day_return_out() {
        let facts = known();
        let returns = crate::kpi::Returns::new(DAY_MS, &facts);
        let targets = crate::kpi::Targets::default();
        let later = t(D4, 0, 0) + 60 * DAY_MS;
        let input = Inputs {
            facts: &facts,
            returns: &returns,
            now: later,
            targets: &targets,
        };
        let r = report(&input, &range(), None);
        // 1 came back after 1 day 19 h: outside a 1-day window. 1, 5, 10 all counted as not.
        assert_eq!(r.repeat_fault_rate, rate(0, 3, Some(0.0), None, None));
        assert_eq!(r.repeat_window_days, 1.0);
    }
}
