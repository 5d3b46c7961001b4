/**
 * The status fold: a deterministic function from the set of events to a {@link View}, a
 * line-by-line port of sync-core/src/workorder/fold.rs. Single-valued facts live in
 * registers: a later event that had seen the current value replaces it; two concurrent
 * values are decided by a rank, then device time, then event id, and reported as a conflict.
 * The shared vectors (vectors/workorder/) keep the two folds equal.
 */
import { Causal, cmpStr } from "./causal.js";
import { acceptWins, newConflict } from "./conflict.js";
import { finish, reassignmentConflicts } from "./fold_finish.js";
import type { Intake, PartFields, PartPatch, WorkOrderEvent } from "./model.js";
import type {
  Appointment,
  Cancellation,
  Classification,
  Completion,
  Conflict,
  ConflictKind,
  Consent,
  Diagnosis,
  EscalationHandling,
  FollowUp,
  Photo,
  Quote,
  Signature,
  Stamp,
  TestResult,
  View,
} from "./view.js";

/** A single-valued fact and the event that set it. */
export interface Reg<T> {
  value: T;
  pos: number;
  rank: number;
}

/** Visit progress of the current assignment; reset when the job changes hands. */
export interface Progress {
  en_route: boolean;
  on_site: boolean;
  diagnosed: boolean;
  quoted: boolean;
  consented: boolean;
  working: boolean;
}

const noProgress = (): Progress => ({
  en_route: false,
  on_site: false,
  diagnosed: false,
  quoted: false,
  consented: false,
  working: false,
});

export interface PartState {
  fields: PartFields;
  added: number;
  /** Last event that set each patched field, by field name. */
  fieldPos: Map<keyof PartPatch, number>;
  removed: number | null;
}

export interface PhotoState {
  photo: Photo;
  removed: number | null;
}

