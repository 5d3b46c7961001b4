//! What a device may upload, checked on the changes that arrived rather than on two folds.
//!
//! A device may only append events of its own user, role and device, each of a kind its role
//! may record, and edit the notes text. Nothing recorded before may change, nor the id, the
//! intake or any other part of the document's top level.
//!
//! The check reads Automerge's diff between the heads before the upload and now, so its cost
//! follows what arrived, not the size of the history: no fork of the old document, no second
//! fold. [`checked_view`] then hydrates the document once and folds it once, giving the view
//! and the causal history the server projects.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash, ObjId, ObjType, PatchAction, ReadDoc, Value, ROOT};

use super::model::{Document, Event, EventKind, Role};
use super::{fold, View, WorkOrderError, SCHEMA_VERSION};

/// The authenticated uploader of a sync request.
#[derive(Debug, Clone, Copy)]
pub struct Uploader<'a> {
    pub user: &'a str,
    pub role: Role,
    pub device: &'a str,
}

/// Why an upload is refused; the message is shown to the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefused {
    #[error("the stored document is not a work order: {0}")]
    Stored(String),
    #[error("devices may not change the work order's {0}")]
    Fixed(String),
    #[error("event {0} was deleted; history is append-only")]
    Deleted(String),
    #[error("event {0} was rewritten; history is append-only")]
    Rewritten(String),
    #[error("an uploaded event is not a work-order event: {0}")]
    Malformed(String),
    #[error("event {id} claims {user} ({role}) on {device}, but the uploader is {by_user} ({by_role}) on {by_device}")]
    NotTheUploader {
        id: String,
        user: String,
        role: Role,
        device: String,
        by_user: String,
        by_role: Role,
        by_device: String,
    },
    #[error("a {role} may not record {kind}")]
    KindNotAllowed { role: Role, kind: &'static str },
    #[error("event {id}: {reason}")]
    BadPosition { id: String, reason: String },
    #[error("the document would no longer be a work order: {0}")]
    Shape(String),
}

/// The events an upload added, after checking that it changed nothing else.
///
/// `before` are the document's heads before the upload was applied; `doc` holds the upload.
/// An event inserted twice with the same content (a resend) counts once.
pub fn new_events(
    doc: &Automerge,
    before: &[ChangeHash],
    who: Uploader<'_>,
) -> Result<Vec<Event>, UploadRefused> {
    let after = doc.get_heads();
    let events_obj = child(doc, "events", ObjType::List)?;
    let intake_obj = child(doc, "intake", ObjType::Map)?;
    let diff = |obj: &ObjId, recursive: bool| {
        doc.diff_obj(obj, before, &after, recursive)
            .map_err(|e| UploadRefused::Stored(e.to_string()))
    };
    // The top level: id, schema, intake, notes and events are fixed objects or values.
    if let Some(p) = diff(&ROOT, false)?.first() {
        return Err(UploadRefused::Fixed(match &p.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => key.clone(),
            other => format!("top level ({other})"),
        }));
    }
    if !diff(&intake_obj, true)?.is_empty() {
        return Err(UploadRefused::Fixed("intake".into()));
    }
    let mut added = Vec::new();
    for patch in diff(&events_obj, false)? {
        match patch.action {
            PatchAction::Insert { values, .. } => {
                for (value, _, _) in values.iter() {
                    let Value::Scalar(s) = value else {
                        return Err(UploadRefused::Malformed("not a string".into()));
                    };
                    let Some(json) = s.as_str() else {
                        return Err(UploadRefused::Malformed("not a string".into()));
                    };
                    let event: Event = serde_json::from_str(json)
                        .map_err(|e| UploadRefused::Malformed(e.to_string()))?;
                    check_author(&event, who)?;
                    added.push(event);
                }
            }
            PatchAction::DeleteSeq { index, .. } => {
                return Err(UploadRefused::Deleted(old_event_id(
                    doc,
                    &events_obj,
                    index,
                    before,
                )))
            }
            PatchAction::PutSeq { index, .. }
            | PatchAction::Conflict {
                prop: automerge::Prop::Seq(index),
            } => {
                return Err(UploadRefused::Rewritten(old_event_id(
                    doc,
                    &events_obj,
                    index,
                    before,
                )))
            }
            other => {
                return Err(UploadRefused::Malformed(format!(
                    "unexpected change {other}"
                )))
            }
        }
    }
    added.sort_by(|a, b| a.id.cmp(&b.id));
    added.dedup();
    Ok(added)
}

fn check_author(e: &Event, who: Uploader<'_>) -> Result<(), UploadRefused> {
    if e.user != who.user || e.role != who.role || e.device != who.device {
        return Err(UploadRefused::NotTheUploader {
            id: e.id.clone(),
            user: e.user.clone(),
            role: e.role,
            device: e.device.clone(),
            by_user: who.user.to_owned(),
            by_role: who.role,
            by_device: who.device.to_owned(),
        });
    }
    if !e.kind.allowed_for(who.role) {
        return Err(UploadRefused::KindNotAllowed {
            role: who.role,
            kind: e.kind.name(),
        });
    }
    if let Some(p) = &e.position {
        if !matches!(e.kind, EventKind::OnSite) {
            return Err(UploadRefused::BadPosition {
                id: e.id.clone(),
                reason: format!("only on_site carries a position, not {}", e.kind.name()),
            });
        }
        p.check().map_err(|x| UploadRefused::BadPosition {
            id: e.id.clone(),
            reason: format!("position: {x}"),
        })?;
    }
    Ok(())
}

/// The object at a top-level key, which every work order has.
fn child(doc: &Automerge, key: &str, want: ObjType) -> Result<ObjId, UploadRefused> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Object(t), id))) if t == want => Ok(id),
        Ok(_) => Err(UploadRefused::Stored(format!("no {key} {want:?}"))),
        Err(e) => Err(UploadRefused::Stored(e.to_string())),
    }
}

/// The id of the event that stood at `index` before the upload (for the refusal message).
fn old_event_id(doc: &Automerge, events: &ObjId, index: usize, before: &[ChangeHash]) -> String {
    doc.get_at(events, index, before)
        .ok()
        .flatten()
        .and_then(|(v, _)| v.into_string().ok())
        .and_then(|json| serde_json::from_str::<Event>(&json).ok())
        .map(|e| e.id)
        .unwrap_or_else(|| format!("at position {index}"))
}

/// The work order's view and its events in causal order, from one hydration and one fold.
///
/// Refuses a document whose events reuse an id with different content (an upload that
/// inserted a second, different event under an id already recorded).
pub fn checked_view(doc: &Automerge) -> Result<(View, Vec<Event>), UploadRefused> {
    let d: Document = autosurgeon::hydrate(doc).map_err(|e| UploadRefused::Shape(e.to_string()))?;
    if d.schema > SCHEMA_VERSION {
        return Err(UploadRefused::Shape(
            WorkOrderError::NewerSchema {
                found: d.schema,
                supported: SCHEMA_VERSION,
            }
            .to_string(),
        ));
    }
    let mut seen: HashMap<&str, &Event> = HashMap::with_capacity(d.events.len());
    for e in &d.events {
        if let Some(prev) = seen.insert(e.id.as_str(), e) {
            if prev != e {
                return Err(UploadRefused::Rewritten(e.id.clone()));
            }
        }
    }
    Ok(fold::fold_with_history(
        &d.id,
        &d.intake,
        d.notes.as_str().to_owned(),
        &d.events,
    ))
}

#[cfg(test)]
#[path = "upload_tests.rs"]
mod tests;
