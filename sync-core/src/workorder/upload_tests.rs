//! The upload check on real work orders: what a device may and may not send.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjType, ReadDoc, ROOT};

use super::*;
use crate::workorder::{Actor, EventKind, Intake, Role, Status, WorkOrder};

const T0: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;

fn tech() -> Actor {
    Actor::new("tech-a", Role::Technician, "phone-a")
}
fn uploader() -> Uploader<'static> {
    Uploader {
        user: "tech-a",
        role: Role::Technician,
        device: "phone-a",
    }
}

/// A work order assigned to tech-a on the server, and the technician's copy of it.
fn server_and_phone() -> (WorkOrder, WorkOrder) {
    let office = Actor::new("disp-1", Role::Dispatcher, "office-1");
    let mut server = WorkOrder::create("WO-7", &office, Intake::example(), T0).unwrap();
    server.assign(&office, "tech-a", None, T0 + MIN).unwrap();
    let phone = server.fork_for("phone-a").unwrap();
    (server, phone)
}

/// Applies the phone's changes to the server's copy; returns the heads before.
fn upload(server: &mut WorkOrder, phone: &WorkOrder) -> Vec<automerge::ChangeHash> {
    let before = server.heads();
    let changes = phone.doc().get_changes(&before);
    server.doc_mut().apply_changes(changes).unwrap();
    before
}

#[test]
fn a_technicians_offline_work_passes_and_lists_its_new_events() {
    let (mut server, mut phone) = server_and_phone();
    let t = tech();
    phone.accept(&t, T0 + 2 * MIN).unwrap();
    phone.on_site(&t, T0 + 3 * MIN).unwrap();
    phone.edit_notes(&t, "pump blocked", T0 + 5 * MIN).unwrap();
    let before = upload(&mut server, &phone);

    let added = new_events(server.doc(), &before, uploader()).unwrap();
    let kinds: Vec<&str> = added.iter().map(|e| e.kind.name()).collect();
    assert_eq!(added.len(), 3, "{kinds:?}");
    assert!(added.iter().all(|e| e.user == "tech-a"));

    let (view, history) = checked_view(server.doc()).unwrap();
    assert_eq!(view.status, Status::OnSite);
    assert_eq!(view.notes, "pump blocked");
    assert_eq!(history.len(), 5);
    assert_eq!(view, server.view().unwrap());
    assert_eq!(history, server.history().unwrap());
}

#[test]
fn a_resent_upload_adds_nothing() {
    let (mut server, mut phone) = server_and_phone();
    phone.accept(&tech(), T0 + 2 * MIN).unwrap();
    upload(&mut server, &phone);
    let before = upload(&mut server, &phone);
    assert!(new_events(server.doc(), &before, uploader())
        .unwrap()
        .is_empty());
}

#[test]
fn events_in_someone_elses_name_are_refused() {
    let (mut server, mut phone) = server_and_phone();
    phone.accept(&tech(), T0 + 2 * MIN).unwrap();
    let before = upload(&mut server, &phone);
    let other = Uploader {
        user: "tech-b",
        ..uploader()
    };
    let refused = new_events(server.doc(), &before, other).unwrap_err();
    assert!(matches!(refused, UploadRefused::NotTheUploader { ref user, .. } if user == "tech-a"));
    let other_device = Uploader {
        device: "phone-z",
        ..uploader()
    };
    assert!(matches!(
        new_events(server.doc(), &before, other_device),
        Err(UploadRefused::NotTheUploader { .. })
    ));
}

