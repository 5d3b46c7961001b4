/**
 * Events as stored: one JSON string per list element, exactly as serde_json writes sync-core's
 * `Event` (fields in declaration order, the kind internally tagged under `"kind"`). Reading
 * is as strict as serde: a missing or mistyped field makes the document unreadable, an
 * unknown kind is kept as `{kind: "unknown"}` and not folded.
 */
import { WorkOrderError } from "./error.js";
import {
  OLD_PARTS,
  PHOTO_KINDS,
  ROLES,
  type EventKind,
  type PartFields,
  type PartPatch,
  type QuoteItem,
  type WorkOrderEvent,
} from "./model.js";

type Field =
  | "str"
  | "i64"
  | "u8"
  | "u32"
  | "bool"
  | "strs"
  | "role"
  | "photo_kind"
  | "category"
  | "items"
  | "part"
  | "patch";

/** The fields of each kind, in the order sync-core declares (and serializes) them. */
const KINDS: Record<string, [string, Field][]> = {
  created: [],
  assigned: [
    ["technician", "str"],
    ["reason", "str"],
  ],
  unassigned: [["reason", "str"]],
  accepted: [],
  declined: [["reason", "str"]],
  accept_timed_out: [["technician", "str"]],
  appointment_set: [
    ["start", "i64"],
    ["end", "i64"],
    ["reason", "str"],
  ],
  en_route: [],
  on_site: [],
  diagnosed: [
    ["cause", "str"],
    ["solutions", "strs"],
  ],
  quoted: [["items", "items"]],
  consent_given: [["by", "str"]],
  work_started: [],
  part_added: [
    ["line", "str"],
    ["part", "part"],
  ],
  part_changed: [
    ["line", "str"],
    ["patch", "patch"],
  ],
  part_removed: [["line", "str"]],
  photo_added: [
    ["photo", "str"],
    ["blob", "str"],
    ["photo_kind", "photo_kind"],
    ["caption", "str"],
    ["taken_at", "i64"],
  ],
  photo_removed: [["photo", "str"]],
  notes_edited: [],
  tested: [
    ["passed", "bool"],
    ["details", "str"],
  ],
  signed: [
    ["signer", "str"],
    ["blob", "str"],
    ["heads", "strs"],
    ["digest", "str"],
  ],
  completed: [["fixed", "bool"]],
  followed_up: [
    ["score", "u8"],
    ["comment", "str"],
    ["remedial", "str"],
  ],
  cancelled: [["reason", "str"]],
  reopened: [["reason", "str"]],
  conflict_resolved: [
    ["conflict", "str"],
    ["note", "str"],
  ],
  classified: [
    ["category", "category"],
    ["urgent", "bool"],
  ],
  escalation_handled: [
    ["escalation", "str"],
    ["action", "str"],
  ],
};

const PART_FIELDS: [keyof PartFields, Field | "old_part"][] = [
  ["sku", "str"],
  ["qty", "u32"],
  ["serial_new", "str"],
  ["serial_old", "str"],
  ["price_cents", "i64"],
  ["old_part", "old_part"],
];

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

function bad(what: string): never {
  throw WorkOrderError.shape(`a work-order event (JSON): ${what}`);
}

function value(v: unknown, t: Field | "old_part", name: string): unknown {
  const ok = (cond: boolean): unknown => (cond ? v : bad(`${name} has the wrong type`));
  switch (t) {
    case "str":
      return ok(typeof v === "string");
    case "i64":
      return ok(isInt(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
    case "u8":
      return ok(isInt(v, 0, 255));
    case "u32":
      return ok(isInt(v, 0, 0xffff_ffff));
    case "bool":
      return ok(typeof v === "boolean");
    case "strs":
      return ok(Array.isArray(v) && v.every((s) => typeof s === "string"));
    case "role":
      return ok(ROLES.includes(v as never));
    case "photo_kind":
      return ok(PHOTO_KINDS.includes(v as never));
    case "old_part":
      return ok(OLD_PARTS.includes(v as never));
    case "category":
      return ok(v === "quality" || v === "attitude" || v === "delay");
    case "items":
      if (!Array.isArray(v)) return bad(`${name} is not a list`);
      return v.map(
        (i): QuoteItem => ({
          description: value(field(i, "description"), "str", "description") as string,
          price_cents: value(field(i, "price_cents"), "i64", "price_cents") as number,
        }),
      );
    case "part": {
      const out: Record<string, unknown> = {};
      for (const [k, ft] of PART_FIELDS) out[k] = value(field(v, k), ft, k);
      return out;
    }
    case "patch": {
      const out: Record<string, unknown> = {};
      for (const [k, ft] of PART_FIELDS) {
        if (k === "sku") continue;
        const x = field(v, k, true);
        out[k] = x === null || x === undefined ? null : value(x, ft, k);
      }
      return out;
    }
  }
}

function field(obj: unknown, name: string, optional = false): unknown {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) bad("not an object");
  const v = (obj as Record<string, unknown>)[name];
  if (v === undefined && !optional) bad(`missing field ${name}`);
  return v;
}

/** Parses one stored event. */
export function parseEvent(json: string): WorkOrderEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    bad(String(e));
  }
  const kindObj = field(raw, "kind");
  const tag = field(kindObj, "kind");
  if (typeof tag !== "string") bad("kind is not a string");
  const spec = KINDS[tag];
  let kind: EventKind;
  if (spec === undefined) {
    kind = { kind: "unknown" };
  } else {
    const k: Record<string, unknown> = { kind: tag };
    for (const [name, t] of spec) k[name] = value(field(kindObj, name), t, name);
    kind = k as EventKind;
  }
  return {
    id: value(field(raw, "id"), "str", "id") as string,
    parents: value(field(raw, "parents"), "strs", "parents") as string[],
    at: value(field(raw, "at"), "i64", "at") as number,
    user: value(field(raw, "user"), "str", "user") as string,
    role: value(field(raw, "role"), "role", "role") as WorkOrderEvent["role"],
    device: value(field(raw, "device"), "str", "device") as string,
    kind,
  };
}

function ordered(v: unknown, t: Field | "old_part"): unknown {
  if (t === "items") {
    return (v as QuoteItem[]).map((i) => ({ description: i.description, price_cents: i.price_cents }));
  }
  if (t === "part" || t === "patch") {
    const src = v as PartFields | PartPatch;
    const out: Record<string, unknown> = {};
    for (const [k] of PART_FIELDS) {
      if (t === "patch" && k === "sku") continue;
      out[k] = (src as unknown as Record<string, unknown>)[k] ?? null;
    }
    return out;
  }
  return v;
}

/** Writes an event as serde_json writes it: the same keys in the same order. */
export function serializeEvent(e: WorkOrderEvent): string {
  const spec = KINDS[e.kind.kind] ?? [];
  const kind: Record<string, unknown> = { kind: e.kind.kind };
  for (const [name, t] of spec) {
    kind[name] = ordered((e.kind as unknown as Record<string, unknown>)[name], t);
  }
  return JSON.stringify({
    id: e.id,
    parents: e.parents,
    at: e.at,
    user: e.user,
    role: e.role,
    device: e.device,
    kind,
  });
}
