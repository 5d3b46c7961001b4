//! What a device may upload: new events of its own user, role and device, each allowed for
//! that role; the notes text. Nothing recorded before may change, nor the intake.

use std::collections::HashMap;

use sync_core::workorder::{Event, View, WorkOrder};

use crate::auth::AuthUser;

/// An upload that passed: the work order as it now is, and the events the device added.
pub struct Accepted {
    pub view: View,
    pub new_events: Vec<Event>,
}

pub fn upload(
    before: &WorkOrder,
    after: &WorkOrder,
    user: &AuthUser,
    device: &str,
) -> Result<Accepted, String> {
    let b = before
        .view()
        .map_err(|e| format!("stored document unreadable: {e}"))?;
    let a = after
        .view()
        .map_err(|e| format!("the document would no longer be a work order: {e}"))?;
    if a.id != b.id || a.intake != b.intake {
        return Err("devices may not change the work order's id or intake".into());
    }
    let old: HashMap<String, _> = before
        .events()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let new = after.events().map_err(|e| e.to_string())?;
    let new_ids: std::collections::HashSet<&str> = new.iter().map(|e| e.id.as_str()).collect();
    if let Some(lost) = old.keys().find(|id| !new_ids.contains(id.as_str())) {
        return Err(format!("event {lost} was deleted; history is append-only"));
    }
    let mut added = Vec::new();
    for e in new {
        match old.get(&e.id) {
            Some(prev) if *prev == e => {}
            Some(_) => {
                return Err(format!(
                    "event {} was rewritten; history is append-only",
                    e.id
                ))
            }
            None => {
                if e.user != user.id || e.role != user.role || e.device != device {
                    return Err(format!(
                        "event {} claims {} ({}) on {}, but the uploader is {} ({}) on {device}",
                        e.id, e.user, e.role, e.device, user.id, user.role
                    ));
                }
                if !e.kind.allowed_for(user.role) {
                    return Err(format!("a {} may not record {}", user.role, e.kind.name()));
                }
                added.push(e);
            }
        }
    }
    Ok(Accepted {
        view: a,
        new_events: added,
    })
}
