//! The operations people perform on a work order. Each checks that the step is allowed for
//! this actor in the current state, then records exactly one event in one transaction.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjType, ReadDoc, ROOT};
use autosurgeon::Text;

use super::causal::Causal;
use super::error::WorkOrderError;
use super::model::*;
use super::seal::SignedContent;
use super::view::{Status, View};
use super::{actor_id_for, fold, Actor, WorkOrder};
use crate::ids::{BlobHash, DeviceId, UserId, WorkOrderId};

/// A new part line as a technician enters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInput {
    pub sku: String,
    pub qty: u32,
    pub serial_new: String,
    pub serial_old: String,
    pub price_cents: i64,
    pub old_part: OldPart,
}

impl PartInput {
    pub fn new(sku: impl Into<String>, qty: u32, price_cents: i64) -> Self {
        PartInput {
            sku: sku.into(),
            qty,
            serial_new: String::new(),
            serial_old: String::new(),
            price_cents,
            old_part: OldPart::None,
        }
    }
}

/// Longest free text we store in one field (bytes). Documents stay small enough to sync.
const MAX_TEXT: usize = 4_000;
/// Longest notes text (bytes).
const MAX_NOTES: usize = 20_000;

fn text(field: &'static str, value: &str, required: bool) -> Result<String, WorkOrderError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(WorkOrderError::invalid(field, "must not be empty"));
    }
    if v.len() > MAX_TEXT {
        return Err(WorkOrderError::invalid(
            field,
            format!("{} bytes, at most {MAX_TEXT}", v.len()),
        ));
    }
    Ok(v.to_owned())
}

fn position(field: &'static str, p: Option<GeoPoint>) -> Result<Option<GeoPoint>, WorkOrderError> {
    if let Some(p) = &p {
        p.check()
            .map_err(|e| WorkOrderError::invalid(field, e.to_string()))?;
    }
    Ok(p)
}

fn user(field: &'static str, value: &str) -> Result<String, WorkOrderError> {
    UserId::parse(value)
        .map(String::from)
        .map_err(|e| WorkOrderError::invalid(field, e.to_string()))
}

fn blob(value: &str) -> Result<String, WorkOrderError> {
    BlobHash::parse(value)
        .map(String::from)
        .map_err(|e| WorkOrderError::invalid("blob", e.to_string()))
}

fn office(actor: &Actor, op: &'static str) -> Result<(), WorkOrderError> {
    if actor.role.is_office() {
        Ok(())
    } else {
        Err(WorkOrderError::RoleNotAllowed {
            op,
            role: actor.role.as_str(),
        })
    }
}

/// The actor is the assigned technician (and, when `accepted`, has accepted the job).
fn assignee(
    view: &View,
    actor: &Actor,
    op: &'static str,
    accepted: bool,
) -> Result<(), WorkOrderError> {
    if actor.role != Role::Technician {
        return Err(WorkOrderError::RoleNotAllowed {
            op,
            role: actor.role.as_str(),
        });
    }
    if view.assignee.as_deref() != Some(actor.user.as_str()) {
        return Err(WorkOrderError::NotAssignee {
            op,
            assignee: view.assignee.clone(),
        });
    }
    if accepted && !view.accepted {
        return Err(WorkOrderError::MissingStep {
            op,
            need: "accepting the job",
        });
    }
    Ok(())
}

/// Field work is possible: not completed, closed, escalated or cancelled.
fn open(view: &View, op: &'static str) -> Result<(), WorkOrderError> {
    if view.status.is_terminal() {
        return Err(WorkOrderError::WrongStatus {
            op,
            status: view.status,
        });
    }
    Ok(())
}

/// Open and not yet signed by the customer.
fn unsigned(view: &View, op: &'static str) -> Result<(), WorkOrderError> {
    open(view, op)?;
    if view.status == Status::Signed {
        return Err(WorkOrderError::WrongStatus {
            op,
            status: view.status,
        });
    }
    Ok(())
}