export function stamp(e: WorkOrderEvent): Stamp {
  return { event: e.id, user: e.user, role: e.role, device: e.device, at: e.at };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The patchable fields of a part line, in the order sync-core applies them. */
const PATCH_FIELDS: (keyof PartPatch)[] = [
  "qty",
  "serial_new",
  "serial_old",
  "price_cents",
  "old_part",
];

export class Fold {
  assignee: string | null = null;
  /** The event that decided the current assignee. */
  assignPos: number | null = null;
  accepted: number | null = null;
  progress: Progress = noProgress();
  appointment: Reg<Appointment> | null = null;
  diagnosis: Reg<Diagnosis> | null = null;
  quote: Reg<Quote> | null = null;
  consent: Reg<Consent> | null = null;
  test: Reg<TestResult> | null = null;
  signature: Reg<Signature> | null = null;
  completion: Reg<Completion> | null = null;
  followUp: Reg<FollowUp> | null = null;
  classification: Classification | null = null;
  escalationHandled: EscalationHandling | null = null;
  cancelled: { value: Cancellation; pos: number } | null = null;
  parts = new Map<string, PartState>();
  photos = new Map<string, PhotoState>();
  conflicts = new Map<string, Conflict>();
  resolved = new Set<string>();

  constructor(readonly c: Causal) {}

  ev(pos: number): WorkOrderEvent {
    return this.c.events[pos]!;
  }

  conflict(kind: ConflictKind, events: number[], outcome: string): void {
    const conflict = newConflict(
      kind,
      events.map((p) => this.ev(p).id),
      outcome,
    );
    if (!this.conflicts.has(conflict.id)) this.conflicts.set(conflict.id, conflict);
  }

  /** Whether `next` (rank, time, id) beats `old` when the two are concurrent. */
  outranks(next: number, nextRank: number, old: number, oldRank: number): boolean {
    const a = this.ev(next);
    const b = this.ev(old);
    if (nextRank !== oldRank) return nextRank > oldRank;
    if (a.at !== b.at) return a.at > b.at;
    return cmpStr(a.id, b.id) > 0;
  }

  /** Sets a register; returns the new register and the position of a clashing value. */
  set<T>(
    reg: Reg<T> | null,
    value: T,
    pos: number,
    rank: number,
    eq: (a: T, b: T) => boolean,
  ): [Reg<T>, number | null] {
    if (reg !== null && this.c.concurrent(reg.pos, pos)) {
      const clash = eq(reg.value, value) ? null : reg.pos;
      const next = this.outranks(pos, rank, reg.pos, reg.rank) ? { value, pos, rank } : reg;
      return [next, clash];
    }
    return [{ value, pos, rank }, null];
  }

  handOver(to: string | null, pos: number): void {
    if (this.assignee !== to) {
      this.accepted = null;
      this.progress = noProgress();
    }
    this.assignee = to;
    this.assignPos = pos;
  }

  /** Technician steps count for the visit only when taken by the current assignee. */
  byAssignee(e: WorkOrderEvent): boolean {
    return e.role !== "technician" || this.assignee === e.user;
  }

  recordClash(what: string, clash: number | null, pos: number): void {
    if (clash !== null) {
      this.conflict(
        "concurrent_record",
        [clash, pos],
        `${what} recorded twice at once; both are in the history, the view shows one`,
      );
    }
  }

  apply(pos: number): void {
    const e = this.ev(pos);
    const k = e.kind;
    switch (k.kind) {
      case "created":
      case "notes_edited":
      case "unknown":
        return;
      case "assigned":
        return this.officeAssignment(pos, k.technician);
      case "unassigned":
        return this.officeAssignment(pos, null);
      case "accepted":
        return this.accept(pos);
      case "declined":
        return this.giveBack(pos, e.user, "decline_vs_accept");
      case "accept_timed_out":
        return this.giveBack(pos, k.technician, "timeout_vs_accept");
      case "appointment_set": {
        const value: Appointment = { start: k.start, end: k.end, reason: k.reason, set: stamp(e) };
        // The technician booked the visit with the customer and must attend it.
        const rank = e.role === "technician" ? 1 : 0;
        const [reg, other] = this.set(
          this.appointment,
          value,
          pos,
          rank,
          (a, b) => a.start === b.start && a.end === b.end,
        );
        this.appointment = reg;
        if (other !== null) {
          this.conflict(
            "appointment_changed",
            [other, pos],
            `appointment set concurrently; kept the one set by ${reg.value.set.user} (technician's wins, then later device time); tell the customer`,
          );
        }
        return;
      }
      case "en_route":
        if (this.byAssignee(e)) this.progress.en_route = true;
        return;
      case "on_site":
        if (this.byAssignee(e)) this.progress.on_site = true;
        return;
      case "work_started":
        if (this.byAssignee(e)) this.progress.working = true;
        return;
      case "diagnosed": {
        const value: Diagnosis = { cause: k.cause, solutions: [...k.solutions], by: stamp(e) };
        const [reg, clash] = this.set(this.diagnosis, value, pos, 0, (a, b) =>
          same([a.cause, a.solutions], [b.cause, b.solutions]),
        );
        this.diagnosis = reg;
        this.recordClash("diagnosis", clash, pos);
        if (this.byAssignee(e)) this.progress.diagnosed = true;
        return;
      }
      case "quoted": {
        const items = k.items.map((i) => ({ ...i }));
        const value: Quote = {
          items,
          total_cents: items.reduce((s, i) => s + i.price_cents, 0),
          by: stamp(e),
        };
        const [reg, clash] = this.set(this.quote, value, pos, 0, (a, b) => same(a.items, b.items));
        this.quote = reg;
        this.recordClash("quote", clash, pos);
        if (this.byAssignee(e)) this.progress.quoted = true;
        return;
      }
      case "consent_given": {
        // The consent answers the latest quote its author had seen.
        let quoteEvent: string | null = null;
        for (let q = pos - 1; q >= 0; q--) {
          if (this.ev(q).kind.kind === "quoted" && this.c.isAncestor(q, pos)) {
            quoteEvent = this.ev(q).id;
            break;
          }
        }
        const value: Consent = { by_name: k.by, quote_event: quoteEvent, recorded: stamp(e) };
        const [reg, clash] = this.set(
          this.consent,
          value,
          pos,
          0,
          (a, b) => a.by_name === b.by_name && a.quote_event === b.quote_event,
        );
        this.consent = reg;
        this.recordClash("consent", clash, pos);
        if (this.byAssignee(e)) this.progress.consented = true;
        return;
      }
      case "tested": {
        const value: TestResult = { passed: k.passed, details: k.details, by: stamp(e) };
        // A failed test is the safer record to keep.
        const rank = k.passed ? 0 : 1;
        const [reg, clash] = this.set(this.test, value, pos, rank, (a, b) => a.passed === b.passed);
        this.test = reg;
        this.recordClash("functional test", clash, pos);
        if (this.byAssignee(e)) this.progress.working = true;
        return;
      }
      case "part_added":
        return this.partAdded(pos, k.line, k.part);
      case "part_changed":
        return this.partChanged(pos, k.line, k.patch);
      case "part_removed":
        return this.partRemoved(pos, k.line);
      case "photo_added":
        if (!this.photos.has(k.photo)) {
          this.photos.set(k.photo, {
            photo: {
              photo: k.photo,
              blob: k.blob,
              kind: k.photo_kind,
              caption: k.caption,
              taken_at: k.taken_at,
              added: stamp(e),
              removed: null,
            },
            removed: null,
          });
        }
        return;
      case "photo_removed": {
        const p = this.photos.get(k.photo);
        if (p !== undefined && p.removed === null) p.removed = pos;
        return;
      }
      case "signed": {
        const value: Signature = {
          signer: k.signer,
          blob: k.blob,
          heads: [...k.heads],
          digest: k.digest,
          by: stamp(e),
        };
        // Two signatures are two records of the customer's consent; keep the later one.
        this.signature = this.set(this.signature, value, pos, 0, () => true)[0];
        return this.cancelVsWork();
      }
      case "completed": {
        const value: Completion = { fixed: k.fixed, by: stamp(e) };
        // "Not fixed" wins: the first-time-fix rate must never be overstated.
        const rank = k.fixed ? 0 : 1;
        const [reg, clash] = this.set(this.completion, value, pos, rank, (a, b) => a.fixed === b.fixed);
        this.completion = reg;
        if (clash !== null) {
          this.conflict(
            "completed_twice",
            [clash, pos],
            "completed on two devices with different outcomes; recorded as not fixed",
          );
        }
        return this.cancelVsWork();
      }
      case "followed_up": {
        const value: FollowUp = {
          score: k.score,
          comment: k.comment,
          remedial: k.remedial,
          by: stamp(e),
        };
        // The lower score wins: a complaint must not be hidden by a concurrent call note.
        const rank = Math.max(0, 5 - k.score);
        const [reg, clash] = this.set(this.followUp, value, pos, rank, (a, b) => a.score === b.score);
        this.followUp = reg;
        this.recordClash("follow-up", clash, pos);
        return;
      }
      case "cancelled":
        if (this.cancelled === null) {
          this.cancelled = { value: { reason: k.reason, by: stamp(e) }, pos };
        }
        return this.cancelVsWork();
      case "reopened":
        this.accepted = null;
        this.progress = noProgress();
        this.test = null;
        this.signature = null;
        this.completion = null;
        this.followUp = null;
        this.escalationHandled = null;
        this.cancelled = null;
        return;
      case "conflict_resolved":
        this.resolved.add(k.conflict);
        return;
      case "classified":
        // A later classification (in causal order) refines an earlier one.
        this.classification = { category: k.category, urgent: k.urgent, by: stamp(e) };
        return;
      case "escalation_handled":
        if (this.escalationHandled === null) {
          this.escalationHandled = { escalation: k.escalation, action: k.action, by: stamp(e) };
        }
        return;
    }
  }

  officeAssignment(pos: number, to: string | null): void {
    const cur = this.assignPos;
    if (cur !== null) {
      const curKind = this.ev(cur).kind.kind;
      const curIsOffice = curKind === "assigned" || curKind === "unassigned";
      if (curIsOffice && this.c.concurrent(cur, pos) && this.assignee !== to) {
        const newWins = this.outranks(pos, 0, cur, 0);
        const winner = newWins ? to : this.assignee;
        this.conflict(
          "concurrent_assignment",
          [cur, pos],
          `assigned concurrently by two people; kept ${winner ?? "unassigned"} (later device time)`,
        );
        if (!newWins) return;
      }
    }
    this.handOver(to, pos);
  }

  accept(pos: number): void {
    const e = this.ev(pos);
    if (this.assignee === e.user) {
      this.accepted = pos;
      return;
    }
    // The technician gave the job back concurrently: the acceptance wins.
    const cur = this.assignPos;
    if (cur === null) return;
    const ck = this.ev(cur).kind;
    let kind: ConflictKind | null = null;
    if (ck.kind === "declined" && this.ev(cur).user === e.user) kind = "decline_vs_accept";
    if (ck.kind === "accept_timed_out" && ck.technician === e.user) kind = "timeout_vs_accept";
    if (kind !== null && this.c.concurrent(cur, pos)) {
      this.assignee = e.user;
      this.assignPos = pos;
      this.accepted = pos;
      this.conflict(kind, [cur, pos], acceptWins(e.user));
    }
  }

  giveBack(pos: number, technician: string, kind: ConflictKind): void {
    if (this.assignee !== technician) return;
    const acc = this.accepted;
    if (acc !== null && this.c.concurrent(acc, pos)) {
      this.conflict(kind, [pos, acc], acceptWins(technician));
      return;
    }
    this.handOver(null, pos);
  }

  /** A cancellation concurrent with a signature or completion: the work stands. */
  cancelVsWork(): void {
    if (this.cancelled === null) return;
    const cancel = this.cancelled.pos;
    const work = [this.signature?.pos, this.completion?.pos].filter(
      (w): w is number => w !== undefined && this.c.concurrent(w, cancel),
    );
    for (const w of work) {
      this.conflict(
        "cancel_vs_work",
        [cancel, w],
        "cancelled while the work was signed or completed on site; the recorded work stands and the cancellation is not applied",
      );
    }
  }

  partAdded(pos: number, line: string, part: PartFields): void {
    if (this.parts.has(line)) return;
    const dup = [...this.parts.entries()]
      .sort(([a], [b]) => cmpStr(a, b))
      .map(([, p]) => p)
      .filter((p) => p.removed === null && p.fields.sku === part.sku)
      .map((p) => p.added)
      .filter((a) => this.c.concurrent(a, pos) && this.ev(a).device !== this.ev(pos).device);
    for (const other of dup) {
      this.conflict(
        "possible_duplicate_part",
        [other, pos],
        `part ${part.sku} added on two devices at once; both lines are kept, remove one if it was used only once`,
      );
    }
    this.parts.set(line, { fields: { ...part }, added: pos, fieldPos: new Map(), removed: null });
  }

  partChanged(pos: number, line: string, patch: PartPatch): void {
    const state = this.parts.get(line);
    if (state === undefined) return;
    const clashes: [string, number][] = [];
    for (const key of PATCH_FIELDS) {
      const v = patch[key];
      if (v === null) continue;
      const old = state.fieldPos.get(key);
      let apply = true;
      if (old !== undefined && this.c.concurrent(old, pos)) {
        const ok = this.ev(old).kind;
        const oldValue = ok.kind === "part_changed" ? ok.patch[key] : null;
        if (oldValue !== v) clashes.push([key, old]);
        apply = this.outranks(pos, 0, old, 0);
      }
      if (apply) {
        (state.fields as unknown as Record<string, unknown>)[key] = v;
        state.fieldPos.set(key, pos);
      }
    }
    const removed = state.removed;
    const removedConcurrently = removed !== null && this.c.concurrent(removed, pos) ? removed : null;
    for (const [field, other] of clashes) {
      this.conflict(
        "part_line_changed",
        [other, pos],
        `${field} of part line ${line} changed on two devices; kept the later device time`,
      );
    }
    if (removedConcurrently !== null) {
      this.conflict(
        "part_changed_while_removed",
        [removedConcurrently, pos],
        `part line ${line} was changed on one device and removed on another; it stays removed with the change recorded`,
      );
    }
  }

  partRemoved(pos: number, line: string): void {
    const state = this.parts.get(line);
    if (state === undefined || state.removed !== null) return;
    state.removed = pos;
    const changed = [...state.fieldPos.entries()]
      .sort(([a], [b]) => cmpStr(a, b))
      .map(([, p]) => p)
      .filter((p) => this.c.concurrent(p, pos));
    for (const other of changed) {
      this.conflict(
        "part_changed_while_removed",
        [pos, other],
        `part line ${line} was changed on one device and removed on another; it stays removed with the change recorded`,
      );
    }
  }
}

/** Folds `events` into the view of the work order `id`. */
export function fold(
  id: string,
  intake: Intake,
  notes: string,
  events: readonly WorkOrderEvent[],
): View {
  const f = new Fold(new Causal(events));
  for (let pos = 0; pos < f.c.events.length; pos++) f.apply(pos);
  reassignmentConflicts(f);
  return finish(f, id, intake, notes);
}
