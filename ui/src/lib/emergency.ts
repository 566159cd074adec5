// The emergency roll's logic, without the DOM: who is not yet accounted for (listed first),
// the filter by name or group as the person types, the counts, and the ticks themselves.
//
// Ticks live in this module (one store per page, kept while the app runs): moving to another
// screen and back keeps them, ticking needs no round trip to the shell (one frame, even
// offline), and nothing of them is ever written to the school systems or to disk. A roll is
// for one event on one day: a roll of another date starts with no ticks.
import type { DocumentRequest, EmergencyRoll, RollPerson } from "../bindings/ipc";
import { fold, queryWords } from "./search";

export interface RollIndex {
  readonly people: readonly RollPerson[];
  /** Per person: name, family name, given name and group, folded (lower case, no accents). */
  readonly keys: readonly string[];
  /** Group names in list order, each once, with their `system:id` (empty: no homeroom). */
  readonly groups: readonly { name: string; id: string; count: number }[];
}

/** Folds every person's searchable text once per read of the roll, not per keystroke. */
export function buildRollIndex(people: readonly RollPerson[]): RollIndex {
  const groups: { name: string; id: string; count: number }[] = [];
  const seen = new Map<string, { name: string; id: string; count: number }>();
  const keys = people.map((p) => {
    let g = seen.get(p.group);
    if (!g) {
      g = { name: p.group, id: p.group_id, count: 0 };
      seen.set(p.group, g);
      groups.push(g);
    }
    g.count++;
    return fold(`${p.name}\n${p.family_name}\n${p.given_name}\n${p.group}`);
  });
  return { people, keys, groups };
}

/** One line of the list: a person (by position in `index.people`) or the divider above the
 * people already accounted for. */
export type RollLine = { kind: "person"; at: number; accounted: boolean } | { kind: "divider"; count: number };

export interface RollView {
  lines: RollLine[];
  /** Not yet accounted for, among those the filter shows. */
  missing: number;
  /** Accounted for, among those the filter shows. */
  accounted: number;
}

/**
 * The lines to show: everyone the filter lets through (every typed word in their name or
 * group; only `group` when given), those not yet accounted for first, then a divider, then
 * those accounted for — each part in roll order (group, then name).
 */
