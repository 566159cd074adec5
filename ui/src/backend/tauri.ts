// Calls the shell's commands (declared in src-tauri/src/command_table.rs) over Tauri's IPC, and follows the
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
  type UpdateStatus,
} from "../bindings/ipc";
import type { PeopleIndex, ReceiptView, ResolveChoice, SchoolNode, StudentPage } from "../bindings/ipc";
import type { ConnectionInput, ConnectionTest, ConnectionView, DataLocation, SystemId } from "../bindings/ipc";
import type { MarkInput, RegisterRow, RegisterSheet, RestPresent } from "../bindings/ipc";
import type { FieldValue } from "../bindings/ipc";
import type { BatchView, ChecklistGridView, DeliveryTargetView, DocumentOwnerView, EnrollmentOverview, EnrollmentRecordView, OpenedDocumentView, PersonDocumentsView } from "../bindings/ipc";
import type { ClassOption, ClassPageView, RosterChangeKind } from "../bindings/ipc";
import type { AccessLogView, SupportStatus, SupportView, YearGroupOption } from "../bindings/ipc";
import type { EmergencyRoll } from "../bindings/ipc";
import { makeCommands, type CommandName } from "../bindings/commands";
import { BackendError, type Backend, type DeskHandlers } from "./backend";

async function call<T>(cmd: CommandName, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (reason) {
    throw BackendError.from(reason);
  }
}

export class TauriBackend implements Backend {
  // The commands and their argument names come from Rust (bindings/commands.ts); this class
  // only adds the UI's error type and says which answers are empty.
  private readonly commands = makeCommands(call);

  listOutbox(): Promise<OutboxRow[]> {
    return this.commands.listOutbox();
  }

  appStatus(): Promise<AppStatus> {
    return this.commands.appStatus();
  }

  async firstScreenShown(): Promise<void> {
    await this.commands.firstScreenShown();
  }

  deskActivity(): Promise<ActivityView> {
    return this.commands.deskActivity();
  }

  async syncNow(): Promise<void> {
    await this.commands.syncNow();
  }

  async sendNow(): Promise<void> {
    await this.commands.sendNow();
  }

  updateStatus(): Promise<UpdateStatus> {
    return this.commands.updateStatus();
  }

  async restartToUpdate(): Promise<void> {
    await this.commands.restartToUpdate();
  }

  listSections(): Promise<SectionOption[]> {
    return this.commands.listSections();
  }

  exportDocument(request: DocumentRequest, format: DocumentFormat, paper: PaperSize): Promise<ExportedDocument> {
    return this.commands.exportDocument(request, format, paper);
  }

  printDocument(request: DocumentRequest, paper: PaperSize): Promise<ExportedDocument> {
    return this.commands.printDocument(request, paper);
  }

  openExportFolder(): Promise<string> {
    return this.commands.openExportFolder();
  }

  listPeople(): Promise<PeopleIndex> {
    return this.commands.listPeople();
  }

  rosterTree(): Promise<SchoolNode[]> {
    return this.commands.rosterTree();
  }

  sectionMembers(section: string): Promise<string[]> {
    return this.commands.sectionMembers(section);
  }

  studentPage(person: string): Promise<StudentPage> {
    return this.commands.studentPage(person);
  }

  outboxReceipt(id: number): Promise<ReceiptView> {
    return this.commands.outboxReceipt(id);
  }

  outboxRetry(id: number): Promise<OutboxRow> {
    return this.commands.outboxRetry(id);
  }

  outboxDiscard(id: number): Promise<OutboxRow> {
    return this.commands.outboxDiscard(id);
  }

  outboxResolve(id: number, choice: ResolveChoice): Promise<OutboxRow> {
    return this.commands.outboxResolve(id, choice);
  }

  listConnections(): Promise<ConnectionView[]> {
    return this.commands.listConnections();
  }

  testConnection(connection: ConnectionInput): Promise<ConnectionTest> {
    return this.commands.testConnection(connection);
  }

  saveConnection(connection: ConnectionInput): Promise<ConnectionView> {
    return this.commands.saveConnection(connection);
  }

  async removeConnection(system: SystemId): Promise<void> {
    await this.commands.removeConnection(system);
  }

  dataLocation(): Promise<DataLocation> {
    return this.commands.dataLocation();
  }

  async wipeCache(confirm: string): Promise<void> {
    await this.commands.wipeCache(confirm);
  }

