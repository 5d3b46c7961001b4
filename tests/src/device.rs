//! A simulated device: its documents and sync states, speaking the real protocol over HTTP.

use std::collections::BTreeMap;

use automerge::{sync, Automerge};
use sync_core::protocol::{
    decode_response, encode_request, ClientDoc, ClientSync, Limits, SyncReport,
};
use sync_core::workorder::{actor_id_for, Actor, Role, WorkOrder};

use crate::TestServer;

pub struct Device {
    pub actor: Actor,
    pub token: String,
    pub docs: BTreeMap<String, (Automerge, sync::State)>,
}

/// What one sync did.
#[derive(Debug)]
pub struct Synced {
    pub report: SyncReport,
    pub removed: Vec<String>,
    pub bytes_up: usize,
    pub bytes_down: usize,
}

impl Device {
    pub fn new(user: &str, role: Role, device: &str, token: String) -> Device {
        Device {
            actor: Actor::new(user, role, device),
            token,
            docs: BTreeMap::new(),
        }
    }

    /// Runs one operation on the device's copy, offline.
    pub fn act<T>(&mut self, id: &str, f: impl FnOnce(&mut WorkOrder, &Actor) -> T) -> T {
        let (doc, _) = self
            .docs
            .get_mut(id)
            .unwrap_or_else(|| panic!("device holds no {id}"));
        let mut wo = WorkOrder::from_automerge(std::mem::take(doc));
        let out = f(&mut wo, &self.actor);
        *doc = wo.into_automerge();
        out
    }

    pub fn view(&self, id: &str) -> sync_core::workorder::View {
        WorkOrder::from_automerge(self.docs[id].0.clone())
            .view()
            .unwrap()
    }

    /// Syncs until quiescent. Errors carry the HTTP status and body.
    pub async fn sync(&mut self, server: &TestServer) -> Result<Synced, (u16, String)> {
        let limits = Limits::default();
        let mut session = ClientSync::new().with_actor(actor_id_for(&self.actor.device));
        let mut ids: Vec<String> = self.docs.keys().cloned().collect();
        let mut work: Vec<(String, Automerge, sync::State)> = ids
            .drain(..)
            .map(|id| {
                let (d, s) = self.docs.remove(&id).unwrap();
                (id, d, s)
            })
            .collect();
        let mut out = Synced {
            report: SyncReport::default(),
            removed: vec![],
            bytes_up: 0,
            bytes_down: 0,
        };
        let result = loop {
            let mut docs: Vec<ClientDoc<'_>> = work
                .iter_mut()
                .map(|(id, d, s)| ClientDoc::new(id, d, s))
                .collect();
            let request = match session.build_request(&mut docs) {
                Ok(Some(r)) => r,
                Ok(None) => break Ok(()),
                Err(e) => break Err((0, e.to_string())),
            };
            drop(docs);
            let body = encode_request(&request).unwrap();
            out.bytes_up += body.len();
            let resp = server
                .http
                .post(server.url("/v1/sync"))
                .bearer_auth(&self.token)
                .header("content-type", "application/cbor")
                .body(body)
                .send()
                .await
                .map_err(|e| (0u16, e.to_string()));
            let resp = match resp {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap_or_default();
            if status != 200 {
                break Err((status, String::from_utf8_lossy(&bytes).into_owned()));
            }
            out.bytes_down += bytes.len();
            let response = decode_response(&bytes, &limits).unwrap();
            let mut docs: Vec<ClientDoc<'_>> = work
                .iter_mut()
                .map(|(id, d, s)| ClientDoc::new(id, d, s))
                .collect();
            let round = session.apply_response(&mut docs, response).unwrap();
            drop(docs);
            for added in round.added {
                work.push((added.doc_id, added.doc, added.state));
            }
            for r in round.removed {
                out.removed.push(r.doc_id.clone());
                work.retain(|(id, _, _)| *id != r.doc_id);
            }
        };
        for (id, d, s) in work {
            self.docs.insert(id, (d, s));
        }
        out.report = session.into_report();
        result.map(|()| out)
    }
}
