// An in-memory desk for working on the page in a plain browser and for rendering tests.
// It answers like the shell does: same row shapes, same search rule, same error payloads.
import type { AppStatus, ErrorPayload, OutboxRow, StudentList, StudentRow } from "../bindings/ipc";
import { BackendError, type Backend } from "./backend";

export interface MockData {
  students?: StudentRow[];
  outbox?: OutboxRow[];
  status?: AppStatus;
  /** When set, every call rejects with this payload. */
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
  readonly calls: { cmd: string; search?: string }[] = [];
  private readonly data: Required<Omit<MockData, "failWith">> & Pick<MockData, "failWith">;

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
      failWith: data.failWith,
    };
  }

  async listStudents(search?: string): Promise<StudentList> {
    this.calls.push({ cmd: "list_students", search });
    this.fail();
    const found = this.data.students.filter((s) => matches(s, search ?? ""));
    return { students: found.slice(0, PAGE), more: found.length > PAGE };
  }

  async listOutbox(): Promise<OutboxRow[]> {
    this.calls.push({ cmd: "list_outbox" });
    this.fail();
    return this.data.outbox;
  }

  async appStatus(): Promise<AppStatus> {
    this.calls.push({ cmd: "app_status" });
    this.fail();
    return this.data.status;
  }

  /** Lets a test move the desk along (e.g. from `starting` to `ready`). */
  setStatus(status: AppStatus): void {
    this.data.status = status;
  }

  private fail(): void {
    if (this.data.failWith) throw new BackendError(this.data.failWith);
  }
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
      entity_key: "grades:mx-3001:maths-7",
      state: "pending",
      attempts: 2,
      next_attempt_at: at,
      last_error: "Matrix LMS answered 503; will retry",
      created_at: at,
      updated_at: at,
    },
  ];
}
