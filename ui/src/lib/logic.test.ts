// The frame's pure logic: the router, the search filter, the virtual list's arithmetic and
// the words of the status line.
import { describe, expect, it } from "vitest";
import { href, parseHash, type Route } from "./router";
import { buildIndex, fold, search } from "./search";
import { moveActive, pageRows, scrollToShow, visibleWindow } from "./virtual";
import { clockTime, describeSystem, describeUpdate, formatTime, leftToSync, operationLabel, summarize } from "./format";
import { demoPeople, manyPeople } from "../fixture/data";
import { demoActivity, systemActivity } from "../fixture/mock";
import type { AppStatus } from "../bindings/ipc";

describe("the router", () => {
  it("reads every screen from the hash and writes it back the same", () => {
    const routes: Route[] = [
      { screen: "today" },
      { screen: "rosters" },
      { screen: "student", person: "ext:S-1001" },
      { screen: "student", person: "omniforge:of 12/x" },
      { screen: "outbox", entry: null },
      { screen: "outbox", entry: 42 },
      { screen: "documents" },
      { screen: "register", arg: null },
      { screen: "register", arg: "omniforge:SEC-1/2026-11-30" },
      { screen: "support", arg: "ext:S-1001" },
      { screen: "enrollment", arg: "checklist/CL 1" },
    ];
    for (const r of routes) expect(parseHash(href(r))).toEqual(r);
    expect(href({ screen: "student", person: "ext:S-1001" })).toBe("#/student/ext%3AS-1001");
  });

  it("falls back to a screen that exists for anything it does not know", () => {
    expect(parseHash("")).toEqual({ screen: "today" });
    expect(parseHash("#/nowhere")).toEqual({ screen: "today" });
    expect(parseHash("#/student")).toEqual({ screen: "rosters" });
    expect(parseHash("#/student/%E0%A4%A")).toEqual({ screen: "rosters" });
    expect(parseHash("#/outbox/abc")).toEqual({ screen: "outbox", entry: null });
    expect(parseHash("#/outbox/-3")).toEqual({ screen: "outbox", entry: null });
    expect(parseHash("#/classes/%E0%A4%A")).toEqual({ screen: "classes", arg: null });
    expect(parseHash("#/emergency/")).toEqual({ screen: "emergency", arg: null });
  });
});

describe("the search filter", () => {
  const index = buildIndex(demoPeople());
  const names = (q: string, within?: Set<string>) => search(index, q, within).map((i) => index.people[i]!.name);

  it("finds by any part of a name, accents and case aside", () => {
    expect(fold("García")).toBe("garcia");
    expect(names("garc")).toEqual(["Sofia García"]);
    expect(names("OKAFOR")).toEqual(["Amara Okafor"]);
    expect(names("ama oka")).toEqual(["Amara Okafor"]);
    expect(names("oka zzz")).toEqual([]);
  });

  it("finds by any system's id, and everyone for an empty search", () => {
    expect(names("uk-0042")).toEqual(["Oliver Hughes"]);
    expect(names("powerschool:po-1003")).toEqual(["Sofia García"]);
    expect(names("   ")).toHaveLength(demoPeople().length);
  });

  it("keeps to a section's members when one is chosen", () => {
    expect(names("", new Set(["ext:S-1001", "ext:S-1004"]))).toEqual(["Amara Okafor", "Noor Rahman"]);
    expect(names("noor", new Set(["ext:S-1001"]))).toEqual([]);
  });

  it("searches 50,000 people without losing any", () => {
    const big = buildIndex(manyPeople(50_000));
    expect(search(big, "").length).toBe(50_000);
    const hit = search(big, "s-149999");
    expect(hit.map((i) => big.people[i]!.ids[0])).toEqual(["S-149999"]);
  });
});

describe("the virtual list's window", () => {
  it("renders only the rows in view, plus the overscan", () => {
    expect(visibleWindow(0, 480, 60, 50_000, 4)).toEqual({ start: 0, end: 13, offset: 0, total: 3_000_000 });
    // Scrolled to row 1000: rows 996..1013 in the DOM, placed at row 996.
    expect(visibleWindow(60_000, 480, 60, 50_000, 4)).toEqual({ start: 996, end: 1013, offset: 59_760, total: 3_000_000 });
  });

  it("stays inside the list at its ends and when it is empty or short", () => {
    const end = visibleWindow(10_000_000, 480, 60, 100, 4);
    expect(end.end).toBe(100);
    // The last 8 rows (92..99) fill the view; 4 more above them.
    expect(end.start).toBe(88);
    expect(visibleWindow(0, 480, 60, 3)).toEqual({ start: 0, end: 3, offset: 0, total: 180 });
    expect(visibleWindow(0, 480, 60, 0)).toEqual({ start: 0, end: 0, offset: 0, total: 0 });
  });

  it("moves the active row as the keys say, never past either end", () => {
    const page = pageRows(480, 60);
    expect(page).toBe(7);
    expect(moveActive("ArrowDown", -1, 10, page)).toBe(0);
    expect(moveActive("ArrowDown", 9, 10, page)).toBe(9);
    expect(moveActive("ArrowUp", 0, 10, page)).toBe(0);
    expect(moveActive("End", 2, 10, page)).toBe(9);
    expect(moveActive("Home", 7, 10, page)).toBe(0);
    expect(moveActive("PageDown", 5, 10, page)).toBe(9);
    expect(moveActive("PageUp", 5, 10, page)).toBe(0);
    expect(moveActive("PageDown", 0, 100, page)).toBe(7);
    expect(moveActive("a", 3, 10, page)).toBeNull();
    expect(moveActive("ArrowDown", -1, 0, page)).toBeNull();
  });

  it("scrolls just enough to show the active row", () => {
    expect(scrollToShow(5, 0, 480, 60)).toBe(0);
    expect(scrollToShow(8, 0, 480, 60)).toBe(60);
    expect(scrollToShow(2, 600, 480, 60)).toBe(120);
  });
});

