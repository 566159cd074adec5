import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ActivityView, AppStatus } from "./bindings/ipc";
import {
  DeskPage,
  OFFLINE_TEXT,
  clockTime,
  describeSystem,
  describeUpdate,
  operationLabel,
  summarize,
} from "./app";
import { MockBackend, demoActivity, demoOutbox, student, systemActivity } from "./backend/mock";

let root: HTMLElement;
let page: DeskPage | undefined;

beforeEach(() => {
  document.body.innerHTML = "";
  root = document.createElement("div");
  document.body.append(root);
});

afterEach(() => {
  page?.dispose();
  page = undefined;
  vi.useRealTimers();
});

const q = (id: string) => root.querySelector(`[data-testid="${id}"]`) as HTMLElement;
const qa = (id: string) => [...root.querySelectorAll(`[data-testid="${id}"]`)] as HTMLElement[];

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const count = (backend: MockBackend, cmd: string) => backend.calls.filter((c) => c.cmd === cmd).length;

const starting: AppStatus = {
  version: "1",
  demo: true,
  data_dir: "/d",
  sync: { state: "starting", detail: "OmniForge SIS: students (120 rows)" },
};
const ready: AppStatus = { version: "1", demo: true, data_dir: "/d", sync: { state: "ready" } };

function type(input: HTMLInputElement, text: string): void {
  input.value = text;
  input.dispatchEvent(new Event("input"));
}

