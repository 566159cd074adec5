// The Register screen of the fixture build (ui/dist-fixture) in Debian's Chromium, on the
// fixture desk behind a fake IPC: a whole register taken with the keyboard only, "mark the
// rest present", minutes late and a note, live states (sent, conflict → Outbox), HUBmis
// kept here, axe in light and dark, screenshots, and the keystroke benchmark (printed, not
// asserted: no timed tests).
// Run: npm run build:fixture && node --test tests/browser/register.test.mjs
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { artifacts, axe, launch, open, settle } from "./helpers.mjs";

let env;
before(async () => {
  env = await launch();
  mkdirSync(artifacts, { recursive: true });
});
after(async () => env?.close());

const HR7B = "omniforge:hr-7b";
const rows = (page) => page.locator('[data-testid="register-row"]');
const focused = (page) =>
  page.evaluate(() => document.activeElement?.closest('[data-testid="register-row"]')?.getAttribute("data-student") ?? null);
const counted = (page, which) => page.getByTestId(`count-${which}`).innerText().then(Number);

/** Tabs from the heading until the focus is on a register row (keyboard only). */
async function tabToRows(page) {
  await page.locator("#register-title").focus();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    if (await focused(page)) return;
  }
  assert.fail("Tab never reached the register's rows");
}

