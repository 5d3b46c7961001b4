//! The `s3://` blob store against a real S3 server started by the test: `s3s-fs`, the
//! file-system backend of the s3s S3 service (crates.io; `.ci/run` runs
//! `cargo install s3s-fs --features binary` when it is missing, about 3 minutes). It speaks the
//! S3 REST protocol and checks every request's SigV4 signature against its one key pair, so the
//! store's requests are signed and checked as on a real object store. Garage, the first choice,
//! takes far longer to build than the CI budget allows (see README.md, "Blob stores").
//! Without `s3s-fs` on PATH the test says so and passes as skipped, except under `CI=true`,
//! where it fails.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tests::TestServer;

use crate::blobs_resume::{cut_at_half_and_resume, the_device_resumes};
use crate::blobs_shared::one_photo_two_instances;
use crate::BIN;

const ACCESS_KEY: &str = "fieldsync-test-key";
const SECRET_KEY: &str = "fieldsync-test-secret";

/// An s3s-fs server on a free local port over a fresh directory, stopped on drop.
pub(crate) struct S3Server {
    child: Child,
    root: tempfile::TempDir,
    pub endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// `None` (after saying why) when `s3s-fs` is not installed and CI is not set.
    pub(crate) async fn start() -> Option<S3Server> {
        let root = tempfile::tempdir().unwrap();
        // A port the kernel hands out, released for s3s-fs to bind at once.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let spawned = Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "s3s-fs is needed for the S3 store tests under CI=true: {e}"
                );
                eprintln!(
                    "skipped: s3s-fs not found ({e}); cargo install s3s-fs@0.14.1 --features binary"
                );
                return None;
            }
        };
        let mut server = S3Server {
            child,
            root,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("s3s-fs exited at start: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("s3s-fs did not listen on port {port} within 15 s");
    }

    /// Creates a bucket: s3s-fs keeps each bucket as a directory under its root.
    pub(crate) fn bucket(&self, name: &str) {
        std::fs::create_dir(self.root.path().join(name)).unwrap();
    }

    /// The environment that points a server at `bucket` here.
    pub(crate) fn env(&self, bucket: &str) -> Vec<(String, String)> {
        [
            ("FIELDSYNC_BLOB_STORE", format!("s3://{bucket}/fieldsync")),
            ("FIELDSYNC_S3_ENDPOINT", self.endpoint.clone()),
            ("FIELDSYNC_S3_REGION", "us-east-1".into()),
            ("FIELDSYNC_S3_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("FIELDSYNC_S3_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

tests::on_postgres! {
    async fn two_instances_share_blobs_on_an_s3_store(backend) {
        let Some(s3) = S3Server::start().await else { return };
        s3.bucket("photos");
        let env = s3.env("photos");
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let a = TestServer::start_with_env(BIN, &backend, &env).await;
        let b = a.another_instance().await;
        one_photo_two_instances(&a, &b).await;
        // A fresh database (the same bucket), for fresh accounts.
        let c = TestServer::start_with_env(BIN, &backend, &env).await;
        let d = c.another_instance().await;
        cut_at_half_and_resume(&c, &d).await;
        the_device_resumes(&d, &c).await;
    }
}
