/**
 * The end of the fold: the reassignment conflicts found pairwise after all events were
 * applied, and the status and lists of the {@link View} (sync-core/src/workorder/fold.rs,
 * `reassignment_conflicts` and `finish`).
 */
import { cmpStr } from "./causal.js";
import type { Fold } from "./fold.js";
import { stamp } from "./fold.js";
import { LOW_SCORE_MAX, type EventKind, type Intake } from "./model.js";
import type { PartLine, Photo, Status, View } from "./view.js";

const NOT_FIELD_WORK = new Set<EventKind["kind"]>([
  "created",
  "assigned",
  "unassigned",
  "declined",
  "accept_timed_out",
  "notes_edited",
  "followed_up",
  "cancelled",
  "reopened",
  "conflict_resolved",
  "classified",
  "escalation_handled",
  "unknown",
]);

/**
 * A technician's steps made offline, concurrent with an office (re)assignment that moved
 * the job away from that technician.
 */
export function reassignmentConflicts(f: Fold): void {
  const n = f.c.events.length;
  const assigned = new Map<string, number[]>();
  for (let a = 0; a < n; a++) {
    const k = f.ev(a).kind;
    if (k.kind === "assigned") {
      const list = assigned.get(k.technician) ?? [];
      list.push(a);
      assigned.set(k.technician, list);
    }
  }
  const wasAssignedBefore = (tech: string, w: number): boolean =>
    (assigned.get(tech) ?? []).some((a) => f.c.isAncestor(a, w));
  const found: [number, string, number[]][] = [];
  for (let r = 0; r < n; r++) {
    const rk = f.ev(r).kind;
    let target: string | null;
    if (rk.kind === "assigned") target = rk.technician;
    else if (rk.kind === "unassigned") target = null;
    else continue;
    const byTech = new Map<string, number[]>();
    for (let w = 0; w < n; w++) {
      const we = f.ev(w);
      if (
        we.role !== "technician" ||
        we.user === target ||
        NOT_FIELD_WORK.has(we.kind.kind) ||
        !f.c.concurrent(r, w) ||
        !wasAssignedBefore(we.user, w)
      ) {
        continue;
      }
      const list = byTech.get(we.user) ?? [];
      list.push(w);
      byTech.set(we.user, list);
    }
    for (const tech of [...byTech.keys()].sort(cmpStr)) found.push([r, tech, byTech.get(tech)!]);
  }
  for (const [r, tech, work] of found) {
    const rk = f.ev(r).kind;
    const to = rk.kind === "assigned" ? rk.technician : "nobody";
    const tail =
      f.completion !== null ? " and the completion stands" : "; the new assignment stands";
    f.conflict(
      "reassigned_while_working",
      [r, ...work],
      `reassigned from ${tech} to ${to} while ${tech} worked offline (${work.length} steps); the work is kept${tail}`,
    );
  }
}

function status(f: Fold, accepted: boolean, cancelled: boolean): Status {
  const p = f.progress;
  if (cancelled) return "cancelled";
  if (f.followUp !== null) {
    return f.followUp.value.score <= LOW_SCORE_MAX && f.escalationHandled === null
      ? "escalated"
      : "closed";
  }
  if (f.completion !== null) return "completed";
  if (f.signature !== null) return "signed";
  if (f.assignee === null) return "pending_dispatch";
  if (!accepted) return "assigned";
  if (p.working) return "in_progress";
  if (p.consented) return "consent_given";
  if (p.quoted) return "quoted";
  if (p.diagnosed) return "diagnosed";
  if (p.on_site) return "on_site";
  if (p.en_route) return "en_route";
  if (f.appointment !== null) return "scheduled";
  return "accepted";
}

export function finish(f: Fold, id: string, intake: Intake, notes: string): View {
  // Recorded work beats a cancellation (see cancel_vs_work).
  const cancellation =
    f.cancelled !== null && f.completion === null && f.signature === null
      ? f.cancelled.value
      : null;
  const accepted =
    f.assignee !== null && f.accepted !== null && f.ev(f.accepted).user === f.assignee;
  const parts: [number, PartLine][] = [...f.parts.entries()].map(([line, s]) => [
    s.added,
    {
      line,
      sku: s.fields.sku,
      qty: s.fields.qty,
      serial_new: s.fields.serial_new,
      serial_old: s.fields.serial_old,
      price_cents: s.fields.price_cents,
      old_part: s.fields.old_part,
      added: stamp(f.ev(s.added)),
      removed: s.removed === null ? null : stamp(f.ev(s.removed)),
    },
  ]);
  parts.sort((a, b) => a[0] - b[0]);
  const photos: Photo[] = [...f.photos.entries()]
    .sort(([a], [b]) => cmpStr(a, b))
    .map(([, s]) => ({ ...s.photo, removed: s.removed === null ? null : stamp(f.ev(s.removed)) }));
  photos.sort((a, b) => a.added.at - b.added.at || cmpStr(a.photo, b.photo));
  const conflicts = [...f.conflicts.values()]
    .sort((a, b) => cmpStr(a.id, b.id))
    .map((c) => ({ ...c, resolved: f.resolved.has(c.id) }));
  return {
    id,
    intake,
    status: status(f, accepted, cancellation !== null),
    assignee: f.assignee,
    accepted,
    appointment: f.appointment?.value ?? null,
    diagnosis: f.diagnosis?.value ?? null,
    quote: f.quote?.value ?? null,
    consent: f.consent?.value ?? null,
    parts: parts.map(([, p]) => p),
    photos,
    notes,
    test: f.test?.value ?? null,
    signature: f.signature?.value ?? null,
    completion: f.completion?.value ?? null,
    follow_up: f.followUp?.value ?? null,
    classification: f.classification,
    escalation_handled: f.escalationHandled,
    cancellation,
    conflicts,
    event_count: f.c.events.length,
  };
}
