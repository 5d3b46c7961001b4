//! Acknowledged means durable: kill -9 the server in the middle of a stream of syncs, restart
//! it, and every change it acknowledged is there; the devices then converge.

use std::time::Duration;

use sync_core::workorder::Role;
use tests::{Device, TestServer};

use crate::BIN;

tests::on_each_backend! {
    async fn every_acknowledged_change_survives_a_kill_9(backend) {
        let mut s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
            .await;
        s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
        let agent = s.token("agent-1", "agent-1-password", None).await;
        for i in 0..5 {
            s.create_order(&agent, &format!("WO-{i}"), "north").await;
        }
        let token = s.token("disp-n", "disp-n-password", Some("pc-1")).await;
        let mut dev = Device::new("disp-n", Role::Dispatcher, "pc-1", token);
        dev.sync(&s).await.unwrap();

        let pid = s.pid().unwrap();
        let mut acknowledged: Vec<String> = Vec::new();
        let stream = async {
            // Edits and syncs back to back until the server dies under us.
            for n in 0..100_000i64 {
                let id = format!("WO-{}", n % 5);
                let line = format!("[edit {n}]");
                dev.act(&id, |wo, me| {
                    let v = wo.view().unwrap();
                    wo.edit_notes(me, &format!("{} {line}", v.notes), 1_000 + n)
                        .unwrap();
                });
                match dev.sync(&s).await {
                    Ok(_) => acknowledged.push(line),
                    Err(_) => return n,
                }
            }
            panic!("the server was never killed");
        };
        let killer = async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let status = std::process::Command::new("kill")
                .arg("-9")
                .arg(pid.to_string())
                .status();
            assert!(status.unwrap().success());
        };
        let (stopped_at, ()) = tokio::join!(stream, killer);
        assert!(
            acknowledged.len() >= 3,
            "some syncs were acknowledged before the kill"
        );
        assert_eq!(
            acknowledged.len() as i64,
            stopped_at,
            "only the interrupted sync failed"
        );

        s.restart().await;
        let admin = s.admin_token().await;
        let mut notes = String::new();
        for i in 0..5 {
            let v: serde_json::Value = s
                .get(&admin, &format!("/v1/workorders/WO-{i}"))
                .await
                .json()
                .await
                .unwrap();
            notes.push_str(v["notes"].as_str().unwrap());
        }
        for line in &acknowledged {
            assert!(
                notes.contains(line.as_str()),
                "acknowledged {line} was lost"
            );
        }
        // The device kept its unacknowledged edit; one more sync converges.
        dev.sync(&s).await.unwrap();
        for i in 0..5 {
            let id = format!("WO-{i}");
            let v: serde_json::Value = s
                .get(&admin, &format!("/v1/workorders/{id}"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(v["notes"], dev.view(&id).notes, "{id} converged");
        }
    }
}

tests::on_each_backend! {
    /// SIGTERM lets a request that is already being received finish, then the server exits 0.
    async fn sigterm_finishes_the_request_in_flight_then_exits(backend) {
        use std::io::{Read, Write};
        let mut s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
            .await;
        let token = s.token("disp-n", "disp-n-password", Some("pc-1")).await;
        // Requests on many connections at once, so that every worker of the server has used
        // (and opened) database connections before the stop: the request in flight must not
        // depend on a worker that the stop has already ended.
        let warm = (0..24).map(|_| {
            let url = s.url("/v1/workorders");
            let token = token.clone();
            async move {
                let client = reqwest::Client::new();
                let r = client.get(url).bearer_auth(token).send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
            }
        });
        futures_util::future::join_all(warm).await;
        let body = sync_core::protocol::encode_request(&sync_core::protocol::SyncRequest {
            complete: true,
            docs: vec![],
        })
        .unwrap();
        let addr = s.base.trim_start_matches("http://").to_owned();
        let pid = s.pid().unwrap();
        let response = tokio::task::spawn_blocking(move || {
            let mut conn = std::net::TcpStream::connect(&addr).unwrap();
            let head = format!(
                "POST /v1/sync HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/cbor\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(&body[..4]).unwrap();
            conn.flush().unwrap();
            // Until the server handles the request (the gauge counts it and the metrics request
            // that reads it): a connection not yet handed to a worker is not in flight, and a
            // stop drops it (as it should), so a fixed sleep is not enough on a busy machine.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while in_flight(&addr) < 2.0 {
                assert!(std::time::Instant::now() < deadline, "the request never reached a handler");
                std::thread::sleep(Duration::from_millis(20));
            }
            // The request is half received: now ask the server to stop.
            let status = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
            assert!(status.unwrap().success());
            std::thread::sleep(Duration::from_millis(300));
            conn.write_all(&body[4..]).unwrap();
            let mut out = Vec::new();
            conn.read_to_end(&mut out).unwrap();
            out
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        let exit = s
            .wait_exit(Duration::from_secs(40))
            .expect("the server exits after SIGTERM");
        assert!(exit.success(), "{exit:?}");
    }
}

/// `fieldsync_http_requests_in_flight` read from `GET /metrics` on a connection of its own
/// (this request included).
fn in_flight(addr: &str) -> f64 {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("fieldsync_http_requests_in_flight "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
