#!/usr/bin/env node
/**
 * Registry benchmark: the real server (built dist) on a temp SQLite file (group commit; the log fsynced off the event loop before a write is answered).
 * Figures, each beside its target (issue 16), with the machine's load average:
 *   - load 10 000 extensions over HTTP, 8 in flight (≤ 3 s; the median of BENCH_LOAD_RUNS runs, each listed);
 *   - create+delete cycles at 10 connections (≥ 3 500 req/s), autocannon in a separate process;
 *   - get by id at 10 connections (≥ 6 000 req/s);
 *   - response bytes of a list (5 records) against fuseml-core's form of the same records (bench/wire-form.mjs: what its
 *     server would send), identity and gzip, and the fields ours adds (only `revision`, on each extension: nested
 *     records carry none);
 *   - POST /workflows/resolve, a 5-step workflow over the 10 000 extensions, paced at 200 req/s (p99 < 10 ms);
 *   - queries by product and by service_resource at a fixed 500 req/s (p99 < 10 ms), server RSS < 150 MB.
 * Lost acknowledged writes under SIGKILL are counted by bench/registry-durability.bench.mjs.
 *
 * Run through `npm run bench` (or `node bench/run.mjs registry`); alone it prints its figures.
 * Knobs (env): BENCH_EXTENSIONS (10000), BENCH_RATE (500), BENCH_DURATION (15 s), BENCH_CONNECTIONS (10),
 * BENCH_MAX_DURATION (10 s: the max-throughput runs), BENCH_RESOLVE_RATE (200), BENCH_LOAD_RUNS (3: the load is
 * run this many times, each into a fresh server and database; its figure is the median, every run listed).
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import { startServer } from './serve.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { cpuSeconds, rssMiB } from './proc.mjs';
import { benchRecord, extraFields, fusemlCoreForm } from './wire-form.mjs';
import { closedLoop, httpRequest } from './http-load.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_EXTENSIONS ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PRODUCTS = Math.max(1, Math.floor(N / 5)); // 5 extensions per product
const RESOURCES = Math.max(1, Math.floor(N / 4)); // each resource on 4 extensions
const MAX_DURATION = Number(process.env.BENCH_MAX_DURATION ?? 10);
const RESOLVE_RATE = Number(process.env.BENCH_RESOLVE_RATE ?? 200);
const LOAD_IN_FLIGHT = 8;
const LOAD_RUNS = Math.max(1, Number(process.env.BENCH_LOAD_RUNS ?? 3));

if (process.argv[2] === '--load') {
  await loadGenerator();
} else {
  await main();
}

/**
 * The load process; prints one RESULT line. BENCH_GENERATOR=autocannon (default): autocannon with
 * overallRate. BENCH_GENERATOR=paced: an open-loop generator sending one request every 1/RATE s (keep-alive
 * sockets, as many in flight as needed), latency measured from each request's scheduled time (so a lagging
 * server or generator counts), sub-millisecond resolution. autocannon's rate limit is per connection and per
 * second: each second starts with a burst of back-to-back requests on every connection, then idles, so its
 * latencies include that burst's queueing; the paced run shows latency at a steady 500 req/s.
 */
