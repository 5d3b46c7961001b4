/**
 * The stock pages: a dispatcher creates a warehouse, receives parts and issues some to a van;
 * the API's refusal shows in the form; a technician's offline part line drives the van below
 * zero and the page flags it live, linked to its work order; a count shows its variance; the
 * reorder list and its thresholds, by keyboard alone; an auditor reads without actions; axe-core
 * on every stock page and form, light, dark and on a phone.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TestServer, cleanUp, phone } from "./support/server.js";
import { launch, openConsole, login, checkAxe, screenshot, until } from "./support/browser.js";

let s;
let browser;
let disp;

before(async () => {
  s = await TestServer.start();
  browser = await launch();
  await s.region("north");
  await s.skill("washers");
  await s.api("admin", "PUT", "/v1/admin/parts/PUMP-7", { name: "Drain pump", price_cents: 4900 });
  await s.api("admin", "PUT", "/v1/admin/parts/HOSE-2", { name: "Inlet hose", price_cents: 900 });
  await s.user("tech-a", "technician", { regions: ["north"], skills: ["washers"] });
  await s.user("disp-n", "dispatcher", { regions: ["north"] });
  await s.user("aud", "auditor");
  await s.user("agent-1", "agent");
  disp = await openConsole(browser, s);
  await login(disp.page, "disp-n");
});

after(async () => {
  await browser?.close();
  await s?.stop();
  await cleanUp();
});

/** Presses Tab until the focused element's accessible name (label or text) matches `name`. */
async function tabTo(page, name, max = 120) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press("Tab");
    const here = await page.evaluate(() => {
      const el = document.activeElement;
      return el?.getAttribute("aria-label") ?? el?.textContent?.trim() ?? "";
    });
    if (name instanceof RegExp ? name.test(here) : here === name) return;
  }
  assert.fail(`Tab never reached ${name}`);
}

const levelRow = (page, where, sku) => page.locator(`${where} tr[data-key="${sku}"]`);

test("a dispatcher creates a warehouse, receives parts into it and issues some to a van", async () => {
  const { page, problems } = disp;
  await page.getByRole("link", { name: "Stock", exact: true }).click();
  await page.getByRole("heading", { name: "Stock", level: 1 }).waitFor();
  await page.getByText("No warehouse yet").waitFor();

  await page.getByRole("button", { name: "New warehouse…" }).click();
  let dialog = page.getByRole("dialog", { name: "New warehouse" });
  await dialog.getByLabel("Id").fill("central");
  await dialog.getByLabel("Name").fill("Central store");
  await dialog.getByRole("button", { name: "Create" }).click();
  await dialog.waitFor({ state: "detached" });

  await page.getByRole("button", { name: "Receive parts…" }).click();
  dialog = page.getByRole("dialog", { name: "Receive parts" });
  await dialog.getByLabel("Warehouse").selectOption("central");
  await dialog.getByLabel("Part (SKU)").fill("PUMP-7");
  await dialog.getByLabel("Quantity").fill("5");
  await dialog.getByLabel("Serial numbers (optional)").fill("SN-P1\nSN-P2\nSN-P3\nSN-P4\nSN-P5");
  await dialog.getByLabel("Note (optional)").fill("delivery 4711");
  await checkAxe(page, "receive form");
  await screenshot(page, "stock-receive-dialog", { fullPage: false });
  await dialog.getByRole("button", { name: "Receive" }).click();
  await dialog.waitFor({ state: "detached" });
  const central = levelRow(page, '.warehouse[data-id="central"]', "PUMP-7");
  await until(page, () => /PUMP-7\s+Drain pump\s+5/.test(document.querySelector('.warehouse[data-id="central"] tr[data-key="PUMP-7"]')?.innerText ?? ""));

  await page.getByRole("button", { name: "Issue to a van…" }).click();
  dialog = page.getByRole("dialog", { name: "Issue parts to a van" });
  await dialog.getByLabel("From").selectOption("central");
  await dialog.getByLabel("To").selectOption("van:tech-a");
  await dialog.getByLabel("Part (SKU)").fill("PUMP-7");
  await dialog.getByLabel("Quantity").fill("2");
  await dialog.getByLabel("Serial numbers (optional)").fill("SN-P1, SN-P2");
  await dialog.getByRole("button", { name: "Issue" }).click();
  await dialog.waitFor({ state: "detached" });
  await until(page, () => /\t3\t/.test(document.querySelector('.warehouse[data-id="central"] tr[data-key="PUMP-7"]')?.innerText ?? ""));
  assert.match(await central.innerText(), /PUMP-7\s+Drain pump\s+3/);
  await page.locator('.stock-vans tr[data-key="van:tech-a"]').waitFor();

  // The van's page: its level with the serials, and the issue in its history.
  await page.locator('.stock-vans').getByRole("link", { name: "van:tech-a" }).click();
  await page.getByRole("heading", { name: /van:tech-a/, level: 1 }).waitFor();
  const vanLevel = levelRow(page, ".stock-levels", "PUMP-7");
  await vanLevel.waitFor();
  assert.match(await vanLevel.innerText(), /PUMP-7\s+Drain pump\s+2\s+SN-P1, SN-P2/);
  const issued = page.locator(".stock-moves tbody tr").first();
  await issued.waitFor();
  assert.match(await issued.innerText(), /Issued in\s+PUMP-7\s+\+1\s+central\s+here/);
  assert.equal(await page.locator(".stock-moves tbody tr").count(), 2, "one move per serial");
  await page.goto(`${s.pageBase}/#/stock/central`);
  const receipt = page.locator(".stock-moves tbody tr", { hasText: "SN-P5" });
  await receipt.waitFor();
  assert.match(await receipt.innerText(), /Receipt\s+PUMP-7\s+\+1\s+—\s+here[\s\S]*new SN-P5\s+disp-n\s+delivery 4711/);
  assert.equal(await page.locator(".stock-moves tbody tr", { hasText: "Receipt" }).count(), 5, "one receipt per serial");
  assert.match(await page.locator(".stock-moves tbody tr", { hasText: "Issued to van" }).filter({ hasText: "SN-P2" }).innerText(), /Issued to van\s+PUMP-7\s+−1\s+here\s+van:tech-a/);
  assert.deepStrictEqual(problems, []);
});

