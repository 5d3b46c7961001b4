//! Blobs on a store every instance shares: two `field-server` processes on one PostgreSQL
//! database, behind no load balancer but used alternately, as one would spread requests.

use serde_json::Value;
use sync_core::ids::BlobHash;
use sync_core::workorder::{PhotoKind, Role};
use tests::{Device, TestServer};

use crate::blobs::{code, png, put};
use crate::BIN;

/// A photo uploaded through `a` is served (whole, by range, by ETag) and thumbnailed by `b`,
/// a sync through `b` that references it is accepted and makes it visible to the work
/// order's region, and a forged or oversized upload is refused by either.
pub(crate) async fn one_photo_two_instances(a: &TestServer, b: &TestServer) {
    let admin = a.admin_token().await;
    a.add_user(&admin, "disp-n", "dispatcher", &["north"], &[])
        .await;
    a.add_user(&admin, "tech-a", "technician", &["north"], &[])
        .await;
    a.create_order(&admin, "WO-1", "north").await;
    let tech = a.token("tech-a", "tech-a-password", Some("phone-a")).await;

    let photo = png(1200, 900);
    let hash = BlobHash::of(&photo).to_string();
    assert_eq!(put(a, &tech, &hash, photo.clone()).await.status(), 201);
    // The other instance knows it as stored already.
    assert_eq!(put(b, &tech, &hash, photo.clone()).await.status(), 200);

    let r = b.get(&tech, &format!("/v1/blobs/{hash}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], format!("\"{hash}\"").as_str());
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.bytes().await.unwrap().to_vec(), photo);

    let url = b.url(&format!("/v1/blobs/{hash}"));
    let r = b
        .http
        .get(&url)
        .bearer_auth(&tech)
        .header("if-none-match", format!("\"{hash}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = b
        .http
        .get(&url)
        .bearer_auth(&tech)
        .header("range", "bytes=100-1099")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 100-1099/{}", photo.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), photo[100..1100].to_vec());
    let r = b
        .http
        .get(&url)
        .bearer_auth(&tech)
        .header("range", format!("bytes={}-", photo.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{}", photo.len()).as_str()
    );
    assert_eq!(code(r).await, (416, "range_not_satisfiable".into()));

    let r = b.get(&tech, &format!("/v1/blobs/{hash}/thumbnail")).await;
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));

    // A sync through the other instance references it; the region's dispatcher then sees it
    // through the first.
    let north = a.token("disp-n", "disp-n-password", Some("pc-n")).await;
    assert_eq!(
        a.get(&north, &format!("/v1/blobs/{hash}")).await.status(),
        404
    );
    let mut disp = Device::new("disp-n", Role::Dispatcher, "pc-n", north.clone());
    disp.sync(b).await.unwrap();
    disp.act("WO-1", |wo, me| {
        wo.add_photo(me, &hash, PhotoKind::Fault, "cracked valve", 1_000, 1_000)
            .unwrap()
    });
    disp.sync(b).await.unwrap();
    let r = a.get(&north, &format!("/v1/blobs/{hash}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), photo);

    // Forged and oversized uploads are refused on this store too, and leave nothing visible.
    let other = png(10, 10);
    let forged = BlobHash::of(b"something else").to_string();
    assert_eq!(
        code(put(b, &tech, &forged, other).await).await,
        (400, "hash_mismatch".into())
    );
    assert_eq!(
        b.get(&tech, &format!("/v1/blobs/{forged}")).await.status(),
        404
    );
    let just_over = vec![0u8; 20 * 1024 * 1024 + 1];
    let big = BlobHash::of(&just_over).to_string();
    let r = put(a, &tech, &big, just_over).await;
    assert_eq!(code(r).await, (413, "blob_too_large".into()));
    let info: Value = b
        .get(&tech, &format!("/v1/blobs/{big}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["error"], "not_found");
}

tests::on_postgres! {
    async fn two_instances_share_blobs_on_the_postgres_store(backend) {
        let a = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_BLOB_STORE", "postgres")]).await;
        let b = a.another_instance().await;
        one_photo_two_instances(&a, &b).await;
    }
}

#[tokio::test]
async fn the_postgres_store_refuses_a_sqlite_database_in_one_line() {
    let dir = std::env::temp_dir().join(format!(
        "fieldsync-pgstore-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--blob-store",
            "postgres",
            "--database-url",
        ])
        .arg(format!("sqlite://{}", dir.join("db.sqlite").display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("use --blob-store file:DIR with SQLite"),
        "{err}"
    );
}
