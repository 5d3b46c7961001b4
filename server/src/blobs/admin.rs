//! `field-server blobs …`: moving blobs between stores and removing the ones nothing needs.
//!
//! Both are safe to interrupt and run again. `migrate` never changes the source and writes
//! each object whole (the stores' `put` is all or nothing), checking every original's hash on
//! the way out and again read back from the target; a second run skips what is there and
//! sound. `gc` removes a blob's row first (from then on nobody can see it) and its objects
//! after, so an interrupted run leaves at worst objects without a row, which the next run
//! lists as orphans.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::store::{self, hash_of_original, BlobStore, StoreSpec};
use crate::config::Settings;
use crate::db::{now_ms, Db};

/// `blobs` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BlobsCommand {
    /// Copy every blob (originals, thumbnails, open uploads' parts) from the configured store
    /// (--blob-store) to another, verifying each original's SHA-256 there. Then restart the
    /// instances with --blob-store set to the new store.
    Migrate {
        /// The store to copy to: file:DIR, postgres or s3://BUCKET[/PREFIX].
        #[arg(long)]
        to: String,
    },
    /// List blobs that no work order references (photos, signatures, attachments) and that
    /// were uploaded longer ago than --older-than; with --delete, remove them.
    Gc {
        /// Minimum age, e.g. 30d, 12h, 90m.
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
        /// Remove them (without it, only list).
        #[arg(long)]
        delete: bool,
    },
}

/// `30d`, `12h`, `90m` or `45s`.
pub fn parse_age(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{v:?} is not an age like 30d, 12h, 90m or 45s"))?;
    let secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("{v:?} is not an age like 30d, 12h, 90m or 45s")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// Runs a `blobs` subcommand; what it did goes to stdout, line by line.
pub async fn run(settings: &Settings, cmd: &BlobsCommand) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url).await?;
    let from = store::open(&settings.blob_store, &settings.blob_dir, &settings.s3, &db).await?;
    match cmd {
        BlobsCommand::Migrate { to } => {
            let spec: StoreSpec = to.parse()?;
            let to = store::open(&spec, &settings.blob_dir, &settings.s3, &db).await?;
            let report = migrate(from.as_ref(), to.as_ref()).await?;
            println!("{report}");
            if report.failed.is_empty() {
                Ok(())
            } else {
                anyhow::bail!(
                    "{} object(s) not copied (listed above); run it again once the cause is fixed",
                    report.failed.len()
                )
            }
        }
        BlobsCommand::Gc { older_than, delete } => {
            gc(&db, from, *older_than, *delete).await?;
            Ok(())
        }
    }
}

/// What a migration did.
#[derive(Debug, Default)]
pub struct MigrateReport {
    pub from: String,
    pub to: String,
    pub copied: usize,
    pub already_there: usize,
    pub bytes: u64,
    /// Keys not copied, with the reason.
    pub failed: Vec<(String, String)>,
}

impl std::fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (key, why) in &self.failed {
            writeln!(f, "failed: {key}: {why}")?;
        }
        write!(
            f,
            "migrated {} → {}: {} object(s) copied ({} bytes), {} already there and verified, {} failed",
            self.from,
            self.to,
            self.copied,
            self.bytes,
            self.already_there,
            self.failed.len()
        )
    }
}

/// SHA-256 (hex) and length of an object, streamed.
async fn digest(store: &dyn BlobStore, key: &str) -> anyhow::Result<Option<(String, u64)>> {
    let Some(mut stream) = store.get(key, None).await? else {
        return Ok(None);
    };
    let (mut h, mut n) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    Ok(Some((hex::encode(h.finalize()), n)))
}

/// Copies every object of `from` into `to` (see the module docs for why it is safe).
pub async fn migrate(from: &dyn BlobStore, to: &dyn BlobStore) -> anyhow::Result<MigrateReport> {
    let mut report = MigrateReport {
        from: from.describe(),
        to: to.describe(),
        ..Default::default()
    };
    let mut keys = from.list("").await.context("listing the source store")?;
    keys.sort();
    for key in keys {
        match copy_one(from, to, &key).await {
            Ok(Copied::Yes(bytes)) => {
                report.copied += 1;
                report.bytes += bytes;
            }
            Ok(Copied::AlreadyThere) => report.already_there += 1,
            Err(e) => report.failed.push((key, format!("{e:#}"))),
        }
    }
    Ok(report)
}

enum Copied {
    Yes(u64),
    AlreadyThere,
}

async fn copy_one(from: &dyn BlobStore, to: &dyn BlobStore, key: &str) -> anyhow::Result<Copied> {
    let want = hash_of_original(key).map(|h| h.to_string());
    let source_size = from.size(key).await?.context("vanished from the source")?;
    if let Some(size) = to.size(key).await? {
        if size == source_size {
            match &want {
                // An original is there if its bytes hash to its name.
                Some(h) if digest(to, key).await?.is_some_and(|(got, _)| &got == h) => {
                    return Ok(Copied::AlreadyThere)
                }
                Some(_) => {}
                None => return Ok(Copied::AlreadyThere),
            }
        }
    }
    let stream = from
        .get(key, None)
        .await?
        .context("vanished from the source")?;
    let staged = super::upload::stage(stream, usize::MAX)
        .await
        .map_err(|e| anyhow::anyhow!("reading from the source: {e}"))?;
    if let Some(h) = &want {
        if &staged.sha256 != h {
            anyhow::bail!(
                "the source's bytes hash to {}, not to their name",
                staged.sha256
            );
        }
    }
    to.put_file(key, &staged.path).await?;
    let (got, len) = digest(to, key)
        .await?
        .context("not in the target right after writing it")?;
    if got != staged.sha256 || len != staged.len {
        anyhow::bail!("read back from the target as {len} bytes hashing to {got}");
    }
    Ok(Copied::Yes(staged.len))
}

