/**
 * The audit pages on a manual service clock: the day's draw by region; an auditor records a
 * failed finding (the API's refusal of a missing field shown in the form first) and, by
 * keyboard alone, a passed one; the corrective action's deadline passes, the clock pass
 * records the breach and the open pages highlight it without a reload; a manager verifies it;
 * a dispatcher has no audit pages; axe-core on every audit page and form.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TestServer, cleanUp, phone } from "./support/server.js";
import { launch, openConsole, login, checkAxe, screenshot, until } from "./support/browser.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let s;
let browser;
let aud;
let auditId;

const clock = async () => (await s.api("admin", "GET", "/v1/clock")).now;

before(async () => {
  s = await TestServer.start({ env: { FIELDSYNC_CLOCK: "manual" } });
  browser = await launch();
  await s.region("north");
  await s.skill("washers");
  await s.user("tech-a", "technician", { regions: ["north"], skills: ["washers"] });
  await s.user("aud", "auditor", { regions: ["north"] });
  await s.user("mgr", "manager", { regions: ["north"] });
  await s.user("disp-n", "dispatcher", { regions: ["north"] });
  await s.order("WO-Q1", { customer: "Quinn Quality" });
  const a = await phone(s, "tech-a");
  await a(["sync"]);
  for (const step of [
    ["accept", "WO-Q1"],
    ["on-site", "WO-Q1"],
    ["diagnose", "WO-Q1", "pump blocked", "--solution", "clean the pump"],
    ["start", "WO-Q1"],
    ["test", "WO-Q1", "--passed"],
    ["complete", "WO-Q1", "--fixed"],
  ]) {
    await a(step);
  }
  await a(["sync"]);
  // The day is over on the service clock: draw it.
  const now = await clock();
  const day = new Date(now).toISOString().slice(0, 10);
  await s.api("admin", "POST", "/v1/admin/clock", { advance: `${DAY - (now % DAY) + HOUR}ms` });
  const draw = await s.api("admin", "POST", "/v1/audits/draws", { day });
  assert.deepStrictEqual(draw.regions.map((r) => [r.region, r.chosen]), [["north", ["WO-Q1"]]]);
  auditId = (await s.api("admin", "GET", `/v1/audits?day=${day}`))[0].id;
  aud = await openConsole(browser, s);
  await login(aud.page, "aud");
});

after(async () => {
  await browser?.close();
  await s?.stop();
  await cleanUp();
});

/** A `datetime-local` value for service time `ms`, in the browser's zone. */
function localInput(page, ms) {
  return page.evaluate((t) => {
    const d = new Date(t);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }, ms);
}

test("an auditor sees the day's sample by region and opens the audit given to them", async () => {
  const { page, problems } = aud;
  await page.getByRole("link", { name: "Audits", exact: true }).click();
  const north = page.locator('.audit-region[data-region="north"]');
  await north.waitFor();
  assert.match(await north.innerText(), /north\s+1 of 1 completed drawn\.[\s\S]*WO-Q1\s+Open audit\s+Open\s+aud/);
  assert.match(await page.locator(".audit-sample").innerText(), /rate 10\.0 %, seed \d+, 1 completed work orders/);
  await page.getByText("No corrective action is overdue.").waitFor();
  await screenshot(page, "audits");
  await north.getByRole("link", { name: "Audit of WO-Q1" }).click();
  await page.getByRole("heading", { name: "Audit of WO-Q1", level: 1 }).waitFor();
  await page.getByText("No finding yet.").waitFor();
  assert.match(await page.locator(".wo-status").innerText(), /Open\s+Work order WO-Q1 · north · drawn for \d{4}-\d\d-\d\d · auditor aud/);
  assert.deepStrictEqual(problems, []);
});

