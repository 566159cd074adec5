// The real app against a real OmniForge simulator in a process of its own: first run connects
// it like a person would (tick, address, key, Test connection, Save and sync); the network
// then goes away (the simulator process is killed, so connections are refused), marks taken
// meanwhile wait in the outbox under an offline band, and once the simulator is back on the
// same port they are sent, each exactly once, as the simulator's own API shows. Last, a
// teacher's desk (another data folder, through the `schooldesk` CLI) changes two of those
// marks first, so the app's next marks for them conflict; one is settled "Keep mine", the
// other "Take theirs", by clicking in the app's Outbox.
//
// The register screen is part 2, so marks are taken with the `schooldesk` CLI on the app's
// own data folder while the app runs, as a second process on the same cache: the app must
// notice another process's writes and send them itself.
//
// Run through scripts/e2e.sh, which builds everything and provides Xvfb, a keychain (the CLI
// runs inside the same keyring session) and a temp data folder.
//
// Env: APP_BINARY, SIM_BINARY, CLI_BINARY (absolute paths, required), SCHOOLDESK_DATA_DIR (the
// app's data folder, required), ARTIFACTS_DIR (default <repo>/artifacts), TAURI_DRIVER,
// E2E_TIMEOUT_MS (default 180000).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

/** Same seed and size on every start, so the restarted simulator serves the same district. */
const DISTRICT = { seed: 42, students: 50 };
/** One date for every mark, fixed at the start, so a run across midnight stays one day. */
const DAY = new Date().toISOString().slice(0, 10);

// ---------------------------------------------------------------- the CLI

/** Marks `student` (an OmniForge id) for DAY on `dir`'s desk; the queued write's outbox id. */
async function mark(dir, student, status, extra = []) {
  const queued = await cli(dir, ["attendance", "mark", "--student", student, "--date", DAY, "--status", status, ...extra]);
  assert.equal(queued?.outbox?.state, "pending", `the mark was not queued: ${JSON.stringify(queued)}`);
  return queued.outbox.id;
}

// ---------------------------------------------------------------- the simulator's own view

