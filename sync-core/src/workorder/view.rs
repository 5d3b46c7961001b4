//! What the fold derives from a work order's events: the view every screen, projection and
//! rule reads.

use serde::{Deserialize, Serialize};

use super::conflict::Conflict;
use super::model::{ComplaintCategory, Intake, OldPart, PhotoKind, QuoteItem, Role};

/// Where a work order stands. Derived, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    PendingDispatch,
    Assigned,
    Accepted,
    Scheduled,
    EnRoute,
    OnSite,
    Diagnosed,
    Quoted,
    ConsentGiven,
    InProgress,
    Signed,
    Completed,
    Escalated,
    Closed,
    Cancelled,
}

/// The coarse statuses every user sees (SERVICE-RULES "Statuses shown to users").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusGroup {
    PendingDispatch,
    InProgress,
    /// Completed; the follow-up call is still to come.
    PendingFollowUp,
    Escalated,
    Closed,
    Cancelled,
}

impl Status {
    pub fn group(self) -> StatusGroup {
        match self {
            Status::PendingDispatch => StatusGroup::PendingDispatch,
            Status::Completed => StatusGroup::PendingFollowUp,
            Status::Escalated => StatusGroup::Escalated,
            Status::Closed => StatusGroup::Closed,
            Status::Cancelled => StatusGroup::Cancelled,
            _ => StatusGroup::InProgress,
        }
    }

    /// No more field work is expected (a reopen can still bring it back).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Escalated | Status::Closed | Status::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingDispatch => "pending_dispatch",
            Status::Assigned => "assigned",
            Status::Accepted => "accepted",
            Status::Scheduled => "scheduled",
            Status::EnRoute => "en_route",
            Status::OnSite => "on_site",
            Status::Diagnosed => "diagnosed",
            Status::Quoted => "quoted",
            Status::ConsentGiven => "consent_given",
            Status::InProgress => "in_progress",
            Status::Signed => "signed",
            Status::Completed => "completed",
            Status::Escalated => "escalated",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something, when (device time) and through which event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub event: String,
    pub user: String,
    pub role: Role,
    pub device: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub start: i64,
    pub end: i64,
    pub reason: String,
    pub set: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub cause: String,
    pub solutions: Vec<String>,
    pub by: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub items: Vec<QuoteItem>,
    pub total_cents: i64,
    pub by: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub by_name: String,
    /// The quote event this consent answers.
    pub quote_event: Option<String>,
    pub recorded: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartLine {
    /// Stable id of the line (the id of the event that added it).
    pub line: String,
    pub sku: String,
    pub qty: u32,
    pub serial_new: String,
    pub serial_old: String,
    pub price_cents: i64,
    pub old_part: OldPart,
    pub added: Stamp,
    /// Set when the line was removed; the line stays in the history.
    pub removed: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Photo {
    pub photo: String,
    pub blob: String,
    pub kind: PhotoKind,
    pub caption: String,
    pub taken_at: i64,
    pub added: Stamp,
    pub removed: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub passed: bool,
    pub details: String,
    pub by: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub signer: String,
    pub blob: String,
    pub heads: Vec<String>,
    pub digest: String,
    pub by: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub fixed: bool,
    pub by: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub score: u8,
    pub comment: String,
    pub remedial: String,
    pub by: Stamp,
}

/// How a complaint was classified (the latest classification in causal order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub category: ComplaintCategory,
    pub urgent: bool,
    pub by: Stamp,
}

/// A manager's handling of an escalation; the first one recorded stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationHandling {
    pub escalation: String,
    pub action: String,
    pub by: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub reason: String,
    pub by: Stamp,
}

/// Everything derived from one work order's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub id: String,
    pub intake: Intake,
    pub status: Status,
    pub assignee: Option<String>,
    /// Whether the current assignee has accepted the job.
    pub accepted: bool,
    pub appointment: Option<Appointment>,
    pub diagnosis: Option<Diagnosis>,
    pub quote: Option<Quote>,
    pub consent: Option<Consent>,
    /// Every part line ever recorded, removed ones included (see [`PartLine::removed`]).
    pub parts: Vec<PartLine>,
    /// Every photo reference ever recorded, removed ones included.
    pub photos: Vec<Photo>,
    pub notes: String,
    pub test: Option<TestResult>,
    pub signature: Option<Signature>,
    pub completion: Option<Completion>,
    pub follow_up: Option<FollowUp>,
    /// For complaints: what it is about and whether it is urgent.
    pub classification: Option<Classification>,
    /// A low score's escalation, handled by a manager: the work order is closed.
    pub escalation_handled: Option<EscalationHandling>,
    /// A cancellation that took effect.
    pub cancellation: Option<Cancellation>,
    /// Concurrent steps that a person should look at, resolved ones included.
    pub conflicts: Vec<Conflict>,
    pub event_count: usize,
}

impl View {
    /// Part lines that were not removed.
    pub fn active_parts(&self) -> impl Iterator<Item = &PartLine> {
        self.parts.iter().filter(|p| p.removed.is_none())
    }

    /// Photo references that were not removed.
    pub fn active_photos(&self) -> impl Iterator<Item = &Photo> {
        self.photos.iter().filter(|p| p.removed.is_none())
    }

    /// Conflicts nobody has resolved yet.
    pub fn open_conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.conflicts.iter().filter(|c| !c.resolved)
    }

    /// Charges the customer must consent to before chargeable work starts.
    pub fn chargeable(&self) -> bool {
        self.quote.as_ref().is_some_and(|q| q.total_cents > 0)
    }

    /// Whether the consent on record answers the quote on record.
    pub fn consent_covers_quote(&self) -> bool {
        match (&self.quote, &self.consent) {
            (None, _) => true,
            (Some(q), Some(c)) => c.quote_event.as_deref() == Some(q.by.event.as_str()),
            (Some(_), None) => false,
        }
    }
}