test("what the API refuses is shown plainly in the form, which stays open", async () => {
  const { page, problems } = disp;
  await page.goto(`${s.pageBase}/#/stock/central`);
  await page.getByRole("button", { name: "Issue to a van…" }).click();
  const dialog = page.getByRole("dialog", { name: "Issue parts to a van" });
  assert.equal(await dialog.getByLabel("From").inputValue(), "central", "the page's warehouse is chosen");
  await dialog.getByLabel("To").selectOption("van:tech-a");
  await dialog.getByLabel("Part (SKU)").fill("PUMP-7");
  await dialog.getByLabel("Quantity").fill("10");
  await dialog.getByRole("button", { name: "Issue" }).click();
  const error = dialog.getByRole("alert");
  await error.waitFor();
  assert.equal(await error.innerText(), "central holds 3 of PUMP-7, fewer than the 10 to move");
  await dialog.getByLabel("Part (SKU)").fill("NOPE-1");
  await dialog.getByLabel("Quantity").fill("1");
  await dialog.getByRole("button", { name: "Issue" }).click();
  await until(page, () => /no part "NOPE-1" in the parts catalogue/.test(document.querySelector("dialog [role=alert]")?.textContent ?? ""));
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.deepStrictEqual(problems, []);
});

test("a part used offline beyond the van's stock is flagged live, with its work order, and a count reconciles it", async () => {
  const { page, problems } = disp;
  await s.order("WO-S1", { customer: "Pia Pump" });
  assert.equal((await s.view("WO-S1")).assignee, "tech-a");
  await page.goto(`${s.pageBase}/#/stock`);
  await page.getByText("No van is short.").waitFor();
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const a = await phone(s, "tech-a");
  await a(["sync"]);
  for (const step of [
    ["accept", "WO-S1"],
    ["on-site", "WO-S1"],
    ["diagnose", "WO-S1", "pump seized", "--solution", "replace the pump"],
    ["start", "WO-S1"],
    ["part", "add", "WO-S1", "--sku", "PUMP-7", "--qty", "3", "--serial", "SN-P1", "--old-serial", "SN-OLD-9"],
  ]) {
    await a(step);
  }
  await a(["sync"]);
  // No reload: the synced work order's event brings the shortfall.
  const short = page.locator('.stock-shortfalls tr[data-key="van:tech-a|PUMP-7"]');
  await short.waitFor({ timeout: 10_000 });
  assert.ok(await page.evaluate(() => window.__sameDocument === true), "no reload");
  assert.match(await short.innerText(), /van:tech-a\s+tech-a\s+PUMP-7\s+−1 short\s+WO-S1 tech-a, 1 short/);
  assert.match(await page.locator('.stock-vans tr[data-key="van:tech-a"]').innerText(), /short: 1 part/);
  await screenshot(page, "stock");

  // The van's page flags the level and shows the consumption with its work order and serials.
  await page.locator(".stock-shortfalls").getByRole("link", { name: "van:tech-a" }).click();
  const level = levelRow(page, ".stock-levels", "PUMP-7");
  await level.waitFor();
  assert.match(await level.innerText(), /−1 short by 1: reconcile/);
  assert.equal(await level.getAttribute("class"), "row-short");
  const used = page.locator(".stock-moves tbody tr", { hasText: "Used on a job" });
  assert.match(await used.innerText(), /Used on a job\s+PUMP-7\s+−3 1 short\s+here\s+—\s+WO-S1\s+tech-a\s+\S+\s+new SN-P1 · old SN-OLD-9/);
  await used.getByRole("link", { name: "WO-S1" }).waitFor();

  // A count: one found on the shelf against the -1 the ledger expects.
  await page.getByRole("button", { name: "Count…" }).click();
  const dialog = page.getByRole("dialog", { name: "Count van of tech-a" });
  await dialog.getByLabel("PUMP-7 (Drain pump): counted").fill("1");
  await dialog.getByRole("button", { name: "Record count" }).click();
  await dialog.waitFor({ state: "detached" });
  const counted = page.locator(".stock-counts tbody tr").first();
  await counted.waitFor();
  assert.match(await counted.innerText(), /disp-n\s+PUMP-7\s+−1\s+1\s+\+2/);
  await until(page, () => !document.querySelector(".stock-levels tr.row-short"));
  assert.match(await level.innerText(), /PUMP-7\s+Drain pump\s+1/);
  await screenshot(page, "stock-van");
  await page.goto(`${s.pageBase}/#/stock`);
  await page.getByText("No van is short.").waitFor();
  // The work order's own page links its parts.
  await page.goto(`${s.pageBase}/#/wo/WO-S1`);
  await page.locator(".wo-parts td", { hasText: "PUMP-7" }).waitFor();
  assert.deepStrictEqual(problems, []);
});

