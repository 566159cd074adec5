import { describe, expect, it } from "vitest";
import type { RollPerson } from "../bindings/ipc";
import {
  asOfText,
  buildRollIndex,
  countLine,
  documentRequest,
  focusAfterToggle,
  leftOutLine,
  lineOf,
  mayCollect,
  RollTicks,
  rollView,
  telHref,
} from "./emergency";
import { emergencyRoll } from "../fixture/emergency";
import { manyPeople } from "../fixture/data";

function p(given: string, family: string, group: string, extra: Partial<RollPerson> = {}): RollPerson {
  return {
    id: `ext:${given}-${family}`,
    name: `${given} ${family}`,
    given_name: given,
    family_name: family,
    group,
    group_id: group ? `omniforge:${group}` : "",
    state: "present",
    state_label: "present",
    contacts: [],
    medical: [],
    records: [],
    ...extra,
  };
}

const ROLL = [
  p("Amara", "Okafor", "Homeroom 7A"),
  p("Liam", "Chen", "Homeroom 7A"),
  p("Zoë", "García", "Homeroom 7B"),
  p("Oliver", "Hughes", "9H"),
];

const names = (view: ReturnType<typeof rollView>, index: ReturnType<typeof buildRollIndex>) =>
  view.lines.map((l) => (l.kind === "divider" ? `— ${l.count} —` : index.people[l.at]!.given_name));

describe("the emergency roll's order", () => {
  it("lists those not yet accounted for first, then a divider, then those accounted for, each in roll order", () => {
    const index = buildRollIndex(ROLL);
    const view = rollView(index, new Set(["ext:Liam-Chen", "ext:Amara-Okafor"]), "", null);
    expect(names(view, index)).toEqual(["Zoë", "Oliver", "— 2 —", "Amara", "Liam"]);
    expect(view.missing).toBe(2);
    expect(view.accounted).toBe(2);
  });

  it("has no divider while nobody is accounted for", () => {
    const index = buildRollIndex(ROLL);
    const view = rollView(index, new Set(), "", null);
    expect(view.lines.every((l) => l.kind === "person")).toBe(true);
    expect(view.missing).toBe(4);
  });
});

describe("the emergency roll's filter", () => {
  const index = buildRollIndex(ROLL);
  it("matches every typed word in the name or the group, ignoring case and accents", () => {
    expect(names(rollView(index, new Set(), "garcia", null), index)).toEqual(["Zoë"]);
    expect(names(rollView(index, new Set(), "ZOE", null), index)).toEqual(["Zoë"]);
    expect(names(rollView(index, new Set(), "7a", null), index)).toEqual(["Amara", "Liam"]);
    expect(names(rollView(index, new Set(), "7a chen", null), index)).toEqual(["Liam"]);
    expect(names(rollView(index, new Set(), "nobody", null), index)).toEqual([]);
  });

  it("keeps to one group when one is chosen, and counts only what it shows", () => {
    const view = rollView(index, new Set(["ext:Amara-Okafor", "ext:Oliver-Hughes"]), "", "Homeroom 7A");
    expect(names(view, index)).toEqual(["Liam", "— 1 —", "Amara"]);
    expect(view.missing).toBe(1);
    expect(view.accounted).toBe(1);
  });

  it("lists the groups once each, in roll order, with their sizes and ids", () => {
    expect(index.groups).toEqual([
      { name: "Homeroom 7A", id: "omniforge:Homeroom 7A", count: 2 },
      { name: "Homeroom 7B", id: "omniforge:Homeroom 7B", count: 1 },
      { name: "9H", id: "omniforge:9H", count: 1 },
    ]);
  });

  it("filters 2,000 people from precomputed keys", () => {
    const roll = emergencyRoll(manyPeople(2000), null).people;
    const big = buildRollIndex(roll);
    expect(big.keys).toHaveLength(roll.length);
    const view = rollView(big, new Set(), "okafor", null);
    expect(view.lines.length).toBeGreaterThan(0);
    for (const l of view.lines) {
      if (l.kind === "person") expect(big.people[l.at]!.name.toLowerCase()).toContain("okafor");
    }
  });
});

