/**
 * The device side of the batched sync, with no I/O: a port of
 * sync-core/src/protocol/client.rs.
 *
 * The first request of a session offers every document (`complete`): one with nothing
 * unacknowledged (heads = shared heads) by the 8-byte key of its heads alone, one with
 * unacknowledged changes by its full heads and a sync message generated from a state primed
 * with the shared heads, so it already carries every change. Later requests offer only the
 * documents whose heads still differ from the server's. Building a request again before a
 * response was applied restarts the session from the persisted states: a lost response
 * costs a resend, never data.
 */
import * as A from "@automerge/automerge";

import { assumePeerAt, resetToPersisted } from "./prime.js";
import {
  docIdProblem,
  headsKey,
  sameHeads,
  type DocOffer,
  type DocReply,
  type SyncRequest,
  type SyncResponse,
} from "./wire.js";

/** Default bound on the rounds of one session; convergence normally takes one. */
export const DEFAULT_MAX_ROUNDS = 8;

/** One local document taking part in a session; `doc` and `state` are replaced in place. */
export interface ClientDoc {
  id: string;
  doc: A.Doc<unknown>;
  state: A.SyncState;
}

export interface RemovedDoc {
  docId: string;
  reason: string;
  /** The server did not confirm it holds everything this copy has: keep it. */
  hadUnsyncedChanges: boolean;
}
export interface RejectedDoc {
  docId: string;
  code: string;
  message: string;
}
export interface FailedDoc {
  docId: string;
  error: string;
}

/** What one round changed beyond the documents in place. */
export interface RoundReport {
  /** Documents the server pushed: store them. */
  added: ClientDoc[];
  removed: RemovedDoc[];
  anotherRound: boolean;
}

/** Totals of a session. */
export interface SyncReport {
  roundTrips: number;
  restarts: number;
  docsOffered: number;
  messagesSent: number;
  messageBytesSent: number;
  messagesReceived: number;
  messageBytesReceived: number;
  changesReceived: number;
  /** Documents that received changes. */
  changed: string[];
  added: string[];
  removed: RemovedDoc[];
  rejected: RejectedDoc[];
  failed: FailedDoc[];
}

export class ClientError extends Error {
  constructor(
    readonly code: "round_limit" | "no_request_in_flight" | "bad_doc_id" | "duplicate_doc" | "unexpected_reply" | "missing_doc",
    message: string,
  ) {
    super(message);
    this.name = "ClientError";
  }
}

type Phase = "start" | "awaiting" | "applied";
type Outcome = "converged" | "pending" | "failed";

const emptyReport = (): SyncReport => ({
  roundTrips: 0,
  restarts: 0,
  docsOffered: 0,
  messagesSent: 0,
  messageBytesSent: 0,
  messagesReceived: 0,
  messageBytesReceived: 0,
  changesReceived: 0,
  changed: [],
  added: [],
  removed: [],
  rejected: [],
  failed: [],
});

/** One device-side sync session (a series of rounds until quiescent). */
export class ClientSync {
  private phase: Phase = "start";
  private pending = new Set<string>();
  /** Heads each document of the outstanding request stood at. */
  private offered = new Map<string, string[]>();
  readonly report: SyncReport = emptyReport();

  /** `actor`: the Automerge actor (hex) for documents the server pushes. */
  constructor(
    private readonly actor: string | undefined = undefined,
    private readonly maxRounds = DEFAULT_MAX_ROUNDS,
  ) {}

  /** Whether the last applied response left every document converged. */
  isDone(): boolean {
    return this.phase === "applied" && this.pending.size === 0;
  }

  /** The next request, or null when every document has converged. */
  buildRequest(docs: ClientDoc[]): SyncRequest | null {
    const index = this.index(docs);
    if (this.phase === "awaiting") {
      this.report.restarts += 1;
      this.phase = "start";
      this.pending.clear();
    }
    let complete: boolean;
    let offers: DocOffer[];
    if (this.phase === "start") {
      complete = true;
      offers = docs.map((d) => this.firstOffer(d));
    } else {
      if (this.pending.size === 0) return null;
      if (this.report.roundTrips >= this.maxRounds) {
        throw new ClientError(
          "round_limit",
          `gave up after ${this.report.roundTrips} rounds with ${this.pending.size} documents still differing; the next sync resumes`,
        );
      }
      complete = false;
      offers = [...this.pending].sort().map((id) => this.followUpOffer(docs[index.get(id)!]!));
    }
    this.offered = new Map(offers.map((o) => [o.docId, A.getHeads(docs[index.get(o.docId)!]!.doc)]));
    this.report.docsOffered += offers.length;
    for (const o of offers) {
      if (o.message !== null) {
        this.report.messagesSent += 1;
        this.report.messageBytesSent += o.message.length;
      }
    }
    this.phase = "awaiting";
    return { complete, docs: offers };
  }

