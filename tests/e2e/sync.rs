//! Sync through the real server: scope per role, jobs reassigned while offline, forged
//! uploads, replays, and two instances on one PostgreSQL database.

use serde_json::Value;
use sync_core::workorder::{PartInput, Role, Status};
use tests::TestServer;

use crate::BIN;

/// Admin, a dispatcher of `north`, technicians A and B of `north`, a dispatcher of `south`,
/// and two work orders in `north` and one in `south`.
async fn company(s: &TestServer) {
    let admin = s.admin_token().await;
    s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
        .await;
    s.add_user(&admin, "disp-s", "dispatcher", &["south"], &[])
        .await;
    s.add_user(&admin, "tech-a", "technician", &["north"], &["ovens"])
        .await;
    s.add_user(&admin, "tech-b", "technician", &["north"], &["ovens"])
        .await;
    s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
    let agent = s.token("agent-1", "agent-1-password", None).await;
    s.create_order(&agent, "WO-N1", "north").await;
    s.create_order(&agent, "WO-N2", "north").await;
    s.create_order(&agent, "WO-S1", "south").await;
}

async fn server_view(s: &TestServer, id: &str) -> Value {
    let admin = s.admin_token().await;
    let r = s.get(&admin, &format!("/v1/workorders/{id}")).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

tests::on_each_backend! {
    async fn each_role_receives_exactly_its_scope(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let mut north = s.device("disp-n", Role::Dispatcher, "pc-n").await;
        let mut south = s.device("disp-s", Role::Dispatcher, "pc-s").await;
        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        north.sync(&s).await.unwrap();
        south.sync(&s).await.unwrap();
        a.sync(&s).await.unwrap();
        assert_eq!(north.docs.keys().collect::<Vec<_>>(), ["WO-N1", "WO-N2"]);
        assert_eq!(south.docs.keys().collect::<Vec<_>>(), ["WO-S1"]);
        assert!(a.docs.is_empty(), "nothing assigned to A yet");

        // The dispatcher assigns N1 to A on its device; A receives exactly that job.
        north.act("WO-N1", |wo, me| {
            wo.assign(me, "tech-a", None, 1_000).unwrap()
        });
        let synced = north.sync(&s).await.unwrap();
        assert_eq!(synced.report.round_trips, 1);
        let r = a.sync(&s).await.unwrap();
        assert_eq!(a.docs.keys().collect::<Vec<_>>(), ["WO-N1"]);
        assert_eq!(r.report.round_trips, 1);
        assert_eq!(server_view(&s, "WO-N1").await["assignee"], "tech-a");

        // Reading through the API follows the same scope.
        assert_eq!(s.get(&a.token, "/v1/workorders/WO-N2").await.status(), 404);
        assert_eq!(s.get(&a.token, "/v1/workorders/WO-N1").await.status(), 200);
        let list: Vec<Value> = s
            .get(&south.token, "/v1/workorders")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], "WO-S1");
    }
}

tests::on_each_backend! {
    async fn a_device_can_neither_read_nor_write_outside_its_scope(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let mut north = s.device("disp-n", Role::Dispatcher, "pc-n").await;
        north.sync(&s).await.unwrap();
        // B's device smuggles in a copy of WO-N2 (not assigned to B) with an edit.
        let mut b = s.device("tech-b", Role::Technician, "phone-b").await;
        let stolen = north.docs["WO-N2"].clone();
        b.docs.insert("WO-N2".into(), stolen);
        b.act("WO-N2", |wo, me| {
            wo.edit_notes(me, "not my job", 5_000).unwrap();
        });
        let synced = b.sync(&s).await.unwrap();
        assert_eq!(synced.removed, ["WO-N2"], "told to drop it");
        assert!(b.docs.is_empty());
        let view = server_view(&s, "WO-N2").await;
        assert_eq!(view["notes"], "", "nothing was written");
        assert_eq!(view["event_count"], 1);

        // The dispatcher of another region tries the same.
        let mut south = s.device("disp-s", Role::Dispatcher, "pc-s").await;
        south.sync(&s).await.unwrap();
        south
            .docs
            .insert("WO-N2".into(), north.docs["WO-N2"].clone());
        south.act("WO-N2", |wo, me| {
            wo.cancel(me, "not my region", 6_000).unwrap();
        });
        let synced = south.sync(&s).await.unwrap();
        assert_eq!(synced.removed, ["WO-N2"]);
        assert_eq!(south.docs.keys().collect::<Vec<_>>(), ["WO-S1"]);
        assert_eq!(server_view(&s, "WO-N2").await["status"], "pending_dispatch");
        assert_eq!(
            s.get(&south.token, "/v1/workorders/WO-N2").await.status(),
            404
        );
    }
}

