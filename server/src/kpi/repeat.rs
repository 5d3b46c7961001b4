//! The repeat-fault rate: how often a product's fault came back after a completed work order.
//!
//! **Definition.** A completed work order *E* (the earlier one) **came back** when another work
//! order *N* for the same product serial was created after *E*'s completion and at most the
//! repeat window after it (the policy's `kpi.repeat_fault_window`, default 30 days; a return
//! exactly at the end of the window counts):
//!
//! `E.completed_at < N.created_at <= E.completed_at + window`
//!
//! - It is *E*, the earlier work order whose fault came back, that counts in the numerator,
//!   in the period where *E* counts (created in the report's range; completed on the day, week
//!   or month of a trend). *N* is only the evidence; it counts on its own as any work order.
//! - *N* reports a fault: a `repair` or a `complaint`, not cancelled. A planned maintenance or
//!   inspection visit, a new installation, or an intake cancelled as a duplicate is not the
//!   fault coming back. *E* may be of any service type.
//! - Serials are compared trimmed and upper-cased ([`normalize_serial`]); an empty serial never
//!   matches, and a work order without one is left out of the rate altogether (it cannot be
//!   judged).
//! - *N* may be in any region: the product came back, wherever it was reported.
//! - *E* is counted once it came back, or once its window is over at `now` (then as not having
//!   come back). While its window is still open and nothing came back it is not counted yet, so
//!   the figure for a recent period does not read better than it will turn out.
//!
//! [`normalize_serial`]: super::facts::normalize_serial

use std::collections::HashMap;

use sync_core::workorder::ServiceType;

use super::{Facts, DAY_MS};

/// The default repeat window (`kpi.repeat_fault_window`): 30 days, in ms.
pub const DEFAULT_REPEAT_WINDOW_MS: i64 = 30 * DAY_MS;

/// The work orders that may bring a fault back, by serial, and the repeat window.
#[derive(Debug, Clone, Default)]
pub struct Returns {
    window_ms: i64,
    /// serial → (created_at, wo_id) of every work order that reports a fault, by time.
    by_serial: HashMap<String, Vec<(i64, String)>>,
}

impl Returns {
    /// Indexes `candidates` (work orders that may be returns; anything else in the iterator is
    /// ignored) for a window of `window_ms`.
    pub fn new<'a>(window_ms: i64, candidates: impl IntoIterator<Item = &'a Facts>) -> Returns {
        let mut by_serial: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        for f in candidates.into_iter().filter(|f| reports_a_fault(f)) {
            by_serial
                .entry(f.serial.clone())
                .or_default()
                .push((f.created_at, f.wo_id.clone()));
        }
        for v in by_serial.values_mut() {
            v.sort();
        }
        Returns {
            window_ms: window_ms.max(0),
            by_serial,
        }
    }

    /// The repeat window in ms.
    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// Whether `earlier` counts toward the repeat-fault rate, and if so whether its fault came
    /// back: `None` without a serial, before completion, or while its window is open at `now`
    /// with nothing back yet.
    pub fn came_back(&self, earlier: &Facts, now: i64) -> Option<bool> {
        if earlier.serial.is_empty() {
            return None;
        }
        let done = earlier.completed_at?;
        let end = done.saturating_add(self.window_ms);
        let back = self.by_serial.get(&earlier.serial).is_some_and(|v| {
            v.iter()
                .any(|(at, id)| *at > done && *at <= end && *id != earlier.wo_id)
        });
        if back {
            Some(true)
        } else if now > end {
            Some(false)
        } else {
            None
        }
    }
}

