//! The shape of the demo day: timed steps, and how each office or field step is recorded on a
//! work order through sync-core's operations. Pure: no database, no clock (times are offsets
//! from the service time "now", in ms).

use sync_core::workorder::{
    Actor, ComplaintCategory, EventKind, OldPart, PartInput, PhotoKind, QuoteItem, WorkOrder,
    WorkOrderError,
};

use super::people;

/// A minute and an hour, in ms.
pub const M: i64 = 60_000;
pub const H: i64 = 60 * M;

/// `h` hours and `m` minutes before now.
pub const fn ago(h: i64, m: i64) -> i64 {
    -(h * H + m * M)
}

/// `h` hours and `m` minutes after now.
pub const fn ahead(h: i64, m: i64) -> i64 {
    h * H + m * M
}

/// One thing that happened, `at` ms from now (negative: before).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: i64,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// `by` records the request (`orders::intake` has its content).
    Intake { wo: &'static str, by: &'static str },
    /// Dispatcher `by` assigns the job by hand, as `POST /v1/workorders/{id}/assign` does.
    Assign {
        wo: &'static str,
        by: &'static str,
        technician: &'static str,
    },
    /// Automatic dispatch tries the job and finds nobody eligible: it waits, and an urgent one
    /// is escalated to the managers.
    Dispatch { wo: &'static str },
    /// An office step through the API, by `by`.
    Office {
        wo: &'static str,
        by: &'static str,
        op: OfficeOp,
    },
    /// A step on a technician's device, offline until the device syncs.
    Field {
        device: &'static str,
        wo: &'static str,
        op: FieldOp,
    },
    /// The device syncs: uploads what it recorded, receives the jobs it may see.
    Sync { device: &'static str },
}

#[derive(Debug, Clone, PartialEq)]
pub enum OfficeOp {
    /// A visit window (`start`, `end` are offsets from now), changed with a reason.
    Appointment {
        start: i64,
        end: i64,
        reason: &'static str,
    },
    Cancel {
        reason: &'static str,
    },
    Classify {
        category: ComplaintCategory,
        urgent: bool,
    },
    FollowUp {
        score: u8,
        comment: &'static str,
        remedial: &'static str,
    },
    /// A manager handles the low score's escalation: the work order closes.
    HandleEscalation {
        action: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldOp {
    Accept,
    /// `start`, `end`: offsets from now; a change needs a reason.
    Appointment {
        start: i64,
        end: i64,
        reason: Option<&'static str>,
    },
    EnRoute,
    OnSite,
    Diagnose {
        cause: &'static str,
        solutions: &'static [&'static str],
    },
    /// Items: description, price in cents.
    Quote {
        items: &'static [(&'static str, i64)],
    },
    Consent {
        by: &'static str,
    },
    Start,
    /// One of a catalogue part, at its catalogue price.
    Part {
        sku: &'static str,
        serial_new: &'static str,
        serial_old: &'static str,
        old_part: OldPart,
    },
    Photo {
        kind: PhotoKind,
        caption: &'static str,
    },
    Test {
        passed: bool,
        details: &'static str,
    },
    Sign {
        signer: &'static str,
    },
    Complete {
        fixed: bool,
    },
}

/// Why a step of the script could not be recorded: the script contradicts itself.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{0}")]
    WorkOrder(#[from] WorkOrderError),
    #[error("part {0} is not in the demo catalogue")]
    UnknownPart(&'static str),
    #[error("{0} needs an image")]
    NoImage(&'static str),
    #[error("no low-score follow-up to handle")]
    NoLowScore,
}

/// Records an office step on `wo` as `actor` at `now` (absolute ms); `base` is the service
/// time the script's offsets count from.
pub fn apply_office(
    wo: &mut WorkOrder,
    actor: &Actor,
    op: &OfficeOp,
    base: i64,
    now: i64,
) -> Result<String, ScriptError> {
    Ok(match op {
        OfficeOp::Appointment { start, end, reason } => {
            wo.set_appointment(actor, base + start, base + end, Some(reason), now)?
        }
        OfficeOp::Cancel { reason } => wo.cancel(actor, reason, now)?,
        OfficeOp::Classify { category, urgent } => wo.classify(actor, *category, *urgent, now)?,
        OfficeOp::FollowUp {
            score,
            comment,
            remedial,
        } => wo.follow_up(actor, *score, comment, remedial, now)?,
        OfficeOp::HandleEscalation { action } => {
            let escalation = low_score_escalation(wo)?;
            wo.handle_escalation(actor, &escalation, action, now)?
        }
    })
}

/// The id of the escalation the latest follow-up of `wo` opened (as the clock store names it).
fn low_score_escalation(wo: &WorkOrder) -> Result<String, ScriptError> {
    let id = wo.id()?;
    let anchor = wo
        .history()?
        .into_iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::FollowedUp { .. }))
        .ok_or(ScriptError::NoLowScore)?
        .id;
    Ok(crate::clock::store::escalation_id(
        &id,
        crate::clock::store::LOW_SCORE,
        &anchor,
    ))
}

/// Records a field step on the device's copy of `wo`; `now` is the device's clock. `blob`
/// is the image of a photo or signature (its SHA-256).
pub fn apply_field(
    wo: &mut WorkOrder,
    actor: &Actor,
    op: &FieldOp,
    blob: Option<&str>,
    base: i64,
    now: i64,
) -> Result<String, ScriptError> {
    Ok(match op {
        FieldOp::Accept => wo.accept(actor, now)?,
        FieldOp::Appointment { start, end, reason } => {
            wo.set_appointment(actor, base + start, base + end, *reason, now)?
        }
        FieldOp::EnRoute => wo.en_route(actor, now)?,
        FieldOp::OnSite => wo.on_site(actor, now)?,
        FieldOp::Diagnose { cause, solutions } => wo.diagnose(actor, cause, solutions, now)?,
        FieldOp::Quote { items } => {
            let items: Vec<QuoteItem> = items
                .iter()
                .map(|&(description, price_cents)| QuoteItem {
                    description: description.into(),
                    price_cents,
                })
                .collect();
            wo.quote(actor, &items, now)?
        }
        FieldOp::Consent { by } => wo.consent(actor, by, now)?,
        FieldOp::Start => wo.start_work(actor, now)?,
        FieldOp::Part {
            sku,
            serial_new,
            serial_old,
            old_part,
        } => {
            let price = people::price_of(sku).ok_or(ScriptError::UnknownPart(sku))?;
            let part = PartInput {
                serial_new: (*serial_new).into(),
                serial_old: (*serial_old).into(),
                old_part: *old_part,
                ..PartInput::new(*sku, 1, price)
            };
            wo.add_part(actor, part, now)?
        }
        FieldOp::Photo { kind, caption } => {
            let blob = blob.ok_or(ScriptError::NoImage("a photo"))?;
            wo.add_photo(actor, blob, *kind, caption, now, now)?
        }
        FieldOp::Test { passed, details } => wo.record_test(actor, *passed, details, now)?,
        FieldOp::Sign { signer } => {
            let blob = blob.ok_or(ScriptError::NoImage("a signature"))?;
            wo.sign(actor, signer, blob, now)?
        }
        FieldOp::Complete { fixed } => wo.complete(actor, *fixed, now)?,
    })
}
