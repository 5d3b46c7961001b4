//! Coordinates in work orders: the intake's site and the on-site event's position, and that
//! documents and events without them are exactly what they were before.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ReadDoc, ROOT};

use super::upload::{new_events, UploadRefused, Uploader};
use super::*;

const T0: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;

fn office() -> Actor {
    Actor::new("disp-1", Role::Dispatcher, "office-1")
}

fn tech() -> Actor {
    Actor::new("tech-a", Role::Technician, "phone-a")
}

fn berlin() -> GeoPoint {
    GeoPoint::new(52.52, 13.405).unwrap()
}

fn accepted(site: Option<GeoPoint>) -> WorkOrder {
    let intake = Intake {
        site,
        ..Intake::example()
    };
    let mut wo = WorkOrder::create("WO-7", &office(), intake, T0).unwrap();
    wo.assign(&office(), "tech-a", None, T0 + MIN).unwrap();
    wo.accept(&tech(), T0 + 2 * MIN).unwrap();
    wo
}

#[test]
fn a_document_written_before_coordinates_existed_loads_with_no_site() {
    // vectors/workorder/from-rust/assigned.json was committed before the field existed.
    let text = include_str!("../../../vectors/workorder/from-rust/assigned.json");
    let vector: serde_json::Value = serde_json::from_str(text).unwrap();
    let bytes = hex::decode(vector["doc_hex"].as_str().unwrap()).unwrap();
    let mut wo = WorkOrder::load(&bytes, "phone-a").unwrap();
    let view = wo.view().unwrap();
    assert_eq!(view.intake.site, None);
    // It still works as before: the technician accepts and arrives, without a position.
    wo.accept(&tech(), T0 + 10 * MIN).unwrap();
    wo.on_site(&tech(), T0 + 11 * MIN).unwrap();
    let last = wo.history().unwrap().pop().unwrap();
    assert_eq!(last.position, None);
}

#[test]
fn an_intake_without_a_site_writes_no_site_key_and_serializes_as_before() {
    let wo = WorkOrder::create("WO-7", &office(), Intake::example(), T0).unwrap();
    let (_, intake) = wo.doc().get(ROOT, "intake").unwrap().unwrap();
    assert!(wo.doc().get(&intake, "site").unwrap().is_none());
    let json = serde_json::to_value(wo.view().unwrap().intake).unwrap();
    assert!(json.get("site").is_none(), "{json}");
}

#[test]
fn a_site_survives_save_load_and_a_fork_to_a_device() {
    let wo = accepted(Some(berlin()));
    let loaded = WorkOrder::load(&wo.save(), "phone-b").unwrap();
    assert_eq!(loaded.view().unwrap().intake.site, Some(berlin()));
    let phone = wo.fork_for("phone-a").unwrap();
    assert_eq!(phone.view().unwrap().intake.site, Some(berlin()));
    let json = serde_json::to_value(phone.view().unwrap().intake).unwrap();
    assert_eq!(
        json["site"],
        serde_json::json!({"lat": 52.52, "lon": 13.405})
    );
}

#[test]
fn intake_refuses_a_site_out_of_range() {
    for (lat, lon) in [
        (90.1, 0.0),
        (-91.0, 0.0),
        (0.0, 180.5),
        (0.0, -200.0),
        (f64::NAN, 1.0),
    ] {
        let intake = Intake {
            site: Some(GeoPoint { lat, lon }),
            ..Intake::example()
        };
        match WorkOrder::create("WO-7", &office(), intake, T0) {
            Err(WorkOrderError::Invalid {
                field: "site",
                reason,
            }) => {
                assert!(reason.contains("between"), "{reason}")
            }
            other => panic!("({lat}, {lon}): {other:?}"),
        }
    }
}

#[test]
fn an_on_site_event_carries_the_position_and_one_without_reads_as_before() {
    let mut wo = accepted(None);
    wo.on_site_at(&tech(), Some(berlin()), T0 + 3 * MIN)
        .unwrap();
    let events = wo.history().unwrap();
    let on_site = events.last().unwrap();
    assert_eq!(on_site.kind, EventKind::OnSite);
    assert_eq!(on_site.position, Some(berlin()));
    let json = serde_json::to_string(on_site).unwrap();
    assert!(
        json.ends_with(r#""kind":{"kind":"on_site"},"position":{"lat":52.52,"lon":13.405}}"#),
        "{json}"
    );
    // Without a position the event is the JSON every earlier version wrote.
    let mut plain = accepted(None);
    plain.on_site(&tech(), T0 + 3 * MIN).unwrap();
    let json = serde_json::to_string(plain.history().unwrap().last().unwrap()).unwrap();
    assert!(json.ends_with(r#""kind":{"kind":"on_site"}}"#), "{json}");
    let old: Event = serde_json::from_str(&json).unwrap();
    assert_eq!(old.position, None);
    // The view does not change with a position.
    assert_eq!(wo.view().unwrap().status, Status::OnSite);
    assert!(wo
        .on_site_at(
            &tech(),
            Some(GeoPoint {
                lat: 0.0,
                lon: 181.0
            }),
            T0
        )
        .is_err());
}

/// Appends `event` to the phone's copy as raw JSON, bypassing the operations' checks.
fn forge(phone: &mut WorkOrder, event: &Event) {
    let events = phone.doc().get(ROOT, "events").unwrap().unwrap().1;
    let len = phone.doc().length(&events);
    let json = serde_json::to_string(event).unwrap();
    phone
        .doc_mut()
        .transact::<_, _, AutomergeError>(|tx| tx.insert(&events, len, json.as_str()).map(|_| ()))
        .unwrap();
}

#[test]
fn the_upload_check_refuses_a_position_out_of_range_or_on_another_kind_of_event() {
    let who = Uploader {
        user: "tech-a",
        role: Role::Technician,
        device: "phone-a",
    };
    let cases = [
        (
            EventKind::OnSite,
            GeoPoint {
                lat: 95.0,
                lon: 0.0,
            },
            "latitude 95",
        ),
        (
            EventKind::OnSite,
            GeoPoint {
                lat: 1.0,
                lon: -190.0,
            },
            "longitude -190",
        ),
        (
            EventKind::EnRoute,
            berlin(),
            "only on_site carries a position",
        ),
    ];
    for (kind, p, expect) in cases {
        let mut server = accepted(None);
        let mut phone = server.fork_for("phone-a").unwrap();
        let mut event = phone.history().unwrap().pop().unwrap();
        event.id = "phone-a#9".into();
        event.kind = kind;
        event.position = Some(p);
        forge(&mut phone, &event);
        let before = server.heads();
        let changes = phone.doc().get_changes(&before);
        server.doc_mut().apply_changes(changes).unwrap();
        match new_events(server.doc(), &before, who) {
            Err(e @ UploadRefused::BadPosition { .. }) => {
                assert!(e.to_string().contains(expect), "{e}")
            }
            other => panic!("{expect}: {other:?}"),
        }
    }
    // A position in range on an on-site event passes.
    let mut server = accepted(None);
    let mut phone = server.fork_for("phone-a").unwrap();
    phone
        .on_site_at(&tech(), Some(berlin()), T0 + 3 * MIN)
        .unwrap();
    let before = server.heads();
    let changes = phone.doc().get_changes(&before);
    server.doc_mut().apply_changes(changes).unwrap();
    let added = new_events(server.doc(), &before, who).unwrap();
    assert_eq!(added[0].position, Some(berlin()));
}