/// A new work order that can bring a fault back: a repair or complaint with a serial, not
/// cancelled.
fn reports_a_fault(f: &Facts) -> bool {
    !f.serial.is_empty()
        && !f.cancelled
        && matches!(f.service_type, ServiceType::Repair | ServiceType::Complaint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::testdata::fact;

    const T0: i64 = 1_790_000_000_000;

    fn done(id: &str, serial: &str, completed_at: i64) -> Facts {
        Facts {
            serial: serial.into(),
            completed_at: Some(completed_at),
            fixed: Some(true),
            ..fact(id, "north", ServiceType::Install, completed_at - DAY_MS)
        }
    }

    fn new_order(id: &str, serial: &str, service_type: ServiceType, created_at: i64) -> Facts {
        Facts {
            serial: serial.into(),
            ..fact(id, "south", service_type, created_at)
        }
    }

    fn index(facts: &[Facts]) -> Returns {
        Returns::new(DEFAULT_REPEAT_WINDOW_MS, facts)
    }

    #[test]
    fn a_return_29_days_after_completion_counts_and_31_days_does_not() {
        let e = done("E", "SN-1", T0);
        let later = T0 + 40 * DAY_MS;
        let at29 = index(&[new_order(
            "N",
            "SN-1",
            ServiceType::Repair,
            T0 + 29 * DAY_MS,
        )]);
        assert_eq!(at29.came_back(&e, later), Some(true));
        let at31 = index(&[new_order(
            "N",
            "SN-1",
            ServiceType::Repair,
            T0 + 31 * DAY_MS,
        )]);
        assert_eq!(at31.came_back(&e, later), Some(false));
        // The window's edge: exactly 30 days counts, 1 ms more does not.
        let edge = index(&[new_order(
            "N",
            "SN-1",
            ServiceType::Complaint,
            T0 + 30 * DAY_MS,
        )]);
        assert_eq!(edge.came_back(&e, later), Some(true));
        let past = index(&[new_order(
            "N",
            "SN-1",
            ServiceType::Repair,
            T0 + 30 * DAY_MS + 1,
        )]);
        assert_eq!(past.came_back(&e, later), Some(false));
    }

    #[test]
    fn only_a_new_fault_after_the_completion_counts() {
        let e = done("E", "SN-1", T0);
        let later = T0 + 40 * DAY_MS;
        for (what, n) in [
            (
                "at the completion",
                new_order("N", "SN-1", ServiceType::Repair, T0),
            ),
            (
                "before the completion",
                new_order("N", "SN-1", ServiceType::Repair, T0 - 1),
            ),
            (
                "another serial",
                new_order("N", "SN-2", ServiceType::Repair, T0 + DAY_MS),
            ),
            (
                "a maintenance",
                new_order("N", "SN-1", ServiceType::Maintenance, T0 + DAY_MS),
            ),
            (
                "an inspection",
                new_order("N", "SN-1", ServiceType::Inspection, T0 + DAY_MS),
            ),
            (
                "an install",
                new_order("N", "SN-1", ServiceType::Install, T0 + DAY_MS),
            ),
            (
                "a cancelled repair",
                Facts {
                    cancelled: true,
                    ..new_order("N", "SN-1", ServiceType::Repair, T0 + DAY_MS)
                },
            ),
        ] {
            assert_eq!(index(&[n]).came_back(&e, later), Some(false), "{what}");
        }
        // The work order itself is never its own return (a repair created after its own
        // completion only through skewed clocks).
        let own = Facts {
            service_type: ServiceType::Repair,
            created_at: T0 + DAY_MS,
            ..e.clone()
        };
        assert_eq!(index(&[own]).came_back(&e, later), Some(false));
    }

    #[test]
    fn who_is_counted_and_when() {
        let n = new_order("N", "SN-1", ServiceType::Repair, T0 + 10 * DAY_MS);
        let returns = index(std::slice::from_ref(&n));
        let end = T0 + DEFAULT_REPEAT_WINDOW_MS;
        // No serial: never counted, even with a matching empty-serial repair around.
        let blank = done("E", "", T0);
        let blank_returns = index(&[new_order("N", "", ServiceType::Repair, T0 + DAY_MS)]);
        assert_eq!(blank_returns.came_back(&blank, end + 1), None);
        // Not completed: not counted.
        let open = Facts {
            completed_at: None,
            ..done("E", "SN-1", T0)
        };
        assert_eq!(returns.came_back(&open, end + 1), None);
        // Came back: counted at once, window open or not.
        let e = done("E", "SN-1", T0);
        assert_eq!(returns.came_back(&e, T0 + 10 * DAY_MS), Some(true));
        // Nothing back: not counted while the window is open (its last ms included).
        let quiet = done("Q", "SN-9", T0);
        assert_eq!(returns.came_back(&quiet, end), None);
        assert_eq!(returns.came_back(&quiet, end + 1), Some(false));
    }

    #[test]
    fn serials_are_indexed_as_stored_and_the_window_comes_from_the_policy() {
        // Facts store the normalized serial; the index compares them exactly.
        let e = done("E", "SN-1", T0);
        let n = new_order("N", "SN-1", ServiceType::Repair, T0 + 8 * DAY_MS);
        let week = Returns::new(7 * DAY_MS, std::slice::from_ref(&n));
        assert_eq!(week.window_ms(), 7 * DAY_MS);
        assert_eq!(week.came_back(&e, T0 + 9 * DAY_MS), Some(false));
        assert_eq!(index(&[n]).came_back(&e, T0 + 9 * DAY_MS), Some(true));
        assert_eq!(crate::kpi::facts::normalize_serial("  sn-0001 "), "SN-0001");
        assert_eq!(Returns::new(-5, []).window_ms(), 0);
    }
}
