//! Convergence under random schedules.
//!
//! 2 to 5 devices (a dispatcher's PC, technicians' phones and tablets, an agent) work on 1 to
//! 3 work orders. Each step either performs a random operation on one device, offline, or
//! syncs one device with the server through the real protocol encoding (sometimes losing the
//! response). At the end every device syncs until quiescent, and then:
//! - every replica (server and devices) holds the same changes and derives the same view,
//!   status and conflicts;
//! - no event, part line, photo reference, note sentence or signature any device recorded is
//!   missing.
//!
//! 1,000 cases by default; set `PROPTEST_CASES` for more.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use automerge::Automerge;
use proptest::prelude::*;
use sync_core::ids::BlobHash;
use sync_core::protocol::testing::{Network, NetworkError};
use sync_core::workorder::*;

const T0: i64 = 1_790_000_000_000;

fn device_actor(i: usize) -> Actor {
    match i {
        0 => Actor::new("disp-1", Role::Dispatcher, "dev-0"),
        1 => Actor::new("tech-a", Role::Technician, "dev-1"),
        2 => Actor::new("tech-a", Role::Technician, "dev-2"),
        3 => Actor::new("tech-b", Role::Technician, "dev-3"),
        _ => Actor::new("agent-1", Role::Agent, "dev-4"),
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// The natural next step of the life cycle for this actor, so schedules get deep.
    Next(u8),
    Assign(bool),
    Unassign,
    Accept,
    Decline,
    TimeOut,
    Appointment(u8),
    EnRoute,
    OnSite,
    Diagnose(u8),
    Quote(u8),
    Consent,
    StartWork,
    AddPart(u8, u8),
    ChangePart(u8, u8),
    RemovePart(u8),
    AddPhoto(u8),
    RemovePhoto(u8),
    Note(u16),
    Test(bool),
    Sign,
    Complete(bool),
    FollowUp(u8),
    Cancel,
    Reopen,
    Resolve(u8),
    Classify(u8),
    /// A manager handles a low score's escalation (the actor's device, manager role).
    HandleEscalation,
}

#[derive(Debug, Clone)]
enum Step {
    /// Device `device` performs `op` on document `doc`, offline.
    Do { device: usize, doc: usize, op: Op },
    /// Device syncs with the server; `lose` drops the response once.
    Sync { device: usize, lose: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        40 => any::<u8>().prop_map(Op::Next),
        1 => any::<bool>().prop_map(Op::Assign),
        1 => Just(Op::Unassign),
        1 => Just(Op::Accept),
        1 => Just(Op::Decline),
        1 => Just(Op::TimeOut),
        1 => Just(Op::Cancel),
        1 => any::<u8>().prop_map(Op::Appointment),
        1 => Just(Op::EnRoute),
        1 => Just(Op::OnSite),
        2 => any::<u8>().prop_map(Op::Diagnose),
        1 => any::<u8>().prop_map(Op::Quote),
        1 => Just(Op::Consent),
        2 => Just(Op::StartWork),
        3 => (any::<u8>(), 1..4u8).prop_map(|(s, q)| Op::AddPart(s, q)),
        2 => (any::<u8>(), 1..4u8).prop_map(|(l, q)| Op::ChangePart(l, q)),
        1 => any::<u8>().prop_map(Op::RemovePart),
        2 => any::<u8>().prop_map(Op::AddPhoto),
        1 => any::<u8>().prop_map(Op::RemovePhoto),
        2 => any::<u16>().prop_map(Op::Note),
        1 => any::<bool>().prop_map(Op::Test),
        1 => Just(Op::Sign),
        1 => any::<bool>().prop_map(Op::Complete),
        1 => (1..=5u8).prop_map(Op::FollowUp),
        1 => Just(Op::Reopen),
        1 => any::<u8>().prop_map(Op::Resolve),
        1 => any::<u8>().prop_map(Op::Classify),
        1 => Just(Op::HandleEscalation),
    ]
}

fn schedule() -> impl Strategy<Value = (usize, usize, Vec<Step>)> {
    (2..=5usize, 1..=3usize).prop_flat_map(|(devices, docs)| {
        let step = prop_oneof![
            4 => (0..devices, 0..docs, op()).prop_map(|(device, doc, op)| Step::Do { device, doc, op }),
            1 => (0..devices, prop::bool::weighted(0.1)).prop_map(|(device, lose)| Step::Sync { device, lose }),
        ];
        (Just(devices), Just(docs), prop::collection::vec(step, 1..120))
    })
}

/// What devices recorded, which must all survive.
#[derive(Default)]
struct Recorded {
    events: BTreeSet<(String, String)>,
    parts: BTreeSet<(String, String)>,
    photos: BTreeSet<(String, String)>,
    sentences: BTreeSet<(String, String)>,
    signatures: BTreeSet<(String, String)>,
}

fn pick<T: Clone>(items: &[T], n: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[n as usize % items.len()].clone())
}

