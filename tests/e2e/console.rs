//! The browser console's server side through the real server: the embedded pages and their
//! headers, the cookie session (login, office only, CSRF, refresh, logout), and the console's
//! reads (board, cards, work order record, queues), the KPI CSV and live events naming what
//! changed. The pages themselves are tested in a browser (console-tests/).

use std::collections::HashMap;
use std::time::Duration;

use field_cli::watch::sse::{Event, Parser};
use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use serde_json::{json, Value};
use tests::{Backend, TestServer};

use crate::BIN;

const SKILL: &str = "washing-machines"; // what Intake::example() requires

/// A browser's view of the session: its cookies and the CSRF token the page was given.
struct Browser {
    cookies: HashMap<String, String>,
    csrf: String,
}

impl Browser {
    fn absorb(&mut self, headers: &HeaderMap) {
        for c in headers.get_all(SET_COOKIE) {
            let text = c.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

async fn console_login(s: &TestServer, user: &str, password: &str) -> reqwest::Response {
    s.http
        .post(s.url("/console/session"))
        .header("x-requested-with", "fieldsync")
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn browser(s: &TestServer, user: &str) -> Browser {
    let r = console_login(s, user, &format!("{user}-password")).await;
    assert_eq!(r.status(), 200, "console login of {user}");
    let mut b = Browser {
        cookies: HashMap::new(),
        csrf: String::new(),
    };
    b.absorb(r.headers());
    let v: Value = r.json().await.unwrap();
    b.csrf = v["csrf"].as_str().unwrap().to_owned();
    b
}

async fn get(s: &TestServer, b: &Browser, path: &str) -> reqwest::Response {
    s.http
        .get(s.url(path))
        .header(COOKIE, b.cookie_header())
        .send()
        .await
        .unwrap()
}

async fn post(
    s: &TestServer,
    b: &Browser,
    path: &str,
    body: &Value,
    csrf: Option<&str>,
) -> reqwest::Response {
    let mut req = s
        .http
        .post(s.url(path))
        .header(COOKIE, b.cookie_header())
        .json(body);
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    req.send().await.unwrap()
}

/// Jobs wait for a dispatcher (no dispatch on intake).
async fn server(backend: &Backend) -> (TestServer, String) {
    let path = std::env::temp_dir().join(format!(
        "fieldsync-console-policy-{}.toml",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, "[dispatch]\nauto_on_intake = false\n").unwrap();
    let s = TestServer::start_with_env(
        BIN,
        backend,
        &[("FIELDSYNC_POLICY", &path.display().to_string())],
    )
    .await;
    let admin = s.admin_token().await;
    s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
        .await;
    s.add_user(&admin, "disp-s", "dispatcher", &["south"], &[])
        .await;
    s.add_user(&admin, "tech-a", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "mgr-1", "manager", &[], &[]).await;
    (s, admin)
}

tests::on_each_backend! {
    async fn the_page_and_its_assets_are_served_with_a_strict_policy_and_revalidate(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let r = s.http.get(s.url("/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers().clone();
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let page = r.text().await.unwrap();
        // Every script and stylesheet the page names is served from here.
        for asset in page.split('"').filter(|p| p.starts_with("/console/")) {
            let r = s.http.get(s.url(asset)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{asset}");
        }
        let etag = h["etag"].to_str().unwrap().to_owned();
        let again = s.http.get(s.url("/")).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304);
        let missing = s.http.get(s.url("/console/no-such.js")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        let v: Value = missing.json().await.unwrap();
        assert_eq!(v["error"], "not_found");
    }
}

tests::on_each_backend! {
    async fn the_cookie_session_is_office_only_guards_changes_refreshes_and_ends(backend) {
        let (s, _admin) = server(&backend).await;
        // A technician's right password still gets no console session.
        let r = console_login(&s, "tech-a", "tech-a-password").await;
        assert_eq!(r.status(), 403);
        assert!(r.headers().get(SET_COOKIE).is_none());
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "office_only");
        // Without the console header the login is refused before any password check.
        let r = s.http.post(s.url("/console/session"))
            .json(&json!({"user": "disp-n", "password": "disp-n-password"})).send().await.unwrap();
        assert_eq!(r.status(), 400);

        let r = console_login(&s, "disp-n", "disp-n-password").await;
        assert_eq!(r.status(), 200);
        let cookies: Vec<String> = r.headers().get_all(SET_COOKIE).iter()
            .map(|c| c.to_str().unwrap().to_owned()).collect();
        for c in &cookies {
            assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
        }
        let mut b = browser(&s, "disp-n").await;
        let me: Value = get(&s, &b, "/console/session").await.json().await.unwrap();
        assert_eq!(me["user"]["id"], "disp-n");
        assert_eq!(me["user"]["regions"], json!(["north"]));
        assert_eq!(me["csrf"], b.csrf.as_str());

        // The cookie reads the API; a change needs the CSRF token.
        s.create_order(&s.user_token("disp-n").await, "WO-C1", "north").await;
        assert_eq!(get(&s, &b, "/v1/console/board").await.status(), 200);
        let body = json!({"technician": "tech-a"});
        let r = post(&s, &b, "/v1/workorders/WO-C1/assign", &body, None).await;
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "csrf");
        let r = post(&s, &b, "/v1/workorders/WO-C1/assign", &body, Some("forged")).await;
        assert_eq!(r.status(), 403);
        let csrf = b.csrf.clone();
        let r = post(&s, &b, "/v1/workorders/WO-C1/assign", &body, Some(&csrf)).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

        // Refresh rotates both cookies and the CSRF token; the old token no longer passes.
        let r = s.http.post(s.url("/console/session/refresh"))
            .header(COOKIE, b.cookie_header()).header("x-requested-with", "fieldsync")
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let old_access = b.cookies["fs_access"].clone();
        b.absorb(r.headers());
        assert_ne!(b.cookies["fs_access"], old_access);
        let v: Value = r.json().await.unwrap();
        b.csrf = v["csrf"].as_str().unwrap().to_owned();
        assert_ne!(b.csrf, csrf);
        let unassign = json!({"reason": "customer asked for another day"});
        let r = post(&s, &b, "/v1/workorders/WO-C1/unassign", &unassign, Some(&csrf)).await;
        assert_eq!(r.status(), 403, "the previous CSRF token");

        // Logout clears the cookies and the refresh token is dead.
        let refresh_cookie = b.cookie_header();
        let csrf = b.csrf.clone();
        let r = post(&s, &b, "/console/logout", &json!({}), Some(&csrf)).await;
        assert_eq!(r.status(), 204);
        b.absorb(r.headers());
        assert!(!b.cookies.contains_key("fs_access"));
        assert_eq!(get(&s, &b, "/console/session").await.status(), 401);
        let r = s.http.post(s.url("/console/session/refresh"))
            .header(COOKIE, refresh_cookie).header("x-requested-with", "fieldsync")
            .send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
}

tests::on_each_backend! {
    async fn the_board_serves_in_dispatch_order_filters_and_keeps_to_the_dispatchers_regions(backend) {
        let (s, admin) = server(&backend).await;
        s.create_order(&admin, "WO-N1", "north").await;
        s.create_order_with(&admin, "WO-N2", "north", &json!({"priority": "urgent"})).await;
        s.create_order_with(&admin, "WO-N3", "north", &json!({"customer": {"name": "Vera Vip", "phone": "+49 30 7654321", "address": "Ring 2, Berlin", "tier": "vip"}})).await;
        s.create_order(&admin, "WO-S1", "south").await;
        let b = browser(&s, "disp-n").await;
        let board: Value = get(&s, &b, "/v1/console/board").await.json().await.unwrap();
        assert_eq!(board["regions"], json!(["north"]));
        let ids: Vec<&str> = board["unassigned"].as_array().unwrap().iter()
            .map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["WO-N2", "WO-N3", "WO-N1"], "urgent, VIP, then the rest");
        assert_eq!(board["counts"]["north"]["pending_dispatch"], 3);
        assert!(board["lanes"].get("south").is_none(), "{board}");
        let card = &board["unassigned"][0];
        assert_eq!(card["skills"], json!([SKILL]));
        assert!(card["next_deadline"]["due_at"].as_i64().is_some(), "{card}");

        let r = get(&s, &b, "/v1/console/board?region=south").await;
        assert_eq!(r.status(), 403);
        let found: Value = get(&s, &b, "/v1/console/board?q=wo-n3").await.json().await.unwrap();
        assert_eq!(found["unassigned_total"], 1);
        let urgent: Value = get(&s, &b, "/v1/console/board?priority=urgent&limit=1").await.json().await.unwrap();
        assert_eq!(urgent["unassigned"][0]["id"], "WO-N2");
        for bad in ["limit=0", "status=flying", "sort=id"] {
            let r = get(&s, &b, &format!("/v1/console/board?{bad}")).await;
            assert_eq!(r.status(), 400, "{bad}");
        }
        // Cards by id: what the dispatcher cannot see is left out.
        let v: Value = get(&s, &b, "/v1/console/cards?ids=WO-N1,WO-S1,WO-NONE").await.json().await.unwrap();
        let ids: Vec<&str> = v["cards"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["WO-N1"]);
        let none: Value = get(&s, &b, "/v1/console/cards?ids=").await.json().await.unwrap();
        assert_eq!(none["cards"], json!([]));
        let many = (0..201).map(|i| format!("WO-{i}")).collect::<Vec<_>>().join(",");
        assert_eq!(get(&s, &b, &format!("/v1/console/cards?ids={many}")).await.status(), 400);
        // A technician has no board.
        let tech = s.user_token("tech-a").await;
        assert_eq!(s.get(&tech, "/v1/console/board").await.status(), 403);
    }
}

tests::on_each_backend! {
    async fn a_work_order_record_has_its_timeline_clocks_seal_and_the_users_actions(backend) {
        let (s, admin) = server(&backend).await;
        s.create_order_with(&admin, "WO-R1", "north", &json!({"service_type": "complaint"})).await;
        let disp = s.user_token("disp-n").await;
        let r = s.post(&disp, "/v1/workorders/WO-R1/assign", &json!({"technician": "tech-a"})).await;
        assert_eq!(r.status(), 200);
        let b = browser(&s, "disp-n").await;
        let rec: Value = get(&s, &b, "/v1/console/workorder/WO-R1").await.json().await.unwrap();
        assert_eq!(rec["view"]["assignee"], "tech-a");
        let kinds: Vec<&str> = rec["timeline"].as_array().unwrap().iter()
            .map(|e| e["kind"]["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["created", "assigned"]);
        assert!(rec["timeline"][1]["received_at"].as_i64().is_some(), "{rec}");
        assert_eq!(rec["timeline"][1]["user"], "disp-n");
        assert!(rec["clocks"].as_array().unwrap().iter().any(|c| c["rule"] == "CS-COMPLAINT-CLASSIFY"), "{rec}");
        assert_eq!(rec["seal"]["state"], "none");
        let actions: Vec<&str> = rec["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(actions, ["assign", "unassign", "classify", "cancel"]);
        // It is on the complaints queue until classified.
        let mgr = browser(&s, "mgr-1").await;
        let q: Value = get(&s, &mgr, "/v1/console/queues").await.json().await.unwrap();
        assert_eq!(q["complaints_to_classify"][0]["id"], "WO-R1", "{q}");
        // Cancelling through the new endpoint; then nothing is left to do.
        let r = post(&s, &mgr, "/v1/workorders/WO-R1/cancel", &json!({"reason": "duplicate request"}), Some(&mgr.csrf)).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = post(&s, &mgr, "/v1/workorders/WO-R1/cancel", &json!({"reason": "again"}), Some(&mgr.csrf)).await;
        assert_eq!(r.status(), 409);
        let rec: Value = get(&s, &b, "/v1/console/workorder/WO-R1").await.json().await.unwrap();
        assert_eq!(rec["view"]["status"], "cancelled");
        assert_eq!(rec["actions"], json!([]));
        // Another region's dispatcher cannot read it.
        let south = browser(&s, "disp-s").await;
        assert_eq!(get(&s, &south, "/v1/console/workorder/WO-R1").await.status(), 404);
    }
}

tests::on_each_backend! {
    async fn the_daily_kpis_download_as_csv(backend) {
        let (s, admin) = server(&backend).await;
        s.create_order(&admin, "WO-K1", "north").await;
        let b = browser(&s, "mgr-1").await;
        let r = get(&s, &b, "/v1/kpi/daily?format=csv").await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(r.headers()["content-disposition"].to_str().unwrap().contains(".csv"));
        let text = r.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("date,region,volume,completed,"), "{text}");
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[1].contains(",1,"), "one work order today: {text}");
        assert_eq!(get(&s, &b, "/v1/kpi/daily?format=xml").await.status(), 400);
        assert_eq!(get(&s, &b, "/v1/kpi?format=csv").await.status(), 400);
    }
}

/// The next event of a raw stream within `within`.
async fn next_event(
    resp: &mut reqwest::Response,
    parser: &mut Parser,
    queue: &mut Vec<Event>,
    within: Duration,
) -> Option<Event> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if !queue.is_empty() {
            return Some(queue.remove(0));
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .ok()?
            .unwrap()?;
        queue.extend(parser.feed(&chunk).unwrap());
    }
}

tests::on_each_backend! {
    async fn a_console_stream_is_told_which_work_orders_changed(backend) {
        let (s, admin) = server(&backend).await;
        let b = browser(&s, "disp-n").await;
        // As a browser's EventSource: the cookie, no Authorization header.
        let mut resp = s.http.get(s.url("/v1/events")).header(COOKIE, b.cookie_header())
            .header("accept", "text/event-stream").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let (mut parser, mut queue) = (Parser::new(), Vec::new());
        let first = next_event(&mut resp, &mut parser, &mut queue, Duration::from_secs(5)).await.expect("resume");
        assert_eq!(first.data, r#"{"reason":"resume"}"#);
        s.create_order(&admin, "WO-E1", "north").await;
        s.create_order(&admin, "WO-E9", "south").await;
        let e = next_event(&mut resp, &mut parser, &mut queue, Duration::from_secs(2)).await.expect("an event within 2 s");
        let v: Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(v, json!({"reason": "changed", "work_orders": ["WO-E1"]}));
    }
}

tests::on_each_backend! {
    async fn a_new_event_source_resumes_from_the_query_when_it_cannot_send_the_header(backend) {
        let (s, admin) = server(&backend).await;
        let b = browser(&s, "disp-n").await;
        // Opened fresh: a resume event; then the change, with an id to come back with.
        let mut resp = s
            .http
            .get(s.url("/v1/events"))
            .header(COOKIE, b.cookie_header())
            .send()
            .await
            .unwrap();
        let (mut parser, mut queue) = (Parser::new(), Vec::new());
        next_event(&mut resp, &mut parser, &mut queue, Duration::from_secs(5)).await.expect("resume");
        s.create_order(&admin, "WO-Q1", "north").await;
        let changed = next_event(&mut resp, &mut parser, &mut queue, Duration::from_secs(2))
            .await
            .expect("the intake's event");
        assert!(changed.data.contains("WO-Q1"), "{changed:?}");
        let id = changed.id.clone().expect("an id");
        drop(resp);
        // Nothing changed since: reopened with ?last_event_id, it stays quiet.
        let mut resp = s.http.get(s.url(&format!("/v1/events?last_event_id={id}")))
            .header(COOKIE, b.cookie_header()).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let (mut parser, mut queue) = (Parser::new(), Vec::new());
        let quiet = next_event(&mut resp, &mut parser, &mut queue, Duration::from_millis(800)).await;
        assert!(quiet.is_none(), "{quiet:?}");
    }
}

tests::on_each_backend! {
    async fn a_card_shows_its_soonest_deadline_and_the_breaches_the_clock_pass_records(backend) {
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_CLOCK", "manual")]).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "mgr-1", "manager", &["north"], &[]).await;
        // Nobody can take it: CS-INTAKE (10 minutes) runs.
        s.create_order(&admin, "WO-D1", "north").await;
        let b = browser(&s, "mgr-1").await;
        let card = |v: &Value| v["cards"][0].clone();
        let v: Value = get(&s, &b, "/v1/console/cards?ids=WO-D1").await.json().await.unwrap();
        let before = card(&v);
        assert_eq!(before["next_deadline"]["rule"], "CS-INTAKE", "{before}");
        assert_eq!(before["next_deadline"]["overdue"], false);
        assert_eq!(before["breaches"], 0);
        // Past the deadline: overdue at once; the pass records the breach on the card too.
        s.advance(&admin, "11m").await;
        let v: Value = get(&s, &b, "/v1/console/cards?ids=WO-D1").await.json().await.unwrap();
        assert_eq!(card(&v)["next_deadline"]["overdue"], true, "{v}");
        assert_eq!(card(&v)["breaches"], 0);
        s.tick(&admin).await;
        let v: Value = get(&s, &b, "/v1/console/cards?ids=WO-D1").await.json().await.unwrap();
        assert_eq!(card(&v)["breaches"], 1, "{v}");
        let board: Value = get(&s, &b, "/v1/console/board").await.json().await.unwrap();
        assert_eq!(board["unassigned"][0]["breaches"], 1, "{board}");
    }
}