#[test]
fn a_step_the_role_may_not_record_is_refused() {
    let (mut server, _) = server_and_phone();
    // A phone that calls itself a dispatcher on its own device and assigns: the events are
    // its own, but a technician may not record an assignment.
    let mut phone = server.fork_for("phone-a").unwrap();
    let forged = Actor::new("tech-a", Role::Dispatcher, "phone-a");
    phone
        .assign(&forged, "tech-b", Some("me"), T0 + 2 * MIN)
        .unwrap();
    let before = upload(&mut server, &phone);
    let dispatcher_claim = Uploader {
        role: Role::Dispatcher,
        ..uploader()
    };
    assert!(new_events(server.doc(), &before, dispatcher_claim).is_ok());
    let refused = new_events(server.doc(), &before, uploader()).unwrap_err();
    assert!(matches!(refused, UploadRefused::NotTheUploader { .. }));

    let mut phone = server.fork_for("phone-a").unwrap();
    let t = tech();
    // Write an `assigned` event in the technician's own name, bypassing the operation checks.
    let events = phone.doc().get(ROOT, "events").unwrap().unwrap().1;
    let event = crate::workorder::Event {
        id: "phone-a#9".into(),
        parents: vec![],
        at: T0,
        user: t.user.clone(),
        role: t.role,
        device: t.device.clone(),
        kind: EventKind::Assigned {
            technician: "tech-a".into(),
            reason: String::new(),
        },
        position: None,
    };
    let json = serde_json::to_string(&event).unwrap();
    let len = phone.doc().length(&events);
    phone
        .doc_mut()
        .transact::<_, _, AutomergeError>(|tx| tx.insert(&events, len, json.as_str()).map(|_| ()))
        .unwrap();
    let before = upload(&mut server, &phone);
    assert!(matches!(
        new_events(server.doc(), &before, uploader()),
        Err(UploadRefused::KindNotAllowed { .. })
    ));
}

#[test]
fn deleting_or_rewriting_a_recorded_event_is_refused() {
    for rewrite in [false, true] {
        let (mut server, mut phone) = server_and_phone();
        let events = phone.doc().get(ROOT, "events").unwrap().unwrap().1;
        phone
            .doc_mut()
            .transact::<_, _, AutomergeError>(|tx| {
                if rewrite {
                    tx.put(&events, 0, "{}")
                } else {
                    tx.delete(&events, 0)
                }
            })
            .unwrap();
        let before = upload(&mut server, &phone);
        let refused = new_events(server.doc(), &before, uploader()).unwrap_err();
        match (rewrite, &refused) {
            (false, UploadRefused::Deleted(id)) | (true, UploadRefused::Rewritten(id)) => {
                assert_eq!(id, "office-1#1", "{refused}")
            }
            _ => panic!("unexpected refusal {refused:?} (rewrite: {rewrite})"),
        }
    }
}

#[test]
fn the_intake_id_and_top_level_are_fixed() {
    type Tamper = fn(&mut automerge::transaction::Transaction<'_>, &WorkOrder);
    let cases: [(&str, Tamper); 4] = [
        ("intake", |tx, wo| {
            let intake = wo.doc().get(ROOT, "intake").unwrap().unwrap().1;
            tx.put(&intake, "problem", "something else").unwrap();
        }),
        ("intake", |tx, wo| {
            let intake = wo.doc().get(ROOT, "intake").unwrap().unwrap().1;
            let customer = wo.doc().get(&intake, "customer").unwrap().unwrap().1;
            tx.put(&customer, "name", "Mallory").unwrap();
        }),
        ("id", |tx, _| {
            tx.put(ROOT, "id", "WO-8").unwrap();
        }),
        ("events", |tx, _| {
            tx.put_object(ROOT, "events", ObjType::List).unwrap();
        }),
    ];
    for (what, tamper) in cases {
        let (mut server, mut phone) = server_and_phone();
        let copy = phone.clone();
        let mut tx = phone.doc_mut().transaction();
        tamper(&mut tx, &copy);
        tx.commit();
        let before = upload(&mut server, &phone);
        assert_eq!(
            new_events(server.doc(), &before, uploader()),
            Err(UploadRefused::Fixed(what.into()))
        );
    }
}

#[test]
fn a_second_event_under_a_recorded_id_is_refused() {
    let (mut server, mut phone) = server_and_phone();
    let t = tech();
    phone.accept(&t, T0 + 2 * MIN).unwrap();
    upload(&mut server, &phone);
    let mut history = phone.history().unwrap();
    let mut forged = history.pop().unwrap();
    forged.kind = EventKind::OnSite;
    let events = phone.doc().get(ROOT, "events").unwrap().unwrap().1;
    let len = phone.doc().length(&events);
    let json = serde_json::to_string(&forged).unwrap();
    phone
        .doc_mut()
        .transact::<_, _, AutomergeError>(|tx| tx.insert(&events, len, json.as_str()).map(|_| ()))
        .unwrap();
    let before = upload(&mut server, &phone);
    // Each event alone is the uploader's own; together they rewrite a recorded step.
    assert_eq!(
        new_events(server.doc(), &before, uploader()).unwrap().len(),
        1
    );
    assert_eq!(
        checked_view(server.doc()).unwrap_err(),
        UploadRefused::Rewritten(forged.id)
    );
}
