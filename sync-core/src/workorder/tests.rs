//! Unit tests of the operations and the fold on one replica. Concurrent pairs are in
//! `sync-core/tests/conflicts.rs`; convergence under random schedules in `tests/convergence.rs`.

use super::*;

const T0: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;

fn agent() -> Actor {
    Actor::new("agent-1", Role::Agent, "office-1")
}
fn dispatcher() -> Actor {
    Actor::new("disp-1", Role::Dispatcher, "office-2")
}
fn tech() -> Actor {
    Actor::new("tech-a", Role::Technician, "phone-a")
}
fn blob(n: u8) -> String {
    crate::ids::BlobHash::of(&[n]).to_string()
}

fn created() -> WorkOrder {
    WorkOrder::create("WO-7", &agent(), Intake::example(), T0).unwrap()
}

fn accepted() -> WorkOrder {
    let mut wo = created();
    wo.assign(&dispatcher(), "tech-a", None, T0 + MIN).unwrap();
    wo.accept(&tech(), T0 + 2 * MIN).unwrap();
    wo
}

#[test]
fn a_visit_walks_the_whole_life_cycle() {
    let (d, t) = (dispatcher(), tech());
    let mut wo = created();
    let status = |wo: &WorkOrder| wo.view().unwrap().status;
    assert_eq!(status(&wo), Status::PendingDispatch);
    wo.assign(&d, "tech-a", None, T0 + MIN).unwrap();
    assert_eq!(status(&wo), Status::Assigned);
    wo.accept(&t, T0 + 2 * MIN).unwrap();
    assert_eq!(status(&wo), Status::Accepted);
    wo.set_appointment(&t, T0 + 60 * MIN, T0 + 120 * MIN, None, T0 + 3 * MIN)
        .unwrap();
    assert_eq!(status(&wo), Status::Scheduled);
    wo.en_route(&t, T0 + 50 * MIN).unwrap();
    assert_eq!(status(&wo), Status::EnRoute);
    wo.on_site(&t, T0 + 65 * MIN).unwrap();
    assert_eq!(status(&wo), Status::OnSite);
    wo.add_photo(
        &t,
        &blob(1),
        PhotoKind::Before,
        "drain",
        T0 + 66 * MIN,
        T0 + 66 * MIN,
    )
    .unwrap();
    wo.diagnose(
        &t,
        "pump blocked by a coin",
        &["clean pump", "replace pump"],
        T0 + 70 * MIN,
    )
    .unwrap();
    assert_eq!(status(&wo), Status::Diagnosed);
    let items = [QuoteItem {
        description: "pump".into(),
        price_cents: 4_900,
    }];
    wo.quote(&t, &items, T0 + 71 * MIN).unwrap();
    assert_eq!(status(&wo), Status::Quoted);
    wo.consent(&t, "Ada Customer", T0 + 72 * MIN).unwrap();
    assert_eq!(status(&wo), Status::ConsentGiven);
    wo.start_work(&t, T0 + 73 * MIN).unwrap();
    assert_eq!(status(&wo), Status::InProgress);
    let line = wo
        .add_part(&t, PartInput::new("PUMP-7", 1, 4_900), T0 + 80 * MIN)
        .unwrap();
    wo.add_photo(
        &t,
        &blob(2),
        PhotoKind::After,
        "new pump",
        T0 + 85 * MIN,
        T0 + 85 * MIN,
    )
    .unwrap();
    wo.edit_notes(
        &t,
        "Coin in pump; told customer to check pockets.",
        T0 + 86 * MIN,
    )
    .unwrap();
    wo.record_test(&t, true, "drains in 40 s", T0 + 87 * MIN)
        .unwrap();
    wo.sign(&t, "Ada Customer", &blob(9), T0 + 88 * MIN)
        .unwrap();
    assert_eq!(status(&wo), Status::Signed);
    wo.complete(&t, true, T0 + 89 * MIN).unwrap();
    assert_eq!(status(&wo), Status::Completed);
    assert_eq!(status(&wo).group(), StatusGroup::PendingFollowUp);
    wo.follow_up(&agent(), 5, "very friendly", "", T0 + 2 * 24 * 60 * MIN)
        .unwrap();
    assert_eq!(status(&wo), Status::Closed);

    let v = wo.view().unwrap();
    assert_eq!(v.parts.len(), 1);
    assert_eq!(v.parts[0].line, line);
    assert_eq!(v.photos.len(), 2);
    assert_eq!(v.quote.as_ref().unwrap().total_cents, 4_900);
    assert!(v.completion.as_ref().unwrap().fixed);
    assert_eq!(v.notes, "Coin in pump; told customer to check pockets.");
    assert!(v.conflicts.is_empty());
    assert_eq!(v.event_count, 18);
    let report = wo.verify_signature().unwrap().unwrap();
    assert!(report.intact(), "{report:?}");

    // The history is append-only and in causal order.
    let history = wo.history().unwrap();
    assert_eq!(history.first().unwrap().kind, EventKind::Created);
    assert_eq!(history.last().unwrap().kind.name(), "followed_up");

    // Saved and loaded, it is the same work order.
    let again = WorkOrder::load(&wo.save(), "phone-a").unwrap();
    assert_eq!(again.view().unwrap(), v);
}

