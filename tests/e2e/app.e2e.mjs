// The real desktop app, end to end: tauri-driver starts the debug binary through
// WebKitWebDriver, and this script drives it over the W3C WebDriver HTTP API with plain
// `fetch` (no client library). Run it through scripts/e2e.sh, which builds the app and
// provides Xvfb, a keychain and a temp data folder.
//
// Screens are reached by their hash (#/rosters, #/documents), as the app's own links do.
//
// Env: APP_BINARY (absolute path, required), ARTIFACTS_DIR (default <repo>/artifacts),
// TAURI_DRIVER (default `tauri-driver` on PATH), E2E_TIMEOUT_MS (default 180000).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startApp, waitFor } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const app = process.env.APP_BINARY ?? "";
const artifacts = resolve(process.env.ARTIFACTS_DIR ?? join(here, "../../artifacts"));

const rowsCss = '[data-testid="student-row"]';

describe("the Schooldesk app", () => {
  let wd;
  let stop;

  before(async () => {
    ({ wd, stop } = await startApp(app));
  });

  after(async () => {
    await stop?.();
  });

  /** Moves the app to a screen by its hash (the router's own way) and waits for its heading. */
  async function show(hash, ready) {
    await wd.executeAsync(
      `const done = arguments[arguments.length - 1]; location.hash = arguments[0]; done(true);`,
      [hash],
    );
    await waitFor(`${hash} to show`, async () => (await wd.findAll(ready)).length > 0, 60_000);
  }

  it("starts at first run on an empty data folder, and 'Try with demo data' starts the demo", async () => {
    mkdirSync(artifacts, { recursive: true });
    await waitFor("first run to show", async () => (await wd.findAll('[data-testid="first-run"]')).length > 0, 60_000);
    // Nothing is connected and the demo was not chosen: no sync has started.
    const status = await wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       window.__TAURI_INTERNALS__.invoke("app_status", {}).then(done, (error) => done({ error }));`,
    );
    assert.equal(status.error, undefined, `app_status failed: ${JSON.stringify(status.error)}`);
    assert.equal(status.first_run, true, `not first run: ${JSON.stringify(status)}`);
    assert.equal(status.demo, false, "the demo started before anyone chose it");
    await wd.screenshot(join(artifacts, "e2e-first-run.png"));

    const [demo] = await wd.findAll('[data-testid="try-demo"]');
    assert.ok(demo, "first run offers no 'Try with demo data'");
    await wd.click(demo);
    await waitFor("the frame to replace first run", async () => (await wd.findAll('[data-testid="first-run"]')).length === 0, 60_000);
  });

  it("shows the demo students from the cache, one row per child, searches them, and is in demo mode", async () => {
    let lastStatus = "";
    try {
      await waitFor("the sync status to read 'Up to date'", async () => {
        const [status] = await wd.findAll('[data-testid="sync-status"]');
        lastStatus = status ? await wd.text(status) : "(no status line)";
        return lastStatus === "Up to date";
      });
    } catch (e) {
      mkdirSync(artifacts, { recursive: true });
      await wd.screenshot(join(artifacts, "e2e-failed.png"));
      throw new Error(`${e.message}; the status line last read '${lastStatus}'`);
    }
    mkdirSync(artifacts, { recursive: true });
    await wd.screenshot(join(artifacts, "e2e-today.png"));

    // The rows appear once the demo's first sync has filled the cache.
    await show("#/rosters", rowsCss);

    // Ask the shell itself (through the same IPC the page uses) who is in the cache, and
    // check that the window says the same.
    const cached = await wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       window.__TAURI_INTERNALS__.invoke("list_people", {})
         .then((index) => done({ people: index.people }), (error) => done({ error }));`,
    );
    assert.equal(cached.error, undefined, `list_people failed: ${JSON.stringify(cached.error)}`);
    assert.ok(cached.people.length > 0, "the cache holds no students after the demo sync");
    const ids = new Set(cached.people.map((p) => p.id));
    assert.equal(ids.size, cached.people.length, "a child is listed twice");

    await waitFor("the count to match the cache", async () => {
      const [count] = await wd.findAll('[data-testid="student-count"]');
      return count && (await wd.text(count)) === String(cached.people.length);
    }, 60_000);
    const [panel] = await wd.findAll('[data-testid="students"]');
    const shown = await wd.text(panel);
    const first = cached.people[0];
    assert.ok(shown.includes(first.name), `the window does not show '${first.name}':\n${shown}`);
    // Virtualised: only the rows in view are in the DOM.
    const rows = await wd.findAll(rowsCss);
    assert.ok(rows.length > 0 && rows.length <= Math.min(cached.people.length, 40), `${rows.length} rows in the DOM`);

    const [badge] = await wd.findAll('[data-testid="demo-badge"]');
    assert.match(await wd.text(badge), /demo mode/i, "the demo badge is not visible");
    await wd.screenshot(join(artifacts, "e2e.png"));

    // Search by family name: the list narrows, on every keystroke, to the children whose
    // name or ids contain it (the page's rule, src/lib/search.ts).
    const fold = (t) => t.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
    const term = fold(first.family_name);
    const expected = cached.people.filter((p) =>
      fold([p.name, p.family_name, p.given_name, ...p.ids].join("\n")).includes(term),
    );
    const [search] = await wd.findAll('[data-testid="student-search"]');
    await wd.type(search, first.family_name);
    await waitFor(`the list to narrow to '${first.family_name}'`, async () => {
      const [count] = await wd.findAll('[data-testid="student-count"]');
      return count && (await wd.text(count)) === String(expected.length);
    }, 30_000);
    const narrowed = await wd.text(panel);
    for (const row of expected.slice(0, 5)) {
      assert.ok(narrowed.includes(row.name), `the search result lacks '${row.name}':\n${narrowed}`);
    }
    await wd.screenshot(join(artifacts, "e2e-search.png"));

    // Every other screen of the real app, for the record.
    await show(`#/student/${encodeURIComponent(first.id)}`, '[data-testid="student-name"]');
    await wd.screenshot(join(artifacts, "e2e-student.png"));
    await show("#/outbox", "#outbox-title");
    await wd.screenshot(join(artifacts, "e2e-outbox.png"));
    await show("#/settings", "#settings-title");
    await wd.screenshot(join(artifacts, "e2e-settings.png"));
  });

  it("saves today's emergency list as a PDF from the Documents panel", async () => {
    await show("#/documents", '[data-testid="doc-kind"]');
    // The same choice a person makes: the document, then Save.
    const chose = await wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       const kind = document.querySelector('[data-testid="doc-kind"]');
       const format = document.querySelector('[data-testid="doc-format"]');
       if (!kind || !format) { done({ error: "no Documents panel" }); return; }
       kind.value = "emergency";
       kind.dispatchEvent(new Event("change", { bubbles: true }));
       format.value = "pdf";
       format.dispatchEvent(new Event("change", { bubbles: true }));
       done({ kind: kind.value, format: format.value });`,
    );
    assert.equal(chose.error, undefined, chose.error);
    assert.deepEqual(chose, { kind: "emergency", format: "pdf" });
    const [save] = await wd.findAll('[data-testid="doc-save"]');
    await wd.click(save);
    let said = "";
    await waitFor("the Documents panel to say where the file went", async () => {
      const [result] = await wd.findAll('[data-testid="doc-result"]');
      said = result ? await wd.text(result) : "";
      return said.startsWith("Saved to ") || /could not|refused|no /i.test(said);
    }, 60_000);
    await wd.screenshot(join(artifacts, "e2e-documents.png"));
    const saved = /^Saved to (.+\.pdf) \(\d+ students?\)/.exec(said);
    assert.ok(saved, `the panel did not report a saved PDF: '${said}'`);
    const file = saved[1];
    assert.ok(existsSync(file), `the panel says ${file} but there is no such file`);
    const bytes = readFileSync(file);
    assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-", "the saved file is not a PDF");
    rmSync(file);
  });
});
