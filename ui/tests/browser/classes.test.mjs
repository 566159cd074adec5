// The Classes screen in Debian's Chromium (the fixture build: the page's real Tauri backend
// over the fake IPC, src/fixture/classes.ts for the Matrix classes). axe-core and a
// screenshot in both schemes; then, with the keyboard only: pick a class, add a student,
// enter grades (Enter saves and moves down, Escape puts a cell back, a bad grade is said),
// remove a student after confirming; each change shows pending, then sent when the outbox is
// sent, with no reload; a conflict links to its receipt; offline says the change is kept.
// Run: npm run build:fixture && node --test tests/browser/classes.test.mjs
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { artifacts, axe, launch, open, settle } from "./helpers.mjs";

const MATHS = "#/classes/matrix%3A810001";
const focused = (page) =>
  page.evaluate(() => ({ id: document.activeElement?.dataset.testid, user: document.activeElement?.dataset.user }));
const calls = (page, cmd) => page.evaluate((c) => window.__fixture.calls.filter((x) => x.cmd === c), cmd);

/** Presses Tab until the element with `testid` has the focus. */
async function tabTo(page, testid) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    if ((await focused(page)).id === testid) return;
  }
  assert.fail(`Tab never reached ${testid}`);
}

const row = (page, person) => page.locator(`[data-testid="class-member"][data-person="${person}"]`);

