//! `field-server blobs migrate` and `blobs gc` against the stores of a real server.

use sync_core::ids::BlobHash;
use sync_core::workorder::{PhotoKind, Role};
use tests::{Device, TestServer};

use crate::blobs::{png, put};
use crate::BIN;

/// Runs `field-server blobs ARGS` on `s`'s database; stdout, stderr and success.
fn blobs_cmd(s: &TestServer, store: &[&str], args: &[&str]) -> (String, String, bool) {
    let out = std::process::Command::new(BIN)
        .arg("--database-url")
        .arg(&s.database_url)
        .args(store)
        .arg("blobs")
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

tests::on_postgres! {
    async fn blobs_migrate_to_another_store_and_gc_what_nothing_references(backend) {
        // Starts on the postgres store; moves to a directory; the server then runs on it.
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_BLOB_STORE", "postgres")]).await;
        let admin = s.admin_token().await;
        s.add_user(&admin, "disp-n", "dispatcher", &["north"], &[]).await;
        s.create_order(&admin, "WO-1", "north").await;
        let north = s.token("disp-n", "disp-n-password", Some("pc-n")).await;
        let kept = png(300, 200);
        let orphan = png(200, 300);
        let (kept_hash, orphan_hash) = (BlobHash::of(&kept).to_string(), BlobHash::of(&orphan).to_string());
        assert_eq!(put(&s, &north, &kept_hash, kept.clone()).await.status(), 201);
        assert_eq!(put(&s, &north, &orphan_hash, orphan.clone()).await.status(), 201);
        let mut disp = Device::new("disp-n", Role::Dispatcher, "pc-n", north.clone());
        disp.sync(&s).await.unwrap();
        disp.act("WO-1", |wo, me| {
            wo.add_photo(me, &kept_hash, PhotoKind::Fault, "kept", 1_000, 1_000).unwrap()
        });
        disp.sync(&s).await.unwrap();

        let dir = std::env::temp_dir().join(format!("fieldsync-migrated-{}", uuid::Uuid::new_v4().simple()));
        let to = format!("file:{}", dir.display());
        let pg = ["--blob-store", "postgres"];
        let (out, err, ok) = blobs_cmd(&s, &pg, &["migrate", "--to", &to]);
        assert!(ok, "{out}{err}");
        // Two originals and two thumbnails.
        assert!(out.contains("4 object(s) copied"), "{out}");
        let (out, _, ok) = blobs_cmd(&s, &pg, &["migrate", "--to", &to]);
        assert!(ok && out.contains("0 object(s) copied") && out.contains("4 already there"), "{out}");

        // Nothing is old enough yet; then everything is, and only the unreferenced one goes.
        let (out, _, ok) = blobs_cmd(&s, &pg, &["gc", "--older-than", "30d"]);
        assert!(ok && out.contains("would delete (run with --delete) 0"), "{out}");
        let (out, _, ok) = blobs_cmd(&s, &pg, &["gc", "--older-than", "0s"]);
        assert!(ok && out.contains(&format!("unreferenced {orphan_hash}")), "{out}");
        assert!(!out.contains(&kept_hash), "{out}");
        let (out, _, ok) = blobs_cmd(&s, &pg, &["gc", "--older-than", "0s", "--delete"]);
        assert!(ok && out.contains(&format!("deleted {orphan_hash}")), "{out}");
        assert_eq!(s.get(&north, &format!("/v1/blobs/{orphan_hash}")).await.status(), 404);
        let r = s.get(&north, &format!("/v1/blobs/{kept_hash}")).await;
        assert_eq!(r.bytes().await.unwrap().to_vec(), kept);

        // The migrated directory holds the photo under the file store's layout.
        let copied = dir.join(&kept_hash[..2]).join(&kept_hash);
        assert_eq!(std::fs::read(copied).unwrap(), kept);
        let (_, err, ok) = blobs_cmd(&s, &pg, &["gc", "--older-than", "soon"]);
        assert!(!ok && err.contains("like 30d"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