test("a failed finding needs its problem, team, corrective action and deadline; the API's refusal shows in the form", async () => {
  const { page, problems } = aud;
  await page.goto(`${s.pageBase}/#/audits/${encodeURIComponent(auditId)}`);
  await page.getByRole("button", { name: "Record a finding…" }).click();
  const dialog = page.getByRole("dialog", { name: "Record a finding on WO-Q1" });
  await dialog.getByLabel("Standard checked").fill("an after photo shows the repair");
  await dialog.getByLabel("Fail").check();
  await dialog.getByLabel("Problem").fill("no after photo");
  await dialog.getByLabel("Responsible team").fill("north crew");
  await checkAxe(page, "finding form");
  await screenshot(page, "audit-finding-dialog", { fullPage: false });
  await dialog.getByRole("button", { name: "Record finding" }).click();
  const error = dialog.getByRole("alert");
  await error.waitFor();
  assert.equal(await error.innerText(), "a failed finding needs `corrective_action`");
  // The browser logs the refusal this test asked for; nothing else may appear.
  const refused = problems.findIndex((p) => /status of 400/.test(p));
  assert.ok(refused >= 0, "the refusal went to the server");
  problems.splice(refused, 1);
  await dialog.getByLabel("Corrective action").fill("send the after photo");
  await dialog.getByLabel("Deadline").fill(await localInput(page, (await clock()) + 2 * HOUR));
  await dialog.getByRole("button", { name: "Record finding" }).click();
  await dialog.waitFor({ state: "detached" });
  const row = page.locator(".audit-findings tbody tr").first();
  await row.waitFor();
  assert.match(await row.innerText(), /1\s+an after photo shows the repair\s+Fail\s+no after photo\s+north crew\s+send the after photo\s+.*QA-CORRECTIVE in (2h|1h 59m)\s+Verify…/);
  assert.equal(await row.getAttribute("class"), "", "not overdue yet");
  assert.match(await page.locator(".audit-history").innerText(), /aud\s+Finding/);
  assert.deepStrictEqual(problems, []);
});

test("keyboard alone: a passed finding is recorded", async () => {
  const { page, problems } = aud;
  await page.goto(`${s.pageBase}/#/audits/${encodeURIComponent(auditId)}`);
  await page.locator(".audit-findings tbody tr").first().waitFor();
  await page.locator("body").focus();
  let found = false;
  for (let i = 0; i < 60 && !found; i += 1) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement?.textContent === "Record a finding…");
  }
  assert.ok(found, "Tab reaches the button");
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Record a finding on WO-Q1" });
  await dialog.waitFor();
  await until(page, () => document.activeElement?.name === "standard");
  await page.keyboard.type("the customer signed the report");
  // Pass is chosen; the failed finding's fields are out of the way.
  assert.equal(await dialog.getByLabel("Corrective action").isDisabled(), true);
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "detached" });
  const row = page.locator(".audit-findings tbody tr").nth(1);
  await row.waitFor();
  assert.match(await row.innerText(), /2\s+the customer signed the report\s+Pass/);
  assert.deepStrictEqual(problems, []);
});

test("past its deadline, the unverified corrective action is highlighted with its clock, live", async () => {
  const { page, problems } = aud;
  await page.goto(`${s.pageBase}/#/audits/${encodeURIComponent(auditId)}`);
  const row = page.locator(".audit-findings tbody tr").first();
  await row.waitFor();
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  await s.api("admin", "POST", "/v1/admin/clock", { advance: "3h" });
  await s.api("admin", "POST", "/v1/admin/clock/tick", {});
  await until(page, () => document.querySelector(".audit-findings tbody tr")?.classList.contains("row-overdue"));
  assert.ok(await page.evaluate(() => window.__sameDocument === true), "no reload");
  assert.match(await row.innerText(), /QA-CORRECTIVE (1h|59m) overdue/);
  await screenshot(page, "audit-overdue");
  await page.getByRole("link", { name: "← Audits" }).click();
  const late = page.locator(".audit-overdue tbody tr");
  await late.waitFor();
  assert.match(await late.innerText(), /WO-Q1\s+\d{4}-\d\d-\d\d \(Open\)\s+north\s+send the after photo\s+north crew\s+.+\s+QA-CORRECTIVE (1h|59m) overdue/);
  assert.equal(await late.getAttribute("class"), "row-overdue");
  const breaches = await s.api("admin", "GET", "/v1/breaches");
  assert.ok(breaches.some((b) => b.rule === "QA-CORRECTIVE" && b.wo_id === "WO-Q1"), "the breach is on the service clock");
  assert.deepStrictEqual(problems, []);
});