describe("the emergency roll's counts and focus", () => {
  it("counts over the whole roll, whatever the filter", () => {
    expect(countLine(ROLL, new Set(["ext:Liam-Chen"])).text).toBe("1 of 4 accounted for");
    expect(countLine(ROLL, new Set(["ext:someone-gone"])).accounted).toBe(0);
  });

  it("moves the focus to the next person not yet accounted for after a tick", () => {
    const index = buildRollIndex(ROLL);
    const view = rollView(index, new Set(), "", null);
    // Below it, else above it, else itself.
    expect(focusAfterToggle(view, index, "ext:Liam-Chen")).toBe("ext:Zoë-García");
    expect(focusAfterToggle(view, index, "ext:Oliver-Hughes")).toBe("ext:Zoë-García");
    const last = rollView(index, new Set(["ext:Amara-Okafor", "ext:Liam-Chen", "ext:Zoë-García"]), "", null);
    expect(focusAfterToggle(last, index, "ext:Oliver-Hughes")).toBe("ext:Oliver-Hughes");
  });

  it("after an untick, the focus stays among those accounted for", () => {
    const index = buildRollIndex(ROLL);
    const view = rollView(index, new Set(["ext:Amara-Okafor", "ext:Liam-Chen"]), "", null);
    expect(focusAfterToggle(view, index, "ext:Amara-Okafor")).toBe("ext:Liam-Chen");
    expect(focusAfterToggle(view, index, "ext:Liam-Chen")).toBe("ext:Amara-Okafor");
    expect(lineOf(view, index, "ext:Liam-Chen")).toBe(4);
    expect(lineOf(view, index, "ext:nobody")).toBe(-1);
  });
});

describe("the ticks", () => {
  it("toggle, clear, and start again on another day", () => {
    const ticks = new RollTicks();
    let told = 0;
    const stop = ticks.subscribe(() => told++);
    ticks.useDate("2025-09-01");
    expect(ticks.toggle("a", 1000)).toBe(true);
    expect(ticks.toggle("b", 2000)).toBe(true);
    expect(ticks.toggle("a")).toBe(false);
    expect([...ticks.snapshot()]).toEqual(["b"]);
    expect(ticks.at("b")).toBe(2000);
    // The same day again (another visit to the screen): the ticks stay.
    ticks.useDate("2025-09-01");
    expect(ticks.size).toBe(1);
    ticks.useDate("2025-09-02");
    expect(ticks.size).toBe(0);
    ticks.toggle("c");
    ticks.clear();
    expect(ticks.size).toBe(0);
    stop();
    const before = told;
    ticks.toggle("d");
    expect(told).toBe(before);
  });
});

describe("the emergency roll's words", () => {
  it("shouts a may-not-collect and says when nothing is recorded", () => {
    expect(mayCollect(false)).toEqual({ text: "NO — may not collect", kind: "no" });
    expect(mayCollect(true).kind).toBe("yes");
    expect(mayCollect(null).text).toMatch(/not recorded/);
  });

  it("makes tel: links of digits only", () => {
    expect(telHref("+1 (555) 0100-201")).toBe("tel:+15550100201");
    expect(telHref("01632 960 123")).toBe("tel:01632960123");
  });

  it("says how old the data is", () => {
    const now = new Date("2025-09-01T12:00:00");
    expect(asOfText(null, now)).toMatch(/No data/);
    expect(asOfText(new Date("2025-09-01T08:05:00").toISOString(), now)).toMatch(/^Data as of .* today$/);
    expect(asOfText(new Date("2025-08-29T16:00:00").toISOString(), now)).toMatch(/^Data as of .*2025/);
  });

  it("says who is left out and why", () => {
    expect(leftOutLine({ absent: 0, groups_without_register: 0 })).toBe("");
    expect(leftOutLine({ absent: 1, groups_without_register: 2 })).toBe(
      "1 marked absent or excused today is not listed · 2 groups have no register yet, so everyone on roll there is listed",
    );
  });

  it("asks for the group on screen, or everyone", () => {
    expect(documentRequest(null)).toEqual({ kind: "emergency", section: null });
    expect(documentRequest({ id: "" })).toEqual({ kind: "emergency", section: null });
    expect(documentRequest({ id: "omniforge:hr-7a" })).toEqual({ kind: "emergency", section: "omniforge:hr-7a" });
  });
});
