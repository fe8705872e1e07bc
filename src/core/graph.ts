/**
 * Dependency graphs of extensions: transitive closure, cycle detection (the
 * cycle is returned so it can be printed) and levels that can run in parallel.
 * `deps(n)` lists what n requires.
 */

export type Deps = (node: string) => readonly string[];

/** Every node reachable from `roots` through deps, roots included, in first-seen order. */
export function closure(roots: readonly string[], deps: Deps): string[] {
  const seen = new Set<string>();
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const n = stack.pop() as string;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const d of [...deps(n)].reverse()) if (!seen.has(d)) stack.push(d);
  }
  return [...seen];
}

/** A dependency cycle as a path that starts and ends on the same node, or undefined. */
export function findCycle(nodes: readonly string[], deps: Deps): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    const s = state.get(n);
    if (s === 'done') return undefined;
    if (s === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const d of deps(n)) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of nodes) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

/**
 * Groups nodes into levels: every node's deps (within `nodes`) are in earlier
 * levels, so the nodes of one level can run in parallel. Throws on a cycle.
 * Order within a level follows the order of `nodes`.
 */
export function levels(nodes: readonly string[], deps: Deps): string[][] {
  const cycle = findCycle(nodes, deps);
  if (cycle) throw new Error(`dependency cycle: ${cycle.join(' -> ')}`);
  const inSet = new Set(nodes);
  const level = new Map<string, number>();
  const depth = (n: string): number => {
    const known = level.get(n);
    if (known !== undefined) return known;
    let d = 0;
    for (const x of deps(n)) if (inSet.has(x)) d = Math.max(d, depth(x) + 1);
    level.set(n, d);
    return d;
  };
  const out: string[][] = [];
  for (const n of nodes) {
    const d = depth(n);
    (out[d] ??= []).push(n);
  }
  return out;
}

/** Nodes of `installed` that require any of `targets`, directly or transitively (targets excluded). */
export function dependents(targets: readonly string[], installed: readonly string[], deps: Deps): string[] {
  const t = new Set(targets);
  return installed.filter((n) => !t.has(n) && closure([n], deps).slice(1).some((d) => t.has(d)));
}
