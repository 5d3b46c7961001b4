//! `cargo bench -p sync-core`
//!
//! A device returns with 10 offline changes in each of 1,000 work orders; the server (the
//! receiving side) takes them through the real protocol: encode, decode, apply, reply, until
//! quiescent. Reports changes per second (criterion's element throughput), and prints bytes on
//! the wire per change, round trips and the saved size of a typical visit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sync_core::ids::BlobHash;
use sync_core::protocol::testing::Network;
use sync_core::workorder::*;

const T0: i64 = 1_790_000_000_000;
const DOCS: usize = 1_000;
const CHANGES_PER_DOC: usize = 10;

fn dispatcher() -> Actor {
    Actor::new("disp-1", Role::Dispatcher, "server-1")
}

fn tech() -> Actor {
    Actor::new("tech-a", Role::Technician, "phone-a")
}

/// A typical finished visit: 5 parts, 3 photos, a signature and a 500-character note.
fn typical_visit() -> WorkOrder {
    let t = tech();
    let mut wo = WorkOrder::create("WO-TYPICAL", &dispatcher(), Intake::example(), T0).unwrap();
    wo.assign(&dispatcher(), "tech-a", None, T0 + 1).unwrap();
    wo.accept(&t, T0 + 2).unwrap();
    wo.on_site(&t, T0 + 3).unwrap();
    wo.diagnose(
        &t,
        "drain pump blocked",
        &["clean pump", "replace pump"],
        T0 + 4,
    )
    .unwrap();
    wo.start_work(&t, T0 + 5).unwrap();
    for i in 0..5 {
        wo.add_part(
            &t,
            PartInput::new(format!("SKU-{i}"), 1, 1_000 + i),
            T0 + 10 + i,
        )
        .unwrap();
    }
    for i in 0..3u8 {
        let blob = BlobHash::of(&[i]).to_string();
        wo.add_photo(
            &t,
            &blob,
            PhotoKind::After,
            "after",
            T0,
            T0 + 20 + i64::from(i),
        )
        .unwrap();
    }
    let note: String = "Customer reports noise at spin. "
        .chars()
        .cycle()
        .take(500)
        .collect();
    wo.edit_notes(&t, &note, T0 + 30).unwrap();
    wo.record_test(&t, true, "drains and spins", T0 + 31)
        .unwrap();
    wo.sign(
        &t,
        "Ada Customer",
        &BlobHash::of(b"sig").to_string(),
        T0 + 32,
    )
    .unwrap();
    wo.complete(&t, true, T0 + 33).unwrap();
    wo
}

/// The network just before the device syncs: the server and the device share 1,000 accepted
/// work orders, and the device made 10 changes to each while offline.
fn returning_device() -> Network {
    let mut net = Network::new();
    for i in 0..DOCS {
        let id = format!("WO-{i}");
        let mut wo = WorkOrder::create(&id, &dispatcher(), Intake::example(), T0).unwrap();
        wo.assign(&dispatcher(), "tech-a", None, T0 + 1).unwrap();
        *net.server_mut().create_doc(&id) = wo.into_automerge();
    }
    net.add_device("phone-a");
    net.sync("phone-a").unwrap();
    let t = tech();
    for i in 0..DOCS {
        let id = format!("WO-{i}");
        let doc = net.device_doc_mut("phone-a", &id).unwrap();
        let mut wo = WorkOrder::from_automerge(std::mem::take(doc));
        let mut now = T0 + 100;
        let mut step =
            |f: &mut dyn FnMut(&mut WorkOrder, i64) -> Result<String, WorkOrderError>| {
                now += 1_000;
                f(&mut wo, now).unwrap();
            };
        step(&mut |wo, now| wo.accept(&t, now));
        step(&mut |wo, now| wo.on_site(&t, now));
        step(&mut |wo, now| wo.diagnose(&t, "worn belt", &["replace belt"], now));
        step(&mut |wo, now| wo.start_work(&t, now));
        step(&mut |wo, now| wo.add_part(&t, PartInput::new("BELT-1", 1, 1_500), now));
        step(&mut |wo, now| wo.add_part(&t, PartInput::new("SCREW-4", 4, 20), now));
        step(&mut |wo, now| {
            wo.add_photo(
                &t,
                &BlobHash::of(b"p").to_string(),
                PhotoKind::After,
                "belt",
                now,
                now,
            )
        });
        step(&mut |wo, now| wo.edit_notes(&t, "Replaced the belt; customer happy.", now));
        step(&mut |wo, now| wo.record_test(&t, true, "spins quietly", now));
        step(&mut |wo, now| wo.complete(&t, true, now));
        *doc = wo.into_automerge();
    }
    net
}

fn bench(c: &mut Criterion) {
    let visit = typical_visit();
    let saved = visit.save();
    eprintln!(
        "typical visit (5 parts, 3 photos, signature, 500-char note): save() = {} bytes, {} events",
        saved.len(),
        visit.view().unwrap().event_count
    );

    let net = returning_device();
    {
        let mut probe = net.clone();
        let stats = probe.sync("phone-a").unwrap();
        let changes = DOCS * CHANGES_PER_DOC;
        assert_eq!(
            probe.server().changes_applied(),
            changes,
            "every change reached the server"
        );
        eprintln!(
            "1,000 docs x 10 changes: {} round trips, {} B up, {} B down, {:.1} B on the wire per change",
            stats.round_trips,
            stats.request_bytes,
            stats.response_bytes,
            (stats.request_bytes + stats.response_bytes) as f64 / changes as f64
        );
    }

    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements((DOCS * CHANGES_PER_DOC) as u64));
    group.bench_function("server applies 1000 docs x 10 offline changes", |b| {
        b.iter_batched(
            || net.clone(),
            |mut n| n.sync("phone-a").unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();

    c.bench_function("save typical visit", |b| b.iter(|| visit.save()));
    c.bench_function("load typical visit", |b| {
        b.iter(|| WorkOrder::load(&saved, "x").unwrap())
    });
    c.bench_function("view (fold) typical visit", |b| {
        b.iter(|| visit.view().unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
