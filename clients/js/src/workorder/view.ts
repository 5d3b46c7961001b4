/**
 * What the fold derives from a work order's events (sync-core/src/workorder/view.rs). The
 * field names and `null`s are those of the Rust `View` serialized with serde, so a view
 * folded here compares equal, as JSON, to the one sync-core folds.
 */
import type {
  ComplaintCategory,
  Intake,
  OldPart,
  PhotoKind,
  QuoteItem,
  Role,
} from "./model.js";

export type Status =
  | "pending_dispatch"
  | "assigned"
  | "accepted"
  | "scheduled"
  | "en_route"
  | "on_site"
  | "diagnosed"
  | "quoted"
  | "consent_given"
  | "in_progress"
  | "signed"
  | "completed"
  | "escalated"
  | "closed"
  | "cancelled";

/** No more field work is expected (a reopen can still bring it back). */
export function isTerminal(s: Status): boolean {
  return s === "completed" || s === "escalated" || s === "closed" || s === "cancelled";
}

/** Who did something, when (device time) and through which event. */
export interface Stamp {
  event: string;
  user: string;
  role: Role;
  device: string;
  at: number;
}

export interface Appointment {
  start: number;
  end: number;
  reason: string;
  set: Stamp;
}
export interface Diagnosis {
  cause: string;
  solutions: string[];
  by: Stamp;
}
export interface Quote {
  items: QuoteItem[];
  total_cents: number;
  by: Stamp;
}
export interface Consent {
  by_name: string;
  /** The quote event this consent answers. */
  quote_event: string | null;
  recorded: Stamp;
}
export interface PartLine {
  line: string;
  sku: string;
  qty: number;
  serial_new: string;
  serial_old: string;
  price_cents: number;
  old_part: OldPart;
  added: Stamp;
  removed: Stamp | null;
}
export interface Photo {
  photo: string;
  blob: string;
  kind: PhotoKind;
  caption: string;
  taken_at: number;
  added: Stamp;
  removed: Stamp | null;
}
export interface TestResult {
  passed: boolean;
  details: string;
  by: Stamp;
}
export interface Signature {
  signer: string;
  blob: string;
  heads: string[];
  digest: string;
  by: Stamp;
}
export interface Completion {
  fixed: boolean;
  by: Stamp;
}
export interface FollowUp {
  score: number;
  comment: string;
  remedial: string;
  by: Stamp;
}
export interface Classification {
  category: ComplaintCategory;
  urgent: boolean;
  by: Stamp;
}
export interface EscalationHandling {
  escalation: string;
  action: string;
  by: Stamp;
}
export interface Cancellation {
  reason: string;
  by: Stamp;
}

export type ConflictKind =
  | "reassigned_while_working"
  | "concurrent_assignment"
  | "decline_vs_accept"
  | "timeout_vs_accept"
  | "cancel_vs_work"
  | "completed_twice"
  | "appointment_changed"
  | "part_line_changed"
  | "part_changed_while_removed"
  | "possible_duplicate_part"
  | "concurrent_record";

/** Concurrent steps resolved by a documented rule (docs/CONFLICTS.md). */
export interface Conflict {
  /** `<kind>:<sorted event ids>`: the same on every replica. */
  id: string;
  kind: ConflictKind;
  events: string[];
  outcome: string;
  resolved: boolean;
}

/** Everything derived from one work order's document. */
export interface View {
  id: string;
  intake: Intake;
  status: Status;
  assignee: string | null;
  accepted: boolean;
  appointment: Appointment | null;
  diagnosis: Diagnosis | null;
  quote: Quote | null;
  consent: Consent | null;
  /** Every part line ever recorded, removed ones included. */
  parts: PartLine[];
  /** Every photo reference ever recorded, removed ones included. */
  photos: Photo[];
  notes: string;
  test: TestResult | null;
  signature: Signature | null;
  completion: Completion | null;
  follow_up: FollowUp | null;
  classification: Classification | null;
  escalation_handled: EscalationHandling | null;
  cancellation: Cancellation | null;
  conflicts: Conflict[];
  event_count: number;
}

export const activeParts = (v: View): PartLine[] => v.parts.filter((p) => p.removed === null);
export const activePhotos = (v: View): Photo[] => v.photos.filter((p) => p.removed === null);
export const openConflicts = (v: View): Conflict[] => v.conflicts.filter((c) => !c.resolved);

/** Charges the customer must consent to before chargeable work starts. */
export function chargeable(v: View): boolean {
  return v.quote !== null && v.quote.total_cents > 0;
}

/** Whether the consent on record answers the quote on record. */
export function consentCoversQuote(v: View): boolean {
  if (v.quote === null) return true;
  if (v.consent === null) return false;
  return v.consent.quote_event === v.quote.by.event;
}
