//! Property tests: the report, the daily series and the trends are well formed for any facts,
//! and the weeks and months of a range add up to its days.

use proptest::prelude::*;
use sync_core::workorder::{Priority, ServiceType};

use super::range::day_start_ms;
use super::testdata::{D1, D4};
use super::*;

fn any_time() -> impl Strategy<Value = i64> {
    let around = day_start_ms(D1) - 2 * DAY_MS..day_start_ms(D4) + 2 * DAY_MS;
    prop_oneof![4 => around, 1 => any::<i64>()]
}

fn any_facts() -> impl Strategy<Value = Facts> {
    let who = (
        (
            prop_oneof![Just("north"), Just("south")],
            prop_oneof![Just(""), Just("SN-1"), Just("SN-2")],
        ),
        proptest::sample::select(ServiceType::ALL),
        proptest::sample::select(Priority::ALL),
        any_time(),
        proptest::option::of(any_time()),
        proptest::option::of(any::<i64>()),
    );
    let what = (
        proptest::option::of(any_time()),
        proptest::option::of(any_time()),
        proptest::option::of(any::<bool>()),
        any::<u32>(),
        any::<(bool, bool, bool)>(),
        proptest::option::of(any::<u8>()),
        proptest::option::of(any_time()),
    );
    (who, what).prop_map(
        |(
            ((region, serial), service_type, priority, created_at, first_assigned_at, accept_ms),
            (
                first_response_at,
                completed_at,
                fixed,
                visits,
                (reopened, first_time_fix, cancelled),
                score,
                followed_up_at,
            ),
        )| Facts {
            wo_id: "WO-P".into(),
            region: region.into(),
            serial: serial.into(),
            service_type,
            priority,
            created_at,
            first_assigned_at,
            accept_ms,
            first_response_at,
            completed_at,
            fixed,
            visits,
            reopened,
            first_time_fix,
            score,
            followed_up_at,
            cancelled,
        },
    )
}

/// Sums that a split of the same days into periods must keep: volume, completed, and the
/// numerators and denominators of every rate.
fn totals(points: &[&Figures]) -> [u64; 10] {
    let mut t = [0u64; 10];
    for p in points {
        let rates = [
            &p.resolution_rate,
            &p.satisfaction,
            &p.first_time_fix,
            &p.repeat_fault_rate,
        ];
        t[0] += p.volume;
        t[1] += p.completed;
        for (i, r) in rates.iter().enumerate() {
            t[2 + 2 * i] += r.numerator;
            t[3 + 2 * i] += r.denominator;
        }
    }
    t
}

fn check_rate(r: &Rate) -> Result<(), TestCaseError> {
    prop_assert!(r.numerator <= r.denominator, "{r:?}");
    prop_assert_eq!(r.rate.is_none(), r.denominator == 0);
    if let Some(x) = r.rate {
        prop_assert!((0.0..=1.0).contains(&x), "{r:?}");
    }
    Ok(())
}

proptest! {
    #[test]
    fn kpis_are_well_formed_for_any_facts(
        facts in proptest::collection::vec(any_facts(), 0..40),
        from in 0i64..4,
        len in prop_oneof![3 => 0i64..4, 1 => 0i64..45],
        window_days in 0i64..40,
        region in proptest::option::of(prop_oneof![Just("north"), Just("south"), Just("west")]),
        now in any_time(),
    ) {
        let start = D1 - time::Duration::days(1) + time::Duration::days(from);
        let range = DateRange { from: start, to: start + time::Duration::days(len) };
        let targets = Targets::default();
        let facts: Vec<Facts> = facts
            .into_iter()
            .enumerate()
            .map(|(i, f)| Facts { wo_id: format!("WO-{i}"), ..f })
            .collect();
        let returns = Returns::new(window_days * DAY_MS, &facts);
        let input = Inputs { facts: &facts, returns: &returns, now, targets: &targets };

        let r = report(&input, &range, region);
        for rate in [
            &r.first_response_24h,
            &r.first_time_fix,
            &r.satisfaction,
            &r.complaint_rate,
            &r.repeat_fault_rate,
        ] {
            check_rate(rate)?;
        }
        prop_assert_eq!(r.volume_by_type.len(), ServiceType::ALL.len());
        prop_assert_eq!(r.volume_by_type.values().sum::<u64>(), r.work_orders);
        prop_assert!(r.completed <= r.work_orders && r.cancelled <= r.work_orders);
        for a in [&r.avg_acceptance_minutes, &r.avg_response_minutes] {
            prop_assert!(a.value.is_none_or(|v| v.is_finite() && v >= 0.0), "{a:?}");
            prop_assert_eq!(a.value.is_none(), a.count == 0);
        }

        prop_assert!(r.repeat_fault_rate.denominator <= r.completed);

        let series = daily_series(&input, &range, region);
        prop_assert_eq!(series.len() as i64, len + 1);
        prop_assert_eq!(series.iter().map(|d| d.figures.volume).sum::<u64>(), r.work_orders);
        for d in &series {
            let d = &d.figures;
            prop_assert_eq!(d.by_type.values().sum::<u64>(), d.volume);
            prop_assert_eq!(d.resolution_rate.denominator, d.completed);
            prop_assert!(d.repeat_fault_rate.denominator <= d.completed);
            for rate in [&d.resolution_rate, &d.satisfaction, &d.first_time_fix, &d.repeat_fault_rate] {
                check_rate(rate)?;
            }
        }
        let days: Vec<&Figures> = series.iter().map(|d| &d.figures).collect();
        for period in Period::ALL {
            let points = trend(&input, &range, period, region);
            prop_assert_eq!(points.iter().map(|p| i64::from(p.days)).sum::<i64>(), len + 1);
            let points: Vec<&Figures> = points.iter().map(|p| &p.figures).collect();
            prop_assert_eq!(totals(&points), totals(&days), "{}", period);
        }
    }
}
