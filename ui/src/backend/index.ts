// The one door between the page and the desk: the Tauri shell's IPC. In development and
// fixture builds a fake IPC (src/fixture) answers at that same boundary when the page runs
// in a plain browser; a production build holds no fixture at all (scripts/bundle-size.mjs).
import { TauriBackend } from "./tauri";

export { BackendError, type Backend, type DeskHandlers } from "./backend";
export { TauriBackend };

/** The backend the page talks to, installing the fixture IPC first where one is allowed. */
export async function pickBackend(win: Window = window): Promise<TauriBackend> {
  // Vite replaces MODE with a literal, so a production build drops this branch and the
  // fixture chunk with it.
  if (import.meta.env.MODE === "development" || import.meta.env.MODE === "fixture") {
    if (!("__TAURI_INTERNALS__" in win)) {
      const { installFixture } = await import("../fixture/install");
      installFixture(win);
    }
  }
  return new TauriBackend();
}
