//! A deterministic in-memory network for tests and examples.
//!
//! One [`TestServer`] and any number of named [`TestDevice`]s. [`Network::sync`] runs one
//! device's sync session to quiescence with the real [`ClientSync`], the real server
//! functions and every byte through the real codec, and returns the round trips and bytes
//! it took. Actor ids derive from names, so runs are reproducible.
//!
//! - A device is offline simply while nobody calls [`Network::sync`] for it.
//! - [`Network::drop_next_response`] makes the server process the device's next request
//!   but lose the response: that sync fails with [`NetworkError::ResponseLost`].
//! - Between sessions, devices and the server keep sync states only as
//!   [`automerge::sync::State::encode`] bytes, like real storage.
//!
//! This module ships in the library (a Cargo feature would be needed to hide it) but is
//! meant only for tests, examples and benchmarks.

mod device;
mod server;

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{sync, ActorId, Automerge, AutomergeError, ScalarValue, ROOT};
use sha2::{Digest, Sha256};

pub use device::TestDevice;
pub use server::{ServerError, TestServer, NOT_VISIBLE};

use super::{
    decode_response, encode_request, ClientDoc, ClientError, ClientSync, DecodeError, EncodeError,
    Limits, SyncReport,
};

/// Puts `key = value` at the root of `doc` in one committed change.
pub fn put(
    doc: &mut Automerge,
    key: &str,
    value: impl Into<ScalarValue>,
) -> Result<(), AutomergeError> {
    let value = value.into();
    doc.transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, key, value))
        .map(|_| ())
        .map_err(|failure| failure.error)
}

/// The deterministic actor id of a named participant.
pub fn actor_for(name: &str) -> ActorId {
    let digest = Sha256::digest(format!("fieldsync-testing:{name}").as_bytes());
    ActorId::from(&digest[..16])
}

/// What one completed [`Network::sync`] cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Request/response round trips.
    pub round_trips: u32,
    /// Encoded request bytes sent.
    pub request_bytes: usize,
    /// Encoded response bytes received.
    pub response_bytes: usize,
    /// The device's session report.
    pub report: SyncReport,
}

