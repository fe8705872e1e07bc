import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from '../../src/core/suggest.js';

/** suggest() as defined: every name scored, no shortcut (the length filter must not change a result). */
function reference(word: string, names: readonly string[]): string[] {
  const limit = Math.max(1, Math.floor(word.length / 3));
  const scored = [...new Set(names)].map((n) => ({ n, d: editDistance(word, n) })).filter((x) => x.d <= limit);
  const best = Math.min(...scored.map((x) => x.d));
  return scored.filter((x) => x.d === best).map((x) => x.n).sort();
}

describe('suggest', () => {
  it('finds near names, closest first', () => {
    expect(suggest('extenison.yaml', ['extension.yaml', 'description.yaml'])).toEqual(['extension.yaml']);
    expect(suggest('instal', ['install', 'uninstall', 'status'])).toEqual(['install']);
    expect(suggest('zzz', ['install'])).toEqual([]);
  });

  it('gives what scoring every name gives (the length filter only skips names out of reach)', () => {
    // A deterministic pseudo-random set of words over a small alphabet: many near misses.
    let seed = 42;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const word = (): string => Array.from({ length: 1 + rnd(12) }, () => 'abcde.'[rnd(6)]).join('');
    for (let i = 0; i < 2000; i++) {
      const w = word();
      const names = Array.from({ length: 1 + rnd(8) }, word);
      expect(suggest(w, names), `${w} in ${names.join(',')}`).toEqual(reference(w, names));
    }
  });
});
