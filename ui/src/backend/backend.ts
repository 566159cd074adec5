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
import type { AccessLogView, SupportStatus, SupportView, YearGroupOption } from "../bindings/ipc";
import type { ConnectionInput, ConnectionTest, ConnectionView, DataLocation } from "../bindings/ipc";
import type { MarkInput, RegisterRow, RegisterSheet, RestPresent } from "../bindings/ipc";
import type { BatchView, ChecklistGridView, DeliveryTargetView, DocumentOwnerView, EnrollmentOverview, EnrollmentRecordView, OpenedDocumentView, PersonDocumentsView } from "../bindings/ipc";

import type { ClassOption, ClassPageView, RosterChangeKind } from "../bindings/ipc";

import type { EmergencyRoll } from "../bindings/ipc";

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
  /** The first screen is shown: the shell may start the demo district or the first sync. */
  firstScreenShown(): Promise<void>;
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
  // enrollment
  /** Checklists with counts, published actions with their import schemas, delivery targets. */
  enrollmentOverview(): Promise<EnrollmentOverview>;
  /** Asks PowerSchool for its delivery targets (kept for offline use). */
  refreshDeliveryTargets(): Promise<DeliveryTargetView[]>;
  /** One checklist as students × items. */
  enrollmentChecklist(checklist: string): Promise<ChecklistGridView>;
  /** The children who have enrollment documents. */
  enrollmentDocumentOwners(): Promise<DocumentOwnerView[]>;
  /** One child's enrollment documents. */
  enrollmentDocuments(person: string): Promise<PersonDocumentsView>;
  /** A document's file to show in the app, from the encrypted cache; nothing written to disk. */
  openEnrollmentDocument(document: string): Promise<OpenedDocumentView>;
  /** "Save a copy" into Documents/Schooldesk; logged. */
  saveEnrollmentDocument(document: string): Promise<ExportedDocument>;
  /** Roster and submission records. */
  enrollmentRecords(): Promise<EnrollmentRecordView[]>;
  /** Queues a roster record import (fields checked against the import schema). */
  queueRosterImport(action: string, schema: string, fields: Record<string, string>): Promise<OutboxRow>;
  /** Queues one family's form for a published action. */
  queueEnrollmentSubmission(action: string, fields: Record<string, string>): Promise<OutboxRow>;
  /** Queues fetching the next delivery batch of a target. */
  queueBatchFetch(target: string): Promise<OutboxRow>;
  /** Delivery batches fetched, newest first. */
  enrollmentBatches(): Promise<BatchView[]>;
  // classes
  /** The Matrix classes, for the Classes screen's picker. */
  listClasses(): Promise<ClassOption[]>;
  /** One Matrix class: roster with queued changes, assignments and grades. */
  classPage(classId: string): Promise<ClassPageView>;
  /** Queues adding or removing students (person ids), checked first. */
  classChange(classId: string, action: RosterChangeKind, students: string[]): Promise<OutboxRow>;
  /** Queues one student's grade for one assignment, checked first. */
  setGrade(classId: string, assignment: string, student: string, grade: string): Promise<OutboxRow>;
  // learning support
  /** Whether learning support is on and whether this session unlocked it (until when). */
  supportStatus(): Promise<SupportStatus>;
  /** "Unlock for this session": every view after it is logged as the computer's user. */
  supportUnlock(): Promise<SupportStatus>;
  /** "Lock now". */
  supportLock(): Promise<SupportStatus>;
  /** The person is still at the screen: keeps the session unlocked (at most once a minute). */
  supportTouch(): Promise<SupportStatus>;
  /** The year groups to pick from. */
  supportYearGroups(): Promise<YearGroupOption[]>;
  /** One child's records and reviews; logged before it is answered. */
  supportStudent(person: string): Promise<SupportView>;
  /** A year group's children with records; logged before it is answered. */
  supportYearGroup(group: string): Promise<SupportView>;
  /** Saves the learning-support summary of a student or a year group; logged. */
  supportExport(student: string | null, yearGroup: string | null, format: DocumentFormat, paper: PaperSize): Promise<ExportedDocument>;
  /** The access log, newest first. */
  accessLog(limit: number): Promise<AccessLogView>;
  /** Saves the access log as CSV into Documents/Schooldesk; logged. */
  exportAccessLog(): Promise<ExportedDocument>;
  // emergency roll
  /** Everyone who may be on site today (one section's when given), from the cache alone. */
  emergencyRoll(section: string | null): Promise<EmergencyRoll>;
  // register
  /** The classes, homerooms and tutor groups a register can be taken for. */
  registerSections(): Promise<SectionOption[]>;
  /** One register: `date` YYYY-MM-DD (null: the school's today), `session` am/pm for HUBmis. */
  registerSheet(section: string, date: string | null, session: string | null): Promise<RegisterSheet>;
  /** Takes one mark: saved at once, queued once where the system takes attendance writes. */
  takeMark(mark: MarkInput): Promise<RegisterRow>;
  /** Marks every pupil not yet marked on this register present. */
  markRestPresent(section: string, date: string, session: string | null): Promise<RestPresent>;
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
