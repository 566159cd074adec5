// The words the frame uses for the desk's state: the summary line, each system's chip, the
// update line, times and operation names. Pure functions, tested in format.test.ts.
import type {
  ActivityView,
  AppStatus,
  SystemActivityView,
  UpdateStatus,
} from "../bindings/ipc";

/** Tables whose writes can change who is listed (Rosters) or what a student page shows. */
export const PEOPLE_TABLES = new Set(["students", "sections", "guardians", "enrollments", "contacts"]);

const OFFLINE_DETAIL =
  "— everything shown is from this computer's cache; writes are kept and sent when the network is back";
/** What the offline banner says, whole (its first word is set as a badge). */
export const OFFLINE_TEXT = `Offline ${OFFLINE_DETAIL}`;


/** `submit_attendance` → `Submit attendance`. */
export function operationLabel(op: string): string {
  const words = op.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function formatTime(rfc3339: string): string {
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime())
    ? rfc3339
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** The time of day as this computer writes it (the same clock as `formatTime`), with the
 * day in front when it is not today. */
export function clockTime(rfc3339: string, now: Date = new Date()): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const hhmm = d.toLocaleTimeString(undefined, { timeStyle: "short" });
  return d.toDateString() === now.toDateString()
    ? hhmm
    : `${d.toLocaleDateString(undefined, { day: "numeric", month: "short" })} ${hhmm}`;
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a running sync still needs, in words: time at the pace kept so far when the shell
 * can tell, else the requests its estimate expects, else nothing. */
export function leftToSync(s: Pick<SystemActivityView, "requests_left" | "seconds_left">): string {
  if (s.seconds_left !== null) {
    if (s.seconds_left < 60) return "less than a minute left";
    const minutes = Math.round(s.seconds_left / 60);
    if (minutes < 90) return `about ${plural(minutes, "minute", "minutes")} left`;
    const hours = Math.round(s.seconds_left / 360) / 10;
    return `about ${hours} hours left`;
  }
  if (s.requests_left !== null) return `about ${plural(s.requests_left, "request", "requests")} left`;
  return "";
}

/** One system's chip: what it is doing, in the words and colour the strip shows. */
export function describeSystem(
  s: SystemActivityView,
  now: Date = new Date(),
): { text: string; kind: "busy" | "ok" | "warn" | "bad" | "idle"; title: string } {
  const name = s.system_name;
  const progress = s.phase ? ` · ${s.phase} (${s.rows} rows)` : "…";
  const left = leftToSync(s) ? `, ${leftToSync(s)}` : "";
  if (s.syncing && s.register_ready) {
    return {
      text: `${name}: register ready`,
      kind: "busy",
      title: `Today's registers from ${name} are ready. Still syncing${progress}${left}.`,
    };
  }
  if (s.syncing) {
    return { text: `Syncing ${name}${progress}`, kind: "busy", title: `Syncing ${name}${progress}${left}.` };
  }
  if (!s.reachable) {
    return {
      text: `${name}: not answering — working from the cache`,
      kind: "warn",
      title: `${name} does not answer. Schooldesk keeps trying and works from what it has stored.`,
    };
  }
  if (s.problem) {
    const text = `${name}: ${s.problem.message}`;
    return { text, kind: "bad", title: text };
  }
  if (s.last_sync_at) {
    const next = s.next_sync_at ? ` Next sync ${clockTime(s.next_sync_at, now)}.` : "";
    return {
      text: `${name} synced ${clockTime(s.last_sync_at, now)}`,
      kind: "ok",
      title: `Last sync ${formatTime(s.last_sync_at)}.${next}`,
    };
  }
  return { text: `${name}: not synced yet`, kind: "idle", title: `${name} has not been synced yet.` };
}

/** The one-line summary in the top bar, from the first sync and what the systems are doing. */
export function summarize(
  status: AppStatus,
  activity: ActivityView | undefined,
): { text: string; kind: "busy" | "ok" | "warn" | "bad" | "idle" } {
  switch (status.sync.state) {
    case "starting":
      return {
        text:
          (status.demo ? "Starting the demo district and syncing" : "Syncing") +
          (status.sync.detail ? ` · ${status.sync.detail}` : "…"),
        kind: "busy",
      };
    case "failed":
      return { text: "Not syncing", kind: "bad" };
    case "ready":
      break;
  }
  // Without word from the systems, "ready" is all that is known.
  if (!activity) return { text: "Ready", kind: "idle" };
  const systems = activity.systems;
  if (systems.length === 0) {
    return status.demo ? { text: "Ready", kind: "idle" } : { text: "No school system connected", kind: "idle" };
  }
  if (activity.offline) return { text: "Offline", kind: "bad" };
  if (systems.some((s) => s.problem && !s.syncing && s.reachable)) return { text: "Needs attention", kind: "bad" };
  if (systems.some((s) => !s.reachable)) return { text: "Working from the cache", kind: "warn" };
  if (systems.some((s) => s.syncing)) return { text: "Syncing…", kind: "busy" };
  if (activity.sending) return { text: "Sending…", kind: "busy" };
  if (systems.some((s) => !s.last_sync_at)) return { text: "Not synced yet", kind: "idle" };
  return { text: "Up to date", kind: "ok" };
}


/** The update line under the top bar: what to say about the app's own update, if anything. */
export function describeUpdate(
  status: UpdateStatus,
): { text: string; kind: "busy" | "ok" | "bad" } | undefined {
  switch (status.state) {
    case "none":
    case "checking":
      return undefined;
    case "available":
      return { text: `Downloading Schooldesk ${status.version} and checking its signature…`, kind: "busy" };
    case "staged":
      return {
        text: `Schooldesk ${status.version} is ready. Restart to update when it suits you; waiting changes are sent first.${
          status.notes ? ` What's new: ${status.notes}` : ""
        }`,
        kind: "ok",
      };
    case "failed":
      return { text: status.message, kind: "bad" };
  }
}