/// The step a person in this role would most likely take next.
fn next_step(view: &View, actor: &Actor, n: u8) -> Op {
    let me = view.assignee.as_deref() == Some(actor.user.as_str());
    if actor.role != Role::Technician {
        return match view.status {
            Status::PendingDispatch => Op::Assign(n.is_multiple_of(2)),
            Status::Completed => Op::FollowUp(1 + n % 5),
            Status::Escalated => Op::HandleEscalation,
            _ if view.open_conflicts().next().is_some() => Op::Resolve(n),
            _ => Op::Note(u16::from(n)),
        };
    }
    if !me {
        return Op::Note(u16::from(n));
    }
    match view.status {
        Status::Assigned => Op::Accept,
        Status::Accepted => Op::Appointment(n),
        Status::Scheduled => Op::EnRoute,
        Status::EnRoute => Op::OnSite,
        Status::OnSite => Op::Diagnose(n),
        Status::Diagnosed => Op::Quote(n),
        Status::Quoted => Op::Consent,
        Status::ConsentGiven => Op::StartWork,
        Status::InProgress => match n % 4 {
            0 => Op::AddPart(n, 1 + n % 3),
            1 => Op::AddPhoto(n),
            2 => Op::Test(!n.is_multiple_of(5)),
            _ => Op::Sign,
        },
        Status::Signed => Op::Complete(!n.is_multiple_of(6)),
        _ => Op::Note(u16::from(n)),
    }
}

