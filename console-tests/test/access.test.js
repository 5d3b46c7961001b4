/**
 * Who gets in: a technician is refused with a clear word, a wrong password is told apart, the
 * session survives a reload and ends with a logout, and a change without the CSRF token is
 * refused.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TestServer, passwordOf } from "./support/server.js";
import { launch, openConsole, login, screenshot } from "./support/browser.js";

let s;
let browser;

before(async () => {
  s = await TestServer.start();
  browser = await launch();
  await s.region("north");
  await s.skill("washers");
  await s.user("tech-a", "technician", { regions: ["north"], skills: ["washers"] });
  await s.user("disp-n", "dispatcher", { regions: ["north"] });
  await s.order("WO-1");
});

after(async () => {
  await browser?.close();
  await s?.stop();
});

test("a technician is refused: the console is for the office", async () => {
  const { page, context, problems } = await openConsole(browser, s);
  try {
    await page.getByLabel("User name").fill("tech-a");
    await page.getByLabel("Password").fill(passwordOf("tech-a"));
    await page.getByRole("button", { name: "Log in" }).click();
    const alert = page.getByRole("alert");
    await alert.getByText("The console is for the office; technicians use the field app.").waitFor();
    assert.equal(await page.locator("#nav").isVisible(), false);
    await screenshot(page, "login-technician-refused");
    assert.deepStrictEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("a wrong password is refused without saying which part was wrong", async () => {
  const { page, context, problems } = await openConsole(browser, s);
  try {
    await page.getByLabel("User name").fill("disp-n");
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").getByText("Wrong user name or password.").waitFor();
    assert.deepStrictEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("the session survives a reload, needs the CSRF token for changes, and ends at logout", async () => {
  const { page, context, problems } = await openConsole(browser, s);
  try {
    await login(page, "disp-n");
    const cookies = await context.cookies();
    const access = cookies.find((c) => c.name === "fs_access");
    assert.ok(access?.httpOnly, "the access cookie is HttpOnly");
    assert.equal(access.sameSite, "Strict");
    assert.equal(await page.evaluate(() => document.cookie), "", "scripts see no cookie");

    await page.reload();
    await page.locator('.card[data-id="WO-1"]').waitFor();
    assert.match(await page.locator("#who-name").innerText(), /disp-n/);

    // The cookie alone does not change anything: the CSRF header is needed.
    const refused = await page.evaluate(async () => {
      const r = await fetch("/v1/workorders/WO-1/unassign", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ reason: "a forged request" }),
      });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, "csrf");
    assert.equal((await s.view("WO-1")).assignee, "tech-a", "intake's assignment stands");

    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Dispatcher console" }).waitFor();
    await page.reload();
    await page.getByLabel("User name").waitFor();
    assert.equal(await page.locator("#nav").isVisible(), false);
    const after = await page.evaluate(async () => (await fetch("/v1/console/board")).status);
    assert.equal(after, 401);
    assert.deepStrictEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("access tokens that expire every few seconds are refreshed on the way: the page works and stays live", async () => {
  const short = await TestServer.start({ env: { FIELDSYNC_ACCESS_TTL_SECS: "4" } });
  const { page, context, problems } = await openConsole(browser, short);
  try {
    await short.region("north");
    await short.skill("washers");
    await short.user("disp-n", "dispatcher", { regions: ["north"] });
    await login(page, "disp-n");
    await page.locator(".unassigned").waitFor();
    const token = async () => (await context.cookies()).find((c) => c.name === "fs_access")?.value;
    const first = await token();
    // Two rotations of the access cookie, with nobody touching the page.
    let seen = new Set([first]);
    const deadline = Date.now() + 30_000;
    while (seen.size < 3 && Date.now() < deadline) {
      await page.waitForTimeout(250);
      seen.add(await token());
    }
    assert.ok(seen.size >= 3, `the session was refreshed twice (${seen.size - 1})`);
    // Still live: a new job shows without a reload; and a change (CSRF token) still goes through.
    await short.order("WO-T1", { customer: "Tia Token" });
    await page.locator('.unassigned .card[data-id="WO-T1"]').waitFor({ timeout: 10_000 });
    await short.user("tech-a", "technician", { regions: ["north"], skills: ["washers"] });
    await page.getByRole("button", { name: "Assign WO-T1 Tia Token" }).click();
    const dialog = page.getByRole("dialog", { name: "Assign WO-T1" });
    await dialog.getByRole("button", { name: "Assign: tech-a" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal((await short.view("WO-T1")).assignee, "tech-a");
    assert.deepStrictEqual(problems, []);
  } finally {
    await context.close();
    await short.stop();
  }
});
