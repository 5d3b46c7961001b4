/**
 * CBOR encoding of requests and responses (docs/PROTOCOL.md), on cbor-x.
 *
 * Encoding writes the deterministic form the Rust codec writes: definite lengths, shortest
 * integers, byte strings without tags, map keys in bytewise order (the objects below are
 * built with their keys in that order and cbor-x keeps insertion order). The golden vectors
 * (vectors/protocol/) check it byte for byte.
 *
 * Decoding is strict about shape: a body that is not one map of the version's keys with
 * the right types, or that breaks a rule of the protocol (a removed reply with a message, a
 * duplicate document), is refused with a {@link DecodeError}.
 */
import { Decoder, Encoder } from "cbor-x";

import {
  docIdProblem,
  headsFromWire,
  headsToWire,
  HEADS_KEY_LEN,
  PROTOCOL_VERSION,
  type DocChange,
  type DocOffer,
  type DocReply,
  type SyncRequest,
  type SyncResponse,
} from "./wire.js";

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecodeError";
  }
}

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  useFloat32: 0,
});
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

/** Plain Uint8Array (cbor-x tags Buffer subclasses differently in some versions). */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** A copy: cbor-x returns a view into a buffer it reuses for the next encoding. */
function encode(value: unknown): Uint8Array {
  return Uint8Array.from(encoder.encode(value));
}

export function encodeRequest(req: SyncRequest): Uint8Array {
  return encode({
    c: req.complete,
    d: req.docs.map((o) => {
      const m: Record<string, unknown> = {};
      if ("full" in o.heads) m.h = headsToWire(o.heads.full);
      m.i = o.docId;
      if ("key" in o.heads) m.k = plain(o.heads.key);
      if (o.message !== null) m.m = plain(o.message);
      return m;
    }),
    v: PROTOCOL_VERSION,
  });
}

export function encodeResponse(res: SyncResponse): Uint8Array {
  return encode({
    d: res.docs.map((r) => {
      const m: Record<string, unknown> = {};
      if (r.change.kind === "rejected") m.e = r.change.code;
      m.h = headsToWire(r.heads);
      m.i = r.docId;
      if (r.message !== null) m.m = plain(r.message);
      if (r.change.kind === "removed") m.r = r.change.reason;
      if (r.change.kind === "rejected") m.r = r.change.message;
      m.s = r.change.kind;
      return m;
    }),
    v: PROTOCOL_VERSION,
  });
}

type Fields = Map<string, unknown>;

function fields(v: unknown, what: string, allowed: string): Fields {
  if (!(v instanceof Map)) throw new DecodeError(`${what} is not a map`);
  for (const k of v.keys()) {
    if (typeof k !== "string" || k.length !== 1 || !allowed.includes(k)) {
      throw new DecodeError(`${what} has an unknown key ${JSON.stringify(k)}`);
    }
  }
  return v as Fields;
}

function get<T>(m: Fields, key: string, what: string, check: (v: unknown) => v is T, type: string): T;
function get<T>(m: Fields, key: string, what: string, check: (v: unknown) => v is T, type: string, optional: true): T | null;
function get<T>(m: Fields, key: string, what: string, check: (v: unknown) => v is T, type: string, optional = false): T | null {
  const v = m.get(key);
  if (v === undefined) {
    if (optional) return null;
    throw new DecodeError(`${what} lacks ${JSON.stringify(key)}`);
  }
  if (!check(v)) throw new DecodeError(`${what} ${JSON.stringify(key)} is not ${type}`);
  return v;
}

const isStr = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isArr = (v: unknown): v is unknown[] => Array.isArray(v);
const isUint = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

