//! The Rust-made documents of the cross-language vectors: fixed devices and times, so the
//! saved bytes are the same on every run.

use sync_core::workorder::*;

pub const T0: i64 = 1_790_000_000_000;
pub const MIN: i64 = 60_000;

pub struct Case {
    pub name: &'static str,
    pub description: &'static str,
    pub doc: WorkOrder,
}

struct Cast {
    agent: Actor,
    dispatcher: Actor,
    dispatcher2: Actor,
    a_phone: Actor,
    a_tablet: Actor,
    b: Actor,
    system: Actor,
    manager: Actor,
}

fn cast() -> Cast {
    Cast {
        agent: Actor::new("agent-1", Role::Agent, "office-1"),
        dispatcher: Actor::new("disp-1", Role::Dispatcher, "office-2"),
        dispatcher2: Actor::new("disp-2", Role::Dispatcher, "office-3"),
        a_phone: Actor::new("tech-a", Role::Technician, "phone-a"),
        a_tablet: Actor::new("tech-a", Role::Technician, "tablet-a"),
        b: Actor::new("tech-b", Role::Technician, "phone-b"),
        system: Actor::new("clock", Role::System, "server-1"),
        manager: Actor::new("mgr-1", Role::Manager, "office-4"),
    }
}

pub fn blob(n: u8) -> String {
    sync_core::ids::BlobHash::of(&[n]).to_string()
}

fn created(service: ServiceType) -> WorkOrder {
    let c = cast();
    let intake = Intake {
        service_type: service,
        ..Intake::example()
    };
    WorkOrder::create("WO-1", &c.agent, intake, T0).unwrap()
}

fn assigned() -> WorkOrder {
    let c = cast();
    let mut wo = created(ServiceType::Repair);
    wo.assign(&c.dispatcher, "tech-a", None, T0 + MIN).unwrap();
    wo
}

fn accepted() -> WorkOrder {
    let c = cast();
    let mut wo = assigned();
    wo.accept(&c.a_phone, T0 + 2 * MIN).unwrap();
    wo.edit_notes(&c.dispatcher, "Gate code 4711", T0 + 2 * MIN + 1)
        .unwrap();
    wo
}

fn full_visit() -> WorkOrder {
    let c = cast();
    let t = &c.a_phone;
    let mut wo = accepted();
    let at = |m: i64| T0 + m * MIN;
    wo.set_appointment(t, at(60), at(120), None, at(3)).unwrap();
    wo.set_appointment(t, at(90), at(150), Some("customer late"), at(4))
        .unwrap();
    wo.en_route(t, at(80)).unwrap();
    wo.on_site(t, at(95)).unwrap();
    wo.diagnose(
        t,
        "blocked pump",
        &["replace pump", "clean filter"],
        at(100),
    )
    .unwrap();
    let items = [
        QuoteItem {
            description: "pump".into(),
            price_cents: 4_900,
        },
        QuoteItem {
            description: "labour".into(),
            price_cents: 6_000,
        },
    ];
    wo.quote(t, &items, at(101)).unwrap();
    wo.consent(t, "Ada Customer", at(102)).unwrap();
    wo.start_work(t, at(103)).unwrap();
    let pump = wo
        .add_part(
            t,
            PartInput {
                serial_new: "P-NEW-1".into(),
                serial_old: "P-OLD-9".into(),
                old_part: OldPart::TakenAway,
                ..PartInput::new("PUMP-7", 1, 4_900)
            },
            at(104),
        )
        .unwrap();
    let hose = wo
        .add_part(t, PartInput::new("HOSE-2", 2, 350), at(105))
        .unwrap();
    wo.change_part(
        t,
        &pump,
        PartPatch {
            qty: Some(2),
            ..PartPatch::default()
        },
        at(106),
    )
    .unwrap();
    wo.remove_part(t, &hose, at(107)).unwrap();
    let before = wo
        .add_photo(t, &blob(1), PhotoKind::Before, "before", at(96), at(108))
        .unwrap();
    wo.add_photo(t, &blob(2), PhotoKind::Fault, "the fault", at(97), at(109))
        .unwrap();
    wo.remove_photo(t, &before, at(110)).unwrap();
    wo.add_photo(t, &blob(3), PhotoKind::After, "after", at(111), at(111))
        .unwrap();
    wo.edit_notes(t, "Gate code 4711. Dog in the garden, ring twice.", at(112))
        .unwrap();
    wo.record_test(t, true, "drains in 40 s", at(113)).unwrap();
    wo.sign(t, "Ada Customer", &blob(9), at(114)).unwrap();
    wo.complete(t, true, at(115)).unwrap();
    wo
}

