//! Ranking with travel: distance after load, unknown distances last, the batch and the
//! explanation agreeing, and nothing changing without coordinates.

use std::collections::HashMap;

use proptest::prelude::*;
use sync_core::workorder::{CustomerTier, GeoPoint, Priority};

use super::travel::{PositionSource, Whereabouts};
use super::*;

fn tech(id: &str, capacity: u32, open: u32) -> Technician {
    Technician {
        id: id.into(),
        regions: vec!["north".into()],
        skills: vec![],
        active: true,
        capacity,
        open,
    }
}

fn job(id: &str) -> Job {
    Job {
        id: id.into(),
        region: "north".into(),
        skills: vec![],
        priority: Priority::Normal,
        tier: CustomerTier::Standard,
        deadline: None,
        created_at: 0,
        refused: vec![],
    }
}

fn at(lat: f64, lon: f64, source: PositionSource) -> Whereabouts {
    Whereabouts {
        point: GeoPoint::new(lat, lon).unwrap(),
        source,
    }
}

/// The job J at 52.5°N 13.4°E; a 0.1° east of it, b 1° east, c nowhere known.
fn travel() -> Travel {
    Travel {
        sites: HashMap::from([("J".into(), GeoPoint::new(52.5, 13.4).unwrap())]),
        positions: HashMap::from([
            ("a".into(), at(52.5, 13.5, PositionSource::LastKnown)),
            ("b".into(), at(52.5, 14.4, PositionSource::HomeBase)),
        ]),
    }
}

#[test]
fn at_equal_load_the_nearest_wins_and_its_distance_is_shown() {
    // Ids would put b before a and c; distance puts a first, c (unknown) last.
    let techs = [tech("c", 4, 1), tech("b", 4, 1), tech("a", 4, 1)];
    let e = explain_with(&job("J"), &techs, &travel());
    assert_eq!(e.chosen.as_deref(), Some("a"));
    let order: Vec<&str> = e.candidates.iter().map(|c| c.technician.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    let a = &e.candidates[0];
    assert_eq!(a.position, Some(PositionSource::LastKnown));
    // 0.1° of longitude at 52.5°N is ~6.8 km.
    let km = a.distance_km.unwrap().km();
    assert!((km - 6.77).abs() < 0.05, "{km}");
    assert_eq!(e.candidates[1].position, Some(PositionSource::HomeBase));
    assert_eq!(e.candidates[2].distance_km, None);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["candidates"][0]["position"], "last_known");
    assert!(json["candidates"][0]["distance_km"].as_f64().unwrap() > 6.0);
    assert!(json["candidates"][2].get("distance_km").is_none());
}

#[test]
fn load_still_beats_distance() {
    // a is nearest but holds 2 of 4; b holds 1 of 4.
    let techs = [tech("a", 4, 2), tech("b", 4, 1)];
    let e = explain_with(&job("J"), &techs, &travel());
    assert_eq!(e.chosen.as_deref(), Some("b"));
    let mut copy = techs.to_vec();
    let batch = assign_batch_with(&[job("J")], &mut copy, &travel());
    assert_eq!(batch[0].technician.as_deref(), Some("b"));
}

#[test]
fn distance_comes_before_fewer_open_jobs_at_the_same_load() {
    // Same load (1/2 and 2/4): without travel b's fewer open jobs... a has 1 open, b 2; with
    // travel the nearer b wins.
    let techs = [tech("a", 2, 1), tech("b", 4, 2)];
    let mut t = travel();
    t.positions
        .insert("a".into(), at(52.5, 15.0, PositionSource::HomeBase));
    assert_eq!(explain(&job("J"), &techs).chosen.as_deref(), Some("a"));
    assert_eq!(
        explain_with(&job("J"), &techs, &t).chosen.as_deref(),
        Some("b")
    );
}

