//! One test per line of docs/CONFLICTS.md: two replicas take concurrent steps offline, then
//! merge. Every pair runs with the device clocks both ways round, so the documented outcome
//! cannot depend on which event the fold happened to order first, and both merge directions
//! must agree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sync_core::workorder::*;

type Step = fn(&mut WorkOrder, &Cast, i64);

struct Case {
    name: &'static str,
    base: Stage,
    /// The device (by cast member) each side works on.
    left: fn(&Cast) -> &Actor,
    right: fn(&Cast) -> &Actor,
    left_step: Step,
    right_step: Step,
    /// Checks the merged view; the flag says whether the left side's device clock was later.
    check: fn(&View, bool),
}

fn run(case: &Case) {
    let c = cast();
    for (tl, tr) in [
        (T0 + 60 * MIN, T0 + 61 * MIN),
        (T0 + 61 * MIN, T0 + 60 * MIN),
    ] {
        let base = job(case.base);
        let mut l = base.fork_for(&(case.left)(&c).device).unwrap();
        let mut r = base.fork_for(&(case.right)(&c).device).unwrap();
        (case.left_step)(&mut l, &c, tl);
        (case.right_step)(&mut r, &c, tr);
        let events_before =
            l.events().unwrap().len() + r.events().unwrap().len() - base.events().unwrap().len();
        let view = converge(&mut l, &mut r);
        assert_eq!(
            view.event_count, events_before,
            "{}: every event of both sides is kept",
            case.name
        );
        (case.check)(&view, tl > tr);
    }
}

fn has(view: &View, kind: ConflictKind) -> bool {
    view.conflicts.iter().any(|c| c.kind == kind && !c.resolved)
}

fn part_line(view: &View) -> String {
    view.parts[0].line.clone()
}

#[test]
fn reassign_vs_offline_accept_by_the_old_technician() {
    run(&Case {
        name: "reassign vs accept",
        base: Stage::AssignedToA,
        left: |c| &c.dispatcher,
        right: |c| &c.a_phone,
        left_step: |wo, c, t| {
            wo.assign(&c.dispatcher, "tech-b", Some("A is sick"), t)
                .unwrap();
        },
        right_step: |wo, c, t| {
            wo.accept(&c.a_phone, t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.assignee.as_deref(), Some("tech-b"));
            assert!(
                !v.accepted,
                "B has not accepted yet; A's acceptance does not count for B"
            );
            assert_eq!(v.status, Status::Assigned);
            assert!(has(v, ConflictKind::ReassignedWhileWorking));
        },
    });
}

#[test]
fn reassign_vs_offline_complete_by_the_old_technician() {
    run(&Case {
        name: "reassign vs complete",
        base: Stage::WorkingWithPart,
        left: |c| &c.dispatcher,
        right: |c| &c.a_phone,
        left_step: |wo, c, t| {
            wo.assign(&c.dispatcher, "tech-b", Some("no news from A"), t)
                .unwrap();
        },
        right_step: |wo, c, t| {
            wo.add_part(&c.a_phone, PartInput::new("HOSE-2", 1, 900), t)
                .unwrap();
            wo.complete(&c.a_phone, true, t + 1).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.status, Status::Completed, "work done in the field stands");
            let done = v.completion.as_ref().unwrap();
            assert!(done.fixed);
            assert_eq!(done.by.user, "tech-a");
            assert_eq!(v.assignee.as_deref(), Some("tech-b"));
            assert_eq!(v.active_parts().count(), 2, "A's offline part line is kept");
            let c = v
                .conflicts
                .iter()
                .find(|c| c.kind == ConflictKind::ReassignedWhileWorking)
                .unwrap();
            assert_eq!(c.events.len(), 3, "the reassignment and both offline steps");
        },
    });
}

#[test]
fn cancel_vs_sign() {
    run(&Case {
        name: "cancel vs sign",
        base: Stage::WorkingWithPart,
        left: |c| &c.dispatcher,
        right: |c| &c.a_phone,
        left_step: |wo, c, t| {
            wo.cancel(&c.dispatcher, "customer called to cancel", t)
                .unwrap();
        },
        right_step: |wo, c, t| {
            wo.sign(&c.a_phone, "Ada Customer", &blob(1), t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.status, Status::Signed);
            assert!(v.cancellation.is_none());
            assert!(v.signature.is_some());
            assert!(has(v, ConflictKind::CancelVsWork));
        },
    });
}