/// Why a [`Network::sync`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// No device has this name.
    #[error("no device named {0}")]
    UnknownDevice(String),
    /// The server processed a request but its response was lost.
    #[error("the response to round {round} was lost")]
    ResponseLost {
        /// The round (1-based) whose response was lost.
        round: u32,
    },
    /// The device's session failed.
    #[error("device session failed: {0}")]
    Client(#[from] ClientError),
    /// The server refused the request.
    #[error("server failed: {0}")]
    Server(#[from] ServerError),
    /// The device refused the response.
    #[error("device refused the response: {0}")]
    Decode(#[from] DecodeError),
    /// The device could not encode its request.
    #[error("device could not encode its request: {0}")]
    Encode(#[from] EncodeError),
}

/// A server and its devices, exchanging encoded bodies in memory.
#[derive(Debug, Clone)]
pub struct Network {
    limits: Limits,
    server: TestServer,
    devices: BTreeMap<String, TestDevice>,
    lose_next_response: BTreeSet<String>,
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

impl Network {
    /// An empty network with default limits.
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// An empty network whose both sides decode under `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            server: TestServer::new(actor_for("server")),
            devices: BTreeMap::new(),
            lose_next_response: BTreeSet::new(),
        }
    }

    /// Adds a device with no documents (or returns the existing one).
    pub fn add_device(&mut self, name: &str) -> &mut TestDevice {
        self.devices
            .entry(name.to_owned())
            .or_insert_with(|| TestDevice::new(actor_for(name)))
    }

    /// The server.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// The server, to edit documents or visibility.
    pub fn server_mut(&mut self) -> &mut TestServer {
        &mut self.server
    }

    /// A device.
    pub fn device(&self, name: &str) -> Option<&TestDevice> {
        self.devices.get(name)
    }

    /// A device, to edit its documents.
    pub fn device_mut(&mut self, name: &str) -> Option<&mut TestDevice> {
        self.devices.get_mut(name)
    }

    /// A device's copy of a document.
    pub fn device_doc(&self, device: &str, doc_id: &str) -> Option<&Automerge> {
        self.devices.get(device)?.doc(doc_id)
    }

    /// A device's copy of a document, to edit offline.
    pub fn device_doc_mut(&mut self, device: &str, doc_id: &str) -> Option<&mut Automerge> {
        self.devices.get_mut(device)?.doc_mut(doc_id)
    }

    /// Loses the response to `device`'s next request (once).
    pub fn drop_next_response(&mut self, device: &str) {
        self.lose_next_response.insert(device.to_owned());
    }

    /// Whether every device holding `doc_id` has the server's heads for it.
    pub fn converged(&self, doc_id: &str) -> bool {
        let Some(server) = self.server.doc(doc_id) else {
            return false;
        };
        let heads = server.get_heads();
        self.devices
            .values()
            .filter_map(|device| device.doc(doc_id))
            .all(|doc| doc.get_heads() == heads)
    }

    /// Runs `device`'s sync session until quiescent.
    pub fn sync(&mut self, device: &str) -> Result<SyncStats, NetworkError> {
        let Self {
            limits,
            server,
            devices,
            lose_next_response,
        } = self;
        let dev = devices
            .get_mut(device)
            .ok_or_else(|| NetworkError::UnknownDevice(device.to_owned()))?;
        let mut work: Vec<Working> = std::mem::take(&mut dev.docs)
            .into_iter()
            .map(|(id, stored)| Working {
                state: sync::State::decode(&stored.state).unwrap_or_default(),
                id,
                doc: stored.doc,
            })
            .collect();
        let lose = lose_next_response.remove(device);
        let session = ClientSync::new()
            .with_actor(dev.actor().clone())
            .with_limits(*limits);
        let result = run_session(session, server, device, &mut work, limits, lose);
        // Persist whatever happened, as a device writes after every round.
        dev.docs = work
            .into_iter()
            .map(|w| {
                let stored = device::StoredDoc {
                    state: w.state.encode(),
                    doc: w.doc,
                };
                (w.id, stored)
            })
            .collect();
        result
    }
}

/// A document during a session.
struct Working {
    id: String,
    doc: Automerge,
    state: sync::State,
}

fn client_docs(work: &mut [Working]) -> Vec<ClientDoc<'_>> {
    work.iter_mut()
        .map(|w| ClientDoc::new(&w.id, &mut w.doc, &mut w.state))
        .collect()
}

fn run_session(
    mut session: ClientSync,
    server: &mut TestServer,
    device: &str,
    work: &mut Vec<Working>,
    limits: &Limits,
    mut lose: bool,
) -> Result<SyncStats, NetworkError> {
    let mut stats = SyncStats::default();
    while let Some(request) = session.build_request(&mut client_docs(work))? {
        let body = encode_request(&request)?;
        stats.request_bytes += body.len();
        let response = server.handle(device, &body, limits)?;
        if lose {
            return Err(NetworkError::ResponseLost {
                round: session.report().round_trips + 1,
            });
        }
        stats.response_bytes += response.len();
        let response = decode_response(&response, limits)?;
        let round = session.apply_response(&mut client_docs(work), response)?;
        for added in round.added {
            work.push(Working {
                id: added.doc_id,
                doc: added.doc,
                state: added.state,
            });
        }
        let removed: BTreeSet<String> = round.removed.into_iter().map(|r| r.doc_id).collect();
        work.retain(|w| !removed.contains(&w.id));
        lose = false;
    }
    stats.round_trips = session.report().round_trips;
    stats.report = session.into_report();
    Ok(stats)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use automerge::ReadDoc;

    #[test]
    fn actors_are_deterministic_and_distinct() {
        assert_eq!(actor_for("alice"), actor_for("alice"));
        assert_ne!(actor_for("alice"), actor_for("bob"));
    }

    #[test]
    fn put_commits_one_change() {
        let mut doc = Automerge::new();
        put(&mut doc, "k", 3_i64).unwrap();
        assert_eq!(doc.get_changes(&[]).len(), 1);
        assert_eq!(doc.get(ROOT, "k").unwrap().unwrap().0.as_i64(), Some(3));
    }

    #[test]
    fn unknown_devices_are_an_error() {
        let mut net = Network::new();
        assert_eq!(
            net.sync("nobody").unwrap_err(),
            NetworkError::UnknownDevice("nobody".into())
        );
    }

    #[test]
    fn a_document_created_on_a_device_reaches_the_server() {
        let mut net = Network::new();
        let doc = net.add_device("alice").create_doc("wo-1");
        put(doc, "status", "open").unwrap();
        let stats = net.sync("alice").unwrap();
        assert_eq!(stats.round_trips, 1);
        assert_eq!(net.server().changes_applied(), 1);
        assert!(net.converged("wo-1"));
    }

    #[test]
    fn restricted_devices_lose_documents_they_may_no_longer_see() {
        let mut net = Network::new();
        put(net.server_mut().create_doc("wo-1"), "k", 1_i64).unwrap();
        put(net.server_mut().create_doc("wo-2"), "k", 2_i64).unwrap();
        net.add_device("alice");
        net.sync("alice").unwrap();
        assert_eq!(
            net.device("alice").unwrap().doc_ids().collect::<Vec<_>>(),
            ["wo-1", "wo-2"]
        );
        net.server_mut().restrict("alice", ["wo-2".to_owned()]);
        let stats = net.sync("alice").unwrap();
        assert_eq!(stats.round_trips, 1);
        assert_eq!(stats.report.removed.len(), 1);
        assert_eq!(stats.report.removed[0].doc_id, "wo-1");
        assert!(!stats.report.removed[0].had_unsynced_changes);
        assert_eq!(
            net.device("alice").unwrap().doc_ids().collect::<Vec<_>>(),
            ["wo-2"]
        );
    }
}
