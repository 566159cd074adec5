// An in-memory desk for working on the page in a plain browser and for rendering tests.
// It answers like the shell does: same row shapes, same search rule, same error payloads.
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
  StudentList,
  StudentRow,
  SystemActivityView,
  UpdateStatus,
} from "../bindings/ipc";
import { BackendError, type Backend, type DeskHandlers } from "./backend";

export interface MockData {
  students?: StudentRow[];
  outbox?: OutboxRow[];
  status?: AppStatus;
  activity?: ActivityView;
  update?: UpdateStatus;
  sections?: SectionOption[];
  /** When set, every command rejects with this payload (following events still works). */
  failWith?: ErrorPayload;
}

/** As many rows as the shell sends at once (`STUDENT_PAGE` in src-tauri/src/ipc.rs). */
const PAGE = 1000;

function words(text: string): string[] {
  return text
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** The cache's rule: every typed word starts a word of a name or of the external id. */
export function matches(s: StudentRow, search: string): boolean {
  const have = words(
    [s.given_name, s.family_name, s.preferred_name ?? "", s.external_id ?? ""].join(" "),
  );
  return words(search).every((w) => have.some((h) => h.startsWith(w)));
}

export class MockBackend implements Backend {
  readonly calls: { cmd: string; search?: string; args?: Record<string, unknown> }[] = [];
  /** The files the mock "wrote", by path (so a second save gets the next number, as in the shell). */
  readonly files = new Set<string>();
  private readonly data: Required<Omit<MockData, "failWith">> & Pick<MockData, "failWith">;
  private readonly subscribers = new Set<DeskHandlers>();
  private readonly failures = new Map<string, ErrorPayload>();

  constructor(data: MockData = {}) {
    this.data = {
      students: data.students ?? demoStudents(),
      outbox: data.outbox ?? demoOutbox(),
      status: data.status ?? {
        version: "0.0.0-mock",
        demo: true,
        data_dir: "(in memory)",
        sync: { state: "ready" },
      },
      activity: data.activity ?? demoActivity(),
      update: data.update ?? { state: "none" },
      sections: data.sections ?? demoSections(),
      failWith: data.failWith,
    };
  }

  async listStudents(search?: string): Promise<StudentList> {
    this.calls.push({ cmd: "list_students", search });
    this.fail("list_students");
    const found = this.data.students.filter((s) => matches(s, search ?? ""));
    return { students: found.slice(0, PAGE), more: found.length > PAGE };
  }

  async listOutbox(): Promise<OutboxRow[]> {
    this.calls.push({ cmd: "list_outbox" });
    this.fail("list_outbox");
    return this.data.outbox;
  }

  async appStatus(): Promise<AppStatus> {
    this.calls.push({ cmd: "app_status" });
    this.fail("app_status");
    return this.data.status;
  }

  async deskActivity(): Promise<ActivityView> {
    this.calls.push({ cmd: "desk_activity" });
    this.fail("desk_activity");
    return this.data.activity;
  }

  /** Like the engine, minus the network: every system has just synced. */
  async syncNow(): Promise<void> {
    this.calls.push({ cmd: "sync_now" });
    this.fail("sync_now");
    const now = new Date().toISOString();
    this.emitActivity({
      ...this.data.activity,
      systems: this.data.activity.systems.map((s) => ({ ...s, last_sync_at: now })),
    });
  }

  /** Like the engine: the outbox is sent, and the page hears that it changed. */
  async sendNow(): Promise<void> {
    this.calls.push({ cmd: "send_now" });
    this.fail("send_now");
    this.emitChanged({ origins: ["replay"], tables: ["outbox"] });
  }

  async updateStatus(): Promise<UpdateStatus> {
    this.calls.push({ cmd: "update_status" });
    this.fail("update_status");
    return this.data.update;
  }

  /** The mock cannot restart: it only records the call (or rejects, see `setFailure`). */
  async restartToUpdate(): Promise<void> {
    this.calls.push({ cmd: "restart_to_update" });
    this.fail("restart_to_update");
  }

  async listSections(): Promise<SectionOption[]> {
    this.calls.push({ cmd: "list_sections" });
    this.fail("list_sections");
    return this.data.sections;
  }

  /** Answers like the shell, writing nothing: a path under Documents/Schooldesk, never reused. */
  async exportDocument(
    request: DocumentRequest,
    format: DocumentFormat,
    paper: PaperSize,
  ): Promise<ExportedDocument> {
    this.calls.push({ cmd: "export_document", args: { request, format, paper } });
    this.fail("export_document");
    const ext = format === "pdf" ? "pdf" : format === "xlsx" ? "xlsx" : "csv";
    return this.write("/home/office/Documents/Schooldesk", request, ext);
  }

  async printDocument(request: DocumentRequest, paper: PaperSize): Promise<ExportedDocument> {
    this.calls.push({ cmd: "print_document", args: { request, paper } });
    this.fail("print_document");
    return this.write("/home/office/.cache/org.schooldesk.desk/print", request, "pdf");
  }

  async openExportFolder(): Promise<string> {
    this.calls.push({ cmd: "open_export_folder" });
    this.fail("open_export_folder");
    return "/home/office/Documents/Schooldesk";
  }

  async subscribe(handlers: DeskHandlers): Promise<() => void> {
    this.calls.push({ cmd: "subscribe" });
    const mine = { ...handlers };
    this.subscribers.add(mine);
    return () => void this.subscribers.delete(mine);
  }

  /** How many subscriptions are still open (a disposed page leaves none). */
  get listeners(): number {
    return this.subscribers.size;
  }

  /** Lets a test move the desk along (e.g. from `starting` to `ready`) without telling the page. */
  setStatus(status: AppStatus): void {
    this.data.status = status;
  }

  /** Makes one command reject with `payload` (or answer again, with `undefined`). */
  setFailure(cmd: string, payload: ErrorPayload | undefined): void {
    if (payload) this.failures.set(cmd, payload);
    else this.failures.delete(cmd);
  }

  /** Replaces the outbox the mock answers with (emit a change to tell the page). */
  setOutbox(rows: OutboxRow[]): void {
    this.data.outbox = rows;
  }

  /** Replaces the students the mock answers with (emit a change to tell the page). */
  setStudents(rows: StudentRow[]): void {
    this.data.students = rows;
  }

  /** The shell's `desk-changed`. */
  emitChanged(changes: ChangesView): void {
    for (const s of [...this.subscribers]) s.onChanged?.(changes);
  }

  /** The shell's `desk-activity`; `desk_activity` answers with it from now on. */
  emitActivity(activity: ActivityView): void {
    this.data.activity = activity;
    for (const s of [...this.subscribers]) s.onActivity?.(activity);
  }

  /** The shell's `update-status`; `update_status` answers with it from now on. */
  emitUpdate(status: UpdateStatus): void {
    this.data.update = status;
    for (const s of [...this.subscribers]) s.onUpdate?.(status);
  }

  /** The shell's `app-status`; `app_status` answers with it from now on. */
  emitStatus(status: AppStatus): void {
    this.data.status = status;
    for (const s of [...this.subscribers]) s.onStatus?.(status);
  }

  private write(folder: string, request: DocumentRequest, ext: string): ExportedDocument {
    const refuse = (message: string): never => {
      throw new BackendError({ code: "export.invalid_input", message, retryable: false });
    };
    const section = (id: string | null | undefined): SectionOption | undefined => {
      if (!id) return undefined;
      const found = this.data.sections.find((s) => s.id === id.trim());
      return (
        found ??
        refuse(
          `There is no section '${id.trim()}' in the cache. List the sections and their ids with \`schooldesk sections\`; sync first if the section is new.`,
        )
      );
    };
    let title: string;
    let subject: string;
    let students: number;
    const everyone = new Set(this.data.students.map((s) => s.external_id ?? s.source_id)).size;
    switch (request.kind) {
      case "roster":
      case "register": {
        const s = section(request.section) ?? refuse("Choose the section first.");
        if (request.kind === "register" && request.from > request.to) {
          refuse(
            `The register would start on ${request.from}, after it ends on ${request.to}. Give the earlier date first.`,
          );
        }
        title = `${request.kind === "roster" ? "Class roster" : "Attendance register"} — ${s.name}`;
        subject = s.name;
        students = s.students;
        break;
      }
      case "emergency": {
        const s = section(request.section);
        title = "Emergency list";
        subject = s?.name ?? "all";
        students = s?.students ?? everyone;
        break;
      }
      case "checklist":
        title = `Checklist status — ${request.checklist}`;
        subject = request.checklist;
        students = 2;
        break;
      case "learning_support":
        throw new BackendError({
          code: "export.learning_support_disabled",
          message:
            "Learning support is not switched on for any connected school system, so Schooldesk holds no learning-support records to export. An administrator can switch it on in the connection's settings (then sync).",
          retryable: false,
        });
      case "submission":
        title = `Enrollment submission — ${request.record}`;
        subject = request.record;
        students = 1;
        break;
    }
    const date = new Date().toISOString().slice(0, 10);
    const slug = (t: string) => t.replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "");
    const stem = [request.kind.replace(/_/g, "-"), slug(subject), date].filter(Boolean).join("-");
    let name = `${stem}.${ext}`;
    for (let n = 2; this.files.has(`${folder}/${name}`); n++) name = `${stem}-${n}.${ext}`;
    const path = `${folder}/${name}`;
    this.files.add(path);
    return { path, file_name: name, title, bytes: 24_576, students };
  }

  private fail(cmd: string): void {
    if (this.data.failWith) throw new BackendError(this.data.failWith);
    const one = this.failures.get(cmd);
    if (one) throw new BackendError(one);
  }
}

