// The words and the one rule set that first run and Settings share: what each system is,
// how a typed form becomes a `ConnectionInput`, the estimate in words, and when the wipe
// is armed. Pure functions, tested in connections.test.ts.
import {
  WIPE_PHRASE,
  type ActivityView,
  type ConnectionInput,
  type ConnectionView,
  type EstimateView,
  type SystemId,
} from "../bindings/ipc";
import { BackendError } from "../backend/backend";
import { plural } from "./format";

/** What each system is for, as a registrar would recognise it on the first-run list. */
export const SYSTEM_USE: Record<SystemId, string> = {
  omniforge: "The district's student information system: students, guardians, attendance.",
  powerschool: "Online enrollment: registration forms, checklists and documents.",
  matrix: "The learning platform: classes, rosters, grades and course attendance.",
  hubmis: "UK independent schools: students, contacts, registers and learning support.",
};

/** Why learning support is off until someone switches it on. */
export const LEARNING_SUPPORT_WHY =
  "Learning-support (SEN) records are sensitive, so Schooldesk copies them only when the school chooses to; switching it off later deletes the copies.";

/** What the form holds as typed. */
export interface ConnectionFields {
  base_url: string;
  account: string;
  realm: string;
  secret: string;
  learning_support: boolean;
  time_zone: string;
  /** Requests a minute as typed; empty: the system's own limit. */
  requests_per_minute: string;
}

/** A form filled from what is saved; the secret is never sent back, so it starts empty. */
export function fieldsFrom(view: ConnectionView): ConnectionFields {
  return {
    base_url: view.base_url ?? "",
    account: view.account ?? "",
    realm: view.realm ?? "",
    secret: "",
    learning_support: view.learning_support,
    time_zone: view.time_zone ?? "",
    requests_per_minute: view.requests_per_minute === null ? "" : String(view.requests_per_minute),
  };
}

/** Learning support is HUBmis's alone: the other systems hold no SEN records. */
export function offersLearningSupport(view: ConnectionView): boolean {
  return view.system === "hubmis";
}

/**
 * The connection to test or save. Fields the system does not use go as null (the shell
 * refuses an account for a system that signs in with its key alone); an empty time zone
 * means this computer's; an empty secret keeps the one in the keychain.
 */
export function inputFrom(view: ConnectionView, f: ConnectionFields): ConnectionInput {
  return {
    system: view.system,
    base_url: f.base_url.trim(),
    account: view.uses_account ? f.account.trim() : null,
    realm: view.uses_realm ? f.realm.trim() : null,
    secret: f.secret.trim(),
    learning_support: offersLearningSupport(view) ? f.learning_support : null,
    time_zone: f.time_zone.trim(),
    requests_per_minute: paceFrom(f.requests_per_minute),
  };
}

/** The pace as typed, for the shell: empty is 0 (the system's own limit). Anything but a
 * whole number is refused here with a sentence, since JSON would carry it as "keep". */
export function paceFrom(typed: string): number {
  const t = typed.trim();
  if (t === "") return 0;
  if (!/^\d+$/.test(t)) {
    throw new BackendError({
      code: "ui.invalid_input",
      message: `"${t}" is not a number of requests a minute. Type a whole number, or leave it empty to use the system's own limit. Nothing was sent.`,
      retryable: false,
    });
  }
  return Number(t);
}

/** "About 40 requests; at least 2 minutes at the system's pace." */
export function describeEstimate(e: EstimateView): string {
  const time =
    e.minutes === 0
      ? "under a minute at the system's pace"
      : `at least ${plural(e.minutes, "minute", "minutes")} at the system's pace`;
  const assumed =
    e.assumed_students !== null
      ? ` (guessed for a district of ${e.assumed_students.toLocaleString("en")} students, as nothing is stored yet)`
      : "";
  return `First sync: about ${plural(e.requests, "request", "requests")}, ${time}${assumed}.`;
}

/** "Client secret" → "client secret", inside a sentence; "API key" keeps its capitals. */
export function secretNoun(label: string): string {
  return /^[A-Z][a-z]/.test(label) ? label.charAt(0).toLowerCase() + label.slice(1) : label;
}

/** A connection's state in words and colour. */
export function connectionState(view: ConnectionView): { text: string; kind: "ok" | "bad" | "idle" } {
  if (!view.connected) return { text: "Not connected", kind: "idle" };
  if (!view.has_secret) {
    return { text: `Connected, but its ${secretNoun(view.secret_label)} is missing from the keychain`, kind: "bad" };
  }
  return { text: "Connected", kind: "ok" };
}

/** The time zone line: the school's, or this computer's when none is saved. */
export function describeTimeZone(zone: string | null, computer: string = localTimeZone()): string {
  return zone ? zone : `This computer's (${computer})`;
}

export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "unknown";
}

/** Every IANA zone the browser knows, for the form's suggestions (none on an old engine). */
export function timeZoneNames(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.("timeZone") ?? [];
  } catch {
    return [];
  }
}

/** 18874368 → "18 MB". */
export function formatBytes(n: number): string {
  if (n === 0) return "Not created yet";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

/** The wipe button is armed only by the exact phrase (surrounding spaces forgiven, as the shell does). */
export function wipeArmed(typed: string): boolean {
  return typed.trim() === WIPE_PHRASE;
}

/** Writes a wipe would lose: everything not yet sent or decided. */
export function unsentWrites(activity: ActivityView | undefined): number {
  if (!activity) return 0;
  return activity.waiting + activity.conflicts + activity.failed + activity.held;
}
