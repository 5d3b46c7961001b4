#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;
use futures_util::future::poll_fn;

use super::hub::{Audience, Hub};
use super::publish::{merge, parse, payloads, touch, Merged, MAX_PAYLOAD};
use super::stream::{refresh_lead, EventStream};
use super::{Change, Touched};

fn touched(id: &str, region: &str, techs: &[&str], origin: Option<&str>) -> Touched {
    Touched {
        id: id.into(),
        region: region.into(),
        technicians: techs.iter().map(|t| (*t).to_owned()).collect(),
        origin: origin.map(str::to_owned),
    }
}

#[test]
fn each_audience_hears_of_what_its_sync_scope_covers() {
    let north_a = touched("WO-1", "north", &["tech-a"], None);
    let taken = touched("WO-2", "south", &["tech-b", "tech-a"], None);
    let cases = [
        (Audience::Technician("tech-a".into()), &north_a, true),
        (Audience::Technician("tech-b".into()), &north_a, false),
        (Audience::Technician("tech-a".into()), &taken, true),
        (Audience::Regions(vec!["north".into()]), &north_a, true),
        (Audience::Regions(vec!["north".into()]), &taken, false),
        (Audience::Regions(vec![]), &north_a, false),
        (Audience::Everyone, &taken, true),
    ];
    for (audience, t, expected) in cases {
        assert_eq!(audience.concerns(t), expected, "{audience:?} {t:?}");
    }
}

#[test]
fn a_batch_marks_the_concerned_streams_once_and_skips_the_device_that_made_it() {
    let hub = Hub::new(1_000);
    let a_phone = hub.subscribe(
        Audience::Technician("tech-a".into()),
        Some("a-phone".into()),
        false,
    );
    let a_tablet = hub.subscribe(
        Audience::Technician("tech-a".into()),
        Some("a-tab".into()),
        false,
    );
    let b = hub.subscribe(
        Audience::Technician("tech-b".into()),
        Some("b-phone".into()),
        false,
    );
    let north = hub.subscribe(
        Audience::Regions(vec!["north".into()]),
        Some("desk".into()),
        false,
    );
    let south = hub.subscribe(Audience::Regions(vec!["south".into()]), None, false);
    let boss = hub.subscribe(Audience::Everyone, None, false);

    hub.deliver(
        2_000,
        vec![
            touched("WO-1", "north", &["tech-a"], Some("a-phone")),
            touched("WO-2", "north", &["tech-a"], Some("a-phone")),
        ],
    );
    assert_eq!(a_phone.slot().take(), None, "its own sync");
    assert_eq!(a_tablet.slot().take(), Some(2_000));
    assert_eq!(a_tablet.slot().take(), None, "taken once");
    assert_eq!(b.slot().take(), None);
    assert_eq!(north.slot().take(), Some(2_000));
    assert_eq!(south.slot().take(), None);
    assert_eq!(boss.slot().take(), Some(2_000));
    assert_eq!(hub.latest(), 2_000);

    // Two batches before the stream writes: one pending event, with the later id.
    hub.deliver(3_000, vec![touched("WO-3", "south", &["tech-b"], None)]);
    hub.deliver(3_500, vec![touched("WO-3", "south", &["tech-b"], None)]);
    assert_eq!(b.slot().take(), Some(3_500));
    assert_eq!(south.slot().take(), Some(3_500));
    assert_eq!(north.slot().take(), None);
}

#[test]
fn a_dropped_stream_is_no_longer_marked_nor_counted() {
    let hub = Hub::new(1_000);
    let a = hub.subscribe(Audience::Technician("tech-a".into()), None, false);
    let a2 = hub.subscribe(Audience::Technician("tech-a".into()), None, false);
    let all = hub.subscribe(Audience::Everyone, None, false);
    assert_eq!(hub.open_streams(), 3);
    drop(a);
    drop(all);
    assert_eq!(hub.open_streams(), 1);
    hub.deliver(2_000, vec![touched("WO-1", "north", &["tech-a"], None)]);
    assert_eq!(a2.slot().take(), Some(2_000));
}

