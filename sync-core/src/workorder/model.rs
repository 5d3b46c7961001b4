//! The stored shape of a work-order document (autosurgeon `Hydrate`/`Reconcile`).
//!
//! ```text
//! ROOT
//! ├── schema   1
//! ├── id       "WO-…"
//! ├── intake   { customer, product, service_type, problem, priority, skills, region, … }
//! ├── notes    Text (Automerge text: concurrent edits interleave)
//! └── events   [ Event, … ]   append-only; order in the list means nothing, the fold orders them
//! ```
//!
//! Everything a person records after intake is an [`Event`]. Part lines, photos, the quote, the
//! signature and the status are *derived* by the fold (`fold.rs`), so a merge can never drop one:
//! Automerge only ever has to keep two concurrent list inserts, which it always does.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

pub use super::geo::GeoPoint;

/// Follow-up scores up to and including this one are low: the work order escalates to a
/// manager (SERVICE-RULES CS-LOWSCORE). Part of the document model, not of the service policy:
/// every device folds the status offline, without the policy, and must agree.
pub const LOW_SCORE_MAX: u8 = 3;

/// Version of the document layout; a reader refuses documents from a newer layout.
pub const SCHEMA_VERSION: u64 = 1;

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Hydrate, Reconcile, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?}; expected one of: {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

str_enum!(
    /// Who acts. Agents take requests, dispatchers own regions, technicians do the work, managers
    /// handle escalations, auditors inspect, admins configure, the system runs the service clock.
    Role {
        Agent => "agent",
        Dispatcher => "dispatcher",
        Technician => "technician",
        Manager => "manager",
        Auditor => "auditor",
        Admin => "admin",
        System => "system",
    }
);

impl Role {
    /// Office roles decide assignment; they are not in the field.
    pub fn is_office(self) -> bool {
        matches!(
            self,
            Role::Agent | Role::Dispatcher | Role::Manager | Role::Admin | Role::System
        )
    }
}

str_enum!(ServiceType {
    Install => "install",
    Repair => "repair",
    Maintenance => "maintenance",
    Inspection => "inspection",
    Complaint => "complaint",
});

str_enum!(
    /// Dispatch order: urgent first, then VIP, then normal.
    Priority {
        Normal => "normal",
        Vip => "vip",
        Urgent => "urgent",
    }
);

str_enum!(CustomerTier {
    Standard => "standard",
    Vip => "vip",
});

str_enum!(
    /// What a complaint is about (CS-COMPLAINT-CLASSIFY).
    ComplaintCategory {
        Quality => "quality",
        Attitude => "attitude",
        Delay => "delay",
    }
);

str_enum!(PhotoKind {
    Before => "before",
    After => "after",
    Fault => "fault",
});

str_enum!(
    /// What happened to the part that was taken out.
    OldPart {
        None => "none",
        CustomerKeeps => "customer_keeps",
        TakenAway => "taken_away",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub tier: CustomerTier,
}

#[derive(Debug, Clone, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Product {
    pub model: String,
    pub serial: String,
    /// ISO date (YYYY-MM-DD), empty when unknown.
    pub purchase_date: String,
}

/// What intake records. Written once when the work order is created.
///
/// `Reconcile` is written out by hand (below) only to leave `site` out of the document when it
/// is unknown: documents without coordinates stay byte for byte what they were before.
#[derive(Debug, Clone, PartialEq, Eq, Hydrate, Serialize, Deserialize)]
pub struct Intake {
    pub customer: Customer,
    pub product: Product,
    pub service_type: ServiceType,
    pub problem: String,
    pub priority: Priority,
    pub required_skills: Vec<String>,
    pub region: String,
    /// Blob references of photos or video supplied with the request.
    pub attachments: Vec<String>,
    /// Where the job is, when intake knows it (dispatch and routes measure travel from it).
    /// Absent in documents written before coordinates existed: hydrates as `None`.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<GeoPoint>,
}

impl Reconcile for Intake {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        use autosurgeon::reconcile::MapReconciler;
        let mut m = reconciler.map()?;
        // The derive's order, so that the operations (and the saved bytes) are unchanged.
        m.put("customer", &self.customer)?;
        m.put("product", &self.product)?;
        m.put("service_type", self.service_type)?;
        m.put("problem", &self.problem)?;
        m.put("priority", self.priority)?;
        m.put("required_skills", &self.required_skills)?;
        m.put("region", &self.region)?;
        m.put("attachments", &self.attachments)?;
        if let Some(site) = &self.site {
            m.put("site", site)?;
        }
        Ok(())
    }
}

