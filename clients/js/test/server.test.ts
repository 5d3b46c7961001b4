/**
 * The TypeScript client against the real field-server (and field-cli): convergence with a
 * Rust device, live push, a long offline period with an expired token, and a job taken away.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { Device, LiveEvents, MemoryStore, type Actor, type Fetch } from "../src/index.js";
import { fieldCli, TestServer } from "./support/server.js";

const techA: Actor = { user: "tech-a", role: "technician", device: "ts-phone" };
const scratch: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "fieldsync-js-device-"));
  scratch.push(d);
  return d;
}

after(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

/** A server with tech-a, tech-b and a dispatcher; returns it with the dispatcher's token. */
async function setup(env: Record<string, string> = {}): Promise<{ s: TestServer; disp: string; admin: string }> {
  const s = await TestServer.start(env);
  const admin = await s.adminToken();
  await s.addUser(admin, "tech-a", "technician");
  // tech-b works elsewhere, so intake's auto-dispatch gives north's jobs to tech-a.
  await s.addUser(admin, "tech-b", "technician", "south");
  await s.addUser(admin, "disp-1", "dispatcher");
  return { s, admin, disp: await s.token("disp-1", "disp-1-password") };
}

async function tsDevice(s: TestServer, id = "ts-phone", extra: { fetch?: Fetch; now?: () => number } = {}): Promise<Device> {
  const d = new Device({ baseUrl: s.base, device: id, store: new MemoryStore(), ...extra });
  await d.auth.login("tech-a", "tech-a-password", id);
  return d;
}

test("a TypeScript device and a field-cli device work the same job offline and converge", async () => {
  const { s, disp } = await setup();
  try {
    await s.createOrder(disp, "WO-1");
    await s.assignTo(disp, "WO-1", "tech-a");
    const ts = await tsDevice(s);
    const cli = await tempDir();
    await fieldCli(cli, ["login", "--server", s.base, "--user", "tech-a"], "tech-a-password");

    await ts.sync();
    await ts.update("WO-1", (wo) => wo.accept(techA, Date.now()));
    await ts.sync();
    await fieldCli(cli, ["sync"]);

    // Both offline: each records its own steps.
    await ts.update("WO-1", (wo) => {
      wo.onSite(techA, Date.now());
      wo.addPart(techA, { sku: "PUMP-7", qty: 1, price_cents: 4900 }, Date.now());
    });
    await fieldCli(cli, ["part", "add", "WO-1", "--sku", "FLT-100", "--price-cents", "1250"]);
    await fieldCli(cli, ["note", "WO-1", "gate code 4711"]);

    await ts.sync();
    await fieldCli(cli, ["sync"]);
    await ts.sync();

    const mine = (await ts.workOrder("WO-1"))!.view();
    const server = await s.view(disp, "WO-1");
    const cliView = JSON.parse(await fieldCli(cli, ["show", "WO-1", "--json"])) as Record<string, unknown>;
    const skus = (v: { parts: { sku: string }[] }): string[] => v.parts.map((p) => p.sku).sort();
    assert.deepStrictEqual(skus(mine), ["FLT-100", "PUMP-7"]);
    assert.match(mine.notes, /gate code 4711/);
    assert.equal(mine.status, "on_site");
    for (const other of [server, cliView]) {
      const v = ("view" in other ? other.view : other) as typeof mine;
      assert.deepStrictEqual(skus(v), skus(mine));
      assert.equal(v.notes, mine.notes);
      assert.equal(v.status, mine.status);
      assert.equal(v.event_count, mine.event_count);
    }
  } finally {
    await s.stop();
  }
});

