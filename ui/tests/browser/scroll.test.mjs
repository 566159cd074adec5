// Scrolling the roster over 50,000 people in Debian's Chromium (fixture build): the list is
// scrolled from script once per animation frame for about two seconds while every frame's
// interval is recorded; prints frames a second, the worst frame and how many frames were
// long. A figure for the README, not a timed test: the only bound is a generous sanity one
// (a list that re-renders all 50,000 rows manages a few frames a second at best).
// Runs in `npm run test:browser` (about 5 s); alone: node --test tests/browser/scroll.test.mjs
// after `npm run build:fixture`.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { launch, open } from "./helpers.mjs";

const SPEEDS = [
  // A steady wheel scroll: a row and a half a frame, about 6,500 px a second.
  { name: "steady", pxPerFrame: 108 },
  // A fling: a whole screen of new rows every frame.
  { name: "fling", pxPerFrame: 1500 },
];

describe("scrolling 50,000 people (fixture build, Chromium)", () => {
  let env;
  before(async () => {
    env = await launch();
  });
  after(async () => env?.close());

  it("prints frames a second and the worst frame while the list scrolls", async () => {
    const { page, done } = await open(env, { hash: "#/rosters", search: "?people=50000" });
    await page.waitForFunction(() => document.querySelector('[data-testid="student-count"]')?.textContent === "50000");
    for (const speed of SPEEDS) {
      const r = await page.getByTestId("people-list").evaluate(
        (list, { pxPerFrame, durationMs }) =>
          new Promise((resolve) => {
            list.scrollTop = 0;
            const deltas = [];
            let rowsSeen = 0;
            let last;
            let start;
            const frame = (t) => {
              if (last !== undefined) deltas.push(t - last);
              else start = t;
              last = t;
              rowsSeen = Math.max(rowsSeen, list.querySelectorAll('[data-testid="student-row"]').length);
              if (t - start >= durationMs) {
                resolve({ deltas, elapsed: t - start, top: list.scrollTop, rowsSeen });
                return;
              }
              list.scrollTop += pxPerFrame;
              requestAnimationFrame(frame);
            };
            requestAnimationFrame(frame);
          }),
        { pxPerFrame: speed.pxPerFrame, durationMs: 2000 },
      );
      const fps = (r.deltas.length / r.elapsed) * 1000;
      const worst = Math.max(...r.deltas);
      // A 60 Hz frame lasts 16.7 ms; Chromium's frame times jitter by about 0.1 ms, so a
      // frame counts as long beyond 17.5 ms, and as a missed vsync beyond 25 ms.
      const long = r.deltas.filter((d) => d > 17.5).length;
      const missed = r.deltas.filter((d) => d > 25).length;
      console.log(
        `scroll over 50,000 (${speed.name}, ${speed.pxPerFrame} px a frame): ${fps.toFixed(1)} fps over ${r.deltas.length} frames ` +
          `(${(r.elapsed / 1000).toFixed(2)} s), worst frame ${worst.toFixed(1)} ms, ${long} frames > 17.5 ms, ${missed} > 25 ms ` +
          `(a vsync missed); scrolled to ${r.top} px, at most ${r.rowsSeen} rows in the DOM`,
      );
      assert.ok(r.top > 0, "the list did not scroll");
      assert.ok(r.rowsSeen < 40, `${r.rowsSeen} rows in the DOM while scrolling`);
      // Sanity only: a non-virtualised list of 50,000 rows is far below this.
      assert.ok(fps > 10, `${fps.toFixed(1)} fps`);
    }
    await done();
  });
});
