// The emergency roll in the real app, offline, against a real OmniForge simulator in a process
// of its own: first run connects it (tick, address, key, Test connection, Save and sync), two
// marks are taken with the `schooldesk` CLI on the app's data folder (one child absent, one
// present) and sent, then the network goes (the simulator process is killed; Sync now finds
// it gone and the offline band shows). The Emergency roll screen is read from the cache alone:
// the absent child is not listed, the present one is; people are ticked off with the
// keyboard only (Space and Enter on a row), and the count follows. Screenshot:
// artifacts/emergency-e2e.png.
//
// Run through scripts/e2e.sh (E2E_ONLY=emergency), which builds everything and provides Xvfb,
// a keychain (the CLI runs inside the same keyring session) and a temp data folder.
// Env: APP_BINARY, SIM_BINARY, CLI_BINARY (absolute paths), SCHOOLDESK_DATA_DIR, ARTIFACTS_DIR,
// TAURI_DRIVER, E2E_TIMEOUT_MS.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cli, freePortBase, killSim, startSim } from "./processes.mjs";
import { invoke, startApp, timeoutMs, waitFor } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const app = process.env.APP_BINARY ?? "";
const simBin = process.env.SIM_BINARY ?? "";
const cliBin = process.env.CLI_BINARY ?? "";
const appData = process.env.SCHOOLDESK_DATA_DIR ?? "";
const artifacts = resolve(process.env.ARTIFACTS_DIR ?? join(here, "../../artifacts"));

const DISTRICT = { seed: 42, students: 50 };
/** The marks' day, fixed at the start. The app's roll is of the school's day (UTC here: the
 * connection names no time zone and the e2e machine runs in UTC). */
const DAY = new Date().toISOString().slice(0, 10);

/** WebDriver key codes. */
const KEY = { down: "\uE015", enter: "\uE007", space: " " };

// ---------------------------------------------------------------- the app

