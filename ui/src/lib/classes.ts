// The Classes screen's logic, kept out of the component so it can be tested alone: which
// classes match the picker's search, who can be added to a class, the words for a queued
// write's state, and a grade checked the way the shell checks it (so a typo is said at
// once, before the shell refuses it).
import type {
  ClassMemberView,
  ClassOption,
  GradeCellView,
  OutboxStateId,
  PersonRow,
  QueuedWriteView,
} from "../bindings/ipc";
import { buildIndex, fold, queryWords, search, type SearchIndex } from "./search";

/** The cache tables the class page is read from (with the outbox): re-read when they change. */
export const CLASS_TABLES = ["outbox", "sections", "enrollments", "grades", "students", "schools"] as const;

/** Classes whose name, code, school or teacher hold every typed word, in list order. */
export function filterClasses(classes: readonly ClassOption[], query: string): ClassOption[] {
  const words = queryWords(query);
  if (words.length === 0) return [...classes];
  return classes.filter((c) => {
    const hay = fold([c.name, c.code ?? "", c.school ?? "", c.teacher ?? "", c.id].join("\n"));
    return words.every((w) => hay.includes(w));
  });
}

/** `matrix:810001` → `810001`; anything else as it is. */
export function classNumber(id: string): string {
  return id.startsWith("matrix:") ? id.slice("matrix:".length) : id;
}

/** A state in one word, as the row shows it; `offline` says a waiting write is kept here. */
export function stateLabel(state: OutboxStateId, offline = false): string {
  switch (state) {
    case "pending":
    case "sending":
      return offline ? "Saved, waiting" : state === "sending" ? "Sending" : "Pending";
    case "held":
      return "Held";
    case "done":
      return "Sent";
    case "conflict":
      return "Conflict";
    case "failed":
      return "Failed";
    case "discarded":
      return "Discarded";
  }
}

/** What the state means for the person, in a sentence. */
export function stateSentence(change: QueuedWriteView, offline = false): string {
  switch (change.state) {
    case "pending":
    case "sending":
      return offline
        ? "Saved on this computer; it goes to Matrix when the network is back."
        : "Saved; it is on its way to Matrix.";
    case "held":
      return "Saved; held until Matrix's connection is fixed (see Today).";
    case "done":
      return "Sent: Matrix has it.";
    case "conflict":
      return "Someone changed this in Matrix too: choose which to keep in the Outbox.";
    case "failed":
      return `Matrix refused it${change.last_error ? `: ${change.last_error}` : ""}. Retry or discard it in the Outbox.`;
    case "discarded":
      return "Discarded: it will not be sent.";
  }
}

/** Whether a write waits for a person (a link to its receipt is shown). */
export function needsAttention(change: QueuedWriteView | null | undefined): boolean {
  return change?.state === "conflict" || change?.state === "failed";
}

/** On the roster as the person should see it: as synced, with a queued add or remove applied. */
export function enrolled(m: ClassMemberView): boolean {
  if (m.roster_change === "add") return true;
  if (m.roster_change === "remove") return false;
  return m.on_roster;
}

/** The grade a cell shows: the newest queued, else what Matrix last had. */
export function shownGrade(cell: GradeCellView | undefined): string {
  return cell?.queued ?? cell?.grade ?? "";
}

/** A grade as Matrix takes it (`b+` → `B+`), or why not: the shell's own rule. */
export type GradeCheck = { ok: true; grade: string } | { ok: false; message: string };

const KINDS = "a letter (A to D, with + or −, or F), a number of points, a percentage (85%) or X, M, I or AB";

function trimNum(n: number): string {
  return String(n);
}

export function checkGrade(text: string, points: number | null): GradeCheck {
  const g = text.trim();
  if (!g) return { ok: false, message: `The grade is empty. Type ${KINDS}; to clear a grade, clear it in Matrix itself.` };
  const upper = g.toUpperCase();
  if (["X", "M", "I", "AB"].includes(upper)) return { ok: true, grade: upper };
  if (g.endsWith("%")) {
    const p = Number(g.slice(0, -1).trim());
    if (g.slice(0, -1).trim() !== "" && Number.isFinite(p) && p >= 0 && p <= 100) return { ok: true, grade: `${trimNum(p)}%` };
    return { ok: false, message: `'${g}' is not a percentage from 0% to 100%. Type ${KINDS}.` };
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(g)) {
    const n = Number(g);
    if (n < 0) return { ok: false, message: `'${g}' is below zero. Type ${KINDS}.` };
    if (points !== null && points > 0 && n > points) {
      return {
        ok: false,
        message: `This assignment is marked out of ${trimNum(points)} points, so ${g} is too many. Type a score from 0 to ${trimNum(points)}, a percentage or a letter.`,
      };
    }
    return { ok: true, grade: trimNum(n) };
  }
  if (/^[A-D][+-]?$|^F$/.test(upper)) return { ok: true, grade: upper };
  return { ok: false, message: `'${g}' is not a grade Matrix takes. Type ${KINDS}.` };
}

/** The Matrix user id a person has (`matrix:<id>` among their ids), if any. */
export function matrixId(p: PersonRow): string | undefined {
  return p.ids.find((id) => id.startsWith("matrix:"))?.slice("matrix:".length);
}

/**
 * Everyone who could be added: known to Matrix, not on the roster (nor being added), and
 * matching the typed words; at most `limit`, in the people index's order.
 */
export function addCandidates(
  index: SearchIndex,
  members: readonly ClassMemberView[],
  query: string,
  limit = 50,
): PersonRow[] {
  const taken = new Set<string>();
  for (const m of members) {
    if (enrolled(m) || m.roster_change) {
      taken.add(m.person);
      taken.add(`matrix:${m.user_id}`);
    }
  }
  const out: PersonRow[] = [];
  for (const at of search(index, query)) {
    const p = index.people[at]!;
    if (!p.systems.includes("matrix") || taken.has(p.id)) continue;
    const mx = matrixId(p);
    if (mx && taken.has(`matrix:${mx}`)) continue;
    out.push(p);
    if (out.length >= limit) break;
  }
  return out;
}

export { buildIndex };

/** The row to move to after Enter or an arrow: down or up, staying inside the list. */
export function nextRow(at: number, count: number, key: "down" | "up"): number {
  if (count === 0) return -1;
  return key === "down" ? Math.min(count - 1, at + 1) : Math.max(0, at - 1);
}
