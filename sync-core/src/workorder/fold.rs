//! The status fold: a deterministic function from the set of events to a [`View`].
//!
//! Events are visited in the causal linear order of [`Causal`]. Single-valued facts (the
//! appointment, diagnosis, quote, consent, test result, completion, follow-up, each part-line
//! field) live in registers: a later event that had *seen* the current value replaces it; two
//! *concurrent* values are decided by a documented rank, then device time, then event id, and
//! the pair is reported as a conflict. The rules for concurrent pairs are in docs/CONFLICTS.md.

use std::collections::{BTreeMap, BTreeSet};

use super::causal::Causal;
use super::conflict::{Conflict, ConflictKind};
use super::model::{Event, EventKind, Intake, PartFields, Role};
use super::view::*;

/// A single-valued fact and the event that set it.
struct Reg<T> {
    value: T,
    pos: usize,
    rank: u8,
}

/// Visit progress of the current assignment; reset when the job changes hands or is reopened.
#[derive(Default)]
struct Progress {
    en_route: bool,
    on_site: bool,
    diagnosed: bool,
    quoted: bool,
    consented: bool,
    working: bool,
}

struct PartState {
    fields: PartFields,
    added: usize,
    /// Last event that set each patched field, by field name.
    field_pos: BTreeMap<&'static str, usize>,
    removed: Option<usize>,
}

struct PhotoState {
    photo: Photo,
    removed: Option<usize>,
}

struct Fold<'a> {
    c: &'a Causal<'a>,
    assignee: Option<String>,
    /// The event that decided the current assignee (assign, unassign, decline, timeout, or an
    /// accept that won over a concurrent decline).
    assign_pos: Option<usize>,
    accepted: Option<usize>,
    progress: Progress,
    appointment: Option<Reg<Appointment>>,
    diagnosis: Option<Reg<Diagnosis>>,
    quote: Option<Reg<Quote>>,
    consent: Option<Reg<Consent>>,
    test: Option<Reg<TestResult>>,
    signature: Option<Reg<Signature>>,
    completion: Option<Reg<Completion>>,
    follow_up: Option<Reg<FollowUp>>,
    classification: Option<Classification>,
    escalation_handled: Option<EscalationHandling>,
    cancelled: Option<(Cancellation, usize)>,
    parts: BTreeMap<String, PartState>,
    photos: BTreeMap<String, PhotoState>,
    conflicts: BTreeMap<String, Conflict>,
    resolved: BTreeSet<String>,
}

/// Folds `events` into the view of the work order `id`.
pub(crate) fn fold(id: &str, intake: &Intake, notes: String, events: &[Event]) -> View {
    fold_causal(&Causal::new(events), id, intake, notes)
}

/// [`fold`], also returning the events in causal order (what the server projects), from the
/// one causal sort.
pub(crate) fn fold_with_history(
    id: &str,
    intake: &Intake,
    notes: String,
    events: &[Event],
) -> (View, Vec<Event>) {
    let c = Causal::new(events);
    let view = fold_causal(&c, id, intake, notes);
    (view, c.events.into_iter().cloned().collect())
}

fn fold_causal(c: &Causal<'_>, id: &str, intake: &Intake, notes: String) -> View {
    let mut f = Fold {
        c,
        assignee: None,
        assign_pos: None,
        accepted: None,
        progress: Progress::default(),
        appointment: None,
        diagnosis: None,
        quote: None,
        consent: None,
        test: None,
        signature: None,
        completion: None,
        follow_up: None,
        classification: None,
        escalation_handled: None,
        cancelled: None,
        parts: BTreeMap::new(),
        photos: BTreeMap::new(),
        conflicts: BTreeMap::new(),
        resolved: BTreeSet::new(),
    };
    for pos in 0..c.events.len() {
        f.apply(pos);
    }
    f.reassignment_conflicts();
    f.finish(id, intake, notes)
}

