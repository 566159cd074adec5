// What the frame knows about the desk, as Svelte state: status, activity, update, the
// outbox, everyone and the roster tree. It reads each once at start and then only when the
// shell's events say something moved (it never polls); a storm of change events during a
// sync becomes one re-read, and an answer older than a newer read is dropped.
import type {
  ActivityView,
  AppStatus,
  ChangesView,
  OutboxRow,
  PeopleIndex,
  SchoolNode,
  UpdateStatus,
} from "../bindings/ipc";
import { BackendError, type Backend } from "../backend/backend";
import { PEOPLE_TABLES } from "./format";

export type Loaded<T> = { state: "loading" } | { state: "ready"; value: T } | { state: "failed"; error: BackendError };

export type BannerSource = "start" | "status" | "action";

export interface Banner {
  error: BackendError;
  retry: (() => void) | undefined;
  source: BannerSource;
}

export interface DeskOptions {
  /** How long to gather change events before re-reading: a sync stores many pages. */
  reloadDelayMs?: number;
}

type Watcher = { tables: readonly string[]; reread: () => void; timer: ReturnType<typeof setTimeout> | undefined };

type Due = { people: boolean; outbox: boolean; activity: boolean };

export class Desk {
  status = $state<AppStatus | undefined>();
  activity = $state<ActivityView | undefined>();
  /** Set when the activity could not be read (the strip says why). */
  activityError = $state<BackendError | undefined>();
  update = $state<UpdateStatus>({ state: "none" });
  outbox = $state<Loaded<OutboxRow[]>>({ state: "loading" });
  people = $state.raw<Loaded<PeopleIndex>>({ state: "loading" });
  tree = $state<Loaded<SchoolNode[]>>({ state: "loading" });
  banner = $state<Banner | undefined>();
  /** Bumped after each re-read of people: the open student page reads itself again. */
  peopleVersion = $state(0);
  /** Bumped after each re-read of the outbox: the open receipt reads itself again. */
  outboxVersion = $state(0);
  /** Bumped when sections changed: the Documents panel re-reads its picker. */
  sectionsVersion = $state(0);

  readonly backend: Backend;
  private readonly reloadDelayMs: number;
  private seq = { status: 0, activity: 0, update: 0, outbox: 0, people: 0, tree: 0 };
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private pending: Due = { people: false, outbox: false, activity: false };
  private unsubscribe: (() => void) | undefined;
  private subscribing: Promise<void> | undefined;
  private disposed = false;
  // Not state: nothing is drawn from it.
  private watchers: Watcher[] = [];

  constructor(backend: Backend, options: DeskOptions = {}) {
    this.backend = backend;
    this.reloadDelayMs = options.reloadDelayMs ?? 250;
  }

  get starting(): boolean {
    return this.status?.sync.state === "starting";
  }

  async start(): Promise<void> {
    await this.follow();
    await Promise.all([
      this.loadStatus(),
      this.loadActivity(),
      this.loadPeople(),
      this.loadTree(),
      this.loadOutbox(),
      this.loadUpdate(),
    ]);
    // Once the screen has what it shows (or its failures), syncing may compete for the
    // processor; the shell starts it a few seconds later anyway.
    if (!this.disposed) this.backend.firstScreenShown().catch(() => undefined);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = undefined;
    for (const w of this.watchers) clearTimeout(w.timer);
    this.watchers = [];
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  syncNow(): Promise<boolean> {
    return this.act(() => this.backend.syncNow());
  }

  sendNow(): Promise<boolean> {
    return this.act(() => this.backend.sendNow());
  }

  /** A refused install is said once, on the update line. */
  async restartToUpdate(): Promise<void> {
    try {
      await this.backend.restartToUpdate();
    } catch (reason) {
      const error = BackendError.from(reason);
      this.seq.update++;
      this.update = { state: "failed", code: error.code, message: error.message };
    }
  }

  /** Runs an action; a refusal goes to the banner in the shell's words. True when it worked. */
  async act(run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      if (this.banner?.source === "action") this.banner = undefined;
      return true;
    } catch (reason) {
      this.banner = { error: BackendError.from(reason), retry: undefined, source: "action" };
      return false;
    }
  }

  private follow(): Promise<void> {
    // A retry after a failed start must not subscribe twice.
    this.subscribing ??= this.backend
      .subscribe({
        onChanged: (c) => this.onChanged(c),
        onActivity: (a) => {
          if (this.disposed) return;
          this.seq.activity++;
          this.activity = a;
          this.activityError = undefined;
        },
        onStatus: (s) => this.onStatus(s),
        onUpdate: (u) => {
          if (this.disposed) return;
          this.seq.update++;
          this.update = u;
        },
      })
      .then(
        (stop) => {
          if (this.disposed) stop();
          else this.unsubscribe = stop;
        },
        (reason: unknown) => {
          this.subscribing = undefined;
          this.banner = { error: BackendError.from(reason), retry: () => void this.start(), source: "start" };
        },
      );
    return this.subscribing;
  }

  private onStatus(status: AppStatus): void {
    if (this.disposed) return;
    this.seq.status++;
    const wasReady = this.status?.sync.state === "ready";
    this.showStatus(status);
    // The first sync just finished: everything shown is worth reading now.
    if (!wasReady && status.sync.state === "ready") {
      this.requestReload({ people: true, outbox: true, activity: true });
      this.sectionsVersion++;
      this.tellWatchers("all");
    }
  }

