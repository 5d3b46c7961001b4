//! Storage through sqlx's `Any` driver: one set of queries for SQLite (the default, one file,
//! no setup) and PostgreSQL (production, several instances). Each database has its own
//! migration history under `migrations/`.
//!
//! Concurrency rule: every writer of a work-order document first runs
//! `UPDATE documents SET version = version + 1 WHERE id = $1` in its transaction. On
//! PostgreSQL that takes the row lock, on SQLite the database write lock, so merges of one
//! document by any number of server instances are serialized and none overwrites another.
//! Changes themselves are append-only rows keyed by change hash (`ON CONFLICT DO NOTHING`),
//! so a replayed request changes nothing.

pub mod catalog;
pub mod docs;
pub mod group;
pub mod projection;
pub mod sync_state;
pub mod tokens;
pub mod users;
pub mod values;
pub mod write;

pub use write::{WriteGate, WriteTx};

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The writers' queue of this process (SQLite only; see [`write`]).
    gate: Option<WriteGate>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Db {
    /// Connects (creating a SQLite file if needed) and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database url {url:?}: use sqlite://PATH or postgres://…");
        };
        let pool = match backend {
            Backend::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if path != ":memory:" && !std::path::Path::new(path).exists() {
                    std::fs::File::create(path)
                        .map_err(|e| anyhow::anyhow!("cannot create database file {path}: {e}"))?;
                }
                let opts = AnyConnectOptions::from_str(url)?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?;
        let gate = (backend == Backend::Sqlite).then(WriteGate::new);
        Ok(Db {
            pool,
            backend,
            gate,
        })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Values bound in one statement at most. Multi-row statements are cut to this: sqlx's SQLite
/// driver maps each `$N` by name, at a cost that grows with the square of the count (a
/// 600-value insert spent more time binding than inserting).
pub const MAX_BINDS: usize = 120;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A scratch SQLite database for unit tests, in a directory removed on drop.
#[cfg(test)]
pub(crate) mod scratch {
    use super::Db;

    pub struct Scratch {
        pub db: Db,
        dir: std::path::PathBuf,
    }

    impl Scratch {
        #[allow(clippy::unwrap_used)]
        pub async fn new() -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "fieldsync-scratch-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()))
                .await
                .unwrap();
            Scratch { db, dir }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
