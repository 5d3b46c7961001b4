/**
 * One work order: an Automerge document plus the technician's operations on it.
 *
 * Every operation checks that the step is allowed for this actor in the current view, then
 * appends exactly one event (and, for notes, edits the text) in one Automerge change, with
 * the same event id, parents, fields and commit metadata (message = event id, time = device
 * time in seconds) as sync-core's `WorkOrder` writes. The vectors under vectors/workorder/
 * prove it byte for byte.
 */
import * as A from "@automerge/automerge";

import { Causal } from "./causal.js";
import { checkId, time } from "./checks.js";
import { actorIdFor, readDocument, type DocumentData } from "./document.js";
import { serializeEvent } from "./event_json.js";
import { fold } from "./fold.js";
import type { Actor, EventKind, WorkOrderEvent } from "./model.js";
import type { View } from "./view.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Root = any;

/**
 * The document and the one way to write to it ({@link WorkOrderDocument.record}); the
 * operations themselves are the methods of `WorkOrder` (ops.ts).
 */
export class WorkOrderDocument {
  constructor(protected amDoc: A.Doc<Root>) {}

  get doc(): A.Doc<unknown> {
    return this.amDoc;
  }

  save(): Uint8Array {
    return A.save(this.amDoc);
  }

  /** Hex change hashes, sorted, as sync-core lists them. */
  heads(): string[] {
    return A.getHeads(this.amDoc);
  }

  /** Merges every change of `other` into this document. */
  merge(other: WorkOrderDocument): void {
    this.amDoc = A.merge(this.amDoc, other.amDoc);
  }

  id(): string {
    return readDocument(this.amDoc).id;
  }

  /** Every event, in the document's list order. */
  events(): WorkOrderEvent[] {
    return readDocument(this.amDoc).events;
  }

  /** Events in causal order. */
  history(): WorkOrderEvent[] {
    return new Causal(this.events()).events;
  }

  /** The derived state: status, assignee, parts, photos, signature, conflicts. */
  view(): View {
    return viewOf(readDocument(this.amDoc));
  }

  /**
   * Records one event decided by `decide` against the current view, in one change; with
   * `notes`, the notes text is updated in the same change. Returns the event id.
   */
  record(
    actor: Actor,
    now: number,
    notes: string | null,
    decide: (v: View) => EventKind,
  ): string {
    checkId("device", "device id", actor.device);
    checkId("user", "user id", actor.user);
    time("time", now);
    const actorId = actorIdFor(actor.device);
    if (A.getActorId(this.amDoc) !== actorId) {
      this.amDoc = A.clone(this.amDoc, { actor: actorId });
    }
    const d = readDocument(this.amDoc);
    const kind = decide(viewOf(d));
    const prefix = `${actor.device}#`;
    let seq = 0;
    for (const e of d.events) {
      if (!e.id.startsWith(prefix)) continue;
      const rest = e.id.slice(prefix.length);
      if (/^\+?[0-9]+$/.test(rest)) seq = Math.max(seq, Number(rest.replace("+", "")));
    }
    const id = `${prefix}${seq + 1}`;
    if (kind.kind === "part_added" && kind.line === "") kind.line = id;
    if (kind.kind === "photo_added" && kind.photo === "") kind.photo = id;
    const event: WorkOrderEvent = {
      id,
      parents: Causal.frontier(d.events),
      at: now,
      user: actor.user,
      role: actor.role,
      device: actor.device,
      kind,
    };
    const json = serializeEvent(event);
    this.amDoc = A.change(
      this.amDoc,
      { message: id, time: Math.floor(now / 1000) },
      (root: Root) => {
        if (notes !== null) A.updateText(root, ["notes"], notes);
        root.events.insertAt(d.listLength, new A.ImmutableString(json));
      },
    );
    return id;
  }
}

export function viewOf(d: DocumentData): View {
  return fold(d.id, d.intake, d.notes, d.events);
}
