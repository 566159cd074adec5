// Calls the shell's commands (src-tauri/src/commands.rs) over Tauri's IPC.
import { invoke } from "@tauri-apps/api/core";
import type { AppStatus, OutboxRow, StudentList } from "../bindings/ipc";
import { BackendError, type Backend } from "./backend";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (reason) {
    throw BackendError.from(reason);
  }
}

export class TauriBackend implements Backend {
  listStudents(search?: string): Promise<StudentList> {
    const trimmed = search?.trim();
    return call("list_students", { search: trimmed ? trimmed : null });
  }

  listOutbox(): Promise<OutboxRow[]> {
    return call("list_outbox");
  }

  appStatus(): Promise<AppStatus> {
    return call("app_status");
  }
}
