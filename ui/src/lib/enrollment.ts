// The Enrollment screen's logic, apart from the page: where in the screen the route points,
// a checklist's filters and counts, the words of each cell, and the checks a form gets before
// it is sent to the shell (which checks again against the cached import schema).
import type { ChecklistGridView, GridCellView, GridRowView, ImportSchemaView, OutboxRow } from "../bindings/ipc";

/** Where inside the Enrollment screen the route's argument points. */
export type EnrollmentPlace =
  | { view: "checklists"; checklist: string | null }
  | { view: "documents"; person: string | null; document: string | null }
  | { view: "records" };

/** `checklist/<id>`, `documents/<person>[/<document>]`, `records`; anything else: checklists. */
export function parsePlace(arg: string | null): EnrollmentPlace {
  const [head, ...rest] = (arg ?? "").split("/");
  const first = rest[0]?.trim() || null;
  switch (head) {
    case "checklist":
    case "checklists":
      return { view: "checklists", checklist: first };
    case "documents":
      return { view: "documents", person: first, document: rest[1]?.trim() || null };
    case "records":
      return { view: "records" };
    default:
      return { view: "checklists", checklist: null };
  }
}

/** The route argument for a place (what `href({screen: "enrollment", arg})` takes). */
export function placeArg(place: EnrollmentPlace): string {
  switch (place.view) {
    case "checklists":
      return place.checklist ? `checklist/${place.checklist}` : "checklist";
    case "documents":
      return ["documents", place.person, place.person ? place.document : null].filter(Boolean).join("/");
    case "records":
      return "records";
  }
}

/** Which students the checklist table shows: all, anyone missing something, or missing one item. */
export type GridFilter = { kind: "all" } | { kind: "missing-any" } | { kind: "missing"; item: string };

export function parseFilter(value: string): GridFilter {
  if (value === "missing-any") return { kind: "missing-any" };
  if (value.startsWith("missing:")) return { kind: "missing", item: value.slice("missing:".length) };
  return { kind: "all" };
}

export function filterValue(f: GridFilter): string {
  return f.kind === "missing" ? `missing:${f.item}` : f.kind;
}

/** A cell is owed when PowerSchool lists the item for the student and it is not completed. */
export function owed(cell: GridCellView): boolean {
  return cell.listed && !cell.completed;
}

/** Whether a student still owes any required item of the checklist. */
export function missingAnything(grid: ChecklistGridView, row: GridRowView): boolean {
  return row.cells.some((c, i) => owed(c) && (grid.items[i]?.required ?? true));
}

export function filterRows(grid: ChecklistGridView, filter: GridFilter, search = ""): GridRowView[] {
  const q = search.trim().toLowerCase();
  return grid.rows.filter((row) => {
    if (q && !`${row.name} ${row.external_id ?? ""}`.toLowerCase().includes(q)) return false;
    switch (filter.kind) {
      case "all":
        return true;
      case "missing-any":
        return missingAnything(grid, row);
      case "missing": {
        const i = grid.items.findIndex((it) => it.id === filter.item);
        return i >= 0 && owed(row.cells[i]!);
      }
    }
  });
}

/** What a cell says, in words (the table never relies on a tick alone). */
export function cellWords(cell: GridCellView): string {
  if (!cell.listed) return "Not asked";
  if (cell.completed) return cell.completed_on ? `Done ${cell.completed_on}` : "Done";
  return "Missing";
}

export function cellKind(cell: GridCellView): "done" | "missing" | "none" {
  if (!cell.listed) return "none";
  return cell.completed ? "done" : "missing";
}

export interface ItemCount {
  id: string;
  name: string;
  done: number;
  missing: number;
}

/** Per item, how many students have done it and how many still owe it; and who owes anything. */
export function gridCounts(grid: ChecklistGridView): { items: ItemCount[]; students: number; missingAny: number } {
  const items = grid.items.map((it, i) => {
    let done = 0;
    let missing = 0;
    for (const row of grid.rows) {
      const c = row.cells[i];
      if (!c) continue;
      if (c.completed) done++;
      else if (c.listed) missing++;
    }
    return { id: it.id, name: it.name, done, missing };
  });
  return { items, students: grid.rows.length, missingAny: grid.rows.filter((r) => missingAnything(grid, r)).length };
}

/** The values a person typed, trimmed, blank ones left out (as the shell does). */
export function givenFields(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    const t = (v ?? "").trim();
    if (k.trim() && t) out[k.trim()] = t;
  }
  return out;
}

/** The first thing wrong with an import before it is queued (a sentence), or null. */
export function checkImport(schema: ImportSchemaView | undefined, values: Record<string, string>): string | null {
  if (!schema) return "Choose a published action and import schema first.";
  const given = givenFields(values);
  const unknown = Object.keys(given).filter((k) => !schema.fields.includes(k));
  if (unknown.length) return `Not fields of “${schema.title}”: ${unknown.join(", ")}.`;
  if (schema.key_field && !given[schema.key_field])
    return `Fill in ${schema.key_field}: PowerSchool matches roster records on it.`;
  if (Object.keys(given).length === 0) return "Fill in at least the fields PowerSchool needs.";
  return null;
}

/** The first thing wrong with a submission before it is queued (a sentence), or null. */
export function checkSubmission(action: string, fields: readonly string[], values: Record<string, string>): string | null {
  if (!action) return "Choose a published action first.";
  const given = givenFields(values);
  if (fields.length) {
    const unknown = Object.keys(given).filter((k) => !fields.includes(k));
    if (unknown.length) return `Not fields of published action ${action}: ${unknown.join(", ")}.`;
  }
  for (const f of ["stu_FirstName", "stu_LastName"]) {
    if (!given[f]) return `Fill in ${f}: PowerSchool needs the student's first and last name.`;
  }
  return null;
}

/** The enrollment writes of the outbox (PowerSchool's), newest first. */
export const ENROLLMENT_OPERATIONS = ["import_roster_record", "submit_form", "create_batch", "reset_batch"];

export function enrollmentWrites(rows: readonly OutboxRow[]): OutboxRow[] {
  return rows.filter((r) => r.system === "powerschool").sort((a, b) => b.id - a.id);
}

/** A write's state in the words the screen shows. */
export function writeStateWords(state: OutboxRow["state"]): string {
  switch (state) {
    case "pending":
    case "sending":
      return "Waiting to send";
    case "done":
      return "Sent";
    case "conflict":
      return "Conflict: resolve in the Outbox";
    case "failed":
      return "Failed: see the Outbox";
    case "held":
      return "Held until PowerSchool answers";
    case "discarded":
      return "Discarded";
  }
}

/** Moves focus among `items` from `current` by a navigation key; returns the new index or null. */
export function moveIndex(key: string, current: number, length: number): number | null {
  if (length === 0) return null;
  switch (key) {
    case "ArrowDown":
      return Math.min(current + 1, length - 1);
    case "ArrowUp":
      return Math.max(current - 1, 0);
    case "Home":
      return 0;
    case "End":
      return length - 1;
    default:
      return null;
  }
}
