// What every end-to-end script needs to drive the real app: tauri-driver started in a process
// group of its own, a minimal W3C WebDriver client over plain `fetch` (no client library),
// and the page's own IPC.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { isAbsolute } from "node:path";

/** Generous: on a loaded 2-core machine the first start compiles WebKit's caches and the
 * demo starts four simulators and syncs them before the first student shows. */
export const timeoutMs = Number(process.env.E2E_TIMEOUT_MS ?? 180_000);

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Polls `probe` until it answers something truthy, which it returns. */
export async function waitFor(what, probe, limit = timeoutMs, every = 250) {
  const deadline = Date.now() + limit;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${limit} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A minimal W3C WebDriver client over fetch. */
export class WebDriver {
  constructor(base) {
    this.base = base;
    this.session = undefined;
  }

  async call(method, path, body) {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok || json.value?.error) {
      const v = json.value ?? {};
      throw new Error(`${method} ${path} → ${res.status} ${v.error ?? ""}: ${v.message ?? JSON.stringify(json)}`);
    }
    return json.value;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  async newSession(application) {
    const value = await this.call("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application } } },
    });
    this.session = value.sessionId;
  }

  async deleteSession() {
    if (this.session) await this.call("DELETE", this.s("")).catch(() => {});
    this.session = undefined;
  }

  /** Element ids for a CSS selector (empty when none match yet). */
  async findAll(css) {
    const found = await this.call("POST", this.s("/elements"), { using: "css selector", value: css });
    return found.map((el) => Object.values(el)[0]);
  }

  text(id) {
    return this.call("GET", this.s(`/element/${id}/text`));
  }

  type(id, text) {
    return this.call("POST", this.s(`/element/${id}/value`), { text });
  }

  clear(id) {
    return this.call("POST", this.s(`/element/${id}/clear`), {});
  }

  click(id) {
    return this.call("POST", this.s(`/element/${id}/click`), {});
  }

  /** Presses each key in turn on whatever has the focus (W3C actions: real key events). */
  async keys(...keys) {
    const actions = keys.flatMap((k) => [
      { type: "keyDown", value: k },
      { type: "keyUp", value: k },
    ]);
    await this.call("POST", this.s("/actions"), { actions: [{ type: "key", id: "keyboard", actions }] });
    // Releasing what is already released is not worth failing a run over.
    await this.call("DELETE", this.s("/actions")).catch(() => undefined);
  }

  /** Runs an async script in the page; the last argument is WebDriver's callback. */
  executeAsync(script, args = []) {
    return this.call("POST", this.s("/execute/async"), { script, args });
  }

  async screenshot(path) {
    // Let WebKit paint what the DOM already holds (two frames), or the picture can lag.
    await this.executeAsync(
      "const done = arguments[arguments.length - 1];" +
        "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
    );
    const png = await this.call("GET", this.s("/screenshot"));
    writeFileSync(path, Buffer.from(png, "base64"));
  }
}

/** Starts tauri-driver and a session on the app at `app` (absolute path). Answers the client
 * and `stop()`, which ends the session and the driver's whole process group (WebKitWebDriver
 * and the app with it). */
export async function startApp(app, driverBin = process.env.TAURI_DRIVER ?? "tauri-driver") {
  if (!isAbsolute(app)) throw new Error(`APP_BINARY must be the absolute path of the built app (got '${app}')`);
  if (!existsSync(app)) throw new Error(`no app binary at ${app}: build it with scripts/e2e.sh`);
  const port = await freePort();
  const nativePort = await freePort();
  const driver = spawn(driverBin, ["--port", String(port), "--native-port", String(nativePort)], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let driverLog = "";
  const keep = (chunk) => {
    driverLog = (driverLog + chunk).slice(-20_000);
  };
  driver.stdout.on("data", keep);
  driver.stderr.on("data", keep);
  const exited = new Promise((_, fail) =>
    driver.once("exit", (code) => fail(new Error(`tauri-driver exited (${code}):\n${driverLog}`))),
  );
  exited.catch(() => {});
  driver.once("error", (e) => keep(`spawn failed: ${e.message}\n`));

  const wd = new WebDriver(`http://127.0.0.1:${port}`);
  const stop = async () => {
    await wd.deleteSession();
    if (driver.pid && driver.exitCode === null) {
      try {
        process.kill(-driver.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  try {
    // The port opens before the native driver is ready: wait for /status to say so.
    await Promise.race([
      exited,
      waitFor("tauri-driver /status", async () => {
        const status = await wd.call("GET", "/status");
        return status?.ready !== false;
      }, 60_000),
    ]);
    await wd.newSession(app);
  } catch (e) {
    await stop();
    throw e;
  }
  return { wd, stop, pid: driver.pid };
}

/** Calls a shell command through the page's own IPC: `{ok}` or `{failed}` (not `error`,
 * which the WebDriver client takes for a WebDriver error). */
export function invoke(wd, cmd, args = {}) {
  return wd.executeAsync(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
       .then((ok) => done({ ok: ok ?? null }), (failed) => done({ failed }));`,
    [cmd, args],
  );
}
