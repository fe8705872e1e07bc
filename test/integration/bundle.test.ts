/**
 * The bundled bins (scripts/bundle.mjs → dist/cli/bin/, what `npm run build` ships and every
 * test that runs a bin uses): what start-up loads, according to esbuild's own metafile (no heavy
 * package, no YAML or schema code before a command needs it), every command's --help run
 * through the real bin, source-mapped stack traces with --verbose, and the repository cache
 * seen from outside: an edited descriptor shows at once, a corrupt cache changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT_CODES } from '../../src/core/errors.js';
import { buildFusemlProgram } from '../../src/cli/programs/fuseml.js';
import { buildInstallerProgram } from '../../src/cli/programs/installer.js';
import { buildRegistryProgram } from '../../src/cli/programs/registry.js';
import { finishProgram } from '../../src/cli/run.js';
import { commandPath } from '../../src/cli/standard.js';
import { cli, type Bin } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHIPPED = join(ROOT, 'extensions');
const HEAVY = ['@kubernetes/client-node', 'got', 'listr2', 'execa', 'fastify', 'better-sqlite3'];

interface Meta {
  outputs: Record<string, { entryPoint?: string; entryPoints: string[]; imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
}
const meta = (): Meta => JSON.parse(readFileSync(join(ROOT, 'dist/bundle-meta.json'), 'utf8')) as Meta;

/** Output files loaded (statically) with `out`, and the external packages they import. */
function staticClosure(m: Meta, out: string): { files: Set<string>; externals: Set<string>; inputs: Set<string> } {
  const files = new Set<string>();
  const externals = new Set<string>();
  const inputs = new Set<string>();
  const walk = (f: string): void => {
    if (files.has(f)) return;
    files.add(f);
    const o = m.outputs[f];
    if (!o) throw new Error(`${f} is not in the metafile`);
    for (const i of Object.keys(o.inputs)) inputs.add(i);
    for (const i of o.imports) {
      if (i.kind !== 'import-statement') continue;
      if (i.external) externals.add(i.path);
      else walk(i.path);
    }
  };
  walk(out);
  return { files, externals, inputs };
}

/**
 * The file holding `entry` (a bin, or a module imported lazily), as the bundle ships it; with
 * `bin`, the one that bin loads (each bin is bundled on its own).
 */
const chunkOf = (m: Meta, entry: string, bin?: string): string => {
  const reachable = new Set<string>();
  const walk = (f: string): void => {
    if (reachable.has(f)) return;
    reachable.add(f);
    for (const i of m.outputs[f]?.imports ?? []) if (!i.external) walk(i.path);
  };
  if (bin) walk(`dist/cli/bin/${bin}.js`);
  const f = Object.keys(m.outputs).find((k) => m.outputs[k]?.entryPoints.includes(entry) && (!bin || reachable.has(k)));
  if (!f) throw new Error(`no output for ${entry}`);
  return f;
};
const packagesIn = (inputs: Set<string>): string[] =>
  [...new Set([...inputs].filter((i) => i.startsWith('node_modules/')).map((i) => i.split('/').slice(1, i.startsWith('node_modules/@') ? 3 : 2).join('/')))].sort();
const heavy = (externals: Set<string>): string[] => [...externals].filter((e) => HEAVY.some((h) => e === h || e.startsWith(h + '/')));

