// The Classes screen's logic and the fixture desk's classes (which answer as the shell does).
import { describe, expect, it } from "vitest";
import type { ClassMemberView, ClassOption } from "../bindings/ipc";
import {
  addCandidates,
  buildIndex,
  checkGrade,
  enrolled,
  filterClasses,
  needsAttention,
  nextRow,
  shownGrade,
  stateLabel,
  stateSentence,
} from "./classes";
import { demoPeople } from "../fixture/data";
import { MockBackend } from "../fixture/mock";
import { BackendError } from "../backend/backend";

function option(id: string, name: string, extra: Partial<ClassOption> = {}): ClassOption {
  return { id, name, code: null, school: null, teacher: null, students: 0, archived: false, ...extra };
}

function memberOf(person: string, user: string, extra: Partial<ClassMemberView> = {}): ClassMemberView {
  return {
    person,
    user_id: user,
    name: person,
    grade_level: null,
    on_roster: true,
    roster_change: null,
    roster_write: null,
    grades: [],
    ...extra,
  };
}

describe("a grade is checked as the shell checks it", () => {
  it("takes what Matrix takes, written as Matrix keeps it", () => {
    expect(checkGrade(" b+ ", 20)).toEqual({ ok: true, grade: "B+" });
    expect(checkGrade("F", null)).toEqual({ ok: true, grade: "F" });
    expect(checkGrade("ab", null)).toEqual({ ok: true, grade: "AB" });
    expect(checkGrade("17.50", 20)).toEqual({ ok: true, grade: "17.5" });
    expect(checkGrade("20", 20)).toEqual({ ok: true, grade: "20" });
    expect(checkGrade("85 %", 20)).toEqual({ ok: true, grade: "85%" });
    expect(checkGrade("250", null)).toEqual({ ok: true, grade: "250" });
  });

  it("refuses the rest with what to type instead", () => {
    const cases: [string, string][] = [
      ["", "empty"],
      ["F+", "not a grade"],
      ["E", "not a grade"],
      ["A++", "not a grade"],
      ["-3", "below zero"],
      ["21", "out of 20 points"],
      ["120%", "percentage from 0% to 100%"],
      ["%", "percentage"],
      ["good", "not a grade"],
      ["NaN", "not a grade"],
    ];
    for (const [grade, words] of cases) {
      const r = checkGrade(grade, 20);
      expect(r.ok, grade).toBe(false);
      if (!r.ok) expect(r.message, grade).toContain(words);
    }
  });
});

describe("the class picker and the add list", () => {
  const classes = [
    option("matrix:1", "Maths 7", { code: "MATH-7", teacher: "Ms. Rivera" }),
    option("matrix:2", "Science 8", { school: "Lincoln Middle School" }),
  ];

  it("finds a class by any word of its name, code, school or teacher, accents folded", () => {
    expect(filterClasses(classes, "").map((c) => c.id)).toEqual(["matrix:1", "matrix:2"]);
    expect(filterClasses(classes, "rivera").map((c) => c.id)).toEqual(["matrix:1"]);
    expect(filterClasses(classes, "LINCOLN sci").map((c) => c.id)).toEqual(["matrix:2"]);
    expect(filterClasses(classes, "math lincoln")).toEqual([]);
  });

  it("offers only children known to Matrix who are not on the roster or being added", () => {
    const people = demoPeople();
    const index = buildIndex(people);
    const members = [
      memberOf("ext:S-1002", "ma-1002"),
      memberOf("ext:S-1004", "ma-1004", { on_roster: false, roster_change: "add" }),
    ];
    const offered = addCandidates(index, members, "").map((p) => p.id);
    expect(offered).toContain("ext:S-1001");
    expect(offered).not.toContain("ext:S-1002"); // on the roster
    expect(offered).not.toContain("ext:S-1004"); // being added
    expect(offered).not.toContain("ext:S-1003"); // PowerSchool only
    expect(addCandidates(index, members, "zimmer").map((p) => p.name)).toEqual(["Lukas Zimmermann"]);
    // Someone being removed is not offered back until the removal has gone.
    const leaving = [memberOf("ext:S-1001", "ma-1001", { roster_change: "remove" })];
    expect(addCandidates(index, leaving, "okafor")).toEqual([]);
    expect(addCandidates(index, [], "", 2)).toHaveLength(2);
  });

  it("says a roster change and a write's state in words", () => {
    expect(enrolled(memberOf("a", "1"))).toBe(true);
    expect(enrolled(memberOf("a", "1", { roster_change: "remove" }))).toBe(false);
    expect(enrolled(memberOf("a", "1", { on_roster: false, roster_change: "add" }))).toBe(true);
    expect(stateLabel("pending")).toBe("Pending");
    expect(stateLabel("pending", true)).toBe("Saved, waiting");
    expect(stateLabel("done")).toBe("Sent");
    const w = { outbox_id: 7, state: "pending" as const, last_error: null, updated_at: "2025-09-01T08:00:00Z" };
    expect(stateSentence(w, true)).toMatch(/saved on this computer/i);
    expect(needsAttention(w)).toBe(false);
    expect(needsAttention({ ...w, state: "conflict" })).toBe(true);
    expect(shownGrade({ assignment: "a", grade: "B", score: null, queued: "A", change: w })).toBe("A");
    expect(shownGrade({ assignment: "a", grade: "B", score: null, queued: null, change: null })).toBe("B");
    expect(nextRow(0, 3, "down")).toBe(1);
    expect(nextRow(2, 3, "down")).toBe(2);
    expect(nextRow(0, 3, "up")).toBe(0);
  });
});

