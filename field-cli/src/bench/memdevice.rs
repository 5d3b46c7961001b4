//! An in-memory technician device for the steady-state bench: the same protocol client
//! (`sync_core::protocol::ClientSync`) and work-order operations as `crate::device::Device`,
//! with documents held in memory instead of a SQLite store. A thousand of them fit in one
//! process and cost the load generator no disk writes (the real device saves each step with a
//! full disk sync); the server sees exactly what a real device sends. Blobs and the parts
//! catalogue fetch are left out: the steady mode measures the sync exchange.

use anyhow::{anyhow, bail, Context};
use automerge::{sync, Automerge};
use reqwest::Method;
use serde_json::json;
use sync_core::protocol::{decode_response, encode_request, ClientDoc, ClientSync, Limits};
use sync_core::workorder::{actor_id_for, Actor, PartInput, Role, View, WorkOrder};

use super::http::Http;
use crate::api::{ApiError, Tokens};

/// One offline step a steady-state device makes before a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Accept,
    /// Appends a sentence to the job's notes.
    Note,
    /// Adds a part line.
    Part,
}

/// Notes longer than this start over (the work order caps notes; a long run must not hit it).
const NOTES_RESTART_BYTES: usize = 2000;

pub struct MemDevice {
    http: Http,
    pub user: String,
    device_id: String,
    actor: Actor,
    access: String,
    refresh: String,
    docs: Vec<(String, Automerge, sync::State)>,
    edits_made: u64,
}

/// What one sync moved.
#[derive(Debug, Clone, Default)]
pub struct SyncStats {
    pub round_trips: u32,
    pub bytes_up: usize,
    pub bytes_down: usize,
    /// Changes the device had not yet shared when the sync began.
    pub changes_sent: usize,
    /// Documents the server refused (`id: code: message`).
    pub rejected: Vec<String>,
    /// Documents whose reply the device could not apply.
    pub failed: Vec<String>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl MemDevice {
    /// Logs `user` in as a new device (the server waits out its hashing queue: see `http`).
    pub async fn login(http: &Http, user: &str, password: &str) -> anyhow::Result<MemDevice> {
        let device_id = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let v = http
            .json(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(&json!({"user": user, "password": password, "device_id": device_id})),
            )
            .await
            .with_context(|| format!("logging in as {user}"))?;
        let tokens: Tokens = serde_json::from_value(v)
            .map_err(|e| anyhow!("unexpected answer to the login of {user}: {e}"))?;
        let role: Role = tokens.user.role.parse().map_err(|e: String| anyhow!(e))?;
        Ok(MemDevice {
            http: http.clone(),
            user: user.to_owned(),
            actor: Actor::new(user, role, device_id.clone()),
            device_id,
            access: tokens.access_token,
            refresh: tokens.refresh_token,
            docs: Vec::new(),
            edits_made: 0,
        })
    }

    pub fn job_count(&self) -> usize {
        self.docs.len()
    }

    /// The work order as the device sees it.
    pub fn view(&self, index: usize) -> anyhow::Result<View> {
        let (id, doc, _) = self
            .docs
            .get(index)
            .ok_or_else(|| anyhow!("{}: no job number {index}", self.user))?;
        WorkOrder::from_automerge(doc.clone())
            .view()
            .with_context(|| format!("{id} on the device of {} is unreadable", self.user))
    }

    /// One offline step on job number `index` (in memory, no disk).
    pub fn edit(&mut self, index: usize, edit: Edit) -> anyhow::Result<()> {
        self.edits_made += 1;
        let n = self.edits_made;
        let actor = self.actor.clone();
        let (id, doc, _) = self
            .docs
            .get_mut(index)
            .ok_or_else(|| anyhow!("no job number {index} on the device"))?;
        let mut wo = WorkOrder::from_automerge(std::mem::take(doc));
        let now = now_ms();
        let result = match edit {
            Edit::Accept => wo.accept(&actor, now),
            Edit::Note => match wo.view() {
                Ok(view) => {
                    let mut notes = view.notes;
                    if notes.len() > NOTES_RESTART_BYTES {
                        notes.clear();
                    }
                    notes.push_str(&format!("Steady note {n}. "));
                    wo.edit_notes(&actor, &notes, now)
                }
                Err(e) => Err(e),
            },
            Edit::Part => wo.add_part(&actor, PartInput::new(format!("STEADY-{n}"), 1, 100), now),
        };
        *doc = wo.into_automerge();
        result.map(|_| ()).map_err(|e| anyhow!("{id}: {e}"))
    }

    async fn refresh(&mut self) -> anyhow::Result<()> {
        let v = self
            .http
            .json(
                Method::POST,
                "/v1/auth/refresh",
                None,
                Some(&json!({ "refresh_token": self.refresh })),
            )
            .await
            .with_context(|| format!("refreshing the session of {}", self.user))?;
        let tokens: Tokens = serde_json::from_value(v)
            .map_err(|e| anyhow!("unexpected answer to the refresh of {}: {e}", self.user))?;
        self.access = tokens.access_token;
        self.refresh = tokens.refresh_token;
        Ok(())
    }

    /// Exchanges every document with the server until both sides agree (as `Device::sync`).
    pub async fn sync(&mut self) -> anyhow::Result<SyncStats> {
        let mut stats = SyncStats {
            changes_sent: self
                .docs
                .iter()
                .map(|(_, d, s)| d.get_changes(&s.shared_heads).len())
                .sum(),
            ..SyncStats::default()
        };
        let limits = Limits::default();
        let actor = actor_id_for(&self.device_id);
        let mut session = ClientSync::new().with_actor(actor.clone());
        loop {
            let request = {
                let mut docs: Vec<ClientDoc<'_>> = self
                    .docs
                    .iter_mut()
                    .map(|(id, d, s)| ClientDoc::new(id, d, s))
                    .collect();
                match session.build_request(&mut docs)? {
                    Some(r) => r,
                    None => break,
                }
            };
            let body = encode_request(&request)?;
            stats.bytes_up += body.len();
            let bytes = match self.http.sync(&self.access, body.clone()).await {
                Err(ApiError::Expired) => {
                    self.refresh().await?;
                    self.http.sync(&self.access, body).await
                }
                other => other,
            }?;
            stats.bytes_down += bytes.len();
            let response = decode_response(&bytes, &limits)?;
            let round = {
                let mut docs: Vec<ClientDoc<'_>> = self
                    .docs
                    .iter_mut()
                    .map(|(id, d, s)| ClientDoc::new(id, d, s))
                    .collect();
                session.apply_response(&mut docs, response)?
            };
            for mut added in round.added {
                added.doc.set_actor(actor.clone());
                self.docs.push((added.doc_id, added.doc, added.state));
            }
            for r in &round.removed {
                if r.had_unsynced_changes {
                    bail!(
                        "{}: the server took {} away while it had unsynced changes ({})",
                        self.user,
                        r.doc_id,
                        r.reason
                    );
                }
                self.docs.retain(|(id, _, _)| *id != r.doc_id);
            }
        }
        let report = session.into_report();
        stats.round_trips = report.round_trips;
        stats.rejected = report
            .rejected
            .iter()
            .map(|r| format!("{}: {}: {}", r.doc_id, r.code, r.message))
            .collect();
        stats.failed = report
            .failed
            .iter()
            .map(|f| format!("{}: {}", f.doc_id, f.error))
            .collect();
        Ok(stats)
    }
}
