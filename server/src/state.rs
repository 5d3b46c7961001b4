//! What every handler shares.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::clock::ServiceClock;
use crate::db::projection::Ctx;
use crate::db::Db;
use crate::ops::Metrics;
use crate::policy::Policy;

pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// Device id (and Automerge actor) of this server instance for its own changes.
    pub instance_id: String,
    /// Where photo and signature bytes live (`--blob-store`), shared by every instance
    /// unless it is a `file:` store.
    pub blobs: Arc<dyn crate::blobs::store::BlobStore>,
    pub metrics: Arc<Metrics>,
    /// Bounds concurrent image decodes (CPU and memory heavy).
    pub image_permits: Arc<tokio::sync::Semaphore>,
    /// The service policy: clock rules, dispatch, KPI targets.
    pub policy: Arc<Policy>,
    /// Where service time comes from.
    pub clock: ServiceClock,
    /// Hot work-order documents, bounded in memory (see `sync::cache`).
    pub docs: crate::sync::cache::DocCache,
    /// SQLite's group commit (`None` on PostgreSQL).
    pub group: Option<crate::db::group::GroupWriter>,
    /// Bounds the sync requests holding documents in memory at once.
    pub sync_permits: tokio::sync::Semaphore,
    /// The password-hash limiter, login throttle and refresh grace of the auth endpoints.
    pub auth: crate::auth::AuthGuards,
    /// Live push: open event streams and the changes to tell them about (`events`).
    pub events: crate::events::Hub,
}

impl AppState {
    /// The projection context at service time `now`.
    pub fn ctx(&self, now: i64) -> Ctx<'_> {
        Ctx {
            policy: &self.policy,
            now,
        }
    }
}
