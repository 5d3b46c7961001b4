/**
 * The signature seal's content and digest (sync-core/src/workorder/seal.rs): what a
 * customer's signature confirms, hashed as SHA-256 over sync-core's canonical encoding of it
 * (postcard: LEB128 lengths and unsigned integers, zigzag signed integers, one byte per bool
 * and option tag, enum variants by index).
 */
import { sha256Hex } from "../sha256.js";
import { OLD_PARTS, PHOTO_KINDS, type OldPart, type PhotoKind, type QuoteItem } from "./model.js";
import { activeParts, activePhotos, type View } from "./view.js";

export interface SignedContent {
  diagnosis: [string, string[]] | null;
  charges: QuoteItem[];
  consent: string | null;
  parts: {
    line: string;
    sku: string;
    qty: number;
    serial_new: string;
    serial_old: string;
    price_cents: number;
    old_part: OldPart;
  }[];
  photos: { photo: string; blob: string; kind: PhotoKind; caption: string }[];
  test: [boolean, string] | null;
}

export function signedContent(v: View): SignedContent {
  return {
    diagnosis: v.diagnosis === null ? null : [v.diagnosis.cause, [...v.diagnosis.solutions]],
    charges: v.quote === null ? [] : v.quote.items.map((i) => ({ ...i })),
    consent: v.consent === null ? null : v.consent.by_name,
    parts: activeParts(v).map((p) => ({
      line: p.line,
      sku: p.sku,
      qty: p.qty,
      serial_new: p.serial_new,
      serial_old: p.serial_old,
      price_cents: p.price_cents,
      old_part: p.old_part,
    })),
    photos: activePhotos(v).map((p) => ({
      photo: p.photo,
      blob: p.blob,
      kind: p.kind,
      caption: p.caption,
    })),
    test: v.test === null ? null : [v.test.passed, v.test.details],
  };
}

class Writer {
  readonly bytes: number[] = [];
  varint(n: bigint): void {
    let v = n;
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (v > 0n);
  }
  uint(n: number): void {
    this.varint(BigInt(n));
  }
  int(n: number): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  bool(b: boolean): void {
    this.bytes.push(b ? 1 : 0);
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.uint(b.length);
    this.bytes.push(...b);
  }
}

/** The bytes sync-core hashes: postcard's encoding of `SignedContent`. */
export function encodeSignedContent(c: SignedContent): Uint8Array {
  const w = new Writer();
  w.bool(c.diagnosis !== null);
  if (c.diagnosis !== null) {
    w.str(c.diagnosis[0]);
    w.uint(c.diagnosis[1].length);
    c.diagnosis[1].forEach((s) => w.str(s));
  }
  w.uint(c.charges.length);
  for (const i of c.charges) {
    w.str(i.description);
    w.int(i.price_cents);
  }
  w.bool(c.consent !== null);
  if (c.consent !== null) w.str(c.consent);
  w.uint(c.parts.length);
  for (const p of c.parts) {
    w.str(p.line);
    w.str(p.sku);
    w.uint(p.qty);
    w.str(p.serial_new);
    w.str(p.serial_old);
    w.int(p.price_cents);
    w.uint(OLD_PARTS.indexOf(p.old_part));
  }
  w.uint(c.photos.length);
  for (const p of c.photos) {
    w.str(p.photo);
    w.str(p.blob);
    w.uint(PHOTO_KINDS.indexOf(p.kind));
    w.str(p.caption);
  }
  w.bool(c.test !== null);
  if (c.test !== null) {
    w.bool(c.test[0]);
    w.str(c.test[1]);
  }
  return Uint8Array.from(w.bytes);
}

/** SHA-256 (hex) of the canonical encoding of the signed content. */
export const digest = (c: SignedContent): string => sha256Hex(encodeSignedContent(c));