#[test]
fn cancel_vs_complete() {
    run(&Case {
        name: "cancel vs complete",
        base: Stage::WorkingWithPart,
        left: |c| &c.dispatcher,
        right: |c| &c.a_phone,
        left_step: |wo, c, t| {
            wo.cancel(&c.dispatcher, "duplicate request", t).unwrap();
        },
        right_step: |wo, c, t| {
            wo.complete(&c.a_phone, true, t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.status, Status::Completed);
            assert!(has(v, ConflictKind::CancelVsWork));
        },
    });
}

#[test]
fn decline_vs_accept_from_two_devices_of_one_technician() {
    run(&Case {
        name: "decline vs accept",
        base: Stage::AssignedToA,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            wo.accept(&c.a_phone, t).unwrap();
        },
        right_step: |wo, c, t| {
            wo.decline(&c.a_tablet, "van broken", t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.assignee.as_deref(), Some("tech-a"));
            assert!(v.accepted);
            assert_eq!(v.status, Status::Accepted);
            assert!(has(v, ConflictKind::DeclineVsAccept));
        },
    });
}

#[test]
fn acceptance_timeout_vs_offline_accept() {
    run(&Case {
        name: "timeout vs accept",
        base: Stage::AssignedToA,
        left: |c| &c.system,
        right: |c| &c.a_phone,
        left_step: |wo, c, t| {
            wo.accept_timed_out(&c.system, t).unwrap();
        },
        right_step: |wo, c, t| {
            wo.accept(&c.a_phone, t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.assignee.as_deref(), Some("tech-a"));
            assert!(v.accepted);
            assert!(has(v, ConflictKind::TimeoutVsAccept));
        },
    });
}

#[test]
fn two_part_lines_added_at_once() {
    run(&Case {
        name: "two part lines",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            wo.add_part(&c.a_phone, PartInput::new("SEAL-1", 2, 300), t)
                .unwrap();
        },
        right_step: |wo, c, t| {
            wo.add_part(&c.a_tablet, PartInput::new("BELT-9", 1, 1_500), t)
                .unwrap();
        },
        check: |v, _| {
            let skus: Vec<&str> = v.active_parts().map(|p| p.sku.as_str()).collect();
            assert_eq!(skus.len(), 3);
            assert!(skus.contains(&"SEAL-1") && skus.contains(&"BELT-9"));
            assert!(
                v.conflicts.is_empty(),
                "different parts: nothing to resolve"
            );
        },
    });
}

#[test]
fn the_same_part_added_on_two_devices_is_kept_twice_and_flagged() {
    run(&Case {
        name: "same sku twice",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            wo.add_part(&c.a_phone, PartInput::new("SEAL-1", 1, 300), t)
                .unwrap();
        },
        right_step: |wo, c, t| {
            wo.add_part(&c.a_tablet, PartInput::new("SEAL-1", 1, 300), t)
                .unwrap();
        },
        check: |v, _| {
            assert_eq!(v.active_parts().filter(|p| p.sku == "SEAL-1").count(), 2);
            assert!(has(v, ConflictKind::PossibleDuplicatePart));
        },
    });
}

#[test]
fn the_same_part_line_changed_on_two_devices() {
    run(&Case {
        name: "same line, same field",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            let line = part_line(&wo.view().unwrap());
            let patch = PartPatch {
                qty: Some(2),
                ..Default::default()
            };
            wo.change_part(&c.a_phone, &line, patch, t).unwrap();
        },
        right_step: |wo, c, t| {
            let line = part_line(&wo.view().unwrap());
            let patch = PartPatch {
                qty: Some(3),
                ..Default::default()
            };
            wo.change_part(&c.a_tablet, &line, patch, t).unwrap();
        },
        check: |v, left_later| {
            // The later device time wins; both values stay in the history.
            assert_eq!(v.parts[0].qty, if left_later { 2 } else { 3 });
            assert!(has(v, ConflictKind::PartLineChanged));
        },
    });
}

