// The built UI (ui/dist) in Debian's Chromium, with Tauri's IPC faked at the boundary
// (`window.__TAURI_INTERNALS__.invoke`), so the page runs its real Tauri backend code.
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
function fakeShell({ failWith } = {}) {
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
  window.__calls = [];
  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    transformCallback: () => 0,
    invoke: async (cmd, args) => {
      window.__calls.push([cmd, args]);
      if (failWith) throw failWith;
      switch (cmd) {
        case "app_status":
          return { version: "0.1.0", demo: true, data_dir: "/tmp/schooldesk-demo", sync: { state: "ready" } };
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
    assert.equal(await page.getByTestId("outbox-count").textContent(), "1 waiting");

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
});
