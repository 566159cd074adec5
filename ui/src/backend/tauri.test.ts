// The Tauri backend against a fake IPC at the boundary (`window.__TAURI_INTERNALS__`):
// checks the command names and arguments the shell expects and how rejections arrive.
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { EVENTS, type ActivityView, type AppStatus, type ChangesView, type UpdateStatus } from "../bindings/ipc";
import { BackendError, TauriBackend, pickBackend } from "./index";
import { installFixture } from "../fixture/install";

afterEach(() => clearMocks());

describe("TauriBackend", () => {
  it("calls the shell's commands with their argument names", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "list_people" ? { people: [], as_of: null } : cmd === "list_outbox" ? [] : { demo: true };
    });
    const backend = new TauriBackend();
    await backend.listPeople();
    await backend.listOutbox();
    await backend.appStatus();
    await backend.deskActivity();
    await expect(backend.syncNow()).resolves.toBeUndefined();
    await expect(backend.sendNow()).resolves.toBeUndefined();
    expect(seen).toEqual([
      ["list_people", {}],
      ["list_outbox", {}],
      ["app_status", {}],
      ["desk_activity", {}],
      ["sync_now", {}],
      ["send_now", {}],
    ]);
  });

  it("calls the Documents commands with the argument names the shell deserialises", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "list_sections" ? [] : cmd === "open_export_folder" ? "/docs" : { path: "/x.pdf" };
    });
    const backend = new TauriBackend();
    await backend.listSections();
    await backend.exportDocument({ kind: "roster", section: "omniforge:hr-7b" }, "csv_excel", "letter");
    await backend.printDocument({ kind: "emergency", section: null }, "a4");
    await expect(backend.openExportFolder()).resolves.toBe("/docs");
    expect(seen).toEqual([
      ["list_sections", {}],
      [
        "export_document",
        { request: { kind: "roster", section: "omniforge:hr-7b" }, format: "csv_excel", paper: "letter" },
      ],
      ["print_document", { request: { kind: "emergency", section: null }, paper: "a4" }],
      ["open_export_folder", {}],
    ]);
  });

  it("hands each event's payload to its handler until unsubscribed", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const changed: ChangesView[] = [];
    const activity: ActivityView[] = [];
    const status: AppStatus[] = [];
    const stop = await new TauriBackend().subscribe({
      onChanged: (c) => changed.push(c),
      onActivity: (a) => activity.push(a),
      onStatus: (s) => status.push(s),
    });
    const changes: ChangesView = { origins: ["sync"], tables: ["students"] };
    const view: ActivityView = { systems: [], sending: true, waiting: 2, conflicts: 0, failed: 1, held: 0, offline: true };
    const ready: AppStatus = { version: "1", demo: false, first_run: false, data_dir: "/d", sync: { state: "ready" } };
    await emit(EVENTS.deskChanged, changes);
    await emit(EVENTS.deskActivity, view);
    await emit(EVENTS.appStatus, ready);
    expect(changed).toEqual([changes]);
    expect(activity).toEqual([view]);
    expect(status).toEqual([ready]);

    stop();
    // Unlistening is asynchronous: let it reach the (mocked) event plugin.
    await new Promise((r) => setTimeout(r, 0));
    await emit(EVENTS.deskChanged, changes);
    expect(changed).toHaveLength(1);
  });

  it("asks for the update's status, restarts to update, and follows update-status", async () => {
    const seen: string[] = [];
    const staged: UpdateStatus = { state: "staged", version: "0.1.1", notes: null };
    mockIPC(
      (cmd) => {
        seen.push(cmd);
        return cmd === "update_status" ? staged : null;
      },
      { shouldMockEvents: true },
    );
    const backend = new TauriBackend();
    const heard: UpdateStatus[] = [];
    await backend.subscribe({ onUpdate: (u) => heard.push(u) });
    await expect(backend.updateStatus()).resolves.toEqual(staged);
    await expect(backend.restartToUpdate()).resolves.toBeUndefined();
    expect(seen.filter((c) => !c.startsWith("plugin:"))).toEqual(["update_status", "restart_to_update"]);
    const refused: UpdateStatus = { state: "failed", code: "update.refused", message: "Refused." };
    await emit(EVENTS.updateStatus, refused);
    expect(heard).toEqual([refused]);
  });

  it("listens only to the events it has handlers for", async () => {
    const listened: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "plugin:event|listen") listened.push((args as { event: string }).event);
      return 1;
    });
    await new TauriBackend().subscribe({ onActivity: () => undefined });
    expect(listened).toEqual([EVENTS.deskActivity]);
  });

  it("undoes a half-made subscription and says why it failed", async () => {
    const calls: [string, unknown][] = [];
    let next = 0;
    mockIPC((cmd, args) => {
      calls.push([cmd, (args as { event?: string }).event]);
      if (cmd === "plugin:event|listen" && (args as { event: string }).event === EVENTS.appStatus) {
        throw "event.listen not allowed on window main";
      }
      return ++next;
    });
    const err = await new TauriBackend()
      .subscribe({ onChanged: () => undefined, onActivity: () => undefined, onStatus: () => undefined })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ code: "ui.unexpected", message: "event.listen not allowed on window main" });
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.filter(([cmd]) => cmd === "plugin:event|unlisten").map(([, event]) => event).sort()).toEqual(
      [EVENTS.deskActivity, EVENTS.deskChanged].sort(),
    );
  });

  it("turns a {code, message} rejection into a BackendError", async () => {
    mockIPC(() => {
      throw { code: "cache.keychain", message: "Unlock your keychain.", retryable: true };
    });
    const err = await new TauriBackend().listOutbox().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ code: "cache.keychain", message: "Unlock your keychain.", retryable: true });
  });

  it("treats any other rejection as unexpected", async () => {
    mockIPC(() => {
      throw "command list_outbox not allowed by ACL";
    });
    const err = await new TauriBackend().listOutbox().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ui.unexpected", message: "command list_outbox not allowed by ACL" });
  });

  it("calls the frame's read and outbox commands with the argument names the shell takes", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "section_members" ? [] : {};
    });
    const b = new TauriBackend();
    await b.listPeople();
    await b.rosterTree();
    await b.sectionMembers("omniforge:hr-7b");
    await b.studentPage("ext:S-1001");
    await b.outboxReceipt(3);
    await b.outboxRetry(3);
    await b.outboxDiscard(3);
    await b.outboxResolve(3, "take_theirs");
    expect(seen).toEqual([
      ["list_people", {}],
      ["roster_tree", {}],
      ["section_members", { section: "omniforge:hr-7b" }],
      ["student_page", { person: "ext:S-1001" }],
      ["outbox_receipt", { id: 3 }],
      ["outbox_retry", { id: 3 }],
      ["outbox_discard", { id: 3 }],
      ["outbox_resolve", { id: 3, choice: "take_theirs" }],
    ]);
  });

  it("calls the Settings and first-run commands with the argument names the shell takes", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "list_connections" ? [] : cmd === "wipe_cache" || cmd === "remove_connection" ? null : {};
    });
    const b = new TauriBackend();
    const connection = {
      system: "hubmis" as const,
      base_url: "https://x.hubmis.co.uk",
      account: "office",
      realm: "ashdown",
      secret: "s3cret",
      learning_support: false,
      time_zone: "Europe/London",
      requests_per_minute: 30,
    };
    await b.listConnections();
    await b.testConnection(connection);
    await b.saveConnection(connection);
    await expect(b.removeConnection("matrix")).resolves.toBeUndefined();
    await b.dataLocation();
    await expect(b.wipeCache("delete everything")).resolves.toBeUndefined();
    await b.chooseDemo();
    expect(seen).toEqual([
      ["list_connections", {}],
      ["test_connection", { connection }],
      ["save_connection", { connection }],
      ["remove_connection", { system: "matrix" }],
      ["data_location", {}],
      ["wipe_cache", { confirm: "delete everything" }],
      ["choose_demo", {}],
    ]);
  });

  it("installs no fixture in a test build: only development and fixture builds have one", async () => {
    expect(import.meta.env.MODE).toBe("test");
    const win = {} as Window;
    await expect(pickBackend(win)).resolves.toBeInstanceOf(TauriBackend);
    expect("__TAURI_INTERNALS__" in win).toBe(false);
    expect(window.__fixture).toBeUndefined();
  });

  it("answers at the IPC boundary from the fixture desk, events included", async () => {
    const desk = installFixture(window);
    const b = new TauriBackend();
    const people = await b.listPeople();
    expect(people.people.map((p) => p.name)).toContain("Amara Okafor");
    const err = await b.studentPage("ext:nobody").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ code: "desk.not_found" });
    const heard: ChangesView[] = [];
    await b.subscribe({ onChanged: (c) => heard.push(c) });
    await b.outboxDiscard(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(heard).toEqual([{ origins: ["user"], tables: ["outbox"] }]);
    expect((await b.listOutbox()).find((r) => r.id === 2)?.state).toBe("discarded");
    expect(window.__fixture).toBe(desk);
    delete window.__fixture;
  });
});
