/** The TypeScript-made vectors: technician steps on Rust-made bases (vectors/workorder/from-js). */
import assert from "node:assert/strict";

import type { WorkOrder } from "../../src/workorder/index.js";
import type { Step } from "./steps.js";

const T0 = 1_790_000_000_000;
const MIN = 60_000;
const at = (m: number): number => T0 + m * MIN;
const blob = (n: number): string => n.toString(16).padStart(2, "0").repeat(32);

export interface JsCase {
  name: string;
  description: string;
  base: string;
  steps: Step[];
  /**
   * Set when sync-core cannot perform the steps itself (the Rust test then only folds the
   * document): why.
   */
  noRustReplay?: string;
  /** Extra checks on the resulting view. */
  checks: ((wo: WorkOrder) => void)[];
}

const fullVisit: Step[] = [
  { op: "accept", by: "phone", at: at(2) },
  { op: "accept", by: "phone", at: at(2), expect_error: "wrong_status" },
  { op: "appointment", by: "phone", at: at(3), start: at(60), end: at(120), reason: null },
  { op: "appointment", by: "phone", at: at(3), start: at(70), end: at(130), reason: null, expect_error: "invalid" },
  { op: "appointment", by: "phone", at: at(4), start: at(90), end: at(150), reason: "customer late" },
  { op: "en_route", by: "phone", at: at(80) },
  { op: "on_site", by: "phone", at: at(95) },
  { op: "start", by: "phone", at: at(96), expect_error: "missing_step" },
  { op: "diagnose", by: "phone", at: at(100), cause: "blocked pump", solutions: ["replace pump", " clean filter "] },
  {
    op: "quote",
    by: "phone",
    at: at(101),
    items: [
      { description: "pump", price_cents: 4900 },
      { description: "labour", price_cents: 6000 },
    ],
  },
  { op: "start", by: "phone", at: at(101), expect_error: "missing_step" },
  { op: "consent", by: "phone", at: at(102), by_name: "Ada Customer" },
  { op: "start", by: "phone", at: at(103) },
  {
    op: "add_part",
    by: "phone",
    at: at(104),
    save_as: "pump",
    part: { sku: "PUMP-7", qty: 1, serial_new: "P-NEW-1", serial_old: "P-OLD-9", price_cents: 4900, old_part: "taken_away" },
  },
  {
    op: "add_part",
    by: "phone",
    at: at(105),
    save_as: "hose",
    part: { sku: "HOSE-2", qty: 2, serial_new: "", serial_old: "", price_cents: 350, old_part: "none" },
  },
  {
    op: "add_part",
    by: "phone",
    at: at(105),
    part: { sku: "HOSE-2", qty: 0, serial_new: "", serial_old: "", price_cents: 350, old_part: "none" },
    expect_error: "invalid",
  },
  {
    op: "change_part",
    by: "phone",
    at: at(106),
    line: "$pump",
    patch: { qty: 2, serial_new: null, serial_old: null, price_cents: null, old_part: "customer_keeps" },
  },
  { op: "remove_part", by: "phone", at: at(107), line: "$hose" },
  { op: "remove_part", by: "phone", at: at(107), line: "$hose", expect_error: "part_line_removed" },
  { op: "remove_part", by: "phone", at: at(107), line: "phone-a#999", expect_error: "unknown_part_line" },
  { op: "add_photo", by: "phone", at: at(108), save_as: "before", blob: blob(1), kind: "before", caption: "before", taken_at: at(96) },
  { op: "add_photo", by: "phone", at: at(109), blob: blob(2), kind: "fault", caption: "the fault", taken_at: at(97) },
  { op: "add_photo", by: "phone", at: at(109), blob: "not-a-hash", kind: "fault", caption: "", taken_at: at(97), expect_error: "invalid" },
  { op: "remove_photo", by: "phone", at: at(110), photo: "$before" },
  { op: "remove_photo", by: "phone", at: at(110), photo: "$before", expect_error: "unknown_photo" },
  { op: "add_photo", by: "phone", at: at(111), blob: blob(3), kind: "after", caption: "after", taken_at: at(111) },
  { op: "note", by: "phone", at: at(112), text: "Dog in the garden, ring twice.\n" },
  { op: "note", by: "phone", at: at(112), text: "Dog in the garden, ring twice.\n", expect_error: "invalid" },
  { op: "test", by: "phone", at: at(113), passed: true, details: "drains in 40 s \"fast\"" },
  { op: "sign", by: "phone", at: at(114), signer: "Ada Customer", blob: blob(9) },
  { op: "complete", by: "phone", at: at(115), fixed: true },
  { op: "accept", by: "b", at: at(116), expect_error: "not_assignee" },
  { op: "add_part", by: "phone", at: at(116), part: { sku: "X", qty: 1, serial_new: "", serial_old: "", price_cents: 1, old_part: "none" }, expect_error: "wrong_status" },
];

