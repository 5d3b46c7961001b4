//! A device's offline store (feature `store`): one SQLite file holding the work-order
//! documents the device works on, each with its Automerge sync state, the blobs (photos,
//! signatures) waiting to be uploaded, and small settings (server, user, tokens).
//!
//! Everything a technician records offline goes into the document and is saved here before
//! the command returns; `sync` later sends it. A document is saved whole (`Automerge::save`):
//! work orders are a few kilobytes, and a whole save is one atomic row update.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use automerge::{sync, Automerge};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::ids::BlobHash;
use crate::workorder::actor_id_for;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("device store {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("device store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("device store: cannot create {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("device store: stored document {id} is damaged: {reason}")]
    Damaged { id: String, reason: String },
}

/// A document as the device keeps it.
pub struct StoredDoc {
    pub doc: Automerge,
    pub state: sync::State,
}

/// A blob recorded offline, waiting for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBlob {
    pub hash: BlobHash,
    pub path: PathBuf,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, doc BLOB NOT NULL, state BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, uploaded INTEGER NOT NULL DEFAULT 0)",
];

pub struct Store {
    pool: SqlitePool,
    dir: PathBuf,
    /// Held for the store's lifetime: one process at a time works on a device directory, so
    /// a sync never writes back a copy older than a step another command just saved.
    _lock: std::fs::File,
}

