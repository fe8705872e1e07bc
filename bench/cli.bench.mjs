#!/usr/bin/env node
/**
 * CLI start-up cost: wall time (median of N runs) and peak RSS of the commands
 * that should stay cheap (`--help`, `extensions list|describe|validate`,
 * `fuseml --help`), against a bare `node -e 0` on the same machine.
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

const commands = [
  { name: 'node -e 0 (baseline)', args: ['-e', '0'] },
  { name: 'fuseml-installer --help', args: [bin('fuseml-installer'), '--help'], target: { ms: 150, mib: 60 } },
  { name: 'fuseml --help', args: [bin('fuseml'), '--help'], target: { ms: 150, mib: 60 } },
  { name: 'fuseml-registry --help', args: [bin('fuseml-registry'), '--help'], target: { ms: 150, mib: 60 } },
  { name: 'fuseml-installer extensions list', args: [bin('fuseml-installer'), 'extensions', 'list'], target: { ms: 300, mib: 75 } },
  { name: 'fuseml-installer extensions describe mlflow', args: [bin('fuseml-installer'), 'extensions', 'describe', 'mlflow'], target: { ms: 300, mib: 75 } },
  { name: 'fuseml-installer extensions validate', args: [bin('fuseml-installer'), 'extensions', 'validate'], target: { ms: 300, mib: 75 } },
];

const tmp = await mkdtemp(join(tmpdir(), 'fuseml-cli-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const figures = [{ name: 'machine load average (1 min) at start', value: Number(loadavg()[0].toFixed(2)) }];
try {
  for (const c of commands) {
    const rssFile = join(tmp, `${figures.length}.rss`);
    await writeFile(rssFile, '');
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      await run(process.execPath, ['--import', hook, ...c.args], { env: { BENCH_RSS_FILE: rssFile }, timeoutMs: 60_000 });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const rss = (await readFile(rssFile, 'utf8')).trim().split('\n').map(Number);
    const ms = median(times);
    const mib = median(rss) / 1024;
    console.log(`${c.name}: ${ms.toFixed(0)} ms, ${mib.toFixed(1)} MiB`);
    figures.push({ name: `${c.name}: wall time (median of ${RUNS})`, value: Number(ms.toFixed(1)), unit: 'ms', ...(c.target ? { target: { max: c.target.ms } } : {}) });
    figures.push({ name: `${c.name}: peak RSS (median)`, value: Number(mib.toFixed(1)), unit: 'MiB', ...(c.target ? { target: { max: c.target.mib } } : {}) });
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

await writeFile(
  process.env.BENCH_RESULT_FILE ?? join(tmp, 'cli.json'),
  JSON.stringify({
    name: 'cli start-up',
    description: 'Start-up cost of the commands that must stay cheap: the Kubernetes client, got, listr2, execa, fastify and SQLite are loaded lazily, only by the commands that use them (test/unit/startup-imports.test.ts guards the import graph).',
    figures,
    notes: ['Times include spawning node itself (see the baseline); run through src/exec as a child of the bench process.'],
  }),
);
