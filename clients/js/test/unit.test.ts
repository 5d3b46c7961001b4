/** Unit tests of the pure parts: hashing, the CBOR codec, priming, the SSE parser, the stores. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import * as A from "@automerge/automerge";

import {
  backoffDelay,
  ClientSync,
  decodeRequest,
  decodeResponse,
  DecodeError,
  encodeRequest,
  encodeResponse,
  FileStore,
  headsKey,
  MemoryStore,
  sha256Hex,
  SseParser,
  toHex,
  type DeviceStore,
  type SyncResponse,
} from "../src/index.js";
import { assumePeerAt } from "../src/protocol/prime.js";

test("sha256 matches node:crypto on inputs around the block boundaries", () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
    assert.equal(sha256Hex(bytes), createHash("sha256").update(bytes).digest("hex"), `length ${n}`);
  }
});

test("a request and a response survive encode and decode, and re-encode to the same bytes", () => {
  const h1 = "11".repeat(32);
  const h2 = "22".repeat(32);
  const request = {
    complete: true,
    docs: [
      { docId: "WO-1", heads: { full: [h2, h1] }, message: Uint8Array.of(0x42, 1) },
      { docId: "WO-2", heads: { key: headsKey([h1]) }, message: null },
    ],
  };
  const bytes = encodeRequest(request);
  const back = decodeRequest(bytes);
  assert.deepStrictEqual(back.docs[0]!.heads, { full: [h1, h2] }, "heads travel sorted");
  assert.deepStrictEqual(encodeRequest(back), bytes);
  const response: SyncResponse = {
    docs: [
      { docId: "WO-1", change: { kind: "changed" }, heads: [h1], message: Uint8Array.of(9) },
      { docId: "WO-3", change: { kind: "removed", reason: "reassigned" }, heads: [], message: null },
      { docId: "WO-4", change: { kind: "rejected", code: "bad_message", message: "no" }, heads: [], message: null },
    ],
  };
  const rb = encodeResponse(response);
  assert.deepStrictEqual(decodeResponse(rb), response);
  assert.deepStrictEqual(encodeResponse(decodeResponse(rb)), rb);
  // Map keys in bytewise order: the request starts {"c": true, "d": …}.
  assert.equal(toHex(bytes.subarray(0, 5)), "a36163f561");
});

test("malformed, legacy and inconsistent bodies are refused with a DecodeError", () => {
  const bad: Uint8Array[] = [
    new TextEncoder().encode("FSYR\x00\x01"),
    Uint8Array.of(0xff),
    encodeResponse({ docs: [] }).subarray(0, 3),
    // A version 1 number.
    Uint8Array.of(0xa2, 0x61, 0x64, 0x80, 0x61, 0x76, 0x01),
  ];
  for (const b of bad) assert.throws(() => decodeResponse(b), DecodeError);
  const twice = encodeResponse({
    docs: [
      { docId: "A", change: { kind: "changed" }, heads: [], message: null },
      { docId: "A", change: { kind: "changed" }, heads: [], message: null },
    ],
  });
  assert.throws(() => decodeResponse(twice), /appears twice/);
  const added = encodeResponse({ docs: [{ docId: "A", change: { kind: "added" }, heads: [], message: null }] });
  assert.throws(() => decodeResponse(added), /without a message/);
});

test("a primed state carries every unacknowledged change in the first message", () => {
  let server = A.change(A.init<{ k?: number }>({ actor: "01".repeat(16) }), (d) => {
    d.k = 1;
  });
  let device = A.clone(server, { actor: "02".repeat(16) });
  const shared = A.getHeads(device);
  device = A.change(device, (d) => {
    d.k = 2;
  });
  const [primedDoc, state] = assumePeerAt(device, A.initSyncState(), shared);
  const [, message] = A.generateSyncMessage(primedDoc, state);
  assert.ok(message !== null);
  assert.equal(A.decodeSyncMessage(message).changes.length, 1, "the new change travels at once");
  [server] = A.receiveSyncMessage(server, A.initSyncState(), message);
  assert.deepStrictEqual(A.getHeads(server), A.getHeads(device));
});

test("an idle document is offered by its heads key; a changed one by heads and a message", () => {
  const doc = A.change(A.init<{ k?: number }>(), (d) => {
    d.k = 1;
  });
  const [primedDoc, state] = assumePeerAt(doc, A.initSyncState(), A.getHeads(doc));
  assert.deepStrictEqual(state.sharedHeads, A.getHeads(doc));
  const changed = A.change(primedDoc, (d) => {
    d.k = 2;
  });
  const session = new ClientSync();
  // Receiving a sync message outdates the document passed in: a session replaces the
  // documents of its slots in place, so the same slots are passed every time.
  const docs = [
    { id: "WO-1", doc: primedDoc, state },
    { id: "WO-2", doc: changed, state },
  ];
  const req = session.buildRequest(docs);
  assert.ok(req !== null && req.complete);
  assert.deepStrictEqual(req.docs[0]!.heads, { key: headsKey(A.getHeads(doc)) });
  assert.equal(req.docs[0]!.message, null);
  assert.deepStrictEqual(req.docs[1]!.heads, { full: A.getHeads(changed) });
  assert.ok(req.docs[1]!.message !== null);
  // The server took WO-2's changes and answers its heads, equal to ours: converged, shared.
  session.buildRequest(docs);
  assert.equal(session.report.restarts, 1, "a second build without a response restarts");
  const round = session.applyResponse(docs, {
    docs: [{ docId: "WO-2", change: { kind: "changed" }, heads: A.getHeads(changed), message: null }],
  });
  assert.equal(round.anotherRound, false);
  assert.deepStrictEqual(docs[1]!.state.sharedHeads, A.getHeads(changed));
  assert.equal(session.buildRequest(docs), null);
});

test("the SSE parser handles ids, events, comments, multi-line data and split chunks", () => {
  const p = new SseParser();
  const text = "retry: 2000\n\n:\n\nid: 7\nevent: sync\ndata: {\"reason\":\"x\"}\n\nid: 8\r\nevent: refresh\r\ndata: a\r\ndata: b\r\n\r\n";
  const events = [];
  for (let i = 0; i < text.length; i += 5) events.push(...p.push(text.slice(i, i + 5)));
  assert.equal(p.retry, 2000);
  assert.deepStrictEqual(events, [
    { id: "7", event: "sync", data: '{"reason":"x"}' },
    { id: "8", event: "refresh", data: "a\nb" },
  ]);
  assert.equal(p.lastId, "8");
});

test("backoff waits are jittered under an exponential bound that is capped", () => {
  assert.equal(backoffDelay(1, 1000, 60_000, () => 0.999), 999);
  assert.equal(backoffDelay(4, 1000, 60_000, () => 0.5), 4000);
  assert.equal(backoffDelay(30, 1000, 60_000, () => 0.5), 30_000);
  assert.equal(backoffDelay(3, 1000, 60_000, () => 0), 0);
  const waits = new Set(Array.from({ length: 20 }, () => backoffDelay(5, 1000, 60_000, Math.random)));
  assert.ok(waits.size > 10, "devices spread out instead of retrying together");
});

async function storeContract(store: DeviceStore): Promise<void> {
  assert.deepStrictEqual(await store.listDocs(), []);
  await store.putDoc("WO-1", { doc: Uint8Array.of(1, 2), syncState: null });
  await store.putDoc("WO/2 ü", { doc: Uint8Array.of(3), syncState: Uint8Array.of(4, 5) });
  assert.deepStrictEqual(await store.listDocs(), ["WO-1", "WO/2 ü"]);
  assert.deepStrictEqual(await store.getDoc("WO-1"), { doc: Uint8Array.of(1, 2), syncState: null });
  assert.deepStrictEqual(await store.getDoc("WO/2 ü"), { doc: Uint8Array.of(3), syncState: Uint8Array.of(4, 5) });
  await store.deleteDoc("WO-1");
  assert.equal(await store.getDoc("WO-1"), null);
  await store.putBlob("ab".repeat(32), Uint8Array.of(7));
  assert.deepStrictEqual(await store.listBlobs(), ["ab".repeat(32)]);
  assert.deepStrictEqual(await store.getBlob("ab".repeat(32)), Uint8Array.of(7));
  await store.deleteBlob("ab".repeat(32));
  assert.deepStrictEqual(await store.listBlobs(), []);
  await store.putMeta("session", "{}");
  assert.equal(await store.getMeta("session"), "{}");
  await store.putMeta("session", null);
  assert.equal(await store.getMeta("session"), null);
}

test("the memory store keeps documents, states, blobs and settings", async () => {
  await storeContract(new MemoryStore());
});

test("the file store keeps them across instances on the same directory", async () => {
  const dir = await mkdtemp(join(tmpdir(), "fieldsync-store-"));
  try {
    await storeContract(new FileStore(dir));
    await new FileStore(dir).putDoc("WO-9", { doc: Uint8Array.of(9), syncState: Uint8Array.of() });
    assert.deepStrictEqual(await new FileStore(dir).getDoc("WO-9"), { doc: Uint8Array.of(9), syncState: Uint8Array.of() });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