tests::on_each_backend! {
    async fn offline_work_on_a_job_reassigned_meanwhile_is_kept_then_removed_from_the_device(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let mut disp = s.device("disp-n", Role::Dispatcher, "pc-n").await;
        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        let mut b = s.device("tech-b", Role::Technician, "phone-b").await;
        disp.sync(&s).await.unwrap();
        disp.act("WO-N1", |wo, me| {
            wo.assign(me, "tech-a", None, 1_000).unwrap()
        });
        disp.sync(&s).await.unwrap();
        a.sync(&s).await.unwrap();
        // A goes offline and works; meanwhile the dispatcher gives the job to B.
        a.act("WO-N1", |wo, me| {
            wo.accept(me, 2_000).unwrap();
            wo.on_site(me, 3_000).unwrap();
            wo.diagnose(me, "door sensor", &["replace sensor"], 4_000)
                .unwrap();
            wo.start_work(me, 5_000).unwrap();
            wo.add_part(me, PartInput::new("SENSOR-1", 1, 2_000), 6_000)
                .unwrap()
        });
        disp.act("WO-N1", |wo, me| {
            wo.assign(me, "tech-b", Some("A unreachable"), 2_500)
                .unwrap()
        });
        disp.sync(&s).await.unwrap();
        // A comes back: the work is accepted, the job leaves A's device.
        let synced = a.sync(&s).await.unwrap();
        assert_eq!(synced.removed, ["WO-N1"]);
        assert!(a.docs.is_empty());
        let view = server_view(&s, "WO-N1").await;
        assert_eq!(view["assignee"], "tech-b");
        assert_eq!(
            view["parts"][0]["sku"], "SENSOR-1",
            "A's offline part line is on record"
        );
        let kinds: Vec<&str> = view["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"reassigned_while_working"), "{kinds:?}");
        // B receives the job with A's work; the dispatcher sees the same document.
        b.sync(&s).await.unwrap();
        disp.sync(&s).await.unwrap();
        assert_eq!(b.view("WO-N1"), disp.view("WO-N1"));
        assert_eq!(b.view("WO-N1").status, Status::Assigned);
        // A syncing again gets nothing back.
        let again = a.sync(&s).await.unwrap();
        assert!(again.removed.is_empty() && a.docs.is_empty());
    }
}

tests::on_each_backend! {
    async fn forged_uploads_are_rejected_and_change_nothing(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let mut disp = s.device("disp-n", Role::Dispatcher, "pc-n").await;
        disp.sync(&s).await.unwrap();
        disp.act("WO-N1", |wo, me| {
            wo.assign(me, "tech-a", None, 1_000).unwrap()
        });
        disp.sync(&s).await.unwrap();
        let mut a = s.device("tech-a", Role::Technician, "phone-a").await;
        a.sync(&s).await.unwrap();
        let before = server_view(&s, "WO-N1").await;
        // A's device pretends to be the dispatcher and cancels the job.
        a.act("WO-N1", |wo, _| {
            let fake = sync_core::workorder::Actor::new("disp-n", Role::Dispatcher, "phone-a");
            wo.cancel(&fake, "forged", 7_000).unwrap()
        });
        let synced = a.sync(&s).await.unwrap();
        assert_eq!(synced.report.rejected.len(), 1, "{:?}", synced.report);
        assert_eq!(
            server_view(&s, "WO-N1").await,
            before,
            "nothing was written"
        );
    }
}

tests::on_each_backend! {
    async fn replaying_a_sync_request_changes_nothing(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let mut disp = s.device("disp-n", Role::Dispatcher, "pc-n").await;
        disp.sync(&s).await.unwrap();
        disp.act("WO-N1", |wo, me| {
            wo.edit_notes(me, "gate code 4711", 1_000).unwrap()
        });
        // Build the request by hand to send the very same bytes twice.
        let (doc, state) = disp.docs.get_mut("WO-N1").unwrap();
        let mut session = sync_core::protocol::ClientSync::new();
        let mut docs = vec![sync_core::protocol::ClientDoc::new("WO-N1", doc, state)];
        let request = session.build_request(&mut docs).unwrap().unwrap();
        let body = sync_core::protocol::encode_request(&request).unwrap();
        for _ in 0..2 {
            let r = s
                .http
                .post(s.url("/v1/sync"))
                .bearer_auth(&disp.token)
                .header("content-type", "application/cbor")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let view = server_view(&s, "WO-N1").await;
        assert_eq!(view["notes"], "gate code 4711");
        assert_eq!(view["event_count"], 2, "one event, recorded once");
        let metrics = s
            .http
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("fieldsync_changes_merged_total 1\n"),
            "{metrics}"
        );
    }
}

tests::on_postgres! {
    async fn two_server_instances_on_one_postgres_never_lose_each_others_merges(backend) {
        let s1 = TestServer::start(BIN, &backend).await;
        let s2 = s1.another_instance().await;
        company(&s1).await;
        // Six dispatcher devices, alternating between the two instances, each adding notes to
        // both north work orders many times, concurrently.
        let mut handles = Vec::new();
        for i in 0..6 {
            let server = if i % 2 == 0 { &s1 } else { &s2 };
            let mut dev = server
                .device("disp-n", Role::Dispatcher, &format!("pc-{i}"))
                .await;
            dev.sync(server).await.unwrap();
            handles.push(dev);
        }
        let mut futures = Vec::new();
        for (i, mut dev) in handles.into_iter().enumerate() {
            let server = if i % 2 == 0 { &s1 } else { &s2 };
            futures.push(async move {
                for round in 0..8 {
                    for id in ["WO-N1", "WO-N2"] {
                        dev.act(id, |wo, me| {
                            let v = wo.view().unwrap();
                            wo.edit_notes(me, &format!("{} [{i}.{round}]", v.notes), 10_000 + round)
                                .unwrap();
                        });
                    }
                    dev.sync(server).await.unwrap();
                }
                dev
            });
        }
        let devices = futures_util::future::join_all(futures).await;
        for id in ["WO-N1", "WO-N2"] {
            let view = server_view(&s2, id).await;
            let notes = view["notes"].as_str().unwrap();
            for i in 0..6 {
                for round in 0..8 {
                    assert!(
                        notes.contains(&format!("[{i}.{round}]")),
                        "{id} lost [{i}.{round}]: {notes}"
                    );
                }
            }
            assert_eq!(view["event_count"], 1 + 6 * 8);
        }
        // Every device then converges through the other instance (tokens are valid on both).
        for (i, mut dev) in devices.into_iter().enumerate() {
            let server = if i % 2 == 0 { &s2 } else { &s1 };
            dev.sync(server).await.unwrap();
            for id in ["WO-N1", "WO-N2"] {
                assert_eq!(
                    dev.view(id).notes,
                    server_view(&s1, id).await["notes"],
                    "pc-{i} converged on {id}"
                );
            }
        }
    }
}

tests::on_each_backend! {
    async fn many_devices_syncing_at_once_all_succeed(backend) {
        let s = TestServer::start(BIN, &backend).await;
        company(&s).await;
        let admin = s.admin_token().await;
        let mut devices = Vec::new();
        for i in 0..8 {
            let user = format!("agent-{i}x");
            s.add_user(&admin, &user, "agent", &[], &[]).await;
            let mut d = s.device(&user, Role::Agent, &format!("pc-{i}")).await;
            d.sync(&s).await.unwrap();
            devices.push(d);
        }
        for round in 0..3 {
            for (i, d) in devices.iter_mut().enumerate() {
                for id in ["WO-N1", "WO-N2", "WO-S1"] {
                    d.act(id, |wo, me| {
                        let text = format!("{} [{i}/{round}]", wo.view().unwrap().notes);
                        wo.edit_notes(me, &text, 1_000).unwrap()
                    });
                }
            }
            let results =
                futures_util::future::join_all(devices.iter_mut().map(|d| d.sync(&s))).await;
            for r in results {
                r.unwrap_or_else(|e| panic!("{} sync failed: {e:?}", backend.name()));
            }
        }
        for d in &mut devices {
            d.sync(&s).await.unwrap();
        }
        let notes = server_view(&s, "WO-N1").await["notes"]
            .as_str()
            .unwrap()
            .to_owned();
        for i in 0..8 {
            for round in 0..3 {
                assert!(notes.contains(&format!("[{i}/{round}]")), "{notes}");
            }
        }
    }
}