impl Store {
    /// Opens (creating) the store in `dir`: `dir/device.db` and `dir/blobs/`.
    pub async fn open(dir: &Path) -> Result<Store, StoreError> {
        let io = |p: &Path| {
            let path = p.display().to_string();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(dir.join("blobs")).map_err(io(dir))?;
        let lock_path = dir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        // Waits while another command works on this device (a sync can take a while).
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
            .await
            .map_err(|e| StoreError::Io {
                path: lock_path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(io(&lock_path))?;
        let file = dir.join("device.db");
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
            .map_err(|source| StoreError::Open {
                path: file.display().to_string(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                path: file.display().to_string(),
                source,
            })?;
        for stmt in SCHEMA {
            sqlx::query(stmt).execute(&pool).await?;
        }
        Ok(Store {
            pool,
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn unset(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM meta WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ids of the documents on the device, sorted.
    pub async fn doc_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM docs ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Loads a document with its sync state; changes made to it are written as `device`.
    pub async fn load(&self, id: &str, device: &str) -> Result<Option<StoredDoc>, StoreError> {
        let Some(row) = sqlx::query("SELECT doc, state FROM docs WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let damaged = |reason: String| StoreError::Damaged {
            id: id.to_owned(),
            reason,
        };
        let bytes: Vec<u8> = row.try_get("doc")?;
        let state: Vec<u8> = row.try_get("state")?;
        let doc = Automerge::load(&bytes)
            .map_err(|e| damaged(e.to_string()))?
            .with_actor(actor_id_for(device));
        let state = if state.is_empty() {
            sync::State::new()
        } else {
            sync::State::decode(&state).map_err(|e| damaged(e.to_string()))?
        };
        Ok(Some(StoredDoc { doc, state }))
    }

    /// Saves a document and its sync state (atomically, one row).
    pub async fn save(
        &self,
        id: &str,
        doc: &Automerge,
        state: &sync::State,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO docs (id, doc, state) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, state = excluded.state",
        )
        .bind(id)
        .bind(doc.save())
        .bind(state.encode())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM docs WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Keeps a blob for upload at the next sync; returns its content hash. Stored once.
    pub async fn add_blob(&self, bytes: &[u8]) -> Result<BlobHash, StoreError> {
        let hash = BlobHash::of(bytes);
        let path = self.blob_path(&hash);
        if !path.exists() {
            let tmp = path.with_extension("tmp");
            let io = |source| StoreError::Io {
                path: path.display().to_string(),
                source,
            };
            std::fs::write(&tmp, bytes).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(|source| StoreError::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
        sqlx::query("INSERT INTO blobs (hash) VALUES (?) ON CONFLICT (hash) DO NOTHING")
            .bind(hash.as_str())
            .execute(&self.pool)
            .await?;
        Ok(hash)
    }

    pub fn blob_path(&self, hash: &BlobHash) -> PathBuf {
        self.dir.join("blobs").join(hash.as_str())
    }

    /// Blobs not yet uploaded, oldest first.
    pub async fn pending_blobs(&self) -> Result<Vec<PendingBlob>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT hash FROM blobs WHERE uploaded = 0 ORDER BY rowid")
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for h in rows {
            let hash = BlobHash::parse(h.clone()).map_err(|e| StoreError::Damaged {
                id: h,
                reason: e.to_string(),
            })?;
            out.push(PendingBlob {
                path: self.blob_path(&hash),
                hash,
            });
        }
        Ok(out)
    }

    /// The server refused this blob for good (too large, not an image…): stop offering it.
    pub async fn blob_refused(&self, hash: &BlobHash) -> Result<(), StoreError> {
        sqlx::query("UPDATE blobs SET uploaded = 2 WHERE hash = ?")
            .bind(hash.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn blob_uploaded(&self, hash: &BlobHash) -> Result<(), StoreError> {
        sqlx::query("UPDATE blobs SET uploaded = 1 WHERE hash = ?")
            .bind(hash.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool (flushes SQLite's WAL); the store is also safe to drop.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workorder::{Actor, Intake, Role, WorkOrder};

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "fieldsync-store-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn documents_states_settings_and_blobs_survive_a_reopen() {
        let d = dir();
        let store = Store::open(&d).await.unwrap();
        let agent = Actor::new("agent-1", Role::Agent, "srv");
        let wo = WorkOrder::create("WO-1", &agent, Intake::example(), 1).unwrap();
        let mut state = sync::State::new();
        state.shared_heads = wo.heads();
        store.save("WO-1", wo.doc(), &state).await.unwrap();
        store.set("user", "tech-a").await.unwrap();
        store.set("user", "tech-b").await.unwrap();
        let h = store.add_blob(b"jpeg bytes").await.unwrap();
        assert_eq!(
            store.add_blob(b"jpeg bytes").await.unwrap(),
            h,
            "stored once"
        );
        store.close().await;

        let store = Store::open(&d).await.unwrap();
        assert_eq!(store.get("user").await.unwrap().as_deref(), Some("tech-b"));
        assert_eq!(store.get("nothing").await.unwrap(), None);
        assert_eq!(store.doc_ids().await.unwrap(), ["WO-1"]);
        let back = store.load("WO-1", "phone-1").await.unwrap().unwrap();
        assert_eq!(back.doc.get_heads(), wo.heads());
        assert_eq!(back.state.shared_heads, wo.heads());
        assert_eq!(back.doc.get_actor(), &actor_id_for("phone-1"));
        let pending = store.pending_blobs().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(std::fs::read(&pending[0].path).unwrap(), b"jpeg bytes");
        store.blob_uploaded(&h).await.unwrap();
        assert!(store.pending_blobs().await.unwrap().is_empty());
        store.remove("WO-1").await.unwrap();
        assert!(store.load("WO-1", "phone-1").await.unwrap().is_none());
        store.unset("user").await.unwrap();
        assert_eq!(store.get("user").await.unwrap(), None);
        store.close().await;
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn one_process_at_a_time_works_on_a_device_directory() {
        let d = dir();
        let first = Store::open(&d).await.unwrap();
        let d2 = d.clone();
        let second = tokio::spawn(async move { Store::open(&d2).await });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !second.is_finished(),
            "the second opener waits for the first"
        );
        first.close().await;
        let second = tokio::time::timeout(std::time::Duration::from_secs(10), second)
            .await
            .expect("the second opener proceeds once the first is gone")
            .unwrap()
            .unwrap();
        second.close().await;
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_damaged_document_is_an_error_not_a_panic() {
        let d = dir();
        let store = Store::open(&d).await.unwrap();
        sqlx::query("INSERT INTO docs (id, doc, state) VALUES ('WO-X', x'00ff', x'')")
            .execute(&store.pool)
            .await
            .unwrap();
        assert!(matches!(
            store.load("WO-X", "p").await,
            Err(StoreError::Damaged { .. })
        ));
        store.close().await;
        let _ = std::fs::remove_dir_all(&d);
    }
}