describe("the desk page", () => {
  it("shows the students, the outbox and the demo badge", async () => {
    page = new DeskPage(root, new MockBackend(), { searchDelayMs: 0 });
    await page.start();

    expect(q("demo-badge").hidden).toBe(false);
    expect(q("sync-status").textContent).toBe("Up to date");
    const rows = qa("student-row");
    expect(rows).toHaveLength(4);
    expect(rows[0]!.textContent).toContain("Amara Okafor");
    expect(rows[0]!.textContent).toContain("S-1001");
    expect(rows[0]!.textContent).toContain("OmniForge SIS");
    expect(rows[0]!.textContent).toContain("7B");
    expect(q("student-count").textContent).toBe("4");

    const outbox = qa("outbox-row");
    expect(outbox).toHaveLength(2);
    expect(outbox[1]!.textContent).toContain("Set grades");
    expect(outbox[1]!.textContent).toContain("pending");
    expect(outbox[1]!.textContent).toContain("Matrix LMS answered 503");
    expect(q("outbox-count").textContent).toBe("2");
    expect(q("outbox-waiting").textContent).toBe("1 waiting");
    expect(qa("system-chip")).toHaveLength(4);
    expect(q("offline-indicator").hidden).toBe(true);
  });

  it("hides the badge outside demo mode", async () => {
    const backend = new MockBackend({
      status: { version: "1.2.3", demo: false, data_dir: "/data", sync: { state: "ready" } },
    });
    page = new DeskPage(root, backend);
    await page.start();
    expect(q("demo-badge").hidden).toBe(true);
    expect(q("footer").textContent).toContain("1.2.3");
  });

  it("searches as the person types and says when nothing matches", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { searchDelayMs: 0 });
    await page.start();
    const search = q("student-search") as HTMLInputElement;

    type(search, "uk 0042");
    await until(() => qa("student-row").length === 1, "the search result");
    expect(qa("student-row")[0]!.textContent).toContain("Oliver Hughes");
    expect(backend.calls.at(-1)).toEqual({ cmd: "list_students", search: "uk 0042" });

    type(search, "sof garc");
    await until(() => qa("student-row")[0]?.textContent?.includes("Sofia García") === true, "accents ignored");
    expect(qa("student-row")).toHaveLength(1);

    type(search, "nobody-by-this-name");
    await until(() => q("note-empty") !== null, "the no-match note");
    expect(q("note-empty").textContent).toContain("No students match “nobody-by-this-name”");
  });

  it("explains an empty cache and an empty outbox", async () => {
    page = new DeskPage(root, new MockBackend({ students: [], outbox: [] }));
    await page.start();
    const notes = qa("note-empty").map((n) => n.textContent);
    expect(notes).toEqual([
      expect.stringContaining("No students yet"),
      expect.stringContaining("The outbox is empty"),
    ]);
  });

  it("shows the shell's error message and offers a retry only when it can help", async () => {
    const backend = new MockBackend({
      failWith: {
        code: "cache.key_missing",
        message: "The cache key is missing from the keychain. Unlock your keychain and restart.",
        retryable: false,
      },
    });
    page = new DeskPage(root, backend);
    await page.start();
    const errors = qa("note-error");
    expect(errors).toHaveLength(2);
    expect(errors[0]!.dataset.code).toBe("cache.key_missing");
    expect(errors[0]!.textContent).toContain("Unlock your keychain");
    expect(errors[0]!.querySelector("button")).toBeNull();
    expect(root.querySelector('[role="alert"].banner')!.textContent).toContain("Unlock your keychain");
  });

  it("reports a failed first sync from the status", async () => {
    const backend = new MockBackend({
      status: {
        version: "1",
        demo: true,
        data_dir: "/d",
        sync: {
          state: "failed",
          error: { code: "desk.demo", message: "Could not start the demo district: port in use", retryable: true },
        },
      },
    });
    page = new DeskPage(root, backend);
    await page.start();
    expect(q("sync-status").textContent).toBe("Not syncing");
    const banner = root.querySelector(".banner") as HTMLElement;
    expect(banner.hidden).toBe(false);
    expect(banner.dataset.code).toBe("desk.demo");
  });

  it("does not poll: it reads the status once and waits for the shell's events", async () => {
    vi.useFakeTimers();
    const backend = new MockBackend({ students: [student("Ada", "Lovelace")], status: starting });
    page = new DeskPage(root, backend, { reloadDelayMs: 150 });
    await page.start();
    expect(q("sync-status").textContent).toBe(
      "Starting the demo district and syncing · OmniForge SIS: students (120 rows)",
    );
    expect(count(backend, "subscribe")).toBe(1);

    // The first sync finishes, but nobody tells the page: it must not go and ask.
    backend.setStatus(ready);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(count(backend, "app_status")).toBe(1);
    expect(count(backend, "list_students")).toBe(1);
    expect(q("sync-status").textContent).toContain("Starting the demo district");

    // The shell says so: the status shows at once, the lists are read again shortly after.
    backend.emitStatus(ready);
    expect(q("sync-status").textContent).toBe("Up to date");
    await vi.advanceTimersByTimeAsync(150);
    vi.useRealTimers();
    await until(() => count(backend, "list_students") === 2 && count(backend, "list_outbox") === 2, "the reload");
    expect(count(backend, "desk_activity")).toBe(2);
    expect(count(backend, "app_status")).toBe(1);
    expect(qa("student-row")[0]!.textContent).toContain("Ada Lovelace");
  });

  it("re-reads only the outbox when only the outbox changed", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    backend.setOutbox([]);
    backend.emitChanged({ origins: ["replay"], tables: ["outbox"] });
    await until(() => q("note-empty")?.textContent?.includes("The outbox is empty") === true, "the outbox reload");
    expect(count(backend, "list_outbox")).toBe(2);
    expect(count(backend, "list_students")).toBe(1);
    expect(count(backend, "desk_activity")).toBe(1);
  });

  it("re-reads only the students when a sync stored students, guardians or sections", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    backend.setStudents([student("Grace", "Hopper")]);
    backend.emitChanged({ origins: ["sync"], tables: ["guardians", "attendance_marks"] });
    await until(() => qa("student-row")[0]?.textContent?.includes("Grace Hopper") === true, "the student reload");
    expect(count(backend, "list_students")).toBe(2);
    expect(count(backend, "list_outbox")).toBe(1);

    // Tables the page does not show cost nothing.
    backend.emitChanged({ origins: ["sync"], tables: ["attendance_marks", "documents"] });
    await new Promise((r) => setTimeout(r, 20));
    expect(count(backend, "list_students")).toBe(2);
    expect(count(backend, "list_outbox")).toBe(1);
  });

  it("re-reads everything when another process changed the cache", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    backend.emitChanged({ origins: ["other_process"], tables: [] });
    await until(
      () => count(backend, "list_students") === 2 && count(backend, "list_outbox") === 2,
      "both lists re-read",
    );
    await until(() => count(backend, "desk_activity") === 2, "the activity re-read");
  });

  it("gathers a storm of changes into one re-read", async () => {
    vi.useFakeTimers();
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 150 });
    await page.start();
    for (let i = 0; i < 20; i++) {
      backend.emitChanged({ origins: ["sync"], tables: ["students"] });
      await vi.advanceTimersByTimeAsync(5);
    }
    await vi.advanceTimersByTimeAsync(150);
    expect(count(backend, "list_students")).toBe(2);
  });

  it("shows what each system is doing, truthfully", async () => {
    const now = new Date(2025, 8, 1, 9, 30);
    const at = new Date(2025, 8, 1, 8, 5).toISOString();
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 0, now: () => now });
    await page.start();
    const activity: ActivityView = {
      systems: [
        systemActivity("omniforge", "OmniForge SIS", {
          syncing: true,
          register_ready: false,
          phase: "students",
          rows: 120,
        }),
        systemActivity("powerschool", "PowerSchool Enrollment", {
          syncing: true,
          register_ready: true,
          phase: "guardians",
          rows: 40,
        }),
        systemActivity("matrix", "Matrix LMS", { reachable: false }),
        systemActivity("hubmis", "WCBS HUBmis", {
          problem: {
            code: "connector.auth",
            message: "WCBS HUBmis refused the API key. Ask your HUBmis administrator for a new key and enter it under Connections.",
            retryable: false,
          },
        }),
      ],
      sending: false,
      waiting: 3,
      conflicts: 1,
      failed: 2,
      offline: false,
    };
    backend.emitActivity(activity);
    const chips = qa("system-chip");
    expect(chips.map((c) => c.textContent)).toEqual([
      "Syncing OmniForge SIS · students (120 rows)",
      "PowerSchool Enrollment: register ready",
      "Matrix LMS: not answering — working from the cache",
      "WCBS HUBmis: WCBS HUBmis refused the API key. Ask your HUBmis administrator for a new key and enter it under Connections.",
    ]);
    expect(chips[3]!.title).toContain("enter it under Connections.");
    expect(chips[3]!.dataset.state).toBe("bad");
    expect(q("sync-status").textContent).toBe("Needs attention");
    expect(q("outbox-waiting").textContent).toBe("3 waiting");
    expect(q("outbox-conflicts").textContent).toBe("1 conflict");
    expect(q("outbox-failed").textContent).toBe("2 failed");
    expect(q("offline-indicator").hidden).toBe(true);

    backend.emitActivity({
      ...demoActivity(),
      systems: [systemActivity("omniforge", "OmniForge SIS", { last_sync_at: at })],
    });
    expect(qa("system-chip").map((c) => c.textContent)).toEqual(["OmniForge SIS synced 08:05"]);
    expect(q("sync-status").textContent).toBe("Up to date");

    backend.emitActivity({
      ...demoActivity(),
      systems: [systemActivity("omniforge", "OmniForge SIS", { reachable: false })],
      offline: true,
    });
    expect(q("offline-indicator").hidden).toBe(false);
    expect(q("offline-indicator").textContent).toBe(OFFLINE_TEXT);
    expect(q("sync-status").textContent).toBe("Offline");
  });

  it("says the day when the last sync was not today", () => {
    const now = new Date(2025, 8, 3, 9, 0);
    expect(clockTime(new Date(2025, 8, 3, 7, 4).toISOString(), now)).toBe("07:04");
    const earlier = clockTime(new Date(2025, 8, 1, 17, 45).toISOString(), now);
    expect(earlier).toMatch(/17:45$/);
    expect(earlier).not.toBe("17:45");
  });

  it("offers Sync now and Send now once the desk has started, and calls the shell", async () => {
    const backend = new MockBackend({ status: starting });
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    const sync = q("sync-now") as HTMLButtonElement;
    const send = q("send-now") as HTMLButtonElement;
    expect(sync.tagName).toBe("BUTTON");
    expect(sync.disabled).toBe(true);
    expect(send.disabled).toBe(true);

    backend.emitStatus(ready);
    expect(sync.disabled).toBe(false);
    expect(send.disabled).toBe(false);

    sync.click();
    await until(() => count(backend, "sync_now") === 1, "sync_now");
    send.click();
    await until(() => count(backend, "send_now") === 1, "send_now");
    // The mock's replay reports an outbox change: the page re-reads it.
    await until(() => count(backend, "list_outbox") >= 2, "the outbox re-read after sending");
  });

  it("shows a refused Sync now in the shell's words, never its code", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    backend.setFailure("sync_now", {
      code: "shell.starting",
      message: "Schooldesk is still starting. Try again in a moment.",
      retryable: true,
    });
    q("sync-now").click();
    const banner = root.querySelector(".banner") as HTMLElement;
    await until(() => !banner.hidden, "the banner");
    expect(banner.textContent).toBe("Schooldesk is still starting. Try again in a moment.");
    expect(banner.textContent).not.toContain("shell.starting");

    backend.setFailure("sync_now", undefined);
    q("sync-now").click();
    await until(() => banner.hidden, "the banner to go once it worked");
  });

  it("stops following the shell when disposed", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    expect(backend.listeners).toBe(1);
    page.dispose();
    expect(backend.listeners).toBe(0);
  });

  it("lets the newer event win over an older answer", async () => {
    const backend = new MockBackend();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const original = backend.deskActivity.bind(backend);
    backend.deskActivity = async () => {
      const answer = await original();
      await held;
      return answer;
    };
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    const started = page.start();
    await until(() => count(backend, "desk_activity") === 1, "the activity read");
    backend.emitActivity({ ...demoActivity(), offline: true });
    release();
    await started;
    expect(q("offline-indicator").hidden).toBe(false);
  });

  it("puts names in as text, never as markup", async () => {
    page = new DeskPage(root, new MockBackend({ students: [student("<img src=x onerror=alert(1)>", "Tables")], outbox: demoOutbox() }));
    await page.start();
    expect(root.querySelector("img")).toBeNull();
    expect(qa("student-row")[0]!.textContent).toContain("<img src=x");
  });

  it("says when the list holds only the first page", async () => {
    const many = Array.from({ length: 1001 }, (_, i) => student(`Kid${i}`, "Many"));
    page = new DeskPage(root, new MockBackend({ students: many }));
    await page.start();
    expect(qa("student-row")).toHaveLength(1000);
    expect(q("student-count").textContent).toBe("first 1000");
    expect(q("note-more").textContent).toContain("Showing the first 1000 students");
  });
});

