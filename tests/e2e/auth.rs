//! Login, tokens, rotation and reuse detection, against the real server.

use serde_json::{json, Value};
use tests::TestServer;

use crate::BIN;

tests::on_each_backend! {
    async fn login_refresh_rotation_reuse_and_logout(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &[])
            .await;

        let r = s.login("tech-a", "wrong-password", Some("phone-a")).await;
        assert_eq!(r.status(), 401);
        let r = s
            .login("nobody", "whatever-password", Some("phone-a"))
            .await;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");

        let r = s.login("tech-a", "tech-a-password", Some("phone-a")).await;
        assert_eq!(r.status(), 200);
        let t1: Value = r.json().await.unwrap();
        assert_eq!(t1["user"]["role"], "technician");
        assert!(t1["user"].get("password_hash").is_none());
        let refresh1 = t1["refresh_token"].as_str().unwrap().to_owned();

        let refresh = |token: String| {
            s.http
                .post(s.url("/v1/auth/refresh"))
                .json(&json!({"refresh_token": token}))
                .send()
        };
        let r = refresh(refresh1.clone()).await.unwrap();
        assert_eq!(r.status(), 200);
        let t2: Value = r.json().await.unwrap();
        let refresh2 = t2["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(refresh1, refresh2, "refresh tokens rotate");
        let access2 = t2["access_token"].as_str().unwrap().to_owned();
        assert_eq!(s.get(&access2, "/v1/workorders").await.status(), 200);

        // The device uses its new token; reusing the spent one now revokes the whole family:
        // the newest token dies too.
        let r = refresh(refresh2).await.unwrap();
        assert_eq!(r.status(), 200);
        let refresh3: String = r.json::<Value>().await.unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(refresh(refresh1).await.unwrap().status(), 401);
        assert_eq!(refresh(refresh3).await.unwrap().status(), 401);

        // Logout revokes a fresh login's family.
        let t3: Value = s
            .login("tech-a", "tech-a-password", Some("phone-a"))
            .await
            .json()
            .await
            .unwrap();
        let refresh4 = t3["refresh_token"].as_str().unwrap().to_owned();
        let r = s
            .http
            .post(s.url("/v1/auth/logout"))
            .json(&json!({"refresh_token": refresh4}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(refresh(refresh4).await.unwrap().status(), 401);
        assert_eq!(refresh("garbage".into()).await.unwrap().status(), 401);
    }
}

tests::on_each_backend! {
    async fn forged_expired_and_unsigned_tokens_are_refused(backend) {
        use base64::Engine;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let s = TestServer::start(BIN, &backend).await;
        let claims =
            json!({"sub": "admin", "role": "admin", "iat": 0, "exp": 4_000_000_000i64, "jti": "x"});
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&claims)
        );
        let forged = format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(&json!({"alg": "HS256", "typ": "JWT"})),
            b64(&claims)
        );
        for token in [none, forged, "not-a-token".to_owned()] {
            let r = s.get(&token, "/v1/admin/users").await;
            assert_eq!(r.status(), 401, "{token}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "unauthorized");
        }
        let r = s.http.get(s.url("/v1/admin/users")).send().await.unwrap();
        assert_eq!(r.status(), 401, "no token at all");
    }
}

