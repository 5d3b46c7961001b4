//! [`Facts`]: what the KPIs need of one work order, derived from its view and timed history.

use serde::{Deserialize, Serialize};
use sync_core::workorder::{EventKind, Priority, ServiceType, Status, View};

use super::TimedEvent;

/// What the KPIs need of one work order; derived from its view and timed history, stored as a
/// projection row. Times are field times in ms since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub wo_id: String,
    pub region: String,
    /// The product's serial number, trimmed and upper-cased ([`normalize_serial`]); empty when
    /// intake recorded none. Absent from facts stored before it existed: read as empty.
    #[serde(default)]
    pub serial: String,
    pub service_type: ServiceType,
    pub priority: Priority,
    /// Time of the `Created` event.
    pub created_at: i64,
    /// Time of the first `Assigned` event.
    pub first_assigned_at: Option<i64>,
    /// How long the first acceptance took: its time minus the time of the assignment it
    /// answered (the latest `Assigned` to the same technician before it in history), at least 0.
    pub accept_ms: Option<i64>,
    /// Time of the first contact with the customer: the first `AppointmentSet`, `EnRoute` or
    /// `OnSite` in history.
    pub first_response_at: Option<i64>,
    /// Time of the completion the view holds.
    pub completed_at: Option<i64>,
    /// Whether the completion the view holds fixed the problem.
    pub fixed: Option<bool>,
    /// Number of `OnSite` events.
    pub visits: u32,
    /// Whether the work order was ever reopened.
    pub reopened: bool,
    /// Completed, fixed, at most one visit and never reopened.
    pub first_time_fix: bool,
    /// Satisfaction score (1 to 5) of the follow-up the view holds.
    pub score: Option<u8>,
    /// Time of the follow-up the view holds.
    pub followed_up_at: Option<i64>,
    /// The view's status is `Cancelled`.
    pub cancelled: bool,
}

/// Derives the [`Facts`] of one work order from its view and its history in causal order.
///
/// Times are the [`TimedEvent::at`] field times, never `Event::at`. Where view and history
/// disagree the view decides whether (it applied the conflict rules), the history gives when:
/// the completion and the follow-up are looked up in the history by their event id. "First"
/// means first in causal order, since field times need not be monotonic. A history without a
/// `Created` event takes the time of its first event (0 when empty).
pub fn facts(view: &View, history: &[TimedEvent]) -> Facts {
    let time_of = |id: &str| history.iter().find(|t| t.event.id == id).map(|t| t.at);
    let first_at =
        |pred: fn(&EventKind) -> bool| history.iter().find(|t| pred(&t.event.kind)).map(|t| t.at);

    let created_at = first_at(|k| matches!(k, EventKind::Created))
        .or_else(|| history.first().map(|t| t.at))
        .unwrap_or(0);
    let visits = history
        .iter()
        .filter(|t| matches!(t.event.kind, EventKind::OnSite))
        .count();
    let visits = u32::try_from(visits).unwrap_or(u32::MAX);
    let reopened = history
        .iter()
        .any(|t| matches!(t.event.kind, EventKind::Reopened { .. }));
    let completed_at = view.completion.as_ref().and_then(|c| time_of(&c.by.event));
    let fixed = view.completion.as_ref().map(|c| c.fixed);

    Facts {
        wo_id: view.id.clone(),
        region: view.intake.region.clone(),
        serial: normalize_serial(&view.intake.product.serial),
        service_type: view.intake.service_type,
        priority: view.intake.priority,
        created_at,
        first_assigned_at: first_at(|k| matches!(k, EventKind::Assigned { .. })),
        accept_ms: first_acceptance_ms(history),
        first_response_at: first_at(|k| {
            matches!(
                k,
                EventKind::AppointmentSet { .. } | EventKind::EnRoute | EventKind::OnSite
            )
        }),
        completed_at,
        fixed,
        visits,
        reopened,
        first_time_fix: completed_at.is_some() && fixed == Some(true) && visits <= 1 && !reopened,
        score: view.follow_up.as_ref().map(|f| f.score),
        followed_up_at: view.follow_up.as_ref().and_then(|f| time_of(&f.by.event)),
        cancelled: view.status == Status::Cancelled,
    }
}