describe("the app's own update", () => {
  const refused = {
    state: "failed" as const,
    code: "update.refused",
    message:
      "Schooldesk 0.1.1 was refused: the downloaded file does not match its signature, so it was damaged or altered on the way. Nothing was installed; this version keeps working.",
  };

  it("offers Restart to update only once an update is staged, and calls the shell", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    const button = q("restart-to-update") as HTMLButtonElement;
    expect(count(backend, "update_status")).toBe(1);
    expect(button.hidden).toBe(true);
    expect(q("update-message").hidden).toBe(true);

    backend.emitUpdate({ state: "available", version: "0.1.1" });
    expect(button.hidden).toBe(true);
    expect(q("update-message").textContent).toContain("checking its signature");

    backend.emitUpdate({ state: "staged", version: "0.1.1", notes: "Faster registers." });
    expect(button.hidden).toBe(false);
    expect(button.textContent).toBe("Restart to update");
    expect(q("update-message").textContent).toContain("Schooldesk 0.1.1 is ready");
    expect(q("update-message").textContent).toContain("Faster registers.");

    button.click();
    await until(() => count(backend, "restart_to_update") === 1, "restart_to_update");
  });

  it("reads a staged update at start, without waiting for an event", async () => {
    const backend = new MockBackend({ update: { state: "staged", version: "2.0.0", notes: null } });
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    expect(q("restart-to-update").hidden).toBe(false);
    expect(q("restart-to-update").title).toContain("2.0.0");
  });

  it("says in plain words why an update was refused, and offers no restart", async () => {
    const backend = new MockBackend({ update: { state: "staged", version: "0.1.1", notes: null } });
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    backend.emitUpdate(refused);
    expect(q("restart-to-update").hidden).toBe(true);
    const note = q("update-message");
    expect(note.hidden).toBe(false);
    expect(note.textContent).toBe(refused.message);
    expect(note.textContent).not.toContain("update.refused");
    expect(note.dataset.code).toBe("update.refused");
    expect(note.className).toContain("bad");
  });

  it("says once, on the update line, why the install failed", async () => {
    const backend = new MockBackend({ update: { state: "staged", version: "0.1.1", notes: null } });
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    backend.setFailure("restart_to_update", {
      code: "update.install_failed",
      message: "Schooldesk 0.1.1 could not be installed: the package manager refused it.",
      retryable: true,
    });
    q("restart-to-update").click();
    const note = q("update-message");
    await until(() => note.dataset.code === "update.install_failed", "the update line");
    expect(note.textContent).toBe("Schooldesk 0.1.1 could not be installed: the package manager refused it.");
    expect(q("restart-to-update").hidden).toBe(true);
    expect((root.querySelector(".banner") as HTMLElement).hidden).toBe(true);
  });

  it("keeps the desk working when the update status cannot be read", async () => {
    const backend = new MockBackend();
    backend.setFailure("update_status", { code: "ui.unexpected", message: "Not allowed.", retryable: false });
    page = new DeskPage(root, backend, { reloadDelayMs: 0 });
    await page.start();
    expect(qa("student-row")).toHaveLength(4);
    expect((root.querySelector(".banner") as HTMLElement).hidden).toBe(true);
    expect(q("update-message").textContent).toContain("Could not tell whether an update is waiting");
  });

  it("says nothing while there is nothing to say", () => {
    expect(describeUpdate({ state: "none" })).toBeUndefined();
    expect(describeUpdate({ state: "checking" })).toBeUndefined();
    expect(describeUpdate(refused)).toEqual({ text: refused.message, kind: "bad" });
  });
});

