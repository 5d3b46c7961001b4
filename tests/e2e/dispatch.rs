//! Dispatch through the real server: auto-dispatch on intake and on demand, the explanation
//! of every decision, manual assignment, decline and acceptance timeout re-dispatch, urgent
//! escalation, and the acceptance timeout recorded once by two instances.

use serde_json::{json, Value};
use sync_core::workorder::{Role, Status};
use tests::TestServer;

use crate::BIN;

const SKILL: &str = "washing-machines"; // what Intake::example() requires

/// Admin; dispatchers of north and south; technicians a and b (north), c (south), d (north,
/// without the skill); an agent and a manager.
async fn company(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
        .await;
    s.add_user(&admin, "disp-s", "dispatcher", &["south"], &[])
        .await;
    s.add_user(&admin, "tech-a", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "tech-b", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "tech-c", "technician", &["south"], &[SKILL])
        .await;
    s.add_user(&admin, "tech-d", "technician", &["north"], &["ovens"])
        .await;
    s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
    s.add_user(&admin, "mgr-1", "manager", &[], &[]).await;
    admin
}

async fn explain(s: &TestServer, token: &str, id: &str) -> Value {
    let r = s.get(token, &format!("/v1/workorders/{id}/explain")).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn candidate<'a>(e: &'a Value, tech: &str) -> &'a Value {
    e["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["technician"] == tech)
        .unwrap_or_else(|| panic!("{tech} not among the candidates: {e}"))
}

fn policy_file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "fieldsync-policy-{}-{name}.toml",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

