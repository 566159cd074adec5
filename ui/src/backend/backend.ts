import type {
  ActivityView,
  AppStatus,
  ChangesView,
  DocumentFormat,
  DocumentRequest,
  ErrorPayload,
  ExportedDocument,
  OutboxRow,
  PaperSize,
  SectionOption,
  SystemId,
  UpdateStatus,
} from "../bindings/ipc";
import type { PeopleIndex, ReceiptView, ResolveChoice, SchoolNode, StudentPage } from "../bindings/ipc";
import type { ConnectionInput, ConnectionTest, ConnectionView, DataLocation } from "../bindings/ipc";

/** What the page does when the shell says something moved (`EVENTS` in bindings/ipc.ts). */
export interface DeskHandlers {
  /** `desk-changed`: the cache was written; re-read what shows these tables. */
  onChanged?: (changes: ChangesView) => void;
  /** `desk-activity`: syncs, sending or reachability moved on. */
  onActivity?: (activity: ActivityView) => void;
  /** `app-status`: the first sync moved on (starting → ready or failed). */
  onStatus?: (status: AppStatus) => void;
  /** `update-status`: an update check found, staged or refused something. */
  onUpdate?: (status: UpdateStatus) => void;
}

/** What the page needs from the desk. */
export interface Backend {
  listOutbox(): Promise<OutboxRow[]>;
  appStatus(): Promise<AppStatus>;
  deskActivity(): Promise<ActivityView>;
  /** Asks for a sync of every connected system now; progress arrives as activity. */
  syncNow(): Promise<void>;
  /** Asks for the outbox to be sent now, including writes held while a system was down. */
  sendNow(): Promise<void>;
  /** Where Schooldesk's own update stands. */
  updateStatus(): Promise<UpdateStatus>;
  /** Installs the staged update once sending has stopped, then restarts the app. */
  restartToUpdate(): Promise<void>;
  /** Every cached section, for the Documents panel's picker. */
  listSections(): Promise<SectionOption[]>;
  /** Saves a document into Documents/Schooldesk under a new name; the export is logged. */
  exportDocument(request: DocumentRequest, format: DocumentFormat, paper: PaperSize): Promise<ExportedDocument>;
  /** Makes the document's PDF privately, logs it as printed and opens it in the system's viewer. */
  printDocument(request: DocumentRequest, paper: PaperSize): Promise<ExportedDocument>;
  /** Opens the folder saved documents go to; answers its path. */
  openExportFolder(): Promise<string>;
  /** Everyone in the cache, one row per child (matched across systems). */
  listPeople(): Promise<PeopleIndex>;
  /** Schools and their sections, for the Rosters tree. */
  rosterTree(): Promise<SchoolNode[]>;
  /** The person ids on one section's roster. */
  sectionMembers(section: string): Promise<string[]>;
  /** Everything the student page shows about one person. */
  studentPage(person: string): Promise<StudentPage>;
  /** One queued write with every attempt made and any conflict. */
  outboxReceipt(id: number): Promise<ReceiptView>;
  outboxRetry(id: number): Promise<OutboxRow>;
  outboxDiscard(id: number): Promise<OutboxRow>;
  outboxResolve(id: number, choice: ResolveChoice): Promise<OutboxRow>;
  /** Every school system, connected or not, for Settings and first run (never a secret). */
  listConnections(): Promise<ConnectionView[]>;
  /** Tries a connection as typed with the system's cheapest call; saves nothing. */
  testConnection(connection: ConnectionInput): Promise<ConnectionTest>;
  /** Checks, then keeps a connection (its secret in the keychain) and syncs it. */
  saveConnection(connection: ConnectionInput): Promise<ConnectionView>;
  /** Forgets a system and its secret; what the cache holds from it stays until wiped. */
  removeConnection(system: SystemId): Promise<void>;
  /** Where the data of the desk in use lives. */
  dataLocation(): Promise<DataLocation>;
  /** Deletes the cache and its key; refused unless `confirm` is `WIPE_PHRASE`. */
  wipeCache(confirm: string): Promise<void>;
  /** First run's "Try with demo data": the demo district, in its own profile. */
  chooseDemo(): Promise<AppStatus>;
  /** Follows the shell's events until the returned function is called. */
  subscribe(handlers: DeskHandlers): Promise<() => void>;
}

/** A failed call, carrying the shell's `{code, message, retryable}`. */
export class BackendError extends Error {
  /** The core's stable code (`cache.key_missing`, `connector.offline`, …). */
  readonly code: string;
  readonly retryable: boolean;

  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = "BackendError";
    this.code = payload.code;
    this.retryable = payload.retryable;
  }

  /** Whatever a call rejected with, as a BackendError (a bare string or Error becomes `ui.unexpected`). */
  static from(reason: unknown): BackendError {
    if (reason instanceof BackendError) return reason;
    if (isErrorPayload(reason)) return new BackendError(reason);
    const message =
      reason instanceof Error ? reason.message : typeof reason === "string" ? reason : String(reason);
    return new BackendError({ code: "ui.unexpected", message, retryable: true });
  }
}

function isErrorPayload(v: unknown): v is ErrorPayload {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as ErrorPayload).code === "string" &&
    typeof (v as ErrorPayload).message === "string"
  );
}
