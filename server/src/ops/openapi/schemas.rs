//! Documentation-only schemas of sync-core's types (sync-core does not depend on utoipa): the
//! intake a client sends and the work-order view the server answers. Field names, optionality
//! and limits follow `sync_core::workorder` (`model.rs`, `view.rs`, `conflict.rs`) and the
//! checks of `WorkOrder::create`; the contract test (`scripts/contract-test.sh`) validates real
//! answers against them, and `tests` below checks the field names against serde's output.

use serde::Serialize;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// At least one character that is not white space: what Rust's `trim` (`char::is_whitespace`)
/// does not remove, as an ECMA-262 / Python regular expression.
pub const NOT_BLANK: &str = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// A named string schema with limits: `min`/`max` characters and a `pattern`.
macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $description:literal, min = $min:expr, max = $max:expr, pattern = $pattern:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .min_length($min)
                    .max_length($max)
                    .pattern($pattern)
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

string_schema!(
    /// A required free text.
    NonBlankText,
    "Not blank (at least one character that is not white space); stored trimmed, at most 4,000 \
     bytes of UTF-8 (`maxLength` counts characters: multi-byte text reaches the limit sooner).",
    min = Some(1), max = Some(4000), pattern = Some(NOT_BLANK)
);
string_schema!(
    /// An optional free text.
    Text,
    "Stored trimmed, at most 4,000 bytes of UTF-8 (`maxLength` counts characters).",
    min = None, max = Some(4000), pattern = None::<String>
);
string_schema!(
    /// A blob address.
    BlobAddress,
    "The SHA-256 of a blob's bytes: 64 lower-case hex digits.",
    min = None, max = None, pattern = Some("^[0-9a-f]{64}$")
);
string_schema!(
    /// An identifier of `sync_core::ids`.
    Id,
    "An identifier: 1 to 128 letters, digits and `- _ . : @`.",
    min = None, max = None, pattern = Some("^[A-Za-z0-9_.:@-]{1,128}$")
);
string_schema!(
    /// The name of a region, a skill or a part.
    CatalogName,
    "Not blank, at most 200 characters; stored trimmed.",
    min = Some(1), max = Some(200), pattern = Some(NOT_BLANK)
);
string_schema!(
    /// A region or skill named by a user account.
    CatalogRef,
    "A region or skill id: not blank, at most 100 characters; it must exist (created with \
     `PUT /v1/admin/regions/{id}` or `PUT /v1/admin/skills/{id}`).",
    min = Some(1), max = Some(100), pattern = Some(NOT_BLANK)
);

/// Who acts (`sync_core::workorder::Role`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Dispatcher,
    Technician,
    Manager,
    Auditor,
    Admin,
    System,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    Install,
    Repair,
    Maintenance,
    Inspection,
    Complaint,
}

/// Dispatch order: urgent first, then VIP, then normal.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Normal,
    Vip,
    Urgent,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerTier {
    Standard,
    Vip,
}

/// Where a work order stands, derived from its events.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
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

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[schema(value_type = NonBlankText)]
    pub name: String,
    #[schema(value_type = Text)]
    pub phone: String,
    #[schema(value_type = NonBlankText)]
    pub address: String,
    pub tier: CustomerTier,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    #[schema(value_type = Text)]
    pub model: String,
    #[schema(value_type = Text)]
    pub serial: String,
    /// ISO date (`YYYY-MM-DD`) by convention, empty when unknown; not checked.
    #[schema(value_type = Text)]
    pub purchase_date: String,
}

/// A point on the Earth (WGS84, degrees). Anything outside the ranges, or not a number, is
/// refused with a 400 wherever coordinates come in.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    #[schema(minimum = -90, maximum = 90, example = 52.52)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180, example = 13.405)]
    pub lon: f64,
}

/// What intake records, once, when the work order is created. Texts are trimmed and hold at
/// most 4,000 bytes of UTF-8 (`maxLength` counts characters: multi-byte text reaches the byte
/// limit sooner); required texts must not be blank.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    pub customer: Customer,
    pub product: Product,
    pub service_type: ServiceType,
    #[schema(value_type = NonBlankText)]
    pub problem: String,
    pub priority: Priority,
    /// Skill ids; not checked against the catalogue.
    #[schema(value_type = Vec<NonBlankText>)]
    pub required_skills: Vec<String>,
    /// The region's id; a dispatcher may only create work orders in its own regions.
    #[schema(value_type = NonBlankText)]
    pub region: String,
    /// Blob addresses (SHA-256, 64 lower-case hex digits) of photos supplied with the request.
    #[schema(value_type = Vec<BlobAddress>)]
    pub attachments: Vec<String>,
    /// Optional: the site's coordinates, for travel-aware dispatch and routes (absent when
    /// unknown; work orders without them are dispatched by load alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<GeoPoint>,
}