#[test]
fn different_fields_of_one_part_line_changed_on_two_devices_both_apply() {
    run(&Case {
        name: "same line, different fields",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            let line = part_line(&wo.view().unwrap());
            let patch = PartPatch {
                qty: Some(2),
                ..Default::default()
            };
            wo.change_part(&c.a_phone, &line, patch, t).unwrap();
        },
        right_step: |wo, c, t| {
            let line = part_line(&wo.view().unwrap());
            let patch = PartPatch {
                serial_new: Some("SN-NEW-1".into()),
                ..Default::default()
            };
            wo.change_part(&c.a_tablet, &line, patch, t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.parts[0].qty, 2);
            assert_eq!(v.parts[0].serial_new, "SN-NEW-1");
            assert!(v.conflicts.is_empty());
        },
    });
}

#[test]
fn a_part_line_changed_on_one_device_and_removed_on_another() {
    run(&Case {
        name: "change vs remove",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            let line = part_line(&wo.view().unwrap());
            let patch = PartPatch {
                qty: Some(4),
                ..Default::default()
            };
            wo.change_part(&c.a_phone, &line, patch, t).unwrap();
        },
        right_step: |wo, c, t| {
            let line = part_line(&wo.view().unwrap());
            wo.remove_part(&c.a_tablet, &line, t).unwrap();
        },
        check: |v, _| {
            assert!(v.parts[0].removed.is_some());
            assert_eq!(
                v.parts[0].qty, 4,
                "the change is recorded on the removed line"
            );
            assert!(has(v, ConflictKind::PartChangedWhileRemoved));
        },
    });
}

#[test]
fn two_edits_of_the_same_note_interleave() {
    let c = cast();
    for (tl, tr) in [
        (T0 + 60 * MIN, T0 + 61 * MIN),
        (T0 + 61 * MIN, T0 + 60 * MIN),
    ] {
        let mut base = job(Stage::AcceptedByA);
        base.edit_notes(&c.dispatcher, "Ring twice.", T0 + 3 * MIN)
            .unwrap();
        let mut l = base.fork_for(&c.dispatcher.device).unwrap();
        let mut r = base.fork_for(&c.a_phone.device).unwrap();
        l.edit_notes(&c.dispatcher, "Ring twice. Dog in garden.", tl)
            .unwrap();
        r.edit_notes(&c.a_phone, "Ring twice. Bring ladder.", tr)
            .unwrap();
        let v = converge(&mut l, &mut r);
        assert!(v.notes.starts_with("Ring twice. "));
        assert!(v.notes.contains("Dog in garden."), "{}", v.notes);
        assert!(v.notes.contains("Bring ladder."), "{}", v.notes);
        assert!(v.conflicts.is_empty(), "text merges; nothing to resolve");
    }
}

#[test]
fn complete_on_two_devices_with_different_outcomes() {
    run(&Case {
        name: "complete twice",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            wo.complete(&c.a_phone, true, t).unwrap();
        },
        right_step: |wo, c, t| {
            wo.complete(&c.a_tablet, false, t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.status, Status::Completed);
            assert!(!v.completion.as_ref().unwrap().fixed, "not fixed wins");
            assert!(has(v, ConflictKind::CompletedTwice));
        },
    });
}

#[test]
fn complete_on_two_devices_with_the_same_outcome_is_no_conflict() {
    run(&Case {
        name: "complete twice alike",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            wo.complete(&c.a_phone, true, t).unwrap();
        },
        right_step: |wo, c, t| {
            wo.complete(&c.a_tablet, true, t).unwrap();
        },
        check: |v, _| {
            assert_eq!(v.status, Status::Completed);
            assert!(v.completion.as_ref().unwrap().fixed);
            assert!(v.conflicts.is_empty());
        },
    });
}

