/**
 * Every page through axe-core (no serious or critical finding), in light and dark, at
 * 1280x800 and on a 390 px wide phone; a screenshot of each.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TestServer, cleanUp } from "./support/server.js";
import { seedDay } from "./support/data.js";
import { launch, openConsole, login, checkAxe, screenshot } from "./support/browser.js";

let s;
let browser;

/** Each page and what shows that it has loaded. */
const PAGES = [
  ["board", "#/board", '.unassigned .card[data-id="WO-1001"]'],
  ["workorder-record", "#/wo/WO-2001", ".wo-timeline tbody tr"],
  ["technicians", "#/technicians", '.tech[data-id="tech-a"]'],
  ["queues", "#/queues", ".escalations li"],
  ["kpi", "#/kpi", "figure.chart svg"],
];

before(async () => {
  s = await TestServer.start();
  browser = await launch();
  await seedDay(s);
});

after(async () => {
  await browser?.close();
  await s?.stop();
  await cleanUp();
});

for (const [scheme, width, height] of [
  ["light", 1280, 800],
  ["dark", 1280, 800],
  ["light", 390, 844],
]) {
  const tag = `${scheme}${width < 600 ? "-phone" : ""}`;
  test(`axe-core finds nothing serious on any page (${tag}, ${width}x${height})`, async () => {
    const { page, context, problems } = await openConsole(browser, s, { width, height, colorScheme: scheme });
    try {
      await page.getByLabel("User name").waitFor();
      await checkAxe(page, `login (${tag})`);
      await screenshot(page, `login-${tag}`);
      await login(page, "admin");
      for (const [name, hash, ready] of PAGES) {
        await page.goto(`${s.pageBase}/${hash}`);
        await page.locator(ready).first().waitFor();
        await checkAxe(page, `${name} (${tag})`);
        await screenshot(page, `${name}-${tag}`);
        if (width < 600) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `${name} fits a ${width} px screen (${overflow} px too wide)`);
        }
      }
      // The dialogs too.
      await page.goto(`${s.pageBase}/#/board`);
      await page.getByRole("button", { name: /^Assign WO-1001/ }).click();
      const dialog = page.getByRole("dialog", { name: "Assign WO-1001" });
      await dialog.getByRole("list", { name: "Eligible technicians, best first" }).waitFor();
      await checkAxe(page, `assign dialog (${tag})`);
      await screenshot(page, `assign-dialog-${tag}`, { fullPage: false });
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Auto-dispatch…" }).click();
      await page.getByRole("dialog", { name: "Auto-dispatch" }).waitFor();
      await checkAxe(page, `auto-dispatch dialog (${tag})`);
      await page.keyboard.press("Escape");
      assert.deepStrictEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