test("a TypeScript device is told within 2 s that a job was assigned to it", async (t) => {
  const { s, disp } = await setup();
  try {
    const ts = await tsDevice(s);
    await ts.sync();
    // Every event, with its arrival time and reason.
    const seen: { at: number; reason: string }[] = [];
    let opened: () => void = () => undefined;
    const open = new Promise<void>((r) => {
      opened = r;
    });
    const live = new LiveEvents({
      auth: ts.auth,
      store: ts.store,
      onSync: (e) => {
        seen.push({ at: Date.now(), reason: (JSON.parse(e.data || "{}") as { reason?: string }).reason ?? "" });
      },
      onOpen: () => opened(),
    });
    live.start();
    try {
      await open;
      // A fresh stream may start with a `resume` event; let it pass before the clock starts.
      await new Promise((r) => setTimeout(r, 500));
      const before = seen.length;
      // Intake's auto-dispatch assigns it (or the dispatcher does, when it did not).
      const assigned = Date.now();
      await s.createOrder(disp, "WO-7");
      await s.assignTo(disp, "WO-7", "tech-a");
      const deadline = assigned + 5000;
      while (seen.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const event = seen[before];
      assert.ok(event !== undefined, "no event within 5 s");
      assert.notEqual(event.reason, "resume");
      t.diagnostic(`told ${event.at - assigned} ms after the intake request was sent (reason ${event.reason})`);
      assert.ok(event.at - assigned <= 2000, `told after ${event.at - assigned} ms`);
      const report = await ts.sync();
      assert.deepStrictEqual(report.added, ["WO-7"]);
      assert.ok((await ts.store.getMeta("last_event_id")) !== null, "the event id is kept to resume from");
    } finally {
      await live.stop();
    }
  } finally {
    await s.stop();
  }
});

test("a TypeScript device offline for three days with an expired access token syncs after a refresh", async () => {
  // Access tokens live 4 s; the device's clock stands still while offline, so only the
  // server can tell the token expired (401 token_expired), then three days pass on it.
  const { s, disp } = await setup({ FIELDSYNC_ACCESS_TTL_SECS: "4" });
  try {
    await s.createOrder(disp, "WO-3");
    await s.assignTo(disp, "WO-3", "tech-a");
    let clock = Date.now();
    const ts = await tsDevice(s, "ts-phone", { now: () => clock });
    await ts.sync();
    const firstToken = (await ts.auth.current())!.accessToken;

    await new Promise((r) => setTimeout(r, 4500));
    await ts.update("WO-3", (wo) => wo.accept(techA, clock));
    const report = await ts.sync();
    assert.deepStrictEqual(report.failed, []);
    assert.notEqual((await ts.auth.current())!.accessToken, firstToken, "refreshed after the server refused the token");

    // Three days offline by the device clock: the token is refreshed before the request.
    clock += 3 * 24 * 3600 * 1000;
    await ts.update("WO-3", (wo) => wo.onSite(techA, clock));
    await ts.sync();
    const server = await s.view(await s.token("disp-1", "disp-1-password"), "WO-3");
    const v = ("view" in server ? server.view : server) as { status: string; accepted: boolean };
    assert.equal(v.status, "on_site");
    assert.equal(v.accepted, true);
  } finally {
    await s.stop();
  }
});

test("a refresh whose response was lost is retried with the same token and succeeds", async () => {
  const { s } = await setup();
  try {
    let dropNext = false;
    const lossy: Fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (dropNext && String(input).endsWith("/v1/auth/refresh")) {
        dropNext = false;
        await res.arrayBuffer();
        throw new TypeError("network connection lost");
      }
      return res;
    };
    const ts = await tsDevice(s, "ts-phone", { fetch: lossy });
    const before = (await ts.auth.current())!.refreshToken;
    dropNext = true;
    const after = await ts.auth.refresh();
    assert.notEqual(after.refreshToken, before);
    await ts.sync();
    // The token the lost response carried was never used; ours keeps working.
    await ts.auth.refresh();
    await ts.auth.logout();
    assert.equal(await ts.auth.current(), null);
  } finally {
    await s.stop();
  }
});

test("a job taken away keeps its data on the device until the server confirms it holds it", async () => {
  const { s, disp } = await setup();
  try {
    await s.createOrder(disp, "WO-5");
    await s.assignTo(disp, "WO-5", "tech-a");
    // The first sync after the reassignment is answered as by a server that did not take
    // the device's changes: `removed` without heads.
    let hideHeads = false;
    const { decodeResponse, encodeResponse } = await import("../src/index.js");
    const tamper: Fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!hideHeads || !String(input).endsWith("/v1/sync") || !res.ok) return res;
      hideHeads = false;
      const r = decodeResponse(new Uint8Array(await res.arrayBuffer()));
      const body = encodeResponse({ docs: r.docs.map((d) => (d.change.kind === "removed" ? { ...d, heads: [] } : d)) });
      return new Response(body, { status: 200, headers: { "content-type": "application/cbor" } });
    };
    const ts = await tsDevice(s, "ts-phone", { fetch: tamper });
    await ts.sync();
    await ts.update("WO-5", (wo) => {
      wo.accept(techA, Date.now());
      wo.addPart(techA, { sku: "BELT-1", qty: 1, price_cents: 1500 }, Date.now());
    });
    await s.ok(disp, "POST", "/v1/workorders/WO-5/unassign", { reason: "tech-a is off sick" });

    hideHeads = true;
    const first = await ts.sync();
    assert.equal(first.kept.length, 1, "removed without confirmation: kept");
    assert.ok(first.kept[0]!.hadUnsyncedChanges);
    const kept = (await ts.workOrder("WO-5"))!.view();
    assert.deepStrictEqual(kept.parts.map((p) => p.sku), ["BELT-1"]);

    const second = await ts.sync();
    assert.deepStrictEqual(second.deleted, ["WO-5"], "deleted once the server confirmed");
    assert.equal(await ts.workOrder("WO-5"), null);
    const server = await s.view(disp, "WO-5");
    const v = ("view" in server ? server.view : server) as { parts: { sku: string }[]; assignee: string | null };
    assert.deepStrictEqual(v.parts.map((p) => p.sku), ["BELT-1"], "the server holds the offline work");
    assert.notEqual(v.assignee, "tech-a");
  } finally {
    await s.stop();
  }
});
