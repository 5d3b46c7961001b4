/**
 * The golden protocol vectors (vectors/protocol/*.json, written by sync-core's codec tests):
 * each body decodes to the readable value given beside it and re-encodes to the same bytes.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, fromHex, toHex } from "../src/index.js";
import type { DocOffer, DocReply } from "../src/index.js";

const DIR = new URL("../../../../vectors/protocol/", import.meta.url);

interface Vector {
  name: string;
  kind: "request" | "response";
  hex: string;
  value: { c?: boolean; d: Record<string, unknown>[]; v: number };
}

const hexOrNull = (b: Uint8Array | null): string | undefined => (b === null ? undefined : toHex(b));

function offerValue(o: DocOffer): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  if ("full" in o.heads) v.h = o.heads.full;
  v.i = o.docId;
  if ("key" in o.heads) v.k = toHex(o.heads.key);
  if (o.message !== null) v.m = hexOrNull(o.message);
  return v;
}

function replyValue(r: DocReply): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  if (r.change.kind === "rejected") v.e = r.change.code;
  v.h = r.heads;
  v.i = r.docId;
  if (r.message !== null) v.m = hexOrNull(r.message);
  if (r.change.kind === "removed") v.r = r.change.reason;
  if (r.change.kind === "rejected") v.r = r.change.message;
  v.s = r.change.kind;
  return v;
}

const files = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith(".json")) : [];

test("the golden protocol vectors are there", () => {
  assert.ok(files.length >= 4, `expected vectors in ${DIR.pathname}, found ${files.length}`);
});

for (const file of files) {
  const v = JSON.parse(readFileSync(new URL(file, DIR), "utf8")) as Vector;
  test(`golden vector ${v.name}: decodes to its value and re-encodes byte for byte`, () => {
    const bytes = fromHex(v.hex);
    if (v.kind === "request") {
      const req = decodeRequest(bytes);
      assert.deepStrictEqual({ c: req.complete, d: req.docs.map(offerValue), v: 2 }, v.value);
      assert.equal(toHex(encodeRequest(req)), v.hex);
    } else {
      const res = decodeResponse(bytes);
      assert.deepStrictEqual({ d: res.docs.map(replyValue), v: 2 }, v.value);
      assert.equal(toHex(encodeResponse(res)), v.hex);
    }
  });
}
