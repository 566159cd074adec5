import { beforeEach, describe, expect, it } from "vitest";
import {
  DocumentsPanel,
  buildRequest,
  defaultPaper,
  describePrinted,
  describeSaved,
  lastDays,
  type DocumentChoice,
} from "./documents";
import { mount as mountApp, unmount, flushSync } from "svelte";
import App from "./App.svelte";
import { MockBackend } from "./fixture/mock";

let root: HTMLElement;

beforeEach(() => {
  document.body.innerHTML = "";
  root = document.createElement("div");
  document.body.append(root);
});

const q = <T extends HTMLElement = HTMLElement>(id: string) =>
  root.querySelector(`[data-testid="${id}"]`) as T;

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function choose(select: HTMLSelectElement, value: string): void {
  select.value = value;
  select.dispatchEvent(new Event("change"));
}

const blank: DocumentChoice = {
  kind: "emergency",
  section: "",
  from: "",
  to: "",
  checklist: "",
  student: "",
  yearGroup: "",
  record: "",
};

describe("the paper a PDF defaults to", () => {
  it("is Letter where offices print on Letter, A4 everywhere else", () => {
    expect(defaultPaper("en-US")).toBe("letter");
    expect(defaultPaper("es_MX")).toBe("letter");
    expect(defaultPaper("fr-CA")).toBe("letter");
    expect(defaultPaper("en-GB")).toBe("a4");
    expect(defaultPaper("de-DE")).toBe("a4");
    expect(defaultPaper("zh-Hant-TW")).toBe("a4");
    // No country: nothing says Letter.
    expect(defaultPaper("en")).toBe("a4");
    expect(defaultPaper(undefined)).toBe("a4");
  });
});

describe("the register's default dates", () => {
  it("cover the last 30 days including today, across a month end", () => {
    expect(lastDays(new Date(2025, 9, 15))).toEqual({ from: "2025-09-16", to: "2025-10-15" });
    expect(lastDays(new Date(2025, 0, 1), 1)).toEqual({ from: "2025-01-01", to: "2025-01-01" });
  });
});

describe("the request the form makes", () => {
  it("asks for what is missing instead of calling the shell", () => {
    expect(buildRequest({ ...blank, kind: "roster" })).toEqual({ problem: "Choose a section first." });
    expect(
      buildRequest({ ...blank, kind: "register", section: "omniforge:hr-7b", from: "2025-09-30", to: "2025-09-01" }),
    ).toEqual({
      problem: "The register would start on 2025-09-30, after it ends on 2025-09-01. Give the earlier date first.",
    });
    expect(buildRequest({ ...blank, kind: "learning_support", student: "s1", yearGroup: "Year 7" })).toHaveProperty(
      "problem",
    );
    expect(buildRequest({ ...blank, kind: "submission", record: "   " })).toHaveProperty("problem");
  });

  it("sends trimmed ids, and null for what covers everyone", () => {
    expect(buildRequest(blank)).toEqual({ request: { kind: "emergency", section: null } });
    expect(
      buildRequest({ ...blank, kind: "register", section: " omniforge:hr-7b ", from: "2025-09-01", to: "2025-09-30" }),
    ).toEqual({ request: { kind: "register", section: "omniforge:hr-7b", from: "2025-09-01", to: "2025-09-30" } });
    expect(buildRequest({ ...blank, kind: "learning_support", yearGroup: " Year 7 " })).toEqual({
      request: { kind: "learning_support", student: null, year_group: "Year 7" },
    });
  });
});

describe("the result line", () => {
  const result = {
    path: "/home/office/Documents/Schooldesk/emergency-all-2025-09-01.pdf",
    file_name: "emergency-all-2025-09-01.pdf",
    title: "Emergency list",
    bytes: 1000,
    students: 1,
  };
  it("says where the file went and how many students it names", () => {
    expect(describeSaved(result)).toBe(
      "Saved to /home/office/Documents/Schooldesk/emergency-all-2025-09-01.pdf (1 student)",
    );
    expect(describePrinted({ ...result, students: 120 })).toBe(
      "Opened emergency-all-2025-09-01.pdf in your PDF viewer: print it from there (120 students)",
    );
  });
});

