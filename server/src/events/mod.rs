//! `GET /v1/events`: live push to devices as server-sent events.
//!
//! A device keeps one stream open. Whenever something it holds or should hold changes (a job
//! assigned to it or taken away, an office edit, a follow-up, a clock breach or escalation on
//! one of its work orders, another device's sync), the stream carries a data-free `sync`
//! event and the device runs its ordinary sync. The event says nothing about what changed: a
//! lost event costs nothing, since the next sync brings everything.
//!
//! | part | file | what |
//! | --- | --- | --- |
//! | what a change is | [`Change`], [`Touched`] | a work order id and who it concerns |
//! | who is listening | [`hub`] | streams registered by audience; a short log of recent changes for `Last-Event-ID` |
//! | after commit | [`publish`] | [`notify`] queues; one task resolves region and assignee, stamps and publishes |
//! | across instances | [`listen`] | on PostgreSQL every instance LISTENs on one channel and delivers locally |
//! | one stream | [`stream`] | a small `MessageBody`: pending events, heartbeats, the `refresh` before expiry |
//! | the endpoint | [`handler`] | auth, audience, resume, headers |
//!
//! **Flow.** A writer commits, then calls [`notify`] (no I/O, no await). The publisher task
//! reads the work orders' region and assignee as committed, stamps the batch, and either
//! hands it to the local hub (SQLite: one process) or sends it with `pg_notify` (PostgreSQL:
//! every instance's listener receives it, this one included). The hub gathers what arrives
//! for [`COALESCE`] and then marks and wakes each concerned stream once.

pub mod handler;
pub mod hub;
pub mod listen;
pub mod publish;
pub mod stream;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use handler::{__path_events, events};
pub use hub::Hub;

use crate::state::AppState;

/// Changes arriving within this window after the first become one event per stream (a batch
/// of dispatch decisions, a sync touching ten documents).
pub const COALESCE: Duration = Duration::from_millis(150);
/// An SSE comment this often keeps proxies and load balancers from closing an idle stream
/// (most close after 30–60 s of silence).
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// The `retry:` the stream announces (ms): the base of the client's backoff.
pub const RETRY_BASE_MS: u64 = 2_000;
/// The PostgreSQL channel every instance listens on.
pub const CHANNEL: &str = "fieldsync_events";
/// A change that is not a work order but a stock location's moves: `stock/<location>` (`/`
/// never appears in an id, so no work order is taken for one). It concerns every office
/// stream, since stock is not regional, and a van's technician, whose devices then sync and
/// refresh the van they cache. The console's events list these apart (`stock`).
pub const STOCK_PREFIX: &str = "stock/";

/// One work order that changed, as a writer reports it after its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    /// A technician the job was just taken from (reassigned, unassigned, timed out,
    /// declined): that technician's devices still hold it and must hear about it.
    pub taken_from: Option<String>,
    /// The device whose sync made the change: it already has it and gets no event.
    pub origin: Option<String>,
}

impl Change {
    pub fn doc(id: impl Into<String>) -> Change {
        Change {
            id: id.into(),
            taken_from: None,
            origin: None,
        }
    }

    /// The technician it was taken from, if any.
    pub fn taken_from(mut self, technician: Option<String>) -> Change {
        self.taken_from = technician;
        self
    }

    pub fn origin(mut self, device: impl Into<String>) -> Change {
        self.origin = Some(device.into());
        self
    }

    /// Stock moved at `location`; `technician`: the van's owner (see [`STOCK_PREFIX`]).
    pub fn stock(location: &str, technician: Option<String>) -> Change {
        Change {
            id: format!("{STOCK_PREFIX}{location}"),
            taken_from: technician,
            origin: None,
        }
    }
}

/// A change with what decides who it concerns, as committed: the work order's region and the
/// technicians concerned (its assignee now and the one it was taken from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touched {
    pub id: String,
    /// Empty when the work order has no projection (it never had one, or it is gone).
    #[serde(default)]
    pub region: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub technicians: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Touched {
    /// A stock change ([`STOCK_PREFIX`]): every office stream hears of it, whatever its regions.
    pub fn is_office_wide(&self) -> bool {
        self.id.starts_with(STOCK_PREFIX)
    }
}

/// Tells the devices concerned that these work orders changed. Call it after the commit;
/// it queues and returns at once (no I/O), so a writer never waits on push.
pub fn notify(state: &AppState, changes: impl IntoIterator<Item = Change>) {
    state.events.queue(changes);
}

/// What a sync's persist step committed: every written document, except for the device that
/// wrote it. A technician's own upload can only ever take a job away from itself (a
/// decline), so its user is named too: its other devices hear of it.
pub fn synced<'a>(
    state: &AppState,
    device: &str,
    role: sync_core::workorder::Role,
    user: &str,
    written: impl IntoIterator<Item = &'a str>,
) {
    let technician = (role == sync_core::workorder::Role::Technician).then_some(user);
    notify(
        state,
        written.into_iter().map(|id| {
            Change::doc(id)
                .taken_from(technician.map(str::to_owned))
                .origin(device)
        }),
    );
}

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.route("/v1/events", actix_web::web::get().to(events));
}

/// The hub of this process with its tasks running (publisher, delivery, and on PostgreSQL the
/// listener). Needs a Tokio runtime.
pub fn start(db: &crate::db::Db, database_url: &str) -> Hub {
    let hub = Hub::new(crate::db::now_ms());
    publish::start(&hub, db.clone(), database_url);
    hub
}
