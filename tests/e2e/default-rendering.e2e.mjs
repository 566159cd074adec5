// The real app as it renders by default on Linux: without WebKit's accelerated compositing
// (the app turns it off itself; see `software_compositing` in src-tauri/src/lib.rs). The other
// specs run with compositing on (scripts/e2e.sh sets WEBKIT_DISABLE_COMPOSITING_MODE=0)
// because WebKitWebDriver's screenshot never returns for a page that is not being repainted
// when compositing is off. So this spec takes no screenshots. It checks that the
// default-rendered window starts, takes the demo, lists and searches the children, scrolls and
// opens a student, all by keyboard.
//
// Run through scripts/e2e.sh (E2E_ONLY=default-rendering).
// Env: APP_BINARY (absolute path), TAURI_DRIVER, E2E_TIMEOUT_MS.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startApp, waitFor } from "./webdriver.mjs";

const app = process.env.APP_BINARY ?? "";
const KEY = { enter: "\uE007", down: "\uE015", end: "\uE010" };

describe("the app with its default rendering (no accelerated compositing)", () => {
  let wd;
  let stop;

  before(async () => {
    // The app's own default, not the screenshot specs' override.
    delete process.env.WEBKIT_DISABLE_COMPOSITING_MODE;
    ({ wd, stop } = await startApp(app));
  });

  after(async () => {
    await stop?.();
  });

  it("starts at first run, takes the demo, and lists, scrolls, searches and opens children", async () => {
    await waitFor("first run to show", async () => (await wd.findAll('[data-testid="try-demo"]')).length > 0, 60_000);
    const [demo] = await wd.findAll('[data-testid="try-demo"]');
    await wd.click(demo);
    await waitFor("the sync status to read 'Up to date'", async () => {
      const [status] = await wd.findAll('[data-testid="sync-status"]');
      return status !== undefined && (await wd.text(status)) === "Up to date";
    });

    await wd.executeAsync(`const done = arguments[arguments.length - 1]; location.hash = "#/rosters"; done(true);`);
    await waitFor("Rosters' rows", async () => (await wd.findAll('[data-testid="student-row"]')).length > 0, 60_000);
    const [count] = await wd.findAll('[data-testid="student-count"]');
    const total = Number(await wd.text(count));
    assert.ok(total > 20, `only ${total} children listed`);

    // Scrolling the virtualised list by keyboard repaints it: the last child's row arrives.
    await wd.executeAsync(
      `const done = arguments[arguments.length - 1]; document.querySelector('[data-testid="people-list"]').focus(); done(true);`,
    );
    await wd.keys(KEY.end);
    await waitFor("the list to reach its end", async () => {
      const scrolled = await wd.executeAsync(
        `const done = arguments[arguments.length - 1];
         const el = document.querySelector('[data-testid="people-list"]');
         requestAnimationFrame(() => done(el ? el.scrollTop + el.clientHeight >= el.scrollHeight - 2 : false));`,
      );
      return scrolled === true;
    }, 30_000);

    // Search narrows the list, then Enter on the first match opens the student page.
    const [search] = await wd.findAll('[data-testid="student-search"]');
    const [firstRow] = await wd.findAll('[data-testid="student-row"] .name');
    const name = (await wd.text(firstRow)).trim();
    const family = name.split(/\s+/).at(-1);
    await wd.type(search, family);
    await waitFor(`the list to narrow to '${family}'`, async () => {
      const [c] = await wd.findAll('[data-testid="student-count"]');
      const n = Number(await wd.text(c));
      return n > 0 && n < total;
    }, 30_000);
    await wd.keys(KEY.down, KEY.enter);
    await waitFor("the student page", async () => {
      const h1 = await wd.findAll("main h1");
      return h1.length > 0 && (await wd.executeAsync(`const done = arguments[arguments.length - 1]; done(location.hash);`)).startsWith("#/student/");
    }, 30_000);
  });
});