#[test]
fn a_low_follow_up_score_escalates_and_a_reopen_brings_the_job_back() {
    let t = tech();
    let mut wo = accepted();
    wo.diagnose(&t, "loose belt", &["tighten"], T0 + 3 * MIN)
        .unwrap();
    wo.start_work(&t, T0 + 4 * MIN).unwrap();
    wo.complete(&t, false, T0 + 5 * MIN).unwrap();
    wo.follow_up(
        &agent(),
        2,
        "still noisy",
        "send senior technician",
        T0 + 60 * MIN,
    )
    .unwrap();
    assert_eq!(wo.view().unwrap().status, Status::Escalated);
    wo.reopen(&dispatcher(), "noise persists", T0 + 61 * MIN)
        .unwrap();
    let v = wo.view().unwrap();
    assert_eq!(
        v.status,
        Status::Assigned,
        "back with A, awaiting a new acceptance"
    );
    assert!(v.completion.is_none() && v.follow_up.is_none());
    assert_eq!(
        v.diagnosis.as_ref().unwrap().cause,
        "loose belt",
        "recorded work is kept"
    );
}

#[test]
fn chargeable_work_needs_consent_to_the_current_quote() {
    let t = tech();
    let mut wo = accepted();
    wo.diagnose(&t, "broken door seal", &["replace seal"], T0 + 3 * MIN)
        .unwrap();
    let items = |cents| {
        [QuoteItem {
            description: "seal".into(),
            price_cents: cents,
        }]
    };
    wo.quote(&t, &items(2_500), T0 + 4 * MIN).unwrap();
    let err = wo.start_work(&t, T0 + 5 * MIN).unwrap_err();
    assert!(matches!(err, WorkOrderError::MissingStep { .. }), "{err}");
    wo.consent(&t, "Ada Customer", T0 + 6 * MIN).unwrap();
    // A new quote after the consent needs a new consent.
    wo.quote(&t, &items(3_100), T0 + 7 * MIN).unwrap();
    assert!(wo.start_work(&t, T0 + 8 * MIN).is_err());
    wo.consent(&t, "Ada Customer", T0 + 9 * MIN).unwrap();
    wo.start_work(&t, T0 + 10 * MIN).unwrap();
    assert_eq!(wo.view().unwrap().status, Status::InProgress);
}

#[test]
fn free_work_needs_no_consent() {
    let t = tech();
    let mut wo = accepted();
    wo.diagnose(&t, "firmware", &["update"], T0 + 3 * MIN)
        .unwrap();
    wo.quote(&t, &[], T0 + 4 * MIN).unwrap();
    wo.start_work(&t, T0 + 5 * MIN).unwrap();
}

