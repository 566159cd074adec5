// The processes beside the app in the real-app specs: `schooldesk-sim` in a process of its
// own (so killing it is a pulled cable: connections refused, no goodbye) and the `schooldesk`
// CLI on the app's data folder, as a second process on the same cache.
//
// Env: SIM_BINARY, CLI_BINARY (absolute paths), E2E_TIMEOUT_MS.
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { timeoutMs } from "./webdriver.mjs";

function portFree(port) {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once("error", () => ok(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => ok(true)));
  });
}

/** The first of four consecutive free ports (the simulator takes base..base+3). */
export async function freePortBase() {
  for (let i = 0; i < 200; i++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const all = await Promise.all([0, 1, 2, 3].map((k) => portFree(base + k)));
    if (all.every(Boolean)) return base;
  }
  throw new Error("no four consecutive free ports on 127.0.0.1");
}

/** Starts `schooldesk-sim` (SIM_BINARY) with district `seed` of `students` on `portBase` and
 * waits for it to print its addresses and keys: `{ child, url, key, out }` for OmniForge. */
export function startSim(portBase, { seed, students }) {
  return new Promise((ok, fail) => {
    const child = spawn(process.env.SIM_BINARY ?? "", ["--seed", String(seed), "--students", String(students), "--port-base", String(portBase)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const done = (e, v) => {
      clearTimeout(timer);
      if (e) {
        if (child.exitCode === null) child.kill("SIGKILL");
        fail(e);
      } else ok(v);
    };
    const timer = setTimeout(() => done(new Error(`the simulator did not start in time:\n${out}\n${err}`)), timeoutMs);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (!out.includes("Press Ctrl-C")) return;
      const url = /^OmniForge SIS\s+(\S+)/m.exec(out)?.[1];
      const key = /^OmniForge SIS.*\n\s+API key\s+(\S+)/m.exec(out)?.[1];
      if (!url || !key) done(new Error(`cannot read the OmniForge address and key from:\n${out}`));
      else done(undefined, { child, url, key, out });
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    child.once("error", (e) => done(e));
    child.once("exit", (code) => done(new Error(`the simulator exited (${code}) before it was ready:\n${out}\n${err}`)));
  });
}

/** Kills the simulator (as a pulled cable would: no goodbye) and waits until it is gone. */
export async function killSim(sim) {
  if (!sim || sim.child.exitCode !== null || sim.child.signalCode !== null) return;
  const gone = new Promise((ok) => sim.child.once("exit", ok));
  sim.child.kill("SIGKILL");
  await gone;
}

/** Runs `schooldesk --data-dir DIR --json ARGS…` (CLI_BINARY; stdin `input` when given); its
 * JSON answer. */
export function cli(dir, args, input) {
  return new Promise((ok, fail) => {
    const child = execFile(
      process.env.CLI_BINARY ?? "",
      ["--data-dir", dir, "--json", ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, env: { ...process.env, RUST_LOG: "", SCHOOLDESK_LOG: "" } },
      (error, stdout, stderr) => {
        if (error) {
          fail(new Error(`schooldesk ${args.join(" ")} failed (${error.code ?? error.signal}): ${stderr}\n${stdout}`));
          return;
        }
        try {
          ok(stdout.trim() ? JSON.parse(stdout) : null);
        } catch (e) {
          fail(new Error(`schooldesk ${args.join(" ")} did not answer JSON (${e.message}):\n${stdout}`));
        }
      },
    );
    child.stdin.end(input ?? "");
  });
}
