//! Work orders as Automerge documents.
//!
//! A [`WorkOrder`] wraps one Automerge document (layout in [`model`]). Every operation a
//! technician, dispatcher or agent performs is a method that checks the step is allowed in the
//! current [`View`], then appends one [`Event`] (and, for notes, edits the text) in a single
//! transaction: hydrate, change and write against the same heads, never a stale struct.
//!
//! The [`View`] (status, assignee, part lines, photos, signature, conflicts…) is always derived
//! by the fold in `fold.rs` from the events, so every replica holding the same events shows the
//! same thing whatever order the events arrived in.

mod causal;
mod conflict;
mod error;
mod fold;
pub mod geo;
#[cfg(test)]
mod geo_tests;
pub mod model;
mod ops;
mod seal;
pub mod upload;
mod view;

pub use conflict::{Conflict, ConflictKind};
pub use error::WorkOrderError;
pub use model::{
    ComplaintCategory, Customer, CustomerTier, Event, EventKind, GeoPoint, Intake, OldPart,
    PartFields, PartPatch, PhotoKind, Priority, Product, QuoteItem, Role, ServiceType,
    LOW_SCORE_MAX, SCHEMA_VERSION,
};
pub use ops::PartInput;
pub use seal::{SealChange, SealReport, SignedContent};
pub use view::*;

use automerge::{ActorId, Automerge, ChangeHash};

/// Who performs an operation, and on which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub role: Role,
    pub device: String,
}

impl Actor {
    pub fn new(user: impl Into<String>, role: Role, device: impl Into<String>) -> Self {
        Actor {
            user: user.into(),
            role,
            device: device.into(),
        }
    }
}

/// The Automerge actor of a device: derived from its id, so one device always writes as one
/// actor and two devices never share one.
pub fn actor_id_for(device: &str) -> ActorId {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(device.as_bytes());
    ActorId::from(&digest[..16])
}

/// One work order: an Automerge document plus the operations on it.
#[derive(Debug, Clone)]
pub struct WorkOrder {
    doc: Automerge,
}

impl WorkOrder {
    /// Wraps an existing document (e.g. one received through sync).
    pub fn from_automerge(doc: Automerge) -> Self {
        WorkOrder { doc }
    }

    /// Loads a saved document, writing as `device` from now on.
    pub fn load(bytes: &[u8], device: &str) -> Result<Self, WorkOrderError> {
        let doc = Automerge::load(bytes)?.with_actor(actor_id_for(device));
        let wo = WorkOrder { doc };
        wo.check_schema()?;
        Ok(wo)
    }

    fn check_schema(&self) -> Result<(), WorkOrderError> {
        let found: u64 = autosurgeon::hydrate_prop(&self.doc, automerge::ROOT, "schema")?;
        if found > SCHEMA_VERSION {
            return Err(WorkOrderError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    pub fn doc(&self) -> &Automerge {
        &self.doc
    }

    pub fn doc_mut(&mut self) -> &mut Automerge {
        &mut self.doc
    }

    pub fn into_automerge(self) -> Automerge {
        self.doc
    }

    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// A copy of this document for another device (what a device gets when it first syncs).
    pub fn fork_for(&self, device: &str) -> Result<Self, WorkOrderError> {
        let mut doc = Automerge::load(&self.doc.save())?;
        doc.set_actor(actor_id_for(device));
        Ok(WorkOrder { doc })
    }

    /// Merges every change of `other` into this document.
    pub fn merge(&mut self, other: &mut WorkOrder) -> Result<(), WorkOrderError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// The work order id stored in the document.
    pub fn id(&self) -> Result<String, WorkOrderError> {
        Ok(autosurgeon::hydrate_prop(&self.doc, automerge::ROOT, "id")?)
    }

    /// Every event, in the document's list order (not meaningful; see [`WorkOrder::history`]).
    pub fn events(&self) -> Result<Vec<Event>, WorkOrderError> {
        Ok(autosurgeon::hydrate_prop(
            &self.doc,
            automerge::ROOT,
            "events",
        )?)
    }

    /// Events in causal order: what happened, by whom, on which device and when.
    pub fn history(&self) -> Result<Vec<Event>, WorkOrderError> {
        let events = self.events()?;
        let c = causal::Causal::new(&events);
        Ok(c.events.into_iter().cloned().collect())
    }

    /// The derived state: status, assignee, part lines, photos, signature, conflicts.
    pub fn view(&self) -> Result<View, WorkOrderError> {
        view_of(&self.doc)
    }

    /// Concurrent steps resolved by a rule that a person should look at.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, WorkOrderError> {
        Ok(self.view()?.conflicts)
    }
}

/// Folds any document that has the work-order shape (a document, a transaction, a fork).
pub(crate) fn view_of<D: autosurgeon::ReadDoc>(doc: &D) -> Result<View, WorkOrderError> {
    let d: model::Document = autosurgeon::hydrate(doc)?;
    if d.schema > SCHEMA_VERSION {
        return Err(WorkOrderError::NewerSchema {
            found: d.schema,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(fold::fold(
        &d.id,
        &d.intake,
        d.notes.as_str().to_owned(),
        &d.events,
    ))
}

/// Parses hex change hashes as stored in a signature.
pub(crate) fn parse_heads(heads: &[String]) -> Option<Vec<ChangeHash>> {
    heads.iter().map(|h| h.parse::<ChangeHash>().ok()).collect()
}

#[cfg(test)]
mod tests;
