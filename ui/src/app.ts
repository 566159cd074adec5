// The desk page: header with demo badge, sync status, the Sync now / Send now buttons and
// "Restart to update" once a verified update is staged (with a line saying why one failed),
// a strip saying what each connected system is doing, the student list with its search box,
// and the outbox. It follows the shell's events instead of polling. Plain DOM; every value
// from the backend goes in as text, never HTML.
import type {
  ActivityView,
  AppStatus,
  ChangesView,
  OutboxRow,
  StudentList,
  SystemActivityView,
  UpdateStatus,
} from "./bindings/ipc";
import { BackendError, type Backend } from "./backend";
import { DocumentsPanel } from "./documents";
import { h } from "./dom";

export interface PageOptions {
  /** How long typing must pause before the list is searched. */
  searchDelayMs?: number;
  /** How long to gather change events before re-reading: a sync stores many pages. */
  reloadDelayMs?: number;
  /** Today's date and time, for "synced 08:05" against "synced 3 Sep 08:05". */
  now?: () => Date;
}

/** Tables whose writes can change what the student list shows. */
const STUDENT_TABLES = new Set(["students", "sections", "guardians", "enrollments"]);

const OFFLINE_DETAIL =
  "— everything shown is from this computer's cache; writes are kept and sent when the network is back";
/** What the offline banner says, whole (its first word is set as a badge). */
export const OFFLINE_TEXT = `Offline ${OFFLINE_DETAIL}`;