#[test]
fn a_resume_gets_a_sync_only_when_something_of_its_own_changed_since() {
    let hub = Hub::new(1_000);
    hub.deliver(2_000, vec![touched("WO-1", "north", &["tech-a"], None)]);
    hub.deliver(3_000, vec![touched("WO-9", "south", &["tech-z"], None)]);
    hub.deliver(
        4_000,
        vec![touched("WO-2", "north", &["tech-a"], Some("a-phone"))],
    );
    let a = hub.subscribe(
        Audience::Technician("tech-a".into()),
        Some("a-phone".into()),
        false,
    );
    assert!(
        hub.missed(&a, None),
        "a first connection starts with a sync"
    );
    assert!(hub.missed(&a, Some(500)), "older than what this hub knows");
    assert!(hub.missed(&a, Some(1_999)), "WO-1 changed after it");
    assert!(
        !hub.missed(&a, Some(2_000)),
        "only others' work and its own sync since"
    );
    let other = hub.subscribe(
        Audience::Technician("tech-a".into()),
        Some("a-tab".into()),
        false,
    );
    assert!(
        hub.missed(&other, Some(2_000)),
        "the phone's sync concerns the tablet"
    );
    let z = hub.subscribe(Audience::Technician("tech-z".into()), None, false);
    assert!(!hub.missed(&z, Some(3_000)));
}

#[test]
fn after_a_gap_every_stream_syncs_and_older_resumes_too() {
    let hub = Hub::new(1_000);
    let a = hub.subscribe(Audience::Technician("tech-a".into()), None, false);
    let d = hub.subscribe(
        Audience::Regions(vec!["north".into(), "south".into()]),
        None,
        false,
    );
    hub.resync_all(5_000);
    assert_eq!(a.slot().take(), Some(5_000));
    assert_eq!(d.slot().take(), Some(5_000));
    assert!(hub.missed(&a, Some(4_999)));
    assert!(!hub.missed(&a, Some(5_000)));
}

#[test]
fn changes_merge_per_work_order_keeping_every_technician_taken_from() {
    let merged = merge(vec![
        Change::doc("WO-2").origin("phone"),
        Change::doc("WO-1").taken_from(Some("tech-a".into())),
        Change::doc("WO-1").taken_from(Some("tech-b".into())),
        Change::doc("WO-1").taken_from(Some("tech-a".into())),
        Change::doc("WO-2").origin("phone"),
        Change::doc("WO-3").origin("phone"),
        Change::doc("WO-3").origin("tablet"),
    ]);
    assert_eq!(
        merged,
        vec![
            Merged {
                id: "WO-1".into(),
                taken_from: vec!["tech-a".into(), "tech-b".into()],
                origin: None
            },
            Merged {
                id: "WO-2".into(),
                taken_from: vec![],
                origin: Some("phone".into())
            },
            Merged {
                id: "WO-3".into(),
                taken_from: vec![],
                origin: None
            },
        ]
    );
    let rows = BTreeMap::from([
        (
            "WO-1".to_owned(),
            ("north".to_owned(), Some("tech-c".to_owned())),
        ),
        ("WO-2".to_owned(), ("south".to_owned(), None)),
    ]);
    let t = touch(merged, &rows);
    assert_eq!(t[0].technicians, ["tech-c", "tech-a", "tech-b"]);
    assert_eq!(t[0].region, "north");
    assert!(t[1].technicians.is_empty());
    assert_eq!(t[2].region, "", "no projection: nobody by region");
}