describe("the status line", () => {
  const ready: AppStatus = { version: "1", demo: false, data_dir: "/d", sync: { state: "ready" } };
  const one = (extra: Parameters<typeof systemActivity>[2]) => ({
    ...demoActivity(),
    sending: false,
    systems: [systemActivity("matrix", "Matrix LMS"), systemActivity("hubmis", "WCBS HUBmis", extra)],
  });

  it("claims no more than it knows", () => {
    expect(summarize(ready, undefined).text).toBe("Ready");
    expect(summarize(ready, { ...demoActivity(), systems: [] }).text).toBe("No school system connected");
    expect(summarize(ready, one({ syncing: true })).text).toBe("Syncing…");
    expect(summarize(ready, one({ reachable: false })).text).toBe("Working from the cache");
    expect(summarize(ready, one({ last_sync_at: null })).text).toBe("Not synced yet");
    expect(summarize(ready, { ...one({}), sending: true }).text).toBe("Sending…");
    expect(summarize(ready, one({})).text).toBe("Up to date");
  });

  it("says a sync has started before it knows the phase", () => {
    const chip = describeSystem(systemActivity("matrix", "Matrix LMS", { syncing: true, register_ready: false }));
    expect(chip.text).toBe("Syncing Matrix LMS…");
    expect(chip.kind).toBe("busy");
  });
});

describe("operationLabel", () => {
  it("reads like a sentence", () => {
    expect(operationLabel("remove_students_from_class")).toBe("Remove students from class");
  });
});