fn working(view: &View, op: &'static str) -> Result<(), WorkOrderError> {
    open(view, op)?;
    if !matches!(view.status, Status::InProgress | Status::Signed) {
        return Err(WorkOrderError::MissingStep {
            op,
            need: "starting the work",
        });
    }
    Ok(())
}

fn commit_options(op: &str, now: i64) -> CommitOptions {
    CommitOptions::default()
        .with_message(op.to_owned())
        .with_time(now.div_euclid(1000))
}

impl WorkOrder {
    /// Intake: creates the document of a new work order.
    pub fn create(
        id: &str,
        actor: &Actor,
        intake: Intake,
        now: i64,
    ) -> Result<Self, WorkOrderError> {
        let id =
            WorkOrderId::parse(id).map_err(|e| WorkOrderError::invalid("id", e.to_string()))?;
        office(actor, "create a work order")?;
        DeviceId::parse(actor.device.as_str())
            .map_err(|e| WorkOrderError::invalid("device", e.to_string()))?;
        let intake = Intake {
            customer: Customer {
                name: text("customer name", &intake.customer.name, true)?,
                phone: text("customer phone", &intake.customer.phone, false)?,
                address: text("customer address", &intake.customer.address, true)?,
                tier: intake.customer.tier,
            },
            product: Product {
                model: text("product model", &intake.product.model, false)?,
                serial: text("product serial", &intake.product.serial, false)?,
                purchase_date: text("purchase date", &intake.product.purchase_date, false)?,
            },
            problem: text("problem", &intake.problem, true)?,
            region: text("region", &intake.region, true)?,
            required_skills: intake
                .required_skills
                .iter()
                .map(|s| text("skill", s, true))
                .collect::<Result<_, _>>()?,
            attachments: intake
                .attachments
                .iter()
                .map(|b| blob(b))
                .collect::<Result<_, _>>()?,
            site: position("site", intake.site)?,
            ..intake
        };
        let event = Event {
            id: format!("{}#1", actor.device),
            parents: vec![],
            at: now,
            user: actor.user.clone(),
            role: actor.role,
            device: actor.device.clone(),
            kind: EventKind::Created,
            position: None,
        };
        let document = Document {
            schema: SCHEMA_VERSION,
            id: id.to_string(),
            intake,
            notes: Text::with_value(""),
            events: vec![event],
        };
        let mut doc = Automerge::new().with_actor(actor_id_for(&actor.device));
        doc.transact_with(
            |_| commit_options("created", now),
            |tx| autosurgeon::reconcile(tx, &document),
        )
        .map_err(|f| f.error)?;
        Ok(WorkOrder { doc })
    }

    /// Records one event decided by `decide` against the current view, in one transaction.
    /// With `notes`, the notes text is updated in the same transaction.
    fn record<F>(
        &mut self,
        actor: &Actor,
        now: i64,
        notes: Option<&str>,
        decide: F,
    ) -> Result<String, WorkOrderError>
    where
        F: FnOnce(&View) -> Result<EventKind, WorkOrderError>,
    {
        self.record_at(actor, now, notes, None, decide)
    }

