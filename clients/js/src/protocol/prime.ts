/**
 * Telling an Automerge sync state what is already known about the peer, as
 * sync-core/src/protocol/prime.rs does.
 *
 * A persisted state (`encodeSyncState`) keeps only the shared heads, so Automerge's first
 * message from it carries no changes and a sync would cost an extra round trip. The device
 * knows the server had at least the shared heads at the last sync: {@link assumePeerAt}
 * feeds that to the state as if the server had said "I have exactly these heads and need
 * nothing", so the next generated message already carries every change the server lacks.
 * A wrong assumption (the server lost data) costs a further round, never correctness.
 */
import * as A from "@automerge/automerge";

import { fromHex } from "../sha256.js";
import { normHeads } from "./wire.js";

function leb128(out: number[], n: number): void {
  let v = n;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
}

function hashes(out: number[], heads: readonly string[]): void {
  leb128(out, heads.length);
  for (const h of heads) out.push(...fromHex(h));
}

/**
 * An encoded sync message (V1 layout: type byte 0x42, heads, need, have, changes) saying the
 * peer has exactly `heads`, needs nothing, and supports sync resets (the flags sync-core sets,
 * encoded as automerge writes them: a length of 2, the legacy V2 byte, then the bitfield
 * byte with SUPPORTS_SYNC_RESET).
 */
export function peerAtMessage(heads: readonly string[], haveAll: boolean): Uint8Array {
  const sorted = normHeads(heads);
  const out: number[] = [0x42];
  hashes(out, sorted);
  hashes(out, []);
  if (haveAll) {
    leb128(out, 1);
    hashes(out, sorted);
    leb128(out, 0); // an empty bloom filter
  } else {
    leb128(out, 0);
  }
  leb128(out, 0); // no changes
  out.push(2, 0x02, 0x80 | (1 << 2));
  return Uint8Array.from(out);
}

/** Records in `state` that the peer has exactly `heads` and needs nothing. */
export function assumePeerAt<T>(
  doc: A.Doc<T>,
  state: A.SyncState,
  heads: readonly string[],
): [A.Doc<T>, A.SyncState] {
  const allKnown = A.hasHeads(doc as A.Doc<unknown>, [...heads]);
  const [next, nextState] = A.receiveSyncMessage(doc, state, peerAtMessage(heads, allKnown));
  return [next, nextState];
}

/** Drops everything but the shared heads, as encode then decode would. */
export function resetToPersisted(state: A.SyncState): A.SyncState {
  return A.decodeSyncState(A.encodeSyncState(state));
}
