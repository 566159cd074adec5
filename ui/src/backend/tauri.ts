// Calls the shell's commands (src-tauri/src/commands.rs) over Tauri's IPC, and follows the
// events it emits (src-tauri/src/ipc.rs `events`).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import {
  EVENTS,
  type ActivityView,
  type AppStatus,
  type ChangesView,
  type DocumentFormat,
  type DocumentRequest,
  type ExportedDocument,
  type OutboxRow,
  type PaperSize,
  type SectionOption,
  type StudentList,
  type UpdateStatus,
} from "../bindings/ipc";
import type { PeopleIndex, ReceiptView, ResolveChoice, SchoolNode, StudentPage } from "../bindings/ipc";
import type { ConnectionInput, ConnectionTest, ConnectionView, DataLocation, SystemId } from "../bindings/ipc";
import { BackendError, type Backend, type DeskHandlers } from "./backend";

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

  deskActivity(): Promise<ActivityView> {
    return call("desk_activity");
  }

  async syncNow(): Promise<void> {
    await call<null>("sync_now");
  }

  async sendNow(): Promise<void> {
    await call<null>("send_now");
  }

  updateStatus(): Promise<UpdateStatus> {
    return call("update_status");
  }

  async restartToUpdate(): Promise<void> {
    await call<null>("restart_to_update");
  }

  listSections(): Promise<SectionOption[]> {
    return call("list_sections");
  }

  exportDocument(request: DocumentRequest, format: DocumentFormat, paper: PaperSize): Promise<ExportedDocument> {
    return call("export_document", { request, format, paper });
  }

  printDocument(request: DocumentRequest, paper: PaperSize): Promise<ExportedDocument> {
    return call("print_document", { request, paper });
  }

  openExportFolder(): Promise<string> {
    return call("open_export_folder");
  }

  listPeople(): Promise<PeopleIndex> {
    return call("list_people");
  }

  rosterTree(): Promise<SchoolNode[]> {
    return call("roster_tree");
  }

  sectionMembers(section: string): Promise<string[]> {
    return call("section_members", { section });
  }

  studentPage(person: string): Promise<StudentPage> {
    return call("student_page", { person });
  }

  outboxReceipt(id: number): Promise<ReceiptView> {
    return call("outbox_receipt", { id });
  }

  outboxRetry(id: number): Promise<OutboxRow> {
    return call("outbox_retry", { id });
  }

  outboxDiscard(id: number): Promise<OutboxRow> {
    return call("outbox_discard", { id });
  }

  outboxResolve(id: number, choice: ResolveChoice): Promise<OutboxRow> {
    return call("outbox_resolve", { id, choice });
  }

  listConnections(): Promise<ConnectionView[]> {
    return call("list_connections");
  }

  testConnection(connection: ConnectionInput): Promise<ConnectionTest> {
    return call("test_connection", { connection });
  }

  saveConnection(connection: ConnectionInput): Promise<ConnectionView> {
    return call("save_connection", { connection });
  }

  async removeConnection(system: SystemId): Promise<void> {
    await call<null>("remove_connection", { system });
  }

  dataLocation(): Promise<DataLocation> {
    return call("data_location");
  }

  async wipeCache(confirm: string): Promise<void> {
    await call<null>("wipe_cache", { confirm });
  }

  chooseDemo(): Promise<AppStatus> {
    return call("choose_demo");
  }

  async subscribe(handlers: DeskHandlers): Promise<() => void> {
    const stops: UnlistenFn[] = [];
    const stopAll = () => {
      for (const stop of stops.splice(0)) {
        // Typed `() => void`, but it returns the unlisten call's promise. The window may be
        // going away; a listener that cannot be removed goes with it.
        const done: unknown = stop();
        if (done instanceof Promise) done.catch(() => undefined);
      }
    };
    async function follow<T>(event: string, handler: ((payload: T) => void) | undefined) {
      if (handler) stops.push(await listen<T>(event, (e) => handler(e.payload)));
    }
    try {
      await follow<ChangesView>(EVENTS.deskChanged, handlers.onChanged);
      await follow<ActivityView>(EVENTS.deskActivity, handlers.onActivity);
      await follow<AppStatus>(EVENTS.appStatus, handlers.onStatus);
      await follow<UpdateStatus>(EVENTS.updateStatus, handlers.onUpdate);
    } catch (reason) {
      // Half a subscription would leave the page believing it follows what it does not.
      stopAll();
      throw BackendError.from(reason);
    }
    return stopAll;
  }
}
