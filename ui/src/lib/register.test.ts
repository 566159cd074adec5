import { describe, expect, it } from "vitest";
import type { RegisterRow, RegisterSheet } from "../bindings/ipc";
import {
  argFor,
  counts,
  keyMap,
  markForKey,
  moveRow,
  nextRow,
  optimistic,
  parseArg,
  parseMinutes,
  rowLabel,
} from "./register";

const hubmis: Pick<RegisterSheet, "quick" | "codes"> = {
  quick: { present: "\\", absent: "N", late: "L", excused: "C" },
  codes: [
    { code: "/", description: "Present (AM)", status: "present" },
    { code: "\\", description: "Present (PM)", status: "present" },
    { code: "B", description: "Educated off site", status: "present" },
    { code: "I", description: "Illness", status: "excused" },
    { code: "J", description: "Interview", status: "present" },
    { code: "L", description: "Late", status: "late" },
    { code: "N", description: "No reason yet", status: "absent" },
    { code: "#", description: "Closed", status: null },
  ],
};

const key = (k: string, extra: Partial<KeyboardEvent> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...extra });

function row(state: RegisterRow["state"], name = "Ana Diaz"): RegisterRow {
  return { student: `omniforge:${name}`, name, external_id: null, state, mark: null };
}

describe("keys", () => {
  it("takes P, A, L, E with the school's code for each, either case", () => {
    const map = keyMap(hubmis);
    expect(markForKey(map, key("p"))).toMatchObject({ status: "present", code: "\\" });
    expect(markForKey(map, key("P"))).toMatchObject({ status: "present", code: "\\" });
    expect(markForKey(map, key("a"))).toMatchObject({ status: "absent", code: "N" });
    expect(markForKey(map, key("l"))).toMatchObject({ status: "late", code: "L" });
    expect(markForKey(map, key("E"))).toMatchObject({ status: "excused", code: "C" });
  });

  it("gives the school's other one-character codes their own key, never a movement key", () => {
    const map = keyMap(hubmis);
    expect(markForKey(map, key("/"))).toMatchObject({ status: "present", code: "/" });
    expect(markForKey(map, key("b"))).toMatchObject({ status: "present", code: "B" });
    expect(markForKey(map, key("I"))).toMatchObject({ status: "excused", code: "I" });
    // J moves down; a code without a meaning is chosen from the row instead.
    expect(markForKey(map, key("j"))).toBeUndefined();
    expect(markForKey(map, key("#"))).toBeUndefined();
    // L is the late key already: listed once.
    expect(map.filter((k) => k.code === "L")).toHaveLength(1);
  });

  it("ignores keys with Ctrl, Alt or Cmd and keys that mark nothing", () => {
    const map = keyMap(hubmis);
    expect(markForKey(map, key("p", { ctrlKey: true }))).toBeUndefined();
    expect(markForKey(map, key("a", { metaKey: true }))).toBeUndefined();
    expect(markForKey(map, key("x"))).toBeUndefined();
    expect(markForKey(map, key("Enter"))).toBeUndefined();
  });

  it("takes a status alone where the desk knows no codes", () => {
    const map = keyMap({ quick: { present: null, absent: null, late: null, excused: null }, codes: [] });
    expect(map.map((k) => k.label)).toEqual(["Present", "Absent", "Late", "Excused"]);
    expect(markForKey(map, key("l"))).toMatchObject({ status: "late", code: null });
  });
});

