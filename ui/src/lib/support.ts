// The Learning support screen's rules, as pure functions (tested in support.test.ts): what
// the route argument means, when to tell the shell the person is still there, how a review
// date reads (overdue said in words, not only colour), and how the access log reads.
import type { AccessEntryView, PersonRow, SupportRecordView, SystemId } from "../bindings/ipc";
import { buildIndex, search } from "./search";

/** The shell hears of keyboard or pointer activity at most this often. */
export const PING_EVERY_MS = 60_000;

/** What `#/support/<arg>` asks for. */
export type SupportTarget =
  | { kind: "none" }
  | { kind: "log" }
  | { kind: "student"; person: string }
  | { kind: "year"; group: string };

/** `log` is the access log; `year/<group>` a year group; anything else a person id (`ext:…`, `hubmis:…`). */
export function parseTarget(arg: string | null): SupportTarget {
  const a = arg?.trim() ?? "";
  if (!a) return { kind: "none" };
  if (a === "log") return { kind: "log" };
  if (a.startsWith("year/")) {
    const group = a.slice("year/".length).trim();
    return group ? { kind: "year", group } : { kind: "none" };
  }
  return { kind: "student", person: a };
}

/** The route argument for a target (the inverse of `parseTarget`). */
export function targetArg(t: SupportTarget): string | null {
  switch (t.kind) {
    case "none":
      return null;
    case "log":
      return "log";
    case "year":
      return `year/${t.group}`;
    case "student":
      return t.person;
  }
}

/** Whether activity now should reach the shell: never more than once a minute. */
export function shouldPing(lastPing: number | undefined, now: number, every = PING_EVERY_MS): boolean {
  return lastPing === undefined || now - lastPing >= every;
}

/** How long until the idle lock, in words ("4 minutes", "less than a minute"). */
export function lockIn(until: string | null, now: Date = new Date()): string {
  if (!until) return "";
  const ms = Date.parse(until) - now.getTime();
  if (!Number.isFinite(ms) || ms <= 0) return "now";
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "less than a minute";
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/** "3 Oct 2025" from `YYYY-MM-DD` (read as a calendar day, not a moment). */
export function formatDay(day: string | null): string {
  if (!day) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return day;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

/** The next-review line of a record, in words a screen reader and a printout carry too. */
export function reviewLine(r: Pick<SupportRecordView, "next_review" | "overdue" | "closed">): string {
  if (r.closed) return "Closed: no review due";
  if (!r.next_review) return "No review date set";
  if (r.overdue) return `Review overdue since ${formatDay(r.next_review)}`;
  return `Next review ${formatDay(r.next_review)}`;
}

/** People a learning-support search may find: those with a record in a system that has it on. */
export function supportPeople(people: readonly PersonRow[], systems: readonly SystemId[]): PersonRow[] {
  return people.filter((p) => p.systems.some((s) => systems.includes(s)));
}

/** The first `limit` matches of a typed search among `people` (nothing until something is typed). */
export function findPeople(people: readonly PersonRow[], query: string, limit = 20): PersonRow[] {
  if (!query.trim()) return [];
  const index = buildIndex(people);
  return search(index, query)
    .slice(0, limit)
    .map((i) => people[i]!);
}

/** What the log files an access under, in words. */
export function whatLabel(what: string): string {
  switch (what) {
    case "learning_support":
      return "Learning support";
    case "access_log":
      return "Access log";
    case "session_register":
      return "Session register";
    default:
      return what ? what.charAt(0).toUpperCase() + what.slice(1).replace(/_/g, " ") : "";
  }
}

export function actionLabel(action: string): string {
  return action === "export" ? "Exported" : action === "view" ? "Viewed" : action;
}

/** The students of an entry by name (id when the cache no longer knows them), at most `max`. */
export function studentsLabel(e: Pick<AccessEntryView, "students">, max = 3): string {
  const names = e.students.map((s) => s.name ?? s.id);
  if (names.length === 0) return "None named";
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/** Newest first, whatever order they came in (the shell sends them so; a merge must keep it). */
export function newestFirst<T extends Pick<AccessEntryView, "at" | "id">>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || b.id - a.id);
}
