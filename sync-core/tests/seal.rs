//! The signature seal: what the customer signed must be provable later.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sync_core::workorder::*;

fn signed() -> WorkOrder {
    let c = cast();
    let mut wo = job(Stage::WorkingWithPart);
    wo.add_photo(
        &c.a_phone,
        &blob(5),
        PhotoKind::After,
        "fixed",
        T0 + 7 * MIN,
        T0 + 7 * MIN,
    )
    .unwrap();
    wo.record_test(&c.a_phone, true, "runs", T0 + 8 * MIN)
        .unwrap();
    wo.sign(&c.a_phone, "Ada Customer", &blob(9), T0 + 9 * MIN)
        .unwrap();
    wo
}

#[test]
fn a_fresh_signature_is_intact() {
    let wo = signed();
    let report = wo.verify_signature().unwrap().unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.signer, "Ada Customer");
    assert_eq!(report.signed_at, T0 + 9 * MIN);
    assert!(job(Stage::WorkingWithPart)
        .verify_signature()
        .unwrap()
        .is_none());
}

#[test]
fn a_part_changed_after_signing_is_reported() {
    let c = cast();
    let mut wo = signed();
    let line = wo.view().unwrap().parts[0].line.clone();
    let patch = PartPatch {
        qty: Some(3),
        ..Default::default()
    };
    wo.change_part(&c.a_phone, &line, patch, T0 + 10 * MIN)
        .unwrap();
    let report = wo.verify_signature().unwrap().unwrap();
    assert!(!report.intact());
    assert!(
        report.digest_matches,
        "the signed record itself is consistent"
    );
    assert_eq!(report.changes.len(), 1);
    assert_eq!(report.changes[0].area, "parts");
    assert_eq!(report.changes[0].item.as_deref(), Some(line.as_str()));
}

#[test]
fn a_concurrent_edit_of_the_signed_part_is_reported_after_merge() {
    let c = cast();
    let base = job(Stage::WorkingWithPart);
    let line = base.view().unwrap().parts[0].line.clone();
    let mut phone = base.fork_for(&c.a_phone.device).unwrap();
    let mut tablet = base.fork_for(&c.a_tablet.device).unwrap();
    phone
        .sign(&c.a_phone, "Ada Customer", &blob(9), T0 + 20 * MIN)
        .unwrap();
    assert!(phone.verify_signature().unwrap().unwrap().intact());
    let patch = PartPatch {
        price_cents: Some(9_900),
        ..Default::default()
    };
    tablet
        .change_part(&c.a_tablet, &line, patch, T0 + 19 * MIN)
        .unwrap();
    converge(&mut phone, &mut tablet);
    for wo in [&phone, &tablet] {
        let report = wo.verify_signature().unwrap().unwrap();
        assert!(!report.intact());
        assert_eq!(report.changes.len(), 1);
        let ch = &report.changes[0];
        assert!(ch.signed.as_deref().unwrap().contains("4900"), "{ch:?}");
        assert!(ch.now.as_deref().unwrap().contains("9900"), "{ch:?}");
    }
}

#[test]
fn photos_added_or_removed_after_signing_are_reported() {
    let c = cast();
    let mut wo = signed();
    let photo = wo.view().unwrap().photos[0].photo.clone();
    wo.remove_photo(&c.a_phone, &photo, T0 + 10 * MIN).unwrap();
    wo.add_photo(
        &c.a_phone,
        &blob(6),
        PhotoKind::After,
        "other",
        T0,
        T0 + 11 * MIN,
    )
    .unwrap();
    let report = wo.verify_signature().unwrap().unwrap();
    let photos: Vec<_> = report
        .changes
        .iter()
        .filter(|c| c.area == "photos")
        .collect();
    assert_eq!(photos.len(), 2, "{report:?}");
    assert!(photos.iter().any(|c| c.now.is_none()), "the removed one");
    assert!(photos.iter().any(|c| c.signed.is_none()), "the added one");
}

#[test]
fn notes_are_not_part_of_what_the_customer_signs() {
    let c = cast();
    let mut wo = signed();
    wo.edit_notes(&c.dispatcher, "customer prefers mornings", T0 + 10 * MIN)
        .unwrap();
    assert!(wo.verify_signature().unwrap().unwrap().intact());
}

#[test]
fn the_seal_survives_save_load_and_sync() {
    let wo = signed();
    let copy = WorkOrder::load(&wo.save(), "server-1").unwrap();
    assert!(copy.verify_signature().unwrap().unwrap().intact());
}
