//! The quality audit end to end: the daily draw (reproducible from its seed, at least one per
//! region, once per day, least-loaded auditors, audits waiting for an auditor), findings with
//! corrective actions on the service clock until verified, role scoping and every bad input.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sync_core::workorder::Role;
use tests::{Device, TestServer};

use crate::BIN;

const SKILL: &str = "washing-machines";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A manual-clock server sampling 30 % a region (5 completed → 2, 2 completed → 1).
async fn server(backend: &tests::Backend) -> TestServer {
    let dir = std::env::temp_dir().join(format!("audit-policy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[audit]\nsample_rate = 0.3\n").unwrap();
    TestServer::start_keeping_logs(
        BIN,
        backend,
        &[("FIELDSYNC_CLOCK", "manual")],
        &["--policy", policy.to_str().unwrap()],
    )
    .await
}

/// North: a technician, two auditors, a manager; east: a technician and nobody to audit;
/// a dispatcher and an agent. Returns the admin's token, with the service clock moved to
/// 01:00 UTC of the next day so that a test's work stays inside one day.
async fn company(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    s.add_user(&admin, "tech-n", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "tech-e", "technician", &["east"], &[SKILL])
        .await;
    s.add_user(&admin, "aud-n1", "auditor", &["north"], &[])
        .await;
    s.add_user(&admin, "aud-n2", "auditor", &["north"], &[])
        .await;
    s.add_user(&admin, "mgr-n", "manager", &["north"], &[])
        .await;
    s.add_user(&admin, "disp", "dispatcher", &["north", "east"], &[])
        .await;
    s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
    let now = s.clock(&admin).await;
    let to_next_day = DAY - now.rem_euclid(DAY) + HOUR;
    s.advance(&admin, &format!("{to_next_day}ms")).await;
    admin
}

async fn ok(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

/// The refusal's code, after checking its status and that the message names `needle`.
async fn refused(r: reqwest::Response, status: u16, code: &str, needle: &str) {
    let body = ok(r, status).await;
    assert_eq!(body["error"], code, "{body}");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
}

/// `ids` in `region` are created (auto-dispatched to its technician) and completed by it.
async fn complete(s: &TestServer, tech: &str, region: &str, ids: &[&str]) -> Device {
    let agent = s.user_token("agent-1").await;
    for id in ids {
        let v = s.create_order(&agent, id, region).await;
        assert_eq!(v["assignee"], tech, "{v}");
    }
    let admin = s.admin_token().await;
    let t = s.clock(&admin).await;
    let mut d = s
        .device(tech, Role::Technician, &format!("{tech}-phone"))
        .await;
    d.sync(s).await.unwrap();
    for id in ids {
        d.act(id, |wo, me| {
            wo.accept(me, t).unwrap();
            wo.set_appointment(me, t, t + HOUR, None, t).unwrap();
            wo.on_site(me, t).unwrap();
            wo.diagnose(me, "blocked pump", &["clean the pump"], t)
                .unwrap();
            wo.start_work(me, t).unwrap();
            wo.record_test(me, true, "drain test", t).unwrap();
            wo.complete(me, true, t).unwrap();
        });
    }
    d.sync(s).await.unwrap();
    d
}

/// SplitMix64 and the draw as `server/src/audit/sample.rs` specifies them, written again from
/// that text: a recorded draw must be reproducible by anyone from seed, rate and candidates.
fn reproduce(draw: &Value) -> BTreeMap<String, Vec<String>> {
    let mut state = draw["seed"].as_u64().unwrap();
    let rate = draw["rate"].as_f64().unwrap();
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut regions: Vec<&Value> = draw["regions"].as_array().unwrap().iter().collect();
    regions.sort_by_key(|r| r["region"].as_str().unwrap().to_owned());
    let mut out = BTreeMap::new();
    for r in regions {
        let mut ids: Vec<String> = r["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        let n = ids.len();
        let k = if n == 0 {
            0
        } else {
            ((rate * n as f64 + 0.5).floor() as usize).clamp(1, n)
        };
        for i in 0..k {
            let j = i + (next() % (n - i) as u64) as usize;
            ids.swap(i, j);
        }
        ids.truncate(k);
        ids.sort();
        out.insert(r["region"].as_str().unwrap().to_owned(), ids);
    }
    out
}

fn chosen(draw: &Value) -> BTreeMap<String, Vec<String>> {
    draw["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let ids = r["chosen"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            (r["region"].as_str().unwrap().to_owned(), ids)
        })
        .collect()
}

async fn audits(s: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let v = ok(s.get(token, &format!("/v1/audits{query}")).await, 200).await;
    v.as_array().unwrap().clone()
}

tests::on_each_backend! {
    async fn the_daily_draw_samples_every_region_once_reproducibly_and_spreads_it_over_auditors(backend) {
        let s = server(&backend).await;
        let admin = company(&s).await;
        // The first pass draws yesterday: nothing was completed then.
        let first = s.tick(&admin).await;
        assert_eq!(first["audit_draws"].as_array().unwrap().len(), 1, "{first}");
        assert_eq!(first["audit_draws"][0]["candidate_count"], 0);

        complete(&s, "tech-n", "north", &["WO-N1", "WO-N2", "WO-N3", "WO-N4", "WO-N5"]).await;
        complete(&s, "tech-e", "east", &["WO-E1", "WO-E2"]).await;
        // Nothing is drawn while the day is still running.
        let same_day = s.tick(&admin).await;
        assert!(same_day["audit_draws"].as_array().unwrap().is_empty(), "{same_day}");
        let r = s.post(&admin, "/v1/audits/draws", &json!({"day": "2020-13-01"})).await;
        refused(r, 400, "bad_day", "YYYY-MM-DD").await;

        s.advance(&admin, "1day").await;
        let pass = s.tick(&admin).await;
        let draws = pass["audit_draws"].as_array().unwrap();
        assert_eq!(draws.len(), 1, "{pass}");
        let draw = draws[0].clone();
        let day = draw["day"].as_str().unwrap().to_owned();
        assert_eq!(draw["candidate_count"], 7);
        assert_eq!(draw["rate"], 0.3);
        assert_eq!(draw["drawn_by"], "system");
        assert_eq!(draw["new"], true);
        let picked = chosen(&draw);
        assert_eq!(picked["north"].len(), 2, "30 % of 5, rounded: {draw}");
        assert_eq!(picked["east"].len(), 1, "at least one a region: {draw}");
        // Reproducible: the recorded seed, rate and candidates give the same sample.
        assert_eq!(reproduce(&draw), picked);

        // Once a day: another pass draws nothing; the admin's draw answers the same draw.
        let again = s.tick(&admin).await;
        assert!(again["audit_draws"].as_array().unwrap().is_empty(), "{again}");
        let r = ok(s.post(&admin, "/v1/audits/draws", &json!({"day": day})).await, 200).await;
        assert_eq!((r["new"].clone(), r["seed"].clone()), (json!(false), draw["seed"].clone()));
        assert_eq!(chosen(&r), picked);
        let listed = ok(s.get(&admin, &format!("/v1/audits/draws?day={day}")).await, 200).await;
        assert_eq!(listed[0]["seed"], draw["seed"]);
        // Today has not ended; a day with nothing completed draws nothing, once.
        let r = s.post(&admin, "/v1/audits/draws", &json!({})).await;
        assert_eq!(ok(r, 200).await["day"], day, "the default is yesterday");
        let r = s.post(&admin, "/v1/audits/draws", &json!({"day": day_after(&day)})).await;
        refused(r, 409, "day_not_over", "has not ended").await;

        // The day's sample: north's two audits went one to each auditor (least-loaded); east's
        // waits for an auditor.
        let sample = audits(&s, &admin, &format!("?day={day}")).await;
        assert_eq!(sample.len(), 3, "{sample:?}");
        let mut north: Vec<String> = sample.iter().filter(|a| a["region"] == "north")
            .map(|a| a["auditor"].as_str().unwrap().to_owned()).collect();
        north.sort();
        assert_eq!(north, ["aud-n1", "aud-n2"]);
        let waiting = audits(&s, &admin, "?state=unassigned").await;
        assert_eq!(waiting.len(), 1);
        assert_eq!((waiting[0]["region"].clone(), waiting[0]["auditor"].clone()), (json!("east"), Value::Null));
        // An auditor for east: the next pass gives the waiting audit out.
        s.add_user(&admin, "aud-e", "auditor", &["east"], &[]).await;
        s.tick(&admin).await;
        let east = audits(&s, &admin, "?region=east").await;
        assert_eq!((east[0]["auditor"].clone(), east[0]["state"].clone()), (json!("aud-e"), json!("open")));
        let detail = ok(s.get(&admin, &format!("/v1/audits/{}", east[0]["id"].as_str().unwrap())).await, 200).await;
        let actions: Vec<&str> = detail["history"].as_array().unwrap().iter()
            .map(|h| h["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["drawn", "assigned"]);

        // Scope: auditors and managers see their regions, admins all; the rest are refused.
        let aud = s.user_token("aud-n1").await;
        let mine = audits(&s, &aud, "").await;
        assert_eq!(mine.len(), 2);
        assert!(mine.iter().all(|a| a["region"] == "north"));
        assert_eq!(audits(&s, &aud, "?auditor=aud-n1").await.len(), 1);
        let r = s.get(&aud, &format!("/v1/audits/{}", east[0]["id"].as_str().unwrap())).await;
        refused(r, 403, "forbidden", "east").await;
        let mgr = s.user_token("mgr-n").await;
        refused(s.get(&mgr, "/v1/audits?region=east").await, 403, "forbidden", "east").await;
        let north_draw = ok(s.get(&mgr, &format!("/v1/audits/draws?day={day}")).await, 200).await;
        assert_eq!(north_draw[0]["regions"].as_array().unwrap().len(), 1, "{north_draw}");
        for user in ["tech-n", "disp", "agent-1"] {
            let t = s.user_token(user).await;
            refused(s.get(&t, "/v1/audits").await, 403, "forbidden", "no audit views").await;
        }
        refused(s.post(&aud, "/v1/audits/draws", &json!({})).await, 403, "forbidden", "").await;
        refused(s.get(&admin, "/v1/audits?state=done").await, 400, "bad_query", "done").await;
        refused(s.get(&admin, "/v1/audits?day=yesterday").await, 400, "bad_day", "yesterday").await;
    }
}

/// The day after `day` (`YYYY-MM-DD`), on the Gregorian calendar.
fn day_after(day: &str) -> String {
    let (y, m, d): (i32, u32, u32) = (
        day[0..4].parse().unwrap(),
        day[5..7].parse().unwrap(),
        day[8..10].parse().unwrap(),
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][m as usize - 1];
    let (y, m, d) = if d < len {
        (y, m, d + 1)
    } else if m < 12 {
        (y, m + 1, 1)
    } else {
        (y + 1, 1, 1)
    };
    format!("{y:04}-{m:02}-{d:02}")
}

/// A day with one completed north work order drawn; returns the audit (given to aud-n1).
async fn one_audit(s: &TestServer, admin: &str) -> Value {
    complete(s, "tech-n", "north", &["WO-N1"]).await;
    s.advance(admin, "1day").await;
    let pass = s.tick(admin).await;
    let day = pass["audit_draws"][0]["day"].as_str().unwrap().to_owned();
    let list = audits(s, admin, &format!("?day={day}")).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["auditor"], "aud-n1", "ties go to the smaller id");
    list[0].clone()
}

fn fail_finding(deadline_at: i64) -> Value {
    json!({
        "standard": "after photo shows the repaired part",
        "result": "fail",
        "problem": "no after photo on the work order",
        "responsible_team": "north field crew",
        "corrective_action": "take and attach the after photo at the next visit",
        "deadline_at": deadline_at,
    })
}

tests::on_each_backend! {
    async fn a_failed_finding_is_a_breach_past_its_deadline_until_verified_and_bad_input_is_refused(backend) {
        let s = server(&backend).await;
        let admin = company(&s).await;
        s.tick(&admin).await;
        let audit = one_audit(&s, &admin).await;
        let id = audit["id"].as_str().unwrap().to_owned();
        let aud = s.user_token("aud-n1").await;
        let now = s.clock(&admin).await;
        let findings = format!("/v1/audits/{id}/findings");

        // Bad input, each refused with its code and the field it lacks.
        refused(s.post(&aud, "/v1/audits/aud-nope/findings", &fail_finding(now + HOUR)).await,
            404, "not_found", "aud-nope").await;
        refused(s.get(&aud, "/v1/audits/aud-nope").await, 404, "not_found", "aud-nope").await;
        for field in ["problem", "responsible_team", "corrective_action", "deadline_at"] {
            let mut body = fail_finding(now + HOUR);
            body.as_object_mut().unwrap().remove(field);
            refused(s.post(&aud, &findings, &body).await, 400, "missing_field", &format!("`{field}`")).await;
        }
        refused(s.post(&aud, &findings, &json!({"standard": " ", "result": "pass"})).await,
            400, "missing_field", "`standard`").await;
        refused(s.post(&aud, &findings, &fail_finding(now - 1)).await, 400, "deadline_past", "deadline_at").await;
        let mut pass_with_action = fail_finding(now + HOUR);
        pass_with_action["result"] = json!("pass");
        refused(s.post(&aud, &findings, &pass_with_action).await, 400, "unexpected_field", "`problem`").await;
        refused(s.post(&aud, &findings, &json!({"standard": "x", "result": "maybe"})).await,
            400, "malformed_json", "").await;
        // Only its auditor (or an admin) records; technicians see no audits at all.
        let other = s.user_token("aud-n2").await;
        refused(s.post(&other, &findings, &fail_finding(now + HOUR)).await, 403, "forbidden", "aud-n1").await;
        let tech = s.user_token("tech-n").await;
        refused(s.post(&tech, &findings, &fail_finding(now + HOUR)).await, 403, "forbidden", "").await;
        // Nothing recorded yet: it cannot be closed.
        refused(s.post(&aud, &format!("/v1/audits/{id}/close"), &json!({})).await, 409, "no_findings", "").await;

        // A pass, and two failed findings due in two hours; the second is verified at once.
        ok(s.post(&aud, &findings, &json!({"standard": "customer signature present", "result": "pass"})).await, 201).await;
        ok(s.post(&aud, &findings, &fail_finding(now + 2 * HOUR)).await, 201).await;
        let v = ok(s.post(&aud, &findings, &fail_finding(now + 2 * HOUR)).await, 201).await;
        let f: Vec<Value> = v["findings"].as_array().unwrap().clone();
        assert_eq!(f.len(), 3);
        assert_eq!((f[0]["result"].clone(), f[1]["result"].clone()), (json!("pass"), json!("fail")));
        assert_eq!(f[1]["deadline_at"], now + 2 * HOUR);
        assert_eq!(f[1]["recorded_by"], "aud-n1");
        let (pass_id, late_id, prompt_id) = (
            f[0]["id"].as_str().unwrap().to_owned(),
            f[1]["id"].as_str().unwrap().to_owned(),
            f[2]["id"].as_str().unwrap().to_owned(),
        );
        let verify = |fid: &str| format!("/v1/audits/{id}/findings/{fid}/verify");
        ok(s.post(&aud, &verify(&prompt_id), &json!({"note": "photo attached"})).await, 200).await;

        // A later sync of the work order (its projection rewrites its clock rows) leaves the
        // corrective actions' clocks alone.
        let mut d = s.device("tech-n", Role::Technician, "tech-n-phone-2").await;
        d.sync(&s).await.unwrap();
        d.act("WO-N1", |wo, me| wo.edit_notes(me, "customer asked for a call", now).unwrap());
        d.sync(&s).await.unwrap();

        // Past the deadline, the clock pass records the unverified one as a breach.
        s.advance(&admin, "3h").await;
        let pass = s.tick(&admin).await;
        let qa: Vec<&Value> = pass["breaches"].as_array().unwrap().iter()
            .filter(|b| b["rule"] == "QA-CORRECTIVE").collect();
        assert_eq!(qa.len(), 1, "{pass}");
        assert_eq!((qa[0]["work_order"].clone(), qa[0]["anchor"].clone()), (json!("WO-N1"), json!(late_id)));
        let mgr = s.user_token("mgr-n").await;
        // The manager's KPI report counts it open and overdue.
        let day = audit["day"].as_str().unwrap().to_owned();
        let kpi_path = format!("/v1/kpi?from={day}&to={day}");
        let kpi = ok(s.get(&mgr, &kpi_path).await, 200).await;
        let qa_kpi = &kpi["quality_audit"];
        assert_eq!((qa_kpi["open_corrective_actions"].clone(), qa_kpi["overdue_corrective_actions"].clone()),
            (json!(1), json!(1)), "{kpi}");
        assert_eq!((qa_kpi["audits_closed"].clone(), qa_kpi["pass_rate"].clone()), (json!(0), Value::Null));
        let listed = ok(s.get(&mgr, "/v1/breaches").await, 200).await;
        let listed: Vec<&Value> = listed.as_array().unwrap().iter()
            .filter(|b| b["rule"] == "QA-CORRECTIVE").collect();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["due_at"], now + 2 * HOUR);
        assert_eq!(listed[0]["region"], "north");

        // Verification: by a manager of the region, once; a pass has nothing to verify.
        refused(s.post(&mgr, &verify(&pass_id), &json!({})).await, 409, "nothing_to_verify", "").await;
        refused(s.post(&mgr, &verify("fnd-nope"), &json!({})).await, 404, "not_found", "fnd-nope").await;
        refused(s.post(&tech, &verify(&late_id), &json!({})).await, 403, "forbidden", "").await;
        let v = ok(s.post(&mgr, &verify(&late_id), &json!({"note": "photo seen on site"})).await, 200).await;
        let late = v["findings"].as_array().unwrap().iter().find(|f| f["id"] == late_id).unwrap().clone();
        assert_eq!(late["verified_by"], "mgr-n");
        assert_eq!(late["verification_note"], "photo seen on site");
        refused(s.post(&aud, &verify(&late_id), &json!({})).await, 409, "already_verified", "mgr-n").await;
        // Verified late, the breach stays on record; nothing new breaches.
        assert!(s.tick(&admin).await["breaches"].as_array().unwrap().is_empty());
        assert_eq!(ok(s.get(&mgr, "/v1/breaches").await, 200).await.as_array().unwrap().iter()
            .filter(|b| b["rule"] == "QA-CORRECTIVE").count(), 1);

        // Closing: once, and then no more findings.
        let closed = ok(s.post(&aud, &format!("/v1/audits/{id}/close"), &json!({})).await, 200).await;
        assert_eq!((closed["state"].clone(), closed["closed_by"].clone()), (json!("closed"), json!("aud-n1")));
        refused(s.post(&aud, &format!("/v1/audits/{id}/close"), &json!({})).await, 409, "audit_closed", "").await;
        refused(s.post(&aud, &findings, &json!({"standard": "late", "result": "pass"})).await, 409, "audit_closed", "").await;
        let actions: Vec<(String, String)> = closed["history"].as_array().unwrap().iter()
            .map(|h| (h["action"].as_str().unwrap().to_owned(), h["by_user"].as_str().unwrap().to_owned()))
            .collect();
        let want: Vec<(String, String)> = [
            ("drawn", "system"), ("assigned", "system"), ("finding", "aud-n1"), ("finding", "aud-n1"),
            ("finding", "aud-n1"), ("verified", "aud-n1"), ("verified", "mgr-n"), ("closed", "aud-n1"),
        ].iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        assert_eq!(actions, want);
        assert_eq!(audits(&s, &mgr, "?state=closed").await.len(), 1);
        // Closed with a failed finding: a failed audit; one finding of three passed.
        let kpi = ok(s.get(&mgr, &kpi_path).await, 200).await;
        let qa_kpi = &kpi["quality_audit"];
        let figures: Vec<Value> = ["audits_closed", "audits_passed", "pass_rate", "findings",
            "findings_passed", "open_corrective_actions", "overdue_corrective_actions"]
            .iter().map(|k| qa_kpi[*k].clone()).collect();
        assert_eq!(figures, [json!(1), json!(0), json!(0.0), json!(3), json!(1), json!(0), json!(0)], "{kpi}");
        let third = qa_kpi["finding_pass_rate"].as_f64().unwrap();
        assert!((third - 1.0 / 3.0).abs() < 1e-9, "{kpi}");
        // Another region's figures are empty.
        let east = ok(s.get(&admin, &format!("{kpi_path}&region=east")).await, 200).await;
        assert_eq!(east["quality_audit"]["audits_closed"], 0, "{east}");
    }
}