impl Intake {
    /// A plausible repair request, for examples and tests.
    pub fn example() -> Self {
        Intake {
            customer: Customer {
                name: "Ada Customer".into(),
                phone: "+49 30 1234567".into(),
                address: "Hauptstr. 1, Berlin".into(),
                tier: CustomerTier::Standard,
            },
            product: Product {
                model: "WM-800".into(),
                serial: "SN-0001".into(),
                purchase_date: "2025-03-14".into(),
            },
            service_type: ServiceType::Repair,
            problem: "Washing machine does not drain".into(),
            priority: Priority::Normal,
            required_skills: vec!["washing-machines".into()],
            region: "berlin".into(),
            attachments: vec![],
            site: None,
        }
    }
}

/// One priced line of a quote, in minor currency units (cents).
#[derive(Debug, Clone, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct QuoteItem {
    pub description: String,
    pub price_cents: i64,
}

/// A part line as first recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct PartFields {
    pub sku: String,
    pub qty: u32,
    pub serial_new: String,
    pub serial_old: String,
    pub price_cents: i64,
    pub old_part: OldPart,
}

/// A change to some fields of a part line; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct PartPatch {
    pub qty: Option<u32>,
    pub serial_new: Option<String>,
    pub serial_old: Option<String>,
    pub price_cents: Option<i64>,
    pub old_part: Option<OldPart>,
}

impl PartPatch {
    pub fn is_empty(&self) -> bool {
        self == &PartPatch::default()
    }
}

/// What happened. Every variant is one step a person (or the service clock) took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    Created,
    /// Assign or reassign to a technician.
    Assigned {
        technician: String,
        reason: String,
    },
    Unassigned {
        reason: String,
    },
    Accepted,
    Declined {
        reason: String,
    },
    /// The service clock took back a job nobody accepted in time (CS-ACCEPT).
    AcceptTimedOut {
        technician: String,
    },
    AppointmentSet {
        /// Start of the agreed visit window, ms since the Unix epoch.
        start: i64,
        /// End of the window, ms since the Unix epoch.
        end: i64,
        reason: String,
    },
    EnRoute,
    OnSite,
    Diagnosed {
        cause: String,
        solutions: Vec<String>,
    },
    Quoted {
        items: Vec<QuoteItem>,
    },
    ConsentGiven {
        by: String,
    },
    WorkStarted,
    PartAdded {
        line: String,
        part: PartFields,
    },
    PartChanged {
        line: String,
        patch: PartPatch,
    },
    PartRemoved {
        line: String,
    },
    PhotoAdded {
        photo: String,
        blob: String,
        photo_kind: PhotoKind,
        caption: String,
        taken_at: i64,
    },
    PhotoRemoved {
        photo: String,
    },
    NotesEdited,
    Tested {
        passed: bool,
        details: String,
    },
    Signed {
        signer: String,
        blob: String,
        /// Document heads (hex change hashes) the signature covers.
        heads: Vec<String>,
        /// SHA-256 of the canonical signed content at those heads.
        digest: String,
    },
    Completed {
        fixed: bool,
    },
    FollowedUp {
        score: u8,
        comment: String,
        remedial: String,
    },
    Cancelled {
        reason: String,
    },
    Reopened {
        reason: String,
    },
    ConflictResolved {
        conflict: String,
        note: String,
    },
    /// A complaint classified by what it is about and how urgent it is (CS-COMPLAINT-CLASSIFY).
    Classified {
        category: ComplaintCategory,
        urgent: bool,
    },
    /// A manager handled an escalation (e.g. called back a customer who gave a low score):
    /// the escalated work order closes.
    EscalationHandled {
        /// Id of the escalation, as the server lists it.
        escalation: String,
        action: String,
    },
    /// A step recorded by newer software that this version does not know; kept, not folded.
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// Whether a person in `role` may record this kind of step at all. The operations check
    /// this and more (assignee, status); the server re-checks it for every uploaded event,
    /// because a device's software is not trusted.
    pub fn allowed_for(&self, role: Role) -> bool {
        match self {
            EventKind::Created
            | EventKind::Assigned { .. }
            | EventKind::Unassigned { .. }
            | EventKind::FollowedUp { .. }
            | EventKind::Cancelled { .. }
            | EventKind::Reopened { .. }
            | EventKind::ConflictResolved { .. }
            | EventKind::Classified { .. } => role.is_office(),
            EventKind::EscalationHandled { .. } => matches!(role, Role::Manager | Role::Admin),
            EventKind::AcceptTimedOut { .. } => role == Role::System,
            EventKind::Accepted
            | EventKind::Declined { .. }
            | EventKind::EnRoute
            | EventKind::OnSite
            | EventKind::Diagnosed { .. }
            | EventKind::Quoted { .. }
            | EventKind::ConsentGiven { .. }
            | EventKind::WorkStarted
            | EventKind::PartAdded { .. }
            | EventKind::PartChanged { .. }
            | EventKind::PartRemoved { .. }
            | EventKind::Tested { .. }
            | EventKind::Signed { .. }
            | EventKind::Completed { .. } => role == Role::Technician,
            EventKind::AppointmentSet { .. }
            | EventKind::PhotoAdded { .. }
            | EventKind::PhotoRemoved { .. } => role == Role::Technician || role.is_office(),
            EventKind::NotesEdited => !matches!(role, Role::Auditor | Role::System),
            EventKind::Unknown => false,
        }
    }

    /// A short stable name, for history listings and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Assigned { .. } => "assigned",
            EventKind::Unassigned { .. } => "unassigned",
            EventKind::Accepted => "accepted",
            EventKind::Declined { .. } => "declined",
            EventKind::AcceptTimedOut { .. } => "accept_timed_out",
            EventKind::AppointmentSet { .. } => "appointment_set",
            EventKind::EnRoute => "en_route",
            EventKind::OnSite => "on_site",
            EventKind::Diagnosed { .. } => "diagnosed",
            EventKind::Quoted { .. } => "quoted",
            EventKind::ConsentGiven { .. } => "consent_given",
            EventKind::WorkStarted => "work_started",
            EventKind::PartAdded { .. } => "part_added",
            EventKind::PartChanged { .. } => "part_changed",
            EventKind::PartRemoved { .. } => "part_removed",
            EventKind::PhotoAdded { .. } => "photo_added",
            EventKind::PhotoRemoved { .. } => "photo_removed",
            EventKind::NotesEdited => "notes_edited",
            EventKind::Tested { .. } => "tested",
            EventKind::Signed { .. } => "signed",
            EventKind::Completed { .. } => "completed",
            EventKind::FollowedUp { .. } => "followed_up",
            EventKind::Cancelled { .. } => "cancelled",
            EventKind::Reopened { .. } => "reopened",
            EventKind::ConflictResolved { .. } => "conflict_resolved",
            EventKind::Classified { .. } => "classified",
            EventKind::EscalationHandled { .. } => "escalation_handled",
            EventKind::Unknown => "unknown",
        }
    }
}

