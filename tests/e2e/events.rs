//! Live push through the real server: `GET /v1/events` tells a device to sync when a job is
//! assigned to it or taken away, not when a job outside its scope changes, resumes with
//! `Last-Event-ID`, ends with `refresh` before the token expires, and works across two
//! instances on PostgreSQL. `field-cli sync --watch` syncs on the events.

use std::time::Duration;

use field_cli::watch::source::{self, EventSource};
use field_cli::watch::sse::Event;
use serde_json::{json, Value};
use sync_core::workorder::Role;
use tests::{Backend, TestServer};

use crate::BIN;

/// What the issue promises: a push within 2 s.
const PUSH: Duration = Duration::from_secs(2);
/// How long a stream is watched to show that nothing comes.
const QUIET: Duration = Duration::from_secs(1);
const SKILL: &str = "washing-machines"; // what Intake::example() requires

fn manual_dispatch() -> String {
    let path = std::env::temp_dir().join(format!(
        "fieldsync-events-policy-{}.toml",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, "[dispatch]\nauto_on_intake = false\n").unwrap();
    path.display().to_string()
}

/// A server where jobs wait for a dispatcher; with the users of [`company`].
async fn server(backend: &Backend, env: &[(&str, &str)]) -> (TestServer, String) {
    let policy = manual_dispatch();
    let mut all = vec![("FIELDSYNC_POLICY", policy.as_str())];
    all.extend_from_slice(env);
    let s = TestServer::start_with_env(BIN, backend, &all).await;
    let admin = company(&s).await;
    (s, admin)
}

/// Dispatchers of north and south; technicians a and b (north).
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
    admin
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn device_token(s: &TestServer, user: &str, device: &str) -> String {
    s.token(user, &format!("{user}-password"), Some(device))
        .await
}

/// Opens a stream; without `last`, it must begin with a `sync` (consumed here).
async fn listen(base: &str, token: &str, last: Option<&str>) -> EventSource {
    let http = source::client().unwrap();
    let mut src = EventSource::connect(&http, base, token, last)
        .await
        .unwrap();
    if last.is_none() {
        let first = next(&mut src, PUSH).await.expect("a first sync");
        assert_eq!(first.event, "sync");
        assert_eq!(first.data, r#"{"reason":"resume"}"#);
    }
    src
}

async fn next(src: &mut EventSource, within: Duration) -> Option<Event> {
    match tokio::time::timeout(within, src.next()).await {
        Err(_) => None,
        Ok(r) => r.unwrap(),
    }
}

async fn expect_sync(src: &mut EventSource, who: &str) -> Event {
    let e = next(src, PUSH)
        .await
        .unwrap_or_else(|| panic!("{who}: no event within {PUSH:?}"));
    assert_eq!(e.event, "sync", "{who}: {e:?}");
    assert!(e.id.is_some(), "{who}: every sync has an id");
    e
}

async fn expect_quiet(src: &mut EventSource, who: &str) {
    if let Some(e) = next(src, QUIET).await {
        panic!("{who}: expected nothing, got {e:?}");
    }
}

async fn assign(s: &TestServer, token: &str, id: &str, tech: &str, reason: Option<&str>) {
    let r = s
        .post(
            token,
            &format!("/v1/workorders/{id}/assign"),
            &json!({"technician": tech, "reason": reason}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

tests::on_each_backend! {
    async fn a_job_assigned_or_taken_away_reaches_exactly_the_streams_it_concerns(backend) {
        let (s, admin) = server(&backend, &[]).await;
        let mut a = listen(&s.base, &device_token(&s, "tech-a", "a-phone").await, None).await;
        let mut b = listen(&s.base, &device_token(&s, "tech-b", "b-phone").await, None).await;
        let mut north = listen(&s.base, &s.user_token("disp-n").await, None).await;
        let mut south = listen(&s.base, &s.user_token("disp-s").await, None).await;
        let mut boss = listen(&s.base, &admin, None).await;

        s.create_order(&admin, "WO-1", "north").await;
        expect_sync(&mut north, "the north dispatcher, at intake").await;
        expect_sync(&mut boss, "the admin, at intake").await;
        expect_quiet(&mut a, "tech-a: nothing of its own yet").await;

        let disp = s.user_token("disp-n").await;
        assign(&s, &disp, "WO-1", "tech-a", None).await;
        let first = expect_sync(&mut a, "tech-a, assigned").await;
        expect_sync(&mut north, "the north dispatcher, at the assignment").await;
        expect_quiet(&mut b, "tech-b: not its job").await;
        expect_quiet(&mut south, "the south dispatcher: not its region").await;

        assign(&s, &disp, "WO-1", "tech-b", Some("tech-a is ill")).await;
        let taken = expect_sync(&mut a, "tech-a, the job taken away").await;
        expect_sync(&mut b, "tech-b, reassigned to it").await;
        let ids: Vec<i64> = [&first, &taken]
            .iter()
            .map(|e| e.id.as_deref().unwrap().parse().unwrap())
            .collect();
        assert!(ids[0] < ids[1], "ids grow: {ids:?}");
        expect_quiet(&mut south, "the south dispatcher").await;
    }
}

tests::on_each_backend! {
    async fn another_devices_sync_is_pushed_but_not_back_to_the_device_that_made_it(backend) {
        let (s, admin) = server(&backend, &[]).await;
        s.create_order(&admin, "WO-1", "north").await;
        let disp = s.user_token("disp-n").await;
        assign(&s, &disp, "WO-1", "tech-a", None).await;
        let mut phone = s.device("tech-a", Role::Technician, "a-phone").await;
        phone.sync(&s).await.unwrap();

        let mut own = listen(&s.base, &device_token(&s, "tech-a", "a-phone").await, None).await;
        let mut tablet = listen(&s.base, &device_token(&s, "tech-a", "a-tablet").await, None).await;
        let mut desk = listen(&s.base, &device_token(&s, "disp-n", "desk").await, None).await;
        // Events of the set-up may still be on their way (150 ms of coalescing): let them pass.
        for src in [&mut own, &mut tablet, &mut desk] {
            settle(src).await;
        }
        phone.act("WO-1", |w, a| w.accept(a, now_ms()).unwrap());
        phone.sync(&s).await.unwrap();
        expect_sync(&mut tablet, "tech-a's other device").await;
        expect_sync(&mut desk, "the dispatcher").await;
        expect_quiet(&mut own, "the phone that synced").await;
    }
}

tests::on_each_backend! {
    async fn a_resume_syncs_at_once_only_when_something_changed_meanwhile(backend) {
        let (s, admin) = server(&backend, &[]).await;
        let token = device_token(&s, "tech-a", "a-phone").await;
        let disp = s.user_token("disp-n").await;
        s.create_order(&admin, "WO-1", "north").await;
        assign(&s, &disp, "WO-1", "tech-a", None).await;
        let mut src = listen(&s.base, &token, None).await;
        let seen = settle(&mut src).await;
        drop(src);

        // Back with nothing new: no event.
        src = listen(&s.base, &token, Some(&seen)).await;
        expect_quiet(&mut src, "resume with nothing new").await;
        drop(src);

        // While the device is away, a job is assigned to it: a sync at once on return.
        s.create_order(&admin, "WO-2", "north").await;
        assign(&s, &disp, "WO-2", "tech-a", None).await;
        src = listen(&s.base, &token, Some(&seen)).await;
        expect_sync(&mut src, "resume after an assignment").await;
        let seen = settle(&mut src).await;
        drop(src);

        // Away while only others' work changed: nothing.
        s.create_order(&admin, "WO-3", "south").await;
        src = listen(&s.base, &token, Some(&seen)).await;
        expect_quiet(&mut src, "resume after a south job").await;
        // An id that is not ours is unknown: a sync at once.
        let mut odd = listen(&s.base, &token, Some("yesterday")).await;
        let e = expect_sync(&mut odd, "resume from an unknown id").await;
        assert_eq!(e.data, r#"{"reason":"resume"}"#);
    }
}

/// Reads until the stream has been quiet for a while; the last event id seen.
async fn settle(src: &mut EventSource) -> String {
    let mut last = None;
    while let Some(e) = next(src, QUIET).await {
        last = e.id;
    }
    last.or_else(|| src.last_id().map(str::to_owned))
        .expect("the stream named an id")
}

tests::on_each_backend! {
    async fn the_stream_ends_with_refresh_before_the_token_expires(backend) {
        let (s, _) = server(&backend, &[("FIELDSYNC_ACCESS_TTL_SECS", "3")]).await;
        let token = device_token(&s, "tech-a", "a-phone").await;
        let mut src = listen(&s.base, &token, None).await;
        // A 3 s token: the stream ends a second before expiry.
        let e = next(&mut src, Duration::from_secs(5))
            .await
            .expect("refresh before expiry");
        assert_eq!(e.event, "refresh");
        let data: Value = serde_json::from_str(&e.data).unwrap();
        assert!(data["expires_at"].as_i64().unwrap() > 0, "{data}");
        assert!(src.next().await.unwrap().is_none(), "the stream ends after refresh");
        assert_eq!(src.retry_ms(), Some(2000));
    }
}

tests::on_each_backend! {
    async fn a_missing_or_bad_token_is_a_401_with_a_json_body(backend) {
        let s = TestServer::start(BIN, &backend).await;
        for auth in [None, Some("Bearer nonsense"), Some("Basic abc")] {
            let mut req = s.http.get(s.url("/v1/events"));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{auth:?}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], "unauthorized", "{auth:?}: {v}");
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let admin = s.admin_token().await;
        let r = s
            .post(&admin, "/v1/admin/users", &json!({"id": "gone", "role": "technician", "password": "gone-password-1"}))
            .await;
        assert_eq!(r.status(), 201);
        let token = s.token("gone", "gone-password-1", Some("d")).await;
        let r = s.patch(&admin, "/v1/admin/users/gone", &json!({"active": false})).await;
        assert_eq!(r.status(), 200);
        let r = s.get(&token, "/v1/events").await;
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "account_disabled");
    }
}

tests::on_postgres! {
    async fn a_job_assigned_through_one_instance_is_pushed_by_another(backend) {
        let (a, admin) = server(&backend, &[]).await;
        let b = a.another_instance().await;
        let mut on_b = listen(&b.base, &device_token(&b, "tech-a", "a-phone").await, None).await;
        let mut other_on_b = listen(&b.base, &device_token(&b, "tech-b", "b-phone").await, None).await;
        a.create_order(&admin, "WO-1", "north").await;
        let disp = a.user_token("disp-n").await;
        assign(&a, &disp, "WO-1", "tech-a", None).await;
        expect_sync(&mut on_b, "tech-a on instance B").await;
        expect_quiet(&mut other_on_b, "tech-b on instance B").await;
        // And back: a device syncing on B is pushed to a dispatcher on A.
        let mut desk = listen(&a.base, &device_token(&a, "disp-n", "desk").await, None).await;
        let mut phone = b.device("tech-a", Role::Technician, "a-phone").await;
        phone.sync(&b).await.unwrap();
        phone.act("WO-1", |w, actor| w.accept(actor, now_ms()).unwrap());
        phone.sync(&b).await.unwrap();
        expect_sync(&mut desk, "the dispatcher on instance A").await;
    }
}

tests::on_each_backend! {
    async fn field_cli_sync_watch_fetches_a_job_when_it_is_assigned(backend) {
        use clap::Parser;
        use field_cli::cli::{run, Cli};
        let (s, admin) = server(&backend, &[]).await;
        let disp = s.user_token("disp-n").await;
        s.create_order(&admin, "WO-1", "north").await;
        assign(&s, &disp, "WO-1", "tech-a", None).await;
        let dir = std::env::temp_dir().join(format!("fieldsync-watch-{}", uuid::Uuid::new_v4().simple()));
        let d = dir.display().to_string();
        let url = s.url("");
        run(Cli::try_parse_from(["field-cli", "--device", &d, "login", "--server", &url, "--user", "tech-a", "--password", "tech-a-password"]).unwrap())
            .await
            .unwrap();
        // What `field-cli sync --watch` runs (the command's own future is not `Send`).
        let parsed = Cli::try_parse_from(["field-cli", "--device", &d, "sync", "--watch"]).unwrap();
        assert!(matches!(parsed.command, field_cli::cli::Command::Sync { watch: true }));
        let watch = tokio::spawn({
            let dir = dir.clone();
            async move { field_cli::watch::run(&dir, &field_cli::output::Out::new(true)).await }
        });
        // The stream starts with a sync: WO-1 arrives. Then WO-2 arrives by push alone.
        wait_for_job(&dir, "WO-1").await;
        s.create_order(&admin, "WO-2", "north").await;
        assign(&s, &disp, "WO-2", "tech-a", None).await;
        wait_for_job(&dir, "WO-2").await;
        assert!(!watch.is_finished(), "still watching");
        watch.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Waits (up to 10 s) until the device directory holds `job`; the watch holds the device
/// only while it syncs, so opening it here waits at most for one sync.
async fn wait_for_job(dir: &std::path::Path, job: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let dev = field_cli::device::Device::open(dir).await.unwrap();
        let ids = dev.job_ids().await.unwrap();
        dev.close().await;
        if ids.iter().any(|i| i == job) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{job} never arrived: {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads `sync` events until the stock locations they name cover `want` (a batch may reach a
/// stream in more than one event when the stream writes while the hub marks it); no work
/// order is named.
async fn expect_stock(src: &mut EventSource, who: &str, want: &[&str]) {
    let mut seen: Vec<String> = Vec::new();
    while !want.iter().all(|w| seen.iter().any(|s| s == w)) {
        let e = expect_sync(src, who).await;
        let data: Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(data["reason"], "changed", "{who}: {data}");
        assert_eq!(data["work_orders"], json!([]), "{who}: {data}");
        for l in data["stock"]
            .as_array()
            .unwrap_or_else(|| panic!("{who}: {data}"))
        {
            seen.push(l.as_str().unwrap().to_owned());
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen, want, "{who}");
}

tests::on_each_backend! {
    async fn a_stock_move_reaches_every_office_stream_named_apart_and_the_vans_technician(backend) {
        let (s, admin) = server(&backend, &[]).await;
        let r = s
            .http
            .put(s.url("/v1/admin/parts/PUMP-1"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Drain pump", "price_cents": 4_500}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let disp = s.user_token("disp-n").await;
        let r = s
            .post(&disp, "/v1/stock/locations", &json!({"id": "central", "name": "Central"}))
            .await;
        assert_eq!(r.status(), 201);
        // Consoles (sessions without a device) of both regions; tech-a's and tech-b's phones.
        let mut south = listen(&s.base, &s.user_token("disp-s").await, None).await;
        let mut boss = listen(&s.base, &admin, None).await;
        let mut a = listen(&s.base, &device_token(&s, "tech-a", "a-phone").await, None).await;
        let mut b = listen(&s.base, &device_token(&s, "tech-b", "b-phone").await, None).await;
        for src in [&mut south, &mut boss, &mut a, &mut b] {
            settle(src).await;
        }

        let r = s
            .post(&disp, "/v1/stock/receipts", &json!({"location": "central", "sku": "PUMP-1", "qty": 3}))
            .await;
        assert_eq!(r.status(), 201);
        let e = expect_sync(&mut south, "a dispatcher of another region: stock is not regional").await;
        assert_eq!(e.data, r#"{"reason":"changed","work_orders":[],"stock":["central"]}"#);
        expect_stock(&mut boss, "the admin", &["central"]).await;
        expect_quiet(&mut a, "tech-a: not its van").await;

        let r = s
            .post(
                &disp,
                "/v1/stock/transfers",
                &json!({"from": "central", "to": "van:tech-a", "sku": "PUMP-1", "qty": 2}),
            )
            .await;
        assert_eq!(r.status(), 201);
        expect_stock(&mut boss, "the admin, at the issue", &["central", "van:tech-a"]).await;
        let e = expect_sync(&mut a, "tech-a: its van changed").await;
        assert_eq!(e.data, r#"{"reason":"changed"}"#, "a device's event stays data-free");
        expect_quiet(&mut b, "tech-b: not its van").await;
    }
}
