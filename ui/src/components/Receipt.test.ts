// The receipt view: what it shows of a write's history and a conflict, and that Discard asks
// before it discards.
import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import Receipt from "./Receipt.svelte";
import { demoOutboxRows, demoReceipt } from "../fixture/data";
import type { ResolveChoice } from "../bindings/ipc";

let app: ReturnType<typeof mount> | undefined;
afterEach(async () => {
  if (app) await unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

function show(id: number) {
  const calls: string[] = [];
  const row = demoOutboxRows().find((r) => r.id === id)!;
  const target = document.createElement("div");
  document.body.append(target);
  app = mount(Receipt, {
    target,
    props: {
      receipt: demoReceipt(row),
      onretry: () => calls.push("retry"),
      ondiscard: () => calls.push("discard"),
      onresolve: (c: ResolveChoice) => calls.push(c),
    },
  });
  flushSync();
  const q = (t: string) => target.querySelector<HTMLElement>(`[data-testid="${t}"]`);
  return { calls, q, target };
}

describe("the receipt view", () => {
  it("lists every attempt: when, what was sent and the answer", () => {
    const { q, target } = show(2);
    const attempts = target.querySelectorAll('[data-testid="attempt"]');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.textContent).toContain("POST /api/v1/set-grades");
    expect(attempts[0]!.textContent).toContain("Matrix LMS answered 503; will retry");
    expect(q("receipt-error")?.textContent).toBe("Matrix LMS answered 503; will retry");
    // Pending: it may be discarded, not retried or resolved.
    expect(q("retry")).toBeNull();
    expect(q("keep-mine")).toBeNull();
    expect(q("discard")).not.toBeNull();
  });

  it("says when a write was never sent", () => {
    const { q } = show(5);
    expect(q("no-attempts")?.textContent).toBe("Not sent yet.");
    expect(q("retry")).not.toBeNull();
  });

  it("shows a conflict side by side and resolves it either way", () => {
    const { q, calls } = show(3);
    expect(q("conflict-yours")?.textContent).toContain("Absent");
    expect(q("conflict-theirs")?.textContent).toContain("Present");
    expect(q("conflict-theirs")?.textContent).toContain("j.smith (front office)");
    q("keep-mine")!.click();
    q("take-theirs")!.click();
    expect(calls).toEqual(["keep_mine", "take_theirs"]);
  });

  it("discards only after the person confirms", () => {
    const { q, calls } = show(4);
    const dialog = q("discard-dialog") as HTMLDialogElement;
    q("discard")!.click();
    expect(dialog.open).toBe(true);
    expect(calls).toEqual([]);
    q("discard-cancel")!.click();
    expect(dialog.open).toBe(false);
    expect(calls).toEqual([]);
    q("discard")!.click();
    q("discard-confirm")!.click();
    expect(dialog.open).toBe(false);
    expect(calls).toEqual(["discard"]);
  });
});