describe("moving", () => {
  it("goes to the next unmarked pupil, then back to the first one skipped", () => {
    const rows = [row("unmarked"), row("pending"), row("synced"), row("unmarked"), row("unmarked")];
    expect(nextRow(rows, 0)).toBe(3);
    expect(nextRow(rows, 3)).toBe(4);
    rows[4] = row("pending");
    rows[3] = row("pending");
    expect(nextRow(rows, 4)).toBe(0);
  });

  it("moves on one row when everyone is marked, and stays on the last", () => {
    const rows = [row("sent"), row("sent"), row("local")];
    expect(nextRow(rows, 0)).toBe(1);
    expect(nextRow(rows, 2)).toBe(2);
  });

  it("moves with the arrows, J and K, Home and End, within the list", () => {
    expect(moveRow("ArrowDown", 0, 3)).toBe(1);
    expect(moveRow("j", 2, 3)).toBe(2);
    expect(moveRow("k", 0, 3)).toBe(0);
    expect(moveRow("ArrowUp", 2, 3)).toBe(1);
    expect(moveRow("End", 0, 30)).toBe(29);
    expect(moveRow("Home", 12, 30)).toBe(0);
    expect(moveRow("PageDown", 25, 30)).toBe(29);
    expect(moveRow("p", 0, 3)).toBeNull();
    expect(moveRow("ArrowDown", 0, 0)).toBeNull();
  });
});

describe("counts and words", () => {
  it("counts marked, not yet, sent, waiting, kept here and what needs a person", () => {
    const c = counts([
      row("unmarked"),
      row("pending"),
      row("held"),
      row("sent"),
      row("synced"),
      row("local"),
      row("conflict"),
      row("failed"),
    ]);
    expect(c).toEqual({ total: 8, marked: 7, notYet: 1, sent: 2, waiting: 2, local: 1, attention: 2 });
  });

  it("reads a row out with its name, mark and where it stands", () => {
    expect(rowLabel(row("unmarked"))).toBe("Ana Diaz: not marked yet");
    const late = optimistic(row("unmarked"), { key: "l", label: "", status: "late", code: "T" }, true, "2025-09-01T08:00:00Z");
    late.mark = { ...late.mark!, minutes_late: 10, note: "Bus" };
    expect(rowLabel(late)).toBe("Ana Diaz: Late (T), 10 minutes late, note: Bus, waiting to be sent");
    const kept = optimistic(row("unmarked"), { key: "p", label: "", status: "present", code: "/" }, false, "x");
    expect(kept.state).toBe("local");
    expect(rowLabel({ ...kept })).toContain("kept on this computer");
  });

  it("keeps the minutes only on a late mark", () => {
    const late = optimistic(row("unmarked"), { key: "l", label: "", status: "late", code: null }, true, "t");
    late.mark = { ...late.mark!, minutes_late: 5 };
    const present = optimistic(late, { key: "p", label: "", status: "present", code: null }, true, "t");
    expect(present.mark?.minutes_late).toBeNull();
  });
});

describe("route and input", () => {
  it("reads a section, a day and a session from the route, and writes them back", () => {
    expect(parseArg(null)).toEqual({ section: null, date: null, session: null });
    expect(parseArg("omniforge:SEC-1")).toEqual({ section: "omniforge:SEC-1", date: null, session: null });
    expect(parseArg("omniforge:SEC-1/2025-09-01")).toEqual({ section: "omniforge:SEC-1", date: "2025-09-01", session: null });
    expect(parseArg("hubmis:TG/2025-09-01/PM")).toEqual({ section: "hubmis:TG", date: "2025-09-01", session: "pm" });
    expect(parseArg("hubmis:TG/pm")).toEqual({ section: "hubmis:TG", date: null, session: "pm" });
    expect(argFor({ section: "hubmis:TG", date: "2025-09-01", session: "am" })).toBe("hubmis:TG/2025-09-01/am");
    expect(argFor({ section: null, date: "2025-09-01", session: null })).toBeNull();
  });

  it("checks minutes late as a whole number from 1 to 480", () => {
    expect(parseMinutes("")).toEqual({ ok: true, value: null });
    expect(parseMinutes(" 12 ")).toEqual({ ok: true, value: 12 });
    expect(parseMinutes("0").ok).toBe(false);
    expect(parseMinutes("481").ok).toBe(false);
    expect(parseMinutes("1.5").ok).toBe(false);
    expect(parseMinutes("ten").ok).toBe(false);
  });
});
