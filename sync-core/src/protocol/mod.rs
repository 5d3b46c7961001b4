//! Batched, multi-document sync between a device and the server, on `automerge::sync`.
//!
//! One HTTP request carries, for every document a device holds, its heads (a cheap
//! pre-filter) and, where the device has unacknowledged changes, an Automerge sync
//! message. The server answers only the documents that differ. Everything here is pure:
//! no I/O, no clock, no async; the caller moves the bytes and persists documents and
//! states.
//!
//! | file | concept |
//! | --- | --- |
//! | `wire.rs` | [`SyncRequest`], [`SyncResponse`] and their entries |
//! | `codec/` | the CBOR wire format (docs/PROTOCOL.md), strict decoding under [`Limits`] |
//! | `client.rs` | the device side: [`ClientSync`] |
//! | `server.rs` | the server side: [`server::respond`], [`server::added`], [`server::removed`] |
//! | `testing/` | a deterministic in-memory network running both sides through the codec |
//! | `fuzz.rs` | the entry points and properties of the fuzz targets (docs/FUZZING.md) |
//!
//! # Round trips
//!
//! Per-(device, document) [`automerge::sync::State`]s are persisted on both sides with
//! `State::encode`, which keeps only the shared heads. Both sides prime the decoded state
//! with what they know of the other (the device: the server had the shared heads; the
//! server: the device has the offered heads), so the first message already carries the
//! changes. Measured in `tests/protocol.rs`, whatever the number of documents:
//!
//! | situation | round trips |
//! | --- | --- |
//! | returning device, nothing new anywhere | 1 (heads only, empty response) |
//! | only the server changed | 1 |
//! | the device changed (and possibly the server too) | 1 |
//! | fresh device downloading its documents | 1 |
//! | a response was lost, then a new sync | converges; 1 round trip after the loss |
//!
//! DESIGN.md promises 1 round trip for a device with nothing new and at most 2 for a
//! device with changes; priming makes the second unnecessary in normal operation. More
//! rounds happen only when an assumption fails (a server restored from a backup that lacks
//! acknowledged changes, a bloom-filter false positive); Automerge's own protocol then
//! converges, and the device gives up after [`client::DEFAULT_MAX_ROUNDS`] rounds, to
//! resume at the next sync.
//!
//! # Storage contract
//!
//! Both sides persist, per (device, document), `State::encode()` after every round in
//! which it changed ([`server::Responded::state_changed`] on the server, after each
//! [`ClientSync::apply_response`] on the device), together with the document changes of
//! that round. A lost response or a crash between rounds then costs a resend, never data:
//! equal heads are always recognised, and duplicated changes are ignored by Automerge.
//!
//! # Robustness
//!
//! Decoding refuses oversized, malformed or inconsistent bodies with a typed
//! [`DecodeError`] and never panics. Automerge sync messages inside are decoded where they
//! are applied, with typed per-document errors ([`DocError`] on the server,
//! [`ClientDocError`] on the device); Automerge calls on peer input run under
//! `catch_unwind`, and one bad document never fails the others.
//!
//! # Example
//!
//! Two technicians edit the same work order offline and converge through the server:
//!
//! ```
//! use automerge::{ReadDoc, ROOT};
//! use sync_core::protocol::testing::{put, Network};
//!
//! let mut net = Network::new();
//! net.add_device("alice");
//! net.add_device("bob");
//! put(net.server_mut().create_doc("wo-1"), "status", "open").unwrap();
//! net.sync("alice").unwrap();
//! net.sync("bob").unwrap();
//!
//! // Both go offline and edit different fields.
//! put(net.device_doc_mut("alice", "wo-1").unwrap(), "status", "on_site").unwrap();
//! put(net.device_doc_mut("bob", "wo-1").unwrap(), "note", "gate code 1234").unwrap();
//!
//! // Alice comes back: her change reaches the server in one round trip.
//! assert_eq!(net.sync("alice").unwrap().round_trips, 1);
//! // Bob comes back: one round trip sends his change and brings Alice's.
//! assert_eq!(net.sync("bob").unwrap().round_trips, 1);
//! // Alice picks up Bob's note.
//! net.sync("alice").unwrap();
//!
//! assert!(net.converged("wo-1"));
//! let bob = net.device_doc("bob", "wo-1").unwrap();
//! assert_eq!(bob.get(ROOT, "status").unwrap().unwrap().0.as_str(), Some("on_site"));
//! ```

pub mod client;
mod client_report;
pub mod codec;
mod decode_error;
mod doc_error;
mod doc_id;
pub mod fuzz;
mod guard;
pub mod ingest;
mod limits;
mod peer_state;
mod prime;
pub mod server;
pub mod testing;
mod validate;
mod wire;

pub use client::{ClientDoc, ClientSync};
pub use client_report::{
    AddedDoc, ClientDocError, ClientError, FailedDoc, RejectedDoc, RemovedDoc, RoundReport,
    SyncReport,
};
pub use codec::{decode_request, decode_response, encode_request, encode_response};
pub use decode_error::{DecodeError, EncodeError};
pub use doc_error::DocError;
pub use doc_id::{validate_doc_id, DocIdError};
pub use limits::Limits;
pub use peer_state::{PeerState, PeerStateError};
pub use validate::{validate_request, validate_response};
pub use wire::{
    heads_from_wire, heads_key, heads_to_wire, DocChange, DocOffer, DocReply, Head, HeadsKey,
    OfferedHeads, SyncRequest, SyncResponse, HEADS_KEY_LEN, PROTOCOL_VERSION,
};
