// The register's rules, kept apart from the screen so they are tested alone: which key takes
// which mark, where the focus goes next, what the counts say and how each row is read out.
import type { MarkStatus, RegisterRow, RegisterSheet, RegisterState } from "../bindings/ipc";

/** One key of the register and the mark it takes. */
export interface KeyMark {
  /** What `KeyboardEvent.key` is for it (letters lower-case; matched either case). */
  key: string;
  /** What the key map on screen shows. */
  label: string;
  status: MarkStatus;
  /** The school's code it records, or null for the status alone. */
  code: string | null;
}

/** Keys the register keeps for moving, so no school code may take them. */
const RESERVED = new Set(["j", "k", "p", "a", "l", "e", "m", "n", " "]);

const QUICK: { key: string; status: MarkStatus; word: string }[] = [
  { key: "p", status: "present", word: "Present" },
  { key: "a", status: "absent", word: "Absent" },
  { key: "l", status: "late", word: "Late" },
  { key: "e", status: "excused", word: "Excused" },
];

/**
 * P, A, L, E for the four marks (with the school's code for each), then every one-character
 * school code that is not already a key, as itself (`/`, `B`, `I` …). Longer codes are
 * chosen from the row's own list.
 */
export function keyMap(sheet: Pick<RegisterSheet, "quick" | "codes">): KeyMark[] {
  const out: KeyMark[] = QUICK.map(({ key, status, word }) => {
    const code = sheet.quick[status];
    return { key, status, code, label: code ? `${word} (${code})` : word };
  });
  for (const c of sheet.codes) {
    if (c.code.length !== 1 || !c.status) continue;
    const key = c.code.toLowerCase();
    if (RESERVED.has(key) || out.some((k) => k.key === key || k.code === c.code)) continue;
    out.push({ key: c.code, status: c.status, code: c.code, label: `${c.code} ${c.description}` });
  }
  return out;
}

/** The mark a key press takes, if any (no modifier keys; letters either case). */
export function markForKey(
  map: readonly KeyMark[],
  e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey">,
): KeyMark | undefined {
  if (e.ctrlKey || e.metaKey || e.altKey) return undefined;
  const exact = map.find((k) => k.key === e.key);
  if (exact) return exact;
  const lower = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  return map.find((k) => k.key.length === 1 && k.key.toLowerCase() === lower);
}

export function isMarked(state: RegisterState): boolean {
  return state !== "unmarked";
}

/**
 * Where the focus goes after marking row `from`: the next unmarked row below, else the first
 * unmarked one above, else the row below (or `from` at the end) so the clerk can read on.
 */
export function nextRow(rows: readonly Pick<RegisterRow, "state">[], from: number): number {
  for (let i = from + 1; i < rows.length; i++) if (!isMarked(rows[i]!.state)) return i;
  for (let i = 0; i < from; i++) if (!isMarked(rows[i]!.state)) return i;
  return Math.min(from + 1, rows.length - 1);
}

/** The row a movement key leads to from `at` (null: not a movement key). */
export function moveRow(key: string, at: number, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case "ArrowDown":
    case "j":
      return Math.min(at + 1, count - 1);
    case "ArrowUp":
    case "k":
      return Math.max(at - 1, 0);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    case "PageDown":
      return Math.min(at + 10, count - 1);
    case "PageUp":
      return Math.max(at - 10, 0);
    default:
      return null;
  }
}

export interface Counts {
  total: number;
  marked: number;
  notYet: number;
  /** Confirmed by the system (sent from here, or the system's own). */
  sent: number;
  /** Saved here and still to go (pending, held). */
  waiting: number;
  /** Kept on this computer only (the system takes no attendance writes). */
  local: number;
  /** Need a person: conflicts and failures. */
  attention: number;
}