#[test]
fn large_batches_split_into_notifications_under_the_limit_and_parse_back() {
    let many: Vec<Touched> = (0..300)
        .map(|i| {
            touched(
                &format!("WO-{i:05}"),
                "north",
                &["tech-a", "tech-b"],
                Some("dev"),
            )
        })
        .collect();
    let parts = payloads(&many);
    assert!(parts.len() > 1);
    let mut back = Vec::new();
    for p in &parts {
        assert!(p.len() <= MAX_PAYLOAD, "{}", p.len());
        let (stamp, t) = parse(&format!("1234 {p}")).unwrap();
        assert_eq!(stamp, 1234);
        back.extend(t);
    }
    assert_eq!(back, many);
    assert_eq!(parse("not ours"), None);
    assert_eq!(parse("12 [oops"), None);
}

#[test]
fn the_stream_ends_a_tenth_of_the_token_life_early_within_bounds() {
    assert_eq!(
        refresh_lead(Duration::from_secs(900)),
        Duration::from_secs(30)
    );
    assert_eq!(
        refresh_lead(Duration::from_secs(100)),
        Duration::from_secs(10)
    );
    assert_eq!(refresh_lead(Duration::from_secs(3)), Duration::from_secs(1));
}

async fn next(s: &mut EventStream) -> Option<String> {
    poll_fn(|cx| Pin::new(&mut *s).poll_next(cx))
        .await
        .map(|b| String::from_utf8(b.unwrap().to_vec()).unwrap())
}

#[tokio::test]
async fn a_stream_says_retry_then_sync_heartbeats_and_ends_with_refresh() {
    let hub = Hub::new(1_000);
    let sub = hub.subscribe(Audience::Technician("tech-a".into()), None, false);
    // A 10 s token: the stream ends 1 s before it expires; heartbeats every 200 ms.
    let beat = Duration::from_millis(200);
    let mut s = EventStream::with_heartbeat(sub, Duration::from_secs(10), 77, 1_000, true, beat);
    let started = tokio::time::Instant::now();
    assert_eq!(
        next(&mut s).await.unwrap(),
        "retry: 2000\n\nid: 1000\nevent: sync\ndata: {\"reason\":\"resume\"}\n\n"
    );
    hub.deliver(2_000, vec![touched("WO-1", "north", &["tech-a"], None)]);
    assert_eq!(
        next(&mut s).await.unwrap(),
        "id: 2000\nevent: sync\ndata: {\"reason\":\"changed\"}\n\n"
    );
    let mut pings = 0;
    let last = loop {
        let chunk = next(&mut s).await.unwrap();
        if chunk == ":\n\n" {
            pings += 1;
        } else {
            break chunk;
        }
    };
    let took = started.elapsed();
    // 9 s of 200 ms heartbeats: 44 (a loaded machine may fire a late timer once less).
    assert!((40..=45).contains(&pings), "{pings} heartbeats");
    assert_eq!(
        last,
        "id: 2000\nevent: refresh\ndata: {\"expires_at\":77}\n\n"
    );
    assert!(took >= Duration::from_secs(9), "ended after {took:?}");
    assert_eq!(next(&mut s).await, None);
}

#[tokio::test]
async fn a_stream_whose_token_is_nearly_spent_ends_at_once_with_refresh() {
    let hub = Hub::new(1_000);
    let sub = hub.subscribe(Audience::Everyone, None, false);
    let mut s = EventStream::new(sub, Duration::from_millis(500), 9, 1_000, false);
    assert_eq!(next(&mut s).await.unwrap(), "retry: 2000\n\n");
    assert!(next(&mut s).await.unwrap().contains("event: refresh"));
    assert_eq!(next(&mut s).await, None);
}