fn stamp(e: &Event) -> Stamp {
    Stamp {
        event: e.id.clone(),
        user: e.user.clone(),
        role: e.role,
        device: e.device.clone(),
        at: e.at,
    }
}

impl<'a> Fold<'a> {
    fn ev(&self, pos: usize) -> &'a Event {
        self.c.events[pos]
    }

    fn conflict(&mut self, kind: ConflictKind, events: &[usize], outcome: String) {
        let ids = events.iter().map(|&p| self.ev(p).id.clone()).collect();
        let conflict = Conflict::new(kind, ids, outcome);
        self.conflicts
            .entry(conflict.id.clone())
            .or_insert(conflict);
    }

    /// Whether `new` (rank, time, id) beats `old` when the two are concurrent.
    fn outranks(&self, new: usize, new_rank: u8, old: usize, old_rank: u8) -> bool {
        let (a, b) = (self.ev(new), self.ev(old));
        (new_rank, a.at, a.id.as_str()) > (old_rank, b.at, b.id.as_str())
    }

    /// Sets a register. Returns the position of a concurrent, different value it collided with.
    fn set<T: PartialEq>(
        &self,
        reg: &mut Option<Reg<T>>,
        value: T,
        pos: usize,
        rank: u8,
        same: impl Fn(&T, &T) -> bool,
    ) -> Option<usize> {
        match reg {
            Some(old) if self.c.concurrent(old.pos, pos) => {
                let clash = (!same(&old.value, &value)).then_some(old.pos);
                if self.outranks(pos, rank, old.pos, old.rank) {
                    *reg = Some(Reg { value, pos, rank });
                }
                clash
            }
            _ => {
                *reg = Some(Reg { value, pos, rank });
                None
            }
        }
    }

    fn hand_over(&mut self, to: Option<String>, pos: usize) {
        if self.assignee != to {
            self.accepted = None;
            self.progress = Progress::default();
        }
        self.assignee = to;
        self.assign_pos = Some(pos);
    }

    /// Technician steps count for the visit only when taken by the current assignee.
    fn by_assignee(&self, e: &Event) -> bool {
        e.role != Role::Technician || self.assignee.as_deref() == Some(e.user.as_str())
    }

    fn apply(&mut self, pos: usize) {
        let e = self.ev(pos);
        match &e.kind {
            EventKind::Created | EventKind::NotesEdited | EventKind::Unknown => {}
            EventKind::Assigned { technician, .. } => {
                self.office_assignment(pos, Some(technician.clone()))
            }
            EventKind::Unassigned { .. } => self.office_assignment(pos, None),
            EventKind::Accepted => self.accept(pos),
            EventKind::Declined { .. } => {
                self.give_back(pos, &e.user, ConflictKind::DeclineVsAccept)
            }
            EventKind::AcceptTimedOut { technician } => {
                self.give_back(pos, technician, ConflictKind::TimeoutVsAccept)
            }
            EventKind::AppointmentSet { start, end, reason } => {
                let value = Appointment {
                    start: *start,
                    end: *end,
                    reason: reason.clone(),
                    set: stamp(e),
                };
                // The technician booked the visit with the customer and must attend it.
                let rank = u8::from(e.role == Role::Technician);
                let mut reg = self.appointment.take();
                if let Some(other) = self.set(&mut reg, value, pos, rank, |a, b| {
                    (a.start, a.end) == (b.start, b.end)
                }) {
                    let winner = reg
                        .as_ref()
                        .map(|r| r.value.set.user.clone())
                        .unwrap_or_default();
                    self.conflict(
                        ConflictKind::AppointmentChanged,
                        &[other, pos],
                        format!("appointment set concurrently; kept the one set by {winner} (technician's wins, then later device time); tell the customer"),
                    );
                }
                self.appointment = reg;
            }
            EventKind::EnRoute => {
                if self.by_assignee(e) {
                    self.progress.en_route = true;
                }
            }
            EventKind::OnSite => {
                if self.by_assignee(e) {
                    self.progress.on_site = true;
                }
            }
            EventKind::WorkStarted => {
                if self.by_assignee(e) {
                    self.progress.working = true;
                }
            }
            EventKind::Diagnosed { cause, solutions } => {
                let value = Diagnosis {
                    cause: cause.clone(),
                    solutions: solutions.clone(),
                    by: stamp(e),
                };
                let mut reg = self.diagnosis.take();
                let clash = self.set(&mut reg, value, pos, 0, |a, b| {
                    (&a.cause, &a.solutions) == (&b.cause, &b.solutions)
                });
                self.diagnosis = reg;
                self.record_clash("diagnosis", clash, pos);
                if self.by_assignee(e) {
                    self.progress.diagnosed = true;
                }
            }
            EventKind::Quoted { items } => {
                let value = Quote {
                    items: items.clone(),
                    total_cents: items.iter().map(|i| i.price_cents).sum(),
                    by: stamp(e),
                };
                let mut reg = self.quote.take();
                let clash = self.set(&mut reg, value, pos, 0, |a, b| a.items == b.items);
                self.quote = reg;
                self.record_clash("quote", clash, pos);
                if self.by_assignee(e) {
                    self.progress.quoted = true;
                }
            }
            EventKind::ConsentGiven { by } => {
                // The consent answers the latest quote its author had seen.
                let quote_event = (0..pos)
                    .rev()
                    .find(|&q| {
                        matches!(self.ev(q).kind, EventKind::Quoted { .. })
                            && self.c.is_ancestor(q, pos)
                    })
                    .map(|q| self.ev(q).id.clone());
                let value = Consent {
                    by_name: by.clone(),
                    quote_event,
                    recorded: stamp(e),
                };
                let mut reg = self.consent.take();
                let clash = self.set(&mut reg, value, pos, 0, |a, b| {
                    (&a.by_name, &a.quote_event) == (&b.by_name, &b.quote_event)
                });
                self.consent = reg;
                self.record_clash("consent", clash, pos);
                if self.by_assignee(e) {
                    self.progress.consented = true;
                }
            }
            EventKind::Tested { passed, details } => {
                let value = TestResult {
                    passed: *passed,
                    details: details.clone(),
                    by: stamp(e),
                };
                let mut reg = self.test.take();
                // A failed test is the safer record to keep.
                let rank = u8::from(!passed);
                let clash = self.set(&mut reg, value, pos, rank, |a, b| a.passed == b.passed);
                self.test = reg;
                self.record_clash("functional test", clash, pos);
                if self.by_assignee(e) {
                    self.progress.working = true;
                }
            }
            EventKind::PartAdded { line, part } => self.part_added(pos, line, part),
            EventKind::PartChanged { line, patch } => self.part_changed(pos, line, patch),
            EventKind::PartRemoved { line } => self.part_removed(pos, line),
            EventKind::PhotoAdded {
                photo,
                blob,
                photo_kind,
                caption,
                taken_at,
            } => {
                self.photos
                    .entry(photo.clone())
                    .or_insert_with(|| PhotoState {
                        photo: Photo {
                            photo: photo.clone(),
                            blob: blob.clone(),
                            kind: *photo_kind,
                            caption: caption.clone(),
                            taken_at: *taken_at,
                            added: stamp(e),
                            removed: None,
                        },
                        removed: None,
                    });
            }
            EventKind::PhotoRemoved { photo } => {
                if let Some(p) = self.photos.get_mut(photo) {
                    p.removed.get_or_insert(pos);
                }
            }
            EventKind::Signed {
                signer,
                blob,
                heads,
                digest,
            } => {
                let value = Signature {
                    signer: signer.clone(),
                    blob: blob.clone(),
                    heads: heads.clone(),
                    digest: digest.clone(),
                    by: stamp(e),
                };
                let mut reg = self.signature.take();
                // Two signatures are two records of the customer's consent; keep the later one.
                self.set(&mut reg, value, pos, 0, |_, _| true);
                self.signature = reg;
                self.cancel_vs_work();
            }
            EventKind::Completed { fixed } => {
                let value = Completion {
                    fixed: *fixed,
                    by: stamp(e),
                };
                // "Not fixed" wins: the first-time-fix rate must never be overstated.
                let rank = u8::from(!fixed);
                let mut reg = self.completion.take();
                let clash = self.set(&mut reg, value, pos, rank, |a, b| a.fixed == b.fixed);
                self.completion = reg;
                if let Some(other) = clash {
                    self.conflict(
                        ConflictKind::CompletedTwice,
                        &[other, pos],
                        "completed on two devices with different outcomes; recorded as not fixed"
                            .into(),
                    );
                }
                self.cancel_vs_work();
            }
            EventKind::FollowedUp {
                score,
                comment,
                remedial,
            } => {
                let value = FollowUp {
                    score: *score,
                    comment: comment.clone(),
                    remedial: remedial.clone(),
                    by: stamp(e),
                };
                // The lower score wins: a complaint must not be hidden by a concurrent call note.
                let rank = 5u8.saturating_sub(*score);
                let mut reg = self.follow_up.take();
                let clash = self.set(&mut reg, value, pos, rank, |a, b| a.score == b.score);
                self.follow_up = reg;
                self.record_clash("follow-up", clash, pos);
            }
            EventKind::Cancelled { reason } => {
                if self.cancelled.is_none() {
                    self.cancelled = Some((
                        Cancellation {
                            reason: reason.clone(),
                            by: stamp(e),
                        },
                        pos,
                    ));
                }
                self.cancel_vs_work();
            }
            EventKind::Reopened { .. } => {
                self.accepted = None;
                self.progress = Progress::default();
                self.test = None;
                self.signature = None;
                self.completion = None;
                self.follow_up = None;
                self.escalation_handled = None;
                self.cancelled = None;
            }
            EventKind::ConflictResolved { conflict, .. } => {
                self.resolved.insert(conflict.clone());
            }
            EventKind::Classified { category, urgent } => {
                // A later classification (in causal order) refines an earlier one.
                self.classification = Some(Classification {
                    category: *category,
                    urgent: *urgent,
                    by: stamp(e),
                });
            }
            EventKind::EscalationHandled { escalation, action } => {
                if self.escalation_handled.is_none() {
                    self.escalation_handled = Some(EscalationHandling {
                        escalation: escalation.clone(),
                        action: action.clone(),
                        by: stamp(e),
                    });
                }
            }
        }
    }

    fn record_clash(&mut self, what: &str, clash: Option<usize>, pos: usize) {
        if let Some(other) = clash {
            self.conflict(
                ConflictKind::ConcurrentRecord,
                &[other, pos],
                format!(
                    "{what} recorded twice at once; both are in the history, the view shows one"
                ),
            );
        }
    }

    fn office_assignment(&mut self, pos: usize, to: Option<String>) {
        if let Some(cur) = self.assign_pos {
            let cur_ev = self.ev(cur);
            let cur_is_office = matches!(
                cur_ev.kind,
                EventKind::Assigned { .. } | EventKind::Unassigned { .. }
            );
            if cur_is_office && self.c.concurrent(cur, pos) && self.assignee != to {
                let new_wins = self.outranks(pos, 0, cur, 0);
                let winner = if new_wins {
                    to.clone()
                } else {
                    self.assignee.clone()
                };
                self.conflict(
                    ConflictKind::ConcurrentAssignment,
                    &[cur, pos],
                    format!(
                        "assigned concurrently by two people; kept {} (later device time)",
                        winner.as_deref().unwrap_or("unassigned")
                    ),
                );
                if !new_wins {
                    return;
                }
            }
        }
        self.hand_over(to, pos);
    }

    fn accept(&mut self, pos: usize) {
        let e = self.ev(pos);
        if self.assignee.as_deref() == Some(e.user.as_str()) {
            self.accepted = Some(pos);
            return;
        }
        // The technician gave the job back concurrently (decline on another device, or the
        // acceptance timeout): the acceptance wins, so the job is covered.
        if let Some(cur) = self.assign_pos {
            let kind = match &self.ev(cur).kind {
                EventKind::Declined { .. } if self.ev(cur).user == e.user => {
                    Some(ConflictKind::DeclineVsAccept)
                }
                EventKind::AcceptTimedOut { technician } if *technician == e.user => {
                    Some(ConflictKind::TimeoutVsAccept)
                }
                _ => None,
            };
            if let Some(kind) = kind.filter(|_| self.c.concurrent(cur, pos)) {
                self.assignee = Some(e.user.clone());
                self.assign_pos = Some(pos);
                self.accepted = Some(pos);
                self.conflict(kind, &[cur, pos], accept_wins(&e.user));
            }
        }
    }

    fn give_back(&mut self, pos: usize, technician: &str, kind: ConflictKind) {
        if self.assignee.as_deref() != Some(technician) {
            return;
        }
        if let Some(acc) = self.accepted.filter(|&a| self.c.concurrent(a, pos)) {
            self.conflict(kind, &[pos, acc], accept_wins(technician));
            return;
        }
        self.hand_over(None, pos);
    }

    /// A cancellation concurrent with a signature or completion: the work stands.
    fn cancel_vs_work(&mut self) {
        let Some(cancel) = self.cancelled.as_ref().map(|(_, p)| *p) else {
            return;
        };
        let work: Vec<usize> = [
            self.signature.as_ref().map(|r| r.pos),
            self.completion.as_ref().map(|r| r.pos),
        ]
        .into_iter()
        .flatten()
        .filter(|&w| self.c.concurrent(w, cancel))
        .collect();
        for w in work {
            self.conflict(
                ConflictKind::CancelVsWork,
                &[cancel, w],
                "cancelled while the work was signed or completed on site; the recorded work stands and the cancellation is not applied".into(),
            );
        }
    }

    fn part_added(&mut self, pos: usize, line: &str, part: &PartFields) {
        if self.parts.contains_key(line) {
            return;
        }
        let dup: Vec<usize> = self
            .parts
            .values()
            .filter(|p| p.removed.is_none() && p.fields.sku == part.sku)
            .map(|p| p.added)
            .filter(|&a| self.c.concurrent(a, pos) && self.ev(a).device != self.ev(pos).device)
            .collect();
        for other in dup {
            self.conflict(
                ConflictKind::PossibleDuplicatePart,
                &[other, pos],
                format!(
                    "part {} added on two devices at once; both lines are kept, remove one if it was used only once",
                    part.sku
                ),
            );
        }
        self.parts.insert(
            line.to_owned(),
            PartState {
                fields: part.clone(),
                added: pos,
                field_pos: BTreeMap::new(),
                removed: None,
            },
        );
    }

    fn part_changed(&mut self, pos: usize, line: &str, patch: &super::model::PartPatch) {
        let Some(mut state) = self.parts.remove(line) else {
            return;
        };
        let mut clashes: Vec<(&'static str, usize)> = Vec::new();
        macro_rules! field {
            ($name:ident) => {
                if let Some(v) = &patch.$name {
                    let key = stringify!($name);
                    let apply = match state.field_pos.get(key) {
                        Some(&old) if self.c.concurrent(old, pos) => {
                            let old_patch = match &self.ev(old).kind {
                                EventKind::PartChanged { patch, .. } => patch.$name.clone(),
                                _ => None,
                            };
                            if old_patch.as_ref() != Some(v) {
                                clashes.push((key, old));
                            }
                            self.outranks(pos, 0, old, 0)
                        }
                        _ => true,
                    };
                    if apply {
                        state.fields.$name = v.clone();
                        state.field_pos.insert(key, pos);
                    }
                }
            };
        }
        field!(qty);
        field!(serial_new);
        field!(serial_old);
        field!(price_cents);
        field!(old_part);
        let removed_concurrently = state.removed.filter(|&r| self.c.concurrent(r, pos));
        self.parts.insert(line.to_owned(), state);
        for (field, other) in clashes {
            self.conflict(
                ConflictKind::PartLineChanged,
                &[other, pos],
                format!("{field} of part line {line} changed on two devices; kept the later device time"),
            );
        }
        if let Some(r) = removed_concurrently {
            self.conflict(
                ConflictKind::PartChangedWhileRemoved,
                &[r, pos],
                format!("part line {line} was changed on one device and removed on another; it stays removed with the change recorded"),
            );
        }
    }

    fn part_removed(&mut self, pos: usize, line: &str) {
        let Some(state) = self.parts.get_mut(line) else {
            return;
        };
        if state.removed.is_some() {
            return;
        }
        state.removed = Some(pos);
        let changed: Vec<usize> = state
            .field_pos
            .values()
            .copied()
            .filter(|&p| self.c.concurrent(p, pos))
            .collect();
        for other in changed {
            self.conflict(
                ConflictKind::PartChangedWhileRemoved,
                &[pos, other],
                format!("part line {line} was changed on one device and removed on another; it stays removed with the change recorded"),
            );
        }
    }

    /// A technician's steps made offline, concurrent with an office (re)assignment that moved
    /// the job away from that technician. Found pairwise, after the fold, so the outcome does
    /// not depend on which of the two the linear order put first.
    fn reassignment_conflicts(&mut self) {
        let n = self.c.events.len();
        let mut assigned: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for a in 0..n {
            if let EventKind::Assigned { technician, .. } = &self.ev(a).kind {
                assigned.entry(technician.as_str()).or_default().push(a);
            }
        }
        let was_assigned_before = |tech: &str, w: usize| {
            assigned
                .get(tech)
                .is_some_and(|list| list.iter().any(|&a| self.c.is_ancestor(a, w)))
        };
        let mut found: Vec<(usize, String, Vec<usize>)> = Vec::new();
        for r in 0..n {
            let target = match &self.ev(r).kind {
                EventKind::Assigned { technician, .. } => Some(technician.as_str()),
                EventKind::Unassigned { .. } => None,
                _ => continue,
            };
            let mut by_tech: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for w in 0..n {
                let we = self.ev(w);
                if we.role != Role::Technician
                    || Some(we.user.as_str()) == target
                    || !is_field_work(&we.kind)
                    || !self.c.concurrent(r, w)
                    || !was_assigned_before(&we.user, w)
                {
                    continue;
                }
                by_tech.entry(we.user.clone()).or_default().push(w);
            }
            for (tech, work) in by_tech {
                found.push((r, tech, work));
            }
        }
        for (r, tech, work) in found {
            let mut events = vec![r];
            events.extend(&work);
            let to = match &self.ev(r).kind {
                EventKind::Assigned { technician, .. } => technician.clone(),
                _ => "nobody".into(),
            };
            self.conflict(
                ConflictKind::ReassignedWhileWorking,
                &events,
                format!(
                    "reassigned from {tech} to {to} while {tech} worked offline ({} steps); the work is kept{}",
                    work.len(),
                    if self.completion.is_some() { " and the completion stands" } else { "; the new assignment stands" }
                ),
            );
        }
    }

    fn finish(self, id: &str, intake: &Intake, notes: String) -> View {
        let ev = |p: usize| self.c.events[p];
        let completion = self.completion.map(|r| r.value);
        let signature = self.signature.map(|r| r.value);
        let follow_up = self.follow_up.map(|r| r.value);
        // Recorded work beats a cancellation (see CancelVsWork).
        let cancellation = self
            .cancelled
            .filter(|_| completion.is_none() && signature.is_none())
            .map(|(c, _)| c);
        let accepted = match (&self.assignee, self.accepted) {
            (Some(a), Some(p)) => ev(p).user == *a,
            _ => false,
        };
        let p = &self.progress;
        let status = if cancellation.is_some() {
            Status::Cancelled
        } else if let Some(fu) = &follow_up {
            if fu.score <= super::model::LOW_SCORE_MAX && self.escalation_handled.is_none() {
                Status::Escalated
            } else {
                Status::Closed
            }
        } else if completion.is_some() {
            Status::Completed
        } else if signature.is_some() {
            Status::Signed
        } else if self.assignee.is_none() {
            Status::PendingDispatch
        } else if !accepted {
            Status::Assigned
        } else if p.working {
            Status::InProgress
        } else if p.consented {
            Status::ConsentGiven
        } else if p.quoted {
            Status::Quoted
        } else if p.diagnosed {
            Status::Diagnosed
        } else if p.on_site {
            Status::OnSite
        } else if p.en_route {
            Status::EnRoute
        } else if self.appointment.is_some() {
            Status::Scheduled
        } else {
            Status::Accepted
        };
        let mut parts: Vec<(usize, PartLine)> = self
            .parts
            .into_iter()
            .map(|(line, s)| {
                (
                    s.added,
                    PartLine {
                        line,
                        sku: s.fields.sku,
                        qty: s.fields.qty,
                        serial_new: s.fields.serial_new,
                        serial_old: s.fields.serial_old,
                        price_cents: s.fields.price_cents,
                        old_part: s.fields.old_part,
                        added: stamp(ev(s.added)),
                        removed: s.removed.map(|r| stamp(ev(r))),
                    },
                )
            })
            .collect();
        parts.sort_by_key(|(pos, _)| *pos);
        let mut photos: Vec<Photo> = self
            .photos
            .into_values()
            .map(|s| Photo {
                removed: s.removed.map(|r| stamp(ev(r))),
                ..s.photo
            })
            .collect();
        photos.sort_by(|a, b| (a.added.at, &a.photo).cmp(&(b.added.at, &b.photo)));
        let resolved = self.resolved;
        let conflicts = self
            .conflicts
            .into_values()
            .map(|mut c| {
                c.resolved = resolved.contains(&c.id);
                c
            })
            .collect();
        View {
            id: id.to_owned(),
            intake: intake.clone(),
            status,
            assignee: self.assignee,
            accepted,
            appointment: self.appointment.map(|r| r.value),
            diagnosis: self.diagnosis.map(|r| r.value),
            quote: self.quote.map(|r| r.value),
            consent: self.consent.map(|r| r.value),
            parts: parts.into_iter().map(|(_, p)| p).collect(),
            photos,
            notes,
            test: self.test.map(|r| r.value),
            signature,
            completion,
            follow_up,
            classification: self.classification,
            escalation_handled: self.escalation_handled,
            cancellation,
            conflicts,
            event_count: self.c.events.len(),
        }
    }
}

fn accept_wins(tech: &str) -> String {
    format!("{tech} accepted on one device while the job was given back on another; the acceptance stands, confirm with {tech}")
}

/// Steps that show a technician was working the job.
fn is_field_work(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Created
            | EventKind::Assigned { .. }
            | EventKind::Unassigned { .. }
            | EventKind::Declined { .. }
            | EventKind::AcceptTimedOut { .. }
            | EventKind::NotesEdited
            | EventKind::FollowedUp { .. }
            | EventKind::Cancelled { .. }
            | EventKind::Reopened { .. }
            | EventKind::ConflictResolved { .. }
            | EventKind::Classified { .. }
            | EventKind::EscalationHandled { .. }
            | EventKind::Unknown
    )
}
