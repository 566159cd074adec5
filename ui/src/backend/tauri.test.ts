// The Tauri backend against a fake IPC at the boundary (`window.__TAURI_INTERNALS__`):
// checks the command names and arguments the shell expects and how rejections arrive.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, TauriBackend, pickBackend, MockBackend } from "./index";

afterEach(() => clearMocks());

describe("TauriBackend", () => {
  it("calls the shell's commands with their argument names", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "list_students" ? { students: [], more: false } : cmd === "list_outbox" ? [] : { demo: true };
    });
    const backend = new TauriBackend();
    await backend.listStudents("  okafor ");
    await backend.listStudents("   ");
    await backend.listOutbox();
    await backend.appStatus();
    expect(seen).toEqual([
      ["list_students", { search: "okafor" }],
      ["list_students", { search: null }],
      ["list_outbox", {}],
      ["app_status", {}],
    ]);
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

  it("is picked only inside the app", () => {
    const inApp = { __TAURI_INTERNALS__: {} } as unknown as Window;
    expect(pickBackend(inApp)).toBeInstanceOf(TauriBackend);
    expect(pickBackend({} as Window)).toBeInstanceOf(MockBackend);
  });
});
