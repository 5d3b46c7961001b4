//! Login, tokens, rotation and reuse detection, against the real server.

use serde_json::{json, Value};
use tests::{backends, TestServer};

use crate::BIN;

#[tokio::test]
async fn login_refresh_rotation_reuse_and_logout() {
    for backend in backends() {
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

        // Reusing the spent token revokes the whole family: the new one dies too.
        assert_eq!(refresh(refresh1).await.unwrap().status(), 401);
        assert_eq!(refresh(refresh2).await.unwrap().status(), 401);

        // Logout revokes a fresh login's family.
        let t3: Value = s
            .login("tech-a", "tech-a-password", Some("phone-a"))
            .await
            .json()
            .await
            .unwrap();
        let refresh3 = t3["refresh_token"].as_str().unwrap().to_owned();
        let r = s
            .http
            .post(s.url("/v1/auth/logout"))
            .json(&json!({"refresh_token": refresh3}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(refresh(refresh3).await.unwrap().status(), 401);
        assert_eq!(refresh("garbage".into()).await.unwrap().status(), 401);
    }
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_are_refused() {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    for backend in backends() {
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

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_ends_other_sessions() {
    for backend in backends() {
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

#[tokio::test]
async fn an_expired_access_token_says_so_and_the_refresh_token_still_works() {
    for backend in backends() {
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

#[tokio::test]
async fn a_deactivated_user_can_no_longer_log_in_or_refresh() {
    for backend in backends() {
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
        assert_eq!(r.status(), 400);
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
