/**
 * The stored shape of a work-order document, as sync-core writes it
 * (sync-core/src/workorder/model.rs):
 *
 * ```text
 * ROOT
 * ├── schema   1 (an Automerge uint)
 * ├── id       "WO-…"
 * ├── intake   { customer, product, service_type, problem, priority, required_skills, region, attachments }
 * ├── notes    Automerge text
 * └── events   [ "<event JSON>", … ]  one immutable JSON string per event, append-only
 * ```
 *
 * Everything recorded after intake is an {@link WorkOrderEvent}; the status, parts, photos and
 * the rest are derived by the fold (fold.ts), never stored.
 */

/** Version of the document layout this client understands. */
export const SCHEMA_VERSION = 1;

/** Follow-up scores up to and including this one are low (SERVICE-RULES CS-LOWSCORE). */
export const LOW_SCORE_MAX = 3;

export type Role =
  | "agent"
  | "dispatcher"
  | "technician"
  | "manager"
  | "auditor"
  | "admin"
  | "system";
export const ROLES: readonly Role[] = [
  "agent",
  "dispatcher",
  "technician",
  "manager",
  "auditor",
  "admin",
  "system",
];

export function isOffice(role: Role): boolean {
  return (
    role === "agent" ||
    role === "dispatcher" ||
    role === "manager" ||
    role === "admin" ||
    role === "system"
  );
}

export type ServiceType = "install" | "repair" | "maintenance" | "inspection" | "complaint";
export type Priority = "normal" | "vip" | "urgent";
export type CustomerTier = "standard" | "vip";
export type ComplaintCategory = "quality" | "attitude" | "delay";
export type PhotoKind = "before" | "after" | "fault";
export const PHOTO_KINDS: readonly PhotoKind[] = ["before", "after", "fault"];
export type OldPart = "none" | "customer_keeps" | "taken_away";
export const OLD_PARTS: readonly OldPart[] = ["none", "customer_keeps", "taken_away"];

export interface Customer {
  name: string;
  phone: string;
  address: string;
  tier: CustomerTier;
}

export interface Product {
  model: string;
  serial: string;
  /** ISO date (YYYY-MM-DD), empty when unknown. */
  purchase_date: string;
}

/** A point on the Earth, WGS84 degrees: -90 <= lat <= 90, -180 <= lon <= 180. */
export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface Intake {
  customer: Customer;
  product: Product;
  service_type: ServiceType;
  problem: string;
  priority: Priority;
  required_skills: string[];
  region: string;
  attachments: string[];
  /** The site's coordinates, when intake knew them; absent otherwise (and in older documents). */
  site?: GeoPoint;
}

/** One priced line of a quote, in minor currency units (cents). */
export interface QuoteItem {
  description: string;
  price_cents: number;
}

/** A part line as first recorded. */
export interface PartFields {
  sku: string;
  qty: number;
  serial_new: string;
  serial_old: string;
  price_cents: number;
  old_part: OldPart;
}

/** A change to some fields of a part line; `null` leaves a field as it is. */
export interface PartPatch {
  qty: number | null;
  serial_new: string | null;
  serial_old: string | null;
  price_cents: number | null;
  old_part: OldPart | null;
}

/** What happened: the `kind` object of an event (serde's internally tagged enum). */
export type EventKind =
  | { kind: "created" }
  | { kind: "assigned"; technician: string; reason: string }
  | { kind: "unassigned"; reason: string }
  | { kind: "accepted" }
  | { kind: "declined"; reason: string }
  | { kind: "accept_timed_out"; technician: string }
  | { kind: "appointment_set"; start: number; end: number; reason: string }
  | { kind: "en_route" }
  | { kind: "on_site" }
  | { kind: "diagnosed"; cause: string; solutions: string[] }
  | { kind: "quoted"; items: QuoteItem[] }
  | { kind: "consent_given"; by: string }
  | { kind: "work_started" }
  | { kind: "part_added"; line: string; part: PartFields }
  | { kind: "part_changed"; line: string; patch: PartPatch }
  | { kind: "part_removed"; line: string }
  | {
      kind: "photo_added";
      photo: string;
      blob: string;
      photo_kind: PhotoKind;
      caption: string;
      taken_at: number;
    }
  | { kind: "photo_removed"; photo: string }
  | { kind: "notes_edited" }
  | { kind: "tested"; passed: boolean; details: string }
  | { kind: "signed"; signer: string; blob: string; heads: string[]; digest: string }
  | { kind: "completed"; fixed: boolean }
  | { kind: "followed_up"; score: number; comment: string; remedial: string }
  | { kind: "cancelled"; reason: string }
  | { kind: "reopened"; reason: string }
  | { kind: "conflict_resolved"; conflict: string; note: string }
  | { kind: "classified"; category: ComplaintCategory; urgent: boolean }
  | { kind: "escalation_handled"; escalation: string; action: string }
  /** A step recorded by newer software: kept, not folded. */
  | { kind: "unknown" };

/** One entry of the append-only history. */
export interface WorkOrderEvent {
  /** `<device>#<n>`: unique because a device id is never reused. */
  id: string;
  /** The frontier of events its author had seen. */
  parents: string[];
  /** Device clock time, ms since the Unix epoch. */
  at: number;
  user: string;
  role: Role;
  device: string;
  kind: EventKind;
}

/** Who performs an operation, and on which device. */
export interface Actor {
  user: string;
  role: Role;
  device: string;
}
