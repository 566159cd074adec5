// The arithmetic of the virtualised list: with every row the same height, which rows a
// scroll position shows, and where the keyboard moves the active row.

export interface Window {
  /** First row in the DOM (inclusive). */
  start: number;
  /** One past the last row in the DOM. */
  end: number;
  /** Pixels above the first row in the DOM. */
  offset: number;
  /** Height of the whole list, in pixels. */
  total: number;
}

/** The rows to render for a viewport, with `overscan` extra rows either side. */
export function visibleWindow(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 4,
): Window {
  const total = count * rowHeight;
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0, total };
  const top = Math.max(0, Math.min(scrollTop, Math.max(0, total - viewport)));
  const first = Math.floor(top / rowHeight);
  const shown = Math.ceil(Math.max(viewport, 0) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + shown + overscan);
  return { start, end, offset: start * rowHeight, total };
}

/** Rows a page key moves: the rows wholly visible, at least one. */
export function pageRows(viewport: number, rowHeight: number): number {
  return Math.max(1, Math.floor(viewport / rowHeight) - 1);
}

/** The active row after a navigation key, or null for a key the list does not take. */
export function moveActive(key: string, active: number, count: number, page: number): number | null {
  if (count === 0) return null;
  const clamp = (i: number) => Math.max(0, Math.min(count - 1, i));
  switch (key) {
    case "ArrowDown":
      return active < 0 ? 0 : clamp(active + 1);
    case "ArrowUp":
      return active < 0 ? 0 : clamp(active - 1);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    case "PageDown":
      return clamp(Math.max(active, 0) + page);
    case "PageUp":
      return clamp(Math.max(active, 0) - page);
    default:
      return null;
  }
}

/** The scrollTop that brings row `index` into view, or the same one when it is already. */
export function scrollToShow(index: number, scrollTop: number, viewport: number, rowHeight: number): number {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewport) return top + rowHeight - viewport;
  return scrollTop;
}
