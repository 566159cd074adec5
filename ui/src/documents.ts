// The Documents panel: pick a document (roster, register, emergency list, checklist status,
// learning support, enrollment record), what it covers, the format and the paper, then Save
// (into Documents/Schooldesk) or Print (the shell opens the PDF in the system's viewer: a
// webview's own print is unreliable on macOS). Everything is made from the cache, so it
// works offline. Plain DOM; every value from the backend goes in as text, never HTML.
import "./documents.css";
import type {
  DocumentFormat,
  DocumentRequest,
  ExportedDocument,
  PaperSize,
  SectionOption,
} from "./bindings/ipc";
import { BackendError, type Backend } from "./backend";
import { h } from "./dom";

export type DocumentKind = DocumentRequest["kind"];

/** The documents offered, in the order the picker lists them. */
export const DOCUMENTS: readonly { kind: DocumentKind; label: string }[] = [
  { kind: "emergency", label: "Emergency list" },
  { kind: "register", label: "Attendance register" },
  { kind: "roster", label: "Class roster" },
  { kind: "checklist", label: "Checklist status" },
  { kind: "learning_support", label: "Learning support summary" },
  { kind: "submission", label: "Enrollment record" },
];

export const FORMATS: readonly { format: DocumentFormat; label: string }[] = [
  { format: "pdf", label: "PDF" },
  { format: "xlsx", label: "Excel workbook (XLSX)" },
  { format: "csv", label: "CSV" },
  { format: "csv_excel", label: "CSV for Excel" },
];

/** Countries whose offices print on US Letter (the rest of the world uses A4). */
const LETTER_REGIONS = new Set(["US", "CA", "MX", "PH", "PR", "CL", "CO", "VE", "GT", "CR", "PA", "SV", "DO"]);

/** The paper this computer's locale most likely has in the printer: Letter in the US (and
 * its neighbours that use it), A4 everywhere else, including a locale with no country. */
export function defaultPaper(locale: string | undefined): PaperSize {
  const region = (locale ?? "")
    .split(/[-_]/)
    .slice(1)
    .find((tag) => /^[A-Za-z]{2}$/.test(tag));
  return region && LETTER_REGIONS.has(region.toUpperCase()) ? "letter" : "a4";
}

/** `YYYY-MM-DD` of `d` in this computer's time zone (what a date field holds). */
export function isoDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** The last `days` days up to and including `today`: a register's default range. */
export function lastDays(today: Date, days = 30): { from: string; to: string } {
  const from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (days - 1));
  return { from: isoDate(from), to: isoDate(today) };
}

/** What the form holds; only the fields of the chosen document matter. */
export interface DocumentChoice {
  kind: DocumentKind;
  section: string;
  from: string;
  to: string;
  checklist: string;
  student: string;
  yearGroup: string;
  record: string;
}

/** The request for the shell, or the sentence saying what is missing. The shell checks
 * everything again; this only spares a round trip for what the form can see. */
