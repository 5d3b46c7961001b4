//! Conflicts: concurrent steps that the fold resolved by a documented rule (docs/CONFLICTS.md)
//! and that a person should still look at. Nothing recorded is dropped by a conflict; the
//! losing side stays in the history and is named here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// A dispatcher moved the job away while its technician, offline, worked on it.
    ReassignedWhileWorking,
    /// Two office users assigned the job differently at the same time.
    ConcurrentAssignment,
    /// Accept and decline of one technician (e.g. phone and tablet) at the same time.
    DeclineVsAccept,
    /// The acceptance timeout fired while the technician accepted offline.
    TimeoutVsAccept,
    /// Cancelled while the customer signed or the job was completed.
    CancelVsWork,
    /// Completed on two devices with different outcomes (fixed / not fixed).
    CompletedTwice,
    /// The appointment was changed on two devices at the same time.
    AppointmentChanged,
    /// The same field of one part line changed on two devices.
    PartLineChanged,
    /// A part line was changed on one device and removed on another.
    PartChangedWhileRemoved,
    /// The same part (SKU) was added on two devices at the same time.
    PossibleDuplicatePart,
    /// The diagnosis, quote, consent, test result or follow-up was recorded twice at once.
    ConcurrentRecord,
}

impl ConflictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::ReassignedWhileWorking => "reassigned_while_working",
            ConflictKind::ConcurrentAssignment => "concurrent_assignment",
            ConflictKind::DeclineVsAccept => "decline_vs_accept",
            ConflictKind::TimeoutVsAccept => "timeout_vs_accept",
            ConflictKind::CancelVsWork => "cancel_vs_work",
            ConflictKind::CompletedTwice => "completed_twice",
            ConflictKind::AppointmentChanged => "appointment_changed",
            ConflictKind::PartLineChanged => "part_line_changed",
            ConflictKind::PartChangedWhileRemoved => "part_changed_while_removed",
            ConflictKind::PossibleDuplicatePart => "possible_duplicate_part",
            ConflictKind::ConcurrentRecord => "concurrent_record",
        }
    }
}

/// One conflict: which events collided, what the fold decided, and whether a person has
/// looked at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Stable id: the kind and the sorted ids of the events involved. The same on every replica.
    pub id: String,
    pub kind: ConflictKind,
    /// The events involved, sorted by id.
    pub events: Vec<String>,
    /// What the fold decided, in words.
    pub outcome: String,
    pub resolved: bool,
}

impl Conflict {
    pub(crate) fn new(kind: ConflictKind, mut events: Vec<String>, outcome: String) -> Self {
        events.sort();
        events.dedup();
        let id = format!("{}:{}", kind.as_str(), events.join(","));
        Conflict {
            id,
            kind,
            events,
            outcome,
            resolved: false,
        }
    }
}
