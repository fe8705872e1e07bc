/**
 * Two real `fuseml-registry serve --store kubernetes` processes (replicas) on one namespace of the local
 * control plane: what one writes the other reads (after the watch delay: polled, within a generous bound); the
 * replica that answered a write reads it at once; concurrent conflicting If-Match writes through different
 * replicas → exactly one succeeds, the other gets 412; the `fuseml` CLI works against either; killing and
 * restarting the API server (scripts/cluster.sh stop-apiserver / start-apiserver) makes /healthz not ready past
 * the staleness bound, ready again after, and the replicas converge with no lost or stale record.
 * The API server restart disturbs anything else using the cluster at that moment: e2e files run one at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run } from '../../src/exec/index.js';
import { objectName } from '../../src/registry/store/kubernetes/store.js';
import { useNamespace } from '../helpers/namespace.js';
import { ROOT, randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const ns = useNamespace('regreplicas');
const token = randomToken();
const SECRET = `planted-${randomToken()}`;
let dir: string;
let replicas: RegistryProcess[] = [];

async function http(reg: RegistryProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(reg.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** Polls `fn` until it returns true; fails after `boundMs` (generous: the documented delay is well under a second). */
async function eventually(what: string, fn: () => Promise<boolean>, boundMs = 15_000): Promise<number> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > boundMs) throw new Error(`${what}: not after ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

async function healthz(reg: RegistryProcess): Promise<number> {
  try {
    return (await fetch(`${reg.url}/healthz`)).status;
  } catch {
    return 0;
  }
}

async function cluster(verb: string): Promise<void> {
  await run('bash', [join(ROOT, 'scripts/cluster.sh'), verb], { cwd: ROOT, timeoutMs: 180_000 });
}

beforeAll(async () => {
  // One key for all replicas (here a shared key file; in a cluster FUSEML_REGISTRY_KEY from one Secret).
  dir = await mkdtemp(join(tmpdir(), 'fuseml-replicas-'));
  await writeFile(join(dir, 'registry.key'), randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const kubernetes = { kubeconfig: ns.cluster.kubeconfig, namespace: ns.name };
  replicas.push(await startRegistry({ dir, adminToken: token, kubernetes: { ...kubernetes, installCrd: true }, startTimeoutMs: 60_000 }));
  replicas.push(await startRegistry({ dir, adminToken: token, kubernetes, startTimeoutMs: 60_000 }));
});

afterAll(async () => {
  for (const r of replicas) await r.cleanup();
  replicas = [];
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fuseml-registry serve --store kubernetes, two replicas', () => {
  test('a record written through one replica is read through the other, credentials encrypted in the Secret', async () => {
    const [a, b] = replicas as [RegistryProcess, RegistryProcess];
    expect(a.url).not.toBe(b.url);
    const rec = {
      id: 'MLflow_Main',
      product: 'mlflow',
      version: '1.20.2',
      services: [
        {
          id: 'mlflow-store',
          resource: 's3',
          category: 'model-store',
          credentials: [{ id: 's3', scope: 'global', default: true, configuration: { AWS_SECRET_ACCESS_KEY: SECRET } }],
        },
      ],
    };
    expect((await http(a, 'POST', '/extensions', rec)).status).toBe(201);
    await eventually('b sees the write of a', async () => (await http(b, 'GET', '/extensions/MLflow_Main')).status === 200);
    const got = await http(b, 'GET', '/extensions/MLflow_Main');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: 'MLflow_Main', product: 'mlflow', revision: 1 });
    expect(JSON.stringify(got.body)).not.toContain(SECRET);
    // The wire rule on this store too: the extension's revision, none on what is nested in it (get and list); a
    // nested record's revision on its own route (the stored document keeps it).
    const services = (got.body as { services: Record<string, unknown>[] }).services;
    expect(services.map((s) => 'revision' in s)).toEqual([false]);
    expect(((services[0]?.credentials ?? []) as Record<string, unknown>[]).map((c) => 'revision' in c)).toEqual([false]);
    const listed = (await http(b, 'GET', '/extensions?product=mlflow')).body as unknown as { revision: number; services: object[] }[];
    expect(listed.map((e) => [e.revision, JSON.stringify(e.services).includes('"revision"')])).toEqual([[1, false]]);
    expect((await http(b, 'GET', '/extensions/MLflow_Main/services/mlflow-store/credentials/s3')).body).toMatchObject({ id: 's3', revision: 1 });
    expect((await http(b, 'POST', '/extensions', rec)).status).toBe(409);
    const raw = await ns.client.core.readNamespacedSecret({ namespace: ns.name, name: objectName('MLflow_Main') });
    const decoded = Object.values(raw.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8')).join('\n');
    expect(decoded).toMatch(/^\{"revision":1,"values":\{"mlflow-store\/s3":"v1:/);
    expect(decoded + JSON.stringify(raw)).not.toContain(SECRET);
  });

  test('concurrent If-Match writes through different replicas: exactly one 200, the other 412', async () => {
    const [a, b] = replicas as [RegistryProcess, RegistryProcess];
    expect((await http(a, 'POST', '/extensions', { id: 'race', product: 'p' })).status).toBe(201);
    await eventually('b sees race', async () => (await http(b, 'GET', '/extensions/race')).status === 200);
    for (let revision = 1; revision <= 5; revision++) {
      const ifMatch = { 'if-match': `"${revision}"` };
      const results = await Promise.all([
        http(a, 'PUT', '/extensions/race', { description: `a${revision}` }, ifMatch),
        http(b, 'PUT', '/extensions/race', { description: `b${revision}` }, ifMatch),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
      const winner = results[0]?.status === 200 ? `a${revision}` : `b${revision}`;
      // The replica that answered 200 holds its write; the one that answered 412 caught up with what it lost to.
      for (const r of [a, b]) expect((await http(r, 'GET', '/extensions/race')).body).toMatchObject({ description: winner, revision: revision + 1 });
    }
  });

  test('the fuseml CLI works against either replica', async () => {
    const [a, b] = replicas as [RegistryProcess, RegistryProcess];
    const file = join(dir, 'kserve.yaml');
    await writeFile(file, 'id: kserve\nproduct: kserve\nversion: 0.7.0\nservices:\n  - id: kserve-api\n    resource: kserve-api\n    category: prediction-serving\n');
    const reg = await runFuseml(['extension', 'register', '-f', file], { url: b.url, token });
    expect(reg.stderr).toBe('');
    expect(reg.stdout).toMatch(/Extension kserve registered \(revision 1\)/);
    await eventually('a sees kserve', async () => (await http(a, 'GET', '/extensions/kserve')).status === 200);
    for (const r of [a, b]) {
      const list = await runFuseml(['extension', 'list', '-o', 'json'], { url: r.url, token });
      expect(list.exitCode).toBe(0);
      expect((JSON.parse(list.stdout) as { id: string }[]).map((e) => e.id)).toEqual(['MLflow_Main', 'kserve', 'race']);
      const filtered = await runFuseml(['extension', 'list', '--service-category', 'prediction-serving', '-o', 'json'], { url: r.url, token });
      expect((JSON.parse(filtered.stdout) as { id: string }[]).map((e) => e.id)).toEqual(['kserve']);
    }
    const shown = await runFuseml(['extension', 'credentials', 'list', 'MLflow_Main', 'mlflow-store', '--show-secrets', '-o', 'json'], { url: a.url, token });
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain(SECRET);
    const upd = await runFuseml(['extension', 'update', 'kserve', '--zone', 'dev', '--if-match', '1', '-o', 'json'], { url: a.url, token });
    expect(JSON.parse(upd.stdout)).toMatchObject({ zone: 'dev', revision: 2 });
    await eventually('b sees revision 2', async () => (await http(b, 'GET', '/extensions/kserve')).body?.revision === 2);
    const stale = await runFuseml(['extension', 'update', 'kserve', '--zone', 'prod', '--if-match', '1'], { url: b.url, token });
    expect(stale.exitCode).toBe(5);
    expect(stale.stderr).toMatch(/412/);
    expect((await runFuseml(['extension', 'delete', 'kserve'], { url: b.url, token })).exitCode).toBe(0);
    await eventually('a sees the delete', async () => (await http(a, 'GET', '/extensions/kserve')).status === 404);
    const gone = await runFuseml(['extension', 'get', 'kserve'], { url: a.url, token });
    expect(gone.exitCode).toBe(4);
    // Nothing secret in the replicas' stderr.
    for (const r of replicas) expect(r.stderr.join('\n')).not.toContain(SECRET);
  });

  test('a write is visible at once on the replica that answered it, and on the other after the watch delay', async () => {
    const [a, b] = replicas as [RegistryProcess, RegistryProcess];
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const [w, r] = i % 2 === 0 ? [a, b] : [b, a];
      const id = `ryw-${i}`;
      expect((await http(w, 'POST', '/extensions', { id, product: 'ryw' })).status).toBe(201);
      expect((await http(w, 'GET', `/extensions/${id}`)).body).toMatchObject({ id, revision: 1 });
      expect((await http(w, 'PUT', `/extensions/${id}`, { description: 'two' }, { 'if-match': '"1"' })).status).toBe(200);
      expect((await http(w, 'GET', `/extensions/${id}`)).body).toMatchObject({ description: 'two', revision: 2 });
      expect(((await http(w, 'GET', '/extensions?product=ryw')).body as unknown as { id: string }[]).map((e) => e.id)).toContain(id);
      delays.push(await eventually(`the other replica sees ${id} at revision 2`, async () => (await http(r, 'GET', `/extensions/${id}`)).body?.revision === 2));
      expect((await http(w, 'DELETE', `/extensions/${id}`)).status).toBe(204);
      expect((await http(w, 'GET', `/extensions/${id}`)).status).toBe(404);
    }
    console.log(`[replicas] other replica saw a write after (ms, polled every 25 ms): ${delays.join(' ')}`);
  });

  test('API server killed: not ready past the bound, ready after its restart; the replicas re-list and converge', async () => {
    const [a, b] = replicas as [RegistryProcess, RegistryProcess];
    for (const r of [a, b]) expect(await healthz(r)).toBe(200);
    const before = (await http(a, 'GET', '/extensions')).body as unknown as { id: string; revision: number }[];
    await cluster('stop-apiserver');
    try {
      // The default bound is 10 s; polled with a generous margin.
      for (const r of [a, b]) await eventually('/healthz 503 while the watch is broken', async () => (await healthz(r)) === 503, 60_000);
      const down = await fetch(`${a.url}/healthz`);
      expect(await down.json()).toMatchObject({ status: 'not ready', reason: expect.stringMatching(/watch of .* broken/) });
      // Not ready and not stale: reads go to the (absent) API server and fail rather than answer from memory.
      expect((await http(a, 'GET', '/extensions/race')).status).toBeGreaterThanOrEqual(500);
    } finally {
      await cluster('start-apiserver');
    }
    for (const r of [a, b]) await eventually('/healthz 200 after the restart', async () => (await healthz(r)) === 200, 120_000);
    expect((await http(b, 'POST', '/extensions', { id: 'after-restart', product: 'p' })).status).toBe(201);
    expect((await http(a, 'PUT', '/extensions/MLflow_Main', { description: 'after' }, {})).status).toBe(200);
    const expected = [...before.map((e) => e.id), 'after-restart'].sort();
    for (const r of [a, b]) {
      await eventually('both replicas list the same, complete set', async () => {
        const list = (await http(r, 'GET', '/extensions')).body as unknown as { id: string; description?: string }[];
        return JSON.stringify(list.map((e) => e.id).sort()) === JSON.stringify(expected) && list.find((e) => e.id === 'MLflow_Main')?.description === 'after';
      });
    }
    // Concurrent conflicting writes still give one 200 and one 412 after the restart.
    const cur = (await http(a, 'GET', '/extensions/race')).body as { revision: number };
    await eventually('b at the same revision', async () => (await http(b, 'GET', '/extensions/race')).body?.revision === cur.revision);
    const ifMatch = { 'if-match': `"${cur.revision}"` };
    const results = await Promise.all([http(a, 'PUT', '/extensions/race', { description: 'x' }, ifMatch), http(b, 'PUT', '/extensions/race', { description: 'y' }, ifMatch)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
  });
});
