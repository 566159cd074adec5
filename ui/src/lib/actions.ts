// Sizes and positions set through the CSSOM (`el.style.…`), never a `style` attribute: the
// app's CSP allows no inline styles, and CSSOM writes are not inline styles.

export interface Box {
  height?: number;
  top?: number;
  vars?: Record<string, string>;
}

function apply(node: HTMLElement, box: Box): void {
  if (box.height !== undefined) node.style.height = `${box.height}px`;
  if (box.top !== undefined) node.style.transform = `translateY(${box.top}px)`;
  for (const [name, value] of Object.entries(box.vars ?? {})) node.style.setProperty(name, value);
}

export function box(node: HTMLElement, value: Box) {
  apply(node, value);
  return { update: (next: Box) => apply(node, next) };
}
