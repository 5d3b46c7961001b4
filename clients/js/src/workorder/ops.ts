/**
 * The technician's operations on a work order, each with the checks of the same operation
 * in sync-core/src/workorder/ops.rs and writing the same event.
 */
import * as A from "@automerge/automerge";

import {
  assignee,
  blob,
  livePart,
  office,
  open,
  positive,
  price,
  text,
  time,
  unsigned,
  working,
  MAX_NOTES,
  byteLength,
} from "./checks.js";
import { actorIdFor, readDocument } from "./document.js";
import { WorkOrderError } from "./error.js";
import type { Actor, OldPart, PartPatch, PhotoKind, QuoteItem } from "./model.js";
import { digest, signedContent } from "./seal.js";
import { chargeable, consentCoversQuote, type View } from "./view.js";
import { WorkOrderDocument } from "./workorder.js";

/** A new part line as a technician enters it. */
export interface PartInput {
  sku: string;
  qty: number;
  serial_new?: string;
  serial_old?: string;
  price_cents: number;
  old_part?: OldPart;
}

/** Either acting as the assigned technician (with the job accepted) or from the office. */
function technicianOrOffice(v: View, actor: Actor, op: string): void {
  if (actor.role === "technician") assignee(v, actor, op, true);
  else office(actor, op);
}

export class WorkOrder extends WorkOrderDocument {
  /** Wraps a document (e.g. one received through sync). */
  static fromDoc(doc: A.Doc<unknown>): WorkOrder {
    return new WorkOrder(doc);
  }

  /** Loads a saved document, writing as `device` from now on. */
  static load(bytes: Uint8Array, device: string): WorkOrder {
    let doc: A.Doc<unknown>;
    try {
      doc = A.load(bytes, { actor: actorIdFor(device) });
    } catch (e) {
      throw new WorkOrderError("shape", `not an Automerge document: ${String(e)}`);
    }
    readDocument(doc);
    return new WorkOrder(doc);
  }

  /** A copy of this document for another device. */
  forkFor(device: string): WorkOrder {
    return new WorkOrder(A.clone(this.amDoc, { actor: actorIdFor(device) }));
  }