  /**
   * Calls `reread` (after the same short gathering pause as the frame's own re-reads) when
   * any of `tables` was written, another process wrote, or the first sync finished — how a
   * screen keeps what it shows current without polling. Returns the function that stops it.
   */
  watch(tables: readonly string[], reread: () => void): () => void {
    const watcher: Watcher = { tables, reread, timer: undefined };
    this.watchers.push(watcher);
    return () => {
      if (watcher.timer !== undefined) clearTimeout(watcher.timer);
      this.watchers = this.watchers.filter((w) => w !== watcher);
    };
  }

  private tellWatchers(tables: readonly string[] | "all"): void {
    for (const w of this.watchers) {
      if (w.timer !== undefined) continue;
      if (tables !== "all" && !tables.some((t) => w.tables.includes(t))) continue;
      w.timer = setTimeout(() => {
        w.timer = undefined;
        if (!this.disposed && this.watchers.includes(w)) w.reread();
      }, this.reloadDelayMs);
    }
  }

  private onChanged(changes: ChangesView): void {
    if (this.disposed) return;
    // Another process (the CLI) is noticed, not itemised: anything may have changed.
    const everything = changes.origins.includes("other_process");
    this.tellWatchers(everything ? "all" : changes.tables);
    if (everything || changes.tables.includes("sections")) this.sectionsVersion++;
    this.requestReload({
      people: everything || changes.tables.some((t) => PEOPLE_TABLES.has(t)),
      outbox: everything || changes.tables.includes("outbox"),
      activity: everything,
    });
  }

  /** Gathers what to re-read and reads it once after a short pause. */
  private requestReload(what: Due): void {
    if (!what.people && !what.outbox && !what.activity) return;
    this.pending.people ||= what.people;
    this.pending.outbox ||= what.outbox;
    this.pending.activity ||= what.activity;
    if (this.reloadTimer !== undefined || this.disposed) return;
    // Not restarted by later events: a long sync must still show progress as it goes.
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      const due = this.pending;
      this.pending = { people: false, outbox: false, activity: false };
      if (due.people) {
        void this.loadPeople();
        void this.loadTree();
      }
      if (due.outbox) void this.loadOutbox();
      if (due.activity) void this.loadActivity();
    }, this.reloadDelayMs);
  }

  private showStatus(status: AppStatus): void {
    this.status = status;
    if (status.sync.state === "failed") {
      this.banner = { error: new BackendError(status.sync.error), retry: undefined, source: "status" };
    } else if (this.banner && this.banner.source !== "action") {
      this.banner = undefined;
    }
  }

  private async loadStatus(): Promise<void> {
    const seq = this.seq.status;
    try {
      const status = await this.backend.appStatus();
      if (seq !== this.seq.status || this.disposed) return;
      this.showStatus(status);
    } catch (reason) {
      if (seq !== this.seq.status || this.disposed) return;
      this.banner = { error: BackendError.from(reason), retry: () => void this.start(), source: "start" };
    }
  }

  async loadActivity(): Promise<void> {
    const seq = ++this.seq.activity;
    try {
      const activity = await this.backend.deskActivity();
      if (seq !== this.seq.activity || this.disposed) return;
      this.activity = activity;
      this.activityError = undefined;
    } catch (reason) {
      if (seq !== this.seq.activity || this.disposed) return;
      this.activity = undefined;
      this.activityError = BackendError.from(reason);
    }
  }

  /** The update is not the desk: a failed read of it is a line, not a banner. */
  private async loadUpdate(): Promise<void> {
    const seq = this.seq.update;
    try {
      const update = await this.backend.updateStatus();
      if (seq !== this.seq.update || this.disposed) return;
      this.update = update;
    } catch (reason) {
      if (seq !== this.seq.update || this.disposed) return;
      const e = BackendError.from(reason);
      this.update = { state: "failed", code: e.code, message: `Could not tell whether an update is waiting. ${e.message}` };
    }
  }

  async loadOutbox(): Promise<void> {
    const seq = ++this.seq.outbox;
    try {
      const rows = await this.backend.listOutbox();
      if (seq !== this.seq.outbox || this.disposed) return;
      this.outbox = { state: "ready", value: rows };
      this.outboxVersion++;
    } catch (reason) {
      if (seq !== this.seq.outbox || this.disposed) return;
      this.outbox = { state: "failed", error: BackendError.from(reason) };
    }
  }

  async loadPeople(): Promise<void> {
    const seq = ++this.seq.people;
    try {
      const index = await this.backend.listPeople();
      if (seq !== this.seq.people || this.disposed) return;
      this.people = { state: "ready", value: index };
      this.peopleVersion++;
    } catch (reason) {
      if (seq !== this.seq.people || this.disposed) return;
      this.people = { state: "failed", error: BackendError.from(reason) };
    }
  }

  async loadTree(): Promise<void> {
    const seq = ++this.seq.tree;
    try {
      const tree = await this.backend.rosterTree();
      if (seq !== this.seq.tree || this.disposed) return;
      this.tree = { state: "ready", value: tree };
    } catch (reason) {
      if (seq !== this.seq.tree || this.disposed) return;
      this.tree = { state: "failed", error: BackendError.from(reason) };
    }
  }
}