/// Performs `op` on the device's copy; refused operations must leave no trace.
fn perform(doc: &mut Automerge, actor: &Actor, op: &Op, now: i64, rec: &mut Recorded) {
    let mut wo = WorkOrder::from_automerge(std::mem::take(doc));
    let view = wo.view().unwrap();
    let next;
    let op = match op {
        Op::Next(n) => {
            next = next_step(&view, actor, *n);
            &next
        }
        other => other,
    };
    let id = view.id.clone();
    let heads = wo.heads();
    let lines: Vec<String> = view.active_parts().map(|p| p.line.clone()).collect();
    let photos: Vec<String> = view.active_photos().map(|p| p.photo.clone()).collect();
    let conflicts: Vec<String> = view.open_conflicts().map(|c| c.id.clone()).collect();
    let blob = |n: u8| BlobHash::of(&[n]).to_string();
    let mut sentence = None;
    let result = match op {
        Op::Assign(a) => wo.assign(
            actor,
            if *a { "tech-a" } else { "tech-b" },
            Some("load"),
            now,
        ),
        Op::Unassign => wo.unassign(actor, "back to the pool", now),
        Op::Accept => wo.accept(actor, now),
        Op::Decline => wo.decline(actor, "too far", now),
        Op::TimeOut => {
            let clock = Actor::new("clock", Role::System, actor.device.as_str());
            wo.accept_timed_out(&clock, now)
        }
        Op::Appointment(h) => {
            let start = T0 + i64::from(*h) * 3_600_000;
            wo.set_appointment(actor, start, start + 7_200_000, Some("customer asked"), now)
        }
        Op::EnRoute => wo.en_route(actor, now),
        Op::OnSite => wo.on_site(actor, now),
        Op::Diagnose(n) => wo.diagnose(actor, &format!("cause {n}"), &["fix it"], now),
        Op::Quote(n) => {
            let items = [QuoteItem {
                description: "labour".into(),
                price_cents: i64::from(*n % 3) * 1_000,
            }];
            wo.quote(actor, &items, now)
        }
        Op::Consent => wo.consent(actor, "Ada Customer", now),
        Op::StartWork => wo.start_work(actor, now),
        Op::AddPart(s, q) => wo.add_part(
            actor,
            PartInput::new(format!("SKU-{}", s % 4), u32::from(*q), 500),
            now,
        ),
        Op::ChangePart(l, q) => match pick(&lines, *l) {
            Some(line) => {
                let patch = PartPatch {
                    qty: Some(u32::from(*q)),
                    ..Default::default()
                };
                wo.change_part(actor, &line, patch, now)
            }
            None => return restore(doc, wo),
        },
        Op::RemovePart(l) => match pick(&lines, *l) {
            Some(line) => wo.remove_part(actor, &line, now),
            None => return restore(doc, wo),
        },
        Op::AddPhoto(n) => wo.add_photo(actor, &blob(*n), PhotoKind::After, "photo", now, now),
        Op::RemovePhoto(n) => match pick(&photos, *n) {
            Some(p) => wo.remove_photo(actor, &p, now),
            None => return restore(doc, wo),
        },
        Op::Note(n) => {
            let s = format!("[{} says {n}]", actor.device);
            let text = format!("{} {s}", view.notes);
            sentence = Some(s);
            wo.edit_notes(actor, &text, now)
        }
        Op::Test(p) => wo.record_test(actor, *p, "checked", now),
        Op::Sign => wo.sign(actor, "Ada Customer", &blob(200), now),
        Op::Complete(f) => wo.complete(actor, *f, now),
        Op::FollowUp(s) => wo.follow_up(actor, *s, "called", "", now),
        Op::Cancel => wo.cancel(actor, "customer cancelled", now),
        Op::Reopen => wo.reopen(actor, "not fixed", now),
        Op::Resolve(n) => match pick(&conflicts, *n) {
            Some(c) => wo.resolve_conflict(actor, &c, "looked at it", now),
            None => return restore(doc, wo),
        },
        Op::Classify(n) => {
            let category = ComplaintCategory::ALL[usize::from(*n) % ComplaintCategory::ALL.len()];
            wo.classify(actor, category, n.is_multiple_of(2), now)
        }
        Op::HandleEscalation => {
            let manager = Actor::new("mgr-1", Role::Manager, actor.device.as_str());
            wo.handle_escalation(&manager, "low-score", "called back", now)
        }
        Op::Next(_) => unreachable!("resolved above"),
    };
    match result {
        Ok(event) => {
            rec.events.insert((id.clone(), event.clone()));
            match op {
                Op::AddPart(..) => {
                    rec.parts.insert((id.clone(), event));
                }
                Op::AddPhoto(_) => {
                    rec.photos.insert((id.clone(), event));
                }
                Op::Sign => {
                    rec.signatures.insert((id.clone(), event));
                }
                _ => {}
            }
            if let Some(s) = sentence {
                rec.sentences.insert((id, s));
            }
        }
        Err(_) => assert_eq!(wo.heads(), heads, "a refused {op:?} wrote something"),
    }
    restore(doc, wo);
}

fn restore(doc: &mut Automerge, wo: WorkOrder) {
    *doc = wo.into_automerge();
}

fn sync_until_quiet(net: &mut Network, devices: usize) {
    for _ in 0..3 {
        for d in 0..devices {
            net.sync(&format!("dev-{d}")).unwrap();
        }
    }
}