test("the reorder list shows parts below their threshold, and thresholds are edited by keyboard alone", async () => {
  const { page, problems } = disp;
  await page.goto(`${s.pageBase}/#/stock/central`);
  await levelRow(page, ".stock-levels", "PUMP-7").waitFor();
  await page.locator("body").focus();
  await tabTo(page, "Edit the threshold of PUMP-7");
  await page.keyboard.press("Enter");
  let dialog = page.getByRole("dialog", { name: "Threshold of PUMP-7 at central" });
  await dialog.waitFor();
  await until(page, () => document.activeElement?.name === "min_qty");
  await page.keyboard.type("5");
  await page.keyboard.press("Tab");
  await page.keyboard.type("12");
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Edit the threshold of PUMP-7", "focus back on its button");
  await until(page, () => /min 5, up to 12/.test(document.querySelector('.stock-levels tr[data-key="PUMP-7"]')?.innerText ?? ""));

  await page.getByRole("link", { name: "Reorder", exact: true }).click();
  const row = page.locator('.reorder tr[data-key="central|PUMP-7"]');
  await row.waitFor();
  assert.match(await row.innerText(), /central\s+PUMP-7\s+Drain pump\s+3\s+5\s+12\s+9/);
  await screenshot(page, "reorder");
  await page.locator("body").focus();
  await tabTo(page, "Edit the threshold of PUMP-7 at central");
  await page.keyboard.press("Enter");
  dialog = page.getByRole("dialog", { name: "Threshold of PUMP-7 at central" });
  await until(page, () => document.activeElement?.name === "min_qty");
  assert.equal(await dialog.getByLabel("Minimum").inputValue(), "5");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("3");
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "detached" });
  await row.waitFor({ state: "detached" });
  await page.getByText("Nothing is below its threshold.").waitFor();
  // A threshold for a new pair, chosen in the form; a refusal first.
  await page.getByRole("button", { name: "Set a threshold…" }).click();
  dialog = page.getByRole("dialog", { name: "Set a low-stock threshold" });
  await dialog.getByLabel("Location").selectOption("van:tech-a");
  await dialog.getByLabel("Part (SKU)").fill("HOSE-9");
  await dialog.getByLabel("Minimum").fill("2");
  await dialog.getByLabel("Reorder up to").fill("4");
  await dialog.getByRole("button", { name: "Save threshold" }).click();
  await dialog.getByRole("alert").getByText('no part "HOSE-9" in the parts catalogue').waitFor();
  await dialog.getByLabel("Part (SKU)").fill("HOSE-2");
  await dialog.getByRole("button", { name: "Save threshold" }).click();
  await dialog.waitFor({ state: "detached" });
  assert.match(await page.locator('.reorder tr[data-key="van:tech-a|HOSE-2"]').innerText(), /van:tech-a\s+HOSE-2\s+Inlet hose\s+0\s+2\s+4\s+4/);
  assert.deepStrictEqual(problems, []);
});