/** Every mark OmniForge holds for `student` at `school` on DAY, asked over its API. */
async function serverMarks(sim, school, student) {
  const url = `${sim.url}/__api/v1/attendance?date=${DAY}&organizationId=${encodeURIComponent(school)}&limit=100`;
  // The key's one-minute rate window is shared with the desks: wait out a 429.
  const body = await waitFor(`OmniForge to list the marks of ${DAY}`, async () => {
    const res = await fetch(url, { headers: { "X-API-Key": sim.key } });
    if (res.status === 429) return undefined;
    const json = await res.json();
    assert.equal(res.status, 200, `GET ${url} → ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }, timeoutMs, 2_000);
  assert.equal(body.page?.nextCursor ?? null, null, "more than one page of marks for one school and day");
  return body.data.filter((m) => m.studentId === student);
}

/** A receipt's attempt that put the write on the system (the shell's words for it). */
const arrived = (attempt) => attempt.outcome === "Accepted" || attempt.outcome === "Checked: it had arrived";

// ---------------------------------------------------------------- the app

describe("the Schooldesk app offline and back, against the simulator", () => {
  let wd;
  let stop;
  let sim;
  let portBase;
  const teacherData = mkdtempSync(join(tmpdir(), "schooldesk-e2e-teacher."));
  /** A, B, C: three OmniForge students as the app's cache lists them. */
  let students;
  /** Outbox ids of the marks taken offline, by student letter. */
  const offlineMarks = {};

  before(async () => {
    for (const [name, value] of Object.entries({ SIM_BINARY: simBin, CLI_BINARY: cliBin, SCHOOLDESK_DATA_DIR: appData })) {
      if (!value) throw new Error(`${name} is not set: run this through scripts/e2e.sh`);
    }
    mkdirSync(artifacts, { recursive: true });
    for (let tries = 0; ; tries++) {
      portBase = await freePortBase();
      try {
        sim = await startSim(portBase, DISTRICT);
        break;
      } catch (e) {
        // Another process took a port between the check and the bind: try other ports.
        if (tries >= 4) throw e;
      }
    }
    ({ wd, stop } = await startApp(app));
  });

  after(async () => {
    await stop?.();
    await killSim(sim);
    rmSync(teacherData, { recursive: true, force: true });
  });

  // Each step builds on the one before: after a failure the rest are skipped, not failed.
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
        await wd?.screenshot(join(artifacts, "e2e-offline-failed.png")).catch(() => {});
        const now = wd ? await invoke(wd, "desk_activity").catch((x) => ({ failed: x.message })) : undefined;
        e.message += `\nthe app's activity: ${JSON.stringify(now)}`;
        throw e;
      }
    };
  }

  async function show(hash, ready) {
    await wd.executeAsync(
      `const done = arguments[arguments.length - 1]; location.hash = arguments[0]; done(true);`,
      [hash],
    );
    await waitFor(`${hash} to show`, async () => (await wd.findAll(ready)).length > 0, 60_000);
  }

  async function textOf(css) {
    const [el] = await wd.findAll(css);
    return el ? await wd.text(el) : undefined;
  }

  async function outbox() {
    const listed = await invoke(wd, "list_outbox");
    assert.equal(listed.failed, undefined, `list_outbox failed: ${JSON.stringify(listed.failed)}`);
    return listed.ok;
  }

  async function activity() {
    const got = await invoke(wd, "desk_activity");
    assert.equal(got.failed, undefined, `desk_activity failed: ${JSON.stringify(got.failed)}`);
    return got.ok;
  }

  /** Waits until the outbox entries `ids` are all in `state`; answers the outbox. */
  async function outboxSettles(ids, state, what) {
    let last = [];
    try {
      return await waitFor(what, async () => {
        last = await outbox();
        const rows = ids.map((id) => last.find((r) => r.id === id));
        return rows.every((r) => r?.state === state) ? last : undefined;
      });
    } catch (e) {
      await wd.screenshot(join(artifacts, "e2e-offline-failed.png")).catch(() => {});
      const shown = last.filter((r) => ids.includes(r.id)).map((r) => `${r.id}:${r.state}:${r.last_error ?? ""}`);
      throw new Error(`${e.message}; the outbox last held ${JSON.stringify(shown)}`);
    }
  }

  /** The state each outbox row shows on the Outbox screen, by entry id (from its link). */
  function shownStates() {
    return wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       const rows = [...document.querySelectorAll('[data-testid="outbox-row"]')];
       done(Object.fromEntries(rows.map((tr) => [
         (tr.querySelector('a[href^="#/outbox/"]')?.getAttribute("href") ?? "").split("/").pop(),
         tr.querySelector(".state")?.textContent?.trim() ?? "",
       ])));`,
    );
  }

  it("connects OmniForge at first run: tick it, enter its address and key, test, save and sync", step(async () => {
    await waitFor("first run to show", async () => (await wd.findAll('[data-testid="first-run"]')).length > 0, 60_000);
    const status = await invoke(wd, "app_status");
    assert.equal(status.ok?.first_run, true, `not first run: ${JSON.stringify(status)}`);
    assert.equal(status.ok?.demo, false, "the demo started although nobody chose it");

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

    const [test] = await wd.findAll(`${form} [data-testid="conn-test"]`);
    await wd.click(test);
    let said = "";
    await waitFor("Test connection to answer", async () => {
      said = (await textOf(`${form} [data-testid="conn-test-message"]`)) ?? (await textOf(`${form} [data-testid="conn-error"]`)) ?? "";
      return said !== "";
    }, 60_000);
    const [message] = await wd.findAll(`${form} [data-testid="conn-test-message"]`);
    assert.ok(message, `Test connection failed: '${said}'`);
    const ok = await wd.executeAsync(
      `const done = arguments[arguments.length - 1];
       done(document.querySelector('${form} [data-testid="conn-test-message"]')?.dataset.ok ?? null);`,
    );
    assert.equal(ok, "true", `Test connection did not succeed: '${said}'`);
    const estimate = await textOf(`${form} [data-testid="conn-estimate"]`);
    assert.match(estimate ?? "", /^First sync: about \d+ requests?/, `no sync estimate shown: '${estimate}'`);
    await wd.screenshot(join(artifacts, "e2e-offline-connect.png"));

    const [save] = await wd.findAll(`${form} [data-testid="conn-save"]`);
    await wd.click(save);
    await waitFor("the frame to replace first run", async () => (await wd.findAll('[data-testid="first-run"]')).length === 0, 120_000);

    let line = "";
    try {
      await waitFor("Today to say 'Up to date' and 'Register ready'", async () => {
        line = (await textOf('[data-testid="sync-status"]')) ?? "";
        const ready = await textOf('[data-testid="system-card"][data-system="omniforge"] [data-testid="register-ready"]');
        return line === "Up to date" && ready === "Register ready";
      });
    } catch (e) {
      await wd.screenshot(join(artifacts, "e2e-offline-failed.png"));
      throw new Error(`${e.message}; the status line last read '${line}'`);
    }
    const now = await activity();
    assert.equal(now.offline, false);
    const omni = now.systems.find((s) => s.system === "omniforge");
    assert.ok(omni?.last_sync_at, `OmniForge has not synced: ${JSON.stringify(now)}`);

    // The cache holds the district the simulator serves.
    const listed = await cli(appData, ["students", "--limit", "1000"]);
    const fromOmni = listed.filter((s) => s.source.system === "omniforge");
    assert.equal(fromOmni.length, DISTRICT.students, "the first sync did not bring every student");
    students = fromOmni.slice(0, 3).map((s) => ({
      id: s.source.source_id,
      school: s.school_source_id,
      name: `${s.given_name} ${s.family_name}`,
    }));
  }));

  it("works offline when the simulator goes away: marks wait under the offline band", step(async () => {
    const [a, b, c] = students;
    await killSim(sim);

    // The first mark: the app notices another process's write, tries to send it and finds
    // OmniForge gone.
    offlineMarks.a = await mark(appData, a.id, "absent", ["--code", "UA"]);
    try {
      await waitFor("the offline band", async () => (await wd.findAll('[data-testid="offline-indicator"]')).length > 0);
    } catch (e) {
      await wd.screenshot(join(artifacts, "e2e-offline-failed.png"));
      throw e;
    }
    assert.match((await textOf('[data-testid="offline-indicator"]')) ?? "", /offline/i);
    assert.equal(await textOf('[data-testid="sync-status"]'), "Offline");

    // More marks while offline: saved at once, waiting.
    offlineMarks.b = await mark(appData, b.id, "absent", ["--code", "UA"]);
    offlineMarks.c = await mark(appData, c.id, "tardy", ["--code", "T", "--minutes-late", "10"]);
    const ids = Object.values(offlineMarks);

    await show("#/outbox", "#outbox-title");
    await waitFor("the Outbox screen to list the three marks", async () => {
      const states = await shownStates();
      return ids.every((id) => ["pending", "sending"].includes(states[String(id)]));
    });
    const rows = await outbox();
    for (const id of ids) {
      const row = rows.find((r) => r.id === id);
      // Waiting, as Today counts it: the app keeps trying, so a try may be under way.
      assert.ok(["pending", "sending"].includes(row?.state), `mark ${id} is not waiting: ${JSON.stringify(row)}`);
      assert.equal(row.system, "omniforge");
    }
    // The one the app tried says why it did not go.
    const tried = rows.find((r) => r.id === offlineMarks.a);
    assert.ok(tried.attempts >= 1 && tried.last_error, `no failed attempt recorded: ${JSON.stringify(tried)}`);
    // The engine counts writes another process made when it notices them, a moment after
    // the outbox shows them (on a busy machine, after this test's first look).
    let now = await activity();
    await waitFor("Today to count the three marks waiting", async () => {
      now = await activity();
      return now.waiting >= 3;
    }).catch(() => assert.fail(`Today would not show the marks waiting: ${JSON.stringify(now)}`));
    assert.equal(now.offline, true);
    assert.ok((await wd.findAll('[data-testid="offline-indicator"]')).length > 0, "the offline band went away");
    await wd.screenshot(join(artifacts, "e2e-offline.png"));

    await show("#/today", "#today-title");
    await waitFor("Today to count the waiting marks", async () => {
      const pill = await textOf('[data-testid="outbox-waiting"]');
      return pill && Number.parseInt(pill, 10) >= 3;
    }, 60_000);
  }));

  it("sends the waiting marks once the simulator is back on the same port, each exactly once", step(async () => {
    sim = await startSim(portBase, DISTRICT);
    const ids = Object.values(offlineMarks);

    // The person presses Send now rather than wait for the reconnect probe.
    const [send] = await wd.findAll('[data-testid="send-now"]');
    assert.ok(send, "no Send now in the header");
    await wd.click(send);
    await outboxSettles(ids, "done", "the three marks to be sent");

    // The band goes once the reconnect probe has reached OmniForge again.
    await waitFor("the offline band to go", async () => (await wd.findAll('[data-testid="offline-indicator"]')).length === 0);
    await waitFor("Today to say 'Up to date' again", async () => (await textOf('[data-testid="sync-status"]')) === "Up to date");

    await show("#/outbox", "#outbox-title");
    await waitFor("the Outbox screen to show the three marks done", async () => {
      const states = await shownStates();
      return ids.every((id) => states[String(id)] === "done");
    });
    await wd.screenshot(join(artifacts, "e2e-sent.png"));

    // At the simulator: each mark arrived once (a second write of the same mark, even an
    // identical one, would have raised its version), with its status and code.
    const [a, b, c] = students;
    const expected = [
      [a, "absent", "UA"],
      [b, "absent", "UA"],
      [c, "tardy", "T"],
    ];
    for (const [s, status, code] of expected) {
      const marks = await serverMarks(sim, s.school, s.id);
      assert.equal(marks.length, 1, `${s.name} has ${marks.length} marks on ${DAY}: ${JSON.stringify(marks)}`);
      assert.equal(marks[0].status, status, `${s.name}: ${JSON.stringify(marks[0])}`);
      assert.equal(marks[0].code, code, `${s.name}: ${JSON.stringify(marks[0])}`);
      assert.equal(marks[0].version, 1, `${s.name}'s mark was written more than once: ${JSON.stringify(marks[0])}`);
    }
    const late = (await serverMarks(sim, c.school, c.id))[0];
    assert.match(late.note ?? "", /10/, `the minutes late did not travel: ${JSON.stringify(late)}`);
    for (const id of ids) {
      const receipt = await invoke(wd, "outbox_receipt", { id });
      assert.equal(receipt.failed, undefined, JSON.stringify(receipt.failed));
      const sent = receipt.ok.attempts.filter(arrived);
      assert.equal(sent.length, 1, `write ${id} applied ${sent.length} times: ${JSON.stringify(receipt.ok.attempts)}`);
    }
  }));

  it("settles a conflict with a teacher's desk both ways: Keep mine and Take theirs", step(async () => {
    const [a, b] = students;

    // The teacher's desk: another data folder, the same simulator, the same key.
    await cli(teacherData, ["connect", "omniforge", "--base-url", sim.url], `${sim.key}\n`);
    const synced = await cli(teacherData, ["sync", "omniforge"]);
    assert.equal(synced.systems[0].completed, true, `the teacher's sync did not finish: ${JSON.stringify(synced.systems[0])}`);
    await mark(teacherData, a.id, "late");
    await mark(teacherData, b.id, "late");
    const replayed = await cli(teacherData, ["outbox", "replay"]);
    assert.equal(replayed.applied, 2, `the teacher's marks were not sent: ${JSON.stringify(replayed)}`);
    for (const s of [a, b]) {
      const [m] = await serverMarks(sim, s.school, s.id);
      assert.equal(m.status, "tardy");
      assert.equal(m.version, 2);
    }

    // This desk still holds version 1 of both and marks them absent again: both conflict.
    const mine = await mark(appData, a.id, "absent", ["--note", "Phoned in: unwell"]);
    const theirs = await mark(appData, b.id, "absent", ["--note", "Phoned in: unwell"]);
    await outboxSettles([mine, theirs], "conflict", "both marks to come back as conflicts");
    await show("#/today", "#today-title");
    await waitFor("Today to count the conflicts", async () =>
      /^2 conflicts to resolve$/.test((await textOf('[data-testid="outbox-conflicts"]')) ?? ""), 60_000);
    // Nothing was overwritten without a choice.
    for (const s of [a, b]) {
      const [m] = await serverMarks(sim, s.school, s.id);
      assert.equal(m.status, "tardy", `${s.name}'s mark was overwritten before anyone chose`);
    }

    // A: side by side, then Keep mine. The list beside the receipt shows both conflicts.
    await show(`#/outbox/${mine}`, `[data-testid="receipt"][data-entry="${mine}"] [data-testid="conflict"]`);
    let listedStates = {};
    try {
      await waitFor("the Outbox list to show both conflicts", async () => {
        listedStates = await shownStates();
        return listedStates[String(mine)] === "conflict" && listedStates[String(theirs)] === "conflict";
      }, 60_000);
    } catch (e) {
      throw new Error(`${e.message}; the Outbox screen lists ${JSON.stringify(listedStates)} while list_outbox holds ` +
        JSON.stringify((await outbox()).map((r) => `${r.id}:${r.state}`)));
    }
    const yours = await textOf('[data-testid="conflict-yours"]');
    const system = await textOf('[data-testid="conflict-theirs"]');
    assert.match(yours ?? "", /absent/i, `'Yours' does not show absent: '${yours}'`);
    assert.match(system ?? "", /tardy|late/i, `'The system's' does not show the teacher's late: '${system}'`);
    await wd.screenshot(join(artifacts, "e2e-conflict.png"));
    const [keep] = await wd.findAll('[data-testid="keep-mine"]');
    assert.ok(keep, "a conflict without Keep mine");
    await wd.click(keep);
    await outboxSettles([mine], "done", "'Keep mine' to be sent");
    const [kept] = await serverMarks(sim, a.school, a.id);
    assert.equal(kept.status, "absent", `Keep mine did not reach OmniForge: ${JSON.stringify(kept)}`);
    assert.equal(kept.version, 3, `Keep mine was written other than once: ${JSON.stringify(kept)}`);

    // B: Take theirs. Nothing is sent; this desk takes the teacher's value.
    await show(`#/outbox/${theirs}`, `[data-testid="receipt"][data-entry="${theirs}"] [data-testid="conflict"]`);
    const [take] = await wd.findAll('[data-testid="take-theirs"]');
    assert.ok(take, "a conflict without Take theirs");
    await wd.click(take);
    await outboxSettles([theirs], "done", "'Take theirs' to settle");
    await waitFor("the Outbox to say what was done", async () =>
      (await textOf('[data-testid="outbox-said"]')) === "Took the system's value.", 60_000);
    const local = await cli(appData, ["attendance", "list", "--date", DAY]);
    const ofB = local.filter((m) => m.student_source_id === b.id);
    assert.equal(ofB.length, 1, `this desk holds ${ofB.length} marks for ${b.name}: ${JSON.stringify(ofB)}`);
    assert.equal(ofB[0].status, "tardy", `this desk did not take the teacher's value: ${JSON.stringify(ofB[0])}`);
    assert.equal(ofB[0].state, "synced", JSON.stringify(ofB[0]));
    const ofA = local.find((m) => m.student_source_id === a.id);
    assert.equal(ofA?.status, "absent", JSON.stringify(ofA));
    const [unchanged] = await serverMarks(sim, b.school, b.id);
    assert.equal(unchanged.status, "tardy", `Take theirs changed OmniForge: ${JSON.stringify(unchanged)}`);
    assert.equal(unchanged.version, 2, `Take theirs sent something: ${JSON.stringify(unchanged)}`);
    const receipt = await invoke(wd, "outbox_receipt", { id: theirs });
    assert.equal(receipt.ok.attempts.filter(arrived).length, 0, JSON.stringify(receipt.ok.attempts));

    await show("#/today", "#today-title");
    await waitFor("Today to say nothing waits", async () => (await wd.findAll('[data-testid="outbox-clear"]')).length > 0, 60_000);
  }));
});
