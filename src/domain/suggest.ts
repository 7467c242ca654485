import { distance } from 'fastest-levenshtein';

/** The closest candidate to a mistyped word, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  // Allow about one edit per three letters: "sprak" → spark, but "x" does not become "help".
  if (best && best.d <= Math.max(1, Math.floor(best.c.length / 3))) return best.c;
  return undefined;
}
