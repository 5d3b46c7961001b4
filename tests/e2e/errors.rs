//! Bad input never gets a 500 or a panic: every refusal is a 4xx with a JSON body.

use serde_json::{json, Value};
use tests::TestServer;

use crate::BIN;

/// Checks the status and the JSON error body, and returns the body.
async fn assert_json_error(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().await.expect("a JSON body");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

tests::on_each_backend! {
    async fn health_readiness_metrics_and_unknown_paths(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let r = s.http.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = s.http.get(s.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = s
            .http
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("fieldsync_http_requests_total"), "{text}");
        assert!(text.contains("fieldsync_changes_merged_total 0"), "{text}");
        let r = s.http.get(s.url("/no/such/thing")).send().await.unwrap();
        assert_json_error(r, 404, "not_found").await;
    }
}

tests::on_each_backend! {
    async fn malformed_json_wrong_fields_and_wrong_roles_are_clear_4xx(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let r = s
            .http
            .post(s.url("/v1/auth/login"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_json_error(r, 400, "malformed_json").await;
        let r = s
            .http
            .post(s.url("/v1/auth/login"))
            .json(&json!({"user": "admin", "pasword": "typo"}))
            .send()
            .await
            .unwrap();
        assert_json_error(r, 400, "malformed_json").await;

        let admin = s.admin_token().await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &["ovens"])
            .await;
        let tech = s.token("tech-a", "tech-a-password", Some("phone-a")).await;
        let r = s
            .post(
                &tech,
                "/v1/admin/users",
                &json!({"id": "x", "role": "admin", "password": "long-enough-pw"}),
            )
            .await;
        assert_json_error(r, 403, "forbidden").await;
        let r = s
            .post(
                &admin,
                "/v1/admin/users",
                &json!({"id": "bad id", "role": "technician", "password": "long-enough-pw"}),
            )
            .await;
        assert_json_error(r, 400, "bad_user_id").await;
        let r = s
            .post(
                &admin,
                "/v1/admin/users",
                &json!({"id": "y", "role": "technician", "password": "short"}),
            )
            .await;
        assert_json_error(r, 400, "weak_password").await;
        let r = s
            .post(
                &admin,
                "/v1/admin/users",
                &json!({"id": "tech-a", "role": "technician", "password": "long-enough-pw"}),
            )
            .await;
        assert_json_error(r, 409, "conflict").await;
        let r = s
            .post(&tech, "/v1/workorders", &json!({"intake": {}}))
            .await;
        assert_json_error(r, 400, "malformed_json").await;
        let intake = serde_json::to_value(sync_core::workorder::Intake::example()).unwrap();
        let r = s
            .post(&tech, "/v1/workorders", &json!({"intake": intake}))
            .await;
        assert_json_error(r, 403, "forbidden").await;
    }
}

tests::on_each_backend! {
    async fn random_truncated_and_oversized_sync_bodies_are_refused(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &[])
            .await;
        let tech = s.token("tech-a", "tech-a-password", Some("phone-a")).await;
        let post = |body: Vec<u8>| {
            s.http
                .post(s.url("/v1/sync"))
                .bearer_auth(&tech)
                .header("content-type", "application/cbor")
                .body(body)
                .send()
        };
        assert_json_error(
            post(b"hello, server".to_vec()).await.unwrap(),
            400,
            "bad_sync_body",
        )
        .await;
        // A protocol version 1 (postcard) body is told to upgrade, whatever its media type.
        let v1 = b"FSYQ\x01\x00\x01\x00".to_vec();
        for media in ["application/octet-stream", "application/cbor"] {
            let r = s
                .http
                .post(s.url("/v1/sync"))
                .bearer_auth(&tech)
                .header("content-type", media)
                .body(v1.clone())
                .send()
                .await
                .unwrap();
            let body = assert_json_error(r, 400, "protocol_upgrade_required").await;
            assert!(body["message"].as_str().unwrap().contains("upgrade the client"), "{body}");
        }
        // A CBOR body from another version is told to upgrade too: {"c": true, "d": [], "v": 3}.
        let v3 = vec![0xa3, 0x61, 0x63, 0xf5, 0x61, 0x64, 0x80, 0x61, 0x76, 0x03];
        assert_json_error(post(v3).await.unwrap(), 400, "protocol_upgrade_required").await;
        let valid = sync_core::protocol::encode_request(&sync_core::protocol::SyncRequest {
            complete: true,
            docs: vec![],
        })
        .unwrap();
        assert_json_error(
            post(valid[..valid.len() - 1].to_vec()).await.unwrap(),
            400,
            "bad_sync_body",
        )
        .await;
        let big = vec![7u8; 17 * 1024 * 1024];
        assert_json_error(post(big).await.unwrap(), 413, "body_too_large").await;
        // A token without a device may not sync.
        let no_device = s.token("tech-a", "tech-a-password", None).await;
        let r = s
            .http
            .post(s.url("/v1/sync"))
            .bearer_auth(&no_device)
            .header("content-type", "application/cbor")
            .body(valid.clone())
            .send()
            .await
            .unwrap();
        assert_json_error(r, 403, "forbidden").await;
        // A valid body without its media type is a 415 that names it.
        let r = s
            .http
            .post(s.url("/v1/sync"))
            .bearer_auth(&tech)
            .header("content-type", "application/octet-stream")
            .body(valid)
            .send()
            .await
            .unwrap();
        let body = assert_json_error(r, 415, "unsupported_media_type").await;
        assert!(body["message"].as_str().unwrap().contains("application/cbor"), "{body}");
    }
}

tests::on_each_backend! {
    async fn regions_skills_and_parts_are_managed_by_admins_and_read_by_everyone(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        let put = |path: String, body: Value| {
            s.http
                .put(s.url(&path))
                .bearer_auth(&admin)
                .json(&body)
                .send()
        };
        assert_eq!(
            put("/v1/admin/regions/north".into(), json!({"name": "North"}))
                .await
                .unwrap()
                .status(),
            201
        );
        assert_eq!(
            put(
                "/v1/admin/regions/north".into(),
                json!({"name": "North side"})
            )
            .await
            .unwrap()
            .status(),
            200
        );
        assert_eq!(
            put("/v1/admin/skills/ovens".into(), json!({"name": "Ovens"}))
                .await
                .unwrap()
                .status(),
            201
        );
        let r = put(
            "/v1/admin/parts/PUMP-7".into(),
            json!({"name": "Drain pump", "price_cents": 4900}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        assert_json_error(
            put(
                "/v1/admin/parts/PUMP-8".into(),
                json!({"name": "x", "price_cents": -1}),
            )
            .await
            .unwrap(),
            400,
            "bad_price",
        )
        .await;
        assert_json_error(
            put("/v1/admin/regions/bad%20id".into(), json!({"name": "x"}))
                .await
                .unwrap(),
            400,
            "bad_id",
        )
        .await;

        // Users may only name existing regions and skills.
        let r = s
            .post(&admin, "/v1/admin/users", &json!({"id": "t1", "role": "technician", "password": "long-enough-pw", "regions": ["south"]}))
            .await;
        assert_json_error(r, 409, "unknown_region").await;
        let r = s
            .post(&admin, "/v1/admin/users", &json!({"id": "t1", "role": "technician", "password": "long-enough-pw", "regions": ["north"], "skills": ["fridges"]}))
            .await;
        assert_json_error(r, 409, "unknown_skill").await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &["ovens"])
            .await;

        let tech = s.token("tech-a", "tech-a-password", Some("phone-a")).await;
        let regions: Vec<Value> = s.get(&tech, "/v1/regions").await.json().await.unwrap();
        assert_eq!(regions, vec![json!({"id": "north", "name": "NORTH"})]);
        let parts: Vec<Value> = s.get(&tech, "/v1/parts").await.json().await.unwrap();
        assert_eq!(parts[0]["sku"], "PUMP-7");
        assert_eq!(parts[0]["price_cents"], 4900);
        let r = s
            .http
            .put(s.url("/v1/admin/parts/X-1"))
            .bearer_auth(&tech)
            .json(&json!({"name": "x", "price_cents": 1}))
            .send()
            .await
            .unwrap();
        assert_json_error(r, 403, "forbidden").await;
    }
}
