// The real app takes a whole register offline with the keyboard only, then sees it sent: a
// separate `schooldesk-sim` process serves OmniForge; first run connects it and syncs; the
// simulator is killed (connections refused: offline); a class's register is taken with
// WebDriver key actions alone (Tab to the list, one key per pupil, the focus moving on by
// itself); the simulator comes back on the same port; Send now; at the simulator every mark
// arrived exactly once (version 1) with the status the key gave it.
//
// Run: E2E_ONLY=register bash scripts/e2e.sh (builds everything, provides Xvfb, a keychain and a
// temp data folder). Screenshots: artifacts/register-e2e-offline.png, register-e2e-sent.png.
//
// Env: APP_BINARY, SIM_BINARY, SCHOOLDESK_DATA_DIR (required), ARTIFACTS_DIR, TAURI_DRIVER,
// E2E_TIMEOUT_MS.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePortBase, killSim, startSim } from "./processes.mjs";
import { invoke, startApp, timeoutMs, waitFor } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const app = process.env.APP_BINARY ?? "";
const simBin = process.env.SIM_BINARY ?? "";
const appData = process.env.SCHOOLDESK_DATA_DIR ?? "";
const artifacts = resolve(process.env.ARTIFACTS_DIR ?? join(here, "../../artifacts"));

/** Same seed and size on every start, so the restarted simulator serves the same district. */
const DISTRICT = { seed: 42, students: 60 };
/** The day the register is for (UTC, as the app's today here: no school time zone set). */
const DAY = new Date().toISOString().slice(0, 10);

