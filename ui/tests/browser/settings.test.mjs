// First run and Settings in Debian's Chromium (the fixture build; `?first_run=1` opens the
// app with nothing connected). axe-core and a screenshot of each in both schemes, and the
// flows a person does with the keyboard alone: try the demo, connect a system (test, see
// the estimate, save), change and remove a connection, and the typed wipe.
// Run: npm run test:browser
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { artifacts, axe, launch, open, settle } from "./helpers.mjs";

const FIRST_RUN = { search: "?first_run=1", hash: "#/today" };
const focused = (page) => page.evaluate(() => document.activeElement?.dataset.testid ?? document.activeElement?.id);
const calls = (page, cmd) => page.evaluate((c) => window.__fixture.calls.filter((x) => x.cmd === c), cmd);

/** Presses Tab until the element with `testid` (and `system`, if given) has the focus. */
async function tabTo(page, testid, system) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const here = await page.evaluate(() => ({
      id: document.activeElement?.dataset.testid,
      system: document.activeElement?.closest("[data-system]")?.dataset.system,
    }));
    if (here.id === testid && (!system || here.system === system)) return;
  }
  assert.fail(`Tab never reached ${testid}${system ? ` (${system})` : ""}`);
}

describe("first run and Settings in Chromium (fixture build)", () => {
  let env;
  before(async () => {
    env = await launch();
    mkdirSync(artifacts, { recursive: true });
  });
  after(async () => env?.close());

  for (const colorScheme of ["light", "dark"]) {
    it(`first run (${colorScheme}): no axe violation, no CSP breach, a screenshot`, async () => {
      // Tall enough to show the whole screen in the screenshot (the screen scrolls inside <main>).
      const { page, done } = await open(env, { ...FIRST_RUN, colorScheme, viewport: { width: 1200, height: 1250 } });
      await page.getByTestId("first-run").waitFor();
      assert.equal(await page.getByTestId("sync-now").count(), 0, "first run offers Sync now");
      assert.equal(await page.locator("nav.sidebar").count(), 0, "first run shows the frame's navigation");
      await page.locator('[data-testid="choose-system"][data-system="hubmis"]').check();
      await page.locator('[data-testid="connection-form"][data-system="hubmis"]').waitFor();
      assert.equal(await page.getByTestId("conn-learning-support").isChecked(), false, "learning support starts on");
      assert.equal(await page.getByTestId("conn-secret").getAttribute("type"), "password");
      await axe(page, `first run (${colorScheme})`);
      await settle(page);
      await page.screenshot({ path: join(artifacts, `first-run-${colorScheme}.png`) });
      await done();
    });

    it(`settings (${colorScheme}): no axe violation, no CSP breach, a screenshot`, async () => {
      const { page, done } = await open(env, { hash: "#/settings", colorScheme, viewport: { width: 1200, height: 1700 } });
      await page.getByTestId("connection").first().waitFor();
      await page.getByTestId("location-folder").waitFor();
      assert.equal(await page.getByTestId("nav-settings").getAttribute("aria-current"), "page");
      assert.deepEqual(await page.getByTestId("connection-state").allTextContents(), [
        "Connected", "Connected", "Not connected", "Connected",
      ]);
      assert.match(await page.getByTestId("rate-limit").first().textContent(), /At most 60 requests a minute/);
      assert.equal(await page.getByTestId("wipe-confirm").isDisabled(), true);
      await axe(page, `settings (${colorScheme})`);
      await settle(page);
      await page.screenshot({ path: join(artifacts, `settings-${colorScheme}.png`) });
      await done();
    });
  }

  it("keyboard only: first run → Try with demo data → Today in demo mode", async () => {
    const { page, done } = await open(env, FIRST_RUN);
    await page.getByTestId("choose-system").first().waitFor();
    await tabTo(page, "try-demo");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("main")?.dataset.screen === "today");
    await page.getByTestId("system-card").first().waitFor();
    assert.equal(await page.getByTestId("demo-badge").textContent(), "Demo mode");
    assert.equal(await page.evaluate(() => location.hash), "#/today");
    // The screen under the focus went away; Today's heading has it now.
    await page.waitForFunction(() => document.activeElement?.id === "today-title");
    assert.equal((await calls(page, "choose_demo")).length, 1);
    await done();
  });

  it("keyboard only: first run → fill a connection → Test (refused, then the estimate) → Save → Today", async () => {
    const { page, done } = await open(env, FIRST_RUN);
    await page.getByTestId("choose-system").first().waitFor();
    await tabTo(page, "choose-system", "omniforge");
    await page.keyboard.press("Space");
    await page.locator('[data-testid="connection-form"][data-system="omniforge"]').waitFor();
    await tabTo(page, "conn-url");
    await page.keyboard.type("https://sis.lincoln-district.org");
    await tabTo(page, "conn-secret");
    await page.keyboard.type("wrong-key");
    await tabTo(page, "conn-time-zone");
    await page.keyboard.type("America/Chicago");
    await tabTo(page, "conn-test");
    await page.keyboard.press("Enter");
    const message = page.getByTestId("conn-test-message");
    await message.waitFor();
    assert.equal(await message.getAttribute("data-ok"), "false");
    assert.match(await message.textContent(), /OmniForge SIS refused the API key\. Check that it was copied whole/);
    assert.equal(await page.getByTestId("conn-estimate").count(), 0);

    // Back to the secret (past the pace and the time zone), a good one this time.
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await focused(page), "conn-secret");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("fsis_secret_good");
    await tabTo(page, "conn-test");
    await page.keyboard.press("Enter");
    const estimate = page.getByTestId("conn-estimate");
    await estimate.waitFor();
    assert.equal(await message.getAttribute("data-ok"), "true");
    assert.match(await estimate.textContent(), /^First sync: about 42 requests, at least 1 minute/);
    await axe(page, "first run with a tested connection");

    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "conn-save");
    assert.equal(await page.getByTestId("conn-save").textContent(), "Save and sync");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("main")?.dataset.screen === "today");
    await page.getByTestId("system-card").first().waitFor();
    assert.equal(await page.getByTestId("demo-badge").count(), 0);
    const [saved] = await calls(page, "save_connection");
    assert.deepEqual(saved.args.connection, {
      system: "omniforge", base_url: "https://sis.lincoln-district.org", account: null, realm: null,
      secret: "fsis_secret_good", learning_support: null, time_zone: "America/Chicago", requests_per_minute: 0,
    });
    await done();
  });

  it("first run: a refused save says the shell's sentence and stays", async () => {
    const { page, done } = await open(env, FIRST_RUN);
    await page.locator('[data-testid="choose-system"][data-system="hubmis"]').check();
    await page.getByTestId("conn-url").fill("https://ashdown.hubmis.co.uk");
    await page.getByTestId("conn-secret").fill("s3cret");
    await page.getByTestId("conn-save").click();
    const error = page.getByTestId("conn-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-code"), "desk.invalid_input");
    assert.match(await error.textContent(), /HUBmis needs the school's realm and the client id/);
    assert.equal(await page.getByTestId("first-run").count(), 1);
    await done();
  });

  it("Settings: Change is prefilled except the secret; an empty secret keeps the saved one", async () => {
    const { page, done } = await open(env, { hash: "#/settings" });
    const hub = page.locator('[data-testid="connection"][data-system="hubmis"]');
    await hub.waitFor();
    await hub.getByTestId("connection-change").focus();
    await page.keyboard.press("Enter");
    const form = hub.getByTestId("connection-form");
    await form.waitFor();
    assert.equal(await form.getByTestId("conn-url").inputValue(), "https://ashdown.hubmis.co.uk");
    assert.equal(await form.getByTestId("conn-account").inputValue(), "schooldesk-office");
    assert.equal(await form.getByTestId("conn-realm").inputValue(), "ashdown-house");
    assert.equal(await form.getByTestId("conn-secret").inputValue(), "");
    assert.equal(await form.getByTestId("conn-learning-support").isChecked(), true);
    assert.match(await form.textContent(), /Leave it empty to keep the one already saved/);
    await form.getByTestId("conn-test").focus();
    await page.keyboard.press("Enter");
    await form.getByTestId("conn-estimate").waitFor();
    await form.getByTestId("conn-learning-support").focus();
    await page.keyboard.press("Space");
    await form.getByTestId("conn-save").focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /WCBS HUBmis is saved/.test(document.querySelector('[data-testid="settings-said"]').textContent));
    assert.equal(await hub.getByTestId("learning-support").textContent(), "Not copied");
    assert.equal(await focused(page), "connection-change");
    const [saved] = await calls(page, "save_connection");
    assert.equal(saved.args.connection.secret, "");
    assert.equal(saved.args.connection.learning_support, false);
    await done();
  });

  it("keyboard only: Remove asks first (cached data stays), Esc keeps it, a refusal is the shell's sentence", async () => {
    const { page, done } = await open(env, { hash: "#/settings" });
    const dialogOpen = () => page.evaluate(() => document.querySelector('[data-testid="remove-dialog"]').open);
    const hub = page.locator('[data-testid="connection"][data-system="hubmis"]');
    await hub.waitFor();
    await hub.getByTestId("connection-remove").focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('[data-testid="remove-dialog"]').open);
    const text = await page.getByTestId("remove-dialog").textContent();
    assert.match(text, /Remove WCBS HUBmis\?/);
    assert.match(text, /already\s+copied stays on this computer[\s\S]*until you wipe the\s+cache/);
    await axe(page, "the remove dialog");
    await page.keyboard.press("Escape");
    assert.equal(await dialogOpen(), false);
    assert.equal((await calls(page, "remove_connection")).length, 0);

    // HUBmis holds a write: the shell refuses, and says what to do.
    await hub.getByTestId("connection-remove").focus();
    await page.keyboard.press("Enter");
    assert.equal(await focused(page), "remove-cancel");
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "remove-confirm");
    await page.keyboard.press("Enter");
    const error = page.getByTestId("settings-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-code"), "shell.writes_waiting");
    assert.match(await error.textContent(), /1 write\(s\) not yet sent or waiting for a decision\. Send or discard them in the Outbox first/);

    // With the outbox empty, it goes.
    await page.evaluate(() => window.__fixture.setOutbox([]));
    await hub.getByTestId("connection-remove").focus();
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('[data-system="hubmis"][data-testid="connection"]')?.dataset.connected === "false");
    assert.match(await page.getByTestId("settings-said").textContent(), /WCBS HUBmis is removed\. What it had copied stays/);
    assert.equal(await page.getByTestId("settings-error").count(), 0);
    await done();
  });

  it("keyboard only: the wipe is refused with a wrong phrase and armed by the right one, then first run", async () => {
    const { page, done } = await open(env, { hash: "#/settings" });
    await page.getByTestId("wipe-phrase").waitFor();
    assert.match(await page.getByTestId("wipe-unsent").textContent(), /^4 changes not yet sent would be lost/);
    await page.getByTestId("wipe-phrase").focus();
    await page.keyboard.type("delete it all");
    assert.equal(await page.getByTestId("wipe-confirm").isDisabled(), true);
    await page.keyboard.press("Enter");
    const error = page.getByTestId("wipe-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-code"), "shell.wipe_unconfirmed");
    assert.match(await error.textContent(), /4 write\(s\) not yet sent would be lost with it.*Nothing was deleted\. .*type "delete everything" exactly\./);
    assert.equal(await page.getByTestId("first-run").count(), 0);

    await page.keyboard.press("Control+A");
    await page.keyboard.type("delete everything");
    assert.equal(await page.getByTestId("wipe-confirm").isDisabled(), false);
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "wipe-confirm");
    await page.keyboard.press("Enter");
    await page.getByTestId("first-run").waitFor();
    await page.waitForFunction(() => document.activeElement?.id === "first-run-title");
    const wiped = await calls(page, "wipe_cache");
    assert.deepEqual(wiped.map((c) => c.args.confirm), ["delete it all", "delete everything"]);
    await done();
  });
});
