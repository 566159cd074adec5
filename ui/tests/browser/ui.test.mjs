// The built UI (ui/dist) in Debian's Chromium, with Tauri's IPC faked at the boundary
// (`window.__TAURI_INTERNALS__.invoke`), so the page runs its real Tauri backend code,
// events included: `listen` arrives as `plugin:event|listen` with a callback id made by
// `transformCallback`, and `window.__emit(event, payload)` plays the shell emitting one.
// Run: npm run build && npm run test:browser   (saves artifacts/ui.png at the repo root)
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "../../dist");
const artifacts = resolve(process.env.ARTIFACTS_DIR ?? resolve(here, "../../../artifacts"));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Serves dist/ on 127.0.0.1 at a free port. */
function serveDist() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(dist, path === "/" ? "index.html" : path);
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** Installed before the page's own scripts: answers the shell's commands from fixtures. */
function fakeShell({ failWith, failCommand } = {}) {
  const at = "2025-09-01T08:00:00+00:00";
  const student = (system, system_name, source_id, external_id, given, family, grade, homeroom) => ({
    system, system_name, source_id, external_id, name: `${given} ${family}`, given_name: given,
    family_name: family, preferred_name: null, grade, homeroom, active: true,
  });
  const students = [
    student("omniforge", "OmniForge SIS", "of-1001", "S-1001", "Amara", "Okafor", "7", "7B"),
    student("omniforge", "OmniForge SIS", "of-1002", "S-1002", "Liam", "Chen", "7", "7A"),
    student("powerschool", "PowerSchool Enrollment", "ps-2001", "S-1003", "Sofia", "García", "8", "8C"),
    student("matrix", "Matrix LMS", "mx-3001", "S-1001", "Amara", "Okafor", "7", "7B"),
    student("hubmis", "WCBS HUBmis", "hm-4001", "UK-0042", "Oliver", "Hughes", "Year 9", "9H"),
  ];
  const outbox = [
    { id: 1, system: "omniforge", system_name: "OmniForge SIS", operation: "submit_attendance",
      entity_key: "attendance:of-1001", state: "done", attempts: 1, next_attempt_at: at,
      last_error: null, created_at: at, updated_at: at },
    { id: 2, system: "matrix", system_name: "Matrix LMS", operation: "set_grades",
      entity_key: "grades:mx-3001", state: "pending", attempts: 3, next_attempt_at: at,
      last_error: "Matrix LMS answered 503 Service Unavailable; will retry", created_at: at, updated_at: at },
    { id: 3, system: "powerschool", system_name: "PowerSchool Enrollment", operation: "submit_form",
      entity_key: "form:ps-2001", state: "failed", attempts: 1, next_attempt_at: at,
      last_error: "PowerSchool refused the form: grade_level is required", created_at: at, updated_at: at },
  ];
  const system = (system, system_name) => ({
    system, system_name, syncing: false, phase: null, rows: 0, requests_left: null,
    register_ready: true, last_sync_at: at, next_sync_at: at, reachable: true, problem: null,
  });
  const activity = {
    systems: [
      system("omniforge", "OmniForge SIS"),
      system("powerschool", "PowerSchool Enrollment"),
      system("matrix", "Matrix LMS"),
      system("hubmis", "WCBS HUBmis"),
    ],
    sending: false, waiting: 1, conflicts: 0, failed: 1, offline: false,
  };

  // Tauri's callback registry and event plugin, as far as `listen`/`unlisten` use them.
  const callbacks = new Map();
  const listeners = new Map(); // event name → callback ids
  let nextId = 1;
  window.__emit = (event, payload) => {
    for (const id of listeners.get(event) ?? []) callbacks.get(id)?.({ event, id, payload });
  };
  window.__listening = (event) => (listeners.get(event) ?? []).length;
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: (_event, id) => callbacks.delete(id) };

  window.__calls = [];
  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    transformCallback: (callback, once = false) => {
      const id = nextId++;
      callbacks.set(id, (data) => {
        if (once) callbacks.delete(id);
        return callback?.(data);
      });
      return id;
    },
    unregisterCallback: (id) => callbacks.delete(id),
    invoke: async (cmd, args) => {
      window.__calls.push([cmd, args]);
      switch (cmd) {
        case "plugin:event|listen":
          listeners.set(args.event, [...(listeners.get(args.event) ?? []), args.handler]);
          return args.handler;
        case "plugin:event|unlisten":
          listeners.set(args.event, (listeners.get(args.event) ?? []).filter((id) => id !== args.eventId));
          return null;
      }
      if (failWith) throw failWith;
      if (failCommand?.cmd === cmd) throw failCommand.error;
      switch (cmd) {
        case "app_status":
          return { version: "0.1.0", demo: true, data_dir: "/tmp/schooldesk-demo", sync: { state: "ready" } };
        case "desk_activity":
          return activity;
        case "sync_now":
        case "send_now":
          return null;
        case "list_students": {
          // The cache's rule: every typed word starts a word of a name or the external id.
          const words = (t) => t.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase()
            .split(/[^\p{L}\p{N}]+/u).filter(Boolean);
          const wanted = words(args.search ?? "");
          const found = students.filter((s) => {
            const have = words(`${s.name} ${s.external_id ?? ""}`);
            return wanted.every((w) => have.some((h) => h.startsWith(w)));
          });
          return { students: found, more: false };
        }
        case "list_outbox":
          return outbox;
        default:
          throw `command ${cmd} not found`;
      }
    },
  };
}

