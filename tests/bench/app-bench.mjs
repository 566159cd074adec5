// The app's start and memory figures (issue #9, Benchmarks). Prints figures; asserts nothing
// about time. Run through scripts/bench-app.sh, which builds the release app and the
// hello-world baseline and provides Xvfb and a throwaway keychain.
//
// Cold start: the release app on a demo profile chosen and synced beforehand (the data folder
// is restored from a snapshot before each start, at the same path, since the cache key in the
// keychain belongs to that path), with a fresh HOME each time (no WebKit caches, no saved
// window state). tauri-driver spawns the app on POST /session; the page is then polled with
// execute-script, and a requestAnimationFrame watcher installed by the first poll records, by
// the page's own clock, when the first screen became interactive: the Today heading shown
// and the header's status answered through IPC (not the "Starting…" placeholder). Every
// figure counts from the moment POST /session is sent, so it includes WebKitWebDriver
// launching the app: an upper bound. Each start is broken down by the kernel's start times of
// the app and its WebKitWebProcess and the page's navigation timings.
//
// Memory: PSS (smaps_rollup) summed over the app and every process under it, after the
// demo's full sync with Rosters shown, against tests/bench/hello-tauri measured the same way
// (also through tauri-driver, same Xvfb screen, same 1200×800 window). With SIM_BINARY set,
// also the PSS of `schooldesk-sim` alone with the demo's 200-student district: what the four
// simulators the demo runs inside the app take, roughly.
//
// Env: APP_BINARY, HELLO_BINARY (absolute paths), BENCH_RUNS (default 7; 0 for memory only),
// SIM_BINARY (optional), TAURI_DRIVER. WEBKIT_* variables pass through to both apps.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, waitFor, WebDriver } from "../e2e/webdriver.mjs";

const app = process.env.APP_BINARY ?? "";
const hello = process.env.HELLO_BINARY ?? "";
const runs = Number(process.env.BENCH_RUNS ?? 7);
const scratch = mkdtempSync(join(tmpdir(), "schooldesk-bench-"));

// When POST /session left and came back (the shared client's own method, timed around).
let sessionPost = 0;
let sessionBack = 0;
const newSession = WebDriver.prototype.newSession;
WebDriver.prototype.newSession = async function timed(application) {
  sessionPost = Date.now();
  try {
    return await newSession.call(this, application);
  } finally {
    sessionBack = Date.now();
  }
};

/** Milliseconds since the epoch at which the kernel started `pid` (10 ms granularity). */
function startedAt(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]); // field 22: starttime, in clock ticks since boot
  const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const boot = Date.now() - uptime * 1000;
  return boot + ticks * 10; // USER_HZ is 100 on Linux
}