#[test]
fn appointment_changed_by_dispatcher_and_technician() {
    run(&Case {
        name: "appointment",
        base: Stage::AcceptedByA,
        left: |c| &c.dispatcher,
        right: |c| &c.a_phone,
        left_step: |wo, c, t| {
            wo.set_appointment(
                &c.dispatcher,
                T0 + 24 * 60 * MIN,
                T0 + 26 * 60 * MIN,
                None,
                t,
            )
            .unwrap();
        },
        right_step: |wo, c, t| {
            wo.set_appointment(&c.a_phone, T0 + 48 * 60 * MIN, T0 + 50 * 60 * MIN, None, t)
                .unwrap();
        },
        check: |v, _| {
            let a = v.appointment.as_ref().unwrap();
            assert_eq!(a.start, T0 + 48 * 60 * MIN, "the technician's booking wins");
            assert_eq!(a.set.role, Role::Technician);
            assert_eq!(v.status, Status::Scheduled);
            assert!(has(v, ConflictKind::AppointmentChanged));
        },
    });
}

#[test]
fn two_dispatchers_reassign_at_once() {
    let c = cast();
    for (t1, t2) in [
        (T0 + 60 * MIN, T0 + 61 * MIN),
        (T0 + 61 * MIN, T0 + 60 * MIN),
    ] {
        let base = job(Stage::AssignedToA);
        let mut l = base.fork_for(&c.dispatcher.device).unwrap();
        let mut r = base.fork_for(&c.dispatcher2.device).unwrap();
        l.assign(&c.dispatcher, "tech-b", Some("closer"), t1)
            .unwrap();
        r.assign(&c.dispatcher2, "tech-c", Some("has the skill"), t2)
            .unwrap();
        let v = converge(&mut l, &mut r);
        let later = if t1 > t2 { "tech-b" } else { "tech-c" };
        assert_eq!(v.assignee.as_deref(), Some(later), "later device time wins");
        assert!(has(&v, ConflictKind::ConcurrentAssignment));
    }
}

#[test]
fn a_resolved_conflict_is_kept_but_no_longer_open() {
    let c = cast();
    let base = job(Stage::AssignedToA);
    let mut l = base.fork_for(&c.a_phone.device).unwrap();
    let mut r = base.fork_for(&c.a_tablet.device).unwrap();
    l.accept(&c.a_phone, T0 + 10 * MIN).unwrap();
    r.decline(&c.a_tablet, "busy", T0 + 11 * MIN).unwrap();
    let v = converge(&mut l, &mut r);
    let id = v.open_conflicts().next().unwrap().id.clone();
    l.resolve_conflict(&c.dispatcher, &id, "called A: A takes it", T0 + 20 * MIN)
        .unwrap();
    let v = l.view().unwrap();
    assert_eq!(v.open_conflicts().count(), 0);
    assert!(v.conflicts.iter().any(|c| c.id == id && c.resolved));
    assert!(matches!(
        l.resolve_conflict(&c.dispatcher, &id, "again", T0 + 21 * MIN),
        Err(WorkOrderError::UnknownConflict(_))
    ));
}

#[test]
fn a_diagnosis_recorded_on_two_devices_at_once() {
    run(&Case {
        name: "diagnosis twice",
        base: Stage::AcceptedByA,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            wo.diagnose(&c.a_phone, "worn bearing", &["replace drum bearing"], t)
                .unwrap();
        },
        right_step: |wo, c, t| {
            wo.diagnose(&c.a_tablet, "loose belt", &["tighten belt"], t)
                .unwrap();
        },
        check: |v, left_later| {
            let cause = &v.diagnosis.as_ref().unwrap().cause;
            assert_eq!(
                cause,
                if left_later {
                    "worn bearing"
                } else {
                    "loose belt"
                }
            );
            assert!(has(v, ConflictKind::ConcurrentRecord));
        },
    });
}

#[test]
fn a_failed_and_a_passed_test_recorded_at_once_keep_the_failure() {
    run(&Case {
        name: "test twice",
        base: Stage::WorkingWithPart,
        left: |c| &c.a_phone,
        right: |c| &c.a_tablet,
        left_step: |wo, c, t| {
            wo.record_test(&c.a_phone, true, "ok", t).unwrap();
        },
        right_step: |wo, c, t| {
            wo.record_test(&c.a_tablet, false, "still leaks", t)
                .unwrap();
        },
        check: |v, _| {
            assert!(!v.test.as_ref().unwrap().passed);
            assert!(has(v, ConflictKind::ConcurrentRecord));
        },
    });
}
