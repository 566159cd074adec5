import { describe, expect, it } from "vitest";
import type { PersonRow } from "../bindings/ipc";
import { BackendError } from "../backend/backend";
import { SupportFixture } from "../fixture/support";
import {
  PING_EVERY_MS,
  findPeople,
  formatDay,
  lockIn,
  newestFirst,
  parseTarget,
  reviewLine,
  shouldPing,
  studentsLabel,
  supportPeople,
  targetArg,
  whatLabel,
} from "./support";

function person(id: string, name: string, systems: PersonRow["systems"]): PersonRow {
  const [given, family] = name.split(" ");
  return { id, name, given_name: given!, family_name: family!, grade: null, homeroom: null, systems, ids: [id], flagged: false, active: true };
}

describe("the route argument", () => {
  it("reads a person, a year group, the log or nothing, and writes them back", () => {
    expect(parseTarget(null)).toEqual({ kind: "none" });
    expect(parseTarget("  ")).toEqual({ kind: "none" });
    expect(parseTarget("log")).toEqual({ kind: "log" });
    expect(parseTarget("ext:UK-0042")).toEqual({ kind: "student", person: "ext:UK-0042" });
    expect(parseTarget("hubmis:17")).toEqual({ kind: "student", person: "hubmis:17" });
    expect(parseTarget("year/Year 9")).toEqual({ kind: "year", group: "Year 9" });
    expect(parseTarget("year/")).toEqual({ kind: "none" });
    for (const arg of ["log", "ext:UK-0042", "year/Year 9"]) expect(targetArg(parseTarget(arg))).toBe(arg);
    expect(targetArg({ kind: "none" })).toBeNull();
  });
});

describe("activity pings", () => {
  it("reach the shell at most once a minute", () => {
    expect(shouldPing(undefined, 0)).toBe(true);
    expect(shouldPing(1_000, 1_000 + PING_EVERY_MS - 1)).toBe(false);
    expect(shouldPing(1_000, 1_000 + PING_EVERY_MS)).toBe(true);
  });

  it("say how long until the idle lock in words", () => {
    const now = new Date("2025-09-03T10:00:00Z");
    expect(lockIn(null, now)).toBe("");
    expect(lockIn("2025-09-03T10:04:30Z", now)).toBe("4 minutes");
    expect(lockIn("2025-09-03T10:01:10Z", now)).toBe("1 minute");
    expect(lockIn("2025-09-03T10:00:20Z", now)).toBe("less than a minute");
    expect(lockIn("2025-09-03T09:59:00Z", now)).toBe("now");
  });
});

describe("review dates", () => {
  it("say overdue in words, not only in colour", () => {
    expect(reviewLine({ next_review: "2025-03-14", overdue: true, closed: false })).toBe("Review overdue since 14 Mar 2025");
    expect(reviewLine({ next_review: "2031-10-02", overdue: false, closed: false })).toBe("Next review 2 Oct 2031");
    expect(reviewLine({ next_review: null, overdue: false, closed: false })).toBe("No review date set");
    expect(reviewLine({ next_review: null, overdue: false, closed: true })).toBe("Closed: no review due");
    expect(formatDay("not a date")).toBe("not a date");
  });
});

describe("finding a student", () => {
  const people = [
    person("ext:UK-0042", "Oliver Hughes", ["hubmis"]),
    person("ext:S-1001", "Amara Okafor", ["omniforge", "matrix"]),
    person("hubmis:7", "Olive Hart", ["hubmis"]),
  ];

  it("only among children of a system with learning support on, once something is typed", () => {
    const candidates = supportPeople(people, ["hubmis"]);
    expect(candidates.map((p) => p.id)).toEqual(["ext:UK-0042", "hubmis:7"]);
    expect(findPeople(candidates, "")).toEqual([]);
    expect(findPeople(candidates, "oliv").map((p) => p.name)).toEqual(["Oliver Hughes", "Olive Hart"]);
    expect(findPeople(candidates, "okafor")).toEqual([]);
    expect(findPeople(candidates, "o", 1)).toHaveLength(1);
  });
});

describe("the access log", () => {
  it("reads in words, names the students and keeps newest first", () => {
    expect(whatLabel("learning_support")).toBe("Learning support");
    expect(whatLabel("access_log")).toBe("Access log");
    expect(whatLabel("roster")).toBe("Roster");
    const students = ["a", "b", "c", "d", "e"].map((id) => ({ id: `hubmis:${id}`, name: id === "e" ? null : id.toUpperCase() }));
    expect(studentsLabel({ students: [] })).toBe("None named");
    expect(studentsLabel({ students: students.slice(0, 2) })).toBe("A, B");
    expect(studentsLabel({ students })).toBe("A, B, C and 2 more");
    expect(studentsLabel({ students: students.slice(4) })).toBe("hubmis:e");
    const sorted = newestFirst([
      { id: 1, at: "2025-09-03T10:00:00Z" },
      { id: 3, at: "2025-09-03T11:00:00Z" },
      { id: 2, at: "2025-09-03T11:00:00Z" },
    ]);
    expect(sorted.map((e) => e.id)).toEqual([3, 2, 1]);
  });
});

describe("the fixture's lock, as the shell's", () => {
  function code(run: () => unknown): string {
    try {
      run();
    } catch (e) {
      return (e as BackendError).code;
    }
    throw new Error("expected a refusal");
  }

  it("is locked at start, logs each read first, and locks itself after idle time", () => {
    let t = Date.parse("2025-09-03T10:00:00Z");
    const f = new SupportFixture(new Set());
    f.now = () => t;
    expect(f.status().unlocked).toBe(false);
    expect(code(() => f.student("ext:UK-0042"))).toBe("shell.support_locked");
    f.unlock();
    const view = f.student("ext:UK-0042");
    expect(view.overdue).toBe(1);
    const log = f.accessLog(10);
    expect(log.entries[0]).toMatchObject({ id: view.access_id, action: "view", by_whom: "office", students: [{ id: "hubmis:hu-0042", name: "Oliver Hughes" }] });
    expect(code(() => f.student("hubmis:nobody"))).toBe("shell.support_not_found");
    expect(f.accessLog(10).entries).toHaveLength(1);
    t += 4 * 60_000;
    expect(f.touch().unlocked).toBe(true);
    t += 5 * 60_000;
    expect(code(() => f.yearGroup("Year 9"))).toBe("shell.support_locked");
    expect(f.status().unlocked).toBe(false);
    f.enabled = false;
    expect(code(() => f.unlock())).toBe("shell.support_disabled");
  });

  it("exports the log under a new name each time, and logs the export", () => {
    const f = new SupportFixture(new Set());
    f.unlock();
    f.yearGroup("year 9");
    const a = f.exportLog();
    const b = f.exportLog();
    expect(a.path).not.toBe(b.path);
    expect(f.accessLog(1).entries[0]).toMatchObject({ action: "export", what: "access_log", destination: b.path });
  });
});
