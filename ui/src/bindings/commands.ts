// Generated from src-tauri/src/command_table.rs. Do not edit by hand:
// run `UPDATE_BINDINGS=1 cargo test -p schooldesk-app --test bindings` instead.
import { invoke as tauriInvoke } from "@tauri-apps/api/core";
import type { ActivityView, AppStatus, ConnectionInput, ConnectionTest, ConnectionView, DataLocation, DocumentFormat, DocumentRequest, ExportedDocument, OutboxRow, PaperSize, PeopleIndex, ReceiptView, ResolveChoice, SchoolNode, SectionOption, StudentPage, SystemId, UpdateStatus } from "./ipc";

/** Every command the shell registers, by the name `invoke` sends. */
export const COMMAND_NAMES = [
  "list_outbox",
  "app_status",
  "desk_activity",
  "sync_now",
  "send_now",
  "update_status",
  "restart_to_update",
  "set_update_endpoint",
  "list_sections",
  "export_document",
  "print_document",
  "open_export_folder",
  "list_people",
  "roster_tree",
  "section_members",
  "student_page",
  "outbox_receipt",
  "outbox_retry",
  "outbox_discard",
  "outbox_resolve",
  "list_connections",
  "test_connection",
  "save_connection",
  "remove_connection",
  "data_location",
  "wipe_cache",
  "choose_demo",
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

/** How a command is sent: Tauri's `invoke`, or a wrapper around it (one that turns a
 * rejection into the UI's own error, or a mock at the IPC boundary in tests). */
export type Invoke = <T>(cmd: CommandName, args?: Record<string, unknown>) => Promise<T>;

/** One typed function per command, sending through `invoke`. */
export function makeCommands(invoke: Invoke) {
  return {
    listOutbox: (): Promise<Array<OutboxRow>> => invoke("list_outbox"),
    appStatus: (): Promise<AppStatus> => invoke("app_status"),
    deskActivity: (): Promise<ActivityView> => invoke("desk_activity"),
    syncNow: (): Promise<void> => invoke("sync_now"),
    sendNow: (): Promise<void> => invoke("send_now"),
    updateStatus: (): Promise<UpdateStatus> => invoke("update_status"),
    restartToUpdate: (): Promise<void> => invoke("restart_to_update"),
    setUpdateEndpoint: (endpoint: string | null): Promise<UpdateStatus> => invoke("set_update_endpoint", { endpoint }),
    listSections: (): Promise<Array<SectionOption>> => invoke("list_sections"),
    exportDocument: (request: DocumentRequest, format: DocumentFormat, paper: PaperSize): Promise<ExportedDocument> => invoke("export_document", { request, format, paper }),
    printDocument: (request: DocumentRequest, paper: PaperSize): Promise<ExportedDocument> => invoke("print_document", { request, paper }),
    openExportFolder: (): Promise<string> => invoke("open_export_folder"),
    listPeople: (): Promise<PeopleIndex> => invoke("list_people"),
    rosterTree: (): Promise<Array<SchoolNode>> => invoke("roster_tree"),
    sectionMembers: (section: string): Promise<Array<string>> => invoke("section_members", { section }),
    studentPage: (person: string): Promise<StudentPage> => invoke("student_page", { person }),
    outboxReceipt: (id: number): Promise<ReceiptView> => invoke("outbox_receipt", { id }),
    outboxRetry: (id: number): Promise<OutboxRow> => invoke("outbox_retry", { id }),
    outboxDiscard: (id: number): Promise<OutboxRow> => invoke("outbox_discard", { id }),
    outboxResolve: (id: number, choice: ResolveChoice): Promise<OutboxRow> => invoke("outbox_resolve", { id, choice }),
    listConnections: (): Promise<Array<ConnectionView>> => invoke("list_connections"),
    testConnection: (connection: ConnectionInput): Promise<ConnectionTest> => invoke("test_connection", { connection }),
    saveConnection: (connection: ConnectionInput): Promise<ConnectionView> => invoke("save_connection", { connection }),
    removeConnection: (system: SystemId): Promise<void> => invoke("remove_connection", { system }),
    dataLocation: (): Promise<DataLocation> => invoke("data_location"),
    wipeCache: (confirm: string): Promise<void> => invoke("wipe_cache", { confirm }),
    chooseDemo: (): Promise<AppStatus> => invoke("choose_demo"),
  } as const;
}

/** The commands sent with Tauri's `invoke` as it is (rejections are the shell's
 * `ErrorPayload`). */
export const commands = makeCommands(tauriInvoke);
