//! The service clock through the real server, on a manual clock (no sleeping): breaches of
//! every intake clock recorded once, field time clamped and breaches withdrawn when offline
//! work shows it was in time, devices with wrong clocks flagged, a low score's escalation,
//! and the KPIs on a known data set.

use serde_json::{json, Value};
use sync_core::workorder::{Role, Status};
use tests::{Device, TestServer};

use crate::BIN;

const SKILL: &str = "washing-machines";
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

async fn company(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
        .await;
    s.add_user(&admin, "tech-a", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "tech-b", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
    s.add_user(&admin, "mgr-1", "manager", &[], &[]).await;
    // A region with nobody to send.
    s.add_user(&admin, "disp-e", "dispatcher", &["east"], &[])
        .await;
    admin
}

async fn manual(backend: &tests::Backend) -> TestServer {
    TestServer::start_with_env(BIN, backend, &[("FIELDSYNC_CLOCK", "manual")]).await
}

fn rules_of(breaches: &[Value], wo: &str) -> Vec<String> {
    let mut v: Vec<String> = breaches
        .iter()
        .filter(|b| b["wo_id"] == wo || b["work_order"] == wo)
        .map(|b| b["rule"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

async fn breaches(s: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let r = s.get(token, &format!("/v1/breaches{query}")).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

tests::on_each_backend! {
    async fn every_intake_clock_breaches_once_and_the_board_shows_what_is_overdue(backend) {
        let s = manual(&backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        // An urgent repair nobody can take, and a complaint that goes to tech-a.
        s.create_order_with(&agent, "WO-U", "east", &json!({"priority": "urgent"}))
            .await;
        let c = s
            .create_order_with(
                &agent,
                "WO-C",
                "north",
                &json!({"service_type": "complaint"}),
            )
            .await;
        assert_eq!(c["assignee"], "tech-a");

        s.advance(&admin, "9m").await;
        let t = s.tick(&admin).await;
        assert!(t["breaches"].as_array().unwrap().is_empty(), "{t}");
        s.advance(&admin, "2m").await;
        let t = s.tick(&admin).await;
        assert_eq!(
            rules_of(t["breaches"].as_array().unwrap(), "WO-U"),
            ["CS-INTAKE"]
        );

        s.advance(&admin, "49h").await;
        let t = s.tick(&admin).await;
        let got = t["breaches"].as_array().unwrap();
        assert_eq!(
            rules_of(got, "WO-U"),
            [
                "CS-CONTACT",
                "CS-FIRST-RESPONSE",
                "CS-MAJOR",
                "CS-PROGRESS",
                "CS-SOLUTION"
            ],
            "{t}"
        );
        assert_eq!(
            rules_of(got, "WO-C"),
            [
                "CS-ACCEPT",
                "CS-COMPLAINT-CLASSIFY",
                "CS-COMPLAINT-SOLUTION",
                "CS-FIRST-RESPONSE",
                "CS-PROGRESS"
            ],
            "complaints have their own clocks and no CS-CONTACT or CS-SOLUTION: {t}"
        );
        assert_eq!(t["timed_out"], json!(["WO-C"]));
        // Exactly once.
        let again = s.tick(&admin).await;
        assert!(again["breaches"].as_array().unwrap().is_empty(), "{again}");
        let all = breaches(&s, &admin, "").await;
        assert_eq!(all.len(), 11);

        // A dispatcher sees its regions only; technicians have no office views.
        let east = s.user_token("disp-e").await;
        assert_eq!(breaches(&s, &east, "").await.len(), 6);
        assert_eq!(
            s.get(&east, "/v1/breaches?region=north").await.status(),
            403
        );
        let a = s.user_token("tech-a").await;
        assert_eq!(s.get(&a, "/v1/breaches").await.status(), 403);

        // The board: by region and status, with running deadlines marked overdue.
        let board: Value = s.get(&admin, "/v1/board").await.json().await.unwrap();
        let u = &board["regions"]["east"]["pending_dispatch"][0];
        assert_eq!(u["id"], "WO-U");
        assert_eq!(u["breaches"], 6);
        let deadlines = u["deadlines"].as_array().unwrap();
        assert!(
            !deadlines.is_empty() && deadlines.iter().all(|d| d["overdue"] == true),
            "{u}"
        );
        let c = &board["regions"]["north"]["assigned"][0];
        assert_eq!(c["assignee"], "tech-b", "re-dispatched after the timeout");
        let deadlines = c["deadlines"].as_array().unwrap();
        let accept = deadlines.iter().find(|d| d["rule"] == "CS-ACCEPT").unwrap();
        assert_eq!(accept["overdue"], false, "tech-b's hour has just begun");
        assert!(deadlines
            .iter()
            .any(|d| d["rule"] == "CS-COMPLAINT-CLASSIFY" && d["overdue"] == true));

        // Technicians' loads.
        let techs: Vec<Value> = s.get(&admin, "/v1/technicians").await.json().await.unwrap();
        let b = techs.iter().find(|t| t["id"] == "tech-b").unwrap();
        assert_eq!(
            (b["open"].as_u64(), b["capacity"].as_u64()),
            (Some(1), Some(5))
        );
        assert_eq!(b["today"][0]["id"], "WO-C");
        let a = techs.iter().find(|t| t["id"] == "tech-a").unwrap();
        assert_eq!(a["open"], 0);
    }
}

tests::on_each_backend! {
    async fn offline_work_counts_when_it_happened_and_wrong_clocks_are_flagged(backend) {
        let s = manual(&backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        s.create_order(&agent, "WO-1", "north").await; // tech-a
        let t0 = s.clock(&admin).await;

        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        a.sync(&s).await.unwrap();
        s.advance(&admin, "5m").await;
        a.act("WO-1", |wo, me| wo.accept(me, t0 + 4 * MIN).unwrap());
        a.sync(&s).await.unwrap();

        // Offline, A books the visit at 20 h; the server only hears of it at 25 h, after the
        // clock recorded CS-CONTACT and CS-FIRST-RESPONSE as breached.
        a.act("WO-1", |wo, me| {
            wo.set_appointment(me, t0 + 26 * HOUR, t0 + 27 * HOUR, None, t0 + 20 * HOUR)
                .unwrap()
        });
        s.advance(&admin, "24h55m").await;
        s.tick(&admin).await;
        let before = rules_of(&breaches(&s, &admin, "").await, "WO-1");
        assert!(
            before.contains(&"CS-FIRST-RESPONSE".to_owned()),
            "{before:?}"
        );
        assert!(before.contains(&"CS-CONTACT".to_owned()), "{before:?}");
        a.sync(&s).await.unwrap();
        let after = rules_of(&breaches(&s, &admin, "").await, "WO-1");
        assert!(
            !after.contains(&"CS-FIRST-RESPONSE".to_owned())
                && !after.contains(&"CS-CONTACT".to_owned()),
            "met in the field at 20 h: the breaches are withdrawn: {after:?}"
        );
        let cleared = breaches(&s, &admin, "?include_cleared=true").await;
        let fr = cleared
            .iter()
            .find(|b| b["wo_id"] == "WO-1" && b["rule"] == "CS-FIRST-RESPONSE")
            .unwrap();
        assert!(fr["cleared_at"].is_i64());
        assert_eq!(
            fr["stopped_at"],
            t0 + 20 * HOUR,
            "the field time, not the receipt"
        );
        let mgr = s.user_token("mgr-1").await;
        let devices: Vec<Value> = s
            .get(&mgr, "/v1/devices?flagged=true")
            .await
            .json()
            .await
            .unwrap();
        assert!(devices.is_empty(), "phone-a's clock is right: {devices:?}");

        // B's phone runs three hours fast: its acceptance is clamped to the receipt and
        // the phone is flagged.
        let v = s.create_order(&agent, "WO-2", "north").await;
        assert_eq!(v["assignee"], "tech-b");
        let mut b = s.device("tech-b", Role::Technician, "phone-b").await;
        b.sync(&s).await.unwrap();
        let now = s.clock(&admin).await;
        b.act("WO-2", |wo, me| wo.accept(me, now + 3 * HOUR).unwrap());
        b.sync(&s).await.unwrap();
        let devices: Vec<Value> = s
            .get(&mgr, "/v1/devices?flagged=true")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(devices.len(), 1, "{devices:?}");
        assert_eq!(devices[0]["device_id"], "phone-b");
        assert_eq!(devices[0]["clock_skew_ms"], 3 * HOUR);
        assert!(devices[0]["flag_reason"]
            .as_str()
            .unwrap()
            .contains("ahead"));
        // A later sync with a right clock clears the flag.
        s.advance(&admin, "10m").await;
        let now = s.clock(&admin).await;
        b.act("WO-2", |wo, me| {
            wo.edit_notes(me, "gate code 1234", now - MIN).unwrap()
        });
        b.sync(&s).await.unwrap();
        let devices: Vec<Value> = s
            .get(&mgr, "/v1/devices?flagged=true")
            .await
            .json()
            .await
            .unwrap();
        assert!(devices.is_empty(), "{devices:?}");
        // Only managers and admins list devices.
        assert_eq!(s.get(&b.token, "/v1/devices").await.status(), 403);
    }
}

/// A technician works a job through to completion on its device, at service time `t`.
fn work_through(d: &mut Device, id: &str, t: i64, fixed: bool) {
    d.act(id, |wo, me| {
        wo.set_appointment(me, t, t + HOUR, None, t).unwrap();
        wo.on_site(me, t).unwrap();
        wo.diagnose(me, "blocked pump", &["clean the pump"], t)
            .unwrap();
        wo.start_work(me, t).unwrap();
        wo.record_test(me, fixed, "drain test", t).unwrap();
        wo.complete(me, fixed, t).unwrap();
    });
}

tests::on_each_backend! {
    async fn a_low_score_escalates_with_its_own_clock_until_a_manager_handles_it(backend) {
        let s = manual(&backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        s.create_order(&agent, "WO-1", "north").await;
        let t0 = s.clock(&admin).await;
        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        a.sync(&s).await.unwrap();
        a.act("WO-1", |wo, me| wo.accept(me, t0).unwrap());
        work_through(&mut a, "WO-1", t0, true);
        a.sync(&s).await.unwrap();

        // Too early for the follow-up call (CS-FOLLOWUP: between 24 and 72 hours)? Wait.
        s.advance(&admin, "25h").await;
        let path = "/v1/workorders/WO-1/followup";
        let r = s.post(&agent, path, &json!({"score": 9})).await;
        assert_eq!(r.status(), 400);
        let r = s.post(&a.token, path, &json!({"score": 2})).await;
        assert_eq!(r.status(), 403, "technicians do not record follow-ups");
        let r = s
            .post(
                &agent,
                path,
                &json!({"score": 2, "comment": "came late, left a mess"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "escalated");
        let r = s.post(&agent, path, &json!({"score": 5})).await;
        assert_eq!(r.status(), 409, "one follow-up per completion");

        let mgr = s.user_token("mgr-1").await;
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        let esc = &open[0];
        assert_eq!(esc["kind"], "low_score");
        assert_eq!(
            esc["due_at"].as_i64().unwrap() - esc["opened_at"].as_i64().unwrap(),
            2 * HOUR,
            "CS-LOWSCORE: 2 hours"
        );
        assert!(esc["reason"].as_str().unwrap().contains("score 2"));

        s.advance(&admin, "3h").await;
        let t = s.tick(&admin).await;
        assert_eq!(
            rules_of(t["breaches"].as_array().unwrap(), "WO-1"),
            ["CS-LOWSCORE"],
            "{t}"
        );

        let id = esc["id"].as_str().unwrap();
        let resolve = format!("/v1/escalations/{id}/resolve");
        let r = s.post(&agent, &resolve, &json!({"action": "x"})).await;
        assert_eq!(r.status(), 403);
        let r = s.post(&mgr, &resolve, &json!({"action": " "})).await;
        assert_eq!(r.status(), 400);
        let r = s
            .post(
                &mgr,
                "/v1/escalations/esc-nope/resolve",
                &json!({"action": "x"}),
            )
            .await;
        assert_eq!(r.status(), 404);
        let r = s
            .post(
                &mgr,
                &resolve,
                &json!({"action": "called back; free service visit"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let done: Value = r.json().await.unwrap();
        assert_eq!(done["resolved_by"], "mgr-1");
        assert_eq!(done["resolution"], "called back; free service visit");
        let r = s.post(&mgr, &resolve, &json!({"action": "again"})).await;
        assert_eq!(r.status(), 409);
        let v: Value = s
            .get(&mgr, "/v1/workorders/WO-1")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "closed");
        assert_eq!(v["escalation_handled"]["by"]["user"], "mgr-1");
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert!(open.is_empty());
        // The technician's phone receives the closed work order.
        a.sync(&s).await.unwrap();
        assert_eq!(a.view("WO-1").status, Status::Closed);
    }
}

tests::on_each_backend! {
    async fn kpis_on_a_known_data_set(backend) {
        let s = manual(&backend).await;
        let admin = company(&s).await;
        // Start at 01:00 UTC of the next day, so that the first day's work stays on one date.
        let now = s.clock(&admin).await;
        let t0 = (now / DAY + 1) * DAY + HOUR;
        s.advance(&admin, &format!("{}ms", t0 - now)).await;
        let agent = s.user_token("agent-1").await;
        let day: Value = s.get(&agent, "/v1/kpi").await.json().await.unwrap();
        let date = day["from"].as_str().unwrap().to_owned();

        s.create_order(&agent, "WO-1", "north").await; // tech-a
        s.create_order(&agent, "WO-2", "north").await; // tech-b
        s.create_order_with(
            &agent,
            "WO-3",
            "north",
            &json!({"service_type": "complaint"}),
        )
        .await; // tech-a, never answered
        s.create_order_with(&agent, "WO-4", "north", &json!({"service_type": "install"}))
            .await; // tech-b, cancelled
        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        let mut b = s.device("tech-b", Role::Technician, "phone-b").await;
        let mut office = s.device("agent-1", Role::Agent, "pc-agent").await;
        a.sync(&s).await.unwrap();
        b.sync(&s).await.unwrap();
        office.sync(&s).await.unwrap();

        s.advance(&admin, "10m").await;
        a.act("WO-1", |wo, me| wo.accept(me, t0 + 10 * MIN).unwrap());
        a.sync(&s).await.unwrap();
        s.advance(&admin, "10m").await;
        b.act("WO-2", |wo, me| wo.accept(me, t0 + 20 * MIN).unwrap());
        b.sync(&s).await.unwrap();
        s.advance(&admin, "40m").await;
        work_through(&mut a, "WO-1", t0 + HOUR, true); // first response after 60 min
        a.sync(&s).await.unwrap();
        office.act("WO-4", |wo, me| {
            wo.cancel(me, "customer bought a new one", t0 + HOUR)
                .unwrap()
        });
        office.sync(&s).await.unwrap();
        s.advance(&admin, "29h").await;
        work_through(&mut b, "WO-2", t0 + 30 * HOUR, false); // first response after 30 h
        b.sync(&s).await.unwrap();
        let r = s
            .post(&agent, "/v1/workorders/WO-1/followup", &json!({"score": 5}))
            .await;
        assert_eq!(r.status(), 200);
        s.advance(&admin, "26h").await;
        let r = s
            .post(&agent, "/v1/workorders/WO-2/followup", &json!({"score": 2}))
            .await;
        assert_eq!(r.status(), 200);

        let k: Value = s
            .get(&agent, &format!("/v1/kpi?from={date}&to={date}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(k["work_orders"], 4, "{k}");
        let rate = |name: &str| {
            (
                k[name]["numerator"].as_u64().unwrap(),
                k[name]["denominator"].as_u64().unwrap(),
            )
        };
        // WO-1 in time, WO-2 late, WO-3 never (window over); WO-4 cancelled unanswered: out.
        assert_eq!(rate("first_response_24h"), (1, 3));
        assert_eq!(k["first_response_24h"]["rate"], 0.3333);
        assert_eq!(k["first_response_24h"]["meets_target"], false);
        assert_eq!(rate("first_time_fix"), (1, 2));
        assert_eq!(rate("satisfaction"), (1, 2));
        assert_eq!(rate("complaint_rate"), (1, 4));
        assert_eq!(k["avg_acceptance_minutes"]["value"], 15.0);
        assert_eq!(k["avg_response_minutes"]["value"], 930.0);
        assert_eq!(k["avg_response_minutes"]["meets_target"], false);
        assert_eq!(
            k["volume_by_type"],
            json!({"complaint": 1, "inspection": 0, "install": 1, "maintenance": 0, "repair": 2})
        );
        assert_eq!((&k["completed"], &k["cancelled"]), (&json!(2), &json!(1)));

        // Another region has nothing; bad ranges are refused.
        let east = s.user_token("disp-e").await;
        let e: Value = s
            .get(&east, &format!("/v1/kpi?from={date}&to={date}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(e["work_orders"], 0);
        for q in [
            "from=2026-13-01",
            "from=2026-02-10&to=2026-02-01",
            "from=2020-01-01&to=2026-01-01",
        ] {
            let r = s.get(&agent, &format!("/v1/kpi?{q}")).await;
            assert_eq!(r.status(), 400, "{q}");
            assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_query");
        }

        // The daily summary of the first day.
        let d: Vec<Value> = s
            .get(&agent, &format!("/v1/kpi/daily?from={date}&to={date}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0]["date"], date);
        assert_eq!(d[0]["volume"], 4);
        assert_eq!(d[0]["completed"], 1);
        assert_eq!(d[0]["first_time_fix"]["numerator"], 1);
        assert!(d[0]["breaches"].is_object());
    }
}

tests::on_each_backend! {
    async fn an_urgent_complaint_goes_to_the_managers_until_one_resolves_it(backend) {
        let s = manual(&backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        s.create_order(&agent, "WO-R", "north").await;
        let c = s
            .create_order_with(
                &agent,
                "WO-C",
                "north",
                &json!({"service_type": "complaint"}),
            )
            .await;
        assert_eq!(
            c["assignee"], "tech-b",
            "dispatched on intake (tech-a has WO-R)"
        );
        let path = "/v1/workorders/WO-C/classify";
        let a = s.user_token("tech-a").await;
        let r = s
            .post(&a, path, &json!({"category": "attitude", "urgent": true}))
            .await;
        assert_eq!(r.status(), 403);
        let r = s
            .post(
                &agent,
                "/v1/workorders/WO-R/classify",
                &json!({"category": "delay", "urgent": false}),
            )
            .await;
        // The request is well formed; what refuses it is the work order's state.
        assert_eq!(r.status(), 409, "only complaints are classified");
        let r = s
            .post(
                &agent,
                path,
                &json!({"category": "rudeness", "urgent": true}),
            )
            .await;
        assert_eq!(r.status(), 400, "unknown category");
        s.advance(&admin, "20m").await;
        let r = s
            .post(
                &agent,
                path,
                &json!({"category": "attitude", "urgent": true}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["classification"]["category"], "attitude");

        let mgr = s.user_token("mgr-1").await;
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0]["kind"], "urgent_complaint");
        assert!(open[0]["reason"].as_str().unwrap().contains("attitude"));
        // Classified within 30 minutes: CS-COMPLAINT-CLASSIFY met, nothing breached.
        s.advance(&admin, "20m").await;
        let t = s.tick(&admin).await;
        assert!(
            rules_of(t["breaches"].as_array().unwrap(), "WO-C").is_empty(),
            "{t}"
        );

        let id = open[0]["id"].as_str().unwrap();
        let r = s
            .post(
                &mgr,
                &format!("/v1/escalations/{id}/resolve"),
                &json!({"action": "senior technician sent, apology call"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert!(open.is_empty());
    }
}
