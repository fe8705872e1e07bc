#!/usr/bin/env node
/**
 * The same load on both registry stores, side by side: `serve --store sqlite` (a temp file) and `serve --store
 * kubernetes` (a fresh namespace of the local control plane, scripts/cluster.sh — started or reused; honours
 * FUSEML_CLUSTER_DIR / FUSEML_CLUSTER_PORT). Per store: BENCH_STORES_EXTENSIONS (10 000, issue 18's size) registrations:
 * the first BENCH_STORES_MEASURED (1000) with BENCH_STORES_WRITERS (8) in flight give the register rate, the rest
 * are loaded through the same API with BENCH_STORES_LOAD_WRITERS (16, the registry's per-token limit) in flight (its rate reported apart: the
 * Kubernetes store's writes are bounded by the API server, ~30/s with 8 writers), then closed-loop reads with BENCH_STORES_READERS (10) in flight, get by id
 * and list by product, in 1 s windows alternating between the stores (BENCH_STORES_SECONDS, 10, windows each). Figures: rates per store, the Kubernetes/SQLite
 * ratio (target ≥ 0.7 for the reads, issue 18), the write rate with the CPU share of kube-apiserver + etcd during
 * the writes, each server's peak RSS (VmHWM), and with a second Kubernetes replica the delay until it serves a
 * write answered by the first (40 writes, polled every 2 ms). The machine's load average is recorded: the control plane shares
 * the machine, so figures from a loaded machine say so.
 *
 * Run through `node bench/run.mjs registry-stores` (needs the built dist and the cluster tools).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { cpuSeconds, rssMiB } from './proc.mjs';
import { startServer } from './serve.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_STORES_EXTENSIONS ?? 10_000);
const MEASURED = Math.min(N, Number(process.env.BENCH_STORES_MEASURED ?? 1000));
const WRITERS = Number(process.env.BENCH_STORES_WRITERS ?? 8);
// 16: the registry's limit of requests in flight per token (src/registry/server/limits.ts).
const LOAD_WRITERS = Number(process.env.BENCH_STORES_LOAD_WRITERS ?? 16);
const READERS = Number(process.env.BENCH_STORES_READERS ?? 10);
const SECONDS = Number(process.env.BENCH_STORES_SECONDS ?? 10);
const PRODUCTS = Math.max(1, Math.floor(N / 5));
const CONVERGE_SAMPLES = 40;

const { run } = await import(join(ROOT, 'dist/exec/index.js'));

function record(i) {
  return {
    id: `ext-${i}`,
    product: `product-${i % PRODUCTS}`,
    version: `1.${i % 10}.${i % 7}`,
    description: `benchmark extension ${i}`,
    zone: `zone-${i % 3}`,
    services: [
      { id: 'api', resource: `resource-${i}`, category: 'prediction-serving', endpoints: [{ url: `http://ext-${i}.ns.svc:8080`, type: 'internal' }] },
      {
        id: 'store',
        resource: `s3-${i}`,
        category: 'model-store',
        credentials: [{ id: 'default', scope: 'global', default: true, configuration: { AWS_SECRET_ACCESS_KEY: randomBytes(16).toString('hex') } }],
      },
    ],
  };
}

async function script(name, args, env = {}) {
  return run('bash', [join(ROOT, 'scripts', name), ...args], { cwd: ROOT, env, timeoutMs: 10 * 60_000 });
}

/** A registry with the bench's shared key and admin token; `storeArgs` choose the store. */
function serve(dir, token, storeArgs) {
  return startServer(['--key-file', join(dir, 'registry.key'), ...storeArgs], { token, store: false, startTimeoutMs: 120_000 });
}

/** Tasks `from`..`count`-1 by `concurrency` workers; returns seconds elapsed. */
async function pool(count, concurrency, task, from = 0) {
  let next = from;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Closed loop: `concurrency` workers for `seconds`; returns the number of requests done. */
async function closedLoop(concurrency, seconds, request) {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await request();
        n++;
      }
    }),
  );
  return n;
}

function client(server, token) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return async (method, path, body) => {
    const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text;
  };
}

/**
 * Registers the N extensions through `server`: the first MEASURED with WRITERS in flight (the register rate, and
 * the CPU (cores) of the server and of the `extra` pids meanwhile), the rest with LOAD_WRITERS (the load rate).
 */
async function register(name, server, token, extra) {
  const call = client(server, token);
  const cpu0 = await Promise.all([server.pid, ...extra].map(cpuSeconds));
  const writeS = await pool(MEASURED, WRITERS, (i) => call('POST', '/extensions', record(i)));
  const cpu1 = await Promise.all([server.pid, ...extra].map(cpuSeconds));
  const loadS = N > MEASURED ? await pool(N, LOAD_WRITERS, (i) => call('POST', '/extensions', record(i)), MEASURED) : 0;
  const out = {
    register: MEASURED / writeS,
    load: N > MEASURED ? (N - MEASURED) / loadS : undefined,
    loadMinutes: (writeS + loadS) / 60,
    registryCpuShare: (cpu1[0] - cpu0[0]) / writeS,
    controlPlaneCpuShare: extra.length ? cpu1.slice(1).reduce((a, v, i) => a + v - cpu0[i + 1], 0) / writeS : undefined,
  };
  console.log(`${name}: ${JSON.stringify(out)}`);
  return out;
}

