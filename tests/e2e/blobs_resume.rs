//! Resumable uploads: a link that drops half way through a photo, and the upload going on
//! from the byte the server holds, through whichever instance.

use serde_json::Value;
use sync_core::ids::BlobHash;
use tests::TestServer;
use tokio::io::AsyncWriteExt;

use crate::blobs::{code, png};
use crate::BIN;

async fn open(s: &TestServer, token: &str, hash: &str, len: usize) -> reqwest::Response {
    s.http
        .post(s.url(&format!("/v1/blobs/{hash}/uploads")))
        .bearer_auth(token)
        .header("upload-length", len)
        .send()
        .await
        .unwrap()
}

async fn patch(
    s: &TestServer,
    token: &str,
    hash: &str,
    id: &str,
    offset: usize,
    body: Vec<u8>,
) -> reqwest::Response {
    s.http
        .patch(s.url(&format!("/v1/blobs/{hash}/uploads/{id}")))
        .bearer_auth(token)
        .header("upload-offset", offset)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn offset(s: &TestServer, token: &str, hash: &str, id: &str) -> Option<u64> {
    let r = s
        .http
        .head(s.url(&format!("/v1/blobs/{hash}/uploads/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status() == 200).then(|| {
        r.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    })
}

/// A PATCH that announces the whole rest but sends only `sent` bytes, then the link drops.
async fn patch_cut_off(
    s: &TestServer,
    token: &str,
    hash: &str,
    id: &str,
    body: &[u8],
    sent: usize,
) {
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(addr.as_str()).await.unwrap();
    let head = format!(
        "PATCH /v1/blobs/{hash}/uploads/{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&body[..sent]).await.unwrap();
    tcp.flush().await.unwrap();
    drop(tcp);
}

/// Cuts an upload at 50 % through `a`, resumes it through `b`, and checks the stored bytes.
pub(crate) async fn cut_at_half_and_resume(a: &TestServer, b: &TestServer) {
    let admin = a.admin_token().await;
    a.add_user(&admin, "tech-a", "technician", &["north"], &[])
        .await;
    a.add_user(&admin, "tech-b", "technician", &["north"], &[])
        .await;
    let tech = a.token("tech-a", "tech-a-password", Some("phone-a")).await;
    let other = a.token("tech-b", "tech-b-password", Some("phone-b")).await;
    let photo = png(1500, 1100);
    let hash = BlobHash::of(&photo).to_string();
    let half = photo.len() / 2;

    let r = open(a, &tech, &hash, photo.len()).await;
    assert_eq!(r.status(), 201);
    let st: Value = r.json().await.unwrap();
    let id = st["id"].as_str().unwrap().to_owned();
    assert_eq!(st["offset"], 0);

    patch_cut_off(a, &tech, &hash, &id, &photo, half).await;
    // The server notices the drop when the connection closes; it then holds the half.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while offset(b, &tech, &hash, &id).await != Some(half as u64) {
        assert!(
            std::time::Instant::now() < deadline,
            "the half never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Nothing is visible yet, and the upload is nobody else's.
    assert_eq!(
        b.get(&tech, &format!("/v1/blobs/{hash}")).await.status(),
        404
    );
    assert_eq!(offset(b, &other, &hash, &id).await, None);
    // Opening again finds it, with its offset.
    let r = open(b, &tech, &hash, photo.len()).await;
    assert_eq!(r.status(), 200);
    let st: Value = r.json().await.unwrap();
    assert_eq!(
        (st["id"].as_str(), st["offset"].as_u64()),
        (Some(id.as_str()), Some(half as u64))
    );

    // A wrong offset is refused with the right one.
    let r = patch(b, &tech, &hash, &id, 0, photo.clone()).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["upload-offset"], half.to_string().as_str());
    assert_eq!(code(r).await, (409, "offset_mismatch".into()));

    // A PATCH without bytes changes nothing and answers the offset (as in tus).
    let r = patch(b, &tech, &hash, &id, half, Vec::new()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], half.to_string().as_str());
    assert_eq!(offset(b, &tech, &hash, &id).await, Some(half as u64));

    // The rest, through the other instance: stored, and the hash is right.
    let r = patch(b, &tech, &hash, &id, half, photo[half..].to_vec()).await;
    assert_eq!(r.status(), 201);
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["hash"], hash.as_str());
    assert_eq!(info["size"], photo.len());
    let got = a
        .get(&tech, &format!("/v1/blobs/{hash}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(BlobHash::of(&got).to_string(), hash);
    assert_eq!(
        offset(a, &tech, &hash, &id).await,
        None,
        "the upload is over"
    );
    let r = open(a, &tech, &hash, photo.len()).await;
    let st: Value = r.json().await.unwrap();
    assert_eq!(st["complete"], true);

    // A forged resumable upload is refused when its last byte arrives, and leaves nothing.
    let forged_bytes = png(40, 40);
    let forged = BlobHash::of(b"not these bytes").to_string();
    let st: Value = open(a, &tech, &forged, forged_bytes.len())
        .await
        .json()
        .await
        .unwrap();
    let fid = st["id"].as_str().unwrap().to_owned();
    let r = patch(b, &tech, &forged, &fid, 0, forged_bytes.clone()).await;
    assert_eq!(code(r).await, (400, "hash_mismatch".into()));
    assert_eq!(
        b.get(&tech, &format!("/v1/blobs/{forged}")).await.status(),
        404
    );
    // Oversized: refused when opened, and a body past the announced length too.
    let r = open(a, &tech, &forged, 20 * 1024 * 1024 + 1).await;
    assert_eq!(code(r).await, (413, "blob_too_large".into()));
    let small = png(20, 20);
    let sh = BlobHash::of(&small).to_string();
    let st: Value = open(a, &tech, &sh, 10).await.json().await.unwrap();
    let r = patch(a, &tech, &sh, st["id"].as_str().unwrap(), 0, small).await;
    assert_eq!(code(r).await, (413, "blob_too_large".into()));
}

/// field-cli's upload goes on from where the server is, and says where.
pub(crate) async fn the_device_resumes(a: &TestServer, b: &TestServer) {
    let admin = a.admin_token().await;
    a.add_user(&admin, "tech-c", "technician", &["north"], &[])
        .await;
    let tech = a.token("tech-c", "tech-c-password", Some("phone-c")).await;
    let photo = png(900, 700);
    let hash = BlobHash::of(&photo).to_string();
    let st: Value = open(a, &tech, &hash, photo.len())
        .await
        .json()
        .await
        .unwrap();
    let id = st["id"].as_str().unwrap().to_owned();
    let cut = photo.len() * 4 / 5;
    patch(a, &tech, &hash, &id, 0, photo[..cut].to_vec()).await;
    let done = field_cli::api::upload::resumable(&b.http, &b.base, &tech, &hash, &photo)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.resumed_at, Some(cut as u64));
    assert_eq!(done.length, photo.len() as u64);
    let got = b
        .get(&tech, &format!("/v1/blobs/{hash}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), photo);
}

/// An upload untouched past its lifetime is gone: not resumable, its parts swept.
async fn abandoned_uploads_expire(s: &TestServer) {
    let admin = s.admin_token().await;
    s.add_user(&admin, "tech-e", "technician", &["north"], &[])
        .await;
    let tech = s.token("tech-e", "tech-e-password", Some("phone-e")).await;
    let photo = png(300, 200);
    let hash = BlobHash::of(&photo).to_string();
    let st: Value = open(s, &tech, &hash, photo.len())
        .await
        .json()
        .await
        .unwrap();
    let id = st["id"].as_str().unwrap().to_owned();
    assert_eq!(
        patch(s, &tech, &hash, &id, 0, photo[..100].to_vec())
            .await
            .status(),
        204
    );
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&s.database_url).await.unwrap();
    // A day and a bit ago.
    sqlx::query("UPDATE blob_uploads SET updated_at = updated_at - 90000000 WHERE id = $1")
        .bind(&id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(offset(s, &tech, &hash, &id).await, None);
    assert_eq!(
        patch(s, &tech, &hash, &id, 100, photo[100..].to_vec())
            .await
            .status(),
        404
    );
    // Opening any upload sweeps it away, row and parts.
    let r = open(s, &tech, &hash, photo.len()).await;
    assert_eq!(r.status(), 201);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blob_uploads WHERE id = $1")
        .bind(&id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    db.close().await;
}

tests::on_each_backend! {
    async fn an_upload_cut_at_half_resumes_and_abandoned_ones_expire(backend) {
        let s = TestServer::start(BIN, &backend).await;
        cut_at_half_and_resume(&s, &s).await;
        the_device_resumes(&s, &s).await;
        abandoned_uploads_expire(&s).await;
    }
}

tests::on_postgres! {
    async fn an_upload_cut_on_one_instance_resumes_on_another(backend) {
        let a = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_BLOB_STORE", "postgres")]).await;
        let b = a.another_instance().await;
        cut_at_half_and_resume(&a, &b).await;
        the_device_resumes(&b, &a).await;
    }
}