describe("register", () => {
  it("takes a whole register with the keyboard only, then it is sent", async () => {
    const t = await open(env, { hash: "#/register" });
    const { page } = t;
    await page.getByTestId("register-choose").waitFor();
    // Choose the class with the keyboard: focus the picker, type to select, confirm.
    await page.locator("#register-title").focus();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "register-section");
    await page.getByTestId("register-section").selectOption(HR7B); // what ArrowDown/Enter do in the native list
    await rows(page).first().waitFor();
    const total = await rows(page).count();
    assert.equal(total, 30);
    assert.equal(await counted(page, "not-yet"), 30);
    assert.match(await page.getByTestId("register-keymap").innerText(), /P\s+Present \(P\)/);
    assert.equal(new URL(page.url()).hash, "#/register/omniforge%3Ahr-7b");

    await tabToRows(page);
    const first = await focused(page);
    assert.equal(first, await rows(page).nth(0).getAttribute("data-student"));
    // A, then L on the next, P on the rest: the focus moves on by itself after each.
    await page.keyboard.press("a");
    assert.equal(await focused(page), await rows(page).nth(1).getAttribute("data-student"));
    await page.keyboard.press("l");
    for (let i = 2; i < total; i++) await page.keyboard.press(i === 5 ? "e" : "p");
    await page.waitForFunction(() => document.querySelectorAll('[data-state="unmarked"]').length === 0);
    assert.equal(await counted(page, "marked"), 30);
    assert.equal(await counted(page, "waiting"), 30);
    assert.equal(await rows(page).nth(0).getByTestId("row-mark").innerText(), "Absent · A");
    assert.equal(await rows(page).nth(5).getAttribute("data-state"), "pending");
    // What a screen reader says for the row: its name, mark and where it stands.
    const label = await rows(page).nth(1).getByTestId("register-row-button").innerText();
    assert.match(label, /Late · T\s+waiting to be sent/);

    // Back up with the arrows and K, then minutes late and a note from the keyboard.
    await page.keyboard.press("Home");
    await page.keyboard.press("j");
    assert.equal(await focused(page), await rows(page).nth(1).getAttribute("data-student"));
    await page.keyboard.press("Enter");
    await page.getByTestId("row-editor").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "row-status");
    await page.keyboard.press("Tab"); // code
    await page.keyboard.press("Tab"); // minutes
    await page.keyboard.type("12");
    await page.keyboard.press("Tab"); // note
    await page.keyboard.type("Bus was late");
    await page.keyboard.press("Enter");
    await page.getByTestId("row-editor").waitFor({ state: "detached" });
    assert.equal(await focused(page), await rows(page).nth(1).getAttribute("data-student"), "focus back on the row");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="register-row"]')[1].innerText.includes("Bus was late"));
    assert.match(await rows(page).nth(1).getByTestId("row-mark").innerText(), /Late · T · 12 min/);

    // A bad number is said in words; nothing is sent.
    await page.keyboard.press("Enter");
    await page.getByTestId("row-minutes").fill("999");
    await page.getByTestId("row-minutes").press("Enter");
    assert.match(await page.getByTestId("row-problem").innerText(), /from 1 to 480/);
    await page.keyboard.press("Escape");
    await page.getByTestId("row-editor").waitFor({ state: "detached" });

    // Offline: the frame's band shows and the register says marks wait here.
    await page.evaluate(() => window.__fixture.emitActivity({ ...window.__fixture.data.activity, offline: true }));
    await page.getByTestId("offline-indicator").waitFor();
    await page.getByTestId("register-offline-note").waitFor();

    // Back online, Send now: the engine delivers, the shell says the outbox changed.
    await page.evaluate(() => {
      window.__fixture.emitActivity({ ...window.__fixture.data.activity, offline: false });
      window.__fixture.register.deliver();
    });
    await page.getByTestId("send-now").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-state="sent"]').length === 30);
    assert.equal(await counted(page, "sent"), 30);
    assert.equal(await counted(page, "waiting"), 0);

    // A conflict links to its receipt in the Outbox.
    await tabToRows(page);
    await page.keyboard.press("p");
    const student = await rows(page).nth(1).getAttribute("data-student");
    await page.waitForFunction((s) => document.querySelector(`[data-student="${s}"]`)?.getAttribute("data-state") === "pending", student);
    await page.evaluate((s) => {
      window.__fixture.register.conflict(s);
      window.__fixture.emitChanged({ origins: ["replay"], tables: ["outbox"] });
    }, student);
    const link = rows(page).nth(1).getByTestId("register-conflict-link");
    await link.waitFor();
    assert.match(await link.getAttribute("href"), /^#\/outbox\/\d+$/);
    await t.done();
  });

  it("marks the rest present after saying how many, and refuses a day to come", async () => {
    const t = await open(env, { hash: `#/register/${encodeURIComponent("omniforge:hr-7a")}` });
    const { page } = t;
    await rows(page).first().waitFor();
    await tabToRows(page);
    await page.keyboard.press("a");
    await page.keyboard.press("a");
    await page.getByTestId("rest-present").focus();
    assert.match(await page.getByTestId("rest-present").innerText(), /Mark the rest present \(22\)/);
    await page.keyboard.press("Enter");
    await page.getByTestId("rest-confirm").waitFor();
    assert.match(await page.getByTestId("rest-confirm").innerText(), /Mark 22 pupils not yet marked present\?/);
    // The focus is on the confirming button: Escape-free, Enter says yes.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "rest-confirm-yes");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('[data-testid="register-said"]')?.textContent?.includes("Marked 22 pupils present."));
    assert.equal(await counted(page, "not-yet"), 0);
    assert.equal(await rows(page).nth(0).getByTestId("row-mark").innerText(), "Absent · A");
    assert.equal(await page.locator('[data-testid="row-mark"]', { hasText: "Present" }).count(), 22);

    // Yesterday came from the system: viewable, with who/when.
    await page.getByTestId("register-date").fill(await page.evaluate(() => {
      const d = new Date();
      d.setDate(d.getDate() - 1);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    }));
    await page.waitForFunction(() => document.querySelectorAll('[data-state="synced"]').length === 24);
    assert.match(await rows(page).nth(0).innerText(), /From the system/);
    // A day to come: shown, not taken.
    await page.getByTestId("register-date").fill("2099-01-05");
    await page.getByTestId("register-future").waitFor();
    assert.equal(await page.getByTestId("rest-present").isDisabled(), true);
    await tabToRows(page);
    await page.keyboard.press("p");
    await page.getByTestId("register-error").waitFor();
    assert.equal(await rows(page).nth(0).getAttribute("data-state"), "unmarked");
    await t.done();
  });

  it("says plainly that HUBmis marks stay on this computer, per session", async () => {
    const t = await open(env, { hash: `#/register/${encodeURIComponent("hubmis:tg-9h")}/pm` });
    const { page } = t;
    await rows(page).first().waitFor();
    assert.match(await page.getByTestId("register-local-note").innerText(), /kept on this computer only/);
    assert.equal(await page.getByTestId("register-session").inputValue(), "pm");
    assert.match(await page.getByTestId("register-keymap").innerText(), /P\s+Present \(\\\)/);
    await tabToRows(page);
    await page.keyboard.press("/"); // the school's own code key: present (AM code)
    await page.keyboard.press("i"); // illness
    await page.waitForFunction(() => document.querySelectorAll('[data-state="local"]').length === 2);
    assert.equal(await rows(page).nth(1).getByTestId("row-mark").innerText(), "Excused · I");
    assert.equal(await counted(page, "local"), 2);
    await t.done();
  });

  for (const theme of ["light", "dark"]) {
    it(`passes axe and is captured (${theme})`, async () => {
      const t = await open(env, { hash: `#/register/${encodeURIComponent(HR7B)}`, colorScheme: theme, viewport: { width: 1280, height: 900 } });
      const { page } = t;
      await rows(page).first().waitFor();
      await tabToRows(page);
      for (const k of ["p", "p", "a", "l", "p"]) await page.keyboard.press(k);
      await page.keyboard.press("Enter");
      await page.getByTestId("row-editor").waitFor();
      await axe(page, `the register (${theme}, editor open)`);
      await page.keyboard.press("Escape");
      await page.evaluate(() => window.__fixture.register.deliver());
      await page.evaluate(() => window.__fixture.emitChanged({ origins: ["replay"], tables: ["outbox"] }));
      await page.waitForFunction(() => document.querySelectorAll('[data-state="sent"]').length === 5);
      await page.keyboard.press("p");
      await page.getByTestId("rest-present").focus();
      await page.keyboard.press("Enter");
      await axe(page, `the register (${theme}, confirming)`);
      await page.getByTestId("rest-confirm-no").click();
      await tabToRows(page);
      await settle(page);
      await axe(page, `the register (${theme})`);
      await page.screenshot({ path: join(artifacts, `register-${theme}.png`), fullPage: true });
      await t.done();
    });
  }

  it("BENCH: 30-pupil register, keystroke to the next row focused and painted", async () => {
    const t = await open(env, { hash: `#/register/${encodeURIComponent(HR7B)}` });
    const { page } = t;
    await rows(page).first().waitFor();
    await tabToRows(page);
    await page.evaluate(() => {
      window.__bench = [];
      window.addEventListener(
        "keydown",
        () => {
          const t0 = performance.now();
          const from = document.activeElement;
          requestAnimationFrame(() => {
            // After the frame that paints the keystroke: the focus must be on another row.
            const to = document.activeElement;
            if (to !== from && to?.closest('[data-testid="register-row"]')) window.__bench.push(performance.now() - t0);
            else window.__bench.push(`${from?.closest("li")?.dataset.student} -> ${to?.tagName} ${to?.closest("li")?.dataset.student}`);
          });
        },
        { capture: true },
      );
    });
    // One keystroke per frame, as a person types: each waits for its own measurement.
    for (let i = 0; i < 30; i++) {
      // The 30th keystroke: nothing unmarked is left, so it is a move.
      await page.keyboard.press(i < 29 ? "p" : "ArrowUp");
      await page.waitForFunction((n) => window.__bench.length === n, i + 1);
    }
    const times = await page.evaluate(() => window.__bench);
    assert.ok(times.every((x) => typeof x === "number"), `every keystroke moved the focus: ${times}`);
    const sorted = [...times].sort((a, b) => a - b);
    const median = (sorted[14] + sorted[15]) / 2;
    console.log(`BENCH register keystroke→next row painted (30 pupils, 30 keys): median ${median.toFixed(1)} ms, worst ${sorted[29].toFixed(1)} ms (target < 16 ms)`);
    await t.done();
  });
});
