//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::db::Db;
use crate::ops::Metrics;

pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// Device id (and Automerge actor) of this server instance for its own changes.
    pub instance_id: String,
    pub blob_dir: PathBuf,
    pub metrics: Arc<Metrics>,
    /// Bounds concurrent image decodes (CPU and memory heavy).
    pub image_permits: Arc<tokio::sync::Semaphore>,
}