/// Technician A works offline and completes while the dispatcher moves the job to B.
fn reassigned_while_working() -> WorkOrder {
    let c = cast();
    let mut office = accepted();
    let mut phone = office.fork_for("phone-a").unwrap();
    let at = |m: i64| T0 + m * MIN;
    phone.on_site(&c.a_phone, at(10)).unwrap();
    phone
        .diagnose(&c.a_phone, "worn belt", &["new belt"], at(11))
        .unwrap();
    phone.start_work(&c.a_phone, at(12)).unwrap();
    phone
        .add_part(&c.a_phone, PartInput::new("BELT-1", 1, 1_500), at(13))
        .unwrap();
    phone.complete(&c.a_phone, true, at(14)).unwrap();
    office
        .assign(&c.dispatcher, "tech-b", Some("no news from A"), at(12))
        .unwrap();
    office.merge(&mut phone).unwrap();
    office
}

/// Phone and tablet of one technician record the same facts at once, and the office
/// changes the appointment concurrently with the technician.
fn concurrent_records() -> WorkOrder {
    let c = cast();
    let at = |m: i64| T0 + m * MIN;
    let mut phone = accepted();
    phone.on_site(&c.a_phone, at(5)).unwrap();
    let line = phone
        .add_part(&c.a_phone, PartInput::new("PUMP-7", 1, 4_900), at(6))
        .unwrap();
    let dropped = phone
        .add_part(&c.a_phone, PartInput::new("SEAL-3", 1, 120), at(6) + 1)
        .unwrap();
    let mut tablet = phone.fork_for("tablet-a").unwrap();
    let mut office = phone.fork_for("office-2").unwrap();
    phone
        .diagnose(&c.a_phone, "blocked pump", &["replace pump"], at(7))
        .unwrap();
    tablet
        .diagnose(&c.a_tablet, "broken pump", &["replace pump"], at(8))
        .unwrap();
    phone
        .add_part(&c.a_phone, PartInput::new("FLT-100", 1, 1_250), at(9))
        .unwrap();
    tablet
        .add_part(&c.a_tablet, PartInput::new("FLT-100", 1, 1_250), at(9))
        .unwrap();
    let qty = |q| PartPatch {
        qty: Some(q),
        ..PartPatch::default()
    };
    phone
        .change_part(&c.a_phone, &line, qty(2), at(10))
        .unwrap();
    tablet
        .change_part(&c.a_tablet, &line, qty(3), at(10))
        .unwrap();
    tablet
        .change_part(
            &c.a_tablet,
            &dropped,
            PartPatch {
                serial_new: Some("S-1".into()),
                ..PartPatch::default()
            },
            at(10),
        )
        .unwrap();
    phone.remove_part(&c.a_phone, &dropped, at(11)).unwrap();
    phone
        .set_appointment(&c.a_phone, at(30), at(90), None, at(12))
        .unwrap();
    office
        .set_appointment(&c.dispatcher, at(40), at(100), None, at(13))
        .unwrap();
    phone.start_work(&c.a_phone, at(14)).unwrap();
    tablet.start_work(&c.a_tablet, at(14)).unwrap();
    phone.record_test(&c.a_phone, true, "ok", at(15)).unwrap();
    tablet
        .record_test(&c.a_tablet, false, "leaks", at(15))
        .unwrap();
    phone.complete(&c.a_phone, true, at(16)).unwrap();
    tablet.complete(&c.a_tablet, false, at(16)).unwrap();
    phone
        .edit_notes(&c.a_phone, "Gate code 4711, phone", at(17))
        .unwrap();
    tablet
        .edit_notes(&c.a_tablet, "Gate code 4711 (tablet)", at(17))
        .unwrap();
    phone.merge(&mut tablet).unwrap();
    phone.merge(&mut office).unwrap();
    phone
}

/// Decline on the tablet and accept on the phone; the acceptance timeout against an
/// offline accept; two dispatchers reassigning at once.
fn give_back_races() -> WorkOrder {
    let c = cast();
    let at = |m: i64| T0 + m * MIN;
    let mut wo = assigned();
    let mut tablet = wo.fork_for("tablet-a").unwrap();
    let mut server = wo.fork_for("server-1").unwrap();
    wo.accept(&c.a_phone, at(3)).unwrap();
    tablet.decline(&c.a_tablet, "too far", at(4)).unwrap();
    server.accept_timed_out(&c.system, at(5)).unwrap();
    wo.merge(&mut tablet).unwrap();
    wo.merge(&mut server).unwrap();
    let mut other = wo.fork_for("office-3").unwrap();
    wo.assign(&c.dispatcher, "tech-b", Some("closer"), at(20))
        .unwrap();
    other
        .unassign(&c.dispatcher2, "customer asked to wait", at(21))
        .unwrap();
    wo.merge(&mut other).unwrap();
    wo
}