export function counts(rows: readonly Pick<RegisterRow, "state">[]): Counts {
  const c: Counts = { total: rows.length, marked: 0, notYet: 0, sent: 0, waiting: 0, local: 0, attention: 0 };
  for (const r of rows) {
    if (!isMarked(r.state)) {
      c.notYet++;
      continue;
    }
    c.marked++;
    if (r.state === "sent" || r.state === "synced") c.sent++;
    else if (r.state === "pending" || r.state === "held") c.waiting++;
    else if (r.state === "local" || r.state === "discarded") c.local++;
    else c.attention++;
  }
  return c;
}

/** A row's state in words (the badge and the screen reader). */
export function stateWords(state: RegisterState): string {
  switch (state) {
    case "unmarked":
      return "not marked yet";
    case "pending":
      return "waiting to be sent";
    case "sent":
      return "sent";
    case "synced":
      return "from the system";
    case "conflict":
      return "conflict: the system has another mark";
    case "failed":
      return "refused by the system";
    case "held":
      return "held until the connection is fixed";
    case "discarded":
      return "not sent (discarded)";
    case "local":
      return "kept on this computer";
  }
}

export function statusWord(status: MarkStatus): string {
  return status === "present" ? "Present" : status === "absent" ? "Absent" : status === "late" ? "Late" : "Excused";
}

/** What a screen reader says for a row: name, mark (with code, minutes, note), state. */
export function rowLabel(row: RegisterRow): string {
  const m = row.mark;
  if (!m) return `${row.name}: not marked yet`;
  let mark = statusWord(m.status);
  if (m.code && m.code.toLowerCase() !== m.status) mark += ` (${m.code})`;
  if (m.minutes_late) mark += `, ${m.minutes_late} minutes late`;
  if (m.note) mark += `, note: ${m.note}`;
  return `${row.name}: ${mark}, ${stateWords(row.state)}`;
}

/** The place in the register a route names: `<section>[/<YYYY-MM-DD>[/<am|pm>]]`. */
export interface RegisterPlace {
  section: string | null;
  date: string | null;
  session: string | null;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parseArg(arg: string | null): RegisterPlace {
  if (!arg) return { section: null, date: null, session: null };
  const parts = arg.split("/");
  let session: string | null = null;
  let date: string | null = null;
  const last = parts[parts.length - 1]!.toLowerCase();
  if (parts.length > 1 && (last === "am" || last === "pm")) {
    session = last;
    parts.pop();
  }
  if (parts.length > 1 && DATE.test(parts[parts.length - 1]!)) date = parts.pop()!;
  const section = parts.join("/").trim();
  return { section: section || null, date, session };
}

export function argFor(place: RegisterPlace): string | null {
  if (!place.section) return null;
  return [place.section, place.date, place.session].filter((p): p is string => !!p).join("/");
}

/** A mark taken here for the screen to show at once, before the shell answers. */
export function optimistic(row: RegisterRow, key: KeyMark, takesWrites: boolean, at: string): RegisterRow {
  return {
    ...row,
    state: takesWrites ? "pending" : "local",
    mark: {
      status: key.status,
      code: key.code,
      minutes_late: key.status === "late" ? (row.mark?.minutes_late ?? null) : null,
      note: row.mark?.note ?? null,
      period: null,
      marked_here: true,
      marked_at: at,
      marked_by: row.mark?.marked_here ? row.mark.marked_by : null,
      outbox_id: row.mark?.outbox_id ?? null,
      last_error: null,
    },
  };
}

/** Checks the minutes typed for a late mark: empty (none) or a whole number 1–480. */
export function parseMinutes(text: string): { ok: true; value: number | null } | { ok: false; message: string } {
  const t = text.trim();
  if (!t) return { ok: true, value: null };
  if (!/^\d+$/.test(t)) return { ok: false, message: "Type the minutes late as a whole number, for example 10." };
  const n = Number(t);
  if (n < 1 || n > 480) return { ok: false, message: "Minutes late go from 1 to 480 (a school day)." };
  return { ok: true, value: n };
}
