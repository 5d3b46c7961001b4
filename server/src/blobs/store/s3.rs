//! `s3://BUCKET[/PREFIX]`: S3-compatible object storage through `object_store`.
//!
//! Endpoint, region and credentials come from [`S3Options`] (config file, `FIELDSYNC_S3_*`),
//! then from the usual `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`).
//! Objects over [`PART_BYTES`] go up as a multipart upload, one part in memory at a time; S3
//! makes an object visible only when its upload completes, so readers never see half of one.

use std::ops::Range;
use std::path::Path;

use anyhow::Context;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::io::AsyncReadExt;

use super::{BlobStore, ByteStream};
use crate::config::Secret;

/// The part size of multipart uploads: S3 wants at least 5 MiB for every part but the last.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Connection settings beyond the bucket; each falls back to its `AWS_*` variable.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// e.g. `http://127.0.0.1:3900` for Garage or MinIO; AWS itself when absent.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

pub struct S3Store {
    bucket: String,
    prefix: String,
    inner: AmazonS3,
}

impl S3Store {
    pub fn open(bucket: &str, prefix: &str, opts: &S3Options) -> anyhow::Result<S3Store> {
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(v) = &opts.endpoint {
            // A local S3-compatible server usually speaks plain HTTP.
            b = b.with_endpoint(v).with_allow_http(v.starts_with("http://"));
        }
        if let Some(v) = &opts.region {
            b = b.with_region(v);
        }
        if let Some(v) = &opts.access_key_id {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = &opts.secret_access_key {
            b = b.with_secret_access_key(v.expose());
        }
        let inner = b
            .build()
            .with_context(|| format!("blob store s3://{bucket}"))?;
        Ok(S3Store {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            inner,
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

#[async_trait::async_trait]
impl BlobStore for S3Store {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    async fn put_file(&self, key: &str, src: &Path) -> anyhow::Result<()> {
        let mut f = tokio::fs::File::open(src)
            .await
            .with_context(|| format!("opening {}", src.display()))?;
        let len = f.metadata().await?.len();
        let path = self.path(key);
        if len <= PART_BYTES as u64 {
            let mut buf = Vec::with_capacity(len as usize);
            f.read_to_end(&mut buf).await?;
            self.inner.put(&path, PutPayload::from(buf)).await?;
            return Ok(());
        }
        let mut upload = self.inner.put_multipart(&path).await?;
        let result: anyhow::Result<()> = async {
            loop {
                let mut part = Vec::with_capacity(PART_BYTES);
                (&mut f)
                    .take(PART_BYTES as u64)
                    .read_to_end(&mut part)
                    .await?;
                if part.is_empty() {
                    break;
                }
                upload.put_part(PutPayload::from(part)).await?;
            }
            upload.complete().await?;
            Ok(())
        }
        .await;
        if result.is_err() {
            // Parts of an unfinished upload cost storage until aborted.
            let _ = upload.abort().await;
        }
        result
    }

    async fn put_bytes(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        self.inner
            .put(&self.path(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<Option<ByteStream>> {
        let opts = GetOptions {
            range: match &range {
                // S3 refuses an empty range; the caller gets an empty body without asking.
                Some(r) if r.start >= r.end => {
                    return match self.size(key).await? {
                        Some(_) => Ok(Some(Box::pin(futures_util::stream::empty()))),
                        None => Ok(None),
                    }
                }
                Some(r) => Some(GetRange::Bounded(r.clone())),
                None => None,
            },
            ..GetOptions::default()
        };
        match self.inner.get_opts(&self.path(key), opts).await {
            Ok(r) => Ok(Some(Box::pin(
                r.into_stream().map_err(std::io::Error::other).boxed(),
            ))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        match self.inner.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.inner.delete(&self.path(key)).await {
            Err(e) if !not_found(&e) => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let root = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let metas: Vec<_> = self
            .inner
            .list(
                (!self.prefix.is_empty())
                    .then(|| ObjectPath::from(self.prefix.as_str()))
                    .as_ref(),
            )
            .try_collect()
            .await?;
        Ok(metas
            .into_iter()
            .filter_map(|m| m.location.as_ref().strip_prefix(&root).map(str::to_owned))
            .filter(|k| k.starts_with(prefix))
            .collect())
    }
}