    /// [`Self::record`], with the device's position on the event.
    fn record_at<F>(
        &mut self,
        actor: &Actor,
        now: i64,
        notes: Option<&str>,
        position: Option<GeoPoint>,
        decide: F,
    ) -> Result<String, WorkOrderError>
    where
        F: FnOnce(&View) -> Result<EventKind, WorkOrderError>,
    {
        DeviceId::parse(actor.device.as_str())
            .map_err(|e| WorkOrderError::invalid("device", e.to_string()))?;
        UserId::parse(actor.user.as_str())
            .map_err(|e| WorkOrderError::invalid("user", e.to_string()))?;
        self.doc.set_actor(actor_id_for(&actor.device));
        let outcome = self.doc.transact_with(
            |id: &String| commit_options(id, now),
            |tx| -> Result<String, WorkOrderError> {
                let d: Document = autosurgeon::hydrate(tx)?;
                if d.schema > SCHEMA_VERSION {
                    return Err(WorkOrderError::NewerSchema {
                        found: d.schema,
                        supported: SCHEMA_VERSION,
                    });
                }
                let view = fold::fold(&d.id, &d.intake, d.notes.as_str().to_owned(), &d.events);
                let kind = decide(&view)?;
                let prefix = format!("{}#", actor.device);
                let seq = d
                    .events
                    .iter()
                    .filter_map(|e| e.id.strip_prefix(&prefix)?.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                let id = format!("{prefix}{seq}");
                let kind = match kind {
                    EventKind::PartAdded { line, part } if line.is_empty() => {
                        EventKind::PartAdded {
                            line: id.clone(),
                            part,
                        }
                    }
                    EventKind::PhotoAdded {
                        photo,
                        blob,
                        photo_kind,
                        caption,
                        taken_at,
                    } if photo.is_empty() => EventKind::PhotoAdded {
                        photo: id.clone(),
                        blob,
                        photo_kind,
                        caption,
                        taken_at,
                    },
                    other => other,
                };
                let event = Event {
                    id,
                    parents: Causal::frontier(&d.events),
                    at: now,
                    user: actor.user.clone(),
                    role: actor.role,
                    device: actor.device.clone(),
                    kind,
                    position,
                };
                if let Some(new_notes) = notes {
                    // Automerge's own text diff: it splices by character, so notes in any
                    // script are kept (autosurgeon's `Text::update` spliced at byte offsets,
                    // which Automerge refused for any non-ASCII text).
                    let text = match tx.get(ROOT, "notes")? {
                        Some((automerge::Value::Object(ObjType::Text), obj)) => obj,
                        _ => tx.put_object(ROOT, "notes", ObjType::Text)?,
                    };
                    tx.update_text(&text, new_notes)?;
                }
                let events = match tx.get(ROOT, "events")? {
                    Some((automerge::Value::Object(ObjType::List), obj)) => obj,
                    _ => tx.put_object(ROOT, "events", ObjType::List)?,
                };
                autosurgeon::reconcile_insert(tx, events, d.events.len(), &event)?;
                Ok(event.id)
            },
        );
        outcome.map(|ok| ok.result).map_err(|f| f.error)
    }

    /// Assigns the job to a technician, or reassigns it (a reason is then required).
    pub fn assign(
        &mut self,
        actor: &Actor,
        technician: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let technician = user("technician", technician)?;
        let reason = text("reason", reason.unwrap_or(""), false)?;
        self.record(actor, now, None, |v| {
            office(actor, "assign")?;
            unsigned(v, "assign")?;
            match &v.assignee {
                Some(a) if *a == technician => Err(WorkOrderError::invalid(
                    "technician",
                    format!("the job is already assigned to {a}"),
                )),
                Some(_) if reason.is_empty() => Err(WorkOrderError::invalid(
                    "reason",
                    "a reassignment needs a reason",
                )),
                _ => Ok(EventKind::Assigned { technician, reason }),
            }
        })
    }

    /// Takes the job back to dispatch.
    pub fn unassign(
        &mut self,
        actor: &Actor,
        reason: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let reason = text("reason", reason, true)?;
        self.record(actor, now, None, |v| {
            office(actor, "unassign")?;
            unsigned(v, "unassign")?;
            if v.assignee.is_none() {
                return Err(WorkOrderError::MissingStep {
                    op: "unassign",
                    need: "an assignment",
                });
            }
            Ok(EventKind::Unassigned { reason })
        })
    }

    pub fn accept(&mut self, actor: &Actor, now: i64) -> Result<String, WorkOrderError> {
        self.record(actor, now, None, |v| {
            assignee(v, actor, "accept", false)?;
            unsigned(v, "accept")?;
            if v.accepted {
                return Err(WorkOrderError::WrongStatus {
                    op: "accept",
                    status: v.status,
                });
            }
            Ok(EventKind::Accepted)
        })
    }

    /// The technician gives the job back; it returns to dispatch.
    pub fn decline(
        &mut self,
        actor: &Actor,
        reason: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let reason = text("reason", reason, true)?;
        self.record(actor, now, None, |v| {
            assignee(v, actor, "decline", false)?;
            if !matches!(
                v.status,
                Status::Assigned | Status::Accepted | Status::Scheduled
            ) {
                return Err(WorkOrderError::WrongStatus {
                    op: "decline",
                    status: v.status,
                });
            }
            Ok(EventKind::Declined { reason })
        })
    }

    /// The service clock takes back a job its technician did not accept in time (CS-ACCEPT).
    pub fn accept_timed_out(&mut self, actor: &Actor, now: i64) -> Result<String, WorkOrderError> {
        self.record(actor, now, None, |v| {
            if actor.role != Role::System {
                return Err(WorkOrderError::RoleNotAllowed {
                    op: "time out an acceptance",
                    role: actor.role.as_str(),
                });
            }
            match (&v.assignee, v.accepted) {
                (Some(t), false) if v.status == Status::Assigned => Ok(EventKind::AcceptTimedOut {
                    technician: t.clone(),
                }),
                _ => Err(WorkOrderError::WrongStatus {
                    op: "time out an acceptance",
                    status: v.status,
                }),
            }
        })
    }

    /// Sets or changes the visit window agreed with the customer. A change needs a reason.
    pub fn set_appointment(
        &mut self,
        actor: &Actor,
        start: i64,
        end: i64,
        reason: Option<&str>,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let reason = text("reason", reason.unwrap_or(""), false)?;
        if end <= start {
            return Err(WorkOrderError::invalid(
                "appointment",
                "the window must end after it starts",
            ));
        }
        self.record(actor, now, None, |v| {
            if actor.role == Role::Technician {
                assignee(v, actor, "set the appointment", true)?;
            } else {
                office(actor, "set the appointment")?;
            }
            unsigned(v, "set the appointment")?;
            if v.appointment.is_some() && reason.is_empty() {
                return Err(WorkOrderError::invalid(
                    "reason",
                    "changing an appointment needs a reason for the customer",
                ));
            }
            Ok(EventKind::AppointmentSet { start, end, reason })
        })
    }

    pub fn en_route(&mut self, actor: &Actor, now: i64) -> Result<String, WorkOrderError> {
        self.record(actor, now, None, |v| {
            assignee(v, actor, "set out", true)?;
            unsigned(v, "set out")?;
            Ok(EventKind::EnRoute)
        })
    }

    pub fn on_site(&mut self, actor: &Actor, now: i64) -> Result<String, WorkOrderError> {
        self.on_site_at(actor, None, now)
    }

    /// Arrived on site, with where the device was (when it knows): the server keeps each
    /// technician's latest reported position for dispatch.
    pub fn on_site_at(
        &mut self,
        actor: &Actor,
        at: Option<GeoPoint>,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let at = position("position", at)?;
        self.record_at(actor, now, None, at, |v| {
            assignee(v, actor, "arrive on site", true)?;
            unsigned(v, "arrive on site")?;
            Ok(EventKind::OnSite)
        })
    }

    /// Records the cause of the fault and at least one proposed solution.
    pub fn diagnose(
        &mut self,
        actor: &Actor,
        cause: &str,
        solutions: &[&str],
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let cause = text("cause", cause, true)?;
        let solutions: Vec<String> = solutions
            .iter()
            .map(|s| text("solution", s, true))
            .collect::<Result<_, _>>()?;
        if solutions.is_empty() {
            return Err(WorkOrderError::invalid(
                "solutions",
                "propose at least one solution",
            ));
        }
        self.record(actor, now, None, |v| {
            assignee(v, actor, "diagnose", true)?;
            unsigned(v, "diagnose")?;
            Ok(EventKind::Diagnosed { cause, solutions })
        })
    }

    /// Lists the charges; chargeable work then needs the customer's consent.
    pub fn quote(
        &mut self,
        actor: &Actor,
        items: &[QuoteItem],
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let items: Vec<QuoteItem> = items
            .iter()
            .map(|i| {
                if i.price_cents < 0 {
                    return Err(WorkOrderError::invalid("price", "must not be negative"));
                }
                Ok(QuoteItem {
                    description: text("quote item", &i.description, true)?,
                    price_cents: i.price_cents,
                })
            })
            .collect::<Result<_, _>>()?;
        self.record(actor, now, None, |v| {
            assignee(v, actor, "quote", true)?;
            unsigned(v, "quote")?;
            Ok(EventKind::Quoted { items })
        })
    }

    /// The customer agrees to the quoted charges.
    pub fn consent(
        &mut self,
        actor: &Actor,
        by_name: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let by = text("name", by_name, true)?;
        self.record(actor, now, None, |v| {
            assignee(v, actor, "record consent", true)?;
            unsigned(v, "record consent")?;
            if v.quote.is_none() {
                return Err(WorkOrderError::MissingStep {
                    op: "record consent",
                    need: "a quote",
                });
            }
            Ok(EventKind::ConsentGiven { by })
        })
    }

    /// Starts the work: needs a diagnosis, and consent when charges were quoted.
    pub fn start_work(&mut self, actor: &Actor, now: i64) -> Result<String, WorkOrderError> {
        self.record(actor, now, None, |v| {
            assignee(v, actor, "start work", true)?;
            unsigned(v, "start work")?;
            if v.diagnosis.is_none() {
                return Err(WorkOrderError::MissingStep {
                    op: "start work",
                    need: "a diagnosis",
                });
            }
            if v.chargeable() && !v.consent_covers_quote() {
                return Err(WorkOrderError::MissingStep {
                    op: "start chargeable work",
                    need: "the customer's consent to the quoted charges",
                });
            }
            Ok(EventKind::WorkStarted)
        })
    }

    /// Adds a part line; returns its line id.
    pub fn add_part(
        &mut self,
        actor: &Actor,
        part: PartInput,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let fields = PartFields {
            sku: text("sku", &part.sku, true)?,
            qty: positive(part.qty)?,
            serial_new: text("serial", &part.serial_new, false)?,
            serial_old: text("old serial", &part.serial_old, false)?,
            price_cents: price(part.price_cents)?,
            old_part: part.old_part,
        };
        // The line id is the id of the event that adds it (filled in by `record`).
        self.record(actor, now, None, |v| {
            assignee(v, actor, "add a part", true)?;
            open(v, "add a part")?;
            Ok(EventKind::PartAdded {
                line: String::new(),
                part: fields,
            })
        })
    }

    /// Changes fields of a part line.
    pub fn change_part(
        &mut self,
        actor: &Actor,
        line: &str,
        patch: PartPatch,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        if patch.is_empty() {
            return Err(WorkOrderError::invalid("change", "nothing to change"));
        }
        let patch = PartPatch {
            qty: patch.qty.map(positive).transpose()?,
            serial_new: patch
                .serial_new
                .map(|s| text("serial", &s, false))
                .transpose()?,
            serial_old: patch
                .serial_old
                .map(|s| text("old serial", &s, false))
                .transpose()?,
            price_cents: patch.price_cents.map(price).transpose()?,
            old_part: patch.old_part,
        };
        let line = line.to_owned();
        self.record(actor, now, None, |v| {
            assignee(v, actor, "change a part", true)?;
            open(v, "change a part")?;
            live_part(v, &line)?;
            Ok(EventKind::PartChanged { line, patch })
        })
    }

    /// Removes a part line (it stays in the history, marked removed).
    pub fn remove_part(
        &mut self,
        actor: &Actor,
        line: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let line = line.to_owned();
        self.record(actor, now, None, |v| {
            assignee(v, actor, "remove a part", true)?;
            open(v, "remove a part")?;
            live_part(v, &line)?;
            Ok(EventKind::PartRemoved { line })
        })
    }

    /// Adds a reference to an uploaded photo; returns the photo id (the id of its event).
    pub fn add_photo(
        &mut self,
        actor: &Actor,
        blob_hash: &str,
        kind: PhotoKind,
        caption: &str,
        taken_at: i64,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let blob = blob(blob_hash)?;
        let caption = text("caption", caption, false)?;
        self.record(actor, now, None, |v| {
            if actor.role == Role::Technician {
                assignee(v, actor, "add a photo", true)?;
            } else {
                office(actor, "add a photo")?;
            }
            open(v, "add a photo")?;
            Ok(EventKind::PhotoAdded {
                photo: String::new(),
                blob,
                photo_kind: kind,
                caption,
                taken_at,
            })
        })
    }

    pub fn remove_photo(
        &mut self,
        actor: &Actor,
        photo: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let photo = photo.to_owned();
        self.record(actor, now, None, |v| {
            if actor.role == Role::Technician {
                assignee(v, actor, "remove a photo", true)?;
            } else {
                office(actor, "remove a photo")?;
            }
            open(v, "remove a photo")?;
            match v.photos.iter().find(|p| p.photo == photo) {
                None => Err(WorkOrderError::UnknownPhoto(photo)),
                Some(p) if p.removed.is_some() => Err(WorkOrderError::UnknownPhoto(photo)),
                Some(_) => Ok(EventKind::PhotoRemoved { photo }),
            }
        })
    }

    /// Replaces the notes with `new_text`; Automerge text, so concurrent edits interleave.
    pub fn edit_notes(
        &mut self,
        actor: &Actor,
        new_text: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        if new_text.len() > MAX_NOTES {
            return Err(WorkOrderError::invalid(
                "notes",
                format!("{} bytes, at most {MAX_NOTES}", new_text.len()),
            ));
        }
        self.record(actor, now, Some(new_text), |v| {
            if matches!(actor.role, Role::Auditor | Role::System) {
                return Err(WorkOrderError::RoleNotAllowed {
                    op: "edit notes",
                    role: actor.role.as_str(),
                });
            }
            if v.notes == new_text {
                return Err(WorkOrderError::invalid("notes", "unchanged"));
            }
            Ok(EventKind::NotesEdited)
        })
    }

    /// Records the functional test after the work.
    pub fn record_test(
        &mut self,
        actor: &Actor,
        passed: bool,
        details: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let details = text("details", details, false)?;
        self.record(actor, now, None, |v| {
            assignee(v, actor, "record a test", true)?;
            working(v, "record a test")?;
            Ok(EventKind::Tested { passed, details })
        })
    }

    /// The customer signs. The signature seals the current content: the document heads and a
    /// digest of what was signed (parts, charges, diagnosis, work done, photos).
    pub fn sign(
        &mut self,
        actor: &Actor,
        signer: &str,
        blob_hash: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let signer = text("signer", signer, true)?;
        let blob = blob(blob_hash)?;
        let heads: Vec<String> = self.doc.get_heads().iter().map(|h| h.to_string()).collect();
        self.record(actor, now, None, |v| {
            assignee(v, actor, "take a signature", true)?;
            working(v, "take a signature")?;
            Ok(EventKind::Signed {
                signer,
                blob,
                heads,
                digest: SignedContent::of(v).digest(),
            })
        })
    }

    pub fn complete(
        &mut self,
        actor: &Actor,
        fixed: bool,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        self.record(actor, now, None, |v| {
            assignee(v, actor, "complete", true)?;
            working(v, "complete")?;
            Ok(EventKind::Completed { fixed })
        })
    }

    /// The follow-up call: a score of 1 to 5; 3 or less escalates.
    pub fn follow_up(
        &mut self,
        actor: &Actor,
        score: u8,
        comment: &str,
        remedial: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        if !(1..=5).contains(&score) {
            return Err(WorkOrderError::invalid(
                "score",
                format!("{score} is not between 1 and 5"),
            ));
        }
        let comment = text("comment", comment, false)?;
        let remedial = text("remedial action", remedial, false)?;
        self.record(actor, now, None, |v| {
            office(actor, "record a follow-up")?;
            if v.status != Status::Completed {
                return Err(WorkOrderError::WrongStatus {
                    op: "record a follow-up",
                    status: v.status,
                });
            }
            Ok(EventKind::FollowedUp {
                score,
                comment,
                remedial,
            })
        })
    }

    /// Classifies a complaint: what it is about and whether it is urgent (CS-COMPLAINT-CLASSIFY).
    pub fn classify(
        &mut self,
        actor: &Actor,
        category: ComplaintCategory,
        urgent: bool,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        self.record(actor, now, None, |v| {
            office(actor, "classify a complaint")?;
            if v.intake.service_type != ServiceType::Complaint {
                return Err(WorkOrderError::invalid(
                    "service type",
                    format!(
                        "only complaints are classified, this is a {}",
                        v.intake.service_type
                    ),
                ));
            }
            if v.status == Status::Cancelled {
                return Err(WorkOrderError::WrongStatus {
                    op: "classify a complaint",
                    status: v.status,
                });
            }
            Ok(EventKind::Classified { category, urgent })
        })
    }

    /// A manager handled the escalation of a low follow-up score; the work order closes.
    pub fn handle_escalation(
        &mut self,
        actor: &Actor,
        escalation: &str,
        action: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let escalation = text("escalation", escalation, true)?;
        let action = text("action", action, true)?;
        self.record(actor, now, None, |v| {
            if !matches!(actor.role, Role::Manager | Role::Admin) {
                return Err(WorkOrderError::RoleNotAllowed {
                    op: "handle an escalation",
                    role: actor.role.as_str(),
                });
            }
            if v.status != Status::Escalated {
                return Err(WorkOrderError::WrongStatus {
                    op: "handle an escalation",
                    status: v.status,
                });
            }
            Ok(EventKind::EscalationHandled { escalation, action })
        })
    }

    /// Cancels a work order before the customer signed or it was completed.
    pub fn cancel(
        &mut self,
        actor: &Actor,
        reason: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let reason = text("reason", reason, true)?;
        self.record(actor, now, None, |v| {
            office(actor, "cancel")?;
            unsigned(v, "cancel")?;
            Ok(EventKind::Cancelled { reason })
        })
    }

    /// Brings back a completed, closed, escalated or cancelled work order for more work.
    pub fn reopen(
        &mut self,
        actor: &Actor,
        reason: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let reason = text("reason", reason, true)?;
        self.record(actor, now, None, |v| {
            office(actor, "reopen")?;
            if !v.status.is_terminal() {
                return Err(WorkOrderError::WrongStatus {
                    op: "reopen",
                    status: v.status,
                });
            }
            Ok(EventKind::Reopened { reason })
        })
    }

    /// A person has looked at a conflict and settled it.
    pub fn resolve_conflict(
        &mut self,
        actor: &Actor,
        conflict: &str,
        note: &str,
        now: i64,
    ) -> Result<String, WorkOrderError> {
        let note = text("note", note, true)?;
        let conflict = conflict.to_owned();
        self.record(actor, now, None, |v| {
            office(actor, "resolve a conflict")?;
            if !v.open_conflicts().any(|c| c.id == conflict) {
                return Err(WorkOrderError::UnknownConflict(conflict));
            }
            Ok(EventKind::ConflictResolved { conflict, note })
        })
    }
}

fn positive(qty: u32) -> Result<u32, WorkOrderError> {
    if qty == 0 {
        Err(WorkOrderError::invalid("quantity", "must be at least 1"))
    } else {
        Ok(qty)
    }
}

fn price(cents: i64) -> Result<i64, WorkOrderError> {
    if cents < 0 {
        Err(WorkOrderError::invalid("price", "must not be negative"))
    } else {
        Ok(cents)
    }
}

fn live_part(v: &View, line: &str) -> Result<(), WorkOrderError> {
    match v.parts.iter().find(|p| p.line == line) {
        None => Err(WorkOrderError::UnknownPartLine(line.to_owned())),
        Some(p) if p.removed.is_some() => Err(WorkOrderError::PartLineRemoved(line.to_owned())),
        Some(_) => Ok(()),
    }
}