/// One entry of the append-only history.
///
/// Stored as one JSON string per list element rather than as a nested Automerge map: an event
/// is immutable once written, so it needs no field-level merging, and one scalar per event
/// hydrates about 30 times faster than autosurgeon's enum matching over nested maps while
/// staying readable to any Automerge client (JavaScript included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `<device>#<n>`: unique because a device id is never reused.
    pub id: String,
    /// The events this one's author had seen and that nothing else it had seen came after
    /// (the frontier). Gives the fold causality: two events are concurrent when neither is an
    /// ancestor of the other.
    pub parents: Vec<String>,
    /// Device clock time, ms since the Unix epoch. Never trusted to order causally related events.
    pub at: i64,
    pub user: String,
    pub role: Role,
    pub device: String,
    pub kind: EventKind,
    /// Where the device was when the step was recorded: only on `on_site`, and only when the
    /// device knows. Left out of the JSON when absent, so every other event reads and writes
    /// exactly as before; older software ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<GeoPoint>,
}

impl Reconcile for Event {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        // Serializing plain strings, numbers and enums to JSON cannot fail; were it ever to,
        // a null is written, which no reader accepts as an event, rather than a wrong event.
        match serde_json::to_string(self) {
            Ok(json) => reconciler.str(json),
            Err(_) => reconciler.none(),
        }
    }
}

impl Hydrate for Event {
    fn hydrate_string(json: &str) -> Result<Self, autosurgeon::HydrateError> {
        serde_json::from_str(json).map_err(|e| {
            autosurgeon::HydrateError::unexpected("a work-order event (JSON)", e.to_string())
        })
    }
}

/// The whole document, for reading.
#[derive(Debug, Clone, Hydrate, Reconcile)]
pub struct Document {
    pub schema: u64,
    pub id: String,
    pub intake: Intake,
    pub notes: autosurgeon::Text,
    pub events: Vec<Event>,
}