/** Every mark OmniForge holds for `section` (its own id) on DAY, asked over its API. */
async function sectionMarks(sim, section) {
  const url = `${sim.url}/__api/v1/attendance?date=${DAY}&sectionId=${encodeURIComponent(section)}&limit=200`;
  const body = await waitFor(`OmniForge to list the marks of ${DAY}`, async () => {
    const res = await fetch(url, { headers: { "X-API-Key": sim.key } });
    if (res.status === 429) return undefined;
    const json = await res.json();
    assert.equal(res.status, 200, `GET ${url} → ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }, timeoutMs, 2_000);
  assert.equal(body.page?.nextCursor ?? null, null, "more than one page of marks for one section and day");
  return body.data;
}

// ---------------------------------------------------------------- keyboard

const TAB = "\uE004";

// ---------------------------------------------------------------- the app

describe("a register taken offline with the keyboard only, then sent", () => {
  let wd;
  let stop;
  let sim;
  let portBase;
  let section;
  /** Pupil id → the status its key gave. */
  const taken = {};

  before(async () => {
    for (const [name, value] of Object.entries({ SIM_BINARY: simBin, SCHOOLDESK_DATA_DIR: appData })) {
      if (!value) throw new Error(`${name} is not set: run this through scripts/e2e.sh`);
    }
    mkdirSync(artifacts, { recursive: true });
    for (let tries = 0; ; tries++) {
      portBase = await freePortBase();
      try {
        sim = await startSim(portBase, DISTRICT);
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
        await wd?.screenshot(join(artifacts, "register-e2e-failed.png")).catch(() => {});
        throw e;
      }
    };
  }

  const js = (script, args = []) => wd.executeAsync(`const done = arguments[arguments.length - 1]; ${script}`, args);
  const rowStates = () =>
    js(`done([...document.querySelectorAll('[data-testid="register-row"]')].map((li) => [li.dataset.student, li.dataset.state]));`);
  const focusedRow = () =>
    js(`done(document.activeElement?.closest('[data-testid="register-row"]')?.dataset.student ?? null);`);

  it("connects OmniForge at first run and syncs", step(async () => {
    await waitFor("first run to show", async () => (await wd.findAll('[data-testid="first-run"]')).length > 0, 60_000);
    const [tick] = await wd.findAll('[data-testid="choose-system"][data-system="omniforge"]');
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
    await waitFor("OmniForge's register to be ready", async () => {
      const a = await invoke(wd, "desk_activity");
      return a.ok?.systems.find((s) => s.system === "omniforge")?.register_ready && a.ok.systems.every((s) => !s.syncing);
    });
    const listed = await invoke(wd, "register_sections");
    assert.equal(listed.failed, undefined, JSON.stringify(listed.failed));
    section = listed.ok.filter((s) => s.system === "omniforge" && s.students >= 5).sort((a, b) => b.students - a.students)[0];
    assert.ok(section, `no OmniForge class with pupils: ${JSON.stringify(listed.ok)}`);
  }));

  it("takes the whole register offline with the keyboard only", step(async () => {
    await killSim(sim);
    await js(`location.hash = arguments[0]; done(true);`, [`#/register/${encodeURIComponent(section.id)}`]);
    await waitFor("the register's rows", async () => (await wd.findAll('[data-testid="register-row"]')).length > 0, 60_000);
    const rows = await rowStates();
    assert.equal(rows.length, section.students, "one row per pupil on the roster");
    assert.ok(rows.every(([, s]) => s === "unmarked"), `today's register is not empty: ${JSON.stringify(rows)}`);

    // From the heading, Tab until the focus is on the list (the pickers come first).
    await js(`document.getElementById("register-title").focus(); done(true);`);
    for (let i = 0; i < 15 && !(await focusedRow()); i++) await wd.keys(TAB);
    assert.equal(await focusedRow(), rows[0][0], "Tab did not reach the first pupil");

    // One key per pupil: absent, late, excused for the first three, present for the rest.
    const keyFor = (i) => (i === 0 ? "a" : i === 1 ? "l" : i === 2 ? "e" : "p");
    const word = { a: "absent", l: "tardy", e: "excused", p: "present" };
    for (let i = 0; i < rows.length; i++) {
      assert.equal(await focusedRow(), rows[i][0], `the focus did not move on to pupil ${i + 1} by itself`);
      await wd.keys(keyFor(i));
      taken[rows[i][0].split(":").slice(1).join(":")] = word[keyFor(i)];
    }
    await waitFor("every row saved, waiting to be sent", async () => {
      const now = await rowStates();
      return now.every(([, s]) => s === "pending");
    });
    await waitFor("the offline band", async () => (await wd.findAll('[data-testid="offline-indicator"]')).length > 0);
    const counts = await wd.text((await wd.findAll('[data-testid="register-counts"]'))[0]);
    assert.match(counts, new RegExp(`Marked ${rows.length} of ${rows.length}`), counts);
    await wd.screenshot(join(artifacts, "register-e2e-offline.png"));

    // Saved and queued once each, while offline.
    const outbox = (await invoke(wd, "list_outbox")).ok;
    for (const student of Object.keys(taken)) {
      const entries = outbox.filter((e) => e.entity_key.startsWith(`attendance:${student}:`));
      assert.equal(entries.length, 1, `${student} queued ${entries.length} times`);
    }
  }));

  it("sends the register once the simulator is back: every mark arrives exactly once", step(async () => {
    sim = await startSim(portBase, DISTRICT);
    const [send] = await wd.findAll('[data-testid="send-now"]');
    await wd.click(send);
    await waitFor("every row to show sent", async () => {
      const now = await rowStates();
      return now.every(([, s]) => s === "sent");
    });
    // The band goes once the reconnect probe has reached OmniForge again.
    await waitFor("the offline band to go", async () => (await wd.findAll('[data-testid="offline-indicator"]')).length === 0);
    await wd.screenshot(join(artifacts, "register-e2e-sent.png"));

    const marks = await sectionMarks(sim, section.id.split(":").slice(1).join(":"));
    for (const [student, status] of Object.entries(taken)) {
      const mine = marks.filter((m) => m.studentId === student);
      assert.equal(mine.length, 1, `${student} has ${mine.length} marks at OmniForge: ${JSON.stringify(mine)}`);
      assert.equal(mine[0].status, status, JSON.stringify(mine[0]));
      assert.equal(mine[0].version, 1, `${student}'s mark was written more than once: ${JSON.stringify(mine[0])}`);
    }
    assert.equal(marks.length, Object.keys(taken).length, "marks at OmniForge for pupils not on the register");
  }));
});
