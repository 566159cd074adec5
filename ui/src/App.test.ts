// The frame on the in-memory desk (fixture/mock.ts): what it shows, that it follows the
// shell's events and never polls, and that failures read as sentences.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import App from "./App.svelte";
import { MockBackend, demoActivity, systemActivity } from "./fixture/mock";
import { OFFLINE_TEXT } from "./lib/format";
import type { AppStatus } from "./bindings/ipc";

let root: HTMLElement;
let app: ReturnType<typeof mount> | undefined;

beforeEach(() => {
  document.body.innerHTML = "";
  root = document.createElement("div");
  document.body.append(root);
  location.hash = "";
});

afterEach(async () => {
  if (app) await unmount(app);
  app = undefined;
  location.hash = "";
});

const q = (id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const qa = (id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const count = (b: MockBackend, cmd: string) => b.calls.filter((c) => c.cmd === cmd).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function start(backend = new MockBackend(), hash = "#/today"): Promise<MockBackend> {
  location.hash = hash;
  app = mount(App, { target: root, props: { backend, reloadDelayMs: 0 } });
  flushSync();
  await until(() => q("sync-status")?.textContent !== "Starting…", "the status");
  await until(() => count(backend, "list_outbox") > 0 && count(backend, "list_people") > 0, "the first reads");
  await until(() => count(backend, "first_screen_shown") > 0, "the first screen's word to the shell");
  await sleep(0);
  return backend;
}

async function go(hash: string): Promise<void> {
  location.hash = hash;
  window.dispatchEvent(new HashChangeEvent("hashchange"));
  flushSync();
  await sleep(0);
}

describe("the frame", () => {
  it("shows the demo badge, the status, each system and what is waiting", async () => {
    await start();
    expect(q("demo-badge")?.textContent).toBe("Demo mode");
    expect(q("sync-status")?.textContent).toBe("Up to date");
    expect(qa("system-card")).toHaveLength(4);
    expect(q("outbox-waiting")?.textContent).toBe("1 waiting");
    expect(q("outbox-conflicts")?.textContent).toBe("1 conflict to resolve");
    expect(q("outbox-conflicts")?.getAttribute("href")).toBe("#/outbox");
    expect(q("system-held")?.textContent).toContain("refused the API key");
    expect(q("offline-indicator")).toBeNull();
  });

  it("does not poll: it reads once and then waits for the shell's events", async () => {
    const b = await start();
    const before = b.calls.length;
    await sleep(120);
    expect(b.calls.length).toBe(before);
    for (const cmd of ["app_status", "desk_activity", "list_people", "roster_tree", "list_outbox", "update_status"]) {
      expect(count(b, cmd), cmd).toBe(1);
    }
  });

  it("tells the shell its first screen is shown once that screen has what it shows", async () => {
    const b = await start();
    const at = (cmd: string) => b.calls.findIndex((c) => c.cmd === cmd);
    expect(count(b, "first_screen_shown")).toBe(1);
    for (const cmd of ["app_status", "desk_activity", "list_people", "roster_tree", "list_outbox", "update_status"]) {
      expect(at("first_screen_shown"), cmd).toBeGreaterThan(at(cmd));
    }
  });

  it("re-reads only what a change touched, and a storm of changes once", async () => {
    const b = await start();
    b.emitChanged({ origins: ["replay"], tables: ["outbox"] });
    await until(() => count(b, "list_outbox") === 2, "the outbox re-read");
    expect(count(b, "list_people")).toBe(1);

    for (let i = 0; i < 20; i++) b.emitChanged({ origins: ["sync"], tables: ["students", "enrollments"] });
    await until(() => count(b, "list_people") === 2, "the people re-read");
    await sleep(20);
    expect(count(b, "list_people")).toBe(2);
    expect(count(b, "roster_tree")).toBe(2);
    expect(count(b, "list_outbox")).toBe(2);

    b.emitChanged({ origins: ["other_process"], tables: [] });
    await until(() => count(b, "desk_activity") === 2, "everything re-read");
    expect(count(b, "list_people")).toBe(3);
    expect(count(b, "list_outbox")).toBe(3);
  });

  it("shows the offline band from the shell's event, and the status line with it", async () => {
    const b = await start();
    b.emitActivity({ ...demoActivity(), systems: [systemActivity("omniforge", "OmniForge SIS", { reachable: false })], offline: true });
    flushSync();
    expect(q("offline-indicator")?.textContent?.replace(/\s+/g, " ").trim()).toBe(OFFLINE_TEXT);
    expect(q("sync-status")?.textContent).toBe("Offline");
  });

  it("says a failed read in the shell's words, with a retry only when it can help", async () => {
    const b = new MockBackend({
      failWith: { code: "cache.key_missing", message: "Unlock the keychain and restart.", retryable: false },
    });
    location.hash = "#/rosters";
    app = mount(App, { target: root, props: { backend: b, reloadDelayMs: 0 } });
    await until(() => qa("note-error").length > 0, "the error");
    const error = q("note-error")!;
    expect(error.dataset.code).toBe("cache.key_missing");
    expect(error.textContent).toContain("Unlock the keychain and restart.");
    expect(error.textContent).not.toContain("cache.key_missing");
    expect(error.querySelector("button")).toBeNull();
    expect(error.textContent).toContain("Trying again will not help");
    expect(q("banner")?.textContent).toContain("Unlock the keychain");
  });

  it("shows a refused Sync now in the shell's words, and clears it once one works", async () => {
    const b = await start();
    b.setFailure("sync_now", { code: "shell.starting", message: "Schooldesk is still starting. Try again in a moment.", retryable: true });
    q("sync-now")!.click();
    await until(() => q("banner") !== null, "the banner");
    expect(q("banner")!.textContent?.trim()).toBe("Schooldesk is still starting. Try again in a moment.");
    b.setFailure("sync_now", undefined);
    q("sync-now")!.click();
    await until(() => q("banner") === null, "the banner to go");
    expect(count(b, "sync_now")).toBe(2);
  });

  it("offers Sync now only once the desk has started", async () => {
    const starting: AppStatus = { version: "1", demo: true, first_run: false, data_dir: "/d", sync: { state: "starting", detail: null } };
    const b = new MockBackend({ status: starting });
    await start(b);
    expect((q("sync-now") as HTMLButtonElement).disabled).toBe(true);
    b.emitStatus({ ...starting, sync: { state: "ready" } });
    flushSync();
    expect((q("sync-now") as HTMLButtonElement).disabled).toBe(false);
  });

  it("offers Restart to update once an update is staged", async () => {
    const b = await start();
    expect(q("restart-update")).toBeNull();
    b.emitUpdate({ state: "staged", version: "0.2.0", notes: "Faster search." });
    flushSync();
    expect(q("update-note")?.textContent).toContain("Schooldesk 0.2.0 is ready");
    q("restart-update")!.click();
    await until(() => count(b, "restart_to_update") === 1, "the restart");
  });

  it("stops following the shell when it goes", async () => {
    const b = await start();
    expect(b.listeners).toBe(1);
    await unmount(app!);
    app = undefined;
    expect(b.listeners).toBe(0);
  });
});

describe("Rosters", () => {
  it("lists each child once, with systems and the disagreement flag", async () => {
    await start(undefined, "#/rosters");
    await until(() => qa("student-row").length > 0, "rows");
    const rows = qa("student-row");
    expect(rows).toHaveLength(7);
    const amara = rows.find((r) => r.textContent?.includes("Amara Okafor"))!;
    expect(amara.textContent).toContain("Differs between systems");
    expect(amara.textContent).toContain("OmniForge");
    expect(amara.textContent).toContain("PowerSchool");
    expect(amara.textContent).toContain("Homeroom 7B");
    // The shared id where there is one; a one-system child shows its shortest id.
    expect(amara.querySelector(".id")?.textContent).toBe("S-1001");
    const lukas = rows.find((r) => r.textContent?.includes("Lukas Zimmermann"))!;
    expect(lukas.querySelector(".id")?.textContent).toBe("3f6c1a9e-58b1-4c0e-a8a3-2d7e4b9c1f00");
  });

  it("filters as the person types, by name or any id", async () => {
    await start(undefined, "#/rosters");
    await until(() => qa("student-row").length > 0, "rows");
    const input = q("student-search") as HTMLInputElement;
    input.value = "uk-00";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    flushSync();
    expect(qa("student-row").map((r) => r.dataset.person)).toEqual(["ext:UK-0042"]);
    input.value = "nobody";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    flushSync();
    expect(q("note-empty")?.textContent).toContain("No students match “nobody”");
  });

  it("opens a student with a click on the row", async () => {
    await start(undefined, "#/rosters");
    await until(() => qa("student-row").length > 0, "rows");
    qa("student-row")[2]!.querySelector<HTMLElement>(".name")!.click();
    expect(location.hash).toBe("#/student/ext%3AUK-0042");
  });

  it("keeps to a section's roster when one is chosen", async () => {
    const b = await start(undefined, "#/rosters");
    await until(() => qa("tree-section").length > 0, "the tree");
    qa("tree-section").find((s) => s.dataset.section === "omniforge:hr-7a")!.click();
    await until(() => qa("student-row").length === 2, "the section's members");
    expect(b.calls.at(-1)).toEqual({ cmd: "section_members", args: { section: "omniforge:hr-7a" } });
    // The register for that section is one link away.
    expect(q("take-register")!.getAttribute("href")).toBe("#/register/omniforge%3Ahr-7a");
    expect(q("open-class")).toBeNull();
  });

  it("moves the active row with the keys and opens the student with Enter", async () => {
    await start(undefined, "#/rosters");
    await until(() => qa("student-row").length > 0, "rows");
    const list = q("people-list")!;
    list.focus();
    const key = (k: string) => {
      list.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
      flushSync();
    };
    key("ArrowDown");
    expect(list.getAttribute("aria-activedescendant")).toBe("person-row-0");
    key("End");
    expect(list.getAttribute("aria-activedescendant")).toBe("person-row-6");
    key("Home");
    key("ArrowDown");
    expect(root.querySelector("#person-row-1")?.getAttribute("aria-selected")).toBe("true");
    key("Enter");
    expect(location.hash).toBe("#/student/ext%3AS-1003");
  });
});

describe("the student page", () => {
  it("shows disagreements, contacts with tel: links and who may NOT collect", async () => {
    await start(undefined, "#/student/ext%3AS-1001");
    await until(() => q("student-name") !== null, "the page");
    expect(q("student-name")?.textContent).toBe("Amara Okafor");
    expect(q("disagreements")?.textContent).toContain("Okafor-Bello");
    expect(q("may-not-collect")?.textContent).toContain("May NOT collect");
    expect(root.querySelector('a[href="tel:+15550100300"]')).not.toBeNull();
    expect(q("attendance")?.textContent).toContain("Waiting to send");
  });

  it("leads to learning support only for a child in a system that keeps it, without showing it", async () => {
    await start(undefined, "#/student/ext%3AUK-0042");
    await until(() => q("student-support") !== null, "the learning-support card");
    expect(q("student-support")?.textContent).toContain("Locked");
    expect(q("student-support-link")?.getAttribute("href")).toBe("#/support/ext%3AUK-0042");
    await start(undefined, "#/student/ext%3AS-1001");
    await until(() => q("student-name")?.textContent === "Amara Okafor", "another child");
    await sleep(20);
    expect(q("student-support")).toBeNull();
  });

  it("reads itself again when the desk says people changed", async () => {
    const b = await start(undefined, "#/student/ext%3AS-1001");
    await until(() => q("student-name") !== null, "the page");
    await sleep(20);
    const before = count(b, "student_page");
    b.emitChanged({ origins: ["sync"], tables: ["contacts"] });
    await until(() => count(b, "student_page") === before + 1, "the re-read");
    b.emitChanged({ origins: ["replay"], tables: ["outbox"] });
    await sleep(20);
    expect(count(b, "student_page")).toBe(before + 1);
  });

  it("says so when the student is gone, with the way back", async () => {
    await start(undefined, "#/student/ext%3Anobody");
    await until(() => q("note-error") !== null, "the error");
    expect(q("note-error")?.textContent).toContain("Go back to Rosters and search again.");
    expect(q("back-to-rosters")?.getAttribute("href")).toBe("#/rosters");
  });
});

describe("the outbox", () => {
  it("lists every write and shows the chosen one's receipt; actions reach the shell", async () => {
    const b = await start(undefined, "#/outbox");
    expect(qa("outbox-row")).toHaveLength(5);
    expect(q("held-systems")?.textContent).toContain("WCBS HUBmis: 1 write held");
    await go("#/outbox/3");
    await until(() => q("receipt") !== null, "the receipt");
    expect(q("conflict")).not.toBeNull();
    q("take-theirs")!.click();
    await until(() => count(b, "outbox_resolve") === 1, "the resolve");
    expect(b.calls.find((c) => c.cmd === "outbox_resolve")?.args).toEqual({ id: 3, choice: "take_theirs" });
    await until(() => q("outbox-said")?.textContent === "Took the system's value.", "the result");
    // The change event re-reads the list and the receipt.
    await until(() => count(b, "outbox_receipt") >= 2, "the receipt re-read");
  });
});
