// Client-side search over every person: each keystroke filters the whole list, so each
// person's searchable text is folded (lower case, accents dropped) once when the list is
// read, and a search is a few `includes` per person.
import type { PersonRow } from "../bindings/ipc";

/** Lower case, accents dropped: "García" → "garcia". */
export function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

export interface SearchIndex {
  readonly people: readonly PersonRow[];
  /** Per person: name, family, given and every id, folded, separated by a newline. */
  readonly haystacks: readonly string[];
}

export function buildIndex(people: readonly PersonRow[]): SearchIndex {
  return {
    people,
    haystacks: people.map((p) => fold([p.name, p.family_name, p.given_name, ...p.ids].join("\n"))),
  };
}

/** The typed words, folded; empty means "everyone". */
export function queryWords(query: string): string[] {
  return fold(query)
    .split(/\s+/)
    .filter(Boolean);
}

/**
 * The positions (into `index.people`) of everyone whose name or ids contain every typed
 * word, optionally only among `within` (a section's members), in list order.
 */
export function search(index: SearchIndex, query: string, within?: ReadonlySet<string>): number[] {
  const words = queryWords(query);
  const out: number[] = [];
  const { people, haystacks } = index;
  for (let i = 0; i < haystacks.length; i++) {
    if (within && !within.has(people[i]!.id)) continue;
    const hay = haystacks[i]!;
    let ok = true;
    for (const w of words) {
      if (!hay.includes(w)) {
        ok = false;
        break;
      }
    }
    if (ok) out.push(i);
  }
  return out;
}
