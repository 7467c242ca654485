import Mustache from 'mustache';

/**
 * The Mustache tags in `text` that name nothing in `view`. Mustache renders an unknown name as the
 * empty string, so `{{node.hostnmae}}` silently becomes `server.1=:2888:3888`; this walks the parse
 * tree with the same context stack Mustache renders with and lists every name no frame holds.
 * Throws on a syntax error, like Mustache.parse (the schema checks catch those first).
 */
export function unknownMustacheNames(text: string, view: unknown): string[] {
  return unknownMustacheTags(text, view).map((t) => t.name);
}

/** The same, each with the 1-based line of `text` where the name is first used (for long file texts). */
export function unknownMustacheTags(text: string, view: unknown): { name: string; line: number }[] {
  const missing = new Map<string, number>();
  walk(Mustache.parse(text) as unknown as Token[], [view], missing);
  return [...missing].map(([name, offset]) => ({ name, line: text.slice(0, offset).split('\n').length }));
}

/** Mustache.parse's tokens: [type, value, start, end, children?, ...]. */
type Token = [string, string, number, number, Token[]?];

function walk(tokens: Token[], stack: unknown[], missing: Map<string, number>): void {
  for (const [type, name, start, , children] of tokens) {
    // text, comments (!), delimiter changes (=) and partials (>, none are ever passed) name nothing.
    if (type !== 'name' && type !== '&' && type !== '#' && type !== '^') continue;
    const found = lookup(name, stack);
    if (!found.hit && !missing.has(name)) missing.set(name, start);
    if (!children) continue;
    const value = found.value;
    if (type === '#' && Array.isArray(value)) {
      // Each element is the top frame for one pass; an empty list renders nothing, so nothing to check.
      for (const item of value) walk(children, [...stack, item], missing);
    } else if (type === '#' && value !== null && typeof value === 'object') {
      walk(children, [...stack, value], missing);
    } else {
      // Booleans, inverted sections and unknown names: the body sees the same frames, and a typo in
      // it is a typo whether or not this node happens to render it (`{{^last}},{{/last}}`).
      walk(children, stack, missing);
    }
  }
}

/** Mustache's Context.lookup: the innermost frame that holds the (dotted) name wins. */
function lookup(name: string, stack: unknown[]): { hit: boolean; value?: unknown } {
  if (name === '.') return { hit: true, value: stack[stack.length - 1] };
  const parts = name.split('.');
  for (let i = stack.length - 1; i >= 0; i--) {
    let value: unknown = stack[i];
    let hit = false;
    for (const [j, part] of parts.entries()) {
      if (value === null || value === undefined) break;
      if (j === parts.length - 1) hit = holds(value, part);
      value = (value as Record<string, unknown>)[part];
    }
    if (hit) return { hit, value };
  }
  return { hit: false };
}

function holds(value: unknown, key: string): boolean {
  if (typeof value === 'object' && value !== null) return key in value;
  return Object.hasOwn(value as object, key);
}
