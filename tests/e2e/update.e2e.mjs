// Signed self-update, end to end: the real debug app (through tauri-driver + WebKitWebDriver,
// plain `fetch`, as tests/e2e/app.e2e.mjs) against a local update server that
// scripts/update-e2e.sh sets up: a 0.1.1 release signed with a throwaway key the app is told
// to trust, a tampered copy, and one signed with another key. Run it through that script.
//
// Env: APP_BINARY (absolute path), UPDATE_BASE (http://127.0.0.1:<port>), UPDATE_VERSION,
// ARTIFACTS_DIR (default <repo>/artifacts), TAURI_DRIVER, E2E_TIMEOUT_MS (default 180000).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { invoke, startApp, waitFor } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const app = process.env.APP_BINARY ?? "";
const base = process.env.UPDATE_BASE ?? "";
const version = process.env.UPDATE_VERSION ?? "0.1.1";
const artifacts = resolve(process.env.ARTIFACTS_DIR ?? join(here, "../../artifacts"));

/** What the page shows about the update: whether Restart to update is offered, and the
 * update line's text and code (the app renders either only when there is something to say). */
function shown(wd) {
  return wd.executeAsync(
    `const done = arguments[arguments.length - 1];
     const button = document.querySelector('[data-testid="restart-update"]');
     const note = document.querySelector('[data-testid="update-note"]');
     done({
       button: button !== null,
       note: note ? note.textContent.trim() : "",
       code: note ? note.dataset.code ?? "" : "",
     });`,
  );
}

async function settledUpdate(wd, what) {
  let last;
  await waitFor(what, async () => {
    last = await invoke(wd, "update_status");
    assert.equal(last.failed, undefined, `update_status failed: ${JSON.stringify(last.failed)}`);
    return !["checking", "available"].includes(last.ok.state);
  });
  return last.ok;
}

describe("Schooldesk's signed self-update", () => {
  let wd;
  let stop;

  before(async () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, "UPDATE_BASE must be the local update server");
    ({ wd, stop } = await startApp(app));
    mkdirSync(artifacts, { recursive: true });
  });

  after(async () => {
    await stop?.();
  });

  it("finds the signed update at start, verifies it and offers Restart to update", async () => {
    const status = await settledUpdate(wd, "the check at start");
    if (status.state !== "staged") {
      await wd.screenshot(join(artifacts, "update-failed.png"));
    }
    assert.deepEqual(
      status,
      { state: "staged", version, notes: "A test release served from this computer." },
      "the signed 0.1.1 was not staged",
    );
    const page = await waitFor("the Restart to update button", async () => {
      const p = await shown(wd);
      return p.button ? p : undefined;
    }, 30_000);
    assert.match(page.note, new RegExp(`Schooldesk ${version.replace(/\./g, "\\.")} is ready`));
    await wd.screenshot(join(artifacts, "update-staged.png"));
  });

  it("refuses an artifact changed after it was signed, says why, and stages nothing", async () => {
    const answer = await invoke(wd, "set_update_endpoint", { endpoint: `${base}/tampered/latest.json` });
    assert.equal(answer.failed, undefined, `set_update_endpoint failed: ${JSON.stringify(answer.failed)}`);
    const status = await settledUpdate(wd, "the tampered release to be checked");
    assert.equal(status.state, "failed", JSON.stringify(status));
    assert.equal(status.code, "update.refused");
    assert.match(status.message, /does not match its signature/);
    assert.match(status.message, /Nothing was installed; this version keeps working/);
    const page = await waitFor("the refusal on the page", async () => {
      const p = await shown(wd);
      return p.code === "update.refused" && !p.button ? p : undefined;
    }, 30_000);
    assert.equal(page.note, status.message, "the page does not say what the shell said");
  });

  it("refuses a release signed with another key, says why, and stages nothing", async () => {
    const answer = await invoke(wd, "set_update_endpoint", { endpoint: `${base}/wrong-key/latest.json` });
    assert.equal(answer.failed, undefined, `set_update_endpoint failed: ${JSON.stringify(answer.failed)}`);
    const status = await settledUpdate(wd, "the wrongly signed release to be checked");
    assert.equal(status.state, "failed", JSON.stringify(status));
    assert.equal(status.code, "update.refused");
    assert.match(status.message, /signed with a different key/);
    const page = await waitFor("the refusal on the page", async () => {
      const p = await shown(wd);
      return p.note === status.message && !p.button ? p : undefined;
    }, 30_000);
    assert.equal(page.button, false, "Restart to update is offered for a refused update");
    const restart = await invoke(wd, "restart_to_update");
    assert.equal(restart.failed?.code, "update.none_staged", `restart_to_update: ${JSON.stringify(restart)}`);
    await wd.screenshot(join(artifacts, "update-refused.png"));
  });

  it("says why when Restart to update cannot install, resumes sending and keeps working", async () => {
    // With the engine running, so the outbox really is paused and resumed around the install.
    await waitFor("the demo's first sync (the engine running)", async () => {
      const status = await invoke(wd, "app_status");
      return status.ok?.sync?.state === "ready";
    });
    const answer = await invoke(wd, "set_update_endpoint", { endpoint: `${base}/good/latest.json` });
    assert.equal(answer.failed, undefined, `set_update_endpoint failed: ${JSON.stringify(answer.failed)}`);
    assert.equal(answer.ok.state, "staged", JSON.stringify(answer.ok));
    const [button] = await waitFor("the Restart to update button", async () => {
      const p = await shown(wd);
      return p.button ? wd.findAll('[data-testid="restart-update"]') : undefined;
    }, 30_000);
    await wd.call("POST", wd.s(`/element/${button}/click`), {});
    // The app is still here to answer: the install was refused, not half done.
    const status = await settledUpdate(wd, "the install attempt");
    const final = await waitFor("the install to be refused", async () => {
      const s = (await invoke(wd, "update_status")).ok;
      return s.state === "failed" ? s : undefined;
    }, 60_000);
    assert.equal(final.code, "update.install_failed", JSON.stringify([status, final]));
    assert.match(final.message, new RegExp(`Schooldesk ${version.replace(/\./g, "\\.")} could not be installed`));
    assert.match(final.message, /Nothing was installed; this version keeps working/);
    const page = await waitFor("the reason on the page", async () => {
      const p = await shown(wd);
      return p.code === "update.install_failed" ? p : undefined;
    }, 30_000);
    assert.equal(page.note, final.message, "the page does not say what the shell said");
    assert.equal(page.button, false, "Restart to update is still offered after the install failed");
    // Sending was resumed and the desk answers as before.
    const send = await invoke(wd, "send_now");
    assert.equal(send.failed, undefined, `send_now after the failed install: ${JSON.stringify(send.failed)}`);
    const list = await invoke(wd, "list_people", {});
    assert.equal(list.failed, undefined, `list_people after the failed install: ${JSON.stringify(list.failed)}`);
    assert.ok(Array.isArray(list.ok?.people), `list_people answered without its people: ${JSON.stringify(list.ok)}`);
    await wd.screenshot(join(artifacts, "update-install-failed.png"));
  });

  it("refuses plain http to another computer as an update server", async () => {
    const answer = await invoke(wd, "set_update_endpoint", { endpoint: "http://updates.example.org/latest.json" });
    assert.equal(answer.failed?.code, "update.endpoint", JSON.stringify(answer));
    assert.match(answer.failed.message, /must start with https:\/\//);
  });
});
