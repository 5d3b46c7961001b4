//! Settings: defaults, then an optional TOML file, then `FIELDSYNC_*` environment variables
//! and command-line flags (clap merges the last two; flags win).

use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

/// Command line and environment.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "field-server",
    version,
    about = "fieldsync server: devices sync work orders here",
    after_help = "Examples:\n  field-server                                   # 127.0.0.1:8080, ./fieldsync.db, ./blobs\n  field-server --bind 0.0.0.0:9000 --database-url postgres://postgres@127.0.0.1/fieldsync\n  FIELDSYNC_ADMIN_PASSWORD=s3cret-pass-word field-server --config fieldsync.toml"
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "FIELDSYNC_BIND")]
    pub bind: Option<String>,
    /// `sqlite://PATH` or `postgres://…`.
    #[arg(long, env = "FIELDSYNC_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for photo and signature blobs (the store of `--blob-store file:`).
    #[arg(long, env = "FIELDSYNC_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,
    /// Where blobs live: `file:DIR` (default `file:` + --blob-dir; one instance), `postgres`
    /// (in the PostgreSQL database; several instances) or `s3://BUCKET[/PREFIX]` (endpoint,
    /// region and keys from FIELDSYNC_S3_* or the usual AWS_* variables).
    #[arg(long, env = "FIELDSYNC_BLOB_STORE")]
    pub blob_store: Option<String>,
    /// TOML configuration file (keys: bind, database_url, blob_dir, blob_store, s3_endpoint,
    /// s3_region, s3_access_key_id, s3_secret_access_key, jwt_secret,
    /// access_ttl_secs, refresh_ttl_days, instance_id, policy, clock, log_format).
    #[arg(long, env = "FIELDSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Service policy TOML (clock rules, dispatch, KPI targets); defaults: SERVICE-RULES.md.
    #[arg(long, env = "FIELDSYNC_POLICY")]
    pub policy: Option<PathBuf>,
    /// `system`, or `manual`: the service clock stands still until an admin advances it
    /// (`POST /v1/admin/clock`), shared by every instance, and its passes run when asked
    /// (`POST /v1/admin/clock/tick`); for tests, scenarios and drills.
    #[arg(long, env = "FIELDSYNC_CLOCK", value_parser = ["system", "manual"])]
    pub clock: Option<String>,
    /// Logs on stderr: `text` (for people) or `json` (one object per line, for log
    /// collectors). stdout carries only the `listening on` line either way.
    /// Memory bound of the hot-document cache, in MiB (default 32; 0 turns it off).
    #[arg(long, env = "FIELDSYNC_DOC_CACHE_MIB")]
    pub doc_cache_mib: Option<u64>,
    #[arg(long, env = "FIELDSYNC_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Print the effective service policy as TOML and exit.
    #[arg(long)]
    pub print_policy: bool,
    /// Fill a new, empty database with a small, realistic day of demo data (regions,
    /// accounts, work orders in every status, breaches, escalations), print the demo accounts
    /// and their password, then serve as usual. Refuses a database that holds data.
    #[arg(long, env = "FIELDSYNC_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// A maintenance task instead of serving (with the same settings).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Maintenance tasks `field-server` runs and exits.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The blob store: `blobs migrate --to STORE`, `blobs gc --older-than 30d [--delete]`.
    #[command(subcommand)]
    Blobs(crate::blobs::admin::BlobsCommand),
}

/// The TOML file's shape; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    database_url: Option<String>,
    blob_dir: Option<PathBuf>,
    blob_store: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
    jwt_secret: Option<String>,
    access_ttl_secs: Option<i64>,
    refresh_ttl_days: Option<i64>,
    instance_id: Option<String>,
    policy: Option<PathBuf>,
    clock: Option<String>,
    log_format: Option<String>,
    doc_cache_mib: Option<u64>,
}

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: String,
    pub database_url: String,
    pub blob_dir: PathBuf,
    /// Where blobs live (`--blob-store`).
    pub blob_store: crate::blobs::store::StoreSpec,
    /// Connection settings of an `s3://` blob store.
    pub s3: crate::blobs::store::s3::S3Options,
    /// HS256 key for access tokens; when absent one is generated and kept in the database.
    pub jwt_secret: Option<Secret>,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// This instance's Automerge actor / device id for changes the server makes itself.
    pub instance_id: String,
    /// Password for the first `admin` user (`FIELDSYNC_ADMIN_PASSWORD`).
    pub admin_password: Option<Secret>,
    /// The service policy file; `None`: the defaults.
    pub policy: Option<PathBuf>,
    /// Whether the service clock is the system clock or advanced by hand.
    pub manual_clock: bool,
    /// Print the effective policy and exit.
    pub print_policy: bool,
    /// How log lines on stderr look.
    pub log_format: LogFormat,
    /// Fill an empty database with demo data at start (`--demo`).
    pub demo: bool,
    /// Memory bound of the hot-document cache, in bytes (`--doc-cache-mib`).
    pub doc_cache_bytes: u64,
}