#[test]
fn operations_check_role_assignee_and_state_and_write_nothing_when_refused() {
    let (d, t) = (dispatcher(), tech());
    let other = Actor::new("tech-b", Role::Technician, "phone-b");
    let mut wo = created();
    let heads = wo.heads();
    let refused = [
        wo.accept(&t, T0).unwrap_err(),
        wo.assign(&t, "tech-a", None, T0).unwrap_err(),
        wo.complete(&t, true, T0).unwrap_err(),
        wo.follow_up(&agent(), 5, "", "", T0).unwrap_err(),
        wo.reopen(&d, "why", T0).unwrap_err(),
        wo.unassign(&d, "nobody", T0).unwrap_err(),
        wo.assign(&d, "bad id", None, T0).unwrap_err(),
        wo.follow_up(&agent(), 6, "", "", T0).unwrap_err(),
    ];
    assert_eq!(wo.heads(), heads, "refused steps leave no trace");
    assert!(matches!(refused[0], WorkOrderError::NotAssignee { .. }));
    assert!(matches!(refused[1], WorkOrderError::RoleNotAllowed { .. }));
    assert!(matches!(refused[3], WorkOrderError::WrongStatus { .. }));
    assert!(matches!(
        refused[6],
        WorkOrderError::Invalid {
            field: "technician",
            ..
        }
    ));
    assert!(matches!(
        refused[7],
        WorkOrderError::Invalid { field: "score", .. }
    ));

    wo.assign(&d, "tech-a", None, T0 + MIN).unwrap();
    assert!(matches!(
        wo.assign(&d, "tech-b", None, T0 + MIN),
        Err(WorkOrderError::Invalid {
            field: "reason",
            ..
        })
    ));
    assert!(matches!(
        wo.accept(&other, T0),
        Err(WorkOrderError::NotAssignee { .. })
    ));
    assert!(matches!(
        wo.on_site(&t, T0),
        Err(WorkOrderError::MissingStep { .. })
    ));
    wo.accept(&t, T0 + 2 * MIN).unwrap();
    assert!(
        wo.accept(&t, T0 + 3 * MIN).is_err(),
        "accepting twice is refused"
    );
    assert!(matches!(
        wo.add_part(&t, PartInput::new("X", 0, 1), T0),
        Err(WorkOrderError::Invalid {
            field: "quantity",
            ..
        })
    ));
    assert!(matches!(
        wo.add_photo(&t, "not-a-hash", PhotoKind::Fault, "", T0, T0),
        Err(WorkOrderError::Invalid { field: "blob", .. })
    ));
    assert!(
        wo.diagnose(&t, "cause", &[], T0).is_err(),
        "a solution is required"
    );
    assert!(
        wo.sign(&t, "Ada", &blob(1), T0).is_err(),
        "nothing to sign before work"
    );
    assert!(matches!(
        wo.change_part(
            &t,
            "nope",
            PartPatch {
                qty: Some(2),
                ..Default::default()
            },
            T0
        ),
        Err(WorkOrderError::UnknownPartLine(_))
    ));
}

#[test]
fn decline_returns_the_job_to_dispatch() {
    let mut wo = created();
    wo.assign(&dispatcher(), "tech-a", None, T0 + MIN).unwrap();
    wo.decline(&tech(), "not my area", T0 + 2 * MIN).unwrap();
    let v = wo.view().unwrap();
    assert_eq!(v.status, Status::PendingDispatch);
    assert_eq!(v.assignee, None);
    assert!(wo.decline(&tech(), "again", T0 + 3 * MIN).is_err());
}

#[test]
fn the_acceptance_timeout_returns_an_unaccepted_job() {
    let clock = Actor::new("clock", Role::System, "server-1");
    let mut wo = created();
    wo.assign(&dispatcher(), "tech-a", None, T0 + MIN).unwrap();
    wo.accept_timed_out(&clock, T0 + 61 * MIN).unwrap();
    assert_eq!(wo.view().unwrap().status, Status::PendingDispatch);
    let mut wo = accepted();
    assert!(wo.accept_timed_out(&clock, T0 + 61 * MIN).is_err());
}