#[test]
fn a_job_without_a_site_ranks_as_without_travel() {
    let techs = [tech("b", 4, 1), tech("a", 4, 1)];
    let e = explain_with(&job("K"), &techs, &travel());
    assert_eq!(e, explain(&job("K"), &techs));
    assert!(e.candidates.iter().all(|c| c.distance_km.is_none()));
}

fn arb_travel() -> impl Strategy<Value = Travel> {
    (
        prop::collection::vec(prop::option::of((-1.0..1.0f64, -1.0..1.0f64)), 40),
        prop::collection::vec(prop::option::of((-1.0..1.0f64, -1.0..1.0f64)), 12),
    )
        .prop_map(|(sites, homes)| Travel {
            sites: sites
                .into_iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    s.map(|(lat, lon)| (format!("j{i:02}"), GeoPoint { lat, lon }))
                })
                .collect(),
            positions: homes
                .into_iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    s.map(|(lat, lon)| {
                        let w = Whereabouts {
                            point: GeoPoint { lat, lon },
                            source: PositionSource::HomeBase,
                        };
                        (format!("t{i:02}"), w)
                    })
                })
                .collect(),
        })
}

fn arb_world() -> impl Strategy<Value = (Vec<Technician>, Vec<Job>)> {
    (
        prop::collection::vec((0..2u8, 0..5u32, 0..5u32), 0..12),
        prop::collection::vec((0..2u8, 0..3u8), 0..40),
    )
        .prop_map(|(techs, jobs)| {
            let techs = techs
                .into_iter()
                .enumerate()
                .map(|(i, (r, cap, open))| Technician {
                    id: format!("t{i:02}"),
                    regions: vec![format!("r{r}")],
                    skills: vec![],
                    active: true,
                    capacity: cap,
                    open: open.min(cap),
                })
                .collect();
            let jobs = jobs
                .into_iter()
                .enumerate()
                .map(|(i, (r, p))| Job {
                    id: format!("j{i:02}"),
                    region: format!("r{r}"),
                    priority: [Priority::Normal, Priority::Vip, Priority::Urgent][p as usize],
                    ..job("x")
                })
                .collect();
            (techs, jobs)
        })
}

proptest! {
    #[test]
    fn the_batch_and_the_explanation_choose_the_same_with_travel(
        (techs, jobs) in arb_world(),
        travel in arb_travel(),
    ) {
        let mut decided = techs.clone();
        let out = assign_batch_with(&jobs, &mut decided, &travel);
        let mut explained = techs.clone();
        let plan = explain_batch_with(&jobs, &mut explained, &travel);
        let a: Vec<(&str, Option<&String>)> = out.iter().map(|d| (d.job.as_str(), d.technician.as_ref())).collect();
        let b: Vec<(&str, Option<&String>)> = plan.iter().map(|e| (e.job.as_str(), e.chosen.as_ref())).collect();
        prop_assert_eq!(a, b);
        prop_assert_eq!(&decided, &explained);
        // Load first: nobody eligible was less loaded than the one chosen, and at equal load
        // nobody with a known distance was nearer.
        for e in &plan {
            let Some(c) = e.candidates.iter().find(|c| c.rank == Some(1)) else { continue };
            for o in e.candidates.iter().filter(|o| o.rank.is_some()) {
                let (lc, lo) = (u64::from(c.open) * u64::from(o.capacity), u64::from(o.open) * u64::from(c.capacity));
                prop_assert!(lc <= lo);
                if lc == lo {
                    if let Some(d) = o.distance_km {
                        prop_assert!(c.distance_km.is_some_and(|x| x <= d));
                    }
                }
            }
        }
    }

    #[test]
    fn without_any_position_travel_changes_nothing(
        (techs, jobs) in arb_world(),
        travel in arb_travel(),
    ) {
        let sites_only = Travel { sites: travel.sites, positions: HashMap::new() };
        let plain = explain_batch(&jobs, &mut techs.clone());
        let with = explain_batch_with(&jobs, &mut techs.clone(), &sites_only);
        prop_assert_eq!(plain, with);
    }
}