export function buildRequest(c: DocumentChoice): { request: DocumentRequest } | { problem: string } {
  const section = c.section.trim();
  switch (c.kind) {
    case "roster":
      return section ? { request: { kind: "roster", section } } : { problem: "Choose a section first." };
    case "register": {
      if (!section) return { problem: "Choose a section first." };
      const [from, to] = [c.from.trim(), c.to.trim()];
      if (!from || !to) return { problem: "Give the first and the last day of the register." };
      // ISO dates compare correctly as text.
      if (from > to) {
        return { problem: `The register would start on ${from}, after it ends on ${to}. Give the earlier date first.` };
      }
      return { request: { kind: "register", section, from, to } };
    }
    case "emergency":
      return { request: { kind: "emergency", section: section || null } };
    case "checklist": {
      const checklist = c.checklist.trim();
      return checklist
        ? { request: { kind: "checklist", checklist } }
        : { problem: "Type the checklist's ID first (as the enrollment screen shows it)." };
    }
    case "learning_support": {
      const [student, yearGroup] = [c.student.trim(), c.yearGroup.trim()];
      if (student && yearGroup) {
        return { problem: "Give a student or a year group, not both (leave both empty for everyone)." };
      }
      return { request: { kind: "learning_support", student: student || null, year_group: yearGroup || null } };
    }
    case "submission": {
      const record = c.record.trim();
      return record
        ? { request: { kind: "submission", record } }
        : { problem: "Type the enrollment record's ID first." };
    }
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The result line after Save. */
export function describeSaved(r: ExportedDocument): string {
  return `Saved to ${r.path} (${plural(r.students, "student", "students")})`;
}

/** The result line after Print. */
export function describePrinted(r: ExportedDocument): string {
  return `Opened ${r.file_name} in your PDF viewer: print it from there (${plural(r.students, "student", "students")})`;
}

/** A section as the picker lists it. */
export function sectionLabel(s: SectionOption): string {
  return `${s.name}${s.code && s.code !== s.name ? ` (${s.code})` : ""} · ${plural(s.students, "student", "students")}`;
}


/** Which fields each document asks for. */
const FIELDS: Record<DocumentKind, readonly string[]> = {
  roster: ["section"],
  register: ["section", "dates"],
  emergency: ["section"],
  checklist: ["checklist"],
  learning_support: ["student", "year-group"],
  submission: ["record"],
};

export interface DocumentsOptions {
  /** Today, for the register's default dates. */
  now?: () => Date;
  /** The locale that decides the default paper (the browser's when not given). */
  locale?: string;
}

export class DocumentsPanel {
  /** The panel, for the page to place. */
  readonly element: HTMLElement;

  private readonly backend: Backend;
  private readonly kind: HTMLSelectElement;
  private readonly section: HTMLSelectElement;
  private readonly from: HTMLInputElement;
  private readonly to: HTMLInputElement;
  private readonly checklist: HTMLInputElement;
  private readonly student: HTMLInputElement;
  private readonly yearGroup: HTMLInputElement;
  private readonly record: HTMLInputElement;
  private readonly format: HTMLSelectElement;
  private readonly paper: HTMLSelectElement;
  private readonly save: HTMLButtonElement;
  private readonly print: HTMLButtonElement;
  private readonly folder: HTMLButtonElement;
  private readonly result: HTMLElement;
  private readonly fields = new Map<string, HTMLElement>();

  private sections: SectionOption[] = [];
  private sectionsRequest = 0;

  constructor(backend: Backend, options: DocumentsOptions = {}) {
    this.backend = backend;
    const today = (options.now ?? (() => new Date()))();
    const locale = options.locale ?? (typeof navigator === "undefined" ? undefined : navigator.language);

    this.kind = h(
      "select",
      { id: "doc-kind", "data-testid": "doc-kind" },
      ...DOCUMENTS.map((d) => h("option", { value: d.kind }, d.label)),
    );
    this.section = h("select", { id: "doc-section", "data-testid": "doc-section" });
    const range = lastDays(today);
    this.from = h("input", { type: "date", id: "doc-from", "data-testid": "doc-from", value: range.from });
    this.to = h("input", { type: "date", id: "doc-to", "data-testid": "doc-to", value: range.to });
    const text = (id: string, placeholder: string) =>
      h("input", { type: "text", id, "data-testid": id, placeholder, autocomplete: "off", spellcheck: "false" });
    this.checklist = text("doc-checklist", "e.g. powerschool:cl-2025");
    this.student = text("doc-student", "everyone when empty");
    this.yearGroup = text("doc-year-group", "e.g. Year 7");
    this.record = text("doc-record", "e.g. powerschool:sub-1001");
    this.format = h(
      "select",
      { id: "doc-format", "data-testid": "doc-format" },
      ...FORMATS.map((f) => h("option", { value: f.format }, f.label)),
    );
    this.paper = h(
      "select",
      { id: "doc-paper", "data-testid": "doc-paper" },
      h("option", { value: "a4" }, "A4"),
      h("option", { value: "letter" }, "US Letter"),
    );
    this.paper.value = defaultPaper(locale);
    this.save = h(
      "button",
      { type: "submit", class: "primary", "data-testid": "doc-save", title: "Save the document in Documents/Schooldesk." },
      "Save",
    );
    this.print = h(
      "button",
      {
        type: "button",
        "data-testid": "doc-print",
        title: "Make a PDF and open it in your PDF viewer, to print from there.",
      },
      "Print",
    );
    this.folder = h(
      "button",
      { type: "button", class: "quiet", "data-testid": "doc-folder", title: "Open Documents/Schooldesk." },
      "Show folder",
    );
    this.result = h("p", { class: "doc-result", role: "status", "data-testid": "doc-result" });

    const field = (name: string, label: string, control: HTMLElement, hint?: string) => {
      const el = h(
        "div",
        { class: "doc-field", "data-field": name },
        h("label", { for: control.id }, label),
        control,
        hint ? h("span", { class: "doc-hint" }, hint) : null,
      );
      this.fields.set(name, el);
      return el;
    };
    const dates = h(
      "div",
      { class: "doc-field doc-dates", "data-field": "dates" },
      h("label", { for: "doc-from" }, "From"),
      this.from,
      h("label", { for: "doc-to" }, "To"),
      this.to,
    );
    this.fields.set("dates", dates);

    const form = h(
      "form",
      { class: "doc-form", "data-testid": "documents-form", novalidate: true },
      field("kind", "Document", this.kind),
      field("section", "Section", this.section),
      dates,
      field("checklist", "Checklist ID", this.checklist),
      field("student", "Student ID", this.student),
      field("year-group", "Year group", this.yearGroup),
      field("record", "Record ID", this.record),
      field("format", "Format", this.format),
      field("paper", "Paper", this.paper),
      h("div", { class: "doc-actions" }, this.save, this.print, this.folder),
    );

    this.element = h(
      "section",
      { class: "panel documents", "aria-labelledby": "documents-title", "data-testid": "documents" },
      h(
        "div",
        { class: "panel-head" },
        h("h2", { id: "documents-title" }, "Make a document"),
        h("span", { class: "doc-note" }, "made from this computer's cache, so they work offline"),
      ),
      form,
      this.result,
    );

    this.kind.addEventListener("change", () => this.showFields());
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.run(this.save, (request) =>
        this.backend
          .exportDocument(request, this.format.value as DocumentFormat, this.paper.value as PaperSize)
          .then(describeSaved),
      );
    });
    this.print.addEventListener("click", () => {
      void this.run(this.print, (request) =>
        this.backend.printDocument(request, this.paper.value as PaperSize).then(describePrinted),
      );
    });
    this.folder.addEventListener("click", () => {
      void this.busy(this.folder, async () => {
        const path = await this.backend.openExportFolder();
        this.say(`Opened ${path}`, "ok");
      });
    });
    this.showFields();
  }

  /** Reads the sections for the picker (again after a sync brought new ones). */
  async loadSections(): Promise<void> {
    const request = ++this.sectionsRequest;
    try {
      const sections = await this.backend.listSections();
      if (request !== this.sectionsRequest) return;
      this.sections = sections;
      this.fillSections();
    } catch (reason) {
      if (request !== this.sectionsRequest) return;
      this.say(`Could not list the sections. ${BackendError.from(reason).message}`, "bad");
    }
  }

  /** What the form holds now. */
  choice(): DocumentChoice {
    return {
      kind: this.kind.value as DocumentKind,
      section: this.section.value,
      from: this.from.value,
      to: this.to.value,
      checklist: this.checklist.value,
      student: this.student.value,
      yearGroup: this.yearGroup.value,
      record: this.record.value,
    };
  }

  private showFields(): void {
    const wanted = FIELDS[this.kind.value as DocumentKind] ?? [];
    for (const [name, el] of this.fields) {
      if (name === "kind" || name === "format" || name === "paper") continue;
      el.hidden = !wanted.includes(name);
    }
    this.fillSections();
  }

  /** The section picker, grouped by school; an emergency list may cover everyone. */
  private fillSections(): void {
    const kept = this.section.value;
    const emergency = this.kind.value === "emergency";
    const first = emergency
      ? h("option", { value: "" }, "Everyone in school today")
      : h(
          "option",
          { value: "" },
          this.sections.length > 0 ? "Choose a section…" : "No sections yet: they appear after the first sync",
        );
    const groups = new Map<string, HTMLOptGroupElement>();
    for (const s of this.sections) {
      const school = s.school ?? s.system_name;
      let group = groups.get(school);
      if (!group) {
        group = h("optgroup", { label: school });
        groups.set(school, group);
      }
      group.append(h("option", { value: s.id }, sectionLabel(s)));
    }
    this.section.replaceChildren(first, ...groups.values());
    this.section.value = this.sections.some((s) => s.id === kept) ? kept : "";
  }

  /** Runs Save or Print: checks the form, calls the shell, says what happened. */
  private async run(button: HTMLButtonElement, act: (request: DocumentRequest) => Promise<string>): Promise<void> {
    const built = buildRequest(this.choice());
    if ("problem" in built) {
      this.say(built.problem, "bad");
      return;
    }
    await this.busy(button, async () => this.say(await act(built.request), "ok"));
  }

  private async busy(button: HTMLButtonElement, work: () => Promise<void>): Promise<void> {
    // Not `disabled` while in flight: that would throw the keyboard focus off the button.
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    this.say(button === this.print ? "Making the PDF…" : "Working…", "busy");
    try {
      await work();
    } catch (reason) {
      const error = BackendError.from(reason);
      this.say(error.message, "bad", error.code);
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  private say(text: string, kind: "ok" | "bad" | "busy", code?: string): void {
    this.result.textContent = text;
    this.result.dataset.state = kind;
    if (code) this.result.dataset.code = code;
    else delete this.result.dataset.code;
  }
}