fn run(devices: usize, docs: usize, steps: &[Step]) {
    let mut net = Network::new();
    let office = Actor::new("agent-0", Role::Agent, "server-1");
    let ids: Vec<String> = (0..docs).map(|i| format!("WO-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        // Every other work order is a complaint, so that classifications happen too.
        let intake = Intake {
            service_type: if i % 2 == 1 {
                ServiceType::Complaint
            } else {
                ServiceType::Repair
            },
            ..Intake::example()
        };
        let wo = WorkOrder::create(id, &office, intake, T0).unwrap();
        *net.server_mut().create_doc(id) = wo.into_automerge();
    }
    for d in 0..devices {
        net.add_device(&format!("dev-{d}"));
        net.sync(&format!("dev-{d}")).unwrap();
    }
    let mut rec = Recorded::default();
    // Each device's clock runs at its own offset: clocks disagree, as in the field.
    let mut clocks: Vec<i64> = (0..devices)
        .map(|d| T0 + 1_000 + (d as i64 * 7_919) % 90_000)
        .collect();
    for step in steps {
        match step {
            Step::Do { device, doc, op } => {
                clocks[*device] += 60_000;
                let name = format!("dev-{device}");
                let actor = device_actor(*device);
                let actor = Actor::new(actor.user, actor.role, name.as_str());
                let d = net
                    .device_doc_mut(&name, &ids[*doc])
                    .expect("device holds the doc");
                perform(d, &actor, op, clocks[*device], &mut rec);
            }
            Step::Sync { device, lose } => {
                let name = format!("dev-{device}");
                if *lose {
                    net.drop_next_response(&name);
                    match net.sync(&name) {
                        Ok(_) | Err(NetworkError::ResponseLost { .. }) => {}
                        Err(e) => panic!("sync failed: {e}"),
                    }
                } else {
                    net.sync(&name).unwrap();
                }
            }
        }
    }
    sync_until_quiet(&mut net, devices);

    for id in &ids {
        assert!(
            net.converged(id),
            "{id}: all replicas hold the same changes"
        );
        let server = WorkOrder::from_automerge(net.server().doc(id).unwrap().clone());
        let view = server.view().unwrap();
        for d in 0..devices {
            let dev =
                WorkOrder::from_automerge(net.device_doc(&format!("dev-{d}"), id).unwrap().clone());
            assert_eq!(
                dev.view().unwrap(),
                view,
                "{id}: dev-{d} derives the same view"
            );
        }
        let events: BTreeSet<String> = server.events().unwrap().into_iter().map(|e| e.id).collect();
        for (doc, e) in &rec.events {
            if doc == id {
                assert!(events.contains(e), "{id}: event {e} was lost");
            }
        }
        for (doc, line) in &rec.parts {
            if doc == id {
                assert!(
                    view.parts.iter().any(|p| &p.line == line),
                    "{id}: part line {line} lost"
                );
            }
        }
        for (doc, photo) in &rec.photos {
            if doc == id {
                assert!(
                    view.photos.iter().any(|p| &p.photo == photo),
                    "{id}: photo {photo} lost"
                );
            }
        }
        for (doc, s) in &rec.sentences {
            if doc == id {
                assert!(
                    view.notes.contains(s.as_str()),
                    "{id}: note {s:?} lost from {:?}",
                    view.notes
                );
            }
        }
        let history = server.history().unwrap();
        for (doc, sig) in &rec.signatures {
            if doc == id {
                assert!(
                    history
                        .iter()
                        .any(|e| &e.id == sig && matches!(e.kind, EventKind::Signed { .. })),
                    "{id}: signature {sig} lost"
                );
            }
        }
        // The fold is a function of the set of events: folding a reloaded copy agrees.
        let reloaded = WorkOrder::load(&server.save(), "auditor").unwrap();
        assert_eq!(reloaded.view().unwrap(), view);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn devices_converge_and_lose_nothing((devices, docs, steps) in schedule()) {
        run(devices, docs, &steps);
    }
}

/// A fixed schedule that exercises the headline conflict: the job is reassigned while its
/// technician works offline, and all three devices converge through the server.
#[test]
fn reassignment_during_offline_work_converges_through_the_server() {
    let steps = vec![
        Step::Do {
            device: 0,
            doc: 0,
            op: Op::Assign(true),
        },
        Step::Sync {
            device: 0,
            lose: false,
        },
        Step::Sync {
            device: 1,
            lose: false,
        },
        Step::Do {
            device: 1,
            doc: 0,
            op: Op::Accept,
        },
        Step::Do {
            device: 0,
            doc: 0,
            op: Op::Assign(false),
        },
        Step::Sync {
            device: 0,
            lose: false,
        },
        Step::Do {
            device: 1,
            doc: 0,
            op: Op::OnSite,
        },
        Step::Do {
            device: 1,
            doc: 0,
            op: Op::Diagnose(1),
        },
        Step::Do {
            device: 1,
            doc: 0,
            op: Op::StartWork,
        },
        Step::Do {
            device: 1,
            doc: 0,
            op: Op::AddPart(1, 2),
        },
        Step::Do {
            device: 1,
            doc: 0,
            op: Op::Complete(true),
        },
        Step::Sync {
            device: 1,
            lose: true,
        },
        Step::Sync {
            device: 1,
            lose: false,
        },
    ];
    run(4, 1, &steps);
}