#[test]
fn a_reassignment_restarts_the_visit_for_the_new_technician() {
    let t = tech();
    let mut wo = accepted();
    wo.on_site(&t, T0 + 3 * MIN).unwrap();
    wo.assign(
        &dispatcher(),
        "tech-b",
        Some("A called in sick"),
        T0 + 4 * MIN,
    )
    .unwrap();
    let v = wo.view().unwrap();
    assert_eq!(v.status, Status::Assigned);
    assert_eq!(v.assignee.as_deref(), Some("tech-b"));
    assert!(
        v.conflicts.is_empty(),
        "the dispatcher knew: nothing concurrent"
    );
    assert!(matches!(
        wo.on_site(&t, T0 + 5 * MIN),
        Err(WorkOrderError::NotAssignee { .. })
    ));
}

#[test]
fn removed_part_lines_and_photos_stay_in_the_history() {
    let t = tech();
    let mut wo = accepted();
    let line = wo
        .add_part(&t, PartInput::new("FLT-1", 1, 100), T0 + 3 * MIN)
        .unwrap();
    let photo = wo
        .add_photo(&t, &blob(3), PhotoKind::Fault, "leak", T0, T0 + 4 * MIN)
        .unwrap();
    wo.remove_part(&t, &line, T0 + 5 * MIN).unwrap();
    wo.remove_photo(&t, &photo, T0 + 6 * MIN).unwrap();
    let v = wo.view().unwrap();
    assert_eq!(v.parts.len(), 1);
    assert_eq!(v.active_parts().count(), 0);
    assert_eq!(v.photos.len(), 1);
    assert_eq!(v.active_photos().count(), 0);
    assert!(matches!(
        wo.remove_part(&t, &line, T0),
        Err(WorkOrderError::PartLineRemoved(_))
    ));
}

#[test]
fn cancel_is_refused_once_signed() {
    let t = tech();
    let mut wo = accepted();
    wo.diagnose(&t, "c", &["s"], T0 + 3 * MIN).unwrap();
    wo.start_work(&t, T0 + 4 * MIN).unwrap();
    wo.sign(&t, "Ada", &blob(1), T0 + 5 * MIN).unwrap();
    assert!(matches!(
        wo.cancel(&dispatcher(), "too late", T0 + 6 * MIN),
        Err(WorkOrderError::WrongStatus { .. })
    ));
    let mut wo = accepted();
    wo.cancel(&dispatcher(), "customer cancelled", T0 + 6 * MIN)
        .unwrap();
    assert_eq!(wo.view().unwrap().status, Status::Cancelled);
    wo.reopen(&dispatcher(), "customer called back", T0 + 7 * MIN)
        .unwrap();
    assert_eq!(wo.view().unwrap().status, Status::Assigned);
}

#[test]
fn a_document_from_a_newer_layout_is_refused() {
    use automerge::transaction::Transactable;
    let mut wo = created();
    wo.doc_mut()
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(automerge::ROOT, "schema", SCHEMA_VERSION + 1)?;
            Ok(())
        })
        .unwrap();
    let bytes = wo.save();
    assert!(matches!(
        WorkOrder::load(&bytes, "x"),
        Err(WorkOrderError::NewerSchema { .. })
    ));
    assert!(matches!(wo.view(), Err(WorkOrderError::NewerSchema { .. })));
}

#[test]
fn garbage_bytes_are_an_error_not_a_panic() {
    assert!(WorkOrder::load(b"definitely not automerge", "x").is_err());
    let empty = automerge::Automerge::new().save();
    assert!(
        WorkOrder::load(&empty, "x").is_err(),
        "an empty document is no work order"
    );
}