async function loadGenerator() {
  const { BENCH_URL: url, BENCH_TOKEN: token, BENCH_SCENARIO: scenario } = process.env;
  const pick = (n) => Math.floor(Math.random() * n);
  if (scenario === 'create_delete' || scenario === 'get_by_id') {
    process.stdout.write('RESULT ' + JSON.stringify(await maxThroughput(url, token, scenario)) + '\n');
    return;
  }
  if (scenario === 'resolve') {
    process.stdout.write('RESULT ' + JSON.stringify(await paced(url, token, () => '/workflows/resolve', resolveBody, RESOLVE_RATE)) + '\n');
    return;
  }
  const path = {
    product: () => `/extensions?product=product-${pick(PRODUCTS)}`,
    service_resource: () => `/extensions?service_resource=resource-${pick(RESOURCES)}`,
    product_version_range: () => `/extensions?product=product-${pick(PRODUCTS)}&version=${encodeURIComponent('>=1.0,<1.5')}`,
  }[scenario];
  if (!path) throw new Error(`unknown scenario ${scenario}`);
  if (process.env.BENCH_GENERATOR === 'paced') {
    process.stdout.write('RESULT ' + JSON.stringify(await paced(url, token, path)) + '\n');
    return;
  }
  const { default: autocannon } = await import('autocannon');
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    overallRate: RATE,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path() }) }],
  });
  process.stdout.write(
    'RESULT ' +
      JSON.stringify({
        rps: result.requests.average,
        total: result.requests.total,
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        bytesPerSec: result.throughput.average,
      }) +
      '\n',
  );
}

/**
 * A 5-step workflow over the loaded records, each requirement matching exactly one service (so it resolves,
 * 200): by extension id and service, or by product + exact version (the 5 extensions of a product have
 * distinct versions) and service.
 */
function resolveBody() {
  const pick = (n) => Math.floor(Math.random() * n);
  const steps = Array.from({ length: 5 }, (_, s) => {
    const i = pick(N);
    const r = record(i);
    const req = s % 2 === 0 ? { name: `store${s}`, extension_id: r.id, service_id: 'store' } : { name: `serving${s}`, product: r.product, version: r.version, service_id: 'api' };
    return { name: `step-${s}`, image: 'busybox', extensions: [req] };
  });
  return JSON.stringify({ project: 'bench', workflow: { name: 'bench-5-steps', steps } });
}

/** autocannon at full speed, `CONNECTIONS` connections, MAX_DURATION s. */
async function maxThroughput(url, token, scenario) {
  const { default: autocannon } = await import('autocannon');
  const auth = { authorization: `Bearer ${token}` };
  let n = 0;
  const requests =
    scenario === 'create_delete'
      ? [
          {
            method: 'POST',
            path: '/extensions',
            headers: { ...auth, 'content-type': 'application/json' },
            setupRequest: (req, ctx) => {
              ctx.id = `cd-${process.pid}-${n++}`;
              // A product of their own: a cycle cut short when the run ends leaves its record behind, which must
              // not make a later product+version requirement ambiguous (the resolve scenario's 422s).
              return { ...req, body: JSON.stringify({ ...record(N + n, ctx.id), product: 'create-delete' }) };
            },
          },
          { method: 'DELETE', setupRequest: (req, ctx) => ({ ...req, path: `/extensions/${ctx.id}`, headers: auth, body: undefined }) },
        ]
      : [{ method: 'GET', headers: auth, setupRequest: (req) => ({ ...req, path: `/extensions/ext-${Math.floor(Math.random() * N)}` }) }];
  const result = await autocannon({ url, connections: CONNECTIONS, duration: MAX_DURATION, requests });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

async function paced(url, token, path, body, rate = RATE) {
  const http = await import('node:http');
  const { hostname, port } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const headers = { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) };
  const interval = 1000 / rate;
  const latencies = [];
  let non2xx = 0;
  const statuses = {}; // non-2xx responses by status, so that a failure in the figures can be told apart (429, 422…)
  let errors = 0;
  let i = 0;
  const total = Math.round(rate * DURATION);
  const start = performance.now() + 50;
  await new Promise((resolve) => {
    let finished = 0;
    const done = () => {
      if (++finished === total) resolve();
    };
    const tick = () => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        const scheduled = start + i * interval;
        i++;
        const req = http.request({ agent, hostname, port, path: path(), headers, method: body ? 'POST' : 'GET' }, (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - scheduled);
            if (res.statusCode < 200 || res.statusCode >= 300) {
              non2xx++;
              statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            }
            done();
          });
        });
        req.on('error', () => {
          errors++;
          done();
        });
        req.end(body?.());
      }
      if (i < total) setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    setTimeout(tick, 50);
  });
  agent.destroy();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const round = (v) => Math.round(v * 100) / 100;
  return { rps: round(latencies.length / elapsed), total: latencies.length, p50: round(q(50)), p90: round(q(90)), p99: round(q(99)), max: round(latencies.at(-1) ?? NaN), non2xx, statuses, errors, timeouts: 0 };
}

