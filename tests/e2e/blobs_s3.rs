//! The `s3://` blob store against a real S3-compatible server started by the test: moto's
//! server (`pip install 'moto[server]'`; `.ci/run` installs it). Garage, the first choice,
//! takes far longer to build than the CI budget allows (see README.md, "Blob stores").
//! Without `moto_server` on PATH the test says so and passes as skipped, except under
//! `CI=true`, where it fails.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tests::TestServer;

use crate::blobs_resume::{cut_at_half_and_resume, the_device_resumes};
use crate::blobs_shared::one_photo_two_instances;
use crate::BIN;

/// A moto S3 server on a free local port, stopped on drop.
pub(crate) struct S3Server {
    child: Child,
    pub endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// `None` (after saying why) when `moto_server` is not installed and CI is not set.
    pub(crate) async fn start() -> Option<S3Server> {
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "moto_server is needed for the S3 store tests under CI=true: {e}"
                );
                eprintln!("skipped: moto_server not found ({e}); pip install 'moto[server]'");
                return None;
            }
        };
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("Running on http://") {
                    let _ = tx.send(line[at + "Running on ".len()..].trim().to_owned());
                }
            }
        });
        let endpoint = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("moto_server announced its address");
        Some(S3Server { child, endpoint })
    }

    /// Creates a bucket (moto accepts unsigned requests).
    pub(crate) async fn bucket(&self, name: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "creating bucket {name}: {}",
            r.status()
        );
    }

    /// The environment that points a server at `bucket` here.
    pub(crate) fn env(&self, bucket: &str) -> Vec<(String, String)> {
        [
            ("FIELDSYNC_BLOB_STORE", format!("s3://{bucket}/fieldsync")),
            ("FIELDSYNC_S3_ENDPOINT", self.endpoint.clone()),
            ("FIELDSYNC_S3_REGION", "us-east-1".into()),
            ("FIELDSYNC_S3_ACCESS_KEY_ID", "test-key".into()),
            ("FIELDSYNC_S3_SECRET_ACCESS_KEY", "test-secret".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

tests::on_postgres! {
    async fn two_instances_share_blobs_on_an_s3_store(backend) {
        let Some(s3) = S3Server::start().await else { return };
        s3.bucket("photos").await;
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