/** One system as the status strip shows it: synced, reachable, nothing wrong. */
export function systemActivity(
  system: SystemActivityView["system"],
  system_name: string,
  extra: Partial<SystemActivityView> = {},
): SystemActivityView {
  return {
    system,
    system_name,
    syncing: false,
    phase: null,
    rows: 0,
    requests_left: null,
    register_ready: true,
    last_sync_at: "2025-09-01T07:55:00+00:00",
    next_sync_at: "2025-09-01T08:00:00+00:00",
    reachable: true,
    problem: null,
    ...extra,
  };
}

export function demoActivity(): ActivityView {
  return {
    systems: [
      systemActivity("omniforge", "OmniForge SIS"),
      systemActivity("powerschool", "PowerSchool Enrollment"),
      systemActivity("matrix", "Matrix LMS"),
      systemActivity("hubmis", "WCBS HUBmis"),
    ],
    sending: false,
    waiting: 1,
    conflicts: 0,
    failed: 0,
    offline: false,
  };
}

export function student(
  given: string,
  family: string,
  extra: Partial<StudentRow> = {},
): StudentRow {
  return {
    system: "omniforge",
    system_name: "OmniForge SIS",
    source_id: `of-${given.toLowerCase()}`,
    external_id: null,
    name: `${given} ${family}`,
    given_name: given,
    family_name: family,
    preferred_name: null,
    grade: null,
    homeroom: null,
    active: true,
    ...extra,
  };
}