export function rollView(
  index: RollIndex,
  ticked: ReadonlySet<string>,
  query: string,
  group: string | null,
): RollView {
  const words = queryWords(query);
  const missing: RollLine[] = [];
  const done: RollLine[] = [];
  const { people, keys } = index;
  for (let i = 0; i < people.length; i++) {
    const p = people[i]!;
    if (group !== null && p.group !== group) continue;
    if (words.length) {
      const key = keys[i]!;
      let ok = true;
      for (const w of words) {
        if (!key.includes(w)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    if (ticked.has(p.id)) done.push({ kind: "person", at: i, accounted: true });
    else missing.push({ kind: "person", at: i, accounted: false });
  }
  const lines = done.length ? [...missing, { kind: "divider", count: done.length } as RollLine, ...done] : missing;
  return { lines, missing: missing.length, accounted: done.length };
}

/** "12 of 340 accounted for" over the whole roll (the filter does not change it). */
export function countLine(roll: readonly RollPerson[], ticked: ReadonlySet<string>): { accounted: number; total: number; text: string } {
  let accounted = 0;
  for (const p of roll) if (ticked.has(p.id)) accounted++;
  return { accounted, total: roll.length, text: `${accounted} of ${roll.length} accounted for` };
}

/**
 * Where the focus goes after `id` is ticked: to the next person not yet accounted for
 * (the one below it, else the one above), or to `id` itself when it was the last one. For an
 * untick, the person below it among those accounted for (else above), else `id`.
 */
export function focusAfterToggle(view: RollView, index: RollIndex, id: string): string {
  const pos = view.lines.findIndex((l) => l.kind === "person" && index.people[l.at]!.id === id);
  if (pos < 0) return id;
  const line = view.lines[pos] as Extract<RollLine, { kind: "person" }>;
  const same = (l: RollLine | undefined): l is Extract<RollLine, { kind: "person" }> =>
    l?.kind === "person" && l.accounted === line.accounted;
  const below = view.lines[pos + 1];
  if (same(below)) return index.people[below.at]!.id;
  const above = view.lines[pos - 1];
  if (same(above)) return index.people[above.at]!.id;
  return id;
}

/** The position in `view.lines` of person `id`, or -1 when the filter hides them. */
export function lineOf(view: RollView, index: RollIndex, id: string): number {
  return view.lines.findIndex((l) => l.kind === "person" && index.people[l.at]!.id === id);
}

/** The emergency list to print or save: the group on screen, or everyone. */
export function documentRequest(group: { id: string } | null): DocumentRequest {
  return { kind: "emergency", section: group && group.id ? group.id : null };
}

/** "data as of" in words: the time today, or the date and time of an older copy. */
export function asOfText(rfc3339: string | null, now: Date = new Date()): string {
  if (!rfc3339) return "No data has been copied to this computer yet";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const time = d.toLocaleTimeString(undefined, { timeStyle: "short" });
  if (d.toDateString() === now.toDateString()) return `Data as of ${time} today`;
  return `Data as of ${d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" })}, ${time}`;
}

/** A contact's may-collect in words: a "may not" is shouted. */
export function mayCollect(v: boolean | null): { text: string; kind: "yes" | "no" | "unknown" } {
  if (v === true) return { text: "may collect", kind: "yes" };
  if (v === false) return { text: "NO — may not collect", kind: "no" };
  return { text: "may collect: not recorded", kind: "unknown" };
}

/** A phone number as a `tel:` link (digits and a leading + only). */
export function telHref(phone: string): string {
  const trimmed = phone.trim();
  const digits = trimmed.replace(/[^\d]/g, "");
  return `tel:${trimmed.startsWith("+") ? "+" : ""}${digits}`;
}

// ---- the ticks --------------------------------------------------------------------------

/** The ticks of one day's roll: person id → when they were ticked (ms since the epoch). */
export class RollTicks {
  private date: string | null = null;
  private ticks = new Map<string, number>();
  private listeners = new Set<() => void>();

  /** The roll of `date` is on screen; ticks of another day are dropped. */
  useDate(date: string): void {
    if (this.date !== date) {
      this.date = date;
      if (this.ticks.size) {
        this.ticks = new Map();
        this.changed();
      }
    }
  }

  has(id: string): boolean {
    return this.ticks.has(id);
  }

  at(id: string): number | undefined {
    return this.ticks.get(id);
  }

  /** The ticked ids, for `rollView` (a fresh set each time, so a derived value re-runs). */
  snapshot(): Set<string> {
    return new Set(this.ticks.keys());
  }

  get size(): number {
    return this.ticks.size;
  }

  /** Ticks or unticks `id`; answers whether it is ticked now. */
  toggle(id: string, now: number = Date.now()): boolean {
    const on = !this.ticks.has(id);
    if (on) this.ticks.set(id, now);
    else this.ticks.delete(id);
    this.changed();
    return on;
  }

  /** "Start a new roll": every tick goes. */
  clear(): void {
    this.ticks = new Map();
    this.changed();
  }

  /** Calls `on` after each change until the returned function is called. */
  subscribe(on: () => void): () => void {
    this.listeners.add(on);
    return () => void this.listeners.delete(on);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** The page's one roll: kept while the app runs, whatever screen is shown. */
export const rollTicks = new RollTicks();

/** The roll's line under the count: who was left out and why. */
export function leftOutLine(roll: Pick<EmergencyRoll, "absent" | "groups_without_register">): string {
  const parts: string[] = [];
  if (roll.absent > 0) {
    parts.push(`${roll.absent} marked absent or excused today ${roll.absent === 1 ? "is" : "are"} not listed`);
  }
  if (roll.groups_without_register > 0) {
    const n = roll.groups_without_register;
    parts.push(`${n} ${n === 1 ? "group has" : "groups have"} no register yet, so everyone on roll there is listed`);
  }
  return parts.join(" · ");
}