/**
 * Reads on both servers in alternating windows of 1 s (ROUNDS of them per store and kind), so that a change of the
 * machine's load during the run weighs on both columns alike. Returns requests/s per server and kind.
 */
async function reads(servers, token) {
  const pick = (n) => Math.floor(Math.random() * n);
  const kinds = { getById: () => `/extensions/ext-${pick(N)}`, listByProduct: () => `/extensions?product=product-${pick(PRODUCTS)}` };
  const totals = servers.map(() => ({ getById: [0, 0], listByProduct: [0, 0] }));
  const calls = servers.map((s) => client(s, token));
  // Warm-up, not counted.
  for (const call of calls) await closedLoop(READERS, 1, () => call('GET', kinds.getById()));
  for (let round = 0; round < SECONDS; round++) {
    for (const kind of Object.keys(kinds)) {
      for (const [i, call] of calls.entries()) {
        const t0 = performance.now();
        const n = await closedLoop(READERS, 1, () => call('GET', kinds[kind]()));
        totals[i][kind][0] += n;
        totals[i][kind][1] += (performance.now() - t0) / 1000;
      }
    }
  }
  return totals.map((t) => ({ getById: t.getById[0] / t.getById[1], listByProduct: t.listByProduct[0] / t.listByProduct[1] }));
}