/// Lists (and with `delete` removes) unreferenced blobs older than `age`.
pub async fn gc(
    db: &Db,
    store: Arc<dyn BlobStore>,
    age: Duration,
    delete: bool,
) -> anyhow::Result<(usize, u64)> {
    let cutoff = now_ms() - i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT hash, size, created_at FROM blobs b WHERE created_at < $1
         AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.blob = b.hash)
         AND NOT EXISTS (SELECT 1 FROM doc_blobs d WHERE d.blob = b.hash)
         ORDER BY created_at",
    )
    .bind(cutoff)
    .fetch_all(&db.pool)
    .await?;
    let (mut count, mut bytes) = (0usize, 0u64);
    for (hash, size, created_at) in &rows {
        let Ok(h) = sync_core::ids::BlobHash::parse(hash) else {
            continue;
        };
        if delete {
            // Again, in the statement that deletes: a sync may have referenced it since.
            let gone = sqlx::query(
                "DELETE FROM blobs WHERE hash = $1
                 AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.blob = $1)
                 AND NOT EXISTS (SELECT 1 FROM doc_blobs d WHERE d.blob = $1)",
            )
            .bind(hash)
            .execute(&db.pool)
            .await?
            .rows_affected();
            if gone == 0 {
                continue;
            }
            store.delete(&store::original_key(&h)).await?;
            store.delete(&store::thumbnail_key(&h)).await?;
            println!("deleted {hash} ({size} bytes, uploaded at {created_at} ms)");
        } else {
            println!("unreferenced {hash} ({size} bytes, uploaded at {created_at} ms)");
        }
        count += 1;
        bytes += (*size).max(0) as u64;
    }
    let known: std::collections::HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT hash FROM blobs")
            .fetch_all(&db.pool)
            .await?
            .into_iter()
            .collect();
    let orphans = store
        .list("")
        .await?
        .into_iter()
        .filter_map(|k| hash_of_original(&k))
        .filter(|h| !known.contains(h.as_str()))
        .count();
    let verb = if delete {
        "deleted"
    } else {
        "would delete (run with --delete)"
    };
    println!(
        "{verb} {count} unreferenced blob(s) older than {}s, {bytes} bytes, in {}; {orphans} stored object(s) without a row (an interrupted gc or upload; not touched)",
        age.as_secs(),
        store.describe()
    );
    Ok((count, bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ages_read_as_days_hours_minutes_or_seconds() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_age("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_age("90m").unwrap(), Duration::from_secs(90 * 60));
        assert_eq!(parse_age("45s").unwrap(), Duration::from_secs(45));
        assert!(parse_age("30").unwrap_err().contains("like 30d"));
        assert!(parse_age("d").is_err());
        assert!(parse_age("3w").is_err());
    }

    #[tokio::test]
    async fn migrate_copies_verifies_and_skips_what_is_there() {
        let tmp = |n: &str| {
            std::env::temp_dir().join(format!("fieldsync-{n}-{}", uuid::Uuid::new_v4().simple()))
        };
        let (a, b) = (tmp("from"), tmp("to"));
        let from = store::file::FileStore::open(&a).unwrap();
        let to = store::file::FileStore::open(&b).unwrap();
        let body = b"pretend this is a photo".to_vec();
        let h = sync_core::ids::BlobHash::of(&body);
        from.put_bytes(&store::original_key(&h), body.into())
            .await
            .unwrap();
        from.put_bytes(
            &store::thumbnail_key(&h),
            bytes::Bytes::from_static(b"thumb"),
        )
        .await
        .unwrap();
        // A corrupt original: its bytes do not hash to its name.
        let bad = sync_core::ids::BlobHash::of(b"other");
        from.put_bytes(
            &store::original_key(&bad),
            bytes::Bytes::from_static(b"tampered"),
        )
        .await
        .unwrap();
        let first = migrate(&from, &to).await.unwrap();
        assert_eq!(
            (first.copied, first.already_there, first.failed.len()),
            (2, 0, 1)
        );
        assert!(first.failed[0].1.contains("not to their name"), "{first}");
        let again = migrate(&from, &to).await.unwrap();
        assert_eq!((again.copied, again.already_there), (0, 2));
        assert_eq!(
            store::read_all(&to, &store::original_key(&h))
                .await
                .unwrap()
                .unwrap(),
            b"pretend this is a photo"
        );
        let _ = std::fs::remove_dir_all(a);
        let _ = std::fs::remove_dir_all(b);
    }
}
