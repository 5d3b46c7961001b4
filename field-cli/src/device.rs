//! A device: its offline store, its session with the server, the technician's operations
//! (all offline, saved before they return) and `sync`.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use automerge::{sync, Automerge};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use sync_core::ids::BlobHash;
use sync_core::protocol::{
    decode_response, encode_request, ClientDoc, ClientSync, Limits, SyncReport,
};
use sync_core::store::Store;
use sync_core::workorder::{actor_id_for, Actor, Role, View, WorkOrder, WorkOrderError};

use crate::api::{Api, ApiError, Tokens};

const SERVER: &str = "server";
const USER: &str = "user";
const ROLE: &str = "role";
const DEVICE: &str = "device_id";
const ACCESS: &str = "access_token";
const REFRESH: &str = "refresh_token";
const CATALOGUE: &str = "parts_catalogue";
/// The technician's van as the last sync saw it (`GET /v1/stock/van`), for `stock van` offline.
const VAN: &str = "van_stock";

/// Largest photo or signature image the device accepts (the server's limit is the same order).
pub const MAX_BLOB: u64 = 16 * 1024 * 1024;

pub struct Device {
    store: Store,
    /// Added to the system clock: a scenario's device can run at the service clock's time,
    /// or deliberately wrong.
    clock_offset_ms: i64,
}