/** Writes through `a`, polls `b` (every 2 ms) until it serves the write; ms from a's answer to b's, per write. */
async function converge(a, b, token) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const delays = [];
  for (let i = 0; i < CONVERGE_SAMPLES; i++) {
    const description = `converge-${i}-${randomBytes(3).toString('hex')}`;
    const res = await fetch(`${a.url}/extensions/ext-${i}`, { method: 'PUT', headers, body: JSON.stringify({ description }) });
    if (res.status !== 200) throw new Error(`PUT ext-${i}: ${res.status}`);
    await res.text();
    const t0 = performance.now();
    for (;;) {
      const got = await (await fetch(`${b.url}/extensions/ext-${i}`, { headers })).json();
      if (got.description === description) break;
      if (performance.now() - t0 > 30_000) throw new Error(`replica b did not serve ext-${i} in 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    delays.push(performance.now() - t0);
  }
  delays.sort((x, y) => x - y);
  const q = (p) => Math.round(delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] * 10) / 10;
  console.log(`convergence (ms): ${delays.map((d) => d.toFixed(1)).join(' ')}`);
  return { p50: q(0.5), p95: q(0.95), max: q(1) };
}

async function main() {
  const load = [loadavg()];
  const dir = await mkdtemp(join(tmpdir(), 'fuseml-stores-bench-'));
  await writeFile(join(dir, 'registry.key'), randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const token = randomBytes(24).toString('hex');
  const figures = [];
  const notes = [];
  let namespace;
  let kubectl;
  let kubeconfig;
  const stop = [];
  try {
    const tools = (await script('tools.sh', ['--print-env'])).stdout;
    kubectl = /^export FUSEML_KUBECTL='([^']+)'$/m.exec(tools)?.[1] ?? 'kubectl';
    await script('cluster.sh', ['up']);
    kubeconfig = /^export KUBECONFIG='([^']+)'$/m.exec((await script('cluster.sh', ['env'])).stdout)?.[1];
    const pids = join(dirname(kubeconfig), 'pids');
    const extra = await Promise.all(['kube-apiserver', 'etcd'].map(async (c) => Number((await readFile(join(pids, `${c}.pid`), 'utf8')).trim())));
    namespace = `bench-stores-${randomBytes(3).toString('hex')}`;
    await run(kubectl, ['--kubeconfig', kubeconfig, 'create', 'namespace', namespace], { timeoutMs: 60_000 });

    // Both stores served at once: SQLite on a temp file, Kubernetes in a namespace of its own.
    const sqlite = await serve(dir, token, ['--db', join(dir, 'registry.db')]);
    stop.push(sqlite);
    const kube = await serve(dir, token, ['--store', 'kubernetes', '--kubeconfig', kubeconfig, '--store-namespace', namespace, '--install-crd']);
    stop.push(kube);
    const idle = { sqlite: await rssMiB(sqlite.pid), kubernetes: await rssMiB(kube.pid) };
    console.log(`idle RSS (MiB): ${JSON.stringify(idle)}`);
    const s = await register('sqlite', sqlite, token, []);
    load.push(loadavg());
    const k = await register('kubernetes', kube, token, extra);
    load.push(loadavg());
    const [rs, rk] = await reads([sqlite, kube], token);
    Object.assign(s, rs, { peakRssMiB: await rssMiB(sqlite.pid, 'VmHWM') });
    Object.assign(k, rk, { peakRssMiB: await rssMiB(kube.pid, 'VmHWM') });
    console.log(`reads: sqlite ${JSON.stringify(rs)} kubernetes ${JSON.stringify(rk)}`);
    load.push(loadavg());
    // A second replica on the same namespace: how long after a write is answered by one the other serves it.
    const other = await serve(dir, token, ['--store', 'kubernetes', '--kubeconfig', kubeconfig, '--store-namespace', namespace]);
    stop.push(other);
    const convergence = await converge(kube, other, token);
    // The second replica started on the N extensions already stored: its start-up listing (in pages) is its peak.
    const otherPeak = await rssMiB(other.pid, 'VmHWM');

    const ratio = (a, b) => Math.round((a / b) * 100) / 100;
    figures.push(
      { name: 'sqlite: register', value: s.register, unit: '/s' },
      { name: 'kubernetes: register', value: k.register, unit: '/s' },
      ...(N > MEASURED
        ? [
            { name: `sqlite: load of the other ${N - MEASURED} (${LOAD_WRITERS} writers)`, value: s.load, unit: '/s' },
            { name: `kubernetes: load of the other ${N - MEASURED} (${LOAD_WRITERS} writers)`, value: k.load, unit: '/s' },
          ]
        : []),
      { name: `kubernetes: time to register all ${N}`, value: k.loadMinutes, unit: 'min' },
      { name: 'kubernetes: CPU of kube-apiserver + etcd during the registrations (cores)', value: k.controlPlaneCpuShare, unit: 'cores' },
      { name: 'kubernetes: CPU of the registry during the registrations (cores)', value: k.registryCpuShare, unit: 'cores' },
      { name: 'sqlite: get by id', value: s.getById, unit: '/s' },
      { name: 'kubernetes: get by id', value: k.getById, unit: '/s' },
      { name: 'get by id: kubernetes / sqlite', value: ratio(k.getById, s.getById), target: { min: 0.7 } },
      { name: 'sqlite: list by product', value: s.listByProduct, unit: '/s' },
      { name: 'kubernetes: list by product', value: k.listByProduct, unit: '/s' },
      { name: 'list by product: kubernetes / sqlite', value: ratio(k.listByProduct, s.listByProduct), target: { min: 0.7 } },
      { name: 'kubernetes: other replica serves a write after, p50', value: convergence.p50, unit: 'ms' },
      { name: 'kubernetes: other replica serves a write after, p95', value: convergence.p95, unit: 'ms' },
      { name: 'kubernetes: other replica serves a write after, max', value: convergence.max, unit: 'ms' },
      { name: 'sqlite: registry RSS idle (started, empty)', value: idle.sqlite, unit: 'MiB' },
      { name: 'kubernetes: registry RSS idle (started, empty)', value: idle.kubernetes, unit: 'MiB' },
      { name: `sqlite: registry peak RSS (${N} extensions)`, value: s.peakRssMiB, unit: 'MiB' },
      { name: `kubernetes: registry peak RSS (${N} extensions)`, value: k.peakRssMiB, unit: 'MiB' },
      { name: `kubernetes: peak RSS of a second replica started on the ${N} extensions`, value: otherPeak, unit: 'MiB' },
      { name: 'peak RSS: kubernetes / sqlite', value: ratio(k.peakRssMiB, s.peakRssMiB), target: { max: 1.5 } },
    );
    notes.push(
      `${N} extensions (register rate over the first ${MEASURED} with ${WRITERS} writers, the rest loaded with ${LOAD_WRITERS}), ${READERS} readers in flight; reads in alternating 1 s windows, ${SECONDS} per store and figure; the client, both registries and the control plane on the same ${cpus().length} cores.`,
      `Load average (1/5/15 min) before, after the SQLite registrations, after the Kubernetes ones, after the reads: ${load.map((l) => l.map((v) => v.toFixed(2)).join('/')).join(' · ')}. ${load[0][0] > cpus().length ? 'A loaded machine (other work running): compare the columns with each other, not with other runs.' : ''}`,
      'Writes on the Kubernetes store go through the API server (compare-and-swap on resourceVersion; a Secret write and an object write per registration): their rate is bounded by kube-apiserver + etcd, whose CPU during the registrations is the "cores" figure.',
    );
  } finally {
    for (const server of stop) await server.stop().catch(() => undefined);
    if (namespace) await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', namespace, '--wait=false'], { timeoutMs: 60_000, allowFailure: true });
    await rm(dir, { recursive: true, force: true });
  }
  const result = { name: 'registry stores side by side (sqlite vs kubernetes)', description: 'Same load on `--store sqlite` and `--store kubernetes` (watch-fed cache) on the local control plane.', figures, notes };
  console.log(JSON.stringify(result, null, 2));
  if (process.env.BENCH_RESULT_FILE) await writeFile(process.env.BENCH_RESULT_FILE, JSON.stringify(result, null, 2));
}

await main();
