//! A `field-server` child process with its own database and blob directory.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// Base URL of a PostgreSQL server; each test gets a fresh database on it.
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

pub struct TestServer {
    bin: PathBuf,
    child: Option<Child>,
    pub base: String,
    pub database_url: String,
    dir: PathBuf,
    pg_admin: Option<(String, String)>,
    owns_dir: bool,
    env: Vec<(String, String)>,
    /// Extra command-line arguments.
    args: Vec<String>,
    /// Where stderr goes when a test reads the logs; `None`: the test's own stderr.
    log_file: Option<PathBuf>,
    /// Every line the current process wrote to stdout so far.
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub http: reqwest::Client,
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fieldsync-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestServer {
    /// Starts a server with a fresh database.
    pub async fn start(bin: &str, backend: &Backend) -> TestServer {
        Self::start_with_env(bin, backend, &[]).await
    }

    /// Starts a server with extra `FIELDSYNC_*` environment variables.
    pub async fn start_with_env(bin: &str, backend: &Backend, env: &[(&str, &str)]) -> TestServer {
        Self::start_with(bin, backend, env, &[], false).await
    }

    /// Starts a server with extra environment variables and command-line arguments, its stderr
    /// kept in a file that [`TestServer::logs`] reads.
    pub async fn start_keeping_logs(
        bin: &str,
        backend: &Backend,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> TestServer {
        Self::start_with(bin, backend, env, args, true).await
    }

    /// What the server wrote to stderr so far (started by [`TestServer::start_keeping_logs`]).
    pub fn logs(&self) -> String {
        let path = self
            .log_file
            .as_ref()
            .expect("the server was started with start_keeping_logs");
        std::fs::read_to_string(path).unwrap()
    }

    async fn start_with(
        bin: &str,
        backend: &Backend,
        env: &[(&str, &str)],
        args: &[&str],
        keep_logs: bool,
    ) -> TestServer {
        let dir = scratch_dir();
        let (database_url, pg_admin) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.join("fieldsync.db").display()),
                None,
            ),
            Backend::Postgres(base) => {
                let name = format!("fieldsync_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(base)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let url = match base.rfind('/') {
                    Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => {
                        format!("{}/{name}", &base[..i])
                    }
                    _ => format!("{base}/{name}"),
                };
                (url, Some((base.clone(), name)))
            }
        };
        let log_file = keep_logs.then(|| dir.join("stderr.log"));
        let mut s = TestServer {
            bin: PathBuf::from(bin),
            child: None,
            base: String::new(),
            database_url,
            dir,
            pg_admin,
            owns_dir: true,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            log_file,
            stdout: Default::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        s.spawn().await;
        s
    }

    /// A second server process on the same database (several instances).
    pub async fn another_instance(&self) -> TestServer {
        let mut s = TestServer {
            bin: self.bin.clone(),
            child: None,
            base: String::new(),
            database_url: self.database_url.clone(),
            dir: self.dir.clone(),
            pg_admin: None,
            owns_dir: false,
            env: self.env.clone(),
            args: self.args.clone(),
            log_file: self.log_file.clone(),
            stdout: Default::default(),
            http: self.http.clone(),
        };
        s.spawn().await;
        s
    }

