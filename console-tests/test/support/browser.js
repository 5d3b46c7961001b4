/**
 * The system Chromium through playwright-core (never a downloaded browser), a page per user,
 * and the checks every test shares: no script error, no CSP violation, no request to another
 * host; axe-core (from npm, evaluated in the page) with no serious or critical finding;
 * screenshots under target/console-screenshots/.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { ROOT, passwordOf, ADMIN_PASSWORD } from "./server.js";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
export const SHOTS = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "console-screenshots");
mkdirSync(SHOTS, { recursive: true });

export const CHROMIUM = process.env.FIELDSYNC_CHROMIUM ?? "/usr/bin/chromium";

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in CI and containers: Chromium's sandbox needs user namespaces we may not have.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/**
 * A fresh browser context (its own cookies) with one page on the console, watched for errors.
 * `problems` collects script errors, CSP reports and requests to other hosts.
 */
export async function openConsole(browser, server, { width = 1280, height = 800, colorScheme = "light" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of (401|403|404|409)/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(server.pageBase) && !url.startsWith("data:") && !url.startsWith("blob:")) problems.push(`request to another host: ${url}`);
  });
  await page.goto(`${server.pageBase}/`);
  return { context, page, problems };
}

/** Logs in through the form and waits for the console's navigation. */
export async function login(page, user, password = user === "admin" ? ADMIN_PASSWORD : passwordOf(user)) {
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#nav").waitFor({ state: "visible" });
}

/** Runs axe-core on the page; fails on any serious or critical finding. */
export async function checkAxe(page, what) {
  const has = await page.evaluate(() => typeof window.axe !== "undefined");
  // Not addScriptTag: the console's CSP (script-src 'self') rightly refuses an inline script.
  // Evaluating through the DevTools protocol is not subject to the page's CSP.
  if (!has) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepStrictEqual(bad, [], `axe-core on ${what}:\n${JSON.stringify(bad, null, 2)}`);
  return violations;
}

/** A screenshot under target/console-screenshots/: the full page, or the viewport (dialogs). */
export function screenshot(page, name, { fullPage = true } = {}) {
  return page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** Waits until `fn` (run in the page) returns a truthy value. */
export function until(page, fn, arg, timeout = 10_000) {
  return page.waitForFunction(fn, arg, { timeout, polling: 50 });
}
