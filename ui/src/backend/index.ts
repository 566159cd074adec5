// The one door between the page and whatever answers it: the Tauri shell in the app, or
// the in-memory mock when the page runs in a plain browser (`npm run dev`) and in tests.
import type { Backend } from "./backend";
import { MockBackend } from "./mock";
import { TauriBackend } from "./tauri";

export { BackendError, type Backend, type DeskHandlers } from "./backend";
export { MockBackend, TauriBackend };

/** The Tauri backend inside the app; the mock anywhere else. */
export function pickBackend(win: Window = window): Backend {
  return "__TAURI_INTERNALS__" in win ? new TauriBackend() : new MockBackend();
}
