/**
 * Start-up cost guard: the heavy packages (Kubernetes client ~400 ms, got, listr2,
 * execa, fastify, SQLite) must not be reachable through static imports from the
 * CLI entry points (the bins, and what they load at start: run.ts and the program
 * builders), nor from the commands that should stay cheap (`--help`,
 * `extensions list|describe|validate`). They may only be imported lazily
 * (`await import(…)`) inside the commands that need them. The same graph, as bundled,
 * is checked on dist/ by test/integration/bundle.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const HEAVY = ['@kubernetes/client-node', 'got', 'listr2', 'execa', 'fastify', 'better-sqlite3'];

/** Static, value-level imports of a module (type-only imports and dynamic import() excluded). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    if (m[1]) continue; // import type … / export type …
    out.push(m[2] as string);
  }
  return out;
}

function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const p = resolve(dirname(from), spec).replace(/\.js$/, '.ts');
  return existsSync(p) ? p : undefined;
}

/** Heavy packages reachable from `entry`, each with the import chain that reaches it. */
function heavyReachable(entry: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      const local = resolveLocal(file, spec);
      if (local) walk(local, [...chain, local.slice(SRC.length)]);
      else if (HEAVY.some((h) => spec === h || spec.startsWith(h + '/'))) found.push(`${[...chain, spec].join(' -> ')}`);
    }
  };
  walk(entry, [entry.slice(SRC.length)]);
  return found;
}

describe('CLI start-up stays cheap', () => {
  const entries = [
    'cli/bin/fuseml-installer.ts',
    'cli/bin/fuseml.ts',
    'cli/bin/fuseml-registry.ts',
    // What the bins import at start (after turning source maps on, see cli/startup.ts): cli/main/*.ts,
    // i.e. run.ts and the program builders.
    'cli/main/installer.ts',
    'cli/main/fuseml.ts',
    'cli/main/registry.ts',
    'cli/run.ts',
    'cli/programs/installer.ts',
    'cli/programs/fuseml.ts',
    'cli/programs/registry.ts',
    'cli/commands/extensions.ts', // extensions list | describe | validate
    'cli/commands/workflow-render.ts', // workflow render (run loads the Kubernetes client lazily)
  ];
  for (const e of entries) {
    it(`${e} reaches no heavy package through static imports`, () => {
      expect(heavyReachable(join(SRC, e))).toEqual([]);
    });
  }

  it('the bins load only startup.ts statically, then run.ts and their program builder in one import (cli/main/*.ts, the entries above)', () => {
    for (const [bin, program] of [['fuseml-installer', 'installer'], ['fuseml', 'fuseml'], ['fuseml-registry', 'registry']]) {
      const text = readFileSync(join(SRC, `cli/bin/${bin}.ts`), 'utf8');
      // Source maps (--verbose) apply only to modules loaded after prepareStart().
      expect(staticImports(join(SRC, `cli/bin/${bin}.ts`))).toEqual(['../startup.js']);
      expect(text.match(/import\(/g)).toHaveLength(1);
      expect(text).toContain(`import('../main/${program}.js')`);
      const main = staticImports(join(SRC, `cli/main/${program}.ts`));
      expect(main).toContain('../run.js');
      expect(main).toContain(`../programs/${program}.js`);
    }
  });

  it('lazy boundaries of the warm commands: -o yaml loads the YAML writer, `version` the tool probes, only when used', () => {
    const reaches = (entry: string, target: (spec: string, local: string | undefined) => boolean): boolean => {
      const seen = new Set<string>();
      const walk = (file: string): boolean => {
        if (seen.has(file)) return false;
        seen.add(file);
        return staticImports(file).some((spec) => {
          const local = resolveLocal(file, spec);
          return target(spec, local) || (local !== undefined && walk(local));
        });
      };
      return walk(join(SRC, entry));
    };
    for (const e of ['cli/main/installer.ts', 'cli/main/fuseml.ts', 'cli/main/registry.ts', 'cli/output.ts', 'cli/commands/extensions.ts']) {
      expect(reaches(e, (spec) => spec === 'yaml'), `${e} reaches yaml`).toBe(false);
      expect(reaches(e, (_, local) => local?.endsWith('/cli/commands/tool-versions.ts') ?? false), `${e} reaches tool-versions.ts`).toBe(false);
    }
    // The check can fail: the writer module does reach yaml.
    expect(reaches('cli/yaml-stringify.ts', (spec) => spec === 'yaml')).toBe(true);
    expect(readFileSync(join(SRC, 'cli/output.ts'), 'utf8')).toContain("import('./yaml-stringify.js')");
  });

  it('a repository answered by the cache loads no YAML or schema code: extensions list|describe reach neither statically', () => {
    const light = (entry: string): string[] => {
      const seen = new Set<string>();
      const out: string[] = [];
      const walk = (file: string): void => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const spec of staticImports(file)) {
          const local = resolveLocal(file, spec);
          if (local) walk(local);
          else if (spec === 'yaml' || spec.startsWith('ajv')) out.push(`${file.slice(SRC.length)} -> ${spec}`);
          if (local?.endsWith('/descriptor/load.ts') || local?.endsWith('/descriptor/yaml.ts')) out.push(`${file.slice(SRC.length)} -> ${local.slice(SRC.length)}`);
        }
      };
      walk(join(SRC, entry));
      return out;
    };
    expect(light('cli/commands/extensions.ts')).toEqual([]);
    expect(light('descriptor/load.ts')).toContain('descriptor/load.ts -> descriptor/yaml.ts'); // the check can fail
  });

  it('the check can fail: the registry server module (loaded by `serve` only) does reach fastify and SQLite', () => {
    const chains = heavyReachable(join(SRC, 'registry/server/app.ts'));
    expect(chains.some((c) => c.endsWith(' -> fastify'))).toBe(true);
  });
});