  accept(actor: Actor, now: number): string {
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "accept", false);
      unsigned(v, "accept");
      if (v.accepted) throw WorkOrderError.wrongStatus("accept", v.status);
      return { kind: "accepted" };
    });
  }

  /** The technician gives the job back; it returns to dispatch. */
  decline(actor: Actor, reason: string, now: number): string {
    const r = text("reason", reason, true);
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "decline", false);
      if (!["assigned", "accepted", "scheduled"].includes(v.status)) {
        throw WorkOrderError.wrongStatus("decline", v.status);
      }
      return { kind: "declined", reason: r };
    });
  }

  /** Sets or changes the visit window agreed with the customer; a change needs a reason. */
  setAppointment(actor: Actor, start: number, end: number, reason: string | null, now: number): string {
    const r = text("reason", reason ?? "", false);
    time("appointment", start);
    time("appointment", end);
    if (end <= start) throw WorkOrderError.invalid("appointment", "the window must end after it starts");
    return this.record(actor, now, null, (v) => {
      technicianOrOffice(v, actor, "set the appointment");
      unsigned(v, "set the appointment");
      if (v.appointment !== null && r === "") {
        throw WorkOrderError.invalid("reason", "changing an appointment needs a reason for the customer");
      }
      return { kind: "appointment_set", start, end, reason: r };
    });
  }

  enRoute(actor: Actor, now: number): string {
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "set out", true);
      unsigned(v, "set out");
      return { kind: "en_route" };
    });
  }

  onSite(actor: Actor, now: number): string {
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "arrive on site", true);
      unsigned(v, "arrive on site");
      return { kind: "on_site" };
    });
  }

  /** Records the cause of the fault and at least one proposed solution. */
  diagnose(actor: Actor, cause: string, solutions: string[], now: number): string {
    const c = text("cause", cause, true);
    const s = solutions.map((x) => text("solution", x, true));
    if (s.length === 0) throw WorkOrderError.invalid("solutions", "propose at least one solution");
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "diagnose", true);
      unsigned(v, "diagnose");
      return { kind: "diagnosed", cause: c, solutions: s };
    });
  }

  /** Lists the charges; chargeable work then needs the customer's consent. */
  quote(actor: Actor, items: QuoteItem[], now: number): string {
    const checked = items.map((i) => {
      if (i.price_cents < 0) throw WorkOrderError.invalid("price", "must not be negative");
      return { description: text("quote item", i.description, true), price_cents: price(i.price_cents) };
    });
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "quote", true);
      unsigned(v, "quote");
      return { kind: "quoted", items: checked };
    });
  }

  /** The customer agrees to the quoted charges. */
  consent(actor: Actor, byName: string, now: number): string {
    const by = text("name", byName, true);
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "record consent", true);
      unsigned(v, "record consent");
      if (v.quote === null) throw WorkOrderError.missingStep("record consent", "a quote");
      return { kind: "consent_given", by };
    });
  }

  /** Starts the work: needs a diagnosis, and consent when charges were quoted. */
  startWork(actor: Actor, now: number): string {
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "start work", true);
      unsigned(v, "start work");
      if (v.diagnosis === null) throw WorkOrderError.missingStep("start work", "a diagnosis");
      if (chargeable(v) && !consentCoversQuote(v)) {
        throw WorkOrderError.missingStep(
          "start chargeable work",
          "the customer's consent to the quoted charges",
        );
      }
      return { kind: "work_started" };
    });
  }

  /** Adds a part line; returns its line id (the id of the event that adds it). */
  addPart(actor: Actor, part: PartInput, now: number): string {
    const fields = {
      sku: text("sku", part.sku, true),
      qty: positive(part.qty),
      serial_new: text("serial", part.serial_new ?? "", false),
      serial_old: text("old serial", part.serial_old ?? "", false),
      price_cents: price(part.price_cents),
      old_part: part.old_part ?? "none",
    };
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "add a part", true);
      open(v, "add a part");
      return { kind: "part_added", line: "", part: fields };
    });
  }

  /** Changes fields of a part line (`null` or absent: unchanged). */
  changePart(actor: Actor, line: string, patch: Partial<PartPatch>, now: number): string {
    const p: PartPatch = {
      qty: patch.qty == null ? null : positive(patch.qty),
      serial_new: patch.serial_new == null ? null : text("serial", patch.serial_new, false),
      serial_old: patch.serial_old == null ? null : text("old serial", patch.serial_old, false),
      price_cents: patch.price_cents == null ? null : price(patch.price_cents),
      old_part: patch.old_part ?? null,
    };
    if (Object.values(p).every((x) => x === null)) {
      throw WorkOrderError.invalid("change", "nothing to change");
    }
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "change a part", true);
      open(v, "change a part");
      livePart(v, line);
      return { kind: "part_changed", line, patch: p };
    });
  }

  /** Removes a part line (it stays in the history, marked removed). */
  removePart(actor: Actor, line: string, now: number): string {
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "remove a part", true);
      open(v, "remove a part");
      livePart(v, line);
      return { kind: "part_removed", line };
    });
  }

  /** Adds a reference to an uploaded photo; returns the photo id (the id of its event). */
  addPhoto(
    actor: Actor,
    blobHash: string,
    kind: PhotoKind,
    caption: string,
    takenAt: number,
    now: number,
  ): string {
    const b = blob(blobHash);
    const c = text("caption", caption, false);
    time("taken at", takenAt);
    return this.record(actor, now, null, (v) => {
      technicianOrOffice(v, actor, "add a photo");
      open(v, "add a photo");
      return { kind: "photo_added", photo: "", blob: b, photo_kind: kind, caption: c, taken_at: takenAt };
    });
  }

  removePhoto(actor: Actor, photo: string, now: number): string {
    return this.record(actor, now, null, (v) => {
      technicianOrOffice(v, actor, "remove a photo");
      open(v, "remove a photo");
      const p = v.photos.find((p) => p.photo === photo);
      if (p === undefined || p.removed !== null) {
        throw new WorkOrderError("unknown_photo", `no photo ${JSON.stringify(photo)} on this work order`);
      }
      return { kind: "photo_removed", photo };
    });
  }

  /** Replaces the notes; Automerge text, so concurrent edits interleave. */
  editNotes(actor: Actor, newText: string, now: number): string {
    const len = byteLength(newText);
    if (len > MAX_NOTES) throw WorkOrderError.invalid("notes", `${len} bytes, at most ${MAX_NOTES}`);
    return this.record(actor, now, newText, (v) => {
      if (actor.role === "auditor" || actor.role === "system") {
        throw WorkOrderError.roleNotAllowed("edit notes", actor.role);
      }
      if (v.notes === newText) throw WorkOrderError.invalid("notes", "unchanged");
      return { kind: "notes_edited" };
    });
  }

  /** Records the functional test after the work. */
  recordTest(actor: Actor, passed: boolean, details: string, now: number): string {
    const d = text("details", details, false);
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "record a test", true);
      working(v, "record a test");
      return { kind: "tested", passed, details: d };
    });
  }

  /**
   * The customer signs. The signature seals the current content: the document heads and a
   * digest of what was signed (parts, charges, diagnosis, work done, photos).
   */
  sign(actor: Actor, signer: string, blobHash: string, now: number): string {
    const s = text("signer", signer, true);
    const b = blob(blobHash);
    const heads = this.heads();
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "take a signature", true);
      working(v, "take a signature");
      return { kind: "signed", signer: s, blob: b, heads, digest: digest(signedContent(v)) };
    });
  }

  complete(actor: Actor, fixed: boolean, now: number): string {
    return this.record(actor, now, null, (v) => {
      assignee(v, actor, "complete", true);
      working(v, "complete");
      return { kind: "completed", fixed };
    });
  }
}
