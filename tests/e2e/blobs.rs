//! Photo and signature blobs through the real server.

use serde_json::Value;
use sync_core::ids::BlobHash;
use sync_core::workorder::{PhotoKind, Role};
use tests::{Device, TestServer};

use crate::BIN;

pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub(crate) async fn put(
    s: &TestServer,
    token: &str,
    hash: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    s.http
        .put(s.url(&format!("/v1/blobs/{hash}")))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

tests::on_each_backend! {
    async fn blobs_are_validated_stored_once_and_served_only_within_scope(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
            .await;
        s.add_user(&admin, "disp-s", "dispatcher", &["south"], &[])
            .await;
        s.add_user(&admin, "tech-a", "technician", &["north"], &[])
            .await;
        s.add_user(&admin, "tech-b", "technician", &["north"], &[])
            .await;
        s.create_order(&admin, "WO-1", "north").await;
        let tech = s.token("tech-a", "tech-a-password", Some("phone-a")).await;

        let photo = png(800, 600);
        let hash = BlobHash::of(&photo).to_string();
        let r = put(&s, &tech, &hash, photo.clone()).await;
        assert_eq!(r.status(), 201);
        let info: Value = r.json().await.unwrap();
        assert_eq!(
            (info["width"].as_i64(), info["height"].as_i64()),
            (Some(800), Some(600))
        );
        assert_eq!(info["mime"], "image/png");
        assert_eq!(
            put(&s, &tech, &hash, photo.clone()).await.status(),
            200,
            "re-upload is harmless"
        );

        let other = png(10, 10);
        assert_eq!(
            code(put(&s, &tech, &hash, other).await).await,
            (400, "hash_mismatch".into())
        );
        let text = b"definitely not an image".to_vec();
        assert_eq!(
            code(put(&s, &tech, &BlobHash::of(&text).to_string(), text).await).await,
            (415, "unsupported_format".into())
        );
        assert_eq!(
            code(put(&s, &tech, "ABC", vec![1]).await).await,
            (400, "bad_hash".into())
        );
        let big = vec![0u8; 21 * 1024 * 1024];
        let r = put(&s, &tech, &BlobHash::of(&big).to_string(), big).await;
        assert_eq!(code(r).await, (413, "body_too_large".into()));
        let just_over = vec![0u8; 20 * 1024 * 1024 + 1];
        let r = put(&s, &tech, &BlobHash::of(&just_over).to_string(), just_over).await;
        assert_eq!(code(r).await, (413, "blob_too_large".into()));

        // The uploader can read it back, original and thumbnail.
        let r = s.get(&tech, &format!("/v1/blobs/{hash}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().to_vec(), photo);
        let r = s.get(&tech, &format!("/v1/blobs/{hash}/thumbnail")).await;
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        let thumb = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));

        // Others see it only once a work order in their scope references it.
        let b = s.token("tech-b", "tech-b-password", Some("phone-b")).await;
        let north = s.token("disp-n", "disp-n-password", Some("pc-n")).await;
        let south = s.token("disp-s", "disp-s-password", Some("pc-s")).await;
        for t in [&b, &north, &south] {
            assert_eq!(s.get(t, &format!("/v1/blobs/{hash}")).await.status(), 404);
        }
        let mut disp = Device::new("disp-n", Role::Dispatcher, "pc-n", north.clone());
        disp.sync(&s).await.unwrap();
        disp.act("WO-1", |wo, me| {
            wo.add_photo(
                me,
                &hash,
                PhotoKind::Fault,
                "leak under the sink",
                1_000,
                1_000,
            )
            .unwrap()
        });
        disp.sync(&s).await.unwrap();
        assert_eq!(
            s.get(&north, &format!("/v1/blobs/{hash}")).await.status(),
            200
        );
        assert_eq!(
            s.get(&north, &format!("/v1/blobs/{hash}/thumbnail"))
                .await
                .status(),
            200
        );
        assert_eq!(
            s.get(&south, &format!("/v1/blobs/{hash}")).await.status(),
            404
        );
        assert_eq!(s.get(&b, &format!("/v1/blobs/{hash}")).await.status(), 404);
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
            metrics.contains("fieldsync_blobs_stored_total 1\n"),
            "{metrics}"
        );
    }
}