export function demoStudents(): StudentRow[] {
  return [
    student("Amara", "Okafor", { external_id: "S-1001", grade: "7", homeroom: "7B" }),
    student("Liam", "Chen", { external_id: "S-1002", grade: "7", homeroom: "7A" }),
    student("Sofia", "García", {
      system: "powerschool",
      system_name: "PowerSchool Enrollment",
      source_id: "ps-2001",
      external_id: "S-1003",
      grade: "8",
      homeroom: "8C",
    }),
    student("Oliver", "Hughes", {
      system: "hubmis",
      system_name: "WCBS HUBmis",
      source_id: "hm-4001",
      external_id: "UK-0042",
      grade: "Year 9",
      homeroom: "9H",
    }),
  ];
}

export function demoOutbox(): OutboxRow[] {
  const at = "2025-09-01T08:00:00+00:00";
  return [
    {
      id: 1,
      system: "omniforge",
      system_name: "OmniForge SIS",
      operation: "submit_attendance",
      entity_key: "attendance:of-1001:hr-7b:am:2025-09-01",
      description: "of-1001 present on 2025-09-01 in hr-7b period am",
      state: "done",
      attempts: 1,
      next_attempt_at: at,
      last_error: null,
      created_at: at,
      updated_at: at,
    },
    {
      id: 2,
      system: "matrix",
      system_name: "Matrix LMS",
      operation: "set_grades",
      entity_key: "matrix:grade:maths-7:mx-3001",
      description: "grade B for mx-3001 on assignment maths-7",
      state: "pending",
      attempts: 2,
      next_attempt_at: at,
      last_error: "Matrix LMS answered 503; will retry",
      created_at: at,
      updated_at: at,
    },
  ];
}

export function demoSections(): SectionOption[] {
  const section = (
    system: SectionOption["system"],
    system_name: string,
    source: string,
    name: string,
    school: string,
    students: number,
  ): SectionOption => ({ id: `${system}:${source}`, name, code: null, school, system, system_name, students });
  return [
    section("omniforge", "OmniForge SIS", "hr-7a", "Homeroom 7A", "Lincoln Middle School", 24),
    section("omniforge", "OmniForge SIS", "hr-7b", "Homeroom 7B", "Lincoln Middle School", 26),
    section("hubmis", "WCBS HUBmis", "tg-9h", "9H", "Ashdown House School", 21),
  ];
}