tests::on_each_backend! {
    async fn intake_assigns_the_least_loaded_eligible_technician_and_explains_why(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = company(&s).await;
        // tech-e holds the skill in north but is deactivated.
        s.add_user(&admin, "tech-e", "technician", &["north"], &[SKILL])
            .await;
        let r = s
            .patch(&admin, "/v1/admin/users/tech-e", &json!({"active": false}))
            .await;
        assert_eq!(r.status(), 200);
        let agent = s.user_token("agent-1").await;

        // Equal loads: the id decides (a); then b has less load; then a again (ties by id).
        let mut got = vec![];
        for id in ["WO-1", "WO-2", "WO-3"] {
            let v = s.create_order(&agent, id, "north").await;
            got.push(v["assignee"].as_str().unwrap().to_owned());
        }
        assert_eq!(got, ["tech-a", "tech-b", "tech-a"]);

        let disp = s.user_token("disp-n").await;
        let e = explain(&s, &disp, "WO-2").await;
        assert_eq!(e["assignee"], "tech-b");
        let first = &e["decisions"][0];
        assert_eq!(first["cause"], "intake");
        assert_eq!(first["technician"], "tech-b");
        let why = &first["explanation"];
        assert_eq!(why["chosen"], "tech-b");
        assert_eq!(candidate(why, "tech-b")["rank"], 1);
        assert_eq!(candidate(why, "tech-a")["rank"], 2);
        assert_eq!(candidate(why, "tech-a")["open"], 1);
        assert_eq!(
            candidate(why, "tech-d")["excluded"],
            json!({"reason": "missing_skills", "skills": [SKILL]})
        );
        assert_eq!(
            candidate(why, "tech-e")["excluded"],
            json!({"reason": "inactive"})
        );
        assert!(
            why["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["technician"] != "tech-c"),
            "technicians of other regions are not candidates: {why}"
        );
        // The live explanation counts the loads as they are now.
        assert_eq!(candidate(&e["now"], "tech-a")["open"], 2);

        // A technician has no explanations; a dispatcher of another region sees nothing.
        let a = s.user_token("tech-a").await;
        assert_eq!(s.get(&a, "/v1/workorders/WO-2/explain").await.status(), 403);
        let south = s.user_token("disp-s").await;
        assert_eq!(
            s.get(&south, "/v1/workorders/WO-2/explain").await.status(),
            404
        );
    }
}

tests::on_each_backend! {
    async fn a_batch_serves_urgent_first_fills_capacity_and_escalates_urgent_jobs_nobody_can_take(backend) {
        let policy = policy_file(
            &format!("batch-{}", backend.name()),
            "[dispatch]\nauto_on_intake = false\n",
        );
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_POLICY", &policy)]).await;
        let admin = company(&s).await;
        for (t, cap) in [("tech-a", 2), ("tech-b", 1)] {
            let r = s
                .patch(
                    &admin,
                    &format!("/v1/admin/users/{t}"),
                    &json!({"capacity": cap}),
                )
                .await;
            assert_eq!(r.status(), 200);
        }
        let agent = s.user_token("agent-1").await;
        for id in ["WO-1", "WO-2", "WO-3"] {
            let v = s.create_order(&agent, id, "north").await;
            assert!(v["assignee"].is_null(), "no dispatch on intake by policy");
        }
        s.create_order_with(&agent, "WO-4", "north", &json!({"priority": "urgent"}))
            .await;
        s.create_order_with(&agent, "WO-S", "south", &json!({"priority": "vip"}))
            .await;

        // A dispatcher runs only its regions.
        let south = s.user_token("disp-s").await;
        let r = s
            .post(&south, "/v1/dispatch/auto", &json!({"region": "north"}))
            .await;
        assert_eq!(r.status(), 403);
        let tech = s.user_token("tech-a").await;
        assert_eq!(
            s.post(&tech, "/v1/dispatch/auto", &json!({}))
                .await
                .status(),
            403
        );

        let disp = s.user_token("disp-n").await;
        let r = s.post(&disp, "/v1/dispatch/auto", &json!({})).await;
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["considered"], 4, "north only: {report}");
        assert_eq!(
            (
                &report["assigned"],
                &report["waiting"],
                &report["escalated"]
            ),
            (&json!(3), &json!(1), &json!(0))
        );
        let order: Vec<(&str, Option<&str>)> = report["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["work_order"].as_str().unwrap(), d["technician"].as_str()))
            .collect();
        // Urgent first; a (0/2) then b (0/1) then a (1/2 < 1/1); nobody has room for WO-3.
        assert_eq!(
            order,
            [
                ("WO-4", Some("tech-a")),
                ("WO-1", Some("tech-b")),
                ("WO-2", Some("tech-a")),
                ("WO-3", None)
            ]
        );
        let e = explain(&s, &disp, "WO-3").await;
        assert_eq!(
            candidate(&e["decisions"][0]["explanation"], "tech-a")["excluded"],
            json!({"reason": "at_capacity", "open": 2, "capacity": 2})
        );

        // An urgent job nobody has room for escalates to the managers at once.
        s.create_order_with(&agent, "WO-5", "north", &json!({"priority": "urgent"}))
            .await;
        let report: Value = s
            .post(&disp, "/v1/dispatch/auto", &json!({"region": "north"}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["escalated"], 1, "{report}");
        let mgr = s.user_token("mgr-1").await;
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0]["kind"], "urgent_unassigned");
        assert_eq!(open[0]["wo_id"], "WO-5");
        // Running the batch again does not escalate the same job twice.
        s.post(&disp, "/v1/dispatch/auto", &json!({})).await;
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert_eq!(open.len(), 1);
        // Capacity frees up: the manager's next run assigns it, and the escalation resolves.
        s.patch(&admin, "/v1/admin/users/tech-b", &json!({"capacity": 3}))
            .await;
        let report: Value = s
            .post(&mgr, "/v1/dispatch/auto", &json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            report["decisions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["work_order"] == "WO-5" && d["technician"] == "tech-b"),
            "{report}"
        );
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert!(open.is_empty(), "{open:?}");
        let all: Vec<Value> = s
            .get(&mgr, "/v1/escalations?open=false")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(all[0]["resolution"], "assigned to tech-b");
        let _ = std::fs::remove_file(&policy);
    }
}

tests::on_each_backend! {
    async fn dispatchers_assign_reassign_and_unassign_only_in_their_regions(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        let v = s.create_order(&agent, "WO-1", "north").await;
        assert_eq!(v["assignee"], "tech-a");
        let disp = s.user_token("disp-n").await;
        let south = s.user_token("disp-s").await;
        let path = "/v1/workorders/WO-1/assign";

        let r = s.post(&south, path, &json!({"technician": "tech-b"})).await;
        assert_eq!(r.status(), 404, "not the south dispatcher's work order");
        let r = s.post(&disp, path, &json!({"technician": "tech-b"})).await;
        assert_eq!(r.status(), 409, "a reassignment needs a reason");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("reason"),
            "{body}"
        );
        let r = s
            .post(
                &disp,
                path,
                &json!({"technician": "agent-1", "reason": "x"}),
            )
            .await;
        assert_eq!(r.status(), 409);
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "not_a_technician"
        );

        let r = s
            .post(
                &disp,
                path,
                &json!({"technician": "tech-b", "reason": "a is ill"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["work_order"]["assignee"], "tech-b");
        assert!(v["warning"].is_null());

        // An override outside the rules is allowed, with the reason it breaks them.
        let r = s
            .post(
                &disp,
                path,
                &json!({"technician": "tech-d", "reason": "d knows the customer"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["warning"]["reason"], "missing_skills");

        let r = s
            .post(
                &disp,
                "/v1/workorders/WO-1/unassign",
                &json!({"reason": ""}),
            )
            .await;
        assert_eq!(r.status(), 400);
        let r = s
            .post(
                &disp,
                "/v1/workorders/WO-1/unassign",
                &json!({"reason": "customer asked to wait"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "pending_dispatch");
        assert!(v["assignee"].is_null());
        let r = s
            .post(
                &disp,
                "/v1/workorders/WO-1/unassign",
                &json!({"reason": "again"}),
            )
            .await;
        assert_eq!(r.status(), 409);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "wrong_state");

        let e = explain(&s, &admin, "WO-1").await;
        let causes: Vec<&str> = e["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["cause"].as_str().unwrap())
            .collect();
        assert_eq!(causes, ["intake", "manual by disp-n", "manual by disp-n"]);
    }
}

tests::on_each_backend! {
    async fn a_decline_sends_the_job_to_the_next_technician(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let agent = s.user_token("agent-1").await;
        let v = s.create_order(&agent, "WO-1", "north").await;
        assert_eq!(v["assignee"], "tech-a");

        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        a.sync(&s).await.unwrap();
        let now = s.clock(&agent).await;
        a.act("WO-1", |wo, me| {
            wo.decline(me, "van broke down", now).unwrap()
        });
        a.sync(&s).await.unwrap();
        let synced = a.sync(&s).await.unwrap();
        assert_eq!(synced.removed, ["WO-1"], "the job left A's device");
        assert!(a.docs.is_empty());

        let disp = s.user_token("disp-n").await;
        let e = explain(&s, &disp, "WO-1").await;
        assert_eq!(e["assignee"], "tech-b");
        let last = e["decisions"].as_array().unwrap().last().unwrap();
        assert_eq!(last["cause"], "decline");
        assert_eq!(
            candidate(&last["explanation"], "tech-a")["excluded"],
            json!({"reason": "refused"})
        );
        let mut b = s.device("tech-b", Role::Technician, "phone-b").await;
        b.sync(&s).await.unwrap();
        assert_eq!(b.view("WO-1").status, Status::Assigned);

        // B declines too: nobody is left in north with the skill; a normal job waits.
        b.act("WO-1", |wo, me| wo.decline(me, "no time", now).unwrap());
        b.sync(&s).await.unwrap();
        let v: Value = s
            .get(&disp, "/v1/workorders/WO-1")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "pending_dispatch");
        let mgr = s.user_token("mgr-1").await;
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert!(open.is_empty(), "normal jobs wait without escalating");
    }
}

tests::on_each_backend! {
    async fn an_unaccepted_job_times_out_after_an_hour_once_and_goes_to_the_next_technician(backend) {
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_CLOCK", "manual")]).await;
        let admin = company(&s).await;
        let agent = s.user_token("agent-1").await;
        let v = s.create_order(&agent, "WO-1", "north").await;
        assert_eq!(v["assignee"], "tech-a");

        s.advance(&admin, "59m").await;
        let t = s.tick(&admin).await;
        assert!(t["timed_out"].as_array().unwrap().is_empty(), "{t}");
        s.advance(&admin, "2m").await;
        let t = s.tick(&admin).await;
        assert_eq!(t["timed_out"], json!(["WO-1"]), "{t}");
        let rules: Vec<&str> = t["breaches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["rule"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["CS-ACCEPT"]);
        assert_eq!(t["redispatched"][0]["technician"], "tech-b");
        assert_eq!(t["redispatched"][0]["cause"], "timeout");

        // Exactly once: the next pass records nothing new.
        let t = s.tick(&admin).await;
        assert!(t["breaches"].as_array().unwrap().is_empty(), "{t}");

        let v: Value = s
            .get(&admin, "/v1/workorders/WO-1")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["assignee"], "tech-b");
        assert_eq!(v["status"], "assigned");
        let breaches: Vec<Value> = s.get(&admin, "/v1/breaches").await.json().await.unwrap();
        assert_eq!(breaches.len(), 1, "{breaches:?}");
        assert_eq!(breaches[0]["technician"], "tech-a");

        // A's phone, offline all along, learns the job was taken back.
        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        a.sync(&s).await.unwrap();
        assert!(a.docs.is_empty());
    }
}

tests::on_each_backend! {
    async fn an_urgent_job_nobody_can_take_escalates_at_intake(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let agent = s.user_token("agent-1").await;
        // East has no technicians at all.
        let admin = s.admin_token().await;
        s.add_user(&admin, "disp-e", "dispatcher", &["east"], &[])
            .await;
        let v = s
            .create_order_with(&agent, "WO-E", "east", &json!({"priority": "urgent"}))
            .await;
        assert!(v["assignee"].is_null());
        let normal = s.create_order(&agent, "WO-E2", "east").await;
        assert!(normal["assignee"].is_null());
        let mgr = s.user_token("mgr-1").await;
        let open: Vec<Value> = s.get(&mgr, "/v1/escalations").await.json().await.unwrap();
        assert_eq!(open.len(), 1, "only the urgent one: {open:?}");
        assert_eq!(open[0]["wo_id"], "WO-E");
        assert!(open[0]["due_at"].as_i64().unwrap() > open[0]["opened_at"].as_i64().unwrap());
        // The dispatcher of east sees it; the one of north does not.
        let east = s.user_token("disp-e").await;
        let mine: Vec<Value> = s.get(&east, "/v1/escalations").await.json().await.unwrap();
        assert_eq!(mine.len(), 1);
        let north = s.user_token("disp-n").await;
        let theirs: Vec<Value> = s.get(&north, "/v1/escalations").await.json().await.unwrap();
        assert!(theirs.is_empty());
    }
}

tests::on_postgres! {
    async fn two_instances_running_the_clock_at_once_time_each_job_out_exactly_once(backend) {
        let s1 = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_CLOCK", "manual")]).await;
        let s2 = s1.another_instance().await;
        let admin = company(&s1).await;
        let agent = s1.user_token("agent-1").await;
        let ids: Vec<String> = (0..8).map(|i| format!("WO-{i}")).collect();
        for id in &ids {
            s1.create_order(&agent, id, "north").await;
        }
        s1.advance(&admin, "2h").await;
        let (t1, t2) = tokio::join!(s1.tick(&admin), s2.tick(&admin));
        let count = |t: &Value, k: &str| t[k].as_array().unwrap().len();
        assert_eq!(
            count(&t1, "timed_out") + count(&t2, "timed_out"),
            ids.len(),
            "{t1}\n{t2}"
        );
        assert_eq!(
            count(&t1, "redispatched") + count(&t2, "redispatched"),
            ids.len()
        );
        // Every document holds exactly one timeout, whichever instance recorded it.
        let mut disp = s1.device("disp-n", Role::Dispatcher, "pc-n").await;
        disp.sync(&s2).await.unwrap();
        for id in &ids {
            let wo = sync_core::workorder::WorkOrder::from_automerge(disp.docs[id].0.clone());
            let timeouts = wo
                .history()
                .unwrap()
                .iter()
                .filter(|e| e.kind.name() == "accept_timed_out")
                .count();
            assert_eq!(timeouts, 1, "{id}");
        }
        let breaches: Vec<Value> = s2.get(&admin, "/v1/breaches").await.json().await.unwrap();
        let accept = breaches.iter().filter(|b| b["rule"] == "CS-ACCEPT").count();
        assert_eq!(accept, ids.len(), "one CS-ACCEPT breach per job");
    }
}

/// Open jobs per technician, as the server's work-order list shows them.
async fn loads(s: &TestServer, token: &str) -> std::collections::BTreeMap<String, usize> {
    let all: Vec<Value> = s.get(token, "/v1/workorders").await.json().await.unwrap();
    let mut out = std::collections::BTreeMap::new();
    for w in all {
        if let (Some(t), "assigned") = (w["assignee"].as_str(), w["status"].as_str().unwrap()) {
            *out.entry(t.to_owned()).or_default() += 1;
        }
    }
    out
}

/// How many chunks the server has recorded batches in (`fieldsync_dispatch_chunk_seconds`).
async fn chunks_recorded(s: &TestServer) -> u64 {
    let text = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("fieldsync_dispatch_chunk_seconds_count "))
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or(0)
}

/// Tech-a 4 slots, tech-b 3 (north), tech-c 2 (south).
async fn small_capacities(s: &TestServer, admin: &str) {
    for (t, cap) in [("tech-a", 4), ("tech-b", 3), ("tech-c", 2)] {
        let r = s
            .patch(
                admin,
                &format!("/v1/admin/users/{t}"),
                &json!({"capacity": cap}),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
}

tests::on_each_backend! {
    async fn a_batch_of_several_chunks_fills_every_slot_once_in_serving_order(backend) {
        let policy = policy_file(
            &format!("chunks-{}", backend.name()),
            // Three decisions a chunk: the 13 jobs below take five chunks.
            "[dispatch]\nauto_on_intake = false\nbatch_chunk_decisions = 3\n",
        );
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_POLICY", &policy)]).await;
        let admin = company(&s).await;
        small_capacities(&s, &admin).await;
        let agent = s.user_token("agent-1").await;
        // Ten jobs in north, every third one urgent; three in south.
        for i in 0..10 {
            let priority = if i % 3 == 0 { "urgent" } else { "normal" };
            s.create_order_with(&agent, &format!("N-{i}"), "north", &json!({"priority": priority}))
                .await;
        }
        for i in 0..3 {
            s.create_order(&agent, &format!("S-{i}"), "south").await;
        }
        let before = chunks_recorded(&s).await;
        let mgr = s.user_token("mgr-1").await;
        let r = s.post(&mgr, "/v1/dispatch/auto", &json!({})).await;
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await.unwrap();
        assert!(
            chunks_recorded(&s).await - before >= 5,
            "13 decisions, 3 a chunk: {report}"
        );
        assert_eq!(report["considered"], 13);
        assert_eq!(
            (&report["assigned"], &report["waiting"], &report["escalated"]),
            (&json!(9), &json!(4), &json!(0)),
            "every slot filled (a 4, b 3, c 2), nothing dropped: {report}"
        );
        let decisions = report["decisions"].as_array().unwrap();
        assert_eq!(decisions.len(), 13, "one decision per job: {report}");
        // Served urgent first, across chunk boundaries; ranks alternate by load as in one run.
        let north: Vec<(&str, Option<&str>)> = decisions
            .iter()
            .filter(|d| d["work_order"].as_str().unwrap().starts_with('N'))
            .map(|d| (d["work_order"].as_str().unwrap(), d["technician"].as_str()))
            .collect();
        assert_eq!(
            north,
            [
                ("N-0", Some("tech-a")),
                ("N-3", Some("tech-b")),
                ("N-6", Some("tech-a")),
                ("N-9", Some("tech-b")),
                ("N-1", Some("tech-a")),
                ("N-2", Some("tech-b")),
                ("N-4", Some("tech-a")),
                ("N-5", None),
                ("N-7", None),
                ("N-8", None),
            ]
        );
        // Each decision is in its document and its log, not only in the report.
        let held = loads(&s, &admin).await;
        assert_eq!(
            held,
            [("tech-a", 4), ("tech-b", 3), ("tech-c", 2)]
                .map(|(t, n)| (t.to_owned(), n))
                .into()
        );
        let disp = s.user_token("disp-n").await;
        let e = explain(&s, &disp, "N-4").await;
        assert_eq!(e["assignee"], "tech-a");
        assert_eq!(e["decisions"][0]["cause"], "batch");
        let e = explain(&s, &disp, "N-8").await;
        assert_eq!(
            candidate(&e["decisions"][0]["explanation"], "tech-a")["excluded"],
            json!({"reason": "at_capacity", "open": 4, "capacity": 4})
        );
        // Nothing is free any more: a second run assigns nothing and keeps the loads.
        let again: Value = s
            .post(&mgr, "/v1/dispatch/auto", &json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!((&again["considered"], &again["assigned"]), (&json!(4), &json!(0)));
        assert_eq!(loads(&s, &admin).await, held);
        let _ = std::fs::remove_file(&policy);
    }
}

tests::on_each_backend! {
    async fn two_batches_at_once_in_small_chunks_never_give_a_slot_twice(backend) {
        let policy = policy_file(
            &format!("two-batches-{}", backend.name()),
            "[dispatch]\nauto_on_intake = false\nbatch_chunk_decisions = 2\n",
        );
        let env = [("FIELDSYNC_POLICY", policy.as_str())];
        let s1 = TestServer::start_with_env(BIN, &backend, &env).await;
        // On PostgreSQL the second batch runs in another instance; on SQLite beside the first.
        let s2 = match backend {
            tests::Backend::Postgres(_) => Some(s1.another_instance().await),
            tests::Backend::Sqlite => None,
        };
        let other = s2.as_ref().unwrap_or(&s1);
        let admin = company(&s1).await;
        small_capacities(&s1, &admin).await;
        let agent = s1.user_token("agent-1").await;
        let ids: Vec<String> = (0..12).map(|i| format!("WO-{i}")).collect();
        for id in &ids {
            s1.create_order(&agent, id, "north").await;
        }
        let mgr = s1.user_token("mgr-1").await;
        let disp = s1.user_token("disp-n").await;
        // Both plan the same twelve jobs over the same seven free slots, then record in
        // chunks of two that interleave: each chunk re-reads the loads the other committed.
        let (everything, north) = (json!({}), json!({"region": "north"}));
        let (r1, r2) = tokio::join!(
            s1.post(&mgr, "/v1/dispatch/auto", &everything),
            other.post(&disp, "/v1/dispatch/auto", &north)
        );
        assert_eq!((r1.status().as_u16(), r2.status().as_u16()), (200, 200));
        let (r1, r2): (Value, Value) = (r1.json().await.unwrap(), r2.json().await.unwrap());
        let assigned = |r: &Value| -> Vec<String> {
            r["decisions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| !d["technician"].is_null())
                .map(|d| d["work_order"].as_str().unwrap().to_owned())
                .collect()
        };
        let (a1, a2) = (assigned(&r1), assigned(&r2));
        assert_eq!(a1.len() + a2.len(), 7, "seven slots, each given once:\n{r1}\n{r2}");
        assert!(a1.iter().all(|id| !a2.contains(id)), "a job assigned twice:\n{r1}\n{r2}");
        let held = loads(&s1, &admin).await;
        assert_eq!(held.get("tech-a"), Some(&4), "{held:?}");
        assert_eq!(held.get("tech-b"), Some(&3), "{held:?}");
        // Every job has at most one assignment in its log, whichever batch made it.
        for id in &ids {
            let e = explain(&s1, &disp, id).await;
            let given = e["decisions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| !d["technician"].is_null())
                .count();
            assert!(given <= 1, "{id}: {e}");
        }
        let _ = std::fs::remove_file(&policy);
    }
}
