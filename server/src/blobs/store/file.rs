//! `file:DIR`: one file per key under a directory, the layout fieldsync always had
//! (`DIR/ab/abcd…`, `DIR/thumbs/ab/abcd….jpg`), so an existing `--blob-dir` needs no moving.
//! Every write goes through a temporary file, synced, and a rename: a crash never leaves half
//! an object under its key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{BlobStore, ByteStream, CHUNK_BYTES};

pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn open(dir: &Path) -> anyhow::Result<FileStore> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create blob directory {}", dir.display()))?;
        Ok(FileStore {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        // Keys come from this module's own functions, but a key is never allowed out of DIR.
        if key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            anyhow::bail!("invalid blob key {key:?}");
        }
        Ok(self.dir.join(key))
    }

    /// A temporary file beside `path` (same file system, so the rename is atomic).
    fn temp_for(path: &Path) -> PathBuf {
        path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()))
    }
}

async fn finish(tmp: &Path, path: &Path, mut f: tokio::fs::File) -> anyhow::Result<()> {
    f.flush().await?;
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(tmp, path)
        .await
        .with_context(|| format!("renaming into {}", path.display()))
}

#[async_trait::async_trait]
impl BlobStore for FileStore {
    fn describe(&self) -> String {
        format!("file:{}", self.dir.display())
    }

    async fn put_file(&self, key: &str, src: &Path) -> anyhow::Result<()> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let tmp = Self::temp_for(&path);
        let result = async {
            tokio::fs::copy(src, &tmp)
                .await
                .with_context(|| format!("copying {} to {}", src.display(), tmp.display()))?;
            let f = tokio::fs::OpenOptions::new().write(true).open(&tmp).await?;
            finish(&tmp, &path, f).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn put_bytes(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let tmp = Self::temp_for(&path);
        let result = async {
            let mut f = tokio::fs::File::create(&tmp).await?;
            f.write_all(&bytes).await?;
            finish(&tmp, &path, f).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<Option<ByteStream>> {
        let path = self.path(key)?;
        let mut f = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("opening {}", path.display())))
            }
        };
        let len = f.metadata().await?.len();
        let Range { start, end } = range.unwrap_or(0..len);
        let (start, end) = (start.min(len), end.min(len));
        f.seek(std::io::SeekFrom::Start(start)).await?;
        let stream = futures_util::stream::try_unfold(
            (f, end.saturating_sub(start)),
            |(mut f, left)| async move {
                if left == 0 {
                    return Ok(None);
                }
                let want = usize::try_from(left)
                    .unwrap_or(CHUNK_BYTES)
                    .min(CHUNK_BYTES);
                let mut buf = vec![0u8; want];
                let n = f.read(&mut buf).await?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob file shorter than it was",
                    ));
                }
                buf.truncate(n);
                Ok(Some((Bytes::from(buf), (f, left - n as u64))))
            },
        );
        Ok(Some(Box::pin(stream)))
    }

    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let dir = self.dir.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            let mut todo = vec![dir.clone()];
            while let Some(d) = todo.pop() {
                let entries = match std::fs::read_dir(&d) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(anyhow::Error::new(e)),
                };
                for entry in entries {
                    let entry = entry?;
                    let path = entry.path();
                    if entry.file_type()?.is_dir() {
                        todo.push(path);
                        continue;
                    }
                    let Ok(rel) = path.strip_prefix(&dir) else {
                        continue;
                    };
                    let key = rel.to_string_lossy().replace('\\', "/");
                    // Temporary files of writes in progress (or cut short) are not objects.
                    let temporary = rel
                        .extension()
                        .is_some_and(|e| e.to_string_lossy().starts_with("tmp-"));
                    if !temporary && key.starts_with(&prefix) {
                        keys.push(key);
                    }
                }
            }
            Ok(keys)
        })
        .await?
    }
}
