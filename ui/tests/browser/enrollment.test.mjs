// The Enrollment screen in Chromium (fixture build): each sub-view used with the keyboard
// only — checklists (pick, filter "missing …", arrow between rows), documents (open one,
// Save a copy, Escape back), enrollment work (a refused and a queued import, a batch
// fetched and its records read) — axe in light and dark, and screenshots.
// Run: npm run build:fixture && node --test tests/browser/enrollment.test.mjs
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { artifacts, axe, launch, open, settle } from "./helpers.mjs";

/** Presses Tab (Shift+Tab with `back`) until the focused element has `testid`. */
async function tabTo(page, testid, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    if ((await page.evaluate(() => document.activeElement?.dataset?.testid)) === testid) return;
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
  }
  assert.fail(`Tab never reached ${testid}`);
}

const focused = (page) => page.evaluate(() => document.activeElement?.textContent?.trim());

const SHOTS = [
  { name: "enrollment", hash: "#/enrollment/records", ready: '[data-testid="rec-row"]' },
  { name: "checklists", hash: "#/enrollment/checklist/435", ready: '[data-testid="cl-row"]' },
  {
    name: "document",
    hash: `#/enrollment/documents/${encodeURIComponent("ext:S-1001")}/${encodeURIComponent("powerschool:doc-birth-1001")}`,
    ready: '[data-testid="doc-page"]',
  },
];