/// Who did something, when (device time, ms since the epoch) and through which event.
#[derive(Serialize, ToSchema)]
pub struct Stamp {
    pub event: String,
    pub user: String,
    pub role: Role,
    pub device: String,
    pub at: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Appointment {
    pub start: i64,
    pub end: i64,
    pub reason: String,
    pub set: Stamp,
}

#[derive(Serialize, ToSchema)]
pub struct Diagnosis {
    pub cause: String,
    pub solutions: Vec<String>,
    pub by: Stamp,
}

/// One priced line of a quote, in minor currency units (cents).
#[derive(Serialize, ToSchema)]
pub struct QuoteItem {
    pub description: String,
    pub price_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Quote {
    pub items: Vec<QuoteItem>,
    pub total_cents: i64,
    pub by: Stamp,
}

#[derive(Serialize, ToSchema)]
pub struct Consent {
    pub by_name: String,
    /// The quote event this consent answers.
    pub quote_event: Option<String>,
    pub recorded: Stamp,
}

/// What happened to the part that was taken out.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OldPart {
    None,
    CustomerKeeps,
    TakenAway,
}

#[derive(Serialize, ToSchema)]
pub struct PartLine {
    /// Stable id of the line (the id of the event that added it).
    pub line: String,
    pub sku: String,
    #[schema(minimum = 0)]
    pub qty: u32,
    pub serial_new: String,
    pub serial_old: String,
    pub price_cents: i64,
    pub old_part: OldPart,
    pub added: Stamp,
    /// Set when the line was removed; the line stays in the history.
    pub removed: Option<Stamp>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    Before,
    After,
    Fault,
}

#[derive(Serialize, ToSchema)]
pub struct Photo {
    pub photo: String,
    pub blob: String,
    pub kind: PhotoKind,
    pub caption: String,
    pub taken_at: i64,
    pub added: Stamp,
    pub removed: Option<Stamp>,
}

#[derive(Serialize, ToSchema)]
pub struct TestResult {
    pub passed: bool,
    pub details: String,
    pub by: Stamp,
}

#[derive(Serialize, ToSchema)]
pub struct Signature {
    pub signer: String,
    pub blob: String,
    pub heads: Vec<String>,
    pub digest: String,
    pub by: Stamp,
}

#[derive(Serialize, ToSchema)]
pub struct Completion {
    pub fixed: bool,
    pub by: Stamp,
}

#[derive(Serialize, ToSchema)]
pub struct FollowUp {
    #[schema(minimum = 1, maximum = 5)]
    pub score: u8,
    pub comment: String,
    pub remedial: String,
    pub by: Stamp,
}

/// What a complaint is about.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintCategory {
    Quality,
    Attitude,
    Delay,
}

#[derive(Serialize, ToSchema)]
pub struct Classification {
    pub category: ComplaintCategory,
    pub urgent: bool,
    pub by: Stamp,
}

#[derive(Serialize, ToSchema)]
pub struct EscalationHandling {
    pub escalation: String,
    pub action: String,
    pub by: Stamp,
}

#[derive(Serialize, ToSchema)]
pub struct Cancellation {
    pub reason: String,
    pub by: Stamp,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    ReassignedWhileWorking,
    ConcurrentAssignment,
    DeclineVsAccept,
    TimeoutVsAccept,
    CancelVsWork,
    CompletedTwice,
    AppointmentChanged,
    PartLineChanged,
    PartChangedWhileRemoved,
    PossibleDuplicatePart,
    ConcurrentRecord,
}

/// Concurrent steps a person should look at.
#[derive(Serialize, ToSchema)]
pub struct Conflict {
    pub id: String,
    pub kind: ConflictKind,
    pub events: Vec<String>,
    pub outcome: String,
    pub resolved: bool,
}

/// A work order as the server derives it from its Automerge document
/// (`sync_core::workorder::View`). Absent steps are `null`.
#[derive(Serialize, ToSchema)]
pub struct WorkOrderView {
    pub id: String,
    pub intake: Intake,
    pub status: WorkOrderStatus,
    pub assignee: Option<String>,
    /// Whether the current assignee has accepted the job.
    pub accepted: bool,
    pub appointment: Option<Appointment>,
    pub diagnosis: Option<Diagnosis>,
    pub quote: Option<Quote>,
    pub consent: Option<Consent>,
    /// Every part line ever recorded, removed ones included.
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
    /// A low score's escalation, handled by a manager.
    pub escalation_handled: Option<EscalationHandling>,
    /// A cancellation that took effect.
    pub cancellation: Option<Cancellation>,
    /// Concurrent steps that a person should look at, resolved ones included.
    pub conflicts: Vec<Conflict>,
    #[schema(minimum = 0)]
    pub event_count: u64,
}

/// A role an account can have: every [`Role`] but `system`, which is the server's own.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    Agent,
    Dispatcher,
    Technician,
    Manager,
    Auditor,
    Admin,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use sync_core::workorder::{Actor, WorkOrder};

    fn keys(v: &serde_json::Value) -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn properties<T: PartialSchema>() -> BTreeSet<String> {
        keys(&serde_json::to_value(T::schema()).unwrap()["properties"])
    }

    #[test]
    fn the_mirrors_name_exactly_the_fields_sync_core_serializes() {
        let actor = Actor::new("admin", sync_core::workorder::Role::Admin, "server-1");
        // With every optional field present (a site), so that the mirror names it too.
        let intake = sync_core::workorder::Intake {
            site: Some(sync_core::workorder::GeoPoint::new(52.52, 13.405).unwrap()),
            ..sync_core::workorder::Intake::example()
        };
        let wo = WorkOrder::create("WO-1", &actor, intake, 1_000).unwrap();
        let view = serde_json::to_value(wo.view().unwrap()).unwrap();
        assert_eq!(keys(&view), properties::<WorkOrderView>());
        assert_eq!(keys(&view["intake"]), properties::<Intake>());
        assert_eq!(keys(&view["intake"]["customer"]), properties::<Customer>());
        assert_eq!(keys(&view["intake"]["product"]), properties::<Product>());
        assert_eq!(keys(&view["intake"]["site"]), properties::<GeoPoint>());
    }
}