  chooseDemo(): Promise<AppStatus> {
    return this.commands.chooseDemo();
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
    // All four at once: each is a round trip to the shell, and the first screen waits for them.
    const all = await Promise.allSettled([
      follow<ChangesView>(EVENTS.deskChanged, handlers.onChanged),
      follow<ActivityView>(EVENTS.deskActivity, handlers.onActivity),
      follow<AppStatus>(EVENTS.appStatus, handlers.onStatus),
      follow<UpdateStatus>(EVENTS.updateStatus, handlers.onUpdate),
    ]);
    const failed = all.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      const reason: unknown = failed.reason;
      // Half a subscription would leave the page believing it follows what it does not.
      stopAll();
      throw BackendError.from(reason);
    }
    return stopAll;
  }

  // enrollment
  enrollmentOverview(): Promise<EnrollmentOverview> {
    return this.commands.enrollmentOverview();
  }

  refreshDeliveryTargets(): Promise<DeliveryTargetView[]> {
    return this.commands.refreshDeliveryTargets();
  }

  enrollmentChecklist(checklist: string): Promise<ChecklistGridView> {
    return this.commands.enrollmentChecklist(checklist);
  }

  enrollmentDocumentOwners(): Promise<DocumentOwnerView[]> {
    return this.commands.enrollmentDocumentOwners();
  }

  enrollmentDocuments(person: string): Promise<PersonDocumentsView> {
    return this.commands.enrollmentDocuments(person);
  }

  openEnrollmentDocument(document: string): Promise<OpenedDocumentView> {
    return this.commands.openEnrollmentDocument(document);
  }

  saveEnrollmentDocument(document: string): Promise<ExportedDocument> {
    return this.commands.saveEnrollmentDocument(document);
  }

  enrollmentRecords(): Promise<EnrollmentRecordView[]> {
    return this.commands.enrollmentRecords();
  }

  queueRosterImport(action: string, schema: string, fields: Record<string, string>): Promise<OutboxRow> {
    return this.commands.queueRosterImport(action, schema, toFieldValues(fields));
  }

  queueEnrollmentSubmission(action: string, fields: Record<string, string>): Promise<OutboxRow> {
    return this.commands.queueEnrollmentSubmission(action, toFieldValues(fields));
  }

  queueBatchFetch(target: string): Promise<OutboxRow> {
    return this.commands.queueBatchFetch(target);
  }

  enrollmentBatches(): Promise<BatchView[]> {
    return this.commands.enrollmentBatches();
  }

  // classes
  listClasses(): Promise<ClassOption[]> {
    return this.commands.listClasses();
  }

  classPage(classId: string): Promise<ClassPageView> {
    return this.commands.classPage(classId);
  }

  classChange(classId: string, action: RosterChangeKind, students: string[]): Promise<OutboxRow> {
    return this.commands.classChange(classId, action, students);
  }

  setGrade(classId: string, assignment: string, student: string, grade: string): Promise<OutboxRow> {
    return this.commands.setGrade(classId, assignment, student, grade);
  }

  // learning support
  supportStatus(): Promise<SupportStatus> {
    return this.commands.supportStatus();
  }

  supportUnlock(): Promise<SupportStatus> {
    return this.commands.supportUnlock();
  }

  supportLock(): Promise<SupportStatus> {
    return this.commands.supportLock();
  }

  supportTouch(): Promise<SupportStatus> {
    return this.commands.supportTouch();
  }

  supportYearGroups(): Promise<YearGroupOption[]> {
    return this.commands.supportYearGroups();
  }

  supportStudent(person: string): Promise<SupportView> {
    return this.commands.supportStudent(person);
  }

  supportYearGroup(group: string): Promise<SupportView> {
    return this.commands.supportYearGroup(group);
  }

  supportExport(student: string | null, yearGroup: string | null, format: DocumentFormat, paper: PaperSize): Promise<ExportedDocument> {
    return this.commands.supportExport(student, yearGroup, format, paper);
  }

  accessLog(limit: number): Promise<AccessLogView> {
    return this.commands.accessLog(limit);
  }

  exportAccessLog(): Promise<ExportedDocument> {
    return this.commands.exportAccessLog();
  }

  // emergency roll
  emergencyRoll(section: string | null): Promise<EmergencyRoll> {
    return this.commands.emergencyRoll(section);
  }

  // register
  registerSections(): Promise<SectionOption[]> {
    return this.commands.registerSections();
  }

  registerSheet(section: string, date: string | null, session: string | null): Promise<RegisterSheet> {
    return this.commands.registerSheet(section, date, session);
  }

  takeMark(mark: MarkInput): Promise<RegisterRow> {
    return this.commands.takeMark(mark);
  }

  markRestPresent(section: string, date: string, session: string | null): Promise<RestPresent> {
    return this.commands.markRestPresent(section, date, session);
  }
}

/** A form's boxes as the shell takes them (a list, so a field given twice can be refused). */
function toFieldValues(fields: Record<string, string>): FieldValue[] {
  return Object.entries(fields).map(([name, value]) => ({ name, value }));
}
