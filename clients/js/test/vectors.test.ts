/**
 * The cross-language work-order vectors (vectors/workorder/, see its README):
 * - every Rust-made document folds here to the view sync-core folded;
 * - the technician steps below, performed by this client on Rust-made bases, give the
 *   committed from-js documents (rebuilt and compared byte for byte; written when missing
 *   or with FIELDSYNC_UPDATE_VECTORS=1). The Rust test folds them and performs the same steps
 *   with sync-core, comparing events and views.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";

import { fromHex, toHex } from "../src/sha256.js";
import { WorkOrder, type Actor } from "../src/workorder/index.js";
import { JS_CASES } from "./support/js_cases.js";
import { run } from "./support/steps.js";

const ROOT = new URL("../../../../vectors/workorder/", import.meta.url);
const FROM_RUST = new URL("from-rust/", ROOT);
const FROM_JS = new URL("from-js/", ROOT);
const UPDATE = process.env.FIELDSYNC_UPDATE_VECTORS === "1";

interface RustVector {
  name: string;
  doc_hex: string;
  events: string[];
  view: unknown;
}

function rustVector(name: string): RustVector {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FROM_RUST), "utf8")) as RustVector;
}

const ACTORS: Record<string, Actor> = {
  phone: { user: "tech-a", role: "technician", device: "phone-a" },
  tablet: { user: "tech-a", role: "technician", device: "tablet-a" },
  b: { user: "tech-b", role: "technician", device: "phone-b" },
};

test("every Rust-made document folds in TypeScript to the view sync-core folded", () => {
  const names = readdirSync(FROM_RUST).filter((f) => f.endsWith(".json"));
  assert.ok(names.length >= 8, `expected the Rust vectors, found ${names.length}`);
  for (const file of names) {
    const v = rustVector(file.replace(/\.json$/, ""));
    const wo = WorkOrder.load(fromHex(v.doc_hex), "reader");
    assert.deepStrictEqual(wo.view(), v.view, `${v.name}: view`);
    assert.deepStrictEqual(
      wo.events().length,
      v.events.length,
      `${v.name}: every event is read`,
    );
  }
});

for (const c of JS_CASES) {
  test(`TypeScript steps on a Rust base: ${c.name}`, () => {
    const base = rustVector(c.base);
    const wo = WorkOrder.load(fromHex(base.doc_hex), "phone-a");
    run(wo, ACTORS, c.steps);
    const fresh = {
      name: c.name,
      description: c.description,
      base: c.base,
      actors: ACTORS,
      steps: c.steps,
      ...(c.noRustReplay === undefined ? {} : { no_rust_replay: c.noRustReplay }),
      doc_hex: toHex(wo.save()),
      view: wo.view(),
    };
    const path = new URL(`${c.name}.json`, FROM_JS);
    if (UPDATE || !existsSync(path)) {
      mkdirSync(FROM_JS, { recursive: true });
      writeFileSync(path, JSON.stringify(fresh, null, 2) + "\n");
    }
    const committed = JSON.parse(readFileSync(path, "utf8")) as typeof fresh;
    assert.deepStrictEqual(committed.steps, fresh.steps, `${c.name}: steps changed; rerun with FIELDSYNC_UPDATE_VECTORS=1`);
    assert.equal(committed.doc_hex, fresh.doc_hex, `${c.name}: the document bytes changed; rerun with FIELDSYNC_UPDATE_VECTORS=1`);
    // The committed document reads back to the committed view.
    const reread = WorkOrder.load(fromHex(committed.doc_hex), "reader");
    assert.deepStrictEqual(reread.view(), committed.view);
    for (const check of c.checks) check(reread);
  });
}
