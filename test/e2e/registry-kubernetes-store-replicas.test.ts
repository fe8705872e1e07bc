/**
 * Two real `fuseml-registry serve --store kubernetes` processes (replicas) on one namespace of the local
 * control plane: what one writes the other reads; concurrent conflicting If-Match writes through different
 * replicas → exactly one succeeds, the other gets 412; the `fuseml` CLI works against either.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectName } from '../../src/registry/store/kubernetes.js';
import { useNamespace } from '../helpers/namespace.js';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

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
    const got = await http(b, 'GET', '/extensions/MLflow_Main');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: 'MLflow_Main', product: 'mlflow', revision: 1 });
    expect(JSON.stringify(got.body)).not.toContain(SECRET);
    expect((await http(b, 'POST', '/extensions', rec)).status).toBe(409);
    const raw = await ns.client.core.readNamespacedSecret({ namespace: ns.name, name: objectName('MLflow_Main') });
    const decoded = Object.values(raw.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8')).join('\n');
    expect(decoded).toMatch(/^\{"revision":1,"values":\{"mlflow-store\/s3":"v1:/);
    expect(decoded + JSON.stringify(raw)).not.toContain(SECRET);
  });

  test('concurrent If-Match writes through different replicas: exactly one 200, the other 412', async () => {
    const [a, b] = replicas as [RegistryProcess, RegistryProcess];
    expect((await http(a, 'POST', '/extensions', { id: 'race', product: 'p' })).status).toBe(201);
    for (let revision = 1; revision <= 5; revision++) {
      const ifMatch = { 'if-match': `"${revision}"` };
      const results = await Promise.all([
        http(a, 'PUT', '/extensions/race', { description: `a${revision}` }, ifMatch),
        http(b, 'PUT', '/extensions/race', { description: `b${revision}` }, ifMatch),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
      const winner = results[0]?.status === 200 ? `a${revision}` : `b${revision}`;
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
    const stale = await runFuseml(['extension', 'update', 'kserve', '--zone', 'prod', '--if-match', '1'], { url: b.url, token });
    expect(stale.exitCode).toBe(5);
    expect(stale.stderr).toMatch(/412/);
    expect((await runFuseml(['extension', 'delete', 'kserve'], { url: b.url, token })).exitCode).toBe(0);
    const gone = await runFuseml(['extension', 'get', 'kserve'], { url: a.url, token });
    expect(gone.exitCode).toBe(4);
    // Nothing secret in the replicas' stderr.
    for (const r of replicas) expect(r.stderr.join('\n')).not.toContain(SECRET);
  });
});