function top(bytes: Uint8Array, allowed: string, what: string): Fields {
  if (bytes.length >= 4 && ["FSYQ", "FSYR"].includes(String.fromCharCode(...bytes.subarray(0, 4)))) {
    throw new DecodeError(`a version 1 (postcard) ${what}; this client speaks version ${PROTOCOL_VERSION}`);
  }
  let value: unknown;
  try {
    // A copy: cbor-x caches a DataView as a property of the array it decodes.
    value = decoder.decode(bytes.slice());
  } catch (e) {
    throw new DecodeError(`not CBOR: ${String(e)}`);
  }
  const m = fields(value, what, allowed);
  const v = get(m, "v", what, isUint, "an unsigned integer");
  if (v !== PROTOCOL_VERSION) throw new DecodeError(`${what} is version ${v}; this client speaks ${PROTOCOL_VERSION}`);
  return m;
}

function heads(m: Fields, what: string): string[] {
  try {
    return headsFromWire(get(m, "h", what, isBytes, "a byte string"));
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`${what}: ${String(e)}`);
  }
}

function docId(m: Fields, what: string, seen: Set<string>): string {
  const id = get(m, "i", what, isStr, "a text string");
  const problem = docIdProblem(id);
  if (problem !== null) throw new DecodeError(`${what}: document id ${JSON.stringify(id)} ${problem}`);
  if (seen.has(id)) throw new DecodeError(`document ${id} appears twice`);
  seen.add(id);
  return id;
}

export function decodeRequest(bytes: Uint8Array): SyncRequest {
  const m = top(bytes, "cdv", "request");
  const seen = new Set<string>();
  const docs = get(m, "d", "request", isArr, "an array").map((raw, i): DocOffer => {
    const what = `offer ${i}`;
    const o = fields(raw, what, "hikm");
    const id = docId(o, what, seen);
    const key = get(o, "k", what, isBytes, "a byte string", true);
    if (o.has("h") === (key !== null)) throw new DecodeError(`${what} must have exactly one of "h" and "k"`);
    if (key !== null && key.length !== HEADS_KEY_LEN) throw new DecodeError(`${what} "k" is not ${HEADS_KEY_LEN} bytes`);
    const message = get(o, "m", what, isBytes, "a byte string", true);
    return {
      docId: id,
      heads: key === null ? { full: heads(o, what) } : { key: plain(key) },
      message: message === null ? null : plain(message),
    };
  });
  return { complete: get(m, "c", "request", isBool, "a boolean"), docs };
}

function change(o: Fields, what: string): DocChange {
  const s = get(o, "s", what, isStr, "a text string");
  const reason = get(o, "r", what, isStr, "a text string", true);
  const code = get(o, "e", what, isStr, "a text string", true);
  const stray = (k: string): never => {
    throw new DecodeError(`${what} is ${JSON.stringify(s)} but has ${JSON.stringify(k)}`);
  };
  switch (s) {
    case "unchanged":
    case "changed":
    case "added":
      if (reason !== null) stray("r");
      if (code !== null) stray("e");
      return { kind: s };
    case "removed":
      if (code !== null) stray("e");
      if (reason === null) throw new DecodeError(`${what} is removed without "r"`);
      return { kind: "removed", reason };
    case "rejected":
      if (reason === null || code === null) throw new DecodeError(`${what} is rejected without "e" and "r"`);
      return { kind: "rejected", code, message: reason };
    default:
      throw new DecodeError(`${what} has an unknown status ${JSON.stringify(s)}`);
  }
}

export function decodeResponse(bytes: Uint8Array): SyncResponse {
  const m = top(bytes, "dv", "response");
  const seen = new Set<string>();
  const docs = get(m, "d", "response", isArr, "an array").map((raw, i): DocReply => {
    const what = `reply ${i}`;
    const o = fields(raw, what, "ehimrs");
    const id = docId(o, what, seen);
    const c = change(o, what);
    const message = get(o, "m", what, isBytes, "a byte string", true);
    if (c.kind === "added" && message === null) throw new DecodeError(`${what} is added without a message`);
    if ((c.kind === "unchanged" || c.kind === "removed" || c.kind === "rejected") && message !== null) {
      throw new DecodeError(`${what} is ${c.kind} but carries a message`);
    }
    return { docId: id, change: c, heads: heads(o, what), message: message === null ? null : plain(message) };
  });
  return { docs };
}