  /** Applies the server's response to the request last built. */
  applyResponse(docs: ClientDoc[], response: SyncResponse): RoundReport {
    if (this.phase !== "awaiting") {
      throw new ClientError("no_request_in_flight", "no request is waiting for this response");
    }
    const index = this.index(docs);
    for (const r of response.docs) {
      const offered = this.offered.has(r.docId);
      if (!offered && r.change.kind !== "added") {
        throw new ClientError("unexpected_reply", `a ${r.change.kind} reply for ${r.docId}, which was not offered`);
      }
      if (offered && !index.has(r.docId)) throw new ClientError("missing_doc", `document ${r.docId} is missing`);
    }
    const round: RoundReport = { added: [], removed: [], anotherRound: false };
    const pending = new Set<string>();
    const unanswered = new Map(this.offered);
    for (const reply of response.docs) {
      unanswered.delete(reply.docId);
      const i = index.get(reply.docId);
      const c = reply.change;
      if (c.kind === "removed" && i !== undefined) {
        const mine = A.getHeads(docs[i]!.doc);
        // Deleting is safe only when the server holds every head of ours.
        const acknowledged = reply.heads.length > 0 && mine.every((h) => reply.heads.includes(h));
        const removed = { docId: reply.docId, reason: c.reason, hadUnsyncedChanges: !acknowledged };
        this.report.removed.push(removed);
        round.removed.push(removed);
      } else if (c.kind === "rejected") {
        this.report.rejected.push({ docId: reply.docId, code: c.code, message: c.message });
      } else if (c.kind === "added" && i === undefined) {
        const slot: ClientDoc = {
          id: reply.docId,
          doc: A.init(this.actor === undefined ? undefined : { actor: this.actor }),
          state: A.initSyncState(),
        };
        const outcome = this.applyReply(reply, slot);
        if (outcome !== "failed") {
          if (outcome === "pending") pending.add(reply.docId);
          this.report.added.push(reply.docId);
          round.added.push(slot);
        }
      } else if (i !== undefined) {
        if (this.applyReply(reply, docs[i]!) === "pending") pending.add(reply.docId);
      }
    }
    // No reply: the server's heads equal the offered heads.
    for (const [docId, heads] of unanswered) {
      const i = index.get(docId);
      if (i === undefined) continue;
      const reply: DocReply = { docId, change: { kind: "unchanged" }, heads, message: null };
      if (this.applyReply(reply, docs[i]!) === "pending") pending.add(docId);
    }
    this.report.roundTrips += 1;
    this.pending = pending;
    this.phase = "applied";
    round.anotherRound = pending.size > 0;
    return round;
  }

  private index(docs: ClientDoc[]): Map<string, number> {
    const index = new Map<string, number>();
    docs.forEach((d, i) => {
      const problem = docIdProblem(d.id);
      if (problem !== null) throw new ClientError("bad_doc_id", `document id ${JSON.stringify(d.id)} ${problem}`);
      if (index.has(d.id)) throw new ClientError("duplicate_doc", `document ${d.id} is listed twice`);
      index.set(d.id, i);
    });
    return index;
  }

  private firstOffer(d: ClientDoc): DocOffer {
    d.state = resetToPersisted(d.state);
    const heads = A.getHeads(d.doc);
    if (sameHeads(heads, d.state.sharedHeads)) {
      // Nothing unacknowledged: the key of the heads lets the server skip the document.
      return { docId: d.id, heads: { key: headsKey(heads) }, message: null };
    }
    return { docId: d.id, heads: { full: heads }, message: this.firstMessage(d) };
  }

  /** Every change after the shared heads, at once. */
  private firstMessage(d: ClientDoc): Uint8Array | null {
    let shared = d.state.sharedHeads;
    if (!A.hasHeads(d.doc, shared)) {
      // The state does not match this document (data restored from elsewhere): start over.
      d.state = A.initSyncState();
      shared = [];
    }
    try {
      const [doc, primed] = assumePeerAt(d.doc, d.state, shared);
      const [state, message] = A.generateSyncMessage(doc, primed);
      d.doc = doc;
      d.state = state;
      return message;
    } catch {
      // Offer the heads alone: the server will ask for what it lacks.
      d.state = A.initSyncState();
      return null;
    }
  }

  private followUpOffer(d: ClientDoc): DocOffer {
    // The server keeps nothing between requests: what it did not acknowledge in its heads
    // must be sent again.
    d.state = { ...d.state, sentHashes: [] } as A.SyncState;
    let message: Uint8Array | null = null;
    try {
      const [state, m] = A.generateSyncMessage(d.doc, d.state);
      d.state = state;
      message = m;
    } catch {
      message = null;
    }
    return { docId: d.id, heads: { full: A.getHeads(d.doc) }, message };
  }

  private applyReply(reply: DocReply, d: ClientDoc): Outcome {
    if (reply.message !== null) {
      this.report.messagesReceived += 1;
      this.report.messageBytesReceived += reply.message.length;
      const before = A.getHeads(d.doc);
      try {
        const [doc, state] = A.receiveSyncMessage(d.doc, d.state, reply.message);
        const count = sameHeads(A.getHeads(doc), before) ? 0 : A.getChangesMetaSince(doc, before).length;
        d.doc = doc;
        d.state = state;
        if (count > 0) {
          this.report.changesReceived += count;
          if (!this.report.changed.includes(reply.docId)) this.report.changed.push(reply.docId);
        }
      } catch (e) {
        d.state = A.initSyncState();
        this.report.failed.push({ docId: reply.docId, error: `could not apply the server's message: ${String(e)}` });
        return "failed";
      }
    }
    if (!sameHeads(A.getHeads(d.doc), reply.heads)) return "pending";
    if (!sameHeads(d.state.sharedHeads, reply.heads)) {
      // The server told us its heads equal ours: remember them as shared, so the next
      // session offers the heads key alone. Failing only costs a resend.
      try {
        const [doc, state] = assumePeerAt(d.doc, d.state, reply.heads);
        d.doc = doc;
        d.state = state;
      } catch {
        /* a resend next time */
      }
    }
    return "converged";
  }
}