tests::on_each_backend! {
    async fn a_password_change_needs_the_current_password_and_ends_other_sessions(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "disp-1", "dispatcher", &["north"], &[])
            .await;
        let t: Value = s
            .login("disp-1", "disp-1-password", Some("pc-1"))
            .await
            .json()
            .await
            .unwrap();
        let access = t["access_token"].as_str().unwrap();
        let r = s
            .post(
                access,
                "/v1/auth/password",
                &json!({"current_password": "nope-nope-nope", "new_password": "a-new-password-1"}),
            )
            .await;
        assert_eq!(r.status(), 403);
        let r = s
            .post(
                access,
                "/v1/auth/password",
                &json!({"current_password": "disp-1-password", "new_password": "a-new-password-1"}),
            )
            .await;
        assert_eq!(r.status(), 204);
        let r = s
            .http
            .post(s.url("/v1/auth/refresh"))
            .json(&json!({"refresh_token": t["refresh_token"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "old sessions end");
        assert_eq!(
            s.login("disp-1", "a-new-password-1", None).await.status(),
            200
        );
        assert_eq!(
            s.login("disp-1", "disp-1-password", None).await.status(),
            401
        );
    }
}

tests::on_each_backend! {
    async fn an_expired_access_token_says_so_and_the_refresh_token_still_works(backend) {
        let s =
            TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_ACCESS_TTL_SECS", "1")]).await;
        let t: Value = s
            .login("admin", tests::ADMIN_PASSWORD, Some("pc-1"))
            .await
            .json()
            .await
            .unwrap();
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(s.get(access, "/v1/admin/users").await.status(), 200);
        // A technician offline for days comes back with an expired access token.
        tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
        let r = s.get(access, "/v1/admin/users").await;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "token_expired");
        let r = s
            .http
            .post(s.url("/v1/auth/refresh"))
            .json(&json!({"refresh_token": t["refresh_token"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let fresh: Value = r.json().await.unwrap();
        assert_eq!(
            s.get(fresh["access_token"].as_str().unwrap(), "/v1/admin/users")
                .await
                .status(),
            200
        );
    }
}

tests::on_each_backend! {
    async fn a_deactivated_user_can_no_longer_log_in_or_refresh(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &[])
            .await;
        let t: Value = s
            .login("tech-a", "tech-a-password", Some("phone-a"))
            .await
            .json()
            .await
            .unwrap();
        let patch = |body: Value| {
            s.http
                .patch(s.url("/v1/admin/users/tech-a"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
        };
        let r = patch(json!({"capacity": 8, "regions": ["north"]}))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let u: Value = r.json().await.unwrap();
        assert_eq!(u["capacity"], 8);
        let r = patch(json!({"regions": ["atlantis"]})).await.unwrap();
        assert_eq!(r.status(), 409);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "unknown_region");
        let r = patch(json!({"active": false})).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            s.login("tech-a", "tech-a-password", Some("phone-a"))
                .await
                .status(),
            401
        );
        let r = s
            .http
            .post(s.url("/v1/auth/refresh"))
            .json(&json!({"refresh_token": t["refresh_token"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "its refresh tokens were revoked");
        let r = s
            .http
            .patch(s.url("/v1/admin/users/nobody"))
            .bearer_auth(&admin)
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = s
            .http
            .patch(s.url("/v1/admin/users/admin"))
            .bearer_auth(&admin)
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "self_deactivation"
        );
    }
}

/// Presents a refresh token; answers the status and the body.
async fn refresh(s: &TestServer, token: &str) -> (u16, Value) {
    let r = s
        .http
        .post(s.url("/v1/auth/refresh"))
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The refresh token of a successful login or refresh answer.
fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

/// Makes every rotation of the server's database `secs` seconds older, as if that much time
/// had passed since (no sleeping through a 60-second window).
async fn age_rotations(s: &TestServer, secs: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&s.database_url).await.unwrap();
    sqlx::query(&format!(
        "UPDATE refresh_families SET rotated_at = rotated_at - {}",
        secs * 1000
    ))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

tests::on_each_backend! {
    async fn a_device_whose_refresh_response_was_lost_keeps_its_session(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &[])
            .await;
        let login: Value = s
            .login("tech-a", "tech-a-password", Some("phone-a"))
            .await
            .json()
            .await
            .unwrap();
        let first = refresh_token_of(&login);

        // The phone refreshes from a cellar; the server rotates, the answer never arrives.
        let (status, lost) = refresh(&s, &first).await;
        assert_eq!(status, 200);
        let lost = refresh_token_of(&lost);

        // Back in signal it retries with the only token it has, and keeps its session.
        let (status, retried) = refresh(&s, &first).await;
        assert_eq!(status, 200, "{retried}");
        let access = retried["access_token"].as_str().unwrap();
        assert_eq!(s.get(access, "/v1/workorders").await.status(), 200);
        let (status, next) = refresh(&s, &refresh_token_of(&retried)).await;
        assert_eq!(status, 200, "the retried session refreshes on as usual");
        let current = refresh_token_of(&next);

        // The answer that was lost carried a token nobody should have: showing it is reuse.
        let (status, body) = refresh(&s, &lost).await;
        assert_eq!(status, 401);
        assert!(
            body["message"].as_str().unwrap().contains("already used"),
            "{body}"
        );
        assert_eq!(refresh(&s, &current).await.0, 401, "the family is revoked");
    }
}

tests::on_each_backend! {
    async fn a_reused_refresh_token_still_revokes_after_the_window_or_a_second_retry(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let login = |dev: &'static str| {
            let s = &s;
            async move {
                let v: Value = s
                    .login("admin", tests::ADMIN_PASSWORD, Some(dev))
                    .await
                    .json()
                    .await
                    .unwrap();
                refresh_token_of(&v)
            }
        };

        // Outside the window: 61 seconds after the rotation the old token is plain reuse.
        let first = login("pc-1").await;
        let (status, second) = refresh(&s, &first).await;
        assert_eq!(status, 200);
        age_rotations(&s, 61).await;
        let (status, body) = refresh(&s, &first).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(refresh(&s, &refresh_token_of(&second)).await.0, 401);

        // Inside the window, the grace is good for one retry only.
        let first = login("pc-2").await;
        assert_eq!(refresh(&s, &first).await.0, 200);
        let (status, retried) = refresh(&s, &first).await;
        assert_eq!(status, 200);
        assert_eq!(refresh(&s, &first).await.0, 401, "a third time is reuse");
        assert_eq!(refresh(&s, &refresh_token_of(&retried)).await.0, 401);

        // Inside the window, but the successor was used: reuse at once.
        let first = login("pc-3").await;
        let (_, second) = refresh(&s, &first).await;
        let (status, third) = refresh(&s, &refresh_token_of(&second)).await;
        assert_eq!(status, 200);
        assert_eq!(refresh(&s, &first).await.0, 401);
        assert_eq!(refresh(&s, &refresh_token_of(&third)).await.0, 401);
    }
}

tests::on_each_backend! {
    async fn a_deactivated_technician_is_refused_at_its_very_next_request(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &[])
            .await;
        let access = s.token("tech-a", "tech-a-password", Some("phone-a")).await;
        assert_eq!(s.get(&access, "/v1/workorders").await.status(), 200);

        let r = s
            .patch(&admin, "/v1/admin/users/tech-a", &json!({"active": false}))
            .await;
        assert_eq!(r.status(), 200);

        // The access token has 15 minutes left; it is refused now anyway.
        let r = s.get(&access, "/v1/workorders").await;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "account_disabled", "{body}");
        assert!(body["message"].as_str().unwrap().contains("disabled"));
        let r = s
            .post(
                &access,
                "/v1/auth/password",
                &json!({"current_password": "tech-a-password", "new_password": "another-password-1"}),
            )
            .await;
        assert_eq!(r.status(), 401, "no endpoint takes the token");
        assert_eq!(s.get(&admin, "/v1/workorders").await.status(), 200);
    }
}

/// Logs in with a wrong password; answers the status, the Retry-After header and the body.
async fn wrong_login(s: &TestServer, user: &str, password: &str) -> (u16, Option<u64>, Value) {
    let r = s.login(user, password, None).await;
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    (r.status().as_u16(), retry, r.json().await.unwrap())
}

tests::on_each_backend! {
    async fn failed_logins_are_throttled_per_name_known_or_not_and_a_success_clears_them(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        for id in ["tech-a", "tech-b"] {
            s.add_user(&admin, id, "technician", &["north"], &[]).await;
        }
        // A real account and one that does not exist go through the very same steps.
        for user in ["tech-a", "ghost"] {
            for attempt in 1..=5 {
                let (status, _, body) = wrong_login(&s, user, "not-the-password").await;
                assert_eq!(
                    (status, &body["error"]),
                    (401, &json!("unauthorized")),
                    "{user} #{attempt}"
                );
            }
            let (status, retry, body) = wrong_login(&s, user, &format!("{user}-password")).await;
            assert_eq!(status, 429, "{user}: even the right password waits: {body}");
            assert_eq!(body["error"], "too_many_attempts");
            assert!(body["message"]
                .as_str()
                .unwrap()
                .contains("for this user name"));
            let retry = retry.expect("a Retry-After header");
            assert!((1..=900).contains(&retry), "{retry}");
        }
        // Four failures, then the right password: the counter starts again from zero.
        for _ in 0..4 {
            assert_eq!(wrong_login(&s, "tech-b", "not-the-password").await.0, 401);
        }
        assert_eq!(
            s.login("tech-b", "tech-b-password", None).await.status(),
            200
        );
        for _ in 0..4 {
            assert_eq!(wrong_login(&s, "tech-b", "not-the-password").await.0, 401);
        }
        assert_eq!(
            s.login("tech-b", "tech-b-password", None).await.status(),
            200
        );
        // Other names from the same address are not held back by tech-a's lock.
        assert_eq!(
            s.login("admin", tests::ADMIN_PASSWORD, None).await.status(),
            200
        );
    }
}

tests::on_each_backend! {
    async fn an_address_spraying_passwords_over_many_names_is_throttled(backend) {
        let s = TestServer::start(BIN, &backend).await;
        // 50 failures over 50 names (none locked by itself), then the address is.
        for i in 0..50 {
            let (status, _, _) = wrong_login(&s, &format!("user-{i}"), "password-1234").await;
            assert_eq!(status, 401, "attempt {i}");
        }
        let (status, retry, body) = wrong_login(&s, "admin", tests::ADMIN_PASSWORD).await;
        assert_eq!(status, 429, "{body}");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("from this address"));
        assert!(retry.is_some());
    }
}

tests::on_each_backend! {
    async fn a_login_flood_gets_busy_answers_beyond_the_hash_limit_and_health_stays_up(backend) {
        let s = TestServer::start(BIN, &backend).await;
        // Far more at once, over distinct names, than the slots plus queue (one slot per
        // core, four waiters per slot) of any machine this runs on.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let attempts = (0..(20 * cores).max(100)).map(|i| {
            let s = &s;
            async move { wrong_login(s, &format!("flood-{i}"), "password-1234").await }
        });
        let (answers, health) = tokio::join!(
            futures_util::future::join_all(attempts),
            s.http.get(s.url("/healthz")).send()
        );
        assert_eq!(
            health.unwrap().status(),
            200,
            "health answers during the flood"
        );
        let busy: Vec<_> = answers
            .iter()
            .filter(|(status, ..)| *status == 503)
            .collect();
        assert!(!busy.is_empty(), "some attempts are refused, not queued");
        for (status, retry, body) in &answers {
            match status {
                401 => assert_eq!(body["error"], "unauthorized"),
                503 => {
                    assert_eq!(body["error"], "busy");
                    assert!(retry.is_some_and(|r| r >= 1), "{retry:?}");
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        let r = s.http.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
}
