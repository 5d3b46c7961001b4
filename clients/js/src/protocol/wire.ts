/**
 * The batched sync protocol, version 2 (docs/PROTOCOL.md): the request and response values
 * that travel between a device and the server. Heads are Automerge change hashes as the
 * JavaScript library gives them (64 lower-case hex digits); on the wire they are 32-byte
 * strings concatenated in ascending order.
 */
import { fromHex, sha256, toHex } from "../sha256.js";

/** The `"v"` field of every body. */
export const PROTOCOL_VERSION = 2;
/** Length of a heads key (`"k"`), in bytes. */
export const HEADS_KEY_LEN = 8;
/** The media type of request and response bodies. */
export const CONTENT_TYPE = "application/cbor";

/** How an offer states the device's heads: all of them, or the 8-byte key of them. */
export type OfferedHeads = { full: string[] } | { key: Uint8Array };

/** What a device says about one document. */
export interface DocOffer {
  docId: string;
  heads: OfferedHeads;
  /** An encoded Automerge sync message, only when the device has something to say. */
  message: Uint8Array | null;
}

/** A device's batched request. */
export interface SyncRequest {
  /** The offers list every document the device holds (first round of a session). */
  complete: boolean;
  docs: DocOffer[];
}

export type DocChange =
  | { kind: "unchanged" }
  | { kind: "changed" }
  | { kind: "added" }
  | { kind: "removed"; reason: string }
  | { kind: "rejected"; code: string; message: string };

/** The server's answer for one document. */
export interface DocReply {
  docId: string;
  change: DocChange;
  /** The server's heads after processing (sorted hex). */
  heads: string[];
  message: Uint8Array | null;
}

export interface SyncResponse {
  docs: DocReply[];
}

/** Sorted, deduplicated hex heads: the form every comparison here uses. */
export function normHeads(heads: readonly string[]): string[] {
  return [...new Set(heads)].sort();
}

export function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  const x = normHeads(a);
  const y = normHeads(b);
  return x.length === y.length && x.every((h, i) => h === y[i]);
}

/** Heads as one byte string: the 32-byte hashes concatenated in ascending order. */
export function headsToWire(heads: readonly string[]): Uint8Array {
  const sorted = normHeads(heads);
  const out = new Uint8Array(sorted.length * 32);
  sorted.forEach((h, i) => out.set(fromHex(h), i * 32));
  return out;
}

export function headsFromWire(bytes: Uint8Array): string[] {
  if (bytes.length % 32 !== 0) throw new Error(`heads are ${bytes.length} bytes, not a multiple of 32`);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 32) out.push(toHex(bytes.subarray(i, i + 32)));
  return normHeads(out);
}

/** The first 8 bytes of SHA-256 over the sorted, deduplicated heads concatenated. */
export function headsKey(heads: readonly string[]): Uint8Array {
  return sha256(headsToWire(heads)).subarray(0, HEADS_KEY_LEN);
}

/** Why `id` is not a document id the protocol accepts, or null. */
export function docIdProblem(id: string, maxLen = 128): string | null {
  if (id.length === 0) return "is empty";
  if (id.length > maxLen) return `is ${id.length} bytes long, at most ${maxLen} allowed`;
  if (!/^[A-Za-z0-9\-_.:@]+$/.test(id)) return "may hold only letters, digits and - _ . : @";
  return null;
}
