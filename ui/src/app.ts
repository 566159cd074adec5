// The desk page: header with demo badge and sync status, the student list with its search
// box, and the outbox. Plain DOM; every value from the backend goes in as text, never HTML.
import type { AppStatus, OutboxRow, StudentList } from "./bindings/ipc";
import { BackendError, type Backend } from "./backend";

export interface PageOptions {
  /** How often to ask whether the first sync has finished. */
  pollMs?: number;
  /** How long typing must pause before the list is searched. */
  searchDelayMs?: number;
}

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false) continue;
    el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

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

export class DeskPage {
  private readonly backend: Backend;
  private readonly pollMs: number;
  private readonly searchDelayMs: number;

  private readonly badge: HTMLElement;
  private readonly syncLine: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly studentCount: HTMLElement;
  private readonly studentBody: HTMLElement;
  private readonly outboxCount: HTMLElement;
  private readonly outboxBody: HTMLElement;
  private readonly footer: HTMLElement;

  private studentRequest = 0;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(root: HTMLElement, backend: Backend, options: PageOptions = {}) {
    this.backend = backend;
    this.pollMs = options.pollMs ?? 1000;
    this.searchDelayMs = options.searchDelayMs ?? 200;

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
    this.banner = h("div", { class: "banner", role: "alert", hidden: true });
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
    this.outboxBody = h("div", { class: "panel-body", "data-testid": "outbox" });
    this.footer = h("footer", { class: "footer", "data-testid": "footer" });

    root.replaceChildren(
      h(
        "header",
        { class: "topbar" },
        h("h1", {}, "Schooldesk"),
        this.badge,
        h("span", { class: "spacer" }),
        this.syncLine,
      ),
      this.banner,
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
        h(
          "section",
          { class: "panel outbox", "aria-labelledby": "outbox-title" },
          h(
            "div",
            { class: "panel-head" },
            h("h2", { id: "outbox-title" }, "Outbox"),
            this.outboxCount,
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
  }

  /** First load: status, then both lists; keeps polling while the first sync runs. */
  async start(): Promise<void> {
    this.studentBody.replaceChildren(this.note("Loading students…"));
    this.outboxBody.replaceChildren(this.note("Loading the outbox…"));
    const status = await this.loadStatus();
    await Promise.all([this.loadStudents(), this.loadOutbox()]);
    if (status?.sync.state === "starting") this.schedulePoll();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.searchTimer);
    clearTimeout(this.pollTimer);
  }

  private schedulePoll(): void {
    if (this.disposed) return;
    this.pollTimer = setTimeout(() => void this.poll(), this.pollMs);
  }

  private async poll(): Promise<void> {
    const status = await this.loadStatus();
    if (status?.sync.state === "starting") {
      this.schedulePoll();
    } else if (status?.sync.state === "ready") {
      await Promise.all([this.loadStudents(), this.loadOutbox()]);
    }
  }

  private async loadStatus(): Promise<AppStatus | undefined> {
    try {
      const status = await this.backend.appStatus();
      this.showStatus(status);
      return status;
    } catch (reason) {
      this.showBanner(BackendError.from(reason), () => void this.start());
      return undefined;
    }
  }

  private showStatus(status: AppStatus): void {
    this.badge.hidden = !status.demo;
    this.footer.textContent = `Schooldesk ${status.version} · data in ${status.data_dir}`;
    switch (status.sync.state) {
      case "starting":
        this.syncLine.textContent =
          (status.demo ? "Starting the demo district and syncing" : "Syncing") +
          (status.sync.detail ? ` · ${status.sync.detail}` : "…");
        this.syncLine.className = "sync busy";
        this.hideBanner();
        break;
      case "ready":
        this.syncLine.textContent = "Up to date";
        this.syncLine.className = "sync ok";
        this.hideBanner();
        break;
      case "failed":
        this.syncLine.textContent = "Not syncing";
        this.syncLine.className = "sync bad";
        this.showBanner(new BackendError(status.sync.error));
        break;
    }
  }

  private async loadStudents(): Promise<void> {
    const request = ++this.studentRequest;
    const search = this.search.value.trim();
    try {
      const list = await this.backend.listStudents(search || undefined);
      // A slower answer to an older search must not overwrite a newer one.
      if (request !== this.studentRequest) return;
      this.renderStudents(list, search);
    } catch (reason) {
      if (request !== this.studentRequest) return;
      this.studentCount.textContent = "";
      this.studentBody.replaceChildren(
        this.failure("Could not load students", BackendError.from(reason), () =>
          void this.loadStudents(),
        ),
      );
    }
  }

  private async loadOutbox(): Promise<void> {
    try {
      this.renderOutbox(await this.backend.listOutbox());
    } catch (reason) {
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
    const open = rows.filter((r) => r.state === "pending" || r.state === "sending").length;
    this.outboxCount.textContent = open > 0 ? `${open} waiting` : String(rows.length);
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

  private showBanner(error: BackendError, retry?: () => void): void {
    this.banner.replaceChildren(error.message);
    this.banner.dataset.code = error.code;
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
  }
}

export function mountPage(root: HTMLElement, backend: Backend, options?: PageOptions): DeskPage {
  const page = new DeskPage(root, backend, options);
  void page.start();
  return page;
}
