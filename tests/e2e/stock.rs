//! Spare-part stock end to end: receive into a warehouse, issue to a van, consume offline on
//! a job, sync, read the van and the work order's parts, count the van; a line merged from
//! two devices counted once; every bad input refused with its code.

use serde_json::{json, Value};
use sync_core::workorder::{OldPart, PartInput, PartPatch, Role};
use tests::{Device, TestServer};

use crate::BIN;

/// Admin, a dispatcher, technician A (two devices' worth of user), an auditor, an agent, the
/// part PUMP-1 in the catalogue, warehouse `central`, and WO-1 assigned to A.
async fn company(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    s.add_user(&admin, "disp", "dispatcher", &["north"], &[])
        .await;
    s.add_user(&admin, "tech-a", "technician", &["north"], &["ovens"])
        .await;
    s.add_user(&admin, "audit", "auditor", &["north"], &[])
        .await;
    s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
    let r = s
        .http
        .put(s.url("/v1/admin/parts/PUMP-1"))
        .bearer_auth(&admin)
        .json(&json!({"name": "Drain pump", "price_cents": 4_500}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let disp = s.user_token("disp").await;
    let r = s
        .post(
            &disp,
            "/v1/stock/locations",
            &json!({"id": "central", "name": "Central warehouse"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let agent = s.user_token("agent-1").await;
    s.create_order(&agent, "WO-1", "north").await;
    let r = s
        .post(
            &disp,
            "/v1/workorders/WO-1/assign",
            &json!({"technician": "tech-a", "reason": "stock test"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    disp
}

async fn ok(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

/// The quantity of `sku` in a location's stock answer (0 when not listed).
fn qty(stock: &Value, sku: &str) -> i64 {
    stock["levels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == sku)
        .map_or(0, |l| l["qty"].as_i64().unwrap())
}

/// A's device takes the job and gets as far as starting work, offline.
async fn start_job(s: &TestServer, dev: &str) -> Device {
    let mut a = s.device("tech-a", Role::Technician, dev).await;
    a.sync(s).await.unwrap();
    a.act("WO-1", |wo, me| {
        wo.accept(me, 2_000).unwrap();
        wo.on_site(me, 3_000).unwrap();
        wo.diagnose(me, "pump blocked", &["replace pump"], 4_000)
            .unwrap();
        wo.start_work(me, 5_000).unwrap();
    });
    a
}

async fn moves_of(s: &TestServer, token: &str, wo: &str) -> Vec<Value> {
    let v = ok(
        s.get(token, &format!("/v1/stock/moves?work_order={wo}"))
            .await,
        200,
    )
    .await;
    v.as_array().unwrap().clone()
}

tests::on_each_backend! {
    async fn parts_go_from_warehouse_to_van_to_work_order_and_a_count_reconciles_the_van(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let disp = company(&s).await;
        // Receive 5 pumps (with serials) and issue 2 to A's van, created on the way.
        let serials: Vec<String> = (1..=5).map(|i| format!("P-{i}")).collect();
        let r = ok(s.post(&disp, "/v1/stock/receipts",
            &json!({"location": "central", "sku": "PUMP-1", "qty": 5, "serials": serials})).await, 201).await;
        assert_eq!(r["moves"].as_array().unwrap().len(), 5, "one move per serial");
        assert_eq!(r["levels"][0]["qty"], 5);
        let r = ok(s.post(&disp, "/v1/stock/transfers",
            &json!({"from": "central", "to": "van:tech-a", "sku": "PUMP-1", "qty": 2,
                    "serials": ["P-1", "P-2"]})).await, 201).await;
        let after: Vec<(String, i64)> = r["levels"].as_array().unwrap().iter()
            .map(|l| (l["location"].as_str().unwrap().to_owned(), l["qty"].as_i64().unwrap()))
            .collect();
        assert_eq!(after, [("central".to_owned(), 3), ("van:tech-a".to_owned(), 2)]);

        // Offline, A fits three pumps (one more than the van holds) and takes the old one away.
        let mut a = start_job(&s, "phone-a").await;
        let line = a.act("WO-1", |wo, me| {
            let part = PartInput {
                serial_new: "P-1".into(),
                serial_old: "OLD-9".into(),
                old_part: OldPart::TakenAway,
                ..PartInput::new("PUMP-1", 3, 4_500)
            };
            wo.add_part(me, part, 6_000).unwrap()
        });
        a.sync(&s).await.unwrap();

        // The van is one short: never blocked, flagged for reconciliation.
        let tech = s.user_token("tech-a").await;
        let van = ok(s.get(&tech, "/v1/stock/van").await, 200).await;
        assert_eq!(qty(&van, "PUMP-1"), -1);
        let short = ok(s.get(&disp, "/v1/stock/shortfalls").await, 200).await;
        assert_eq!(short.as_array().unwrap().len(), 1, "{short}");
        assert_eq!(short[0]["location"], "van:tech-a");
        assert_eq!(short[0]["qty"], -1);
        assert_eq!(short[0]["consumptions"][0]["short"], 1);

        // The work order's parts are traceable: work order, line, technician, device, serials.
        let m = moves_of(&s, &disp, "WO-1").await;
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0]["kind"], "consumption");
        assert_eq!(m[0]["line"], line.as_str());
        assert_eq!(m[0]["technician"], "tech-a");
        assert_eq!(m[0]["device"], "phone-a");
        assert_eq!(m[0]["serial"], "P-1");
        assert_eq!(m[0]["serial_old"], "OLD-9");
        assert_eq!(m[0]["qty"], 3);

        // Syncing again changes nothing.
        a.sync(&s).await.unwrap();
        assert_eq!(moves_of(&s, &disp, "WO-1").await.len(), 1);

        // A count of the van: nothing on the shelf, the ledger expected -1.
        let c = ok(s.post(&disp, "/v1/stock/counts",
            &json!({"location": "van:tech-a", "items": [{"sku": "PUMP-1", "counted": 0}],
                    "note": "evening check"})).await, 201).await;
        assert_eq!((c[0]["expected"].as_i64(), c[0]["counted"].as_i64(), c[0]["variance"].as_i64()),
            (Some(-1), Some(0), Some(1)));
        assert_eq!(c[0]["by_user"], "disp");
        let van = ok(s.get(&disp, "/v1/stock/locations/van:tech-a").await, 200).await;
        assert_eq!(qty(&van, "PUMP-1"), 0);
        let short = ok(s.get(&disp, "/v1/stock/shortfalls").await, 200).await;
        assert_eq!(short, json!([]), "reconciled");
        let counts = ok(s.get(&disp, "/v1/stock/counts?location=van:tech-a").await, 200).await;
        assert_eq!(counts.as_array().unwrap().len(), 1);

        // The old part comes back for repair, linked to its work order by its serial.
        let r = ok(s.post(&disp, "/v1/stock/returns",
            &json!({"location": "central", "sku": "PUMP-1", "serial": "OLD-9",
                    "disposition": "repair"})).await, 201).await;
        assert_eq!(r["moves"][0]["wo_id"], "WO-1");
        assert_eq!(r["moves"][0]["technician"], "tech-a");
        let central = ok(s.get(&disp, "/v1/stock/locations/central").await, 200).await;
        assert_eq!(qty(&central, "PUMP-1"), 3, "a returned old part is not usable stock");
        assert_eq!(central["levels"][0]["serials"], json!(["P-3", "P-4", "P-5"]));

        // Removing the line on the device gives the parts back to the van.
        a.act("WO-1", |wo, me| wo.remove_part(me, &line, 7_000).unwrap());
        a.sync(&s).await.unwrap();
        let m = moves_of(&s, &disp, "WO-1").await;
        assert_eq!(m[0]["kind"], "consumption_reversal", "{m:?}");
        assert_eq!(m[0]["qty"], 3);
        let van = ok(s.get(&tech, "/v1/stock/van").await, 200).await;
        assert_eq!(qty(&van, "PUMP-1"), 3);

        // Every level is the ledger's sum: recompute it from the moves.
        let all = ok(s.get(&disp, "/v1/stock/moves?sku=PUMP-1&limit=10000").await, 200).await;
        let mut sum = std::collections::HashMap::<String, i64>::new();
        for m in all.as_array().unwrap() {
            if m["kind"] == "return" { continue; }
            let q = m["qty"].as_i64().unwrap();
            if let Some(t) = m["to_loc"].as_str() { *sum.entry(t.into()).or_default() += q; }
            if let Some(f) = m["from_loc"].as_str() { *sum.entry(f.into()).or_default() -= q; }
        }
        assert_eq!(sum["central"], 3);
        assert_eq!(sum["van:tech-a"], 3);
    }
}

tests::on_each_backend! {
    async fn one_part_line_edited_on_two_devices_is_counted_once(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let disp = company(&s).await;
        let mut phone = start_job(&s, "phone-a").await;
        let line = phone.act("WO-1", |wo, me| {
            wo.add_part(me, PartInput::new("PUMP-1", 1, 4_500), 6_000).unwrap()
        });
        phone.sync(&s).await.unwrap();
        let mut tablet = s.device("tech-a", Role::Technician, "tablet-a").await;
        tablet.sync(&s).await.unwrap();
        assert_eq!(tablet.view("WO-1").parts.len(), 1, "the tablet has the line");
        // Both offline: the tablet raises the quantity, the phone adds the serial.
        tablet.act("WO-1", |wo, me| {
            wo.change_part(me, &line, PartPatch { qty: Some(3), ..Default::default() }, 7_000).unwrap()
        });
        phone.act("WO-1", |wo, me| {
            wo.change_part(me, &line, PartPatch { serial_new: Some("P-7".into()), ..Default::default() }, 7_100).unwrap()
        });
        tablet.sync(&s).await.unwrap();
        phone.sync(&s).await.unwrap();
        tablet.sync(&s).await.unwrap();
        phone.sync(&s).await.unwrap();
        assert_eq!(phone.view("WO-1"), tablet.view("WO-1"));
        let m = moves_of(&s, &disp, "WO-1").await;
        let net: i64 = m.iter().map(|m| {
            let q = m["qty"].as_i64().unwrap();
            if m["kind"] == "consumption" { q } else { -q }
        }).sum();
        assert_eq!(net, 3, "the line's quantity, once: {m:?}");
        assert_eq!(m.len(), 2, "1, then the 2 more the tablet added: {m:?}");
        let van = ok(s.get(&disp, "/v1/stock/locations/van:tech-a").await, 200).await;
        assert_eq!(qty(&van, "PUMP-1"), -3);
    }
}

tests::on_each_backend! {
    async fn bad_stock_requests_get_a_clear_4xx(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let disp = company(&s).await;
        ok(s.post(&disp, "/v1/stock/receipts",
            &json!({"location": "central", "sku": "PUMP-1", "qty": 2})).await, 201).await;
        let cases: Vec<(Value, &str, u16, &str)> = vec![
            (json!({"location": "central", "sku": "NOPE", "qty": 1}), "/v1/stock/receipts", 409, "unknown_sku"),
            (json!({"location": "attic", "sku": "PUMP-1", "qty": 1}), "/v1/stock/receipts", 409, "unknown_location"),
            (json!({"location": "central", "sku": "PUMP-1", "qty": -4}), "/v1/stock/receipts", 400, "bad_qty"),
            (json!({"location": "central", "sku": "PUMP-1", "qty": 2, "serials": ["A"]}), "/v1/stock/receipts", 400, "bad_serials"),
            (json!({"location": "van:tech-a", "sku": "PUMP-1", "qty": 1}), "/v1/stock/receipts", 409, "not_a_warehouse"),
            (json!({"from": "central", "to": "van:tech-a", "sku": "PUMP-1", "qty": 3}), "/v1/stock/transfers", 409, "insufficient_stock"),
            (json!({"from": "central", "to": "van:nobody", "sku": "PUMP-1", "qty": 1}), "/v1/stock/transfers", 409, "unknown_location"),
            (json!({"from": "central", "to": "central", "sku": "PUMP-1", "qty": 1}), "/v1/stock/transfers", 400, "same_location"),
            (json!({"from": "central", "to": "van:tech-a", "sku": "PUMP-1", "qty": 1, "serials": ["X"]}), "/v1/stock/transfers", 409, "serial_not_here"),
            (json!({"location": "central", "sku": "PUMP-1", "serial": "S", "disposition": "sell"}), "/v1/stock/returns", 400, "bad_disposition"),
            (json!({"location": "central", "items": []}), "/v1/stock/counts", 400, "bad_items"),
            (json!({"location": "central", "items": [{"sku": "PUMP-1", "counted": -1}]}), "/v1/stock/counts", 400, "bad_qty"),
            (json!({"id": "van:x", "name": "X"}), "/v1/stock/locations", 400, "van_id"),
            (json!({"id": "central", "name": "Again"}), "/v1/stock/locations", 409, "conflict"),
        ];
        for (body, path, status, code) in cases {
            let r = s.post(&disp, path, &body).await;
            assert_eq!(r.status().as_u16(), status, "{path} {body}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], code, "{path} {body}: {v}");
            assert!(!v["message"].as_str().unwrap().is_empty());
        }
        // Nothing of that moved stock.
        let central = ok(s.get(&disp, "/v1/stock/locations/central").await, 200).await;
        assert_eq!(qty(&central, "PUMP-1"), 2);
        // Roles: a technician reads only its own van and moves nothing; agents read nothing;
        // auditors read.
        let tech = s.user_token("tech-a").await;
        let r = s.post(&tech, "/v1/stock/receipts", &json!({"location": "central", "sku": "PUMP-1", "qty": 1})).await;
        assert_eq!(r.status(), 403);
        assert_eq!(s.get(&tech, "/v1/stock/locations/central").await.status(), 403);
        assert_eq!(s.get(&tech, "/v1/stock/moves?location=central").await.status(), 403);
        let agent = s.user_token("agent-1").await;
        assert_eq!(s.get(&agent, "/v1/stock/locations").await.status(), 403);
        let audit = s.user_token("audit").await;
        assert_eq!(s.get(&audit, "/v1/stock/locations/central").await.status(), 200);
        assert_eq!(s.get(&disp, "/v1/stock/locations/attic").await.status(), 404);
    }
}

tests::on_each_backend! {
    async fn thresholds_give_a_reorder_list(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let disp = company(&s).await;
        ok(s.post(&disp, "/v1/stock/receipts",
            &json!({"location": "central", "sku": "PUMP-1", "qty": 3})).await, 201).await;
        let put = |path: &str, body: Value| {
            let req = s.http.put(s.url(path)).bearer_auth(&disp).json(&body);
            async move { req.send().await.unwrap() }
        };
        ok(put("/v1/stock/thresholds/central/PUMP-1", json!({"min_qty": 5, "reorder_to": 20})).await, 200).await;
        ok(put("/v1/stock/thresholds/van:tech-a/PUMP-1", json!({"min_qty": 1, "reorder_to": 2})).await, 200).await;
        let r = put("/v1/stock/thresholds/central/NOPE", json!({"min_qty": 1, "reorder_to": 2})).await;
        assert_eq!(r.status(), 409);
        let list = ok(s.get(&disp, "/v1/stock/reorder").await, 200).await;
        let got: Vec<(&str, i64, i64)> = list.as_array().unwrap().iter()
            .map(|l| (l["location"].as_str().unwrap(), l["qty"].as_i64().unwrap(), l["suggested"].as_i64().unwrap()))
            .collect();
        assert_eq!(got, [("central", 3, 17), ("van:tech-a", 0, 2)]);
        let central = ok(s.get(&disp, "/v1/stock/locations/central").await, 200).await;
        assert_eq!(central["levels"][0]["low"], true);
    }
}