/// A serial as the repeat-fault rate compares it: without surrounding white space, ASCII
/// letters upper-cased (`" sn-0001 "` and `"SN-0001"` are one product).
pub fn normalize_serial(serial: &str) -> String {
    serial.trim().to_ascii_uppercase()
}

/// The first acceptance minus the latest assignment to the same technician before it; `None`
/// when nothing was accepted or the first acceptance answers no assignment.
fn first_acceptance_ms(history: &[TimedEvent]) -> Option<i64> {
    let pos = history
        .iter()
        .position(|t| matches!(t.event.kind, EventKind::Accepted))?;
    let (before, rest) = history.split_at(pos);
    let accepted = rest.first()?;
    let assigned = before.iter().rev().find(|t| {
        matches!(&t.event.kind, EventKind::Assigned { technician, .. }
            if *technician == accepted.event.user)
    })?;
    Some(accepted.at.saturating_sub(assigned.at).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::workorder::{Actor, Intake, Role, WorkOrder};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    const T0: i64 = 1_790_000_000_000;

    fn agent() -> Actor {
        Actor::new("agent-1", Role::Agent, "office-1")
    }
    fn dispatcher() -> Actor {
        Actor::new("disp-1", Role::Dispatcher, "office-2")
    }
    fn tech(user: &str) -> Actor {
        Actor::new(user, Role::Technician, format!("phone-{user}"))
    }

    /// The history with each event's field time set to its device time plus `shift`.
    fn timed(wo: &WorkOrder, shift: i64) -> Vec<TimedEvent> {
        wo.history()
            .unwrap()
            .into_iter()
            .map(|event| TimedEvent {
                at: event.at + shift,
                event,
            })
            .collect()
    }

    fn facts_of(wo: &WorkOrder) -> Facts {
        facts(&wo.view().unwrap(), &timed(wo, 0))
    }

    fn created(id: &str) -> WorkOrder {
        WorkOrder::create(id, &agent(), Intake::example(), T0).unwrap()
    }

    /// Assigned to and accepted by tech-a, then one visit that ends completed.
    fn one_visit(fixed: bool) -> WorkOrder {
        let t = tech("tech-a");
        let mut wo = created("WO-V");
        wo.assign(&dispatcher(), "tech-a", None, T0 + MIN).unwrap();
        wo.accept(&t, T0 + 4 * MIN).unwrap();
        wo.set_appointment(&t, T0 + 2 * HOUR, T0 + 3 * HOUR, None, T0 + 10 * MIN)
            .unwrap();
        wo.en_route(&t, T0 + 100 * MIN).unwrap();
        wo.on_site(&t, T0 + 2 * HOUR).unwrap();
        wo.diagnose(&t, "pump blocked", &["clean pump"], T0 + 2 * HOUR + 5 * MIN)
            .unwrap();
        wo.start_work(&t, T0 + 2 * HOUR + 10 * MIN).unwrap();
        wo.record_test(&t, fixed, "drain test", T0 + 2 * HOUR + 40 * MIN)
            .unwrap();
        wo.complete(&t, fixed, T0 + 2 * HOUR + 45 * MIN).unwrap();
        wo
    }

    #[test]
    fn acceptance_after_a_reassignment_answers_the_second_assignment() {
        let d = dispatcher();
        let mut wo = created("WO-1");
        wo.assign(&d, "tech-a", None, T0 + MIN).unwrap();
        wo.assign(&d, "tech-b", Some("tech-a is ill"), T0 + 5 * MIN)
            .unwrap();
        wo.accept(&tech("tech-b"), T0 + 12 * MIN).unwrap();
        wo.set_appointment(
            &tech("tech-b"),
            T0 + HOUR,
            T0 + 2 * HOUR,
            None,
            T0 + 20 * MIN,
        )
        .unwrap();

        assert_eq!(
            facts_of(&wo),
            Facts {
                wo_id: "WO-1".into(),
                region: "berlin".into(),
                serial: "SN-0001".into(),
                service_type: ServiceType::Repair,
                priority: Priority::Normal,
                created_at: T0,
                first_assigned_at: Some(T0 + MIN),
                accept_ms: Some(7 * MIN), // 12 min - 5 min, not 12 min - 1 min
                first_response_at: Some(T0 + 20 * MIN),
                completed_at: None,
                fixed: None,
                visits: 0,
                reopened: false,
                first_time_fix: false,
                score: None,
                followed_up_at: None,
                cancelled: false,
            }
        );
    }

    #[test]
    fn acceptance_answers_the_latest_assignment_to_the_same_technician() {
        let d = dispatcher();
        let mut wo = created("WO-2");
        wo.assign(&d, "tech-a", None, T0 + MIN).unwrap();
        wo.assign(&d, "tech-b", Some("closer"), T0 + 5 * MIN)
            .unwrap();
        wo.assign(&d, "tech-a", Some("tech-b has no van"), T0 + 8 * MIN)
            .unwrap();
        wo.accept(&tech("tech-a"), T0 + 10 * MIN).unwrap();
        let f = facts_of(&wo);
        assert_eq!(f.first_assigned_at, Some(T0 + MIN));
        assert_eq!(f.accept_ms, Some(2 * MIN));
        assert_eq!(f.first_response_at, None);
    }

    #[test]
    fn a_second_visit_after_a_reopen_is_not_a_first_time_fix() {
        let t = tech("tech-a");
        let mut wo = one_visit(true);
        assert!(facts_of(&wo).first_time_fix, "one visit, fixed");
        wo.follow_up(&agent(), 2, "still leaks", "revisit", T0 + 26 * HOUR)
            .unwrap();
        wo.reopen(&dispatcher(), "leak persists", T0 + 27 * HOUR)
            .unwrap();
        wo.accept(&t, T0 + 28 * HOUR).unwrap();
        wo.on_site(&t, T0 + 30 * HOUR).unwrap();
        wo.start_work(&t, T0 + 30 * HOUR + 5 * MIN).unwrap();
        wo.complete(&t, true, T0 + 31 * HOUR).unwrap();
        wo.follow_up(&agent(), 5, "dry now", "", T0 + 50 * HOUR)
            .unwrap();

        let f = facts_of(&wo);
        assert_eq!(f.visits, 2);
        assert!(f.reopened);
        assert_eq!(f.fixed, Some(true));
        assert!(!f.first_time_fix);
        // The view holds the second completion and follow-up; their times come from history.
        assert_eq!(f.completed_at, Some(T0 + 31 * HOUR));
        assert_eq!((f.score, f.followed_up_at), (Some(5), Some(T0 + 50 * HOUR)));
        // Firsts stay the firsts.
        assert_eq!(f.accept_ms, Some(3 * MIN));
        assert_eq!(f.first_response_at, Some(T0 + 10 * MIN));
    }

    #[test]
    fn a_cancelled_work_order() {
        let mut wo = created("WO-3");
        wo.assign(&dispatcher(), "tech-a", None, T0 + MIN).unwrap();
        wo.cancel(&agent(), "customer fixed it", T0 + 3 * MIN)
            .unwrap();
        let f = facts_of(&wo);
        assert!(f.cancelled);
        assert_eq!(f.first_assigned_at, Some(T0 + MIN));
        assert_eq!((f.accept_ms, f.first_response_at), (None, None));
        assert_eq!((f.completed_at, f.fixed, f.visits), (None, None, 0));
        assert!(!f.first_time_fix);
    }

    #[test]
    fn a_completion_that_did_not_fix_takes_its_time_from_the_field_clock() {
        let wo = one_visit(false);
        // Field times 7 minutes after the device times: every time is the field time.
        let f = facts(&wo.view().unwrap(), &timed(&wo, 7 * MIN));
        assert_eq!(f.created_at, T0 + 7 * MIN);
        assert_eq!(f.first_response_at, Some(T0 + 17 * MIN));
        assert_eq!(f.completed_at, Some(T0 + 2 * HOUR + 52 * MIN));
        assert_eq!(f.fixed, Some(false));
        assert_eq!((f.visits, f.reopened, f.first_time_fix), (1, false, false));
        assert_eq!(f.accept_ms, Some(3 * MIN));
        assert!(!f.cancelled);
    }

    #[test]
    fn a_negative_acceptance_time_from_skewed_clocks_counts_as_zero() {
        let d = dispatcher();
        let mut wo = created("WO-4");
        wo.assign(&d, "tech-a", None, T0 + 10 * MIN).unwrap();
        // The phone's clock runs 5 minutes behind.
        wo.accept(&tech("tech-a"), T0 + 5 * MIN).unwrap();
        assert_eq!(facts_of(&wo).accept_ms, Some(0));
    }
}
