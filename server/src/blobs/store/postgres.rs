//! `postgres`: objects in the server's own PostgreSQL database, cut into 1 MiB chunks
//! (`blob_chunks`), with one `blob_objects` row per object written in the same transaction,
//! so an object is there whole or not at all. Every instance on the database sees every
//! object; nothing else needs running. Reads fetch one chunk at a time, so serving a 20 MiB
//! photo holds one chunk in memory.
//!
//! A put of an existing key replaces its chunks in one transaction; a reader in the middle
//! of that object could then mix old and new chunks, which is harmless here: the keys are
//! content addresses (the same bytes) or write-once upload parts.

use std::ops::Range;
use std::path::Path;

use anyhow::Context;
use bytes::Bytes;
use sqlx::AnyPool;
use tokio::io::AsyncReadExt;

use super::{BlobStore, ByteStream, CHUNK_BYTES};
use crate::db::{now_ms, Backend, Db};

pub struct PgStore {
    pool: AnyPool,
}

impl PgStore {
    pub fn new(db: &Db) -> anyhow::Result<PgStore> {
        if db.backend != Backend::Postgres {
            anyhow::bail!(
                "the postgres blob store keeps blobs in a PostgreSQL database, and the database \
                 url is not one: use --blob-store file:DIR with SQLite"
            );
        }
        Ok(PgStore {
            pool: db.pool.clone(),
        })
    }

    /// Writes what `reader` yields as the object `key`, replacing any before, in one
    /// transaction, one chunk in memory at a time.
    async fn put_reader(
        &self,
        key: &str,
        reader: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM blob_chunks WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        let (mut seq, mut size) = (0i32, 0i64);
        loop {
            let mut chunk = Vec::with_capacity(CHUNK_BYTES);
            (&mut *reader)
                .take(CHUNK_BYTES as u64)
                .read_to_end(&mut chunk)
                .await?;
            if chunk.is_empty() {
                break;
            }
            size += chunk.len() as i64;
            sqlx::query("INSERT INTO blob_chunks (key, seq, data) VALUES ($1, $2, $3)")
                .bind(key)
                .bind(seq)
                .bind(chunk)
                .execute(&mut *tx)
                .await?;
            seq += 1;
        }
        sqlx::query(
            "INSERT INTO blob_objects (key, size, chunk_size, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET size = EXCLUDED.size, chunk_size = EXCLUDED.chunk_size",
        )
        .bind(key)
        .bind(size)
        .bind(CHUNK_BYTES as i64)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl BlobStore for PgStore {
    fn describe(&self) -> String {
        "postgres".into()
    }

    async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<()> {
        let mut f = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        self.put_reader(key, &mut f).await
    }

    async fn put_bytes(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        self.put_reader(key, &mut std::io::Cursor::new(bytes)).await
    }

    async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<Option<ByteStream>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT size, chunk_size FROM blob_objects WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        let Some((size, chunk_size)) = row else {
            return Ok(None);
        };
        let (size, chunk_size) = (size.max(0) as u64, chunk_size.max(1) as u64);
        let Range { start, end } = range.unwrap_or(0..size);
        let (start, end) = (start.min(size), end.min(size));
        let (pool, key) = (self.pool.clone(), key.to_owned());
        let stream = futures_util::stream::try_unfold(start, move |at| {
            let (pool, key) = (pool.clone(), key.clone());
            async move {
                if at >= end {
                    return Ok(None);
                }
                let seq = at / chunk_size;
                let data: Option<Vec<u8>> =
                    sqlx::query_scalar("SELECT data FROM blob_chunks WHERE key = $1 AND seq = $2")
                        .bind(&key)
                        .bind(seq as i32)
                        .fetch_optional(&pool)
                        .await
                        .map_err(std::io::Error::other)?;
                let data = data.ok_or_else(|| {
                    std::io::Error::other(format!("chunk {seq} of {key} is missing"))
                })?;
                let from = (at - seq * chunk_size) as usize;
                let to = ((end - seq * chunk_size) as usize).min(data.len());
                if from >= to {
                    return Err(std::io::Error::other(format!(
                        "chunk {seq} of {key} is short"
                    )));
                }
                let piece = Bytes::from(data).slice(from..to);
                let next = at + piece.len() as u64;
                Ok(Some((piece, next)))
            }
        });
        Ok(Some(Box::pin(stream)))
    }

    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        let size: Option<i64> = sqlx::query_scalar("SELECT size FROM blob_objects WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(size.map(|s| s.max(0) as u64))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        // The object row first: from here on readers see no object, not a partial one.
        sqlx::query("DELETE FROM blob_objects WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM blob_chunks WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        // `starts_with` avoids LIKE's wildcards in the prefix.
        Ok(
            sqlx::query_scalar("SELECT key FROM blob_objects WHERE starts_with(key, $1)")
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
