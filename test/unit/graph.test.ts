import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closure, dependents, findCycle, levels } from '../../src/core/graph.js';

const depsOf = (g: Record<string, string[]>) => (n: string) => g[n] ?? [];

describe('dependency graph', () => {
  const g = { b: ['a'], c: [], a: [], d: ['b', 'c'] };

  it('closure follows requires transitively, roots first', () => {
    expect(closure(['d'], depsOf(g))).toEqual(['d', 'b', 'a', 'c']);
  });

  it('levels put independent nodes together and dependencies first', () => {
    expect(levels(['a', 'b', 'c'], depsOf(g))).toEqual([['a', 'c'], ['b']]);
    expect(levels(['d', 'b', 'a', 'c'], depsOf(g))).toEqual([['a', 'c'], ['b'], ['d']]);
  });

  it('finds and prints a cycle', () => {
    expect(findCycle(['x'], depsOf({ x: ['y'], y: ['z'], z: ['y'] }))).toEqual(['y', 'z', 'y']);
    expect(() => levels(['x', 'y'], depsOf({ x: ['y'], y: ['x'] }))).toThrow('dependency cycle: x -> y -> x');
    expect(findCycle(['a', 'b', 'c', 'd'], depsOf(g))).toBeUndefined();
  });

  it('dependents are the installed nodes that need a target, transitively', () => {
    expect(dependents(['a'], ['a', 'b', 'c', 'd'], depsOf(g))).toEqual(['b', 'd']);
    expect(dependents(['c'], ['a', 'b', 'c'], depsOf(g))).toEqual([]);
  });

  it('property: in any DAG, every node comes in a later level than each of its deps', () => {
    // Random DAGs: node i may only depend on nodes j < i.
    const dag = fc.integer({ min: 1, max: 12 }).chain((n) =>
      fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => `n${j}`)))),
    );
    fc.assert(
      fc.property(dag, (edges) => {
        const graph = Object.fromEntries(edges.map((d, i) => [`n${i}`, d]));
        const nodes = Object.keys(graph);
        const lv = levels(nodes, depsOf(graph));
        const at = new Map(lv.flatMap((l, i) => l.map((n) => [n, i] as const)));
        expect(lv.flat().sort()).toEqual([...nodes].sort());
        for (const n of nodes) for (const d of graph[n] ?? []) expect(at.get(n)! > at.get(d)!).toBe(true);
        expect(findCycle(nodes, depsOf(graph))).toBeUndefined();
      }),
    );
  });
});