describe("Enrollment (fixture build)", () => {
  let env;
  before(async () => {
    env = await launch();
    mkdirSync(artifacts, { recursive: true });
  });
  after(async () => env?.close());

  for (const colorScheme of ["light", "dark"]) {
    for (const shot of SHOTS) {
      it(`${shot.name} (${colorScheme}): no axe violation, no CSP breach, a screenshot`, async () => {
        const { page, done } = await open(env, { hash: shot.hash, colorScheme });
        await page.locator(shot.ready).first().waitFor();
        await axe(page, `${shot.name} (${colorScheme})`);
        await settle(page);
        await page.screenshot({ path: join(artifacts, `${shot.name}-${colorScheme}.png`), fullPage: true });
        await done();
      });
    }
  }

  it("checklists, keyboard only: pick one, filter to missing an item, arrow between rows", async () => {
    const { page, done } = await open(env, { hash: "#/enrollment" });
    await page.getByTestId("cl-pick").first().waitFor();
    await tabTo(page, "cl-pick");
    assert.equal(await focused(page), "New student documents");
    await page.keyboard.press("Enter");
    await page.getByTestId("cl-row").first().waitFor();
    assert.equal(await page.getByTestId("cl-title").textContent(), "New student documents");
    assert.match(await page.getByTestId("cl-counts").textContent(), /4 students; 3 still owe a required item/);
    assert.deepEqual(await page.getByTestId("cl-item-count").allTextContents(), [
      "Photo: 3 done, 1 missing",
      "Birth certificate: 2 done, 2 missing",
      "Proof of address: 2 done, 2 missing",
    ]);
    // Cells are words, not only colour.
    const first = await page.getByTestId("cl-row").first().getByTestId("cl-cell").allTextContents();
    assert.deepEqual(first, ["Done 2025-08-20", "Done 2025-08-20", "Done 2025-08-21"]);

    await tabTo(page, "cl-filter");
    await page.keyboard.press("ArrowDown"); // Missing anything
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cl-row"]').length === 3);
    await page.keyboard.press("ArrowDown"); // Missing Photo
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cl-row"]').length === 1);
    assert.deepEqual(await page.getByTestId("cl-student").allTextContents(), ["Noor Rahman"]);
    await page.keyboard.press("ArrowDown"); // Missing Birth certificate
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cl-row"]').length === 2);
    assert.deepEqual(await page.getByTestId("cl-student").allTextContents(), ["Liam Chen", "Noor Rahman"]);
    assert.equal(await page.getByTestId("cl-shown").textContent(), "Showing 2 of 4");

    await tabTo(page, "cl-student");
    assert.equal(await focused(page), "Liam Chen");
    await page.keyboard.press("ArrowDown");
    assert.equal(await focused(page), "Noor Rahman");
    await page.keyboard.press("Home");
    assert.equal(await focused(page), "Liam Chen");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#/student/ext%3AS-1002");
    await done();
  });

  it("checklists: an unknown checklist is a sentence and a next step", async () => {
    const { page, done } = await open(env, { hash: "#/enrollment/checklist/999" });
    const note = page.getByTestId("note-error");
    await note.waitFor();
    assert.match(await note.textContent(), /no PowerSchool checklist '999'.*sync PowerSchool first/);
    await done();
  });

  it("documents, keyboard only: choose a student, open a photo and a PDF, save a copy, Escape back", async () => {
    const { page, done } = await open(env, { hash: "#/enrollment/documents" });
    await page.getByTestId("doc-owner").first().waitFor();
    await tabTo(page, "doc-owner");
    assert.equal(await focused(page), "Amara Okafor");
    await page.keyboard.press("Enter");
    await page.getByTestId("doc-open").first().waitFor();
    assert.equal(await page.getByTestId("doc-person").textContent(), "Amara Okafor");
    await tabTo(page, "doc-open");
    assert.equal(await focused(page), "Photo");
    await page.keyboard.press("Enter");
    await page.getByTestId("doc-image").waitFor();
    // The viewer takes the focus; the image is from bytes (a data: URL), never a file.
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.testid), "doc-viewer");
    assert.match(await page.getByTestId("doc-image").getAttribute("src"), /^data:image\//);
    assert.ok(await page.getByTestId("doc-image").evaluate((img) => img.complete && img.naturalWidth > 0));
    await page.keyboard.press("Escape");
    await page.getByTestId("doc-choose").waitFor();
    assert.equal(await focused(page), "Photo", "Escape returns to the document's link");

    await page.keyboard.press("ArrowDown");
    assert.equal(await focused(page), "Birth certificate");
    await page.keyboard.press("Enter");
    await page.getByTestId("doc-page").waitFor();
    assert.match(await page.getByTestId("doc-meta").textContent(), /PDF, 1 page ·\s+from the cache/);
    assert.match(await page.getByTestId("doc-page").getAttribute("alt"), /Birth certificate for Amara Okafor, page 1 of 1/);
    await tabTo(page, "doc-save-copy");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('[data-testid="doc-saved"]')?.textContent?.includes("Saved a copy"));
    assert.match(await page.getByTestId("doc-saved").textContent(), /Saved a copy as Birth-certificate-\d{4}-\d\d-\d\d\.pdf in \/home\/registrar\/Documents\/Schooldesk\. The copy is in the access log\./);
    const calls = await page.evaluate(() => window.__fixture.calls.filter((c) => c.cmd === "save_enrollment_document").length);
    assert.equal(calls, 1);
    await done();
  });

  it("enrollment work, keyboard only: a bad import is refused, a good one queued and sent; a batch fetched and read", async () => {
    const { page, done } = await open(env, { hash: "#/enrollment/records" });
    await page.getByTestId("rec-row").first().waitFor();
    assert.equal(await page.getByTestId("rec-count").textContent(), "6 records");
    await tabTo(page, "rec-kind");
    await page.keyboard.press("ArrowDown"); // Roster records
    await page.waitForFunction(() => document.querySelector('[data-testid="rec-count"]')?.textContent === "4 records");

    await tabTo(page, "imp-schema", { back: true });
    await page.keyboard.press("ArrowDown"); // Returning students
    await page.getByTestId("imp-field").first().waitFor();
    const fields = await page.getByTestId("imp-field").evaluateAll((els) => els.map((e) => e.dataset.field));
    assert.deepEqual(fields, ["stu_FirstName", "stu_LastName", "stu_ExternalID", "stu_DateOfBirth", "stu_Grade"]);
    await page.keyboard.press("Tab");
    await page.keyboard.type("Nia");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Obi");
    await tabTo(page, "imp-queue");
    await page.keyboard.press("Enter");
    assert.match(await page.getByTestId("imp-problem").textContent(), /Fill in stu_ExternalID: PowerSchool matches roster records on it\. Nothing was queued\./);
    let queued = await page.evaluate(() => window.__fixture.calls.filter((c) => c.cmd === "queue_roster_import").length);
    assert.equal(queued, 0, "a refused import reaches no command");

    // Back up to the external id's box.
    while ((await page.evaluate(() => document.activeElement?.dataset?.field)) !== "stu_ExternalID") await page.keyboard.press("Shift+Tab");
    await page.keyboard.type("N-100");
    await tabTo(page, "imp-queue");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('[data-testid="imp-said"]')?.textContent?.startsWith("Queued"));
    queued = await page.evaluate(() => window.__fixture.calls.filter((c) => c.cmd === "queue_roster_import").length);
    assert.equal(queued, 1);
    const write = page.getByTestId("enr-write").filter({ hasText: "N-100" });
    await write.waitFor();
    assert.equal(await write.getByTestId("enr-write-state").textContent(), "Waiting to send");
    assert.match(await write.locator("a").getAttribute("href"), /^#\/outbox\/\d+$/);
    // The engine sends it: the state changes live, with no re-open.
    const id = Number((await write.locator("a").getAttribute("href")).split("/").pop());
    await page.evaluate((wid) => window.__fixture.settleWrite(wid, "done"), id);
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="enr-write"]')].find((w) => w.textContent.includes("N-100"))?.querySelector('[data-testid="enr-write-state"]')?.textContent === "Sent",
    );

    // A batch for the Health Office.
    await tabTo(page, "batch-target");
    await page.keyboard.press("ArrowDown");
    await tabTo(page, "batch-fetch");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('[data-testid="batch-said"]')?.textContent?.startsWith("Queued"));
    const fetchRow = page.getByTestId("enr-write").filter({ hasText: "Health Office" });
    await fetchRow.waitFor();
    const fetchId = Number((await fetchRow.locator("a").getAttribute("href")).split("/").pop());
    assert.notEqual(fetchId, id);
    await page.evaluate((wid) => window.__fixture.settleWrite(wid, "done"), fetchId);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="batch"]').length === 2);
    await tabTo(page, "batch-toggle");
    assert.match(await focused(page), /^Health Office · 1 record · fetched/);
    await page.keyboard.press("Enter");
    await page.getByTestId("batch-record").first().waitFor();
    assert.deepEqual(await page.getByTestId("batch-record").first().locator("td").allTextContents().then((t) => t.slice(0, 3)), ["Noor Rahman", "S-1004", "7"]);
    await axe(page, "enrollment work after queueing");
    await done();
  });
});