test("a manager verifies the corrective action; it leaves the overdue list", async () => {
  const mgr = await openConsole(browser, s);
  try {
    const { page, problems } = mgr;
    await login(page, "mgr");
    await page.getByRole("link", { name: "Audits", exact: true }).click();
    await page.locator(".audit-overdue tbody tr").getByRole("link", { name: "Audit of WO-Q1" }).click();
    await page.getByRole("button", { name: "Verify corrective action 1" }).click();
    const dialog = page.getByRole("dialog", { name: "Verify corrective action 1" });
    await dialog.getByLabel("What you checked (optional)").fill("the photo is in the record now");
    await dialog.getByRole("button", { name: "Verify" }).click();
    await dialog.waitFor({ state: "detached" });
    const row = page.locator(".audit-findings tbody tr").first();
    await until(page, () => /verified by mgr/.test(document.querySelector(".audit-findings tbody tr")?.innerText ?? ""));
    assert.match(await row.innerText(), /verified by mgr, .+: the photo is in the record now/);
    assert.equal(await row.getAttribute("class"), "");
    assert.equal(await page.getByRole("button", { name: "Record a finding…" }).count(), 0, "a manager records no findings");
    await page.getByRole("link", { name: "← Audits" }).click();
    await page.getByText("No corrective action is overdue.").waitFor();
    assert.deepStrictEqual(problems, []);
  } finally {
    await mgr.context.close();
  }
  // The auditor's open audit page heard of it too.
  await aud.page.goto(`${s.pageBase}/#/audits/${encodeURIComponent(auditId)}`);
  await aud.page.locator(".audit-findings tbody tr").first().getByText("verified").waitFor();
});

test("a dispatcher has no audit pages", async () => {
  const d = await openConsole(browser, s);
  try {
    await login(d.page, "disp-n");
    assert.equal(await d.page.getByRole("link", { name: "Audits", exact: true }).isVisible(), false);
    await d.page.goto(`${s.pageBase}/#/audits`);
    await d.page.getByText(/Audits are not for your role: a dispatcher has no audit views/).waitFor();
  } finally {
    await d.context.close();
  }
});

for (const [scheme, width, height] of [
  ["light", 1280, 800],
  ["dark", 1280, 800],
  ["light", 390, 844],
]) {
  const tag = `${scheme}${width < 600 ? "-phone" : ""}`;
  test(`axe-core finds nothing serious on the audit pages (${tag})`, async () => {
    const { page, context, problems } = await openConsole(browser, s, { width, height, colorScheme: scheme });
    try {
      await login(page, "admin");
      for (const [name, hash, ready] of [
        ["audits", "#/audits", ".audit-region tbody tr"],
        ["audit", `#/audits/${encodeURIComponent(auditId)}`, ".audit-findings tbody tr"],
      ]) {
        await page.goto(`${s.pageBase}/${hash}`);
        await page.locator(ready).first().waitFor();
        await checkAxe(page, `${name} (${tag})`);
        await screenshot(page, `${name}-${tag}`);
        if (width < 600) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `${name} fits a ${width} px screen (${overflow} px too wide)`);
        }
      }
      await page.getByRole("button", { name: "Record a finding…" }).click();
      await page.getByRole("dialog", { name: "Record a finding on WO-Q1" }).getByLabel("Fail").check();
      await checkAxe(page, `finding form (${tag})`);
      await page.keyboard.press("Escape");
      assert.deepStrictEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
