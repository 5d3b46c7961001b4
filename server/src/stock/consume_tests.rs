use std::collections::HashMap;

use proptest::prelude::*;
use sync_core::workorder::{Intake, OldPart, PartLine, Role, Stamp, Status, View};

use super::*;

fn stamp(user: &str, device: &str, event: &str) -> Stamp {
    Stamp {
        event: event.into(),
        user: user.into(),
        role: Role::Technician,
        device: device.into(),
        at: 1_000,
    }
}

fn line(id: &str, sku: &str, qty: u32, removed: bool) -> PartLine {
    PartLine {
        line: id.into(),
        sku: sku.into(),
        qty,
        serial_new: format!("SN-{id}"),
        serial_old: String::new(),
        price_cents: 100,
        old_part: OldPart::None,
        added: stamp("tech-a", "phone-a", id),
        removed: removed.then(|| stamp("tech-a", "phone-b", "rm")),
    }
}

fn view(id: &str, parts: Vec<PartLine>) -> View {
    View {
        id: id.into(),
        intake: Intake::example(),
        status: Status::InProgress,
        assignee: Some("tech-a".into()),
        accepted: true,
        appointment: None,
        diagnosis: None,
        quote: None,
        consent: None,
        parts,
        photos: vec![],
        notes: String::new(),
        test: None,
        signature: None,
        completion: None,
        follow_up: None,
        classification: None,
        escalation_handled: None,
        cancellation: None,
        conflicts: vec![],
        event_count: 0,
    }
}

/// Folds posted moves into the ledger's per-line record, as `ledger::posted_lines` reads it.
fn post(posted: &mut HashMap<(String, String), Posted>, moves: &[NewMove]) {
    for m in moves {
        let key = (m.wo_id.clone().unwrap(), m.line.clone().unwrap());
        let van = m.from_loc.clone().or(m.to_loc.clone()).unwrap();
        let p = posted.entry(key).or_insert(Posted { net: 0, van });
        p.net += if m.kind == "consumption" {
            m.qty
        } else {
            -m.qty
        };
    }
}

#[test]
fn a_new_line_is_consumed_from_the_van_of_whoever_recorded_it() {
    let v = view("WO-1", vec![line("l1", "PUMP", 2, false)]);
    let d = plan(&[&v], &HashMap::new());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].delta, 2);
    assert_eq!(d[0].van, "van:tech-a");
    assert_eq!(d[0].device, "phone-a");
    assert_eq!(d[0].serial, "SN-l1");
}

#[test]
fn the_same_line_seen_again_posts_nothing() {
    let v = view("WO-1", vec![line("l1", "PUMP", 2, false)]);
    let mut posted = HashMap::new();
    let m = moves(&plan(&[&v], &posted), HashMap::new(), "u", 1);
    post(&mut posted, &m);
    assert!(plan(&[&v], &posted).is_empty());
}

#[test]
fn a_removed_line_is_reversed_by_the_device_that_removed_it() {
    let mut posted = HashMap::new();
    let v = view("WO-1", vec![line("l1", "PUMP", 2, false)]);
    let m = moves(&plan(&[&v], &posted), HashMap::new(), "u", 1);
    post(&mut posted, &m);
    let gone = view("WO-1", vec![line("l1", "PUMP", 2, true)]);
    let d = plan(&[&gone], &posted);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].delta, -2);
    assert_eq!(d[0].device, "phone-b");
    let m = moves(&d, HashMap::new(), "u", 2);
    assert_eq!(m[0].kind, "consumption_reversal");
    assert_eq!(m[0].to_loc.as_deref(), Some("van:tech-a"));
    assert_eq!(m[0].from_loc, None);
}

#[test]
fn a_line_removed_before_the_server_saw_it_posts_nothing() {
    let v = view("WO-1", vec![line("l1", "PUMP", 2, true)]);
    assert!(plan(&[&v], &HashMap::new()).is_empty());
}

#[test]
fn a_consumption_beyond_the_van_is_flagged_short_by_what_was_missing() {
    let v = view(
        "WO-1",
        vec![line("l1", "PUMP", 3, false), line("l2", "PUMP", 2, false)],
    );
    let levels = HashMap::from([(("van:tech-a".to_string(), "PUMP".to_string()), 4)]);
    let m = moves(&plan(&[&v], &HashMap::new()), levels, "u", 1);
    assert_eq!(m[0].short, 0, "4 held, 3 used");
    assert_eq!(m[1].short, 1, "1 left, 2 used");
    let m = moves(&plan(&[&v], &HashMap::new()), HashMap::new(), "u", 1);
    assert_eq!((m[0].short, m[1].short), (3, 2), "an empty van lacks all");
}

proptest! {
    /// Whatever sequence of states a work order's lines pass through (a line added, its
    /// quantity changed, removed), and however often each state is taken in (retries, a
    /// second device's copy), the ledger's net per line equals what the document says.
    #[test]
    fn the_ledger_always_matches_the_document_and_never_counts_twice(
        steps in prop::collection::vec(
            (prop::collection::vec((0u8..4, 1u32..6, any::<bool>()), 0..4), 1usize..3),
            1..12,
        )
    ) {
        let mut posted = HashMap::new();
        let mut state: HashMap<u8, (u32, bool)> = HashMap::new();
        for (changes, repeats) in steps {
            for (l, qty, removed) in changes {
                // Once removed, a line stays removed (the document keeps it marked).
                let e = state.entry(l).or_insert((qty, false));
                if !e.1 {
                    *e = (qty, removed);
                }
            }
            let parts: Vec<PartLine> = state
                .iter()
                .map(|(l, (q, r))| line(&format!("l{l}"), "PUMP", *q, *r))
                .collect();
            let v = view("WO-1", parts);
            for _ in 0..repeats {
                let d = plan(&[&v], &posted);
                post(&mut posted, &moves(&d, HashMap::new(), "u", 1));
            }
            for (l, (q, r)) in &state {
                let net = posted.get(&("WO-1".to_string(), format!("l{l}"))).map_or(0, |p| p.net);
                prop_assert_eq!(net, if *r { 0 } else { i64::from(*q) });
            }
            prop_assert!(plan(&[&v], &posted).is_empty());
        }
    }
}