    async fn spawn(&mut self) {
        let mut child = Command::new(&self.bin)
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--database-url")
            .arg(&self.database_url)
            .arg("--blob-dir")
            .arg(self.dir.join("blobs"))
            .env("FIELDSYNC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(match &self.log_file {
                // Appending: a restarted instance adds to the same log.
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .unwrap(),
                ),
                None => Stdio::inherit(),
            })
            .spawn()
            .expect("start field-server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        self.stdout = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let addr = line
                    .strip_prefix("field-server listening on ")
                    .map(|a| a.trim().to_owned());
                lines.lock().unwrap().push(line);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server announced its address");
        self.base = addr;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "server never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server process wrote to stdout so far, line by line (everything before the
    /// `listening on` line is there once the server has started).
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id, to kill it from elsewhere while a request is in flight.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status, if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, no goodbye: what a power cut does.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same database.
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    /// Logs in; returns the token response JSON.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        device: Option<&str>,
    ) -> reqwest::Response {
        self.http
            .post(self.url("/v1/auth/login"))
            .json(&json!({"user": user, "password": password, "device_id": device}))
            .send()
            .await
            .unwrap()
    }

    pub async fn token(&self, user: &str, password: &str, device: Option<&str>) -> String {
        let r = self.login(user, password, device).await;
        assert_eq!(r.status(), 200, "login of {user}");
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// An access token of a user made by [`TestServer::add_user`] (password `<id>-password`).
    pub async fn user_token(&self, user: &str) -> String {
        self.token(user, &format!("{user}-password"), None).await
    }

    /// A simulated device of such a user, logged in with its own device id.
    pub async fn device(
        &self,
        user: &str,
        role: sync_core::workorder::Role,
        dev: &str,
    ) -> crate::Device {
        let token = self
            .token(user, &format!("{user}-password"), Some(dev))
            .await;
        crate::Device::new(user, role, dev, token)
    }

    /// Service time now (ms since the epoch).
    pub async fn clock(&self, token: &str) -> i64 {
        let v: Value = self.get(token, "/v1/clock").await.json().await.unwrap();
        v["now"].as_i64().unwrap()
    }

    /// Moves a manual service clock forward (`"61m"`, `"2h"`); returns the new time.
    pub async fn advance(&self, admin: &str, by: &str) -> i64 {
        let r = self
            .post(admin, "/v1/admin/clock", &json!({ "advance": by }))
            .await;
        assert_eq!(r.status(), 200, "advance the clock by {by}");
        let v: Value = r.json().await.unwrap();
        v["now"].as_i64().unwrap()
    }

    /// Runs one pass of the service clock; returns its report.
    pub async fn tick(&self, admin: &str) -> Value {
        let r = self.post(admin, "/v1/admin/clock/tick", &json!({})).await;
        assert_eq!(r.status(), 200, "clock tick");
        r.json().await.unwrap()
    }

    /// Creates a user through the admin API, creating its regions and skills first.
    pub async fn add_user(
        &self,
        admin: &str,
        id: &str,
        role: &str,
        regions: &[&str],
        skills: &[&str],
    ) {
        for (kind, names) in [("regions", regions), ("skills", skills)] {
            for name in names {
                let r = self
                    .http
                    .put(self.url(&format!("/v1/admin/{kind}/{name}")))
                    .bearer_auth(admin)
                    .json(&json!({"name": name.to_uppercase()}))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    r.status().is_success(),
                    "create {kind} {name}: {}",
                    r.status()
                );
            }
        }
        let r = self
            .post(
                admin,
                "/v1/admin/users",
                &json!({"id": id, "role": role, "password": format!("{id}-password"), "regions": regions, "skills": skills, "capacity": 5}),
            )
            .await;
        assert_eq!(
            r.status(),
            201,
            "create user {id}: {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// Creates a work order in `region`; returns it as the server shows it.
    pub async fn create_order(&self, token: &str, id: &str, region: &str) -> Value {
        self.create_order_with(token, id, region, &json!({})).await
    }

    /// Creates a work order in `region` with intake fields overridden by `fields`
    /// (e.g. `{"priority": "urgent", "service_type": "complaint"}`).
    pub async fn create_order_with(
        &self,
        token: &str,
        id: &str,
        region: &str,
        fields: &Value,
    ) -> Value {
        let mut intake = serde_json::to_value(sync_core::workorder::Intake::example()).unwrap();
        intake["region"] = json!(region);
        if let Some(fields) = fields.as_object() {
            for (k, v) in fields {
                intake[k] = v.clone();
            }
        }
        let r = self
            .post(
                token,
                "/v1/workorders",
                &json!({"id": id, "intake": intake}),
            )
            .await;
        assert_eq!(
            r.status(),
            201,
            "create {id}: {}",
            r.text().await.unwrap_or_default()
        );
        r.json().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        if let Some((base, name)) = self.pg_admin.take() {
            // Best effort: a fresh runtime, since Drop may run outside one.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let admin = sqlx::PgPool::connect(&base).await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await
                        .ok()
                })
            })
            .join();
        }
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
