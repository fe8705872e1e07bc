#!/usr/bin/env node
/**
 * The same load on both registry stores, side by side: `serve --store sqlite` (a temp file) and `serve --store
 * kubernetes` (a fresh namespace of the local control plane, scripts/cluster.sh — started or reused; honours
 * FUSEML_CLUSTER_DIR / FUSEML_CLUSTER_PORT). Per store: BENCH_STORES_EXTENSIONS (1000) registrations with
 * BENCH_STORES_WRITERS (8) in flight, then closed-loop reads with BENCH_STORES_READERS (10) in flight for
 * BENCH_STORES_SECONDS (10 s) each: get by id, list by product. Figures: rates per store, the Kubernetes/SQLite
 * ratio (target ≥ 0.7 for the reads, issue 18), the write rate with the CPU share of kube-apiserver + etcd during
 * the writes, each server's peak RSS (VmHWM). The machine's load average is recorded: the control plane shares
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

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_STORES_EXTENSIONS ?? 1000);
const WRITERS = Number(process.env.BENCH_STORES_WRITERS ?? 8);
const READERS = Number(process.env.BENCH_STORES_READERS ?? 10);
const SECONDS = Number(process.env.BENCH_STORES_SECONDS ?? 10);
const PRODUCTS = Math.max(1, Math.floor(N / 5));

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

async function procStat(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const hwm = async (pid) => Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

async function script(name, args, env = {}) {
  return run('bash', [join(ROOT, 'scripts', name), ...args], { cwd: ROOT, env, timeoutMs: 10 * 60_000 });
}

async function serve(dir, token, storeArgs) {
  let listening;
  const ready = new Promise((r) => (listening = r));
  const abort = new AbortController();
  const exited = run(process.execPath, [join(ROOT, 'dist/cli/bin/fuseml-registry.js'), 'serve', '--port', '0', '--key-file', join(dir, 'registry.key'), ...storeArgs], {
    secretEnv: { FUSEML_REGISTRY_ADMIN_TOKEN: token },
    timeoutMs: 60 * 60_000,
    signal: abort.signal,
    allowFailure: true,
    onLine: (line) => {
      const m = /listening on (http:\/\/\S+) \(pid (\d+)/.exec(line);
      if (m) listening({ url: m[1], pid: Number(m[2]) });
    },
  }).catch(() => undefined);
  const s = await Promise.race([ready, new Promise((_, rej) => setTimeout(() => rej(new Error('server did not start')), 120_000))]);
  return {
    ...s,
    async stop() {
      process.kill(s.pid, 'SIGTERM');
      await exited;
    },
  };
}

/** `count` tasks by `concurrency` workers; returns seconds elapsed. */
async function pool(count, concurrency, task) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Closed loop: `concurrency` workers for SECONDS; returns requests/s. */
async function closedLoop(concurrency, request) {
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await request();
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function measure(name, server, token, extra) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const call = async (method, path, body) => {
    const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text;
  };
  const pick = (n) => Math.floor(Math.random() * n);
  const cpu0 = await Promise.all([server.pid, ...extra].map(procStat));
  const writeS = await pool(N, WRITERS, (i) => call('POST', '/extensions', record(i)));
  const cpu1 = await Promise.all([server.pid, ...extra].map(procStat));
  const registryCpu = cpu1[0] - cpu0[0];
  const controlPlaneCpu = cpu1.slice(1).reduce((a, v, i) => a + v - cpu0[i + 1], 0);
  const out = {
    register: N / writeS,
    registryCpuShare: registryCpu / writeS,
    controlPlaneCpuShare: extra.length ? controlPlaneCpu / writeS : undefined,
  };
  // Warm-up, then the measured read loops.
  await closedLoop(READERS, () => call('GET', `/extensions/ext-${pick(N)}`)).catch(() => undefined);
  out.getById = await closedLoop(READERS, () => call('GET', `/extensions/ext-${pick(N)}`));
  out.listByProduct = await closedLoop(READERS, () => call('GET', `/extensions?product=product-${pick(PRODUCTS)}`));
  out.peakRssMiB = await hwm(server.pid);
  console.log(`${name}: ${JSON.stringify(out)}`);
  return out;
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
  try {
    // The SQLite store.
    const sqlite = await serve(dir, token, ['--db', join(dir, 'registry.db')]);
    let s;
    try {
      s = await measure('sqlite', sqlite, token, []);
    } finally {
      await sqlite.stop();
    }
    load.push(loadavg());

    // The Kubernetes store, in a namespace of its own on the local control plane.
    const tools = (await script('tools.sh', ['--print-env'])).stdout;
    kubectl = /^export FUSEML_KUBECTL='([^']+)'$/m.exec(tools)?.[1] ?? 'kubectl';
    await script('cluster.sh', ['up']);
    kubeconfig = /^export KUBECONFIG='([^']+)'$/m.exec((await script('cluster.sh', ['env'])).stdout)?.[1];
    const pids = join(dirname(kubeconfig), 'pids');
    const extra = await Promise.all(['kube-apiserver', 'etcd'].map(async (c) => Number((await readFile(join(pids, `${c}.pid`), 'utf8')).trim())));
    namespace = `bench-stores-${randomBytes(3).toString('hex')}`;
    await run(kubectl, ['--kubeconfig', kubeconfig, 'create', 'namespace', namespace], { timeoutMs: 60_000 });
    const kube = await serve(dir, token, ['--store', 'kubernetes', '--kubeconfig', kubeconfig, '--store-namespace', namespace, '--install-crd']);
    let k;
    try {
      k = await measure('kubernetes', kube, token, extra);
    } finally {
      await kube.stop();
    }
    load.push(loadavg());

    const ratio = (a, b) => Math.round((a / b) * 100) / 100;
    figures.push(
      { name: 'sqlite: register', value: s.register, unit: '/s' },
      { name: 'kubernetes: register', value: k.register, unit: '/s' },
      { name: 'kubernetes: CPU of kube-apiserver + etcd during the registrations (cores)', value: k.controlPlaneCpuShare, unit: 'cores' },
      { name: 'kubernetes: CPU of the registry during the registrations (cores)', value: k.registryCpuShare, unit: 'cores' },
      { name: 'sqlite: get by id', value: s.getById, unit: '/s' },
      { name: 'kubernetes: get by id', value: k.getById, unit: '/s' },
      { name: 'get by id: kubernetes / sqlite', value: ratio(k.getById, s.getById), target: { min: 0.7 } },
      { name: 'sqlite: list by product', value: s.listByProduct, unit: '/s' },
      { name: 'kubernetes: list by product', value: k.listByProduct, unit: '/s' },
      { name: 'list by product: kubernetes / sqlite', value: ratio(k.listByProduct, s.listByProduct), target: { min: 0.7 } },
      { name: 'sqlite: registry peak RSS', value: s.peakRssMiB, unit: 'MiB' },
      { name: 'kubernetes: registry peak RSS', value: k.peakRssMiB, unit: 'MiB' },
    );
    notes.push(
      `${N} extensions, ${WRITERS} writers / ${READERS} readers in flight, ${SECONDS} s per read figure; the client, both registries and the control plane on the same ${cpus().length} cores.`,
      `Load average (1/5/15 min) before, after SQLite, after Kubernetes: ${load.map((l) => l.map((v) => v.toFixed(2)).join('/')).join(' · ')}. ${load[0][0] > cpus().length ? 'A loaded machine (other work running): compare the columns with each other, not with other runs.' : ''}`,
      'Writes on the Kubernetes store go through the API server (compare-and-swap on resourceVersion; a Secret write and an object write per registration): their rate is bounded by kube-apiserver + etcd, whose CPU during the registrations is the "cores" figure.',
    );
  } finally {
    if (namespace) await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', namespace, '--wait=false'], { timeoutMs: 60_000, allowFailure: true });
    await rm(dir, { recursive: true, force: true });
  }
  const result = { name: 'registry stores side by side (sqlite vs kubernetes)', description: 'Same load on `--store sqlite` and `--store kubernetes` (watch-fed cache) on the local control plane.', figures, notes };
  console.log(JSON.stringify(result, null, 2));
  if (process.env.BENCH_RESULT_FILE) await writeFile(process.env.BENCH_RESULT_FILE, JSON.stringify(result, null, 2));
}

await main();
