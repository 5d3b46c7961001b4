/**
 * Performs the technician steps of a from-js vector with the client's operations; the Rust
 * test (sync-core/tests/js_vectors/steps.rs) performs the same list with sync-core's.
 */
import assert from "node:assert/strict";

import { WorkOrder, WorkOrderError, type Actor, type PhotoKind, type QuoteItem } from "../../src/workorder/index.js";

export type Step = Record<string, unknown> & { op: string };

function one(wo: WorkOrder, a: Actor, s: Step): string {
  const at = s.at as number;
  const str = (k: string): string => s[k] as string;
  switch (s.op) {
    case "accept":
      return wo.accept(a, at);
    case "decline":
      return wo.decline(a, str("reason"), at);
    case "appointment":
      return wo.setAppointment(a, s.start as number, s.end as number, (s.reason as string | null) ?? null, at);
    case "en_route":
      return wo.enRoute(a, at);
    case "on_site":
      return wo.onSite(a, at);
    case "diagnose":
      return wo.diagnose(a, str("cause"), s.solutions as string[], at);
    case "quote":
      return wo.quote(a, s.items as QuoteItem[], at);
    case "consent":
      return wo.consent(a, str("by_name"), at);
    case "start":
      return wo.startWork(a, at);
    case "add_part":
      return wo.addPart(a, s.part as never, at);
    case "change_part":
      return wo.changePart(a, str("line"), s.patch as never, at);
    case "remove_part":
      return wo.removePart(a, str("line"), at);
    case "add_photo":
      return wo.addPhoto(a, str("blob"), str("kind") as PhotoKind, str("caption"), s.taken_at as number, at);
    case "remove_photo":
      return wo.removePhoto(a, str("photo"), at);
    case "note":
      return wo.editNotes(a, str("text"), at);
    case "test":
      return wo.recordTest(a, s.passed as boolean, str("details"), at);
    case "sign":
      return wo.sign(a, str("signer"), str("blob"), at);
    case "complete":
      return wo.complete(a, s.fixed as boolean, at);
    default:
      throw new Error(`unknown step op ${s.op}`);
  }
}

/** Runs `steps` on `main` (and the branches they fork from it). */
export function run(main: WorkOrder, actors: Record<string, Actor>, steps: Step[]): void {
  const branches = new Map<string, WorkOrder>();
  const saved = new Map<string, string>();
  steps.forEach((raw, n) => {
    const s: Step = { ...raw };
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === "string" && v.startsWith("$")) {
        const id = saved.get(v.slice(1));
        assert.ok(id !== undefined, `step ${n}: nothing saved as ${v}`);
        s[k] = id;
      }
    }
    if (s.op === "fork") {
      branches.set(s.branch as string, main.forkFor("fork"));
      return;
    }
    if (s.op === "merge") {
      const other = branches.get(s.branch as string);
      assert.ok(other, `step ${n}: no branch ${String(s.branch)}`);
      main.merge(other);
      branches.delete(s.branch as string);
      return;
    }
    const actor = actors[s.by as string];
    assert.ok(actor, `step ${n}: no actor ${String(s.by)}`);
    const wo = typeof s.branch === "string" ? branches.get(s.branch) : main;
    assert.ok(wo, `step ${n}: no branch ${String(s.branch)}`);
    const expected = s.expect_error as string | undefined;
    try {
      const id = one(wo, actor, s);
      assert.equal(expected, undefined, `step ${n} (${s.op}) succeeded as ${id}; expected ${expected}`);
      if (typeof s.save_as === "string") saved.set(s.save_as, id);
    } catch (e) {
      if (expected === undefined || !(e instanceof WorkOrderError)) throw e;
      assert.equal(e.code, expected, `step ${n} (${s.op}): ${e.message}`);
    }
  });
}
