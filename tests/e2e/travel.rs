//! Travel-aware dispatch through the real server: home bases, sites and last known positions;
//! the nearest technician at equal load, load before distance; a technician's day as a route;
//! coordinates out of range refused where they come in; orders without coordinates as before.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ReadDoc, ROOT};
use serde_json::{json, Value};
use sync_core::workorder::{GeoPoint, Role};
use tests::TestServer;

use crate::BIN;

const SKILL: &str = "washing-machines"; // what Intake::example() requires

/// Berlin-Mitte, and Potsdam about 27 km south-west.
const MITTE: (f64, f64) = (52.5200, 13.4050);
const POTSDAM: (f64, f64) = (52.3906, 13.0645);

fn point((lat, lon): (f64, f64)) -> Value {
    json!({"lat": lat, "lon": lon})
}

/// Admin; technicians near (home in Mitte) and far (home in Potsdam) in north; an agent.
async fn company(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    s.add_user(&admin, "tech-near", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "tech-far", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
    for (who, home) in [("tech-near", MITTE), ("tech-far", POTSDAM)] {
        let r = s
            .patch(
                &admin,
                &format!("/v1/admin/users/{who}"),
                &json!({"home": point(home)}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["home"], point(home));
    }
    admin
}

async fn order_at(s: &TestServer, token: &str, id: &str, at: (f64, f64)) -> Value {
    s.create_order_with(token, id, "north", &json!({"site": point(at)}))
        .await
}

async fn explain(s: &TestServer, token: &str, id: &str) -> Value {
    let r = s.get(token, &format!("/v1/workorders/{id}/explain")).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The candidates of the latest decision about a work order.
fn decided(e: &Value) -> Vec<Value> {
    e["decisions"].as_array().unwrap().last().unwrap()["explanation"]["candidates"]
        .as_array()
        .unwrap()
        .clone()
}

tests::on_each_backend! {
    async fn at_equal_load_the_nearest_wins_and_the_explanation_shows_the_distance(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        // Ids alone would pick tech-far; the site is in Mitte.
        let v = order_at(&s, &agent, "WO-1", (52.5300, 13.4100)).await;
        assert_eq!(v["assignee"], "tech-near");
        assert_eq!(v["intake"]["site"], point((52.5300, 13.4100)));

        let e = explain(&s, &admin, "WO-1").await;
        let c = decided(&e);
        assert_eq!(c[0]["technician"], "tech-near");
        assert_eq!(c[0]["rank"], 1);
        assert_eq!(c[0]["position"], "home_base");
        let near = c[0]["distance_km"].as_f64().unwrap();
        assert!((1.0..1.3).contains(&near), "{near}");
        assert_eq!(c[1]["technician"], "tech-far");
        let far = c[1]["distance_km"].as_f64().unwrap();
        assert!((25.0..30.0).contains(&far), "{far}");

        // The admin users list shows the home bases.
        let users: Value = s.get(&admin, "/v1/admin/users").await.json().await.unwrap();
        let near_user = users.as_array().unwrap().iter().find(|u| u["id"] == "tech-near").unwrap();
        assert_eq!(near_user["home"], point(MITTE));
        let agent_user = users.as_array().unwrap().iter().find(|u| u["id"] == "agent-1").unwrap();
        assert!(agent_user.get("home").is_none());
    }
}

tests::on_each_backend! {
    async fn load_still_beats_distance(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        assert_eq!(order_at(&s, &agent, "WO-1", MITTE).await["assignee"], "tech-near");
        // tech-near holds 1 of 5 now: the next job in Mitte goes to tech-far, 27 km away.
        assert_eq!(order_at(&s, &agent, "WO-2", MITTE).await["assignee"], "tech-far");
        let c = decided(&explain(&s, &admin, "WO-2").await);
        assert_eq!(c[0]["technician"], "tech-far");
        assert!(c[0]["distance_km"].as_f64().unwrap() > 25.0);
        assert_eq!((c[1]["technician"].clone(), c[1]["rank"].clone()), (json!("tech-near"), json!(2)));

        // Clearing a home base: tech-far has no position, so at equal load the one with a
        // distance (tech-near) comes first.
        let r = s.patch(&admin, "/v1/admin/users/tech-far", &json!({"home": null})).await;
        assert_eq!(r.status(), 200);
        assert!(r.json::<Value>().await.unwrap().get("home").is_none());
        let v = order_at(&s, &agent, "WO-3", POTSDAM).await;
        assert_eq!(v["assignee"], "tech-near", "a known distance ranks before an unknown one");
        let c = decided(&explain(&s, &admin, "WO-3").await);
        assert!(c[1].get("distance_km").is_none(), "{c:?}");
    }
}

tests::on_each_backend! {
    async fn a_last_known_position_from_an_on_site_event_beats_the_home_base(backend) {
        // A manual clock, to let the report go stale without waiting.
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_CLOCK", "manual")]).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        // WO-1 in Potsdam goes to tech-far (equal load, nearer).
        assert_eq!(order_at(&s, &agent, "WO-1", POTSDAM).await["assignee"], "tech-far");
        assert_eq!(order_at(&s, &agent, "WO-2", (52.5310, 13.4120)).await["assignee"], "tech-near");
        // tech-far is sent to WO-1 but, as it turns out, is in Mitte: the on-site event says
        // where (a dispatcher could have moved the site; here the device reports it).
        let mut far = s.device("tech-far", Role::Technician, "phone-far").await;
        far.sync(&s).await.unwrap();
        let now = s.clock(&agent).await;
        far.act("WO-1", |wo, me| {
            wo.accept(me, now).unwrap();
            let here = GeoPoint::new(52.5330, 13.4150).unwrap();
            wo.on_site_at(me, Some(here), now + 1).unwrap()
        });
        let synced = far.sync(&s).await.unwrap();
        assert!(synced.report.rejected.is_empty(), "{:?}", synced.report);
        let history: Value = s.get(&admin, "/v1/workorders/WO-1").await.json().await.unwrap();
        assert_eq!(history["status"], "on_site");

        // Both hold 1 of 5; WO-3 in Mitte: tech-far's reported position is nearer than
        // tech-near's home base.
        assert_eq!(order_at(&s, &agent, "WO-3", (52.5331, 13.4151)).await["assignee"], "tech-far");
        let c = decided(&explain(&s, &admin, "WO-3").await);
        assert_eq!(c[0]["technician"], "tech-far");
        assert_eq!(c[0]["position"], "last_known");
        assert!(c[0]["distance_km"].as_f64().unwrap() < 0.1);
        assert_eq!(c[1]["position"], "home_base");

        // A day later the report is stale: tech-far is measured from Potsdam again.
        s.advance(&admin, "13h").await;
        let e = explain(&s, &admin, "WO-3").await;
        let far_now = e["now"]["candidates"].as_array().unwrap().iter()
            .find(|c| c["technician"] == "tech-far").unwrap().clone();
        assert_eq!(far_now["position"], "home_base");
        assert!(far_now["distance_km"].as_f64().unwrap() > 25.0);
    }
}

/// Sets an appointment on `id` from the technician's device, starting at `start`.
fn appointment(dev: &mut tests::Device, id: &str, start: i64, now: i64) {
    dev.act(id, |wo, me| {
        wo.accept(me, now).unwrap();
        wo.set_appointment(me, start, start + 3_600_000, None, now)
            .unwrap()
    });
}

tests::on_each_backend! {
    async fn a_day_is_ordered_into_a_route_with_leg_distances(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        // Everything goes to tech-near (tech-far at capacity 0 does not take jobs).
        let r = s.patch(&admin, "/v1/admin/users/tech-far", &json!({"capacity": 0})).await;
        assert_eq!(r.status(), 200);
        // On the equator-like line of latitude 52.52: the home at 13.405°E. An appointment at
        // 13.60 (morning) and one at 13.45 (afternoon); free jobs at 13.50 and 13.42.
        let at = |lon: f64| (52.52, lon);
        order_at(&s, &agent, "WO-AM", at(13.60)).await;
        order_at(&s, &agent, "WO-PM", at(13.45)).await;
        order_at(&s, &agent, "WO-F1", at(13.50)).await;
        order_at(&s, &agent, "WO-F2", at(13.42)).await;
        s.create_order(&agent, "WO-NOWHERE", "north").await;
        let now = s.clock(&agent).await;
        let day = now - now.rem_euclid(86_400_000);
        let mut near = s.device("tech-near", Role::Technician, "phone-near").await;
        near.sync(&s).await.unwrap();
        appointment(&mut near, "WO-AM", day + 9 * 3_600_000, now);
        appointment(&mut near, "WO-PM", day + 14 * 3_600_000, now);
        near.sync(&s).await.unwrap();

        let date = time::OffsetDateTime::from_unix_timestamp(day / 1000).unwrap().date();
        let r = s.get(&admin, &format!("/v1/technicians/tech-near/route?date={date}")).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let order: Vec<&str> = v["stops"].as_array().unwrap().iter()
            .map(|s| s["work_order"].as_str().unwrap()).collect();
        // From home: F2 (1 km) and F1 on the way to the morning appointment, then the
        // afternoon one; the job without a site last.
        assert_eq!(order, ["WO-F2", "WO-F1", "WO-AM", "WO-PM", "WO-NOWHERE"]);
        assert_eq!(v["start"]["source"], "home_base");
        let legs: Vec<Option<f64>> = v["stops"].as_array().unwrap().iter()
            .map(|s| s["leg_km"].as_f64()).collect();
        // 0.015°, 0.08°, 0.10°, 0.15° of longitude at 52.52°N (67.8 km a degree).
        for (got, want) in legs.iter().zip([1.02, 5.42, 6.78, 10.17]) {
            assert!((got.unwrap() - want).abs() < 0.05, "{legs:?}");
        }
        assert_eq!(legs[4], None);
        assert_eq!(v["unknown_legs"], 1);
        let total = v["total_km"].as_f64().unwrap();
        assert!((total - 23.39).abs() < 0.1, "{total}");
        assert_eq!(v["stops"][2]["appointment"]["start"], day + 9 * 3_600_000);

        // The technician sees their own route; not another's.
        let tech = s.user_token("tech-near").await;
        assert_eq!(s.get(&tech, "/v1/technicians/tech-near/route").await.status(), 200);
        let far = s.user_token("tech-far").await;
        let r = s.get(&far, "/v1/technicians/tech-near/route").await;
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");
        let r = s.get(&admin, "/v1/technicians/tech-near/route?date=2026-13-40").await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_date");
        let r = s.get(&admin, "/v1/technicians/agent-1/route").await;
        assert_eq!(r.status(), 404);
        // Another day: the appointments are not on it; the jobs without one are.
        let next = date.next_day().unwrap();
        let v: Value = s.get(&admin, &format!("/v1/technicians/tech-near/route?date={next}"))
            .await.json().await.unwrap();
        let order: Vec<&str> = v["stops"].as_array().unwrap().iter()
            .map(|s| s["work_order"].as_str().unwrap()).collect();
        assert_eq!(order, ["WO-F2", "WO-F1", "WO-NOWHERE"]);
    }
}

/// Appends an on-site event with `position` written as raw JSON, as a device with other
/// software (or a forger) could.
fn forge_on_site(dev: &mut tests::Device, id: &str, lat: f64, lon: f64, at: i64) {
    dev.act(id, |wo, me| {
        let doc = wo.doc_mut();
        let events = doc.get(ROOT, "events").unwrap().unwrap().1;
        let len = doc.length(&events);
        let json = json!({
            "id": format!("{}#99", me.device), "parents": [], "at": at, "user": me.user,
            "role": "technician", "device": me.device, "kind": {"kind": "on_site"},
            "position": {"lat": lat, "lon": lon},
        })
        .to_string();
        doc.transact::<_, _, AutomergeError>(|tx| {
            tx.insert(&events, len, json.as_str()).map(|_| ())
        })
        .unwrap();
    });
}

tests::on_each_backend! {
    async fn coordinates_out_of_range_are_refused_wherever_they_come_in(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        // Intake.
        for site in [json!({"lat": 91.0, "lon": 0.0}), json!({"lat": 0.0, "lon": -180.5})] {
            let mut intake = serde_json::to_value(sync_core::workorder::Intake::example()).unwrap();
            intake["region"] = json!("north");
            intake["site"] = site.clone();
            let r = s.post(&agent, "/v1/workorders", &json!({"id": "WO-BAD", "intake": intake})).await;
            assert_eq!(r.status(), 400, "{site}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_work_order");
            assert!(body["message"].as_str().unwrap().contains("between"), "{body}");
        }
        // A site that is not a pair of numbers is malformed JSON.
        let mut intake = serde_json::to_value(sync_core::workorder::Intake::example()).unwrap();
        intake["site"] = json!({"lat": "north", "lon": 1});
        let r = s.post(&agent, "/v1/workorders", &json!({"intake": intake})).await;
        assert_eq!(r.status(), 400);
        // The admin users API, creating and changing.
        let r = s.post(&admin, "/v1/admin/users", &json!({"id": "tech-x", "role": "technician",
            "password": "tech-x-password", "home": {"lat": 10.0, "lon": 181.0}})).await;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "bad_coordinates");
        assert!(body["message"].as_str().unwrap().contains("longitude 181"), "{body}");
        let r = s.patch(&admin, "/v1/admin/users/tech-near", &json!({"home": {"lat": -90.5, "lon": 0.0}})).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_coordinates");
        let users: Value = s.get(&admin, "/v1/admin/users").await.json().await.unwrap();
        let near = users.as_array().unwrap().iter().find(|u| u["id"] == "tech-near").unwrap();
        assert_eq!(near["home"], point(MITTE), "the refused change changed nothing");
        // A sync upload: the document is rejected with the reason, nothing is written.
        assert_eq!(order_at(&s, &agent, "WO-1", MITTE).await["assignee"], "tech-near");
        let mut dev = s.device("tech-near", Role::Technician, "phone-near").await;
        dev.sync(&s).await.unwrap();
        let now = s.clock(&agent).await;
        dev.act("WO-1", |wo, me| wo.accept(me, now).unwrap());
        forge_on_site(&mut dev, "WO-1", 95.0, 13.0, now + 1);
        let synced = dev.sync(&s).await.unwrap();
        assert_eq!(synced.report.rejected.len(), 1, "{:?}", synced.report);
        let rejected = &synced.report.rejected[0];
        assert!(rejected.message.contains("latitude 95"), "{rejected:?}");
        let v: Value = s.get(&admin, "/v1/workorders/WO-1").await.json().await.unwrap();
        assert_eq!(v["status"], "assigned", "nothing was written");
    }
}

tests::on_each_backend! {
    async fn an_intake_without_coordinates_dispatches_and_syncs_as_before(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        // An intake exactly as older clients send it: no `site` key; and one with `null`.
        let a = s.create_order(&agent, "WO-1", "north").await;
        let b = s.create_order_with(&agent, "WO-2", "north", &json!({"site": null})).await;
        // Load, then id, as always: at equal load "tech-far" comes before "tech-near" by id;
        // then tech-far holds one job and tech-near none.
        assert_eq!(a["assignee"], "tech-far");
        assert_eq!(b["assignee"], "tech-near");
        assert!(a["intake"].get("site").is_none());
        let c = decided(&explain(&s, &admin, "WO-1").await);
        assert!(c.iter().all(|c| c.get("distance_km").is_none() && c.get("position").is_none()));
        // The device works it offline, arrives without a position, and syncs.
        let mut far = s.device("tech-far", Role::Technician, "phone-far").await;
        far.sync(&s).await.unwrap();
        let now = s.clock(&agent).await;
        far.act("WO-1", |wo, me| {
            wo.accept(me, now).unwrap();
            wo.on_site(me, now + 1).unwrap()
        });
        let synced = far.sync(&s).await.unwrap();
        assert!(synced.report.rejected.is_empty(), "{:?}", synced.report);
        let v: Value = s.get(&admin, "/v1/workorders/WO-1").await.json().await.unwrap();
        assert_eq!(v["status"], "on_site");
        // Its route: one stop, from the home base, distance unknown.
        let v: Value = s.get(&admin, "/v1/technicians/tech-far/route").await.json().await.unwrap();
        assert_eq!(v["stops"][0]["work_order"], "WO-1");
        assert!(v["stops"][0]["leg_km"].is_null());
        assert_eq!((v["total_km"].as_f64(), v["unknown_legs"].as_u64()), (Some(0.0), Some(1)));
    }
}