#[tokio::test]
async fn a_stream_without_a_device_is_told_which_work_orders_changed() {
    let hub = Hub::new(1_000);
    let desk = hub.subscribe(Audience::Regions(vec!["north".into()]), None, true);
    let boss = hub.subscribe(Audience::Everyone, None, true);
    let mut s = EventStream::new(desk, Duration::from_secs(600), 9, 1_000, false);
    assert_eq!(next(&mut s).await.unwrap(), "retry: 2000\n\n");
    // Two batches before the stream writes: one event naming both, each once.
    hub.deliver(2_000, vec![touched("WO-1", "north", &[], None)]);
    hub.deliver(
        2_100,
        vec![
            touched("WO-2", "north", &[], None),
            touched("WO-1", "north", &[], None),
            touched("WO-3", "south", &[], None),
        ],
    );
    assert_eq!(
        next(&mut s).await.unwrap(),
        "id: 2100\nevent: sync\ndata: {\"reason\":\"changed\",\"work_orders\":[\"WO-1\",\"WO-2\"]}\n\n"
    );
    // The all-seeing stream: every id; past the cap, none (refetch everything).
    assert_eq!(
        boss.slot().take_ids(),
        Some(vec![
            "WO-1".to_owned(),
            "WO-2".to_owned(),
            "WO-3".to_owned()
        ])
    );
    let many: Vec<Touched> = (0..=crate::events::hub::MAX_EVENT_IDS)
        .map(|i| touched(&format!("WO-{i}"), "north", &[], None))
        .collect();
    hub.deliver(3_000, many);
    assert_eq!(boss.slot().take_ids(), None);
    // A resync names nothing either.
    hub.deliver(4_000, vec![touched("WO-7", "north", &[], None)]);
    hub.resync_all(5_000);
    assert_eq!(boss.slot().take_ids(), None);
    // A device's stream never tracks ids.
    let phone = hub.subscribe(Audience::Everyone, Some("phone".into()), false);
    hub.deliver(6_000, vec![touched("WO-8", "north", &[], None)]);
    assert_eq!(phone.slot().take(), Some(6_000));
    assert_eq!(phone.slot().take_ids(), None);
}

#[tokio::test]
async fn a_stock_move_reaches_every_office_stream_and_the_vans_technician() {
    let hub = Hub::new(1_000);
    let north = hub.subscribe(Audience::Regions(vec!["north".into()]), None, true);
    let south = hub.subscribe(Audience::Regions(vec!["south".into()]), None, true);
    let boss = hub.subscribe(Audience::Everyone, None, true);
    let van_owner = hub.subscribe(
        Audience::Technician("tech-a".into()),
        Some("a-phone".into()),
        false,
    );
    let other = hub.subscribe(
        Audience::Technician("tech-b".into()),
        Some("b-phone".into()),
        false,
    );
    let changes = vec![
        Change::stock("central", None),
        Change::stock("van:tech-a", Some("tech-a".into())),
    ];
    let batch = touch(merge(changes), &BTreeMap::new());
    assert!(batch.iter().all(Touched::is_office_wide));
    assert!(Audience::Regions(vec!["south".into()]).concerns(&batch[0]));
    hub.deliver(2_000, batch);
    let both = Some(vec![
        "stock/central".to_owned(),
        "stock/van:tech-a".to_owned(),
    ]);
    assert_eq!(boss.slot().take_ids(), both);
    assert_eq!(south.slot().take_ids(), both);
    assert_eq!(van_owner.slot().take(), Some(2_000), "its van changed");
    assert_eq!(other.slot().take(), None);
    // The console's event lists the locations apart from the work orders.
    let mut s = EventStream::new(north, Duration::from_secs(600), 9, 1_000, false);
    assert_eq!(next(&mut s).await.unwrap(), "retry: 2000\n\n");
    hub.deliver(
        3_000,
        vec![touched("WO-1", "north", &[], None)]
            .into_iter()
            .chain(touch(
                merge(vec![Change::stock("van:tech-a", None)]),
                &BTreeMap::new(),
            ))
            .collect(),
    );
    assert_eq!(
        next(&mut s).await.unwrap(),
        "id: 3000\nevent: sync\ndata: {\"reason\":\"changed\",\"work_orders\":[\"WO-1\"],\"stock\":[\"central\",\"van:tech-a\"]}\n\n"
    );
}