function record(i, id = `ext-${i}`) {
  return benchRecord(i, PRODUCTS, RESOURCES, id);
}

/** The raw body bytes of a GET (no decompression). */
async function fetchBytes(url, path, token, headers) {
  const http = await import('node:http');
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get({ hostname, port, path, headers: { authorization: `Bearer ${token}`, ...headers } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
      .on('error', reject);
  });
}

async function main() {
  const { run } = await import(join(ROOT, 'dist/exec/index.js'));
  const srv = await startServer();
  const { url, pid, token } = srv;
  const figures = [];
  const notes = [];
  try {
    console.log(`server ${url} pid ${pid}; rss at start ${(await rssMiB(pid)).toFixed(1)} MiB`);
    figures.push({ name: 'machine load average (1 min) at start', value: loadavg()[0] });
    figures.push({ name: 'server RSS at start', value: await rssMiB(pid), unit: 'MiB' });
    // Load N extensions over HTTP, 8 in flight: a lean closed-loop client (./http-load.mjs: node:http's client took
    // about a quarter of the CPU the server spends on a create, on the same 2 cores), its CPU reported beside.
    const requestsTo = (target) =>
      Array.from({ length: N }, (_, i) =>
        httpRequest(target.url, 'POST', '/extensions', { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' }, JSON.stringify(record(i))),
      );
    /** One load of N extensions into `target` (an empty server): seconds, and server and client CPU per create. */
    const loadInto = async (target) => {
      const requests = requestsTo(target);
      const serverCpu0 = await cpuSeconds(target.pid);
      const clientCpu0 = process.cpuUsage();
      const seconds = await closedLoop(target.url, requests, { inFlight: LOAD_IN_FLIGHT, expect: 201 });
      const clientCpu = process.cpuUsage(clientCpu0);
      const serverCpu = (await cpuSeconds(target.pid)) - serverCpu0;
      return { seconds, serverUs: (serverCpu / N) * 1e6, clientUs: (clientCpu.user + clientCpu.system) / N };
    };
    figures.push({ name: 'machine load average (1 min) before the load', value: loadavg()[0] });
    // The first load fills the server the rest of the bench reads; the others go into fresh servers, one at a time.
    const runs = [await loadInto(srv)];
    console.log(`loaded ${N} extensions in ${runs[0].seconds.toFixed(2)} s`);
    const rssAfterLoad = await rssMiB(pid);
    for (let r = 1; r < LOAD_RUNS; r++) {
      const fresh = await startServer();
      try {
        runs.push(await loadInto(fresh));
      } finally {
        await fresh.stop();
      }
      console.log(`loaded ${N} extensions in ${runs[r].seconds.toFixed(2)} s (fresh server ${r + 1} of ${LOAD_RUNS})`);
    }
    const byTime = [...runs].sort((a, b) => a.seconds - b.seconds);
    const median = byTime[Math.floor((byTime.length - 1) / 2)];
    figures.push({ name: `load ${N} extensions (POST, ${LOAD_IN_FLIGHT} in flight), median of ${runs.length} runs`, value: median.seconds, unit: 's', target: { max: 3 } });
    runs.forEach((r, i) => figures.push({ name: `load run ${i + 1} of ${runs.length}`, value: r.seconds, unit: 's' }));
    figures.push({ name: 'load throughput (median run)', value: N / median.seconds, unit: 'req/s' });
    figures.push({ name: 'load: server CPU per create (median run)', value: median.serverUs, unit: 'µs' });
    figures.push({ name: 'load: load client CPU per create (median run)', value: median.clientUs, unit: 'µs' });
    figures.push({ name: 'server RSS after load', value: rssAfterLoad, unit: 'MiB', target: { max: 150 } });

    // Max throughput: create+delete cycles, then get by id, each at CONNECTIONS connections from a separate process.
    for (const [scenario, label, target] of [
      ['create_delete', 'create+delete cycles', 3500],
      ['get_by_id', 'get by id', 6000],
    ]) {
      let line;
      const load = loadavg()[0];
      const cpu0 = await cpuSeconds(pid);
      await run(process.execPath, [fileURLToPath(import.meta.url), '--load'], {
        env: { BENCH_URL: url, BENCH_SCENARIO: scenario, BENCH_CONNECTIONS: String(CONNECTIONS), BENCH_EXTENSIONS: String(N), BENCH_MAX_DURATION: String(MAX_DURATION) },
        secretEnv: { BENCH_TOKEN: token },
        timeoutMs: (MAX_DURATION + 60) * 1000,
        onLine: (l) => {
          if (l.startsWith('RESULT ')) line = l.slice(7);
        },
      });
      const r = JSON.parse(line);
      const cpuPerReq = ((await cpuSeconds(pid)) - cpu0) / r.total;
      console.log(`${label}: ${JSON.stringify(r)} server CPU ${(cpuPerReq * 1e6).toFixed(0)} µs/request, load average ${load.toFixed(2)}`);
      figures.push({ name: `${label}, ${CONNECTIONS} connections: machine load average (1 min) at start`, value: load });
      figures.push({ name: `${label}, ${CONNECTIONS} connections: throughput`, value: r.rps, unit: 'req/s', target: { min: target } });
      figures.push({ name: `${label}: p99 latency`, value: r.p99, unit: 'ms' });
      figures.push({ name: `${label}: server CPU per request`, value: cpuPerReq * 1e6, unit: 'µs' });
      figures.push({ name: `${label}: non-2xx + errors`, value: r.non2xx + r.errors + r.timeouts, target: { max: 0 } });
    }

    // Response bytes of one list (a product: 5 records) against fuseml-core's form of the same records.
    const listPath = `/extensions?product=product-1`;
    const ours = await fetchBytes(url, listPath, token, {});
    const oursGzip = await fetchBytes(url, listPath, token, { 'accept-encoding': 'gzip' });
    const records = JSON.parse(ours.toString('utf8'));
    const coreForm = records.map(fusemlCoreForm);
    const core = Buffer.byteLength(JSON.stringify(coreForm));
    const coreGzip = gzipSync(JSON.stringify(coreForm)).length;
    // Fields ours sends that fuseml-core's form lacks: only `revision` (If-Match, ETag) is ours alone.
    const extra = extraFields(records, coreForm, ['revision']);
    if (extra.length > 0) notes.push(`fields fuseml-core's form lacks: ${extra.slice(0, 5).join(', ')}`);
    figures.push({ name: "list of 5 records: fields beyond fuseml-core's form other than revision", value: extra.length, target: { max: 0 } });
    figures.push({ name: 'list of 5 records: fuseml-core form, bytes (no compression: goa sends identity)', value: core, unit: 'B' });
    figures.push({ name: 'list of 5 records: fuseml-core form, gzip bytes (for comparison; goa itself does not compress)', value: coreGzip, unit: 'B' });
    figures.push({ name: 'list of 5 records: ours, identity, bytes', value: ours.length, unit: 'B', target: { max: core } });
    figures.push({ name: 'list of 5 records: ours, gzip (Accept-Encoding: gzip, as Go clients send), bytes', value: oursGzip.length, unit: 'B', target: { max: core } });

    // POST /workflows/resolve: a 5-step workflow over all N extensions, paced at RESOLVE_RATE.
    {
      let line;
      const load = loadavg()[0];
      const cpu0 = await cpuSeconds(pid);
      await run(process.execPath, [fileURLToPath(import.meta.url), '--load'], {
        env: { BENCH_GENERATOR: 'paced', BENCH_URL: url, BENCH_SCENARIO: 'resolve', BENCH_RESOLVE_RATE: String(RESOLVE_RATE), BENCH_DURATION: String(DURATION), BENCH_EXTENSIONS: String(N) },
        secretEnv: { BENCH_TOKEN: token },
        timeoutMs: (DURATION + 60) * 1000,
        onLine: (l) => {
          if (l.startsWith('RESULT ')) line = l.slice(7);
        },
      });
      const r = JSON.parse(line);
      console.log(`resolve: ${JSON.stringify(r)} load average ${load.toFixed(2)}`);
      figures.push({ name: `resolve (5 steps, ${N} extensions) at ${RESOLVE_RATE} req/s: machine load average (1 min) at start`, value: load });
      figures.push({ name: `resolve at ${RESOLVE_RATE} req/s: throughput`, value: r.rps, unit: 'req/s', target: { min: RESOLVE_RATE * 0.95 } });
      figures.push({ name: `resolve at ${RESOLVE_RATE} req/s: p50 latency`, value: r.p50, unit: 'ms' });
      figures.push({ name: `resolve at ${RESOLVE_RATE} req/s: p99 latency`, value: r.p99, unit: 'ms', target: { max: 10 } });
      figures.push({ name: `resolve at ${RESOLVE_RATE} req/s: server CPU per request`, value: (((await cpuSeconds(pid)) - cpu0) / r.total) * 1e6, unit: 'µs' });
      figures.push({ name: `resolve at ${RESOLVE_RATE} req/s: non-2xx + errors`, value: r.non2xx + r.errors + r.timeouts, target: { max: 0 } });
    }

    // Warm-up (not recorded): lets the server's JIT settle before the measured runs.
    await run(process.execPath, [fileURLToPath(import.meta.url), '--load'], {
      env: { BENCH_URL: url, BENCH_SCENARIO: 'product', BENCH_RATE: String(RATE), BENCH_DURATION: '3', BENCH_CONNECTIONS: String(CONNECTIONS), BENCH_EXTENSIONS: String(N) },
      secretEnv: { BENCH_TOKEN: token },
      timeoutMs: 120_000,
    });

    let peak = 0;
    const sampler = setInterval(() => rssMiB(pid).then((v) => (peak = Math.max(peak, v)), () => {}), 200);
    for (const [generator, scenario] of ['paced', 'autocannon'].flatMap((g) => ['product', 'service_resource', 'product_version_range'].map((sc) => [g, sc]))) {
      console.log(`${generator}: ${scenario} at ${RATE} req/s for ${DURATION} s${generator === 'autocannon' ? `, ${CONNECTIONS} connections` : ''}`);
      let line;
      const cpu0 = await cpuSeconds(pid);
      await run(process.execPath, [fileURLToPath(import.meta.url), '--load'], {
        env: { BENCH_GENERATOR: generator, BENCH_URL: url, BENCH_SCENARIO: scenario, BENCH_RATE: String(RATE), BENCH_DURATION: String(DURATION), BENCH_CONNECTIONS: String(CONNECTIONS), BENCH_EXTENSIONS: String(N) },
        secretEnv: { BENCH_TOKEN: token },
        timeoutMs: (DURATION + 60) * 1000,
        onLine: (l) => {
          if (l.startsWith('RESULT ')) line = l.slice(7);
        },
      });
      const r = JSON.parse(line);
      const cpuPerReq = ((await cpuSeconds(pid)) - cpu0) / r.total;
      console.log(`  ${JSON.stringify(r)} server CPU ${(cpuPerReq * 1e6).toFixed(0)} µs/request`);
      const tag = `${generator} ${scenario}`;
      figures.push({ name: `${tag}: throughput`, value: r.rps, unit: 'req/s', target: { min: RATE * 0.95 } });
      figures.push({ name: `${tag}: p50 latency`, value: r.p50, unit: 'ms' });
      figures.push({ name: `${tag}: p99 latency`, value: r.p99, unit: 'ms', target: { max: 10 } });
      figures.push({ name: `${tag}: max latency`, value: r.max, unit: 'ms' });
      figures.push({ name: `${tag}: server CPU per request`, value: cpuPerReq * 1e6, unit: 'µs' });
      figures.push({ name: `${tag}: non-2xx + errors`, value: r.non2xx + r.errors + r.timeouts, target: { max: 0 } });
    }
    clearInterval(sampler);
    figures.push({ name: 'machine load average (1 min) after the queries', value: loadavg()[0] });
    figures.push({ name: 'server RSS peak during queries (sampled)', value: peak, unit: 'MiB', target: { max: 150 } });
    figures.push({ name: 'server RSS high-water mark (VmHWM) after load and queries', value: await rssMiB(pid, 'VmHWM'), unit: 'MiB', target: { max: 150 } });

    // Not part of the target: one unfiltered list of everything (a 10 000-record response).
    const t1 = performance.now();
    const all = await (await fetch(`${url}/extensions`, { headers: { authorization: `Bearer ${token}` } })).json();
    figures.push({ name: `one unfiltered list of all ${all.length} extensions`, value: performance.now() - t1, unit: 'ms' });
    figures.push({ name: 'server RSS after the unfiltered list', value: await rssMiB(pid), unit: 'MiB' });
    notes.push(
      `Load: ${N} POSTs of pre-serialized requests over ${LOAD_IN_FLIGHT} keep-alive connections from the bench process (bench/http-load.mjs, a lean HTTP/1.1 client: ~25-30 µs of CPU per request where node:http's client took ~100 on the same 2 cores; with node:http's client the same server takes ~0.3 s longer). Issue 16's fuseml-core figures were measured with an earlier client.`,
      `Max-throughput runs (create+delete, get by id): autocannon in a separate process, ${CONNECTIONS} connections, ${MAX_DURATION} s each, on the same 2 cores as the server; a create+delete cycle is a POST of a 2-service record with credentials, then its DELETE, each answered after its commit (fsync). Response bytes: fuseml-core's form is what its goa server would send for the same records (bench/wire-form.mjs: no revision, a service's auth_required always, Go RFC 3339 times), uncompressed; ours carries one revision per extension (none on nested records).`,
      `Resolve: a 5-step workflow, one requirement per step, each matching one service (by extension id, or product + exact version), paced open-loop at ${RESOLVE_RATE} req/s for ${DURATION} s.`,
      `${N} extensions, 2 services each (one with credentials), ${PRODUCTS} products (5 extensions each), ${RESOURCES} service resources (4 extensions each): a query returns 4-5 records.`,
      `Load from a separate process, ${RATE} req/s, ${DURATION} s per scenario, random product / resource per request: "paced" = open-loop generator, one request every ${(1000 / RATE).toFixed(1)} ms, latency from the scheduled send time (0.01 ms resolution); "autocannon" = autocannon overallRate with ${CONNECTIONS} connections (bursty: each connection sends its per-second quota back to back at the start of every second, so queueing inside the burst is counted).`,
      'The machine (2 cores) is shared with other work: see the load averages; p99 grows with them (runs at load average 3-6 gave p99 of 10-90 ms).',
      'VmHWM is reached while loading; the unfiltered list of everything is outside the target scenario.',
    );
  } finally {
    await srv.stop();
  }
  const result = {
    name: 'registry',
    description: 'fuseml-registry (SQLite, group commit, log fsynced before answering; 10 000 extensions): load, create+delete and get-by-id throughput, response bytes, resolve and queries at a fixed rate',
    figures,
    notes,
  };
  if (process.env.BENCH_RESULT_FILE) await writeFile(process.env.BENCH_RESULT_FILE, JSON.stringify(result, null, 2));
  else console.log(JSON.stringify(result, null, 2));
}