describe("the Documents panel", () => {
  function mount(backend = new MockBackend(), locale = "en-GB") {
    const panel = new DocumentsPanel(backend, { now: () => new Date(2025, 8, 30), locale });
    root.append(panel.element);
    return { panel, backend };
  }

  it("shows only the fields the chosen document needs, with labels", async () => {
    const { panel } = mount();
    await panel.loadSections();
    const kind = q<HTMLSelectElement>("doc-kind");
    const visible = () =>
      [...root.querySelectorAll<HTMLElement>("[data-field]")].filter((f) => !f.hidden).map((f) => f.dataset.field);
    expect(kind.value).toBe("emergency");
    expect(visible()).toEqual(["kind", "section", "format", "paper"]);
    choose(kind, "register");
    expect(visible()).toEqual(["kind", "section", "dates", "format", "paper"]);
    expect(q<HTMLInputElement>("doc-from").value).toBe("2025-09-01");
    expect(q<HTMLInputElement>("doc-to").value).toBe("2025-09-30");
    choose(kind, "learning_support");
    expect(visible()).toEqual(["kind", "student", "year-group", "format", "paper"]);
    // Every control has a label that names it.
    for (const control of root.querySelectorAll("select, input")) {
      expect(root.querySelector(`label[for="${control.id}"]`), control.id).not.toBeNull();
    }
  });

  it("lists the sections by school, and everyone first for an emergency list", async () => {
    const { panel } = mount();
    await panel.loadSections();
    const section = q<HTMLSelectElement>("doc-section");
    expect(section.options[0]?.textContent).toBe("Everyone in school today");
    expect([...section.querySelectorAll("optgroup")].map((g) => g.label)).toEqual([
      "Lincoln Middle School",
      "Ashdown House School",
    ]);
    expect(section.options[2]?.textContent).toBe("Homeroom 7B · 26 students");
    choose(q("doc-kind"), "roster");
    expect(section.options[0]?.textContent).toBe("Choose a section…");
  });

  it("takes the paper from the locale", () => {
    mount(new MockBackend(), "en-US");
    expect(q<HTMLSelectElement>("doc-paper").value).toBe("letter");
  });

  it("saves with the chosen format and paper and says where it went", async () => {
    const { panel, backend } = mount(new MockBackend(), "en-US");
    await panel.loadSections();
    choose(q("doc-kind"), "roster");
    choose(q("doc-section"), "omniforge:hr-7b");
    choose(q("doc-format"), "xlsx");
    q<HTMLButtonElement>("doc-save").click();
    await until(() => q("doc-result").dataset.state === "ok", "the result");
    expect(backend.calls.at(-1)).toEqual({
      cmd: "export_document",
      args: { request: { kind: "roster", section: "omniforge:hr-7b" }, format: "xlsx", paper: "letter" },
    });
    expect(q("doc-result").textContent).toMatch(
      /^Saved to \/home\/office\/Documents\/Schooldesk\/roster-Homeroom-7B-\d{4}-\d\d-\d\d\.xlsx \(26 students\)$/,
    );
  });

  it("prints a PDF through the shell and says it opened", async () => {
    const { panel, backend } = mount();
    await panel.loadSections();
    q<HTMLButtonElement>("doc-print").click();
    await until(() => q("doc-result").dataset.state === "ok", "the result");
    expect(backend.calls.at(-1)).toEqual({
      cmd: "print_document",
      args: { request: { kind: "emergency", section: null }, paper: "a4" },
    });
    expect(q("doc-result").textContent).toMatch(/^Opened emergency-all-.*\.pdf in your PDF viewer/);
  });

  it("shows a missing choice or the shell's refusal as a sentence, and calls nothing for the former", async () => {
    const { panel, backend } = mount();
    await panel.loadSections();
    choose(q("doc-kind"), "roster");
    q<HTMLButtonElement>("doc-save").click();
    expect(q("doc-result").textContent).toBe("Choose a section first.");
    expect(q("doc-result").dataset.state).toBe("bad");
    expect(backend.calls.some((c: { cmd: string }) => c.cmd === "export_document")).toBe(false);

    choose(q("doc-kind"), "learning_support");
    q<HTMLButtonElement>("doc-save").click();
    await until(() => q("doc-result").dataset.code === "export.learning_support_disabled", "the refusal");
    expect(q("doc-result").textContent).toMatch(/^Learning support is not switched on/);
  });

  it("is placed in the frame's Documents screen and loads the sections with it", async () => {
    const backend = new MockBackend();
    location.hash = "#/documents";
    const app = mountApp(App, { target: root, props: { backend } });
    flushSync();
    await until(() => q("documents") !== null, "the panel");
    await until(() => q<HTMLSelectElement>("doc-section").options.length === 4, "the sections");
    expect(backend.calls.filter((c) => c.cmd === "list_sections")).toHaveLength(1);
    await unmount(app);
    location.hash = "";
  });
});