describe("the emergency roll in the real app, offline", () => {
  let wd;
  let stop;
  let sim;
  /** The absent child and a present one, as the roll names them (person ids). */
  let absent;
  let present;

  before(async () => {
    for (const [name, value] of Object.entries({ SIM_BINARY: simBin, CLI_BINARY: cliBin, SCHOOLDESK_DATA_DIR: appData })) {
      if (!value) throw new Error(`${name} is not set: run this through scripts/e2e.sh`);
    }
    mkdirSync(artifacts, { recursive: true });
    for (let tries = 0; ; tries++) {
      try {
        sim = await startSim(await freePortBase(), DISTRICT);
        break;
      } catch (e) {
        if (tries >= 4) throw e;
      }
    }
    ({ wd, stop } = await startApp(app));
  });

  after(async () => {
    await stop?.();
    await killSim(sim);
  });

  let failed = false;
  function step(run) {
    return async (t) => {
      if (failed) {
        t.skip("an earlier step failed");
        return;
      }
      try {
        await run();
      } catch (e) {
        failed = true;
        await wd?.screenshot(join(artifacts, "emergency-e2e-failed.png")).catch(() => {});
        throw e;
      }
    };
  }

  async function textOf(css) {
    const [el] = await wd.findAll(css);
    return el ? await wd.text(el) : undefined;
  }

  /** What has the focus: its test id and the row (person) it is in. */
  function focused() {
    return wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       const el = document.activeElement;
       done({ testid: el?.getAttribute("data-testid") ?? null,
              person: el?.closest("[data-person]")?.getAttribute("data-person") ?? null });`,
    );
  }

  function accounted() {
    return wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       done(Number(document.querySelector('[data-testid="emergency-count"]')?.dataset.accounted ?? -1));`,
    );
  }

  it("connects OmniForge at first run and syncs", step(async () => {
    await waitFor("first run to show", async () => (await wd.findAll('[data-testid="first-run"]')).length > 0, 60_000);
    const [tick] = await wd.findAll('[data-testid="choose-system"][data-system="omniforge"]');
    assert.ok(tick, "first run offers no OmniForge SIS to tick");
    await wd.click(tick);
    const form = '[data-testid="connection-form"][data-system="omniforge"]';
    await waitFor("the OmniForge connection form", async () => (await wd.findAll(form)).length > 0, 60_000);
    const [url] = await wd.findAll(`${form} [data-testid="conn-url"]`);
    const [secret] = await wd.findAll(`${form} [data-testid="conn-secret"]`);
    await wd.clear(url);
    await wd.type(url, sim.url);
    await wd.type(secret, sim.key);
    const [save] = await wd.findAll(`${form} [data-testid="conn-save"]`);
    await wd.click(save);
    await waitFor("the frame to replace first run", async () => (await wd.findAll('[data-testid="first-run"]')).length === 0, 120_000);
    await waitFor("Today to say 'Up to date'", async () => (await textOf('[data-testid="sync-status"]')) === "Up to date");
  }));

  it("takes two marks (one child absent, one present) and sends them", step(async () => {
    const listed = await cli(appData, ["students", "--limit", "1000"]);
    const fromOmni = listed.filter((s) => s.source.system === "omniforge" && s.active !== false);
    assert.equal(fromOmni.length, DISTRICT.students, "the first sync did not bring every student");
    const personId = (s) => (s.external_id?.trim() ? `ext:${s.external_id.trim()}` : `omniforge:${s.source.source_id}`);
    const [a, b] = fromOmni;
    absent = { id: personId(a), name: `${a.given_name} ${a.family_name}` };
    present = { id: personId(b), name: `${b.given_name} ${b.family_name}` };
    const ids = [];
    for (const [s, status] of [[a, "absent"], [b, "present"]]) {
      const queued = await cli(appData, ["attendance", "mark", "--student", s.source.source_id, "--date", DAY, "--status", status]);
      assert.equal(queued?.outbox?.state, "pending", `the mark was not queued: ${JSON.stringify(queued)}`);
      ids.push(queued.outbox.id);
    }
    await waitFor("the two marks to be sent", async () => {
      const rows = (await invoke(wd, "list_outbox")).ok ?? [];
      return ids.every((id) => rows.find((r) => r.id === id)?.state === "done");
    });
  }));

  it("goes offline: the simulator is killed and Sync now finds it gone", step(async () => {
    await killSim(sim);
    const [sync] = await wd.findAll('[data-testid="sync-now"]');
    assert.ok(sync, "no Sync now in the header");
    await waitFor("the offline band", async () => {
      if ((await wd.findAll('[data-testid="offline-indicator"]')).length > 0) return true;
      // The first try may still be under way: ask again until the app has seen it fail.
      await wd.click(sync).catch(() => {});
      return false;
    }, timeoutMs, 3_000);
    assert.equal((await invoke(wd, "desk_activity")).ok?.offline, true);
  }));

  it("reads the emergency roll from the cache: the absent child is left out, the others are listed", step(async () => {
    await wd.executeAsync(`const done = arguments[arguments.length - 1]; location.hash = "#/emergency"; done(true);`);
    await waitFor("the emergency roll to list people", async () => (await wd.findAll('[data-testid="emergency-row"]')).length > 0, 60_000);
    assert.ok((await wd.findAll('[data-testid="offline-indicator"]')).length > 0, "the offline band went away");
    assert.match((await textOf('[data-testid="emergency-as-of"]')) ?? "", /Data as of/);

    const roll = await invoke(wd, "emergency_roll", { section: null });
    assert.equal(roll.failed, undefined, `emergency_roll failed offline: ${JSON.stringify(roll.failed)}`);
    const ids = roll.ok.people.map((p) => p.id);
    assert.ok(!ids.includes(absent.id), `${absent.name} is marked absent but on the roll`);
    assert.ok(ids.includes(present.id), `${present.name} is not on the roll`);
    assert.ok(roll.ok.absent >= 1, JSON.stringify(roll.ok.absent));
    assert.equal(roll.ok.people.find((p) => p.id === present.id)?.state, "present");

    // On screen too: filter to each by name.
    const [filter] = await wd.findAll('[data-testid="emergency-filter"]');
    await wd.type(filter, absent.name);
    await waitFor("the filter to answer", async () => (await wd.findAll('[data-testid="note-empty"]')).length > 0, 30_000);
    await wd.clear(filter);
    await wd.type(filter, present.name);
    await waitFor(`${present.name} to show`, async () =>
      (await wd.findAll(`[data-testid="emergency-row"][data-person="${present.id}"]`)).length > 0, 30_000);
    await wd.clear(filter);
    // `clear` sets the value without an input event: type and delete a letter so the list
    // shows everyone again.
    await wd.type(filter, "a\uE003");
    await waitFor("everyone to show again", async () => {
      const rows = await wd.executeAsync(
        `const done = arguments[arguments.length - 1]; done(Number(document.querySelector('[data-testid="emergency-list"]')?.dataset.rows ?? 0));`,
      );
      return rows === roll.ok.people.length;
    }, 30_000);
  }));

  it("ticks people off with the keyboard: Space and Enter, the focus moving to the next one missing", step(async () => {
    const [filter] = await wd.findAll('[data-testid="emergency-filter"]');
    await wd.click(filter);
    await wd.keys(KEY.down);
    const first = await focused();
    assert.equal(first.testid, "emergency-tick", `↓ from the filter did not reach a row: ${JSON.stringify(first)}`);
    await wd.keys(KEY.space);
    await waitFor("one accounted for", async () => (await accounted()) === 1, 30_000);
    const second = await focused();
    assert.equal(second.testid, "emergency-tick");
    assert.notEqual(second.person, first.person, "the focus stayed on the row just ticked");
    await wd.keys(KEY.enter);
    await waitFor("two accounted for", async () => (await accounted()) === 2, 30_000);
    await wd.keys(KEY.down);
    await wd.keys(KEY.space);
    await waitFor("three accounted for", async () => (await accounted()) === 3, 30_000);
    const line = (await textOf('[data-testid="emergency-count"]')) ?? "";
    assert.match(line.replace(/\s+/g, " "), /^3 of \d+ accounted for$/);
    const rows = await wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       done([...document.querySelectorAll('[data-testid="emergency-row"]')].map((r) => r.dataset.accounted));`,
    );
    // Those not yet accounted for are on top.
    assert.equal(rows[0], "no", JSON.stringify(rows));
    await wd.screenshot(join(artifacts, "emergency-e2e.png"));

    // Another screen and back: the ticks stay.
    await wd.executeAsync(`const done = arguments[arguments.length - 1]; location.hash = "#/today"; done(true);`);
    await waitFor("Today", async () => (await wd.findAll("#today-title")).length > 0, 30_000);
    await wd.executeAsync(`const done = arguments[arguments.length - 1]; location.hash = "#/emergency"; done(true);`);
    await waitFor("the ticks to be kept", async () => (await accounted()) === 3, 30_000);
  }));
});