describe("the Classes screen in Chromium (fixture build)", () => {
  let env;
  before(async () => {
    env = await launch();
    mkdirSync(artifacts, { recursive: true });
  });
  after(async () => env?.close());

  for (const colorScheme of ["light", "dark"]) {
    it(`classes (${colorScheme}): no axe violation, no CSP breach, a screenshot`, async () => {
      const { page, done } = await open(env, { hash: MATHS, colorScheme, viewport: { width: 1200, height: 820 } });
      await page.getByTestId("class-member").first().waitFor();
      // A pending grade and a conflict on show, as an office would see them.
      await page.evaluate(() => window.__fixture.setGrade("matrix:810001", "2000101", "ext:S-1001", "C+"));
      await page.getByTestId("grade-state").first().waitFor();
      assert.equal(await page.getByTestId("class-title").textContent(), "Maths 7 · Set 2");
      assert.equal(await page.getByTestId("nav-classes").getAttribute("aria-current"), "page");
      await axe(page, `classes (${colorScheme})`);
      // The add dialog too.
      await page.getByTestId("add-students").click();
      await page.getByTestId("add-option").first().waitFor();
      await axe(page, `classes add dialog (${colorScheme})`);
      await page.keyboard.press("Escape");
      await settle(page);
      await page.screenshot({ path: join(artifacts, `classes-${colorScheme}.png`) });
      await done();
    });
  }

  it("keyboard only: pick a class, add a student, grades, remove; pending then sent, live", async () => {
    const { page, done } = await open(env, { hash: "#/classes" });
    await page.getByTestId("class-option").first().waitFor();
    assert.equal(await page.getByTestId("class-count").textContent(), "2");

    // Pick the class by searching for it.
    await tabTo(page, "class-search");
    await page.keyboard.type("rivera");
    assert.equal(await page.getByTestId("class-count").textContent(), "1");
    await page.keyboard.press("Tab");
    assert.equal((await focused(page)).id, "class-option");
    await page.keyboard.press("Enter");
    await page.getByTestId("class-member").first().waitFor();
    assert.equal(await page.evaluate(() => location.hash), MATHS);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "class-title");
    assert.equal(await page.getByTestId("class-member").count(), 2);

    // Add students: search, choose with the arrows and Enter, confirm.
    await tabTo(page, "add-students");
    await page.keyboard.press("Enter");
    await page.getByTestId("add-dialog").waitFor();
    assert.equal((await focused(page)).id, "add-search");
    await page.keyboard.type("zimm");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    assert.match(await page.getByTestId("add-chosen").textContent(), /Chosen: Lukas Zimmermann/);
    await tabTo(page, "add-confirm");
    await page.keyboard.press("Enter");
    const lukas = row(page, "matrix:3f6c1a9e-58b1-4c0e-a8a3-2d7e4b9c1f00");
    await lukas.waitFor();
    assert.equal(await lukas.getByTestId("roster-state").textContent(), "Being added");
    assert.equal(await lukas.getByTestId("roster-write").getAttribute("data-state"), "pending");
    assert.equal((await calls(page, "class_change")).length, 1);
    assert.match(await page.getByTestId("classes-said").textContent(), /Lukas Zimmermann to be added/);

    // Grades: Enter saves and moves down; a bad grade is said and stays; Escape puts it back.
    const amara = row(page, "ext:S-1001");
    await amara.getByTestId("grade-input").focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("c+");
    await page.keyboard.press("Enter");
    const next = await focused(page);
    assert.equal(next.id, "grade-input");
    assert.equal(next.user, "ma-1002", "Enter did not move down to Liam Chen");
    await amara.getByTestId("grade-state").waitFor();
    assert.equal(await amara.getByTestId("grade-state").getAttribute("data-state"), "pending");
    assert.equal(await amara.getByTestId("grade-input").inputValue(), "C+");
    const sets = await calls(page, "set_grade");
    assert.equal(sets.length, 1);
    assert.deepEqual(sets[0].args, { classId: "matrix:810001", assignment: "2000101", student: "ext:S-1001", grade: "c+" });

    await page.keyboard.press("Control+A");
    await page.keyboard.type("Z");
    await page.keyboard.press("Enter");
    const liam = row(page, "ext:S-1002");
    assert.match(await liam.getByTestId("grade-error").textContent(), /not a grade Matrix takes/);
    assert.equal((await focused(page)).user, "ma-1002", "a refused grade moved on");
    await page.keyboard.press("Escape");
    assert.equal(await liam.getByTestId("grade-input").inputValue(), "A");
    assert.equal(await liam.getByTestId("grade-error").count(), 0);
    assert.equal((await calls(page, "set_grade")).length, 1, "a refused or cancelled grade was sent");

    // Remove, after confirming.
    await amara.getByTestId("grade-input").focus();
    await page.keyboard.press("Tab");
    assert.equal((await focused(page)).id, "member-remove");
    await page.keyboard.press("Enter");
    await page.getByTestId("remove-dialog").waitFor();
    await tabTo(page, "remove-confirm");
    await page.keyboard.press("Enter");
    await amara.getByTestId("roster-write").waitFor();
    assert.equal(await amara.getByTestId("roster-state").textContent(), "Being removed");
    assert.equal(await amara.getByTestId("grade-input").isDisabled(), true);

    // The outbox is sent: every row says so, with no reload and no polling.
    const reads = (await calls(page, "class_page")).length;
    await page.evaluate(() => window.__fixture.classes.deliver());
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="roster-write"]')].every((b) => b.dataset.state === "done"),
    );
    assert.equal(await lukas.getByTestId("roster-write").textContent().then((t) => t.startsWith("Sent")), true);
    assert.ok((await calls(page, "class_page")).length <= reads + 2, "the page re-read more than the change asked");

    // A conflict links to its receipt in the Outbox.
    await page.getByTestId("assignment-choice").focus();
    await page.keyboard.press("ArrowDown");
    const link = liam.getByTestId("grade-state-link");
    await link.waitFor();
    assert.match(await link.getAttribute("href"), /^#\/outbox\/\d+$/);
    await link.focus();
    await page.keyboard.press("Enter");
    await page.getByTestId("receipt").waitFor();
    await done();
  });

  it("offline: a grade is saved on this computer and said to be waiting", async () => {
    const { page, done } = await open(env, { hash: MATHS });
    await page.getByTestId("class-member").first().waitFor();
    await page.evaluate(() => window.__fixture.emitActivity({ systems: [], sending: false, waiting: 0, conflicts: 0, failed: 0, held: 0, offline: true }));
    await page.getByTestId("classes-offline").waitFor();
    const amara = row(page, "ext:S-1001");
    await amara.getByTestId("grade-input").focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("A-");
    await page.keyboard.press("Enter");
    await amara.getByTestId("grade-state").waitFor();
    assert.match(await amara.getByTestId("grade-state").textContent(), /^Saved, waiting/);
    assert.match(await page.getByTestId("classes-said").textContent(), /Saved on this computer; it goes to Matrix when the network is back/);
    await axe(page, "classes offline");
    await done();
  });
});