/// What a sync moved.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncSummary {
    pub documents_sent: usize,
    pub documents_received: usize,
    pub changes_sent: usize,
    pub changes_received: usize,
    pub bytes_up: usize,
    pub bytes_down: usize,
    pub round_trips: u32,
    pub blobs_uploaded: usize,
    /// New work orders on the device.
    pub added: Vec<String>,
    /// Work orders taken off the device, with the server's reason.
    pub removed: Vec<(String, String)>,
    /// Work orders whose changes the server refused, with its reason.
    pub rejected: Vec<(String, String)>,
    /// Work orders the server took away while this device still had unconfirmed changes on
    /// them: the copy stays on the device.
    pub kept: Vec<String>,
    /// Work orders whose reply this device could not apply (the stored copy is unchanged).
    pub failed: Vec<(String, String)>,
    /// Images the server refused for good, with its reason (the documents still synced).
    pub images_refused: Vec<(String, String)>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Device {
    pub async fn open(dir: &Path) -> anyhow::Result<Device> {
        let store = Store::open(dir).await?;
        Ok(Device {
            store,
            clock_offset_ms: 0,
        })
    }

    /// Runs the device clock `offset_ms` away from the system clock.
    pub fn set_clock_offset(&mut self, offset_ms: i64) {
        self.clock_offset_ms = offset_ms;
    }

    /// The device's clock (ms since the epoch).
    pub fn now(&self) -> i64 {
        now_ms().saturating_add(self.clock_offset_ms)
    }

    pub async fn close(self) {
        self.store.close().await;
    }

    /// This device's id, made once and kept.
    pub async fn device_id(&self) -> anyhow::Result<String> {
        if let Some(id) = self.store.get(DEVICE).await? {
            return Ok(id);
        }
        let id = format!("cli-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        self.store.set(DEVICE, &id).await?;
        Ok(id)
    }

    async fn keep_tokens(&self, t: &Tokens) -> anyhow::Result<()> {
        self.store.set(ACCESS, &t.access_token).await?;
        self.store.set(REFRESH, &t.refresh_token).await?;
        Ok(())
    }

    /// Logs in and keeps the session. Work already on the device stays; a different user
    /// cannot log in while another user's unsynced work is here.
    pub async fn login(&self, server: &str, user: &str, password: &str) -> anyhow::Result<Tokens> {
        let api = Api::new(server)?;
        if let Some(previous) = self.store.get(USER).await? {
            if previous != user && !self.store.doc_ids().await?.is_empty() {
                bail!(
                    "this device holds work orders of {previous}; sync them and use another --device directory for {user}"
                );
            }
        }
        let device = self.device_id().await?;
        let tokens = api.login(user, password, &device).await?;
        self.store.set(SERVER, api.base()).await?;
        self.store.set(USER, &tokens.user.id).await?;
        self.store.set(ROLE, &tokens.user.role).await?;
        self.keep_tokens(&tokens).await?;
        Ok(tokens)
    }

    /// Ends the session on the server (best effort) and forgets the tokens; documents and
    /// unsynced work stay on the device.
    pub async fn logout(&self) -> anyhow::Result<bool> {
        let (Some(server), Some(refresh)) = (
            self.store.get(SERVER).await?,
            self.store.get(REFRESH).await?,
        ) else {
            bail!("not logged in");
        };
        let told = match Api::new(&server) {
            Ok(api) => api.logout(&refresh).await.is_ok(),
            Err(_) => false,
        };
        self.store.unset(ACCESS).await?;
        self.store.unset(REFRESH).await?;
        Ok(told)
    }

    /// Who acts on this device.
    pub async fn actor(&self) -> anyhow::Result<Actor> {
        let not_in =
            || anyhow!("not logged in: run `field-cli login --server URL --user NAME` first");
        let user = self.store.get(USER).await?.ok_or_else(not_in)?;
        let role: Role = self
            .store
            .get(ROLE)
            .await?
            .ok_or_else(not_in)?
            .parse()
            .map_err(|e: String| anyhow!(e))?;
        Ok(Actor::new(user, role, self.device_id().await?))
    }

    pub async fn api_and_token(&self) -> anyhow::Result<(Api, String)> {
        let not_in =
            || anyhow!("not logged in: run `field-cli login --server URL --user NAME` first");
        let server = self.store.get(SERVER).await?.ok_or_else(not_in)?;
        let token = self.store.get(ACCESS).await?.ok_or_else(not_in)?;
        Ok((Api::new(&server)?, token))
    }

    /// Trades the refresh token for new tokens (after days offline the access token has
    /// long expired; the refresh token lasts 30 days).
    pub async fn refresh(&self, api: &Api) -> anyhow::Result<String> {
        let refresh = self
            .store
            .get(REFRESH)
            .await?
            .ok_or_else(|| anyhow!("not logged in: run `field-cli login` first"))?;
        match api.refresh(&refresh).await {
            Ok(t) => {
                self.keep_tokens(&t).await?;
                Ok(t.access_token)
            }
            Err(ApiError::Refused { .. }) => bail!(
                "the session has ended (logged out elsewhere, or 30 days without contact): log in again; the work on this device is kept"
            ),
            Err(e) => Err(e.into()),
        }
    }

    /// A JSON call as the logged-in user, refreshing the access token when it expired.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let (api, token) = self.api_and_token().await?;
        match api.call(method.clone(), path, Some(&token), body).await {
            Err(ApiError::Expired) => {
                let token = self.refresh(&api).await?;
                Ok(api.call(method, path, Some(&token), body).await?)
            }
            other => Ok(other?),
        }
    }

    /// Points the device at another server address (a scenario's "offline" is an
    /// unreachable one); the session stays.
    pub async fn set_server(&self, url: &str) -> anyhow::Result<()> {
        self.store.set(SERVER, url).await?;
        Ok(())
    }

    /// The work order's document on the device (for checks such as the signature seal).
    pub async fn work_order(&self, id: &str) -> anyhow::Result<WorkOrder> {
        Ok(self.load(id).await?.0)
    }

    /// Ids of the work orders on the device.
    pub async fn job_ids(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.store.doc_ids().await?)
    }

    async fn load(&self, id: &str) -> anyhow::Result<(WorkOrder, sync::State)> {
        let device = self.device_id().await?;
        let stored = self.store.load(id, &device).await?.ok_or_else(|| {
            anyhow!("no job {id} on this device; `field-cli jobs` lists them, `field-cli sync` fetches new ones")
        })?;
        Ok((WorkOrder::from_automerge(stored.doc), stored.state))
    }

    /// A work order as the device sees it (offline).
    pub async fn view(&self, id: &str) -> anyhow::Result<View> {
        let (wo, _) = self.load(id).await?;
        wo.view()
            .with_context(|| format!("job {id} on this device is unreadable"))
    }

    /// Every work order on the device.
    pub async fn jobs(&self) -> anyhow::Result<Vec<View>> {
        let mut out = Vec::new();
        for id in self.job_ids().await? {
            out.push(self.view(&id).await?);
        }
        Ok(out)
    }

    /// Runs one operation on a work order, offline, and saves it before returning.
    /// Returns the new event's id and the view after it.
    pub async fn act(
        &self,
        id: &str,
        op: impl FnOnce(&mut WorkOrder, &Actor, i64) -> Result<String, WorkOrderError>,
    ) -> anyhow::Result<(String, View)> {
        let actor = self.actor().await?;
        let (mut wo, state) = self.load(id).await?;
        let event = op(&mut wo, &actor, self.now()).map_err(|e| anyhow!("{id}: {e}"))?;
        self.store.save(id, wo.doc(), &state).await?;
        let view = wo.view()?;
        Ok((event, view))
    }

    /// Keeps an image file for upload at the next sync; returns its hash.
    pub async fn add_image(&self, path: &Path) -> anyhow::Result<BlobHash> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.len() > MAX_BLOB {
            bail!(
                "{} is {} bytes; images up to {MAX_BLOB} bytes are accepted",
                path.display(),
                meta.len()
            );
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        match bytes.get(..4) {
            Some([0xFF, 0xD8, ..]) | Some([0x89, b'P', b'N', b'G']) => {}
            _ if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" => {}
            _ => bail!("{} is not a JPEG, PNG or WebP image", path.display()),
        }
        Ok(self.store.add_blob(&bytes).await?)
    }

    /// The price of a part in the catalogue cached at the last sync, if known.
    pub async fn catalogue_price(&self, sku: &str) -> anyhow::Result<Option<i64>> {
        let Some(text) = self.store.get(CATALOGUE).await? else {
            return Ok(None);
        };
        let parts: Vec<Value> = serde_json::from_str(&text).unwrap_or_default();
        Ok(parts
            .iter()
            .find(|p| p["sku"] == sku)
            .and_then(|p| p["price_cents"].as_i64()))
    }

    /// The van snapshot cached at the last sync, if any.
    pub async fn van_snapshot(&self) -> anyhow::Result<Option<Value>> {
        Ok(self
            .store
            .get(VAN)
            .await?
            .and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Uploads pending blobs, then exchanges every document with the server in batched
    /// requests until both sides agree. Work is saved as it arrives; an interrupted sync
    /// loses nothing and the next one resumes.
    pub async fn sync(&self) -> anyhow::Result<SyncSummary> {
        let (api, mut token) = self.api_and_token().await?;
        let device = self.device_id().await?;
        let mut summary = SyncSummary::default();

        for blob in self.store.pending_blobs().await? {
            let Ok(bytes) = std::fs::read(&blob.path) else {
                // Never a reason to hold back the documents: report it and go on.
                self.store.blob_refused(&blob.hash).await?;
                summary.images_refused.push((
                    blob.hash.to_string(),
                    "the image file is missing on this device".into(),
                ));
                continue;
            };
            let mut result = api
                .put_blob(&token, blob.hash.as_str(), bytes.clone())
                .await;
            if matches!(result, Err(ApiError::Expired)) {
                token = self.refresh(&api).await?;
                result = api.put_blob(&token, blob.hash.as_str(), bytes).await;
            }
            match result {
                Ok(()) => {
                    self.store.blob_uploaded(&blob.hash).await?;
                    summary.blobs_uploaded += 1;
                }
                // Refused for good (too large, not an image): the documents still go.
                Err(ApiError::Refused {
                    status, message, ..
                }) if (400..500).contains(&status) => {
                    self.store.blob_refused(&blob.hash).await?;
                    summary
                        .images_refused
                        .push((blob.hash.to_string(), message));
                }
                Err(e @ ApiError::Unreachable { .. }) => bail!(
                    "{e}; everything recorded is kept on the device and goes with the next sync"
                ),
                Err(other) => bail!("uploading image {}: {other}", blob.hash),
            }
        }

        let mut work: Vec<(String, Automerge, sync::State)> = Vec::new();
        for id in self.store.doc_ids().await? {
            if let Some(s) = self.store.load(&id, &device).await? {
                summary.changes_sent += s.doc.get_changes(&s.state.shared_heads).len();
                work.push((id, s.doc, s.state));
            }
        }
        let limits = Limits::default();
        let mut session = ClientSync::new().with_actor(actor_id_for(&device));
        loop {
            let request = {
                let mut docs: Vec<ClientDoc<'_>> = work
                    .iter_mut()
                    .map(|(id, d, s)| ClientDoc::new(id, d, s))
                    .collect();
                match session.build_request(&mut docs)? {
                    Some(r) => r,
                    None => break,
                }
            };
            let body = encode_request(&request)?;
            summary.bytes_up += body.len();
            let answer = match api.sync(&token, body.clone()).await {
                Err(ApiError::Expired) => {
                    token = self.refresh(&api).await?;
                    api.sync(&token, body).await
                }
                other => other,
            };
            let bytes = answer.map_err(|e| match e {
                ApiError::Unreachable { .. } => anyhow!(
                    "{e}; everything recorded is kept on the device and goes with the next sync"
                ),
                other => anyhow!(other),
            })?;
            summary.bytes_down += bytes.len();
            let response = decode_response(&bytes, &limits)?;
            let round = {
                let mut docs: Vec<ClientDoc<'_>> = work
                    .iter_mut()
                    .map(|(id, d, s)| ClientDoc::new(id, d, s))
                    .collect();
                session.apply_response(&mut docs, response)?
            };
            for added in round.added {
                self.store
                    .save(&added.doc_id, &added.doc, &added.state)
                    .await?;
                work.push((added.doc_id, added.doc, added.state));
            }
            for r in &round.removed {
                if r.had_unsynced_changes {
                    // Never delete work the server has not confirmed: keep the copy.
                    summary.kept.push(r.doc_id.clone());
                } else {
                    self.store.remove(&r.doc_id).await?;
                }
                work.retain(|(id, _, _)| *id != r.doc_id);
            }
            // Save after every round: an interrupted sync keeps what arrived. A document whose
            // reply could not be applied is not saved: the stored copy stays as it was, and the
            // session carries on with it (its sync state reset).
            let failed: Vec<String> = session
                .report()
                .failed
                .iter()
                .map(|f| f.doc_id.clone())
                .collect();
            for (id, doc, state) in work.iter_mut() {
                if !failed.contains(id) {
                    self.store.save(id, doc, state).await?;
                } else if let Some(stored) = self.store.load(id, &device).await? {
                    *doc = stored.doc;
                    *state = sync::State::new();
                }
            }
        }
        let report: SyncReport = session.into_report();
        summary.round_trips = report.round_trips;
        summary.documents_sent = report.messages_sent;
        summary.documents_received = report.messages_received;
        summary.changes_received = report.changes_received;
        summary.added = report.added.clone();
        summary.removed = report
            .removed
            .iter()
            .map(|r| (r.doc_id.clone(), r.reason.clone()))
            .collect();
        summary.rejected = report
            .rejected
            .iter()
            .map(|r| (r.doc_id.clone(), format!("{}: {}", r.code, r.message)))
            .collect();
        summary.failed = report
            .failed
            .iter()
            .map(|f| (f.doc_id.clone(), f.error.to_string()))
            .collect();
        // The parts catalogue, for pricing part lines offline (best effort).
        if let Ok(parts) = api.call(Method::GET, "/v1/parts", Some(&token), None).await {
            self.store.set(CATALOGUE, &parts.to_string()).await?;
        }
        // The van's stock, for `stock van` offline (technicians only; best effort).
        if self.store.get(ROLE).await?.as_deref() == Some("technician") {
            if let Ok(van) = api
                .call(Method::GET, "/v1/stock/van", Some(&token), None)
                .await
            {
                self.store.set(VAN, &van.to_string()).await?;
            }
        }
        Ok(summary)
    }
}