describe("the built UI in Chromium", () => {
  let server;
  let browser;
  let base;

  before(async () => {
    assert.ok(
      existsSync(join(dist, "index.html")),
      `no built UI at ${dist}: run \`npm run build\` in ui/ first`,
    );
    assert.ok(existsSync(executablePath), `no Chromium at ${executablePath}: run scripts/install-deps.sh`);
    server = await serveDist();
    base = `http://127.0.0.1:${server.address().port}/`;
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function open(options) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const problems = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.addInitScript(fakeShell, options);
    await page.goto(base);
    return { page, problems };
  }

  it("shows the demo badge, the students and the outbox", async () => {
    const { page, problems } = await open();
    const rows = page.getByTestId("student-row");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 5);
    assert.equal(await page.getByTestId("demo-badge").isVisible(), true);
    assert.equal(await page.getByTestId("sync-status").textContent(), "Up to date");
    assert.match(await rows.nth(2).textContent(), /Sofia García.*S-1003.*PowerSchool Enrollment.*8.*8C/);
    const outbox = page.getByTestId("outbox-row");
    assert.equal(await outbox.count(), 3);
    assert.match(await outbox.nth(2).textContent(), /failed.*Submit form.*grade_level is required/);
    assert.equal(await page.getByTestId("outbox-count").textContent(), "3");
    assert.equal(await page.getByTestId("outbox-waiting").textContent(), "1 waiting");
    assert.equal(await page.getByTestId("outbox-failed").textContent(), "1 failed");
    const chips = page.getByTestId("system-chip");
    assert.equal(await chips.count(), 4);
    assert.match(await chips.first().textContent(), /^OmniForge SIS synced \d\d:\d\d$|^OmniForge SIS synced .+ \d\d:\d\d$/);
    assert.equal(await page.getByTestId("offline-indicator").isVisible(), false);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "ui.png"), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("asks the shell again as the person searches", async () => {
    const { page } = await open();
    await page.getByTestId("student-row").first().waitFor();
    await page.getByTestId("student-search").fill("okafor");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="student-row"]').length === 2);
    const calls = await page.evaluate(() => window.__calls);
    assert.deepEqual(calls.filter(([cmd]) => cmd === "list_students").at(-1), [
      "list_students",
      { search: "okafor" },
    ]);

    await page.getByTestId("student-search").fill("zzz");
    await page.getByTestId("note-empty").first().waitFor();
    assert.match(await page.getByTestId("students").textContent(), /No students match “zzz”/);
    await page.close();
  });

  it("shows the shell's error message when a command fails", async () => {
    const { page } = await open({
      failWith: {
        code: "cache.key_missing",
        message: "Schooldesk cannot read its cache key from the keychain. Unlock the keychain and restart.",
        retryable: false,
      },
    });
    const error = page.getByTestId("note-error").first();
    await error.waitFor();
    assert.equal(await error.getAttribute("data-code"), "cache.key_missing");
    assert.match(await error.textContent(), /Unlock the keychain and restart/);
    assert.equal(await page.getByRole("alert").first().isVisible(), true);
    await page.close();
  });

  it("reaches Sync now and Send now from the keyboard, with a visible focus", async () => {
    const { page, problems } = await open();
    await page.getByTestId("student-row").first().waitFor();
    const sync = page.getByTestId("sync-now");
    const send = page.getByTestId("send-now");
    await page.waitForFunction(() => !document.querySelector('[data-testid="sync-now"]').disabled);
    assert.equal(await sync.evaluate((el) => el.tagName), "BUTTON");
    assert.equal(await sync.textContent(), "Sync now");
    assert.equal(await send.textContent(), "Send now");

    // From the top of the page, the first Tab lands on Sync now and the second on Send now.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "sync-now");
    const ring = await sync.evaluate((el) => {
      const s = getComputedStyle(el);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    assert.notEqual(ring.style, "none", "the focused button shows no outline");
    assert.ok(ring.width >= 2, `the focus outline is ${ring.width}px wide`);
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "send-now");
    await page.keyboard.press("Space");
    await page.waitForFunction(() => window.__calls.some(([cmd]) => cmd === "send_now"));
    const cmds = (await page.evaluate(() => window.__calls)).map(([cmd]) => cmd);
    assert.ok(cmds.includes("sync_now"), `Enter on Sync now did not call sync_now: ${cmds}`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("follows the shell's events: activity, offline and changes", async () => {
    const { page, problems } = await open();
    await page.getByTestId("student-row").first().waitFor();
    await page.waitForFunction(() => window.__listening("desk-activity") === 1);

    await page.evaluate(() =>
      window.__emit("desk-activity", {
        systems: [
          {
            system: "matrix", system_name: "Matrix LMS", syncing: true, phase: "rosters", rows: 80,
            requests_left: 12, register_ready: false, last_sync_at: null, next_sync_at: null,
            reachable: true, problem: null,
          },
          {
            system: "hubmis", system_name: "WCBS HUBmis", syncing: false, phase: null, rows: 0,
            requests_left: null, register_ready: true, last_sync_at: null, next_sync_at: null,
            reachable: false, problem: null,
          },
        ],
        sending: false, waiting: 4, conflicts: 2, failed: 0, offline: true,
      }),
    );
    const offline = page.getByTestId("offline-indicator");
    await offline.waitFor();
    assert.equal(
      await offline.textContent(),
      "Offline — everything shown is from this computer's cache; writes are kept and sent when the network is back",
    );
    const chips = page.getByTestId("system-chip");
    assert.deepEqual(await chips.allTextContents(), [
      "Syncing Matrix LMS · rosters (80 rows)",
      "WCBS HUBmis: not answering — working from the cache",
    ]);
    assert.equal(await page.getByTestId("outbox-conflicts").textContent(), "2 conflicts");
    assert.equal(await page.getByTestId("sync-status").textContent(), "Offline");
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "ui-offline.png"), fullPage: true });

    const count = (cmd) => page.evaluate((c) => window.__calls.filter(([x]) => x === c).length, cmd);
    const [students, outbox] = [await count("list_students"), await count("list_outbox")];
    await page.evaluate(() => window.__emit("desk-changed", { origins: ["replay"], tables: ["outbox"] }));
    await page.waitForFunction((n) => window.__calls.filter(([c]) => c === "list_outbox").length > n, outbox);
    assert.equal(await count("list_students"), students, "an outbox change re-read the students");
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("shows a refused Send now in the shell's words", async () => {
    const { page } = await open({
      failCommand: {
        cmd: "send_now",
        error: { code: "shell.starting", message: "Schooldesk is still starting. Try again in a moment.", retryable: true },
      },
    });
    await page.getByTestId("student-row").first().waitFor();
    await page.getByTestId("send-now").click();
    const banner = page.locator(".banner");
    await banner.waitFor();
    assert.equal(await banner.textContent(), "Schooldesk is still starting. Try again in a moment.");
    await page.close();
  });

  for (const colorScheme of ["light", "dark"]) {
    it(`keeps text readable (WCAG AA) in the ${colorScheme} scheme`, async () => {
      const { page } = await open();
      await page.emulateMedia({ colorScheme });
      await page.getByTestId("student-row").first().waitFor();
      await page.waitForFunction(() => !document.querySelector('[data-testid="sync-now"]').disabled);
      await page.evaluate(() =>
        window.__emit("desk-activity", {
          systems: ["ok", "busy", "warn", "bad", "idle"].map((kind, i) => ({
            system: "matrix", system_name: `System ${i}`, syncing: kind === "busy", phase: "rosters",
            rows: 1, requests_left: null, register_ready: false,
            last_sync_at: kind === "idle" ? null : "2025-09-01T08:00:00+00:00", next_sync_at: null,
            reachable: kind !== "warn",
            problem: kind === "bad" ? { code: "x", message: "Refused the key.", retryable: false } : null,
          })),
          sending: true, waiting: 1, conflicts: 1, failed: 1, offline: true,
        }),
      );
      await page.getByTestId("offline-indicator").waitFor();
      const failures = await page.evaluate(() => {
        const rgb = (c) => (c.match(/[\d.]+/g) ?? []).map(Number);
        const lum = ([r, g, b]) => {
          const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const background = (el) => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length >= 3 && (c.length === 3 || c[3] > 0)) return c;
          }
          return [255, 255, 255];
        };
        const checks = [
          ...document.querySelectorAll(
            '[data-testid="system-chip"], .pill, .offline, .offline-badge, button.action, .sync, .state, .system, .banner, h1, h2, td, th, .footer',
          ),
        ];
        const bad = [];
        for (const el of checks) {
          if (el.closest("[hidden]") || el.disabled) continue;
          const fg = rgb(getComputedStyle(el).color);
          const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
          const ratio = (a + 0.05) / (b + 0.05);
          if (ratio < 4.5) bad.push(`${el.className || el.tagName} “${el.textContent.slice(0, 30)}”: ${ratio.toFixed(2)}`);
        }
        return { bad, checked: checks.length };
      });
      assert.ok(failures.checked > 20, `only ${failures.checked} elements checked`);
      assert.deepEqual(failures.bad, []);
      await page.close();
    });
  }
});
