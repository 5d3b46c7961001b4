/**
 * The checks sync-core's operations make before recording a step
 * (sync-core/src/workorder/ops.rs and ids.rs), with the same outcomes.
 */
import { WorkOrderError } from "./error.js";
import { isOffice, type Actor } from "./model.js";
import { isTerminal, type View } from "./view.js";

/** Longest free text stored in one field (UTF-8 bytes). */
export const MAX_TEXT = 4_000;
/** Longest notes text (UTF-8 bytes). */
export const MAX_NOTES = 20_000;
/** Longest identifier (bytes). */
export const MAX_ID_LEN = 128;

export const byteLength = (s: string): number => new TextEncoder().encode(s).length;

// Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` uses; JavaScript's
// `trim` differs (it strips U+FEFF and keeps U+0085).
const WS = "[\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const TRIM = new RegExp(`^${WS}+|${WS}+$`, "gu");
export const rustTrim = (s: string): string => s.replace(TRIM, "");

export function text(field: string, value: string, required: boolean): string {
  const v = rustTrim(value);
  if (required && v.length === 0) throw WorkOrderError.invalid(field, "must not be empty");
  const len = byteLength(v);
  if (len > MAX_TEXT) throw WorkOrderError.invalid(field, `${len} bytes, at most ${MAX_TEXT}`);
  return v;
}

/** Why `s` is not a valid identifier of `kind`, or null. */
export function idProblem(kind: string, s: string): string | null {
  if (s.length === 0) return `${kind} is empty`;
  const len = byteLength(s);
  if (len > MAX_ID_LEN) return `${kind} is ${len} bytes long, at most ${MAX_ID_LEN} allowed`;
  if (!/^[A-Za-z0-9\-_.:@]+$/.test(s)) {
    return `${kind} ${JSON.stringify(s)} may hold only letters, digits and - _ . : @`;
  }
  return null;
}

export function checkId(field: string, kind: string, s: string): string {
  const problem = idProblem(kind, s);
  if (problem !== null) throw WorkOrderError.invalid(field, problem);
  return s;
}

export function blob(value: string): string {
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw WorkOrderError.invalid(
      "blob",
      `blob hash ${JSON.stringify(value)} is not 64 lower-case hex digits (a SHA-256)`,
    );
  }
  return value;
}

export function positive(qty: number): number {
  if (!Number.isInteger(qty) || qty < 0 || qty > 0xffff_ffff) {
    throw WorkOrderError.invalid("quantity", "must be a whole number");
  }
  if (qty === 0) throw WorkOrderError.invalid("quantity", "must be at least 1");
  return qty;
}

export function price(cents: number): number {
  if (!Number.isSafeInteger(cents)) throw WorkOrderError.invalid("price", "must be whole cents");
  if (cents < 0) throw WorkOrderError.invalid("price", "must not be negative");
  return cents;
}

export function time(field: string, ms: number): number {
  if (!Number.isSafeInteger(ms)) throw WorkOrderError.invalid(field, "must be whole milliseconds");
  return ms;
}

export function office(actor: Actor, op: string): void {
  if (!isOffice(actor.role)) throw WorkOrderError.roleNotAllowed(op, actor.role);
}

/** The actor is the assigned technician (and, when `accepted`, has accepted the job). */
export function assignee(view: View, actor: Actor, op: string, accepted: boolean): void {
  if (actor.role !== "technician") throw WorkOrderError.roleNotAllowed(op, actor.role);
  if (view.assignee !== actor.user) throw WorkOrderError.notAssignee(op, view.assignee);
  if (accepted && !view.accepted) throw WorkOrderError.missingStep(op, "accepting the job");
}

/** Field work is possible: not completed, closed, escalated or cancelled. */
export function open(view: View, op: string): void {
  if (isTerminal(view.status)) throw WorkOrderError.wrongStatus(op, view.status);
}

/** Open and not yet signed by the customer. */
export function unsigned(view: View, op: string): void {
  open(view, op);
  if (view.status === "signed") throw WorkOrderError.wrongStatus(op, view.status);
}

export function working(view: View, op: string): void {
  open(view, op);
  if (view.status !== "in_progress" && view.status !== "signed") {
    throw WorkOrderError.missingStep(op, "starting the work");
  }
}

export function livePart(view: View, line: string): void {
  const p = view.parts.find((p) => p.line === line);
  if (p === undefined) {
    throw new WorkOrderError("unknown_part_line", `no part line ${JSON.stringify(line)} on this work order`);
  }
  if (p.removed !== null) {
    throw new WorkOrderError("part_line_removed", `part line ${JSON.stringify(line)} was removed`);
  }
}
