import { describe, expect, it } from "vitest";
import type { ChecklistGridView, ImportSchemaView, OutboxRow } from "../bindings/ipc";
import {
  cellWords,
  checkImport,
  checkSubmission,
  enrollmentWrites,
  filterRows,
  filterValue,
  givenFields,
  gridCounts,
  moveIndex,
  parseFilter,
  parsePlace,
  placeArg,
} from "./enrollment";

const cell = (item_id: string, state: "done" | "missing" | "none") => ({
  item_id,
  completed: state === "done",
  listed: state !== "none",
  completed_on: state === "done" ? "2025-08-20" : null,
});

const grid: ChecklistGridView = {
  id: "435",
  name: "New student documents",
  items: [
    { id: "photo", name: "Photo", required: true },
    { id: "birth", name: "Birth certificate", required: true },
    { id: "extra", name: "Music form", required: false },
  ],
  rows: [
    { record_id: "1", external_id: "S-1", person: "ext:S-1", name: "Ana Zeta", cells: [cell("photo", "done"), cell("birth", "missing"), cell("extra", "none")] },
    { record_id: "2", external_id: "S-2", person: "ext:S-2", name: "Bo Young", cells: [cell("photo", "done"), cell("birth", "done"), cell("extra", "missing")] },
    { record_id: "3", external_id: "S-3", person: null, name: "S-3", cells: [cell("photo", "missing"), cell("birth", "missing"), cell("extra", "none")] },
  ],
};

describe("the enrollment route argument", () => {
  it("names each sub-view and round-trips", () => {
    expect(parsePlace(null)).toEqual({ view: "checklists", checklist: null });
    expect(parsePlace("checklist/435")).toEqual({ view: "checklists", checklist: "435" });
    expect(parsePlace("documents/ext:S-1001")).toEqual({ view: "documents", person: "ext:S-1001", document: null });
    expect(parsePlace("documents/ext:S-1001/powerschool:abc")).toEqual({
      view: "documents",
      person: "ext:S-1001",
      document: "powerschool:abc",
    });
    expect(parsePlace("records")).toEqual({ view: "records" });
    expect(parsePlace("nonsense")).toEqual({ view: "checklists", checklist: null });
    for (const arg of ["checklist/435", "documents/ext:S-1/powerschool:x", "records", "documents"]) {
      expect(placeArg(parsePlace(arg))).toBe(arg);
    }
  });
});

describe("the checklist table", () => {
  it("filters to missing one item, missing anything (required only) and by name", () => {
    expect(filterRows(grid, { kind: "all" }).map((r) => r.record_id)).toEqual(["1", "2", "3"]);
    expect(filterRows(grid, { kind: "missing", item: "birth" }).map((r) => r.record_id)).toEqual(["1", "3"]);
    expect(filterRows(grid, { kind: "missing", item: "photo" }).map((r) => r.record_id)).toEqual(["3"]);
    // Bo owes only an optional item: not "missing anything".
    expect(filterRows(grid, { kind: "missing-any" }).map((r) => r.record_id)).toEqual(["1", "3"]);
    expect(filterRows(grid, { kind: "missing", item: "nope" })).toEqual([]);
    expect(filterRows(grid, { kind: "all" }, "young").map((r) => r.name)).toEqual(["Bo Young"]);
    expect(filterRows(grid, { kind: "missing-any" }, "s-3").map((r) => r.record_id)).toEqual(["3"]);
  });

  it("says each cell in words and counts per item", () => {
    expect(grid.rows[0]!.cells.map(cellWords)).toEqual(["Done 2025-08-20", "Missing", "Not asked"]);
    const c = gridCounts(grid);
    expect(c.students).toBe(3);
    expect(c.missingAny).toBe(2);
    expect(c.items.map((i) => [i.name, i.done, i.missing])).toEqual([
      ["Photo", 2, 1],
      ["Birth certificate", 1, 2],
      ["Music form", 0, 1],
    ]);
  });

  it("keeps the filter in a select's value", () => {
    for (const f of [{ kind: "all" }, { kind: "missing-any" }, { kind: "missing", item: "83838" }] as const) {
      expect(parseFilter(filterValue(f))).toEqual(f);
    }
  });

  it("moves between rows with arrows, Home and End, and ignores other keys", () => {
    expect(moveIndex("ArrowDown", 0, 3)).toBe(1);
    expect(moveIndex("ArrowDown", 2, 3)).toBe(2);
    expect(moveIndex("ArrowUp", 0, 3)).toBe(0);
    expect(moveIndex("End", 0, 3)).toBe(2);
    expect(moveIndex("Home", 2, 3)).toBe(0);
    expect(moveIndex("a", 1, 3)).toBeNull();
    expect(moveIndex("ArrowDown", 0, 0)).toBeNull();
  });
});

describe("forms before they are queued", () => {
  const schema: ImportSchemaView = {
    action_id: "101",
    schema_id: "1",
    title: "Returning students",
    fields: ["stu_FirstName", "stu_LastName", "stu_ExternalID"],
    key_field: "stu_ExternalID",
  };

  it("an import needs a schema, its own fields only and the external id", () => {
    expect(checkImport(undefined, {})).toMatch(/Choose a published action/);
    expect(checkImport(schema, { stu_FirstName: "Ana" })).toMatch(/Fill in stu_ExternalID/);
    expect(checkImport(schema, { stu_ExternalID: "S-1", shoe: "9" })).toMatch(/Not fields of “Returning students”: shoe/);
    expect(checkImport(schema, { stu_ExternalID: " S-1 ", stu_LastName: "  " })).toBeNull();
  });

  it("a submission needs the names and only the action's fields", () => {
    expect(checkSubmission("", [], {})).toMatch(/Choose a published action/);
    expect(checkSubmission("102", [], { stu_FirstName: "Jo" })).toMatch(/stu_LastName/);
    expect(checkSubmission("101", ["stu_FirstName", "stu_LastName"], { stu_FirstName: "Jo", stu_LastName: "Ng", x: "1" })).toMatch(/x/);
    expect(checkSubmission("102", [], { stu_FirstName: "Jo", stu_LastName: "Ng" })).toBeNull();
  });

  it("blank fields are left out and values trimmed", () => {
    expect(givenFields({ a: " 1 ", b: "  ", " c ": "x" })).toEqual({ a: "1", c: "x" });
  });
});

it("the enrollment writes are PowerSchool's, newest first", () => {
  const row = (id: number, system: OutboxRow["system"]): OutboxRow => ({
    id,
    system,
    system_name: system,
    operation: "submit_form",
    entity_key: "",
    description: "",
    state: "pending",
    attempts: 0,
    next_attempt_at: "",
    last_error: null,
    created_at: "",
    updated_at: "",
  });
  expect(enrollmentWrites([row(1, "powerschool"), row(2, "matrix"), row(3, "powerschool")]).map((r) => r.id)).toEqual([3, 1]);
});