/// How log lines on stderr look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// tracing's human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `message`, `target`, fields, spans).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = anyhow::Error;

    fn from_str(v: &str) -> anyhow::Result<Self> {
        match v {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => anyhow::bail!("log format must be text or json, not {other:?}"),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://fieldsync.db".into(),
            blob_dir: PathBuf::from("blobs"),
            blob_store: crate::blobs::store::StoreSpec::File(None),
            s3: Default::default(),
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            instance_id: format!("server-{}", uuid::Uuid::new_v4().simple()),
            admin_password: None,
            policy: None,
            manual_clock: false,
            print_policy: false,
            log_format: LogFormat::Text,
            demo: false,
            doc_cache_bytes: crate::sync::cache::DEFAULT_CACHE_BYTES,
        }
    }
}

fn clock_mode(v: &str) -> anyhow::Result<bool> {
    match v {
        "system" => Ok(false),
        "manual" => Ok(true),
        other => anyhow::bail!("clock must be system or manual, not {other:?}"),
    }
}

impl Settings {
    /// Defaults, then the config file, then environment and flags.
    pub fn load(cli: Cli) -> anyhow::Result<Self> {
        let mut s = Settings::default();
        if let Some(path) = &cli.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
            let file: FileConfig = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
            if let Some(v) = file.bind {
                s.bind = v;
            }
            if let Some(v) = file.database_url {
                s.database_url = v;
            }
            if let Some(v) = file.blob_dir {
                s.blob_dir = v;
            }
            if let Some(v) = file.blob_store {
                s.blob_store = v.parse()?;
            }
            s.s3.endpoint = file.s3_endpoint.or(s.s3.endpoint);
            s.s3.region = file.s3_region.or(s.s3.region);
            s.s3.access_key_id = file.s3_access_key_id.or(s.s3.access_key_id);
            if let Some(v) = file.s3_secret_access_key {
                s.s3.secret_access_key = Some(Secret::new(v));
            }
            if let Some(v) = file.jwt_secret {
                s.jwt_secret = Some(Secret::new(v));
            }
            if let Some(v) = file.access_ttl_secs {
                s.access_ttl_secs = v;
            }
            if let Some(v) = file.refresh_ttl_days {
                s.refresh_ttl_secs = v * 24 * 3600;
            }
            if let Some(v) = file.instance_id {
                s.instance_id = v;
            }
            if let Some(v) = file.policy {
                s.policy = Some(v);
            }
            if let Some(v) = file.clock {
                s.manual_clock = clock_mode(&v)?;
            }
            if let Some(v) = file.log_format {
                s.log_format = v.parse()?;
            }
            if let Some(v) = file.doc_cache_mib {
                s.doc_cache_bytes = v.saturating_mul(1024 * 1024);
            }
        }
        if let Some(v) = cli.policy {
            s.policy = Some(v);
        }
        s.print_policy = cli.print_policy;
        s.demo = cli.demo;
        if let Some(v) = cli.clock {
            s.manual_clock = clock_mode(&v)?;
        }
        if let Some(v) = cli.log_format {
            s.log_format = v.parse()?;
        }
        if let Some(v) = cli.doc_cache_mib {
            s.doc_cache_bytes = v.saturating_mul(1024 * 1024);
        }
        if let Some(v) = cli.bind {
            s.bind = v;
        }
        if let Some(v) = cli.database_url {
            s.database_url = v;
        }
        if let Some(v) = cli.blob_dir {
            s.blob_dir = v;
        }
        if let Some(v) = cli.blob_store {
            s.blob_store = v.parse()?;
        }
        for (var, slot) in [
            ("FIELDSYNC_S3_ENDPOINT", &mut s.s3.endpoint),
            ("FIELDSYNC_S3_REGION", &mut s.s3.region),
            ("FIELDSYNC_S3_ACCESS_KEY_ID", &mut s.s3.access_key_id),
        ] {
            if let Ok(v) = std::env::var(var) {
                *slot = Some(v);
            }
        }
        if let Ok(v) = std::env::var("FIELDSYNC_S3_SECRET_ACCESS_KEY") {
            s.s3.secret_access_key = Some(Secret::new(v));
        }
        if let Ok(v) = std::env::var("FIELDSYNC_JWT_SECRET") {
            s.jwt_secret = Some(Secret::new(v));
        }
        if let Ok(v) = std::env::var("FIELDSYNC_ACCESS_TTL_SECS") {
            s.access_ttl_secs = v.parse().map_err(|_| {
                anyhow::anyhow!("FIELDSYNC_ACCESS_TTL_SECS must be a number of seconds")
            })?;
        }
        if let Ok(v) = std::env::var("FIELDSYNC_ADMIN_PASSWORD") {
            s.admin_password = Some(Secret::new(v));
        }
        if s.access_ttl_secs <= 0 || s.refresh_ttl_secs <= 0 {
            anyhow::bail!("token lifetimes must be positive");
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn load(args: &[&str]) -> anyhow::Result<Settings> {
        Settings::load(Cli::try_parse_from(
            std::iter::once("field-server").chain(args.iter().copied()),
        )?)
    }

    #[test]
    fn logs_are_text_unless_json_is_asked_for() {
        assert_eq!(load(&[]).unwrap().log_format, LogFormat::Text);
        assert_eq!(
            load(&["--log-format", "json"]).unwrap().log_format,
            LogFormat::Json
        );
    }

    #[test]
    fn the_config_file_sets_the_log_format_and_the_flag_wins() {
        let path = std::env::temp_dir().join(format!(
            "fieldsync-config-{}.toml",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, "log_format = \"json\"\n").unwrap();
        let file = path.to_str().unwrap();
        let from_file = load(&["--config", file]).unwrap().log_format;
        let flag_wins = load(&["--config", file, "--log-format", "text"])
            .unwrap()
            .log_format;
        std::fs::write(&path, "log_format = \"yaml\"\n").unwrap();
        let bad = load(&["--config", file]).unwrap_err().to_string();
        let _ = std::fs::remove_file(&path);
        assert_eq!(from_file, LogFormat::Json);
        assert_eq!(flag_wins, LogFormat::Text);
        assert_eq!(bad, "log format must be text or json, not \"yaml\"");
    }

    #[test]
    fn the_blob_store_is_the_blob_dir_unless_named() {
        use crate::blobs::store::StoreSpec;
        assert_eq!(load(&[]).unwrap().blob_store, StoreSpec::File(None));
        assert_eq!(
            load(&["--blob-store", "postgres"]).unwrap().blob_store,
            StoreSpec::Postgres
        );
        let e = load(&["--blob-store", "nfs"]).unwrap_err().to_string();
        assert!(e.contains("file:DIR, postgres or s3://BUCKET"), "{e}");
    }

    #[test]
    fn the_document_cache_is_32_mib_unless_sized() {
        assert_eq!(load(&[]).unwrap().doc_cache_bytes, 32 * 1024 * 1024);
        assert_eq!(
            load(&["--doc-cache-mib", "64"]).unwrap().doc_cache_bytes,
            64 * 1024 * 1024
        );
        assert_eq!(load(&["--doc-cache-mib", "0"]).unwrap().doc_cache_bytes, 0);
        assert!(load(&["--doc-cache-mib", "lots"]).is_err());
    }

    #[test]
    fn demo_data_only_when_asked_for() {
        assert!(!load(&[]).unwrap().demo);
        assert!(load(&["--demo"]).unwrap().demo);
    }

    #[test]
    fn an_unknown_log_format_is_one_line_naming_the_choices() {
        let e = load(&["--log-format", "xml"]).unwrap_err().to_string();
        assert_eq!(e, "log format must be text or json, not \"xml\"");
    }
}