/** `submit_attendance` → `Submit attendance`. */
export function operationLabel(op: string): string {
  const words = op.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formatTime(rfc3339: string): string {
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime())
    ? rfc3339
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** `HH:MM` in this computer's time, with the day in front when it is not today. */
export function clockTime(rfc3339: string, now: Date = new Date()): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const hhmm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  return d.toDateString() === now.toDateString()
    ? hhmm
    : `${d.toLocaleDateString(undefined, { day: "numeric", month: "short" })} ${hhmm}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One system's chip: what it is doing, in the words and colour the strip shows. */
export function describeSystem(
  s: SystemActivityView,
  now: Date = new Date(),
): { text: string; kind: "busy" | "ok" | "warn" | "bad" | "idle"; title: string } {
  const name = s.system_name;
  const progress = s.phase ? ` · ${s.phase} (${s.rows} rows)` : "…";
  const left = s.requests_left !== null ? `, about ${plural(s.requests_left, "request", "requests")} left` : "";
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

type BannerSource = "start" | "status" | "action";

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

export class DeskPage {
  private readonly backend: Backend;
  private readonly searchDelayMs: number;
  private readonly reloadDelayMs: number;
  private readonly now: () => Date;

  private readonly badge: HTMLElement;
  private readonly syncLine: HTMLElement;
  private readonly syncButton: HTMLButtonElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly updateButton: HTMLButtonElement;
  private readonly updateNote: HTMLElement;
  private readonly offline: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly chips: HTMLElement;
  private readonly stripNote: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly studentCount: HTMLElement;
  private readonly studentBody: HTMLElement;
  private readonly outboxCount: HTMLElement;
  private readonly outboxSummary: HTMLElement;
  private readonly outboxBody: HTMLElement;
  private readonly footer: HTMLElement;
  private readonly documents: DocumentsPanel;

  private status: AppStatus | undefined;
  private activity: ActivityView | undefined;
  private bannerSource: BannerSource | undefined;

  // Each read remembers the count it started at: an answer that comes back after a newer
  // read (or event) was issued is stale and must not overwrite it.
  private studentRequest = 0;
  private outboxRequest = 0;
  private statusSeq = 0;
  private activitySeq = 0;
  private updateSeq = 0;

  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private pending = { students: false, outbox: false, activity: false };
  private unsubscribe: (() => void) | undefined;
  private subscribing: Promise<void> | undefined;
  private disposed = false;

  constructor(root: HTMLElement, backend: Backend, options: PageOptions = {}) {
    this.backend = backend;
    this.searchDelayMs = options.searchDelayMs ?? 200;
    this.reloadDelayMs = options.reloadDelayMs ?? 150;
    this.now = options.now ?? (() => new Date());

    this.badge = h(
      "span",
      {
        class: "badge demo",
        "data-testid": "demo-badge",
        title: "No school system is set up yet: Schooldesk is showing its built-in practice data.",
        hidden: true,
      },
      "Demo mode",
    );
    this.syncLine = h("span", { class: "sync", "data-testid": "sync-status", role: "status" });
    this.syncButton = h(
      "button",
      {
        type: "button",
        class: "action",
        "data-testid": "sync-now",
        title: "Ask every connected school system for what changed, now.",
        disabled: true,
      },
      "Sync now",
    );
    this.sendButton = h(
      "button",
      {
        type: "button",
        class: "action",
        "data-testid": "send-now",
        title: "Send the waiting changes now, including those held while a system did not answer.",
        disabled: true,
      },
      "Send now",
    );
    this.updateButton = h(
      "button",
      {
        type: "button",
        class: "action primary",
        "data-testid": "restart-to-update",
        title: "Install the downloaded update and restart Schooldesk. Changes being sent finish first.",
        hidden: true,
      },
      "Restart to update",
    );
    this.updateNote = h("div", { class: "update-note", "data-testid": "update-message", role: "status", hidden: true });
    this.offline = h(
      "div",
      { class: "offline", "data-testid": "offline-indicator", role: "status", hidden: true },
      h("strong", { class: "offline-badge" }, "Offline"),
      " ",
      h("span", {}, OFFLINE_DETAIL),
    );
    this.banner = h("div", { class: "banner", role: "alert", hidden: true });
    this.chips = h("ul", { class: "chips", "aria-label": "School systems", "data-testid": "system-chips" });
    this.stripNote = h("p", { class: "strip-note", hidden: true });
    this.search = h("input", {
      type: "search",
      placeholder: "Search by name or ID",
      "aria-label": "Search students",
      "data-testid": "student-search",
      autocomplete: "off",
    });
    this.studentCount = h("span", { class: "count", "data-testid": "student-count" });
    this.studentBody = h("div", { class: "panel-body", "data-testid": "students" });
    this.outboxCount = h("span", { class: "count", "data-testid": "outbox-count" });
    this.outboxSummary = h("span", { class: "outbox-summary", "data-testid": "outbox-summary" });
    this.outboxBody = h("div", { class: "panel-body", "data-testid": "outbox" });
    this.footer = h("footer", { class: "footer", "data-testid": "footer" });
    this.documents = new DocumentsPanel(backend, { now: this.now });

    root.replaceChildren(
      h(
        "header",
        { class: "topbar" },
        h("h1", {}, "Schooldesk"),
        this.badge,
        h("span", { class: "spacer" }),
        this.syncLine,
        this.syncButton,
        this.sendButton,
        this.updateButton,
      ),
      this.updateNote,
      this.offline,
      this.banner,
      h("div", { class: "strip" }, this.chips, this.stripNote),
      h(
        "main",
        { class: "panels" },
        h(
          "section",
          { class: "panel students", "aria-labelledby": "students-title" },
          h(
            "div",
            { class: "panel-head" },
            h("h2", { id: "students-title" }, "Students"),
            this.studentCount,
            h("span", { class: "spacer" }),
            this.search,
          ),
          this.studentBody,
        ),
        this.documents.element,
        h(
          "section",
          { class: "panel outbox", "aria-labelledby": "outbox-title" },
          h(
            "div",
            { class: "panel-head" },
            h("h2", { id: "outbox-title" }, "Outbox"),
            this.outboxCount,
            this.outboxSummary,
          ),
          this.outboxBody,
        ),
      ),
      this.footer,
    );

    this.search.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => void this.loadStudents(), this.searchDelayMs);
    });
    this.syncButton.addEventListener("click", () => void this.act(this.syncButton, () => this.backend.syncNow()));
    this.sendButton.addEventListener("click", () => void this.act(this.sendButton, () => this.backend.sendNow()));
    this.updateButton.addEventListener(
      "click",
      () => void this.act(this.updateButton, () => this.restartToUpdate()),
    );
  }

  /**
   * First load: follow the shell's events, then read status, activity and both lists once.
   * Following first means nothing that happens during the reads is missed (the first sync
   * finishing, say); an event that overtakes a read wins over its older answer.
   */
  async start(): Promise<void> {
    this.studentBody.replaceChildren(this.note("Loading students…"));
    this.outboxBody.replaceChildren(this.note("Loading the outbox…"));
    await this.follow();
    if (this.disposed) return;
    await Promise.all([
      this.loadStatus(),
      this.loadActivity(),
      this.loadStudents(),
      this.loadOutbox(),
      this.loadUpdate(),
      this.documents.loadSections(),
    ]);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.searchTimer);
    clearTimeout(this.reloadTimer);
    this.reloadTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private follow(): Promise<void> {
    // A retry after a failed start must not subscribe twice.
    this.subscribing ??= this.backend
      .subscribe({
        onChanged: (changes) => this.onChanged(changes),
        onActivity: (activity) => this.onActivity(activity),
        onStatus: (status) => this.onStatus(status),
        onUpdate: (status) => this.onUpdate(status),
      })
      .then(
        (stop) => {
          if (this.disposed) stop();
          else this.unsubscribe = stop;
        },
        (reason: unknown) => {
          this.subscribing = undefined;
          this.showBanner(BackendError.from(reason), () => void this.start(), "start");
        },
      );
    return this.subscribing;
  }

  private onStatus(status: AppStatus): void {
    if (this.disposed) return;
    this.statusSeq++;
    const wasReady = this.status?.sync.state === "ready";
    this.showStatus(status);
    // The first sync just finished: the lists and the engine's view are worth reading now.
    if (!wasReady && status.sync.state === "ready") {
      this.requestReload({ students: true, outbox: true, activity: true });
      void this.documents.loadSections();
    }
  }

  private onUpdate(status: UpdateStatus): void {
    if (this.disposed) return;
    this.updateSeq++;
    this.showUpdate(status);
  }

  /** A refused install is said once, on the update line (the shell's event says the same). */
  private async restartToUpdate(): Promise<void> {
    try {
      await this.backend.restartToUpdate();
    } catch (reason) {
      const error = BackendError.from(reason);
      this.updateSeq++;
      this.showUpdate({ state: "failed", code: error.code, message: error.message });
    }
  }

  /** The update is not the desk: a failed read of it is not worth a banner, only a line. */
  private async loadUpdate(): Promise<void> {
    const seq = this.updateSeq;
    try {
      const status = await this.backend.updateStatus();
      if (seq !== this.updateSeq || this.disposed) return;
      this.showUpdate(status);
    } catch (reason) {
      if (seq !== this.updateSeq || this.disposed) return;
      this.showUpdate({
        state: "failed",
        code: BackendError.from(reason).code,
        message: `Could not tell whether an update is waiting. ${BackendError.from(reason).message}`,
      });
    }
  }

  private showUpdate(status: UpdateStatus): void {
    this.updateButton.hidden = status.state !== "staged";
    if (status.state === "staged") {
      this.updateButton.title = `Install Schooldesk ${status.version} and restart. Changes being sent finish first.`;
    }
    const said = describeUpdate(status);
    this.updateNote.hidden = !said;
    this.updateNote.textContent = said?.text ?? "";
    this.updateNote.className = `update-note ${said?.kind ?? ""}`.trim();
    this.updateNote.dataset.state = status.state;
    if (status.state === "failed") this.updateNote.dataset.code = status.code;
    else delete this.updateNote.dataset.code;
  }

  private onActivity(activity: ActivityView): void {
    if (this.disposed) return;
    this.activitySeq++;
    this.showActivity(activity);
  }

  private onChanged(changes: ChangesView): void {
    if (this.disposed) return;
    // Another process (the CLI) is noticed, not itemised: anything may have changed.
    const everything = changes.origins.includes("other_process");
    if (everything || changes.tables.includes("sections")) void this.documents.loadSections();
    this.requestReload({
      students: everything || changes.tables.some((t) => STUDENT_TABLES.has(t)),
      outbox: everything || changes.tables.includes("outbox"),
      activity: everything,
    });
  }

  /** Gathers what to re-read and reads it once after a short pause. */
  private requestReload(what: { students: boolean; outbox: boolean; activity: boolean }): void {
    if (!what.students && !what.outbox && !what.activity) return;
    this.pending.students ||= what.students;
    this.pending.outbox ||= what.outbox;
    this.pending.activity ||= what.activity;
    if (this.reloadTimer !== undefined || this.disposed) return;
    // Not restarted by later events: a long sync must still show progress as it goes.
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      const due = this.pending;
      this.pending = { students: false, outbox: false, activity: false };
      if (due.students) void this.loadStudents();
      if (due.outbox) void this.loadOutbox();
      if (due.activity) void this.loadActivity();
    }, this.reloadDelayMs);
  }

  /** Runs a button's command; a refusal is shown in the banner in the shell's words. */
  private async act(button: HTMLButtonElement, run: () => Promise<void>): Promise<void> {
    // Not `disabled` while in flight: that would throw the keyboard focus off the button.
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    try {
      await run();
      if (this.bannerSource === "action") this.hideBanner();
    } catch (reason) {
      this.showBanner(BackendError.from(reason), undefined, "action");
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  private async loadStatus(): Promise<void> {
    const seq = this.statusSeq;
    try {
      const status = await this.backend.appStatus();
      if (seq !== this.statusSeq || this.disposed) return;
      this.showStatus(status);
    } catch (reason) {
      if (seq !== this.statusSeq || this.disposed) return;
      this.showBanner(BackendError.from(reason), () => void this.start(), "start");
    }
  }

  private async loadActivity(): Promise<void> {
    const seq = ++this.activitySeq;
    try {
      const activity = await this.backend.deskActivity();
      if (seq !== this.activitySeq || this.disposed) return;
      this.showActivity(activity);
    } catch (reason) {
      if (seq !== this.activitySeq || this.disposed) return;
      this.activity = undefined;
      this.chips.replaceChildren();
      this.stripNote.textContent = `Could not tell what the school systems are doing. ${BackendError.from(reason).message}`;
      this.stripNote.hidden = false;
      this.renderSummary();
    }
  }

  private showStatus(status: AppStatus): void {
    this.status = status;
    this.badge.hidden = !status.demo;
    this.footer.textContent = `Schooldesk ${status.version} · data in ${status.data_dir}`;
    const starting = status.sync.state === "starting";
    this.syncButton.disabled = starting;
    this.sendButton.disabled = starting;
    if (status.sync.state === "failed") {
      this.showBanner(new BackendError(status.sync.error), undefined, "status");
    } else if (this.bannerSource !== "action") {
      this.hideBanner();
    }
    this.renderSummary();
  }

  private showActivity(activity: ActivityView): void {
    this.activity = activity;
    this.stripNote.hidden = true;
    this.offline.hidden = !activity.offline;
    const now = this.now();
    this.chips.replaceChildren(
      ...activity.systems.map((s) => {
        const { text, kind, title } = describeSystem(s, now);
        return h(
          "li",
          { class: `chip ${kind}`, "data-testid": "system-chip", "data-system": s.system, "data-state": kind, title },
          text,
        );
      }),
    );
    const pills: HTMLElement[] = [];
    if (activity.sending) pills.push(h("span", { class: "pill busy", "data-testid": "outbox-sending" }, "Sending…"));
    if (activity.waiting > 0) {
      pills.push(h("span", { class: "pill warn", "data-testid": "outbox-waiting" }, `${activity.waiting} waiting`));
    }
    if (activity.conflicts > 0) {
      pills.push(
        h(
          "span",
          { class: "pill bad", "data-testid": "outbox-conflicts" },
          plural(activity.conflicts, "conflict", "conflicts"),
        ),
      );
    }
    if (activity.failed > 0) {
      pills.push(h("span", { class: "pill bad", "data-testid": "outbox-failed" }, `${activity.failed} failed`));
    }
    if (pills.length === 0) pills.push(h("span", { class: "pill ok" }, "Nothing waiting"));
    this.outboxSummary.replaceChildren(...pills);
    this.renderSummary();
  }

  private renderSummary(): void {
    if (!this.status) return;
    const { text, kind } = summarize(this.status, this.activity);
    this.syncLine.textContent = text;
    this.syncLine.className = `sync ${kind}`;
  }

  private async loadStudents(): Promise<void> {
    const request = ++this.studentRequest;
    const search = this.search.value.trim();
    try {
      const list = await this.backend.listStudents(search || undefined);
      // A slower answer to an older search must not overwrite a newer one.
      if (request !== this.studentRequest || this.disposed) return;
      this.renderStudents(list, search);
    } catch (reason) {
      if (request !== this.studentRequest || this.disposed) return;
      this.studentCount.textContent = "";
      this.studentBody.replaceChildren(
        this.failure("Could not load students", BackendError.from(reason), () =>
          void this.loadStudents(),
        ),
      );
    }
  }

  private async loadOutbox(): Promise<void> {
    const request = ++this.outboxRequest;
    try {
      const rows = await this.backend.listOutbox();
      if (request !== this.outboxRequest || this.disposed) return;
      this.renderOutbox(rows);
    } catch (reason) {
      if (request !== this.outboxRequest || this.disposed) return;
      this.outboxCount.textContent = "";
      this.outboxBody.replaceChildren(
        this.failure("Could not load the outbox", BackendError.from(reason), () =>
          void this.loadOutbox(),
        ),
      );
    }
  }

  private renderStudents(list: StudentList, search: string): void {
    const rows = list.students;
    this.studentCount.textContent = list.more ? `first ${rows.length}` : String(rows.length);
    if (rows.length === 0) {
      this.studentBody.replaceChildren(
        search
          ? this.note(`No students match “${search}”. Try part of a name or an ID.`, "empty")
          : this.note(
              "No students yet. They appear here after the first sync with your school systems.",
              "empty",
            ),
      );
      return;
    }
    const body = h("tbody");
    for (const s of rows) {
      body.append(
        h(
          "tr",
          { "data-testid": "student-row" },
          h(
            "td",
            { class: "name" },
            s.name,
            s.preferred_name && h("span", { class: "muted" }, ` (${s.preferred_name})`),
            !s.active && h("span", { class: "tag" }, "inactive"),
          ),
          h("td", { class: "mono" }, s.external_id ?? "—"),
          h("td", {}, h("span", { class: `system ${s.system}` }, s.system_name)),
          h("td", {}, s.grade ?? "—"),
          h("td", {}, s.homeroom ?? "—"),
        ),
      );
    }
    this.studentBody.replaceChildren(
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "Name"),
            h("th", {}, "External ID"),
            h("th", {}, "System"),
            h("th", {}, "Grade"),
            h("th", {}, "Homeroom"),
          ),
        ),
        body,
      ),
      ...(list.more
        ? [
            this.note(
              `Showing the first ${rows.length} students. Type part of a name or an ID to find the rest.`,
              "more",
            ),
          ]
        : []),
    );
  }

  private renderOutbox(rows: OutboxRow[]): void {
    // How many are waiting, in conflict or failed comes from the engine (the summary beside it).
    this.outboxCount.textContent = String(rows.length);
    if (rows.length === 0) {
      this.outboxBody.replaceChildren(
        this.note("The outbox is empty: every change has reached its system.", "empty"),
      );
      return;
    }
    const body = h("tbody");
    for (const r of rows) {
      const next =
        r.state === "pending" || r.state === "sending"
          ? `next try ${formatTime(r.next_attempt_at)}`
          : `updated ${formatTime(r.updated_at)}`;
      body.append(
        h(
          "tr",
          { "data-testid": "outbox-row" },
          h("td", {}, h("span", { class: `state ${r.state}` }, r.state)),
          h(
            "td",
            {},
            operationLabel(r.operation),
            h("div", { class: "muted small" }, `${r.system_name} · ${next}`),
          ),
          h("td", { class: "num" }, String(r.attempts)),
          r.last_error
            ? h("td", { class: "error-text" }, r.last_error)
            : h("td", { class: "muted" }, "—"),
        ),
      );
    }
    this.outboxBody.replaceChildren(
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "State"),
            h("th", {}, "Operation"),
            h("th", { class: "num", title: "How many times it was sent" }, "Tries"),
            h("th", {}, "Last error"),
          ),
        ),
        body,
      ),
    );
  }

  private note(text: string, kind = "loading"): HTMLElement {
    return h("p", { class: `note ${kind}`, "data-testid": `note-${kind}` }, text);
  }

  private failure(title: string, error: BackendError, retry: () => void): HTMLElement {
    const box = h(
      "div",
      { class: "note failure", role: "alert", "data-testid": "note-error", "data-code": error.code },
      h("strong", {}, `${title}. `),
      error.message,
    );
    if (error.retryable) {
      const button = h("button", { type: "button" }, "Try again");
      button.addEventListener("click", retry);
      box.append(" ", button);
    }
    return box;
  }

  private showBanner(error: BackendError, retry: (() => void) | undefined, source: BannerSource): void {
    this.banner.replaceChildren(error.message);
    this.banner.dataset.code = error.code;
    this.bannerSource = source;
    if (retry && error.retryable) {
      const button = h("button", { type: "button" }, "Try again");
      button.addEventListener("click", retry);
      this.banner.append(" ", button);
    }
    this.banner.hidden = false;
  }

  private hideBanner(): void {
    this.banner.hidden = true;
    this.banner.replaceChildren();
    delete this.banner.dataset.code;
    this.bannerSource = undefined;
  }
}

export function mountPage(root: HTMLElement, backend: Backend, options?: PageOptions): DeskPage {
  const page = new DeskPage(root, backend, options);
  void page.start();
  return page;
}