/// The office cancels while the technician takes the customer's signature.
fn cancel_vs_sign() -> WorkOrder {
    let c = cast();
    let at = |m: i64| T0 + m * MIN;
    let mut phone = accepted();
    phone
        .diagnose(&c.a_phone, "loose hose", &["tighten"], at(5))
        .unwrap();
    phone.start_work(&c.a_phone, at(6)).unwrap();
    let mut office = phone.fork_for("office-2").unwrap();
    phone.sign(&c.a_phone, "Ada", &blob(7), at(7)).unwrap();
    office
        .cancel(&c.dispatcher, "customer cancelled by phone", at(7))
        .unwrap();
    phone.merge(&mut office).unwrap();
    phone
}

/// A complaint: classified, completed, a low follow-up score escalates, a manager handles
/// it; a conflict is resolved; then the order is reopened and B takes over.
fn complaint_lifecycle() -> WorkOrder {
    let c = cast();
    let at = |m: i64| T0 + m * MIN;
    let mut wo = created(ServiceType::Complaint);
    wo.classify(&c.agent, ComplaintCategory::Delay, false, at(1))
        .unwrap();
    wo.classify(&c.agent, ComplaintCategory::Quality, true, at(2))
        .unwrap();
    wo.assign(&c.dispatcher, "tech-a", None, at(3)).unwrap();
    wo.accept(&c.a_phone, at(4)).unwrap();
    let mut tablet = wo.fork_for("tablet-a").unwrap();
    wo.diagnose(&c.a_phone, "bad install", &["redo"], at(5))
        .unwrap();
    tablet
        .diagnose(&c.a_tablet, "bad install", &["redo", "new bracket"], at(5))
        .unwrap();
    wo.merge(&mut tablet).unwrap();
    let conflict = wo.conflicts().unwrap()[0].id.clone();
    wo.resolve_conflict(&c.dispatcher, &conflict, "same visit", at(6))
        .unwrap();
    wo.quote(&c.a_phone, &[], at(7)).unwrap();
    wo.start_work(&c.a_phone, at(8)).unwrap();
    wo.complete(&c.a_phone, true, at(9)).unwrap();
    wo.follow_up(&c.agent, 2, "still noisy", "send B", at(100))
        .unwrap();
    wo.handle_escalation(&c.manager, "esc-1", "called back", at(101))
        .unwrap();
    wo.reopen(&c.dispatcher, "noise again", at(200)).unwrap();
    wo.assign(&c.dispatcher, "tech-b", Some("A on leave"), at(201))
        .unwrap();
    wo.accept(&c.b, at(202)).unwrap();
    wo
}

pub fn all() -> Vec<Case> {
    vec![
        Case {
            name: "assigned",
            description: "Created by an agent, assigned to tech-a: the base the TypeScript technician starts from.",
            doc: assigned(),
        },
        Case {
            name: "accepted",
            description: "Assigned and accepted by tech-a on phone-a; the dispatcher wrote a note.",
            doc: accepted(),
        },
        Case {
            name: "full-visit",
            description: "Every technician step in sync-core: appointment changed, en route, on site, diagnosis, quote, consent, work, parts added/changed/removed, photos added/removed, notes, test, signature, completion.",
            doc: full_visit(),
        },
        Case {
            name: "reassigned-while-working",
            description: "tech-a works offline and completes while the dispatcher reassigns to tech-b (reassigned_while_working).",
            doc: reassigned_while_working(),
        },
        Case {
            name: "concurrent-records",
            description: "Phone and tablet of tech-a record diagnosis, parts, part changes, a removal, tests, completions and notes at once; the office changes the appointment concurrently.",
            doc: concurrent_records(),
        },
        Case {
            name: "give-back-races",
            description: "Decline on the tablet vs accept on the phone, the acceptance timeout vs the accept, then two dispatchers reassigning at once.",
            doc: give_back_races(),
        },
        Case {
            name: "cancel-vs-sign",
            description: "The office cancels while the technician takes the signature: the signature stands.",
            doc: cancel_vs_sign(),
        },
        Case {
            name: "complaint-lifecycle",
            description: "A complaint classified twice, a resolved conflict, completion, a low follow-up score escalated and handled, reopened and taken over by tech-b.",
            doc: complaint_lifecycle(),
        },
    ]
}
