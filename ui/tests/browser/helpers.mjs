// Shared by the browser specs: serve the fixture build (dist-fixture/, `vite build --mode
// fixture`) on 127.0.0.1 under the app's CSP without 'unsafe-inline', launch Debian's
// Chromium, run axe-core, and record CSP violations and page errors.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const dist = resolve(process.env.UI_DIST ?? resolve(here, "../../dist-fixture"));
export const artifacts = resolve(process.env.ARTIFACTS_DIR ?? resolve(here, "../../../artifacts"));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** The CSP the app should ship (src-tauri/tauri.conf.json, minus 'unsafe-inline'). */
export const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src ipc: http://ipc.localhost";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

function serve() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    // axe-core from node_modules, same origin, so the CSP lets the test load it.
    const file = path === "/__test/axe.min.js" ? axePath : join(dist, path === "/" ? "index.html" : path);
    if ((file !== axePath && !file.startsWith(dist)) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": MIME[extname(file)] ?? "application/octet-stream",
      "content-security-policy": CSP,
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

export async function launch() {
  assert.ok(existsSync(join(dist, "index.html")), `no fixture build at ${dist}: run \`npm run build:fixture\` in ui/`);
  assert.ok(existsSync(executablePath), `no Chromium at ${executablePath}: run scripts/install-deps.sh`);
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    base,
    browser,
    async close() {
      await browser.close();
      server.close();
    },
  };
}

/** A page on `hash` (with `search`, e.g. `?people=50000`), its errors and CSP violations. */
export async function open(env, { hash = "#/today", search = "", colorScheme = "light", locale, viewport } = {}) {
  const context = await env.browser.newContext({ viewport: viewport ?? { width: 1200, height: 800 }, locale, colorScheme });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/favicon|404/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
    );
  });
  await page.goto(`${env.base}${search}${hash}`);
  await page.locator("main h1").first().waitFor();
  return {
    page,
    problems,
    async done() {
      const csp = await page.evaluate(() => window.__csp);
      await context.close();
      assert.deepEqual(csp, [], "the page broke the CSP");
      assert.deepEqual(problems, []);
    },
  };
}

/** Runs axe-core on the page; fails on any violation, listing each with its nodes. */
export async function axe(page, what) {
  if (!(await page.evaluate(() => "axe" in window))) {
    // By URL from the page's own origin: the CSP allows no inline script.
    await page.addScriptTag({ url: "/__test/axe.min.js" });
  }
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => `${n.target.join(" ")} — ${n.failureSummary?.split("\n").slice(1).join(" ")}`).join("\n    ")}`);
  });
  assert.deepEqual(result, [], `axe found violations on ${what}`);
}

/** Two frames, so a screenshot shows what the DOM already holds. */
export async function settle(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}
