/**
 * Reading a work-order Automerge document (what autosurgeon's hydrate does in sync-core) and
 * the Automerge actor of a device.
 */
import * as A from "@automerge/automerge";

import { sha256, toHex, utf8 } from "../sha256.js";
import { WorkOrderError } from "./error.js";
import { parseEvent } from "./event_json.js";
import { SCHEMA_VERSION, type Intake, type WorkOrderEvent } from "./model.js";

/** The whole document, for reading. */
export interface DocumentData {
  schema: number;
  id: string;
  intake: Intake;
  notes: string;
  events: WorkOrderEvent[];
  /** The number of elements of the events list (the index the next event is inserted at). */
  listLength: number;
}

/**
 * The Automerge actor of a device: the first 16 bytes of SHA-256 of its id, as sync-core's
 * `actor_id_for` derives it, so one device always writes as one actor in either language.
 */
export function actorIdFor(device: string): string {
  return toHex(sha256(utf8(device)).subarray(0, 16));
}

/** A scalar string, whether Automerge hands it out as a string or an ImmutableString. */
function str(v: unknown, what: string): string {
  if (typeof v === "string") return v;
  if (A.isImmutableString(v)) return (v as A.ImmutableString).val;
  throw WorkOrderError.shape(`${what} is not a string`);
}

function map(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || A.isImmutableString(v)) {
    throw WorkOrderError.shape(`${what} is not a map`);
  }
  return v as Record<string, unknown>;
}

function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw WorkOrderError.shape(`${what} is not a list`);
  return v;
}

/** autosurgeon stores a unit enum variant by its Rust name (`CustomerKeeps`); serde's view uses snake_case. */
function variant<T extends string>(v: unknown, what: string, allowed: readonly T[]): T {
  const name = str(v, what);
  const snake = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase() as T;
  if (!/^[A-Z]/.test(name) || !allowed.includes(snake)) {
    throw WorkOrderError.shape(`${what} ${JSON.stringify(name)} is not one of ${allowed.join(", ")}`);
  }
  return snake;
}

/** Degrees as a number: sync-core writes floats; an integer may come back as a bigint. */
function degrees(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw WorkOrderError.shape(`${what} is not a number`);
}

function readIntake(v: unknown): Intake {
  const m = map(v, "intake");
  const c = map(m.customer, "intake.customer");
  const p = map(m.product, "intake.product");
  const intake: Intake = {
    customer: {
      name: str(c.name, "customer.name"),
      phone: str(c.phone, "customer.phone"),
      address: str(c.address, "customer.address"),
      tier: variant(c.tier, "customer.tier", ["standard", "vip"] as const),
    },
    product: {
      model: str(p.model, "product.model"),
      serial: str(p.serial, "product.serial"),
      purchase_date: str(p.purchase_date, "product.purchase_date"),
    },
    service_type: variant(m.service_type, "service_type", [
      "install",
      "repair",
      "maintenance",
      "inspection",
      "complaint",
    ] as const),
    problem: str(m.problem, "problem"),
    priority: variant(m.priority, "priority", ["normal", "vip", "urgent"] as const),
    required_skills: list(m.required_skills, "required_skills").map((s) => str(s, "skill")),
    region: str(m.region, "region"),
    attachments: list(m.attachments, "attachments").map((s) => str(s, "attachment")),
  };
  // Absent in documents without coordinates (and in every document written before them).
  if (m.site !== undefined && m.site !== null) {
    const s = map(m.site, "intake.site");
    intake.site = { lat: degrees(s.lat, "site.lat"), lon: degrees(s.lon, "site.lon") };
  }
  return intake;
}

function schemaOf(v: unknown): number {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  throw WorkOrderError.shape("schema is not an unsigned integer");
}

function textOf(v: unknown): string {
  if (typeof v !== "string") throw WorkOrderError.shape("notes is not text");
  return v;
}

/** Reads the document; refuses one of a newer layout or of another shape. */
export function readDocument(doc: A.Doc<unknown>): DocumentData {
  const root = map(doc, "the document");
  const schema = schemaOf(root.schema);
  if (schema > SCHEMA_VERSION) {
    throw new WorkOrderError(
      "newer_schema",
      `document layout ${schema} is newer than this software understands (up to ${SCHEMA_VERSION})`,
    );
  }
  const raw = list(root.events, "events");
  return {
    schema,
    id: str(root.id, "id"),
    intake: readIntake(root.intake),
    // Automerge text reads as a plain string; a scalar string (ImmutableString) is not text.
    notes: textOf(root.notes),
    events: raw.map((e) => parseEvent(str(e, "an event"))),
    listLength: raw.length,
  };
}