const twoDevices: Step[] = [
  { op: "on_site", by: "phone", at: at(5) },
  {
    op: "add_part",
    by: "phone",
    at: at(6),
    save_as: "pump",
    part: { sku: "PUMP-7", qty: 1, serial_new: "", serial_old: "", price_cents: 4900, old_part: "none" },
  },
  { op: "fork", branch: "tablet" },
  { op: "diagnose", by: "phone", at: at(7), cause: "blocked pump", solutions: ["replace pump"] },
  { op: "diagnose", by: "tablet", branch: "tablet", at: at(8), cause: "broken pump", solutions: ["replace pump"] },
  {
    op: "add_part",
    by: "phone",
    at: at(9),
    part: { sku: "FLT-100", qty: 1, serial_new: "", serial_old: "", price_cents: 1250, old_part: "none" },
  },
  {
    op: "add_part",
    by: "tablet",
    branch: "tablet",
    at: at(9),
    part: { sku: "FLT-100", qty: 1, serial_new: "", serial_old: "", price_cents: 1250, old_part: "none" },
  },
  { op: "change_part", by: "phone", at: at(10), line: "$pump", patch: { qty: 2, serial_new: null, serial_old: null, price_cents: null, old_part: null } },
  { op: "change_part", by: "tablet", branch: "tablet", at: at(10), line: "$pump", patch: { qty: 3, serial_new: null, serial_old: null, price_cents: null, old_part: null } },
  { op: "start", by: "phone", at: at(11) },
  { op: "start", by: "tablet", branch: "tablet", at: at(11) },
  { op: "test", by: "phone", at: at(12), passed: true, details: "ok" },
  { op: "test", by: "tablet", branch: "tablet", at: at(12), passed: false, details: "leaks" },
  { op: "note", by: "phone", at: at(13), text: "Gate code 4711, phone" },
  { op: "note", by: "tablet", branch: "tablet", at: at(13), text: "Gate code 4711 (tablet)" },
  { op: "complete", by: "phone", at: at(14), fixed: true },
  { op: "complete", by: "tablet", branch: "tablet", at: at(14), fixed: false },
  { op: "merge", branch: "tablet" },
  { op: "sign", by: "phone", at: at(15), signer: "Ada", blob: blob(4), expect_error: "wrong_status" },
];

const decline: Step[] = [
  { op: "decline", by: "phone", at: at(3), reason: "  ", expect_error: "invalid" },
  { op: "on_site", by: "phone", at: at(3), expect_error: "missing_step" },
  { op: "decline", by: "b", at: at(3), reason: "not mine", expect_error: "not_assignee" },
  { op: "decline", by: "phone", at: at(3), reason: "too far" },
  { op: "accept", by: "phone", at: at(4), expect_error: "not_assignee" },
];

const unicodeNotes: Step[] = [
  { op: "accept", by: "phone", at: at(2) },
  { op: "note", by: "phone", at: at(3), text: "Straße 5, Hinterhaus — Hund 🐕 bellt\n" },
  { op: "note", by: "phone", at: at(4), text: "Straße 5, Hinterhaus — Hund 🐕 bellt, klingeln\n" },
];

export const JS_CASES: JsCase[] = [
  {
    name: "ts-full-visit",
    description:
      "Every technician operation of the TypeScript client on the Rust-made 'assigned' base, with refused steps in between.",
    base: "assigned",
    steps: fullVisit,
    checks: [
      (wo) => {
        const v = wo.view();
        assert.equal(v.status, "completed");
        assert.equal(v.parts.filter((p) => p.removed === null).length, 1);
        assert.equal(v.photos.filter((p) => p.removed === null).length, 2);
        assert.equal(v.conflicts.length, 0);
      },
    ],
  },
  {
    name: "ts-two-devices",
    description:
      "tech-a's phone and tablet (both TypeScript) work the Rust-made 'accepted' base offline and merge: concurrent diagnosis, duplicate part, part change, tests, notes and completions.",
    base: "accepted",
    steps: twoDevices,
    checks: [
      (wo) => {
        const v = wo.view();
        assert.equal(v.status, "completed");
        assert.equal(v.completion?.fixed, false, "not fixed wins");
        assert.equal(v.test?.passed, false, "the failed test wins");
        const kinds = new Set(v.conflicts.map((c) => c.kind));
        for (const k of ["concurrent_record", "possible_duplicate_part", "part_line_changed", "completed_twice"]) {
          assert.ok(kinds.has(k as never), `conflict ${k}`);
        }
      },
    ],
  },
  {
    name: "ts-unicode-notes",
    description:
      "Notes with non-ASCII text (ß, an em dash, an emoji) written and then edited in TypeScript; sync-core folds them to the same view.",
    base: "assigned",
    steps: unicodeNotes,
    checks: [
      (wo) => assert.equal(wo.view().notes, "Straße 5, Hinterhaus — Hund 🐕 bellt, klingeln\n"),
    ],
  },
  {
    name: "ts-decline",
    description: "The technician declines the Rust-made 'assigned' job from TypeScript; refused steps first.",
    base: "assigned",
    steps: decline,
    checks: [
      (wo) => {
        const v = wo.view();
        assert.equal(v.status, "pending_dispatch");
        assert.equal(v.assignee, null);
      },
    ],
  },
];
