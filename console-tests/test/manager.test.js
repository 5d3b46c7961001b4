/**
 * A manager's day: the queues (resolve an escalation, classify a complaint), the KPI page with
 * its charts and CSV, the technicians page with device freshness, a work order's record.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TestServer, cleanUp } from "./support/server.js";
import { seedDay } from "./support/data.js";
import { launch, openConsole, login, screenshot } from "./support/browser.js";

let s;
let browser;
let mgr;
let phoneA;

before(async () => {
  s = await TestServer.start();
  browser = await launch();
  ({ phoneA } = await seedDay(s));
  mgr = await openConsole(browser, s);
  await login(mgr.page, "mgr");
});

after(async () => {
  await browser?.close();
  await s?.stop();
  await cleanUp();
});

test("the queues list the escalations, and a manager resolves one with a note", async () => {
  const { page, problems } = mgr;
  await page.goto(`${s.pageBase}/#/queues`);
  const esc = page.locator('.escalations li', { hasText: "WO-E1" });
  await esc.waitFor();
  assert.match(await esc.innerText(), /Urgent unassigned/i);
  await page.locator(".queue-low_scores .card[data-id='WO-2001']").waitFor();
  assert.match(await page.locator(".queue-low_scores .card[data-id='WO-2001']").innerText(), /Score 2/);
  await page.locator(".queue-complaints_to_classify .card[data-id='WO-C1']").waitFor();
  await screenshot(page, "queues");

  await esc.getByRole("button", { name: /Resolve escalation of WO-E1/ }).click();
  const dialog = page.getByRole("dialog", { name: "Resolve escalation of WO-E1" });
  await dialog.getByLabel("What you did (required)").fill("Called the customer; a technician from the north goes tomorrow.");
  await dialog.getByRole("button", { name: "Resolve" }).click();
  await dialog.waitFor({ state: "detached" });
  await esc.waitFor({ state: "detached" });
  const open = await s.api("admin", "GET", "/v1/escalations");
  assert.ok(!open.some((e) => e.wo_id === "WO-E1"), "WO-E1's escalation is resolved");
  const all = await s.api("admin", "GET", "/v1/escalations?open=false");
  assert.match(all.find((e) => e.wo_id === "WO-E1").resolution, /Called the customer/);
  assert.deepStrictEqual(problems, []);
});

test("a complaint is classified from its queue", async () => {
  const { page, problems } = mgr;
  await page.goto(`${s.pageBase}/#/queues`);
  const complaint = page.locator(".queue-complaints_to_classify .card[data-id='WO-C1']");
  await complaint.getByRole("button", { name: "Classify complaint WO-C1" }).click();
  const dialog = page.getByRole("dialog", { name: "Classify complaint WO-C1" });
  await dialog.getByLabel("Attitude").check();
  await dialog.getByRole("button", { name: "Classify" }).click();
  await dialog.waitFor({ state: "detached" });
  await complaint.waitFor({ state: "detached" });
  const v = await s.view("WO-C1");
  assert.equal(v.classification.category, "attitude");
  assert.equal(v.classification.urgent, false);
  assert.deepStrictEqual(problems, []);
});

test("the KPI page shows the report against its targets, the trend charts by day, week or month and a CSV link", async () => {
  const { page, problems } = mgr;
  await page.goto(`${s.pageBase}/#/kpi`);
  await page.locator(".tile").first().waitFor();
  const tiles = await page.locator(".tiles").innerText();
  assert.match(tiles, /First-time fix[\s\S]*100\.0 %[\s\S]*target ≥ 85\.0 %/);
  assert.match(tiles, /Satisfaction[\s\S]*0\.0 %[\s\S]*target ≥ 90\.0 %[\s\S]*below target/);
  assert.match(tiles, /Complaint rate/);
  assert.match(tiles, /Repeat faults \(back within 30 days\)[\s\S]*(—|\d+\.\d %)[\s\S]*of/);
  assert.match(tiles, /Average response time/);
  const charts = page.locator("figure.chart");
  assert.equal(await charts.count(), 6);
  const titles = await page.locator("figure.chart figcaption").allInnerTexts();
  assert.deepStrictEqual(titles, [
    "Volume by service type",
    "Daily volume (work orders created)",
    "Resolution rate (completed that day and fixed)",
    "Satisfaction",
    "First-time fix",
    "Repeat-fault rate (back within 30 days)",
  ]);
  assert.equal(await page.getByRole("radio", { name: "Day" }).isChecked(), true);
  const days = await page.locator("#chart-volume .chart-bar").count();
  // Every chart is an image with a spoken summary; the rate charts carry their target line.
  for (const label of await page.locator("figure.chart svg").evaluateAll((svgs) => svgs.map((x) => x.getAttribute("aria-label")))) {
    assert.ok(label && label.length > 10, `chart summary: ${label}`);
  }
  assert.equal(await page.locator("#chart-ftf .chart-target").count(), 1);
  assert.match(await page.locator("#chart-ftf .chart-target-label").textContent(), /target 85 %/);
  assert.ok((await page.locator("#chart-volume .chart-bar").count()) >= 1);
  const href = await page.getByRole("link", { name: "Download daily figures (CSV)" }).getAttribute("href");
  assert.match(href, /^\/v1\/kpi\/daily\?from=\d{4}-\d{2}-\d{2}&to=\d{4}-\d{2}-\d{2}&format=csv$/);
  const csv = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
  }, href);
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.type, /text\/csv/);
  assert.match(csv.text.split("\n")[0], /date/);
  assert.match(csv.text.split("\n")[0], /repeat_fault_rate/);
  await screenshot(page, "kpi");

  // The switch: the same charts per ISO week, then per month; the CSV follows.
  await page.getByRole("radio", { name: "Week" }).check();
  await page.getByRole("heading", { name: "Weekly trends" }).waitFor();
  await page.locator("figure.chart figcaption", { hasText: "Weekly volume (work orders created)" }).waitFor();
  const weekTitles = await page.locator("figure.chart figcaption").allInnerTexts();
  assert.equal(weekTitles[2], "Resolution rate (completed that week and fixed)");
  const weeks = await page.locator("#chart-volume .chart-bar").count();
  // Thirty days span five or six ISO weeks.
  assert.ok(weeks >= 5 && weeks <= 6 && weeks < days, `${weeks} weeks for ${days} days`);
  // The numbers under each chart name the weeks the ISO way.
  const volume = page.locator("figure.chart", { has: page.locator("#chart-volume") });
  const weekRows = await volume.locator("tbody tr td:first-child").allTextContents();
  assert.equal(weekRows.length, weeks);
  assert.ok(weekRows.every((l) => /^\d{4}-W\d{2}$/.test(l)), weekRows.join(" "));
  assert.match(await volume.locator("thead").textContent(), /Week/);
  assert.match(page.url(), /period=week/);
  const weekHref = await page.getByRole("link", { name: "Download weekly figures (CSV)" }).getAttribute("href");
  assert.match(weekHref, /^\/v1\/kpi\/trends\?period=week&from=\d{4}-\d{2}-\d{2}&to=\d{4}-\d{2}-\d{2}&format=csv$/);
  const weekCsv = await page.evaluate(async (u) => (await fetch(u)).text(), weekHref);
  assert.match(weekCsv.split("\n")[0], /^period,from,to,days,region,volume,completed,/);

  await page.getByRole("radio", { name: "Month" }).check();
  await page.locator("figure.chart figcaption", { hasText: "Monthly volume (work orders created)" }).waitFor();
  const monthRows = await volume.locator("tbody tr td:first-child").allTextContents();
  assert.ok(monthRows.length >= 1 && monthRows.length <= 2, monthRows.join(" "));
  assert.ok(monthRows.every((l) => /^\d{4}-\d{2}$/.test(l)), monthRows.join(" "));
  await screenshot(page, "kpi-month");
  // Back to days, as the page opens.
  await page.getByRole("radio", { name: "Day" }).check();
  await page.locator("figure.chart figcaption", { hasText: "Daily volume (work orders created)" }).waitFor();
  assert.deepStrictEqual(problems, []);
});

test("the technicians page shows load, today's jobs and each device's freshness", async () => {
  const { page, problems } = mgr;
  await page.goto(`${s.pageBase}/#/technicians`);
  const a = page.locator('.tech[data-id="tech-a"]');
  await a.waitFor();
  const text = await a.innerText();
  assert.match(text, /washers, dryers/);
  assert.match(text, /\d+ \/ 4/);
  assert.match(text, /synced (just now|\d+[smh]( \d+[smh])? ago)/);
  assert.match(await page.locator('.tech[data-id="tech-b"]').innerText(), /No device has synced yet/);
  await screenshot(page, "technicians");
  assert.deepStrictEqual(problems, []);
});

test("a work order's page shows its whole record", async () => {
  const { page, problems } = mgr;
  await page.goto(`${s.pageBase}/#/wo/WO-2001`);
  await page.locator(".wo-timeline tbody tr").first().waitFor();
  const timeline = await page.locator(".wo-timeline").innerText();
  for (const step of ["Created", "Accepted", "Diagnosed: pump blocked by a coin", "Part added: PUMP-7 × 1", "Completed, fixed", "Follow-up: score 2"]) {
    assert.ok(timeline.includes(step), `timeline has ${step}:\n${timeline}`);
  }
  assert.match(await page.locator(".wo-parts").innerText(), /PUMP-7[\s\S]*SN-NEW[\s\S]*SN-OLD/);
  assert.match(await page.locator(".wo-escalations").innerText(), /Low score/i);
  // The photo's thumbnail and the signature load through the session cookie; the seal holds.
  const photo = page.getByRole("img", { name: "After photo: new pump fitted" });
  const sig = page.getByRole("img", { name: "Signature of Ada Customer" });
  for (const img of [photo, sig]) {
    await img.waitFor();
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  }
  assert.match(await page.locator(".wo-signature").innerText(), /Seal valid/);
  assert.ok(await page.getByRole("toolbar", { name: "Actions" }).getByRole("button", { name: "Resolve escalation…" }).isVisible());
  assert.deepStrictEqual(problems, []);
});

test("the open work order, the queues and the technicians follow changes live; a dialog holds them back", async () => {
  const { page, problems } = mgr;
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  // The work order page: another office user unassigns the job.
  await page.goto(`${s.pageBase}/#/wo/WO-2002`);
  await page.getByRole("toolbar", { name: "Actions" }).getByRole("button", { name: "Reassign…" }).waitFor();
  await s.api("admin", "POST", "/v1/workorders/WO-2002/unassign", { reason: "customer asked for another day" });
  await page.locator(".wo-timeline").getByText("Unassigned: customer asked for another day").waitFor();
  await page.getByRole("toolbar", { name: "Actions" }).getByRole("button", { name: "Assign…" }).waitFor();

  // The technicians page: tech-b's load drops with it.
  await page.goto(`${s.pageBase}/#/technicians`);
  const b = page.locator('.tech[data-id="tech-b"] .load-text');
  await b.waitFor();
  const before = await b.innerText();
  await s.assign("WO-2002", "tech-b");
  await page.waitForFunction((was) => document.querySelector('.tech[data-id="tech-b"] .load-text')?.textContent !== was, before, { timeout: 10_000 });

  // The queues: a new escalation waits while a dialog is open, and shows when it closes.
  await page.goto(`${s.pageBase}/#/queues`);
  await page.locator(".escalations li").first().waitFor();
  await s.order("WO-E2", { region: "east", priority: "urgent", customer: "Erin East" });
  await page.locator(".escalations li", { hasText: "WO-E2" }).waitFor();
  const opener = page.getByRole("button", { name: /Resolve escalation of WO-2001/ });
  await opener.click();
  const dialog = page.getByRole("dialog", { name: "Resolve escalation of WO-2001" });
  await dialog.getByLabel("What you did (required)").fill("half-written note");
  // A second manager's page, without a dialog, shows when the change has been pushed.
  const other = await openConsole(browser, s);
  try {
    await login(other.page, "mgr");
    await other.page.goto(`${s.pageBase}/#/queues`);
    await other.page.locator(".escalations li", { hasText: "WO-E2" }).waitFor();
    await s.order("WO-E3", { region: "east", priority: "urgent", customer: "Emil East" });
    await other.page.locator(".escalations li", { hasText: "WO-E3" }).waitFor();
  } finally {
    await other.context.close();
  }
  assert.equal(await page.locator(".escalations li", { hasText: "WO-E3" }).count(), 0, "held while the dialog is open");
  assert.equal(await dialog.getByLabel("What you did (required)").inputValue(), "half-written note");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await page.locator(".escalations li", { hasText: "WO-E3" }).waitFor();
  assert.ok(await opener.evaluate((el) => el === document.activeElement), "focus back on the opener");
  assert.ok(await page.evaluate(() => window.__sameDocument === true), "no reload");
  assert.deepStrictEqual(problems, []);
});

test("a conflict is shown plainly: what each side did, and which rule decided", async () => {
  const { page, problems } = mgr;
  assert.equal((await s.view("WO-2003")).assignee, "tech-a");
  // tech-a's phone works on WO-2003 with no signal while the office moves it to tech-b.
  await phoneA(["sync"]);
  await phoneA(["accept", "WO-2003"]);
  await phoneA(["on-site", "WO-2003"]);
  await s.assign("WO-2003", "tech-b", "tech-a is not answering");
  await phoneA(["sync"]);
  await page.goto(`${s.pageBase}/#/wo/WO-2003`);
  const conflict = page.locator(".wo-conflicts .conflict").first();
  await conflict.waitFor();
  const text = await conflict.innerText();
  assert.match(text, /Reassigned while working/);
  assert.match(text, /tech-a \(Technician\) on cli-[^:]+: (On site|Accepted)/);
  assert.match(text, /admin \(Admin\) on [^:]+: Assigned to tech-b: tech-a is not answering/);
  assert.match(text, /Decided: \S+/);
  await screenshot(page, "workorder-conflict");
  assert.deepStrictEqual(problems, []);
});
