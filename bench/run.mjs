#!/usr/bin/env node
/**
 * Runs every bench/*.bench.mjs in turn (or those named on the command line:
 * `node bench/run.mjs registry`), each as its own process, and collects their
 * figures into bench/results/latest.json and a readable bench/results/latest.md.
 *
 * Protocol for a bench file: it is run with the env var BENCH_RESULT_FILE and
 * writes there a JSON object
 *   { name, description?, figures: [{ name, value, unit?, target?: { max? , min? } }], notes?: [string] }
 * Progress goes to stdout/stderr (shown as it runs). Needs the built dist (`npm run bench` builds first).
 * Figures of benches not run this time are kept from the previous latest.json.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../dist/exec/index.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(benchDir, 'results');
const only = process.argv.slice(2);
const files = (await readdir(benchDir))
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.includes(basename(f, '.bench.mjs')))
  .sort();

const tmp = await mkdtemp(join(tmpdir(), 'fuseml-bench-'));
const results = [];
let failed = 0;
for (const f of files) {
  const resultFile = join(tmp, `${f}.json`);
  const started = Date.now();
  process.stdout.write(`\n== ${f}\n`);
  try {
    await run(process.execPath, [join(benchDir, f)], {
      env: { BENCH_RESULT_FILE: resultFile },
      timeoutMs: 30 * 60 * 1000,
      onLine: (line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(`  ${line}\n`),
    });
    const r = JSON.parse(await readFile(resultFile, 'utf8'));
    for (const fig of r.figures ?? []) {
      if (fig.target) fig.ok = (fig.target.max === undefined || fig.value <= fig.target.max) && (fig.target.min === undefined || fig.value >= fig.target.min);
    }
    results.push({ file: f, durationS: Math.round((Date.now() - started) / 1000), ...r });
  } catch (err) {
    failed++;
    results.push({ file: f, name: basename(f, '.bench.mjs'), error: String(err?.message ?? err).split('\n').slice(0, 20).join('\n'), figures: [] });
  }
}
await rm(tmp, { recursive: true, force: true });

const env = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryMiB: Math.round(totalmem() / 2 ** 20) };
for (const r of results) r.date = env.date;
// Benches not run this time keep their previous figures (so `node bench/run.mjs one` does not erase the others).
await mkdir(resultsDir, { recursive: true });
let previous = [];
try {
  previous = JSON.parse(await readFile(join(resultsDir, 'latest.json'), 'utf8')).results ?? [];
} catch {
  previous = [];
}
const ran = new Set(results.map((r) => r.file));
const merged = [...previous.filter((r) => !ran.has(r.file)), ...results].sort((a, b) => a.file.localeCompare(b.file));
await writeFile(join(resultsDir, 'latest.json'), JSON.stringify({ ...env, results: merged }, null, 2) + '\n');

const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v));
const md = [`# Benchmark results`, '', `${env.date} · Node ${env.node} · ${env.cpus} × ${env.cpuModel} · ${env.memoryMiB} MiB`, ''];
for (const r of merged) {
  md.push(`## ${r.name}`, '', `_${r.date ?? env.date}_`, '');
  if (r.description) md.push(r.description, '');
  if (r.error) md.push('**failed:**', '', '```', r.error, '```', '');
  if (r.figures.length) {
    md.push('| figure | value | target | ok |', '|---|---:|---|---|');
    for (const f of r.figures) {
      const target = f.target ? [f.target.max !== undefined ? `≤ ${fmt(f.target.max)}` : '', f.target.min !== undefined ? `≥ ${fmt(f.target.min)}` : ''].filter(Boolean).join(', ') : '';
      md.push(`| ${f.name} | ${fmt(f.value)}${f.unit ? ` ${f.unit}` : ''} | ${target}${target && f.unit ? ` ${f.unit}` : ''} | ${f.ok === undefined ? '' : f.ok ? 'yes' : '**no**'} |`);
    }
    md.push('');
  }
  for (const n of r.notes ?? []) md.push(`- ${n}`);
  if (r.notes?.length) md.push('');
}
await writeFile(join(resultsDir, 'latest.md'), md.join('\n'));
process.stdout.write(`\nwrote ${join(resultsDir, 'latest.json')} and latest.md\n`);
if (failed > 0) process.exitCode = 1;