#[test]
fn a_manager_handles_a_low_score_and_the_work_order_closes() {
    let t = tech();
    let manager = Actor::new("mgr-1", Role::Manager, "office-3");
    let mut wo = accepted();
    wo.diagnose(&t, "loose belt", &["tighten"], T0 + 3 * MIN)
        .unwrap();
    wo.start_work(&t, T0 + 4 * MIN).unwrap();
    wo.complete(&t, true, T0 + 5 * MIN).unwrap();
    assert!(matches!(
        wo.handle_escalation(&manager, "low-score", "called back", T0 + 6 * MIN),
        Err(WorkOrderError::WrongStatus { .. })
    ));
    let fu = wo
        .follow_up(&agent(), 3, "late and rude", "", T0 + 30 * 60 * MIN)
        .unwrap();
    assert_eq!(wo.view().unwrap().status, Status::Escalated);
    let escalation = format!("low_score:{fu}");
    assert!(matches!(
        wo.handle_escalation(&agent(), &escalation, "called back", T0 + 31 * 60 * MIN),
        Err(WorkOrderError::RoleNotAllowed { .. })
    ));
    let before = wo.view().unwrap().event_count;
    assert!(wo
        .handle_escalation(&manager, &escalation, " ", T0 + 31 * 60 * MIN)
        .is_err());
    assert_eq!(
        wo.view().unwrap().event_count,
        before,
        "a refusal writes nothing"
    );
    wo.handle_escalation(
        &manager,
        &escalation,
        "apologised; 20% voucher",
        T0 + 31 * 60 * MIN,
    )
    .unwrap();
    let v = wo.view().unwrap();
    assert_eq!(v.status, Status::Closed);
    let h = v.escalation_handled.unwrap();
    assert_eq!(
        (h.escalation.as_str(), h.by.user.as_str()),
        (escalation.as_str(), "mgr-1")
    );
    assert_eq!(v.follow_up.unwrap().score, 3, "the score stays on record");
}

#[test]
fn only_complaints_are_classified_and_the_latest_classification_stands() {
    let mut repair = created();
    assert!(matches!(
        repair.classify(&agent(), ComplaintCategory::Quality, false, T0 + MIN),
        Err(WorkOrderError::Invalid { .. })
    ));
    let intake = Intake {
        service_type: ServiceType::Complaint,
        ..Intake::example()
    };
    let mut wo = WorkOrder::create("WO-8", &agent(), intake, T0).unwrap();
    assert!(wo
        .classify(&tech(), ComplaintCategory::Delay, true, T0 + MIN)
        .is_err());
    wo.classify(&agent(), ComplaintCategory::Delay, false, T0 + MIN)
        .unwrap();
    wo.classify(
        &dispatcher(),
        ComplaintCategory::Attitude,
        true,
        T0 + 2 * MIN,
    )
    .unwrap();
    let c = wo.view().unwrap().classification.unwrap();
    assert_eq!((c.category, c.urgent), (ComplaintCategory::Attitude, true));
    assert_eq!(c.by.user, "disp-1");
}

#[test]
fn notes_in_any_script_are_kept_and_merge() {
    let mut wo = accepted();
    let t = tech();
    wo.edit_notes(&t, "Straße 5 — ring twice", T0 + 10 * MIN)
        .unwrap();
    wo.edit_notes(
        &t,
        "Straße 5 — ring twice 🔔, Hund im Garten",
        T0 + 11 * MIN,
    )
    .unwrap();
    assert_eq!(
        wo.view().unwrap().notes,
        "Straße 5 — ring twice 🔔, Hund im Garten"
    );
    // Two offline edits of non-ASCII notes merge character by character.
    let mut left = wo.fork_for("phone-l").unwrap();
    let mut right = wo.fork_for("phone-r").unwrap();
    left.edit_notes(
        &t,
        "Straße 5 — ring twice 🔔, Hund im Garten; Schlüssel beim Nachbarn",
        T0 + 12 * MIN,
    )
    .unwrap();
    right
        .edit_notes(
            &dispatcher(),
            "Café: Straße 5 — ring twice 🔔, Hund im Garten",
            T0 + 12 * MIN,
        )
        .unwrap();
    left.merge(&mut right).unwrap();
    assert_eq!(
        left.view().unwrap().notes,
        "Café: Straße 5 — ring twice 🔔, Hund im Garten; Schlüssel beim Nachbarn"
    );
}
