#!/usr/bin/env node
/**
 * CLI start-up cost: wall time (median of N runs) and peak RSS of the commands
 * that should stay cheap (`--help` of each bin, `extensions list|describe|validate`),
 * against a bare `node -e 0` on the same machine, run as built (the bundled bins of
 * scripts/bundle.mjs). Targets are ratios to that baseline: --help ≤ 1.3×, the
 * extensions commands ≤ 1.5×, peak RSS ≤ 55 MiB. The extensions commands run with a
 * warm repository cache (src/descriptor/cache.ts; the first, cold run is left out of
 * the median; the cache entry also holds validate's warnings and describe's YAML), and once
 * more with FUSEML_NO_CACHE=1 for the full load's cost.
 * Protocol: see bench/run.mjs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../dist/exec/index.js';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (b) => join(root, 'dist/cli/bin', `${b}.js`);
const hook = fileURLToPath(new URL('./rss-hook.mjs', import.meta.url));

const HELP = 1.3;
const EXTENSIONS = 1.5;
const MIB = 55;
const commands = [
  { name: 'node -e 0 (baseline)', args: ['-e', '0'] },
  { name: 'fuseml-installer --help', args: [bin('fuseml-installer'), '--help'], ratio: HELP },
  { name: 'fuseml --help', args: [bin('fuseml'), '--help'], ratio: HELP },
  { name: 'fuseml-registry --help', args: [bin('fuseml-registry'), '--help'], ratio: HELP },
  { name: 'fuseml-installer extensions list', args: [bin('fuseml-installer'), 'extensions', 'list'], ratio: EXTENSIONS },
  { name: 'fuseml-installer extensions describe mlflow', args: [bin('fuseml-installer'), 'extensions', 'describe', 'mlflow'], ratio: EXTENSIONS },
  { name: 'fuseml-installer extensions validate', args: [bin('fuseml-installer'), 'extensions', 'validate'], ratio: EXTENSIONS },
  { name: 'fuseml-installer extensions list, no cache (FUSEML_NO_CACHE=1)', args: [bin('fuseml-installer'), 'extensions', 'list'], env: { FUSEML_NO_CACHE: '1' } },
];

const tmp = await mkdtemp(join(tmpdir(), 'fuseml-cli-bench-'));
// A cache of its own: the first run of each command fills it (that run is not counted).
const cacheHome = join(tmp, 'cache');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const figures = [{ name: 'machine load average (1 min) at start', value: Number(loadavg()[0].toFixed(2)) }];
try {
  // Round-robin: one run of each command per round, so a change in the machine's load during
  // the bench weighs on the baseline and the commands alike.
  const state = commands.map((c, i) => ({ c, env: { XDG_CACHE_HOME: cacheHome, ...c.env }, rssFile: join(tmp, `${i}.rss`), times: [] }));
  for (const s of state) {
    await run(process.execPath, s.c.args, { env: s.env, timeoutMs: 60_000 }); // warm-up: page cache, repository cache
    await writeFile(s.rssFile, '');
  }
  for (let i = 0; i < RUNS; i++) {
    for (const s of state) {
      const t0 = process.hrtime.bigint();
      await run(process.execPath, ['--import', hook, ...s.c.args], { env: { ...s.env, BENCH_RSS_FILE: s.rssFile }, timeoutMs: 60_000 });
      s.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  let baseline;
  for (const { c, rssFile, times } of state) {
    const lines = (await readFile(rssFile, 'utf8')).trim().split('\n').map((l) => l.split(' ').map(Number));
    const ms = median(times);
    const mib = median(lines.map((l) => l[0])) / 1024;
    const cpu = median(lines.map((l) => l[1])) / 1000;
    baseline ??= { ms, cpu };
    const ratio = ms / baseline.ms;
    console.log(`${c.name}: ${ms.toFixed(0)} ms (${ratio.toFixed(2)}× node -e 0${c.ratio ? `, target ≤ ${c.ratio}×` : ''}), CPU ${cpu.toFixed(0)} ms (${(cpu / baseline.cpu).toFixed(2)}×), ${mib.toFixed(1)} MiB`);
    figures.push({ name: `${c.name}: wall time (median of ${RUNS})`, value: Number(ms.toFixed(1)), unit: 'ms' });
    if (c.ratio) figures.push({ name: `${c.name}: wall time / node -e 0`, value: Number(ratio.toFixed(2)), unit: '×', target: { max: c.ratio } });
    if (cpu === baseline.cpu && ms === baseline.ms) figures.push({ name: `${c.name}: CPU time (user+system, median)`, value: Number(cpu.toFixed(1)), unit: 'ms' });
    else figures.push({ name: `${c.name}: CPU time (user+system, median) / node -e 0`, value: Number((cpu / baseline.cpu).toFixed(2)), unit: '×' });
    figures.push({ name: `${c.name}: peak RSS (median)`, value: Number(mib.toFixed(1)), unit: 'MiB', ...(c.ratio ? { target: { max: MIB } } : {}) });
  }
  figures.push({ name: 'machine load average (1 min) at end', value: Number(loadavg()[0].toFixed(2)) });
} finally {
  await rm(tmp, { recursive: true, force: true });
}

await writeFile(
  process.env.BENCH_RESULT_FILE ?? join(tmp, 'cli.json'),
  JSON.stringify({
    name: 'cli start-up',
    description: 'Start-up cost of the commands that must stay cheap, as shipped: each bin bundled on its own (scripts/bundle.mjs: esbuild, its chunks merged by rollup so that --help loads 3 files and the extensions commands 4; the Kubernetes client, got, listr2, execa, fastify and SQLite stay in lazy chunks / node_modules, loaded only by the commands that use them: test/unit/startup-imports.test.ts and test/integration/bundle.test.ts guard the graph), and a warm validated-repository cache for the extensions commands (which also holds validate\'s warnings and describe\'s YAML).',
    figures,
    notes: [
      'Times include spawning node itself (see the baseline); run through src/exec as a child of the bench process, with a --import hook that records peak RSS and CPU time (in every run, the baseline\'s too). Runs are interleaved (one of each command per round). CPU time is less sensitive to the machine\'s load than wall time and is given beside it.',
      `Node ${process.version}: V8's compile cache (module.enableCompileCache) needs Node 22.1 or later; the bins turn it on where it exists, so on Node 20 these figures are without it (Node 20's ESM loader takes no code cache of our own, see the README's Caches).`,
    ],
  }),
);