describe('the bundle', () => {
  it('exists: one file per bin plus the worker threads and the stand-alone validators', () => {
    for (const f of ['fuseml.js', 'fuseml-installer.js', 'fuseml-registry.js', 'registry-serve-worker.js', 'parse-worker.js', 'compiled/extension.cjs']) {
      expect(existsSync(join(ROOT, 'dist/cli/bin', f)), f).toBe(true);
    }
  });

  it('each bin is executable, with its #! line (npm link points at the built file: a rebuild must not break it)', () => {
    for (const bin of ['fuseml', 'fuseml-installer', 'fuseml-registry']) {
      const file = join(ROOT, 'dist/cli/bin', `${bin}.js`);
      expect(statSync(file).mode & 0o111, bin).toBe(0o111);
      expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n'), bin).toBe(true);
    }
  });

  for (const bin of ['fuseml', 'fuseml-installer', 'fuseml-registry'] as const) {
    it(`${bin}: start-up (the bin and what it imports at start) loads no heavy package, and of node_modules only commander`, () => {
      const m = meta();
      const entry = staticClosure(m, `dist/cli/bin/${bin}.js`);
      // The bin turns source maps on, then imports src/cli/main/*.ts (run.ts and its program builder): both are start-up.
      const program = { fuseml: 'fuseml', 'fuseml-installer': 'installer', 'fuseml-registry': 'registry' }[bin];
      const main = staticClosure(m, chunkOf(m, `src/cli/main/${program}.ts`));
      const start = [entry, main];
      expect(start.flatMap((c) => heavy(c.externals))).toEqual([]);
      expect([...new Set(start.flatMap((c) => packagesIn(c.inputs)))]).toEqual(['commander']);
      // Before prepareStart() (source maps for --verbose), the bin loads only what runs it.
      expect([...entry.inputs].sort()).toEqual([`src/cli/bin/${bin}.ts`, 'src/cli/startup.ts', 'src/core/cache-dir.ts']);
      expect(main.inputs).toContain('src/cli/run.ts');
      expect(main.inputs).toContain(`src/cli/programs/${program}.ts`);
      // Few files: each costs the ESM loader a resolve, a read, a compile and a link. The bin,
      // what runs before prepareStart (startup.ts and esbuild's runtime), and the rest in one file.
      expect(new Set([...entry.files, ...main.files]).size).toBeLessThanOrEqual(3);
    });
  }

  it('extensions list|describe|validate load no heavy package, and no YAML or schema code unless the cache misses', () => {
    const m = meta();
    const c = staticClosure(m, chunkOf(m, 'src/cli/commands/extensions.ts'));
    expect(heavy(c.externals)).toEqual([]);
    // What they load beyond start-up is one file.
    const main = staticClosure(m, chunkOf(m, 'src/cli/main/installer.ts'));
    expect([...c.files].filter((f) => !main.files.has(f))).toHaveLength(1);
    expect(packagesIn(c.inputs)).toEqual(['commander']);
    expect([...c.inputs].filter((i) => /src\/descriptor\/(load|yaml)\.ts$/.test(i))).toEqual([]);
    // The check can fail: the loader's chunk holds the YAML parser, the server's reaches fastify.
    expect(packagesIn(staticClosure(m, chunkOf(m, 'src/descriptor/load.ts')).inputs)).toContain('yaml');
    const serve = Object.keys(m.outputs).filter((f) => staticClosure(m, f).externals.has('fastify'));
    expect(serve.length).toBeGreaterThan(0);
  });

  it('-o yaml (describe\'s default) loads yaml\'s writer, not its parser', () => {
    const m = meta();
    const closure = staticClosure(m, chunkOf(m, 'src/cli/yaml-stringify.ts', 'fuseml-installer'));
    const writer = [...closure.inputs].filter((i) => i.startsWith('node_modules/yaml/'));
    // For describe, one file beyond start-up.
    expect([...closure.files].filter((f) => !staticClosure(m, chunkOf(m, 'src/cli/main/installer.ts')).files.has(f))).toHaveLength(1);
    expect(writer).toContain('node_modules/yaml/browser/dist/stringify/stringify.js');
    expect(writer.filter((i) => /\/(parse|compose)\//.test(i))).toEqual([]);
    // The check can fail: the descriptor loader's closure holds the parser.
    expect([...staticClosure(m, chunkOf(m, 'src/descriptor/load.ts')).inputs].some((i) => i.startsWith('node_modules/yaml/browser/dist/parse/'))).toBe(true);
  });

  it('only the files that use require() create one (createRequire costs each file that runs it)', async () => {
    const dir = join(ROOT, 'dist/cli/bin');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.js'));
    const withBanner: string[] = [];
    for (const f of files) if (/createRequire\(import\.meta\.url\)/.test(await readFile(join(dir, f), 'utf8'))) withBanner.push(f);
    // esbuild's shared runtime (its require shim for bundled CommonJS, e.g. commander) keeps it
    // (and a file whose text merely holds the word "require").
    expect(withBanner.length).toBeGreaterThan(0);
    expect(withBanner.length).toBeLessThan(files.length / 4);
  });
});

const PROGRAMS: Record<Bin, () => Command> = {
  'fuseml-installer': buildInstallerProgram,
  fuseml: buildFusemlProgram,
  'fuseml-registry': buildRegistryProgram,
};

function paths(cmd: Command): string[][] {
  const out: string[][] = [];
  const walk = (c: Command): void => {
    out.push(commandPath(c).split(' ').slice(1));
    for (const sub of c.commands) if (sub.name() !== '__complete') walk(sub);
  };
  walk(cmd);
  return out;
}

describe('every command of the bundled bins', () => {
  for (const [bin, build] of Object.entries(PROGRAMS) as [Bin, () => Command][]) {
    it(`${bin}: each command's --help runs from the bundle`, async () => {
      const all = paths(finishProgram(build()));
      expect(all.length).toBeGreaterThan(3);
      const failed: string[] = [];
      // A few at a time: each is a real process.
      for (let i = 0; i < all.length; i += 4) {
        await Promise.all(
          all.slice(i, i + 4).map(async (p) => {
            const r = await cli(bin, [...p, '--help']);
            if (r.exitCode !== 0 || !r.stdout.startsWith(`Usage: ${[bin, ...p].join(' ')}`) || !/^Usage: \S+( [^ |]+(\|\S+)?)* /.test(r.stdout)) failed.push(`${[bin, ...p].join(' ')}: exit ${r.exitCode} ${r.stderr.slice(0, 200)}`);
          }),
        );
      }
      expect(failed).toEqual([]);
    }, 240_000);
  }

  it('--verbose stack traces point into src/ through the source maps (and only with --verbose)', async () => {
    const args = ['extensions', 'list', '--extensions-repository', join(tmpdir(), 'fuseml-no-such-repository')];
    const verbose = await cli('fuseml-installer', [...args, '--verbose']);
    expect(verbose.exitCode).toBe(EXIT_CODES.NOT_FOUND);
    expect(verbose.stderr).toMatch(/at .*src\/descriptor\/repository\.ts:\d+:\d+/);
    // The start-up file (run.ts, the program builders) too: loaded after source maps were turned on.
    expect(verbose.stderr).toMatch(/at .*src\/cli\/run\.ts:\d+:\d+/);
    const quiet = await cli('fuseml-installer', args);
    expect(quiet.stderr).not.toMatch(/ at /);
  });
});

describe('the repository cache, through the bundled bin', () => {
  let tmp: string;
  let repo: string;
  let env: Record<string, string>;
  const cacheDir = (): string => join(tmp, 'cache/fuseml-installer/repositories');
  const list = async (): Promise<{ name: string; version: string; description: string }[]> => {
    const r = await cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'list', '-o', 'json'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { name: string; version: string; description: string }[];
  };

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'fuseml-bundle-cache-'));
    repo = join(tmp, 'repo');
    env = { XDG_CACHE_HOME: join(tmp, 'cache') };
    await cp(SHIPPED, repo, { recursive: true, verbatimSymlinks: true });
    // Files changed in the last 2 s are too fresh to cache (timestamp granularity): let the copy settle.
    await new Promise((r) => setTimeout(r, 2100));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('a run stores the validated repository; the next run answers from it', async () => {
    const first = await list();
    // One entry per repository folder: the shipped one and --extensions-repository's (added on top of it).
    const files = (await readdir(cacheDir())).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(2);
    const entries = await Promise.all(files.map(async (f) => ({ path: join(cacheDir(), f), data: JSON.parse(await readFile(join(cacheDir(), f), 'utf8')) as { root: string; extensions: { name: string; description: string }[] } })));
    const mine = entries.find((e) => e.data.root === resolve(repo));
    expect(mine, 'a cache entry for the --extensions-repository folder').toBeDefined();
    // Prove the next run reads the cache: change what it holds (not the repository).
    const path = (mine as (typeof entries)[number]).path;
    const stored = (mine as (typeof entries)[number]).data;
    for (const e of stored.extensions) if (e.name === 'kserve') e.description = 'answered from the cache';
    await writeFile(path, JSON.stringify(stored));
    const second = await list();
    expect(second.find((e) => e.name === 'kserve')?.description).toBe('answered from the cache');
    expect(second.map((e) => e.name)).toEqual(first.map((e) => e.name));
  });

  it('an edited descriptor shows at once (describe and list)', async () => {
    const file = join(repo, 's3/extension.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^version: .*$/m, 'version: 7.7.7'));
    expect((await list()).find((e) => e.name === 's3')?.version).toBe('7.7.7');
    const d = await cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'describe', 's3', '-o', 'json'], { env });
    expect((JSON.parse(d.stdout) as { version: string }).version).toBe('7.7.7');
    // The default output, YAML, kept in the cache entry too (below): never the text of before the edit.
    const y = await cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'describe', 's3'], { env });
    expect(y.stdout).toMatch(/^version: 7\.7\.7$/m);
    // The edit also dropped the doctored cache entry: the real description is back.
    expect((await list()).find((e) => e.name === 'kserve')?.description).not.toBe('answered from the cache');
  });

  it('a broken descriptor is reported even though the repository was cached (validate exits 3)', async () => {
    const file = join(repo, 'kserve/extension.yaml');
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace(/^name: .*$/m, 'name: Not_A_Label'));
    const v = await cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'validate'], { env });
    expect(v.exitCode).toBe(EXIT_CODES.VALIDATION);
    expect(v.stderr).toContain('kserve/extension.yaml');
    await writeFile(file, good);
  });

  it('problems found across folders (a dependency cycle) keep their line and column when the folder came from the cache', async () => {
    const cyc = join(tmp, 'cycle');
    await cp(join(ROOT, 'test/fixtures/descriptors/broken/cycle'), cyc, { recursive: true });
    await new Promise((r) => setTimeout(r, 2100)); // old enough to be cached
    for (const run of ['first (fills the cache)', 'second (answered from it)']) {
      const v = await cli('fuseml-installer', ['extensions', 'validate', cyc], { env });
      expect(v.exitCode, run).toBe(EXIT_CODES.VALIDATION);
      expect(v.stderr, run).toContain(`${join(cyc, 'one/extension.yaml')}:4:12 /requires/0 dependency cycle`);
    }
    expect((await readdir(cacheDir())).length, 'the cycle folder was cached').toBeGreaterThan(0);
  });

  it('validate\'s warnings come from the cache entry on a cached run, the same as computed', async () => {
    const file = join(repo, 'gcs/extension.yaml');
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace(/^parameters:\n/m, 'parameters:\n  unusedThing:\n    default: x\n'));
    await new Promise((r) => setTimeout(r, 2100)); // old enough to be cached
    const validate = (): ReturnType<typeof cli> => cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'validate'], { env });
    const first = await validate();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain(`${file}:13:5 /parameters/unusedThing parameter "unusedThing" is used by no template`);
    const second = await validate();
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toBe(first.stderr);
    // Prove the second run read them: change what the entry holds (not the repository).
    const entries = await Promise.all((await readdir(cacheDir())).filter((f) => f.endsWith('.json')).map(async (f) => ({ path: join(cacheDir(), f), data: JSON.parse(await readFile(join(cacheDir(), f), 'utf8')) as { root: string; derived?: Record<string, { message: string }[]> } })));
    const mine = entries.find((e) => e.data.root === resolve(repo));
    const warnings = mine?.data.derived?.['validate:warnings:gcs'];
    expect(warnings?.[0]?.message).toContain('unusedThing');
    (warnings?.[0] as { message: string }).message = 'answered from the cache';
    await writeFile((mine as (typeof entries)[number]).path, JSON.stringify(mine?.data));
    expect((await validate()).stderr).toContain('answered from the cache');
    // --strict: the same warnings fail the run.
    const strict = await cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'validate', '--strict'], { env });
    expect(strict.exitCode).toBe(EXIT_CODES.VALIDATION);
    await writeFile(file, good);
    const fixed = await validate();
    expect(fixed.stderr).not.toContain('unusedThing');
    expect(fixed.stderr).not.toContain('answered from the cache');
  });

  it('describe\'s YAML comes from the cache entry on a cached run, the same as rendered', async () => {
    await new Promise((r) => setTimeout(r, 2100)); // the edits above: old enough to be cached
    const describe = (): ReturnType<typeof cli> => cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'describe', 'mlflow'], { env });
    const first = await describe();
    expect(first.exitCode, first.stderr).toBe(0);
    const json = await cli('fuseml-installer', ['--extensions-repository', repo, 'extensions', 'describe', 'mlflow', '-o', 'json'], { env });
    const { parse } = await import('yaml');
    expect(parse(first.stdout)).toEqual(JSON.parse(json.stdout));
    expect((await describe()).stdout).toBe(first.stdout);
    const entries = await Promise.all((await readdir(cacheDir())).filter((f) => f.endsWith('.json')).map(async (f) => ({ path: join(cacheDir(), f), data: JSON.parse(await readFile(join(cacheDir(), f), 'utf8')) as { root: string; derived?: Record<string, string> } })));
    const mine = entries.find((e) => e.data.root === resolve(repo)) as (typeof entries)[number];
    expect(mine.data.derived?.['describe:yaml:mlflow']).toBe(first.stdout);
    (mine.data.derived as Record<string, string>)['describe:yaml:mlflow'] = 'answered: from the cache\n';
    await writeFile(mine.path, JSON.stringify(mine.data));
    expect((await describe()).stdout).toBe('answered: from the cache\n');
  });

  it('a corrupt cache file changes nothing: the full load answers', async () => {
    const expected = await list();
    for (const f of (await readdir(cacheDir())).filter((n) => n.endsWith('.json'))) await writeFile(join(cacheDir(), f), '{"format":1,"extensions":[tru');
    expect(await list()).toEqual(expected);
    await rm(cacheDir(), { recursive: true, force: true });
    await writeFile(join(tmp, 'cache/fuseml-installer/repositories'), 'a file where the folder should be');
    expect(await list()).toEqual(expected);
  });
});
