//! Where blob bytes live: one [`BlobStore`] interface, three places.
//!
//! - `file:DIR` ([`file::FileStore`]): a directory, as before; for one instance.
//! - `postgres` ([`postgres::PgStore`]): chunks in the PostgreSQL database the instances
//!   already share, so several instances need nothing else.
//! - `s3://BUCKET` ([`s3::S3Store`]): S3-compatible object storage.
//!
//! Keys are the relative paths of the file layout (`ab/abcd…`, `thumbs/ab/abcd….jpg`,
//! `uploads/ID/OFFSET`), the same on every store, so `blobs migrate` copies key for key.
//!
//! Guarantees every implementation keeps: a `put` is all or nothing (a reader never sees half
//! an object, and an interrupted `put` leaves no object), and a `put` of an existing key
//! replaces it whole. The stores know nothing of hashes, images or users: the `blobs` table
//! decides what is visible, and a row is written only after its bytes are in the store.

pub mod file;
pub mod postgres;
pub mod s3;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use sync_core::ids::BlobHash;

use crate::db::Db;

/// A stored object's bytes, a bounded piece at a time.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// How many bytes the stores read or write at once: the memory one transfer holds.
pub const CHUNK_BYTES: usize = 1024 * 1024;

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    /// For logs and reports: `file:/var/lib/fieldsync/blobs`, `postgres`, `s3://bucket`.
    fn describe(&self) -> String;
    /// Stores the file at `path` under `key`, all or nothing.
    async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<()>;
    /// Stores `bytes` under `key`, all or nothing (small objects: thumbnails, upload parts).
    async fn put_bytes(&self, key: &str, bytes: Bytes) -> anyhow::Result<()>;
    /// The object's bytes in `range` (all of them when `None`); `None` when there is no object.
    /// A range past the end is cut at the end.
    async fn get(&self, key: &str, range: Option<Range<u64>>)
        -> anyhow::Result<Option<ByteStream>>;
    /// The object's size in bytes; `None` when there is no object.
    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>>;
    /// Removes the object; removing a missing one is not an error.
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
    /// Every key under `prefix` (`""`: all), in no particular order.
    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>>;
}

/// The key of a blob's original bytes.
pub fn original_key(hash: &BlobHash) -> String {
    let h = hash.as_str();
    format!("{}/{h}", &h[..2])
}

/// The key of a blob's JPEG thumbnail.
pub fn thumbnail_key(hash: &BlobHash) -> String {
    let h = hash.as_str();
    format!("thumbs/{}/{h}.jpg", &h[..2])
}

/// The key of the part of resumable upload `id` that starts at byte `offset`.
pub fn part_key(id: &str, offset: u64) -> String {
    format!("uploads/{id}/{offset:020}")
}

/// The hash whose original `key` names, if it names one (not a thumbnail or an upload part).
pub fn hash_of_original(key: &str) -> Option<BlobHash> {
    let (fan, h) = key.split_once('/')?;
    let hash = BlobHash::parse(h).ok()?;
    (fan.len() == 2 && h.starts_with(fan)).then_some(hash)
}

/// A `--blob-store` value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// `file:DIR`, or `file:` for the `--blob-dir` directory.
    File(Option<std::path::PathBuf>),
    /// `postgres`: in the server's own PostgreSQL database.
    Postgres,
    /// `s3://BUCKET[/PREFIX]`.
    S3 { bucket: String, prefix: String },
}

impl std::str::FromStr for StoreSpec {
    type Err = anyhow::Error;

    fn from_str(v: &str) -> anyhow::Result<Self> {
        if let Some(dir) = v.strip_prefix("file:") {
            return Ok(StoreSpec::File((!dir.is_empty()).then(|| dir.into())));
        }
        if v == "postgres" {
            return Ok(StoreSpec::Postgres);
        }
        if let Some(rest) = v.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                anyhow::bail!("blob store {v:?} names no bucket: use s3://BUCKET");
            }
            return Ok(StoreSpec::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        anyhow::bail!("blob store must be file:DIR, postgres or s3://BUCKET, not {v:?}")
    }
}

/// Opens the store `spec` names; `blob_dir` is the directory of a bare `file:`.
pub async fn open(
    spec: &StoreSpec,
    blob_dir: &Path,
    s3: &s3::S3Options,
    db: &Db,
) -> anyhow::Result<Arc<dyn BlobStore>> {
    Ok(match spec {
        StoreSpec::File(dir) => {
            Arc::new(file::FileStore::open(dir.as_deref().unwrap_or(blob_dir))?)
        }
        StoreSpec::Postgres => Arc::new(postgres::PgStore::new(db)?),
        StoreSpec::S3 { bucket, prefix } => Arc::new(s3::S3Store::open(bucket, prefix, s3)?),
    })
}

/// Reads a whole (small) object into memory: thumbnails, tests.
pub async fn read_all(store: &dyn BlobStore, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    use futures_util::TryStreamExt;
    let Some(stream) = store.get(key, None).await? else {
        return Ok(None);
    };
    let chunks: Vec<Bytes> = stream.try_collect().await?;
    Ok(Some(chunks.concat()))
}

#[cfg(test)]
mod tests;
