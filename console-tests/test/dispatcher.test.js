/**
 * A dispatcher's day in the console against a real field-server: the unassigned job on the
 * board, the assign dialog with its reasons, keyboard-only assignment, a reassignment's
 * reason, another region's dispatcher who sees nothing of it, and a technician's completion
 * (synced by field-cli) reaching the board live with the scroll position kept.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TestServer, phone, cleanUp } from "./support/server.js";
import { launch, openConsole, login, screenshot, until } from "./support/browser.js";

let s;
let browser;
let disp; // disp-n's page, shared by the tests in order

before(async () => {
  s = await TestServer.start();
  browser = await launch();
  for (const r of ["north", "south"]) await s.region(r);
  for (const k of ["washers", "dryers"]) await s.skill(k);
  // Created before any technician exists: they wait for dispatch.
  await s.order("WO-N1", { customer: "Ada Customer" });
  await s.order("WO-N2", { customer: "Bea Keyboard" });
  await s.order("WO-S1", { region: "south", customer: "Sam South" });
  for (let i = 1; i <= 24; i += 1) await s.order(`WO-F${String(i).padStart(2, "0")}`, { customer: `Filler ${i}` });
  await s.user("tech-a", "technician", { regions: ["north"], skills: ["washers"], capacity: 5 });
  await s.user("tech-b", "technician", { regions: ["north"], skills: ["washers"], capacity: 5 });
  await s.user("tech-c", "technician", { regions: ["north"], skills: ["dryers"], capacity: 5 });
  await s.user("tech-s", "technician", { regions: ["south"], skills: ["washers"], capacity: 5 });
  await s.user("disp-n", "dispatcher", { regions: ["north"] });
  await s.user("disp-s", "dispatcher", { regions: ["south"] });
  // Dispatched on intake to the least loaded: tech-a (ties break by id).
  await s.order("WO-L1", { customer: "Liv Live" });
  disp = await openConsole(browser, s);
  await login(disp.page, "disp-n");
});

after(async () => {
  await browser?.close();
  await s?.stop();
  await cleanUp();
});

const card = (page, id, where = ".unassigned") => page.locator(`${where} .card[data-id="${id}"]`);

test("a dispatcher logs in and sees the unassigned job, in its region only", async () => {
  const { page, problems } = disp;
  const c = card(page, "WO-N1");
  await c.waitFor();
  const text = await c.innerText();
  for (const want of ["WO-N1", "Ada Customer", "Repair", "washers", "Unassigned"]) assert.match(text, new RegExp(want));
  assert.equal(await page.locator('.card[data-id="WO-S1"]').count(), 0, "south's job is not on north's board");
  assert.deepStrictEqual(await page.locator(".lane").evaluateAll((ls) => ls.map((l) => l.dataset.region)), ["north"]);
  assert.match(await page.locator("#unassigned-title").innerText(), /Unassigned · 26/);
  await screenshot(page, "board");
  assert.deepStrictEqual(problems, []);
});

test("a dispatcher of another region does not see the job", async () => {
  const other = await openConsole(browser, s);
  try {
    await login(other.page, "disp-s");
    await card(other.page, "WO-S1").waitFor();
    assert.equal(await other.page.locator('.card[data-id="WO-N1"]').count(), 0);
    await other.page.goto(`${s.pageBase}/#/wo/WO-N1`);
    await other.page.getByText("No work order WO-N1 that you can see.").waitFor();
    await other.page.goto(`${s.pageBase}/#/board?q=WO-N1`);
    await other.page.locator(".board-summary").filter({ hasText: "0 waiting" }).waitFor();
    assert.equal(await other.page.locator(".card").count(), 0);
    assert.deepStrictEqual(other.problems, []);
  } finally {
    await other.context.close();
  }
});

test("the assign dialog lists every candidate with its reason, and one click assigns", async () => {
  const { page, problems } = disp;
  await page.getByRole("button", { name: "Assign WO-N1 Ada Customer" }).click();
  const dialog = page.getByRole("dialog", { name: "Assign WO-N1" });
  await dialog.waitFor();
  const eligible = dialog.getByRole("list", { name: "Eligible technicians, best first" });
  await eligible.waitFor();
  // tech-b holds no job yet, tech-a holds WO-L1: tech-b first.
  const names = (await eligible.locator(".candidate-name").allTextContents()).map((t) => t.replace("dispatch's choice", "").trim());
  assert.deepStrictEqual(names, ["tech-b", "tech-a"]);
  assert.match(await eligible.locator("li").first().innerText(), /0 \/ 5/);
  const excluded = dialog.getByRole("list", { name: "Excluded technicians with the reason" });
  assert.match(await excluded.innerText(), /tech-c[\s\S]*Missing skill: washers/);
  await screenshot(page, "assign-dialog", { fullPage: false });
  await dialog.getByRole("button", { name: "Assign: tech-b" }).click();
  await dialog.waitFor({ state: "detached" });
  const moved = page.locator('.lane[data-region="north"] .cell[data-status="assigned"] .card[data-id="WO-N1"]');
  await moved.waitFor();
  assert.match(await moved.innerText(), /→ tech-b/);
  assert.equal(await card(page, "WO-N1").count(), 0, "no longer waiting");
  assert.equal((await s.view("WO-N1")).assignee, "tech-b");
  assert.deepStrictEqual(problems, []);
});

test("keyboard alone: Tab to a job, Enter opens the dialog, Escape closes it, Enter assigns", async () => {
  const { page, problems } = disp;
  await page.goto(`${s.pageBase}/#/board`);
  await card(page, "WO-N2").waitFor();
  await page.locator("body").focus();
  const target = "Assign WO-N2 Bea Keyboard";
  let found = false;
  for (let i = 0; i < 250 && !found; i += 1) {
    await page.keyboard.press("Tab");
    found = await page.evaluate((t) => document.activeElement?.getAttribute("aria-label") === t, target);
  }
  assert.ok(found, `Tab reaches "${target}"`);
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Assign WO-N2" });
  await dialog.waitFor();
  await until(page, () => document.activeElement?.closest("dialog") && /^Assign: /.test(document.activeElement.getAttribute("aria-label") ?? ""));
  const chosen = await page.evaluate(() => document.activeElement.dataset.tech);
  // Tab stays inside the dialog.
  for (let i = 0; i < 12; i += 1) {
    await page.keyboard.press("Tab");
    assert.ok(await page.evaluate(() => !!document.activeElement?.closest("dialog")), "focus stays in the dialog");
  }
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), target, "focus returns to the button");
  await page.keyboard.press("Enter");
  await dialog.waitFor();
  await until(page, () => /^Assign: /.test(document.activeElement?.getAttribute("aria-label") ?? ""));
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "detached" });
  await page.locator(`.lane .card[data-id="WO-N2"][data-status="assigned"]`).waitFor();
  assert.equal((await s.view("WO-N2")).assignee, chosen);
  assert.deepStrictEqual(problems, []);
});

test("a reassignment asks for the reason the rules require", async () => {
  const { page, problems } = disp;
  await page.goto(`${s.pageBase}/#/wo/WO-N1`);
  await page.getByRole("button", { name: "Reassign…" }).click();
  const dialog = page.getByRole("dialog", { name: "Assign WO-N1" });
  const reason = dialog.getByLabel("Reason for the reassignment (required)");
  await reason.waitFor();
  await dialog.getByRole("button", { name: "Assign: tech-a" }).click();
  await dialog.getByText("A reassignment needs a reason").waitFor();
  await reason.fill("tech-b is off sick");
  await dialog.getByRole("button", { name: "Assign: tech-a" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.locator(".wo-timeline").getByText("Assigned to tech-a: tech-b is off sick").waitFor();
  assert.match(await page.locator(".wo-job").innerText(), /tech-a \(not yet accepted\)/);
  await screenshot(page, "workorder");
  assert.deepStrictEqual(problems, []);
});

test("a technician's completion reaches the board without a reload, and the scroll stays", async () => {
  const { page, problems } = disp;
  await page.goto(`${s.pageBase}/#/board`);
  const live = page.locator('.lane[data-region="north"] .card[data-id="WO-L1"]');
  await live.waitFor();
  assert.equal(await live.getAttribute("data-status"), "assigned");
  const a = await phone(s, "tech-a");
  await a(["sync"]);
  for (const step of [
    ["accept", "WO-L1"],
    ["on-site", "WO-L1"],
    ["diagnose", "WO-L1", "pump blocked by a coin", "--solution", "clean the pump"],
    ["start", "WO-L1"],
    ["complete", "WO-L1", "--fixed"],
  ]) {
    await a(step);
  }
  // The dispatcher has scrolled down to a card of the north lane and focused it.
  const mine = page.locator('.lane .card[data-id="WO-N2"] .card-id');
  await page.evaluate(() => {
    window.__sameDocument = true;
    document.querySelector('.lane .card[data-id="WO-N2"]').scrollIntoView({ block: "center" });
  });
  await mine.focus();
  const place = () =>
    page.evaluate(() => ({
      y: window.scrollY,
      top: Math.round(document.querySelector('.lane .card[data-id="WO-N2"]').getBoundingClientRect().top),
      same: window.__sameDocument === true,
      focused: document.activeElement?.closest(".card")?.dataset.id,
    }));
  const before = await place();
  assert.ok(before.y > 100, `the page is scrolled (${before.y})`);
  const started = Date.now();
  await a(["sync"]);
  await page.locator('.lane[data-region="north"] .cell[data-status="completed"] .card[data-id="WO-L1"]').waitFor({ timeout: 10_000 });
  const took = Date.now() - started;
  const after = await place();
  assert.ok(after.same, "no reload");
  // The card the dispatcher looks at stays where it was on the screen (the browser keeps it
  // there even when the lane around it changes height).
  assert.equal(after.top, before.top, "the place on the screen is kept");
  assert.ok(after.y > 100, `still scrolled (${after.y})`);
  assert.equal(after.focused, "WO-N2", "focus kept");
  console.log(`the board showed the completion ${took} ms after the sync started`);
  await screenshot(page, "board-live");
  assert.deepStrictEqual(problems, []);
});

test("the follow-up call of the completed job is recorded from its page", async () => {
  const { page, problems } = disp;
  await page.goto(`${s.pageBase}/#/wo/WO-L1`);
  await page.getByRole("button", { name: "Record follow-up…" }).click();
  const dialog = page.getByRole("dialog", { name: "Follow-up call for WO-L1" });
  await dialog.getByLabel("Satisfaction score (1 to 5)").selectOption("5");
  await dialog.getByLabel("Customer's comment").fill("quick and tidy");
  await dialog.getByRole("button", { name: "Record" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.locator(".wo-status").getByText("Closed").waitFor();
  assert.match(await page.locator(".wo-field").innerText(), /Score 5: “quick and tidy”/);
  assert.equal((await s.view("WO-L1")).status, "closed");
  assert.deepStrictEqual(problems, []);
});

test("a job is unassigned with a reason, then cancelled, from its page; the board lets it go", async () => {
  const { page, problems } = disp;
  await s.assign("WO-F20", "tech-a");
  await page.goto(`${s.pageBase}/#/wo/WO-F20`);
  await page.getByRole("button", { name: "Unassign…" }).click();
  let dialog = page.getByRole("dialog", { name: "Unassign WO-F20" });
  await dialog.getByLabel("Reason (required)").fill("the customer moved the visit to next week");
  await dialog.getByRole("button", { name: "Unassign" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.locator(".wo-status").getByText("Pending dispatch").waitFor();
  await page.getByRole("button", { name: "Cancel work order…" }).click();
  dialog = page.getByRole("dialog", { name: "Cancel WO-F20" });
  await dialog.getByLabel("Reason (required)").fill("the customer bought a new machine");
  await dialog.getByRole("button", { name: "Cancel the work order" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.locator(".wo-status").getByText("Cancelled").waitFor();
  assert.match(await page.locator(".wo-field").innerText(), /the customer bought a new machine/);
  await page.goto(`${s.pageBase}/#/board`);
  await card(page, "WO-N2", ".lane").waitFor();
  assert.equal(await page.locator('.card[data-id="WO-F20"]').count(), 0);
  assert.deepStrictEqual(problems, []);
});
