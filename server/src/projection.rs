//! What a work order's relational projection should hold: a pure function of its view, its
//! history, the field times already recorded and the service policy. `db::projection` writes
//! what this computes and decides nothing itself.

use std::collections::HashMap;

use sync_core::workorder::{Event, EventKind, View};

use crate::clock::rules::{self, ClockRow, TimedEvent};
use crate::clock::store::clamp;
use crate::kpi::{self, Facts};
use crate::policy::Policy;

/// An event's times as kept in `event_times`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTime {
    pub event_id: String,
    pub device: String,
    pub device_at: i64,
    pub received_at: i64,
    pub field_at: i64,
}

/// Events a device just uploaded, and the bounds of their field time.
pub struct Arrival<'a> {
    pub device: &'a str,
    pub events: &'a [Event],
    /// When the device last synced successfully, if ever.
    pub previous_contact: Option<i64>,
}

/// A work order's projection, ready to write.
#[derive(Debug, Clone)]
pub struct Projection {
    pub view: View,
    /// Technicians who refused the job since it was last reopened (dispatch skips them).
    pub refused_by: Vec<String>,
    /// Times to record for events that have none yet (replays change nothing).
    pub new_times: Vec<EventTime>,
    pub clocks: Vec<ClockRow>,
    pub facts: Facts,
    /// The worst clock offset among the arrived events (see [`clamp`]); 0 without arrivals.
    pub offset: i64,
    /// Positions technicians reported with the arrived on-site events (dispatch keeps them).
    pub positions: Vec<crate::dispatch::places::Reported>,
}

/// Technicians who declined the job or let its acceptance time out since it was last
/// reopened: dispatch tries someone else.
pub fn refused_by(history: &[Event]) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for e in history {
        match &e.kind {
            EventKind::Declined { .. } => {
                out.insert(e.user.clone());
            }
            EventKind::AcceptTimedOut { technician } => {
                out.insert(technician.clone());
            }
            EventKind::Reopened { .. } => out.clear(),
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// Computes the projection of one work order at service time `now`.
///
/// `times` are the field times already recorded for its events. Arrived events get a field
/// time clamped between the device's previous contact (or the order's creation) and `now`;
/// events with no time at all (made by the server itself, or older than the table) get their
/// own time, never later than `now`.
pub fn compute(
    view: View,
    history: &[Event],
    times: &HashMap<String, i64>,
    arrival: Option<&Arrival<'_>>,
    policy: &Policy,
    now: i64,
) -> Projection {
    let created_at = history.first().map(|e| e.at).unwrap_or(now);
    let mut new_times = Vec::new();
    let mut offset = 0i64;
    if let Some(a) = arrival {
        let lower = a.previous_contact.unwrap_or(created_at).max(created_at);
        for e in a.events.iter().filter(|e| !times.contains_key(&e.id)) {
            let (field_at, off) = clamp(e.at, lower, now);
            if off.unsigned_abs() > offset.unsigned_abs() {
                offset = off;
            }
            new_times.push(EventTime {
                event_id: e.id.clone(),
                device: a.device.to_owned(),
                device_at: e.at,
                received_at: now,
                field_at,
            });
        }
    }
    let mut timed = Vec::with_capacity(history.len());
    for e in history {
        let at = match times.get(&e.id) {
            Some(&at) => at,
            None => match new_times.iter().find(|t| t.event_id == e.id) {
                Some(t) => t.field_at,
                None => {
                    let at = e.at.min(now);
                    new_times.push(EventTime {
                        event_id: e.id.clone(),
                        device: e.device.clone(),
                        device_at: e.at,
                        received_at: now,
                        field_at: at,
                    });
                    at
                }
            },
        };
        timed.push(TimedEvent {
            event: e.clone(),
            at,
        });
    }
    if view.cancellation.is_none() && (view.completion.is_some() || view.signature.is_some()) {
        // The fold kept recorded work over a concurrent cancellation: the clocks run on.
        // (A cancellation undone by a reopen stays: the rules keep its clocks stopped.)
        timed.retain(|t| !matches!(t.event.kind, EventKind::Cancelled { .. }));
    }
    let positions = arrival
        .map(|a| crate::dispatch::places::reported(&view.id, a.events, &new_times))
        .unwrap_or_default();
    let clocks = rules::evaluate(&policy.clock, &view.intake, &timed);
    let facts = kpi::facts(&view, &timed);
    Projection {
        refused_by: refused_by(history),
        view,
        new_times,
        clocks,
        facts,
        offset,
        positions,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sync_core::workorder::{Actor, Intake, Role, WorkOrder};

    const T0: i64 = 1_790_000_000_000;
    const MIN: i64 = 60_000;

    /// A job created at T0, assigned at T0+1min by the office, accepted by the phone with a
    /// device clock `accept_at`.
    fn job(accept_at: i64) -> (View, Vec<Event>) {
        let office = Actor::new("disp-1", Role::Dispatcher, "office-1");
        let mut wo = WorkOrder::create("WO-1", &office, Intake::example(), T0).unwrap();
        wo.assign(&office, "tech-a", None, T0 + MIN).unwrap();
        let tech = Actor::new("tech-a", Role::Technician, "phone-a");
        wo.accept(&tech, accept_at).unwrap();
        (wo.view().unwrap(), wo.history().unwrap())
    }

    #[test]
    fn arrived_events_get_a_field_time_clamped_between_the_last_contact_and_now() {
        let now = T0 + 60 * MIN;
        // The phone's clock says the acceptance happened three hours in the future.
        let (view, history) = job(T0 + 180 * MIN);
        let recorded: HashMap<String, i64> =
            history[..2].iter().map(|e| (e.id.clone(), e.at)).collect();
        let arrived = [history[2].clone()];
        let arrival = Arrival {
            device: "phone-a",
            events: &arrived,
            previous_contact: Some(T0 + 5 * MIN),
        };
        let p = compute(
            view,
            &history,
            &recorded,
            Some(&arrival),
            &Policy::default(),
            now,
        );
        assert_eq!(p.new_times.len(), 1, "only the arrived event is new");
        let t = &p.new_times[0];
        assert_eq!(
            (t.device.as_str(), t.device_at, t.field_at),
            ("phone-a", T0 + 180 * MIN, now)
        );
        assert_eq!(
            p.offset,
            120 * MIN,
            "three hours ahead, two past the receipt"
        );
        let accept = p
            .clocks
            .iter()
            .find(|c| c.rule.id() == "CS-ACCEPT")
            .unwrap();
        assert_eq!(
            accept.stopped_at,
            Some(now),
            "the clock stops at the field time"
        );
    }

    #[test]
    fn events_without_a_recorded_time_get_their_own_never_later_than_now() {
        let now = T0 + 30 * MIN;
        let (view, history) = job(T0 + 2 * MIN);
        let p = compute(
            view,
            &history,
            &HashMap::new(),
            None,
            &Policy::default(),
            now,
        );
        let times: Vec<(String, i64)> = p
            .new_times
            .iter()
            .map(|t| (t.event_id.clone(), t.field_at))
            .collect();
        let want: Vec<(String, i64)> = history
            .iter()
            .map(|e| (e.id.clone(), e.at.min(now)))
            .collect();
        assert_eq!(times, want);
        assert_eq!(p.offset, 0);
        assert_eq!(p.facts.wo_id, "WO-1");
        assert!(p.refused_by.is_empty());
    }
}