describe("the status words", () => {
  const ready: AppStatus = { version: "1", demo: false, first_run: false, data_dir: "/d", sync: { state: "ready" } };
  const one = (extra: Parameters<typeof systemActivity>[2]) => ({
    ...demoActivity(),
    sending: false,
    systems: [systemActivity("matrix", "Matrix LMS"), systemActivity("hubmis", "WCBS HUBmis", extra)],
  });

  it("claims no more than it knows", () => {
    expect(summarize(ready, undefined).text).toBe("Ready");
    expect(summarize(ready, { ...demoActivity(), systems: [] }).text).toBe("No school system connected");
    expect(summarize(ready, one({ syncing: true })).text).toBe("Syncing…");
    expect(summarize(ready, one({ reachable: false })).text).toBe("Working from the cache");
    expect(summarize(ready, one({ last_sync_at: null })).text).toBe("Not synced yet");
    expect(summarize(ready, { ...one({}), sending: true }).text).toBe("Sending…");
    expect(summarize(ready, { ...one({}), offline: true }).text).toBe("Offline");
    expect(summarize(ready, one({})).text).toBe("Up to date");
  });

  it("tells each system's state truthfully", () => {
    const now = new Date(2025, 8, 1, 9, 30);
    const at = new Date(2025, 8, 1, 8, 5).toISOString();
    expect(describeSystem(systemActivity("matrix", "Matrix LMS", { syncing: true, register_ready: false })).text).toBe("Syncing Matrix LMS…");
    expect(describeSystem(systemActivity("omniforge", "OmniForge SIS", { syncing: true, register_ready: false, phase: "students", rows: 120 })).text).toBe("Syncing OmniForge SIS · students (120 rows)");
    expect(describeSystem(systemActivity("powerschool", "PowerSchool Enrollment", { syncing: true, phase: "guardians", rows: 40 })).text).toBe("PowerSchool Enrollment: register ready");
    expect(describeSystem(systemActivity("matrix", "Matrix LMS", { reachable: false })).kind).toBe("warn");
    const bad = describeSystem(systemActivity("hubmis", "WCBS HUBmis", { problem: { code: "connector.auth", message: "Refused the key.", retryable: false } }));
    expect(bad).toMatchObject({ text: "WCBS HUBmis: Refused the key.", kind: "bad" });
    expect(describeSystem(systemActivity("omniforge", "OmniForge SIS", { last_sync_at: at }), now).text).toMatch(/^OmniForge SIS synced 0?8:05(\sAM)?$/);
  });

  it("says the day when the last sync was not today", () => {
    const now = new Date(2025, 8, 3, 9, 0);
    const today = new Date(2025, 8, 3, 7, 4).toISOString();
    expect(clockTime(today, now)).toMatch(/^0?7:04(\sAM)?$/);
    // The same clock as the full date and time, so a card never mixes 17:45 with 5:45 PM.
    expect(formatTime(today).endsWith(clockTime(today, now))).toBe(true);
    const earlier = clockTime(new Date(2025, 8, 1, 17, 45).toISOString(), now);
    expect(earlier).toMatch(/(17:45|5:45\sPM)$/);
    expect(earlier).not.toMatch(/^(17:45|5:45\sPM)$/);
  });

  it("says about an update only what there is to say", () => {
    expect(describeUpdate({ state: "none" })).toBeUndefined();
    expect(describeUpdate({ state: "checking" })).toBeUndefined();
    expect(describeUpdate({ state: "staged", version: "0.2.0", notes: null })?.kind).toBe("ok");
    expect(describeUpdate({ state: "failed", code: "update.refused", message: "Refused." })).toEqual({ text: "Refused.", kind: "bad" });
    expect(operationLabel("remove_students_from_class")).toBe("Remove students from class");
  });
});

describe("what a running sync still needs", () => {
  it("says the time at the pace kept so far when the shell can tell", () => {
    expect(leftToSync({ seconds_left: 20, requests_left: 40 })).toBe("less than a minute left");
    expect(leftToSync({ seconds_left: 600, requests_left: 40 })).toBe("about 10 minutes left");
    expect(leftToSync({ seconds_left: 3 * 3600, requests_left: 4000 })).toBe("about 3 hours left");
  });

  it("falls back to the requests expected, then to nothing", () => {
    expect(leftToSync({ seconds_left: null, requests_left: 1 })).toBe("about 1 request left");
    expect(leftToSync({ seconds_left: null, requests_left: null })).toBe("");
  });
});
