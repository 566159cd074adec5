// The real app, end to end, on learning support: first run → "Try with demo data" (the demo
// district has HUBmis learning support on); the screen is locked; unlock for the session,
// pick a year group, open a child's records; the access log then shows that view with this
// computer's user (and the shell's own log says the same); Lock now removes the records.
// Run through scripts/e2e.sh: E2E_ONLY=support bash scripts/e2e.sh
//
// Env: APP_BINARY (absolute path, required), ARTIFACTS_DIR (default <repo>/artifacts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { invoke, startApp, waitFor } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const app = process.env.APP_BINARY ?? "";
const artifacts = resolve(process.env.ARTIFACTS_DIR ?? join(here, "../../artifacts"));
// Whom the shell logs views as: the same variables, in the same order (export crate's
// `signed_in_user`), as the app inherits them from this process's environment; without
// them, the account the processes run as.
const osUser = ["USER", "USERNAME", "LOGNAME"].map((v) => process.env[v]?.trim()).find(Boolean) ?? userInfo().username;

describe("learning support in the real app", () => {
  let wd;
  let stop;

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    ({ wd, stop } = await startApp(app));
  });

  after(async () => {
    await stop?.();
  });

  const count = async (css) => (await wd.findAll(css)).length;
  const visible = (css, what, limit = 60_000) => waitFor(what, async () => (await count(css)) > 0, limit);

  async function show(hash, ready) {
    await wd.executeAsync(`const done = arguments[arguments.length - 1]; location.hash = arguments[0]; done(true);`, [hash]);
    await visible(ready, `${hash} to show`);
  }

  async function failing(what, run) {
    try {
      return await run();
    } catch (e) {
      await wd.screenshot(join(artifacts, "support-e2e-failed.png")).catch(() => undefined);
      throw new Error(`${what}: ${e.message}`);
    }
  }

  it("starts the demo from first run and syncs it", async () => {
    await visible('[data-testid="first-run"]', "first run to show");
    const [demo] = await wd.findAll('[data-testid="try-demo"]');
    assert.ok(demo, "first run offers no 'Try with demo data'");
    await wd.click(demo);
    await failing("the demo sync", () =>
      waitFor("the sync status to read 'Up to date'", async () => {
        const [status] = await wd.findAll('[data-testid="sync-status"]');
        return status !== undefined && (await wd.text(status)) === "Up to date";
      }),
    );
  });

  it("unlocks, opens a child's records, finds the view in the access log, and locks", async () => {
    await show("#/support", '[data-testid="support-locked"]');
    // Locked: the shell refuses a read from the page.
    const refused = await invoke(wd, "support_year_groups");
    assert.equal(refused.failed?.code, "shell.support_locked", JSON.stringify(refused));
    const [user] = await wd.findAll('[data-testid="support-user"]');
    assert.equal(await wd.text(user), osUser);

    const [unlock] = await wd.findAll('[data-testid="support-unlock"]');
    await wd.click(unlock);
    await visible('[data-testid="support-unlocked"]', "the unlocked banner");

    // Pick the first year group, then the first child listed with records.
    await failing("the year group", async () => {
      await waitFor("the year groups", async () => (await count('[data-testid="support-group"] option')) > 1);
      const picked = await wd.executeAsync(
        `const done = arguments[arguments.length - 1];
         const select = document.querySelector('[data-testid="support-group"]');
         const option = [...select.options].find((o) => Number(o.dataset.withRecords) > 0);
         if (!option) { done(""); return; }
         select.value = option.value;
         select.dispatchEvent(new Event("change", { bubbles: true }));
         done(select.value);`,
      );
      assert.ok(picked, "no year group to pick");
      const [showGroup] = await wd.findAll('[data-testid="support-group-show"]');
      await wd.click(showGroup);
      await visible('[data-testid="support-student"] h3 a', "a child with records in the year group");
    });
    const [link] = await wd.findAll('[data-testid="support-student"] h3 a');
    const name = (await wd.text(link)).trim();
    await wd.click(link);
    await failing("the child's records", () =>
      waitFor(`${name}'s records`, async () => {
        const [title] = await wd.findAll('[data-testid="support-view-title"]');
        return title !== undefined && (await wd.text(title)) === name && (await count('[data-testid="support-record"]')) > 0;
      }),
    );
    await wd.screenshot(join(artifacts, "support-e2e.png"));

    // The access log, on the screen: newest first, this view, by this computer's user.
    const [logLink] = await wd.findAll('[data-testid="support-log-link"]');
    await wd.click(logLink);
    await visible('[data-testid="access-log-row"]', "the access log");
    const [row] = await wd.findAll('[data-testid="access-log-row"]');
    const rowText = await wd.text(row);
    assert.match(rowText, new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), `the newest entry does not name ${name}:\n${rowText}`);
    assert.ok(rowText.includes(osUser), `the newest entry does not name the user ${osUser}:\n${rowText}`);
    await wd.screenshot(join(artifacts, "access-log-e2e.png"));

    // And in the shell's own answer: a view of learning support, the child by id and name.
    const log = await invoke(wd, "access_log", { limit: 5 });
    assert.equal(log.failed, undefined, JSON.stringify(log.failed));
    const [newest, before] = log.ok.entries;
    assert.equal(newest.action, "view");
    assert.equal(newest.what, "learning_support");
    assert.equal(newest.by_whom, osUser);
    assert.deepEqual(newest.students.map((s) => s.name), [name]);
    assert.match(newest.students[0].id, /^hubmis:/);
    assert.equal(before.action, "view", "the year group view is logged before it");

    // Lock now: the records leave the page, and the shell refuses again.
    const [lock] = await wd.findAll('[data-testid="support-lock"]');
    await wd.click(lock);
    await visible('[data-testid="support-locked"]', "the locked card");
    assert.equal(await count('[data-testid="access-log-row"]'), 0);
    await show(`#/support/${encodeURIComponent(newest.students[0].id)}`, '[data-testid="support-locked"]');
    assert.equal(await count('[data-testid="support-record"]'), 0);
    const again = await invoke(wd, "access_log", { limit: 1 });
    assert.equal(again.failed?.code, "shell.support_locked", JSON.stringify(again));
    await wd.screenshot(join(artifacts, "support-e2e-locked.png"));
  });
});
