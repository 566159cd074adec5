// The Documents panel of the fixture build (ui/dist-fixture) in Debian's Chromium, on the
// fixture desk behind a fake IPC (src/fixture/install.ts): operated from the keyboard only,
// with visible focus, labels, and readable text in both colour schemes.
// Run: npm run build && npm run test:browser   (saves artifacts/ui-documents*.png)
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.env.UI_DIST ?? resolve(here, "../../dist-fixture"));
const artifacts = resolve(process.env.ARTIFACTS_DIR ?? resolve(here, "../../../artifacts"));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

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

/** WCAG contrast of every visible text element inside `selector` (run in the page). */
function contrastFailures(selector) {
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
  const checks = [...document.querySelectorAll(`${selector} :is(h2, label, select, input, button, .doc-note, .doc-result)`)];
  const bad = [];
  for (const el of checks) {
    if (el.closest("[hidden]") || !el.getClientRects().length) continue;
    const fg = rgb(getComputedStyle(el).color);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName}.${el.className} “${(el.textContent ?? "").slice(0, 30)}”: ${ratio.toFixed(2)}`);
  }
  return { bad, checked: checks.length };
}

describe("the Documents panel in Chromium", () => {
  let server;
  let browser;
  let base;

  before(async () => {
    assert.ok(existsSync(join(dist, "index.html")), `no built UI at ${dist}: run \`npm run build\` in ui/ first`);
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

  async function open({ locale = "en-GB", colorScheme = "light" } = {}) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, locale, colorScheme });
    const problems = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${base}#/documents`);
    // The mock answers at once; sections in the picker mean the panel has loaded.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="doc-section"] option').length > 1);
    return { page, problems };
  }

  /** Presses Tab until `testid` has the focus; fails if it is not reachable. */
  async function tabTo(page, testid) {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      if ((await page.evaluate(() => document.activeElement?.dataset.testid)) === testid) return;
    }
    assert.fail(`${testid} cannot be reached with Tab`);
  }

  async function focusRing(page, testid) {
    return page.getByTestId(testid).evaluate((el) => {
      const s = getComputedStyle(el);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
  }

  it("saves the emergency list from the keyboard and says where it went", async () => {
    const { page, problems } = await open();
    const panel = page.getByRole("region", { name: "Make a document" });
    assert.equal(await panel.isVisible(), true);
    // Every control is named by its label.
    for (const name of ["Document", "Section", "Format", "Paper"]) {
      assert.equal(await panel.getByLabel(name, { exact: true }).isVisible(), true, `no control labelled ${name}`);
    }
    assert.equal(await page.getByTestId("doc-paper").inputValue(), "a4", "en-GB prints on A4");

    await tabTo(page, "doc-kind");
    const ring = await focusRing(page, "doc-kind");
    assert.notEqual(ring.style, "none", "the focused picker shows no outline");
    assert.ok(ring.width >= 2, `the focus outline is ${ring.width}px wide`);
    // Walk the picker to the emergency list with the arrow keys (it is listed first).
    await page.keyboard.press("End");
    await page.keyboard.press("Home");
    assert.equal(await page.getByTestId("doc-kind").inputValue(), "emergency");
    assert.equal(
      await page.getByTestId("doc-section").evaluate((el) => el.selectedOptions[0].textContent),
      "Everyone in school today",
    );

    await tabTo(page, "doc-save");
    const saveRing = await focusRing(page, "doc-save");
    assert.notEqual(saveRing.style, "none");
    await page.keyboard.press("Enter");
    const result = page.getByTestId("doc-result");
    await page.waitForFunction(() => document.querySelector('[data-testid="doc-result"]').dataset.state === "ok");
    assert.match(
      await result.textContent(),
      /^Saved to \/home\/office\/Documents\/Schooldesk\/emergency-all-\d{4}-\d\d-\d\d\.pdf \(\d+ students\)$/,
    );
    assert.equal(await result.getAttribute("role"), "status");

    // Again: a new name, never the same file.
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /-2\.pdf/.test(document.querySelector('[data-testid="doc-result"]').textContent));

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "ui-documents.png"), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("prints on Letter in the US and shows a refusal in the shell's words", async () => {
    const { page, problems } = await open({ locale: "en-US" });
    assert.equal(await page.getByTestId("doc-paper").inputValue(), "letter");
    await page.getByTestId("doc-kind").selectOption("register");
    assert.equal(await page.getByTestId("doc-from").isVisible(), true);
    await page.getByTestId("doc-section").selectOption("omniforge:hr-7b");
    await page.getByTestId("doc-print").click();
    const result = page.getByTestId("doc-result");
    await page.waitForFunction(() => document.querySelector('[data-testid="doc-result"]').dataset.state === "ok");
    assert.match(await result.textContent(), /^Opened register-Homeroom-7B-.*\.pdf in your PDF viewer/);

    await page.getByTestId("doc-kind").selectOption("learning_support");
    await page.getByTestId("doc-save").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="doc-result"]').dataset.state === "bad");
    assert.equal(await result.getAttribute("data-code"), "export.learning_support_disabled");
    assert.match(await result.textContent(), /An administrator can switch it on/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  for (const colorScheme of ["light", "dark"]) {
    it(`keeps the panel readable (WCAG AA) in the ${colorScheme} scheme`, async () => {
      const { page } = await open({ colorScheme });
      const panel = '[data-testid="documents"]';
      await page.getByTestId("doc-save").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="doc-result"]').dataset.state === "ok");
      let failures = await page.evaluate(contrastFailures, panel);
      assert.ok(failures.checked > 10, `only ${failures.checked} elements checked`);
      assert.deepEqual(failures.bad, []);

      await page.getByTestId("doc-kind").selectOption("roster");
      await page.getByTestId("doc-save").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="doc-result"]').dataset.state === "bad");
      failures = await page.evaluate(contrastFailures, panel);
      assert.deepEqual(failures.bad, []);
      mkdirSync(artifacts, { recursive: true });
      await page.locator(panel).screenshot({ path: join(artifacts, `ui-documents-${colorScheme}.png`) });
      await page.close();
    });
  }
});
