import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeskPage, operationLabel } from "./app";
import { MockBackend, demoOutbox, student } from "./backend/mock";

let root: HTMLElement;
let page: DeskPage | undefined;

beforeEach(() => {
  document.body.innerHTML = "";
  root = document.createElement("div");
  document.body.append(root);
});

afterEach(() => page?.dispose());

const q = (id: string) => root.querySelector(`[data-testid="${id}"]`) as HTMLElement;
const qa = (id: string) => [...root.querySelectorAll(`[data-testid="${id}"]`)] as HTMLElement[];

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function type(input: HTMLInputElement, text: string): void {
  input.value = text;
  input.dispatchEvent(new Event("input"));
}

describe("the desk page", () => {
  it("shows the students, the outbox and the demo badge", async () => {
    page = new DeskPage(root, new MockBackend(), { searchDelayMs: 0 });
    await page.start();

    expect(q("demo-badge").hidden).toBe(false);
    expect(q("sync-status").textContent).toBe("Up to date");
    const rows = qa("student-row");
    expect(rows).toHaveLength(4);
    expect(rows[0]!.textContent).toContain("Amara Okafor");
    expect(rows[0]!.textContent).toContain("S-1001");
    expect(rows[0]!.textContent).toContain("OmniForge SIS");
    expect(rows[0]!.textContent).toContain("7B");
    expect(q("student-count").textContent).toBe("4");

    const outbox = qa("outbox-row");
    expect(outbox).toHaveLength(2);
    expect(outbox[1]!.textContent).toContain("Set grades");
    expect(outbox[1]!.textContent).toContain("pending");
    expect(outbox[1]!.textContent).toContain("Matrix LMS answered 503");
    expect(q("outbox-count").textContent).toBe("1 waiting");
  });

  it("hides the badge outside demo mode", async () => {
    const backend = new MockBackend({
      status: { version: "1.2.3", demo: false, data_dir: "/data", sync: { state: "ready" } },
    });
    page = new DeskPage(root, backend);
    await page.start();
    expect(q("demo-badge").hidden).toBe(true);
    expect(q("footer").textContent).toContain("1.2.3");
  });

  it("searches as the person types and says when nothing matches", async () => {
    const backend = new MockBackend();
    page = new DeskPage(root, backend, { searchDelayMs: 0 });
    await page.start();
    const search = q("student-search") as HTMLInputElement;

    type(search, "uk 0042");
    await until(() => qa("student-row").length === 1, "the search result");
    expect(qa("student-row")[0]!.textContent).toContain("Oliver Hughes");
    expect(backend.calls.at(-1)).toEqual({ cmd: "list_students", search: "uk 0042" });

    type(search, "sof garc");
    await until(() => qa("student-row")[0]?.textContent?.includes("Sofia García") === true, "accents ignored");
    expect(qa("student-row")).toHaveLength(1);

    type(search, "nobody-by-this-name");
    await until(() => q("note-empty") !== null, "the no-match note");
    expect(q("note-empty").textContent).toContain("No students match “nobody-by-this-name”");
  });

  it("explains an empty cache and an empty outbox", async () => {
    page = new DeskPage(root, new MockBackend({ students: [], outbox: [] }));
    await page.start();
    const notes = qa("note-empty").map((n) => n.textContent);
    expect(notes).toEqual([
      expect.stringContaining("No students yet"),
      expect.stringContaining("The outbox is empty"),
    ]);
  });

  it("shows the shell's error message and offers a retry only when it can help", async () => {
    const backend = new MockBackend({
      failWith: {
        code: "cache.key_missing",
        message: "The cache key is missing from the keychain. Unlock your keychain and restart.",
        retryable: false,
      },
    });
    page = new DeskPage(root, backend);
    await page.start();
    const errors = qa("note-error");
    expect(errors).toHaveLength(2);
    expect(errors[0]!.dataset.code).toBe("cache.key_missing");
    expect(errors[0]!.textContent).toContain("Unlock your keychain");
    expect(errors[0]!.querySelector("button")).toBeNull();
    expect(root.querySelector('[role="alert"].banner')!.textContent).toContain("Unlock your keychain");
  });

  it("reports a failed first sync from the status", async () => {
    const backend = new MockBackend({
      status: {
        version: "1",
        demo: true,
        data_dir: "/d",
        sync: {
          state: "failed",
          error: { code: "desk.demo", message: "Could not start the demo district: port in use", retryable: true },
        },
      },
    });
    page = new DeskPage(root, backend);
    await page.start();
    expect(q("sync-status").textContent).toBe("Not syncing");
    const banner = root.querySelector(".banner") as HTMLElement;
    expect(banner.hidden).toBe(false);
    expect(banner.dataset.code).toBe("desk.demo");
  });

  it("polls while the first sync runs, then reloads the lists", async () => {
    const backend = new MockBackend({
      students: [student("Ada", "Lovelace")],
      status: {
        version: "1",
        demo: true,
        data_dir: "/d",
        sync: { state: "starting", detail: "OmniForge SIS: students (120 rows)" },
      },
    });
    page = new DeskPage(root, backend, { pollMs: 5 });
    await page.start();
    expect(q("sync-status").textContent).toBe(
      "Starting the demo district and syncing · OmniForge SIS: students (120 rows)",
    );
    const loadsBefore = backend.calls.filter((c) => c.cmd === "list_students").length;

    backend.setStatus({ version: "1", demo: true, data_dir: "/d", sync: { state: "ready" } });
    await until(() => q("sync-status").textContent === "Up to date", "the ready status");
    await until(
      () => backend.calls.filter((c) => c.cmd === "list_students").length > loadsBefore,
      "the reload",
    );
    expect(qa("student-row")[0]!.textContent).toContain("Ada Lovelace");
  });

  it("puts names in as text, never as markup", async () => {
    page = new DeskPage(root, new MockBackend({ students: [student("<img src=x onerror=alert(1)>", "Tables")], outbox: demoOutbox() }));
    await page.start();
    expect(root.querySelector("img")).toBeNull();
    expect(qa("student-row")[0]!.textContent).toContain("<img src=x");
  });

  it("says when the list holds only the first page", async () => {
    const many = Array.from({ length: 1001 }, (_, i) => student(`Kid${i}`, "Many"));
    page = new DeskPage(root, new MockBackend({ students: many }));
    await page.start();
    expect(qa("student-row")).toHaveLength(1000);
    expect(q("student-count").textContent).toBe("first 1000");
    expect(q("note-more").textContent).toContain("Showing the first 1000 students");
  });
});

describe("operationLabel", () => {
  it("reads like a sentence", () => {
    expect(operationLabel("remove_students_from_class")).toBe("Remove students from class");
  });
});