describe("the fixture's classes answer as the shell does", () => {
  async function refused(p: Promise<unknown>, words: string): Promise<void> {
    const e = await p.then(
      () => undefined,
      (r: unknown) => r,
    );
    expect(e).toBeInstanceOf(BackendError);
    expect((e as BackendError).code).toBe("desk.invalid_input");
    expect((e as BackendError).message).toContain(words);
  }

  it("checks, queues once, and shows each write's state on its row until it is sent", async () => {
    const desk = new MockBackend();
    const [maths] = await desk.listClasses();
    expect(maths).toBeDefined();
    const page = await desk.classPage(maths!.id);
    const [first, second] = page.members;
    const before = (await desk.listOutbox()).length;

    await refused(desk.classChange(maths!.id, "add", [first!.person]), "already on the roster");
    await refused(desk.classChange(maths!.id, "remove", ["ext:S-1004"]), "not on the roster");
    await refused(desk.classChange(maths!.id, "add", ["ext:S-1003"]), "no Matrix LMS account");
    await refused(desk.classChange("omniforge:hr-7a", "add", ["ext:S-1004"]), "not a Matrix LMS class");
    await refused(desk.setGrade(maths!.id, page.assignments[0]!.id, second!.person, "Z"), "not a grade");
    await refused(desk.setGrade(maths!.id, "nope", second!.person, "B"), "no assignment");
    // Liam Chen's grade for the second assignment is in conflict (the fixture's seed).
    await refused(desk.setGrade(maths!.id, page.assignments[1]!.id, "ext:S-1002", "D"), "waiting for a decision");
    expect((await desk.listOutbox()).length).toBe(before);

    const added = await desk.classChange(maths!.id, "add", ["ext:S-1004"]);
    const graded = await desk.setGrade(maths!.id, page.assignments[0]!.id, second!.person, "c+");
    expect((await desk.listOutbox()).length).toBe(before + 2);
    const now = await desk.classPage(maths!.id);
    const joining = now.members.find((m) => m.person === "ext:S-1004")!;
    expect(joining.roster_change).toBe("add");
    expect(joining.roster_write).toMatchObject({ outbox_id: added.id, state: "pending" });
    const cell = now.members.find((m) => m.person === second!.person)!.grades[0]!;
    expect(cell).toMatchObject({ queued: "C+", change: { outbox_id: graded.id, state: "pending" } });
    await refused(desk.classChange(maths!.id, "add", ["ext:S-1004"]), "already has a change waiting");

    expect(desk.classes.deliver()).toBe(2);
    const sent = await desk.classPage(maths!.id);
    expect(sent.members.find((m) => m.person === "ext:S-1004")!.roster_write!.state).toBe("done");
    expect(sent.members.find((m) => m.person === second!.person)!.grades[0]).toMatchObject({ grade: "C+", change: { state: "done" } });
  });
});
