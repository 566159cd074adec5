// A hash router small enough to read at a glance: the screen lives in `location.hash`
// (`#/rosters`, `#/student/ext%3AS-1001`), so Back, Forward and a reload all keep the place,
// and no server needs to know the app's paths (Tauri serves one index.html).

export type Route =
  | { screen: "today" }
  | { screen: "rosters" }
  | { screen: "student"; person: string }
  | { screen: "outbox"; entry: number | null }
  | { screen: "documents" }
  | { screen: "settings" }
  // Part 2's screens; `arg` is the rest of the hash, decoded, for the screen to read (a
  // section, a checklist, a person…), or null.
  | { screen: WorkScreen; arg: string | null };

/** The screens whose place inside them is one free-form argument. */
export const WORK_SCREENS = ["register", "emergency", "enrollment", "classes", "support"] as const;
export type WorkScreen = (typeof WORK_SCREENS)[number];

function isWorkScreen(head: string | undefined): head is WorkScreen {
  return (WORK_SCREENS as readonly string[]).includes(head ?? "");
}

export type Screen = Route["screen"];

/** The route a hash names; anything unknown is Today. */
export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  const [head, arg] = parts;
  if (isWorkScreen(head)) {
    const rest = parts.slice(1).join("/");
    try {
      return { screen: head, arg: rest ? decodeURIComponent(rest) : null };
    } catch {
      return { screen: head, arg: null };
    }
  }
  switch (head) {
    case "rosters":
      return { screen: "rosters" };
    case "student": {
      if (!arg) return { screen: "rosters" };
      try {
        return { screen: "student", person: decodeURIComponent(arg) };
      } catch {
        return { screen: "rosters" };
      }
    }
    case "outbox": {
      const id = arg ? Number(arg) : NaN;
      return { screen: "outbox", entry: Number.isInteger(id) && id > 0 ? id : null };
    }
    case "documents":
      return { screen: "documents" };
    case "settings":
      return { screen: "settings" };
    default:
      return { screen: "today" };
  }
}

/** The hash for a route (what `<a href>` takes). */
export function href(route: Route): string {
  switch (route.screen) {
    case "student":
      return `#/student/${encodeURIComponent(route.person)}`;
    case "outbox":
      return route.entry === null ? "#/outbox" : `#/outbox/${route.entry}`;
    case "register":
    case "emergency":
    case "enrollment":
    case "classes":
    case "support":
      return route.arg === null ? `#/${route.screen}` : `#/${route.screen}/${encodeURIComponent(route.arg)}`;
    default:
      return `#/${route.screen}`;
  }
}

export function go(route: Route, win: Window = window): void {
  win.location.hash = href(route);
}

/** Calls `on` with the route now and after every hash change, until the returned stop. */
export function followRoute(on: (route: Route) => void, win: Window = window): () => void {
  const tell = () => on(parseHash(win.location.hash));
  win.addEventListener("hashchange", tell);
  tell();
  return () => win.removeEventListener("hashchange", tell);
}
