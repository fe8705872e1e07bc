/** "Did you mean": names near a mistyped word (commands, descriptor fields, file names). */

export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      // a transposition counts as one edit
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** Names within a small edit distance of `word` (at most a third of its length, at least 1), closest first. */
export function suggest(word: string, names: readonly string[]): string[] {
  const limit = Math.max(1, Math.floor(word.length / 3));
  // The distance is at least the difference in length: most names are dismissed without computing it.
  const scored = [...new Set(names)]
    .filter((n) => Math.abs(n.length - word.length) <= limit)
    .map((n) => ({ n, d: editDistance(word, n) }))
    .filter((x) => x.d <= limit);
  const best = Math.min(...scored.map((x) => x.d));
  return scored.filter((x) => x.d === best).map((x) => x.n).sort();
}
