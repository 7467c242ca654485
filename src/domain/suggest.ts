import { distance } from 'fastest-levenshtein';

/** The closest candidate to a mistyped word, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = typoDistance(w, c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  // Allow about one edit per three letters: "sprak" → spark, but "x" does not become "help".
  if (best && best.d <= Math.max(1, Math.floor(best.c.length / 3))) return best.c;
  return undefined;
}

/** Edit distance that counts swapping two neighbouring letters as one edit ("lsit" → list, "sprak" → spark). */
function typoDistance(a: string, b: string): number {
  let d = distance(a, b);
  for (let i = 0; i + 1 < a.length; i++)
    if (a[i] !== a[i + 1]) d = Math.min(d, 1 + distance(a.slice(0, i) + a[i + 1] + a[i] + a.slice(i + 2), b));
  return d;
}