function processes() {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      let exe = "";
      try {
        exe = readlinkSync(`/proc/${name}/exe`);
      } catch {
        // a kernel thread or gone
      }
      out.push({ pid: Number(name), ppid, comm, exe });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The newest process running `binary`, and every process under it. */
function tree(binary) {
  const all = processes();
  const roots = all.filter((p) => p.exe === binary).sort((a, b) => b.pid - a.pid);
  if (roots.length === 0) return [];
  const found = [roots[0]];
  for (let i = 0; i < found.length; i++) {
    for (const p of all) if (p.ppid === found[i].pid) found.push(p);
  }
  return found;
}

function rollup(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return {
    pss: kb("Pss"),
    rss: kb("Rss"),
    uss: kb("Private_Clean") + kb("Private_Dirty"),
    anon: kb("Pss_Anon"),
    file: kb("Pss_File"),
    shmem: kb("Pss_Shmem"),
  };
}

/** PSS, USS and RSS (MB) summed over the app at `binary` and its descendants, and each
 * process (PSS, then its anonymous / file-backed / shared-memory parts). PSS shares each
 * library page among every process mapping it, so other WebKit processes on the machine
 * (another engineer's e2e run) lower both apps' figures: `others` counts them. USS (the
 * private pages only) does not depend on them. */
function memory(binary) {
  const procs = tree(binary).map((p) => ({ ...p, ...rollup(p.pid) }));
  const mine = new Set(procs.map((p) => p.pid));
  const others = processes().filter((p) => p.comm.startsWith("WebKitWebProc") && !mine.has(p.pid)).length;
  const mb = (kb) => (kb / 1024).toFixed(0);
  return {
    pss: procs.reduce((s, p) => s + p.pss, 0) / 1024,
    rss: procs.reduce((s, p) => s + p.rss, 0) / 1024,
    uss: procs.reduce((s, p) => s + p.uss, 0) / 1024,
    others,
    each: procs.map((p) => `${p.comm} ${mb(p.pss)} = anon ${mb(p.anon)} + file ${mb(p.file)} + shmem ${mb(p.shmem)}`).join("; "),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function execSync(wd, script) {
  return wd.call("POST", wd.s("/execute/sync"), { script, args: [] });
}

// Installed by the first poll: records, by the page's clock, the frame at which the first
// screen became interactive and the one at which Today showed the systems' cards.
const WATCH = `
  const interactive = () => {
    const h1 = document.querySelector("#today-title");
    const status = document.querySelector('[data-testid="sync-status"]');
    return !!h1 && !!status && status.textContent !== "Starting…";
  };
  const cards = () => document.querySelectorAll('[data-testid="system-card"]').length > 0;
  if (!window.__bench) {
    window.__bench = { installedAt: performance.now() };
    const b = window.__bench;
    if (interactive()) b.interactiveBy = performance.now();
    if (cards()) b.cardsBy = performance.now();
    const tick = () => {
      if (b.interactiveAt === undefined && b.interactiveBy === undefined && interactive()) b.interactiveAt = performance.now();
      if (b.cardsAt === undefined && b.cardsBy === undefined && cards()) b.cardsAt = performance.now();
      if ((b.interactiveAt ?? b.interactiveBy) === undefined || (b.cardsAt ?? b.cardsBy) === undefined) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    origin: performance.timeOrigin,
    now: performance.now(),
    domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
    ...window.__bench,
  };
`;

/** Restores the data folder from its snapshot, at the same path. */
function restore(snapshot, data) {
  rmSync(data, { recursive: true, force: true });
  cpSync(snapshot, data, { recursive: true });
}

function freshHome() {
  const home = mkdtempSync(join(scratch, "home-"));
  process.env.HOME = home;
  for (const v of ["XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"]) delete process.env[v];
  return home;
}

/** One cold start: figures in ms since POST /session. */
async function coldStart(binary, label) {
  freshHome();
  const { wd, stop } = await startApp(binary);
  try {
    let seen;
    await waitFor(
      `${label}: the first screen to be interactive`,
      async () => {
        seen = await execSync(wd, WATCH);
        return seen.interactiveAt !== undefined || seen.interactiveBy !== undefined;
      },
      60_000,
      10,
    );
    const procs = tree(binary);
    const webProcess = procs.find((p) => p.comm.startsWith("WebKitWebProc"));
    const page = (t) => (t === undefined || t === null ? null : seen.origin + t - sessionPost);
    const figures = {
      appExec: startedAt(procs[0].pid) - sessionPost,
      webProcessExec: webProcess ? startedAt(webProcess.pid) - sessionPost : null,
      navigationStart: seen.origin - sessionPost,
      domContentLoaded: page(seen.domContentLoaded),
      interactive: page(seen.interactiveAt ?? seen.interactiveBy),
      interactiveWasBound: seen.interactiveAt === undefined,
      sessionBack: sessionBack - sessionPost,
    };
    // When Today shows the systems (the demo's re-sync first, in demo mode): for the record.
    try {
      await waitFor(`${label}: Today's system cards`, async () => {
        seen = await execSync(wd, WATCH);
        return seen.cardsAt !== undefined || seen.cardsBy !== undefined;
      }, 60_000, 50);
      figures.cards = page(seen.cardsAt ?? seen.cardsBy);
    } catch {
      figures.cards = null;
    }
    return figures;
  } finally {
    await stop();
    await sleep(500);
  }
}

/** Starts `binary`, waits for `ready` (a function of the client), settles, measures PSS. */
async function memoryOf(binary, ready) {
  freshHome();
  const { wd, stop } = await startApp(binary);
  try {
    await ready(wd);
    await sleep(3000);
    return memory(binary);
  } finally {
    await stop();
    await sleep(500);
  }
}

async function syncedWithRosters(wd, what) {
  await waitFor(`${what}: the sync status to read 'Up to date'`, async () => {
    const [status] = await wd.findAll('[data-testid="sync-status"]');
    return status && (await wd.text(status)) === "Up to date";
  });
  await wd.executeAsync(`const done = arguments[arguments.length - 1]; location.hash = "#/rosters"; done(true);`);
  await waitFor(`${what}: Rosters' rows`, async () => (await wd.findAll('[data-testid="student-row"]')).length > 0, 60_000);
}

const ms = (x) => (x === null || x === undefined ? "   —" : `${Math.round(x)}`.padStart(4));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The four simulators with the demo's 200-student district in a process of their own
 * (`schooldesk-sim`), idle after start: an estimate of what they take inside the app. */
async function simulatorsAlone() {
  const sim = spawn(process.env.SIM_BINARY, ["--students", "200"], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  sim.stdout.on("data", (c) => (out += c));
  try {
    await waitFor("schooldesk-sim to print its addresses", () => out.includes("Press Ctrl-C"), 60_000);
    await sleep(1000);
    const m = rollup(sim.pid);
    return { pss: m.pss / 1024, anon: m.anon / 1024 };
  } finally {
    sim.kill("SIGINT");
  }
}

async function main() {
  const data = join(scratch, "data");
  const snapshot = join(scratch, "snapshot");
  const extra = ["WEBKIT_DISABLE_COMPOSITING_MODE", "WEBKIT_DISABLE_DMABUF_RENDERER"].filter((v) => process.env[v]);
  if (extra.length) console.log(`(with ${extra.map((v) => `${v}=${process.env[v]}`).join(" ")})`);

  // The demo, chosen and synced once; this start is also the memory figure.
  process.env.SCHOOLDESK_DATA_DIR = data;
  process.env.SCHOOLDESK_DEMO = "1";
  const demoMemory = await memoryOf(app, (wd) => syncedWithRosters(wd, "demo"));
  delete process.env.SCHOOLDESK_DEMO;
  console.log(`PSS after the demo's full sync, Rosters shown: ${demoMemory.pss.toFixed(0)} MB (${demoMemory.each})`);
  writeFileSync(join(data, "demo-chosen"), "");
  cpSync(data, snapshot, { recursive: true });

  const helloMemory = await memoryOf(hello, (wd) =>
    waitFor("the hello page", async () => (await wd.findAll("#hello")).length > 0, 60_000),
  );
  console.log(`PSS of the hello-world app showing its page: ${helloMemory.pss.toFixed(0)} MB (${helloMemory.each})`);
  const sims = process.env.SIM_BINARY ? await simulatorsAlone() : undefined;

  const rows = [];
  if (runs > 0) {
    console.log(`\nCold start, release, demo chosen beforehand and synced (${runs} starts; ms from POST /session):`);
    console.log("  run  app-exec  webproc-exec  nav-start  DOMContentLoaded  interactive  session-back  today-cards");
  }
  for (let i = 1; i <= runs; i++) {
    restore(snapshot, data);
    const f = await coldStart(app, `start ${i}`);
    rows.push(f);
    console.log(
      `  ${String(i).padStart(3)}  ${ms(f.appExec)}      ${ms(f.webProcessExec)}          ${ms(f.navigationStart)}       ${ms(f.domContentLoaded)}              ` +
        `${ms(f.interactive)}${f.interactiveWasBound ? "≤" : " "}        ${ms(f.sessionBack)}          ${ms(f.cards)}`,
    );
  }

  console.log("\n| figure | value |");
  console.log("|---|---|");
  if (runs > 0) {
    const interactive = rows.map((r) => r.interactive);
    const col = (k) => Math.round(median(rows.map((r) => r[k]).filter((x) => x !== null)));
    console.log(
      `| cold start to interactive Today, from POST /session (median of ${runs}, min–max) | ${Math.round(median(interactive))} ms (${Math.round(Math.min(...interactive))}–${Math.round(Math.max(...interactive))}) |`,
    );
    console.log(`| … app exec → WebKitWebProcess exec (medians) | ${col("webProcessExec") - col("appExec")} ms |`);
    console.log(`| … WebKitWebProcess exec → navigation start | ${col("navigationStart") - col("webProcessExec")} ms |`);
    console.log(`| … navigation start → DOMContentLoaded | ${col("domContentLoaded") - col("navigationStart")} ms |`);
    console.log(`| … DOMContentLoaded → interactive (status answered over IPC, Today painted) | ${col("interactive") - col("domContentLoaded")} ms |`);
    if (rows.some((r) => r.cards !== null)) {
      console.log(`| Today's system cards (the demo's simulators start and re-sync first), median | ${col("cards")} ms |`);
    }
  }
  const about = (m) => `USS ${m.uss.toFixed(0)} MB, RSS ${m.rss.toFixed(0)} MB; ${m.others} other WebKit web processes on the machine`;
  console.log(`| PSS, app after the demo's full sync, Rosters shown | ${demoMemory.pss.toFixed(0)} MB (${about(demoMemory)}) |`);
  console.log(`| PSS, hello-world Tauri 2 (release), its page shown | ${helloMemory.pss.toFixed(0)} MB (${about(helloMemory)}) |`);
  console.log(`| PSS ratio app ÷ hello (target ≤ 1.25) | ${(demoMemory.pss / helloMemory.pss).toFixed(2)} (USS ratio ${(demoMemory.uss / helloMemory.uss).toFixed(2)}) |`);
  if (sims) console.log(`| PSS of the demo's simulators alone (schooldesk-sim, 200 students, idle) | ${sims.pss.toFixed(0)} MB (anon ${sims.anon.toFixed(0)} MB) |`);
}

try {
  await main();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