test("a receipt recorded elsewhere reaches an open location page without a reload, keeping the reader's place", async () => {
  const { page, problems } = disp;
  for (let i = 0; i < 30; i += 1) await s.api("admin", "POST", "/v1/stock/receipts", { location: "central", sku: "HOSE-2", qty: 1, note: `box ${i}` });
  await page.goto(`${s.pageBase}/#/stock/central`);
  const last = page.locator(".stock-moves tbody tr").last();
  await last.waitFor();
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  await last.scrollIntoViewIfNeeded();
  const link = page.locator(".stock-moves tbody tr", { hasText: "Issued to van" }).filter({ hasText: "SN-P2" }).getByRole("link", { name: "van:tech-a" });
  await link.focus();
  const place = () =>
    page.evaluate(() => ({
      top: Math.round([...document.querySelectorAll(".stock-moves tbody tr")].find((tr) => /Issued to van[\s\S]*SN-P2/.test(tr.innerText)).getBoundingClientRect().top),
      y: window.scrollY,
      focused: document.activeElement?.textContent,
      same: window.__sameDocument === true,
      rows: document.querySelectorAll(".stock-moves tbody tr").length,
    }));
  const before = await place();
  assert.ok(before.y > 100, `scrolled (${before.y})`);
  const started = Date.now();
  await s.api("admin", "POST", "/v1/stock/receipts", { location: "central", sku: "PUMP-7", qty: 4, note: "live one" });
  await page.locator(".stock-moves tbody tr", { hasText: "live one" }).waitFor({ timeout: 5_000 });
  console.log(`the location page showed the receipt ${Date.now() - started} ms after it was posted`);
  const after = await place();
  assert.ok(after.same, "no reload");
  assert.equal(after.rows, before.rows + 1);
  assert.equal(after.top, before.top, "the row read stays where it was on the screen");
  assert.equal(after.focused, "van:tech-a", "focus kept");
  assert.match(await levelRow(page, ".stock-levels", "PUMP-7").innerText(), /PUMP-7\s+Drain pump\s+7/);
  assert.deepStrictEqual(problems, []);
});

test("an auditor reads stock without actions; an agent has no stock pages", async () => {
  const aud = await openConsole(browser, s);
  try {
    await login(aud.page, "aud");
    await aud.page.getByRole("link", { name: "Stock", exact: true }).click();
    await aud.page.locator('.warehouse[data-id="central"] tr[data-key="PUMP-7"]').waitFor();
    assert.equal(await aud.page.getByRole("button", { name: "Receive parts…" }).count(), 0);
    await aud.page.getByText("Your role reads stock").waitFor();
    await aud.page.goto(`${s.pageBase}/#/reorder`);
    await aud.page.locator('.reorder tr[data-key="van:tech-a|HOSE-2"]').waitFor();
    assert.equal(await aud.page.getByRole("button", { name: /Edit the threshold/ }).count(), 0);
    assert.deepStrictEqual(aud.problems, []);
  } finally {
    await aud.context.close();
  }
  const agent = await openConsole(browser, s);
  try {
    await login(agent.page, "agent-1");
    assert.equal(await agent.page.getByRole("link", { name: "Stock", exact: true }).isVisible(), false);
    await agent.page.goto(`${s.pageBase}/#/stock`);
    await agent.page.getByText(/Stock is not for your role/).waitFor();
  } finally {
    await agent.context.close();
  }
});

for (const [scheme, width, height] of [
  ["light", 1280, 800],
  ["dark", 1280, 800],
  ["light", 390, 844],
]) {
  const tag = `${scheme}${width < 600 ? "-phone" : ""}`;
  test(`axe-core finds nothing serious on the stock pages and forms (${tag})`, async () => {
    const { page, context, problems } = await openConsole(browser, s, { width, height, colorScheme: scheme });
    try {
      await login(page, "admin");
      for (const [name, hash, ready] of [
        ["stock", "#/stock", '.stock-vans tr[data-key="van:tech-a"]'],
        ["stock-warehouse", "#/stock/central", ".stock-moves tbody tr"],
        ["stock-van", "#/stock/van:tech-a", ".stock-counts tbody tr"],
        ["reorder", "#/reorder", ".reorder tbody tr"],
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
      await page.goto(`${s.pageBase}/#/stock/van:tech-a`);
      await page.getByRole("button", { name: "Count…" }).click();
      await page.getByRole("dialog", { name: "Count van of tech-a" }).waitFor();
      await checkAxe(page, `count form (${tag})`);
      await screenshot(page, `stock-count-dialog-${tag}`, { fullPage: false });
      await page.keyboard.press("Escape");
      await page.goto(`${s.pageBase}/#/stock/central`);
      await page.getByRole("button", { name: "Record a returned old part…" }).click();
      await page.getByRole("dialog", { name: "Record a returned old part" }).waitFor();
      await checkAxe(page, `return form (${tag})`);
      await page.keyboard.press("Escape");
      assert.deepStrictEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
