/**
 * On the Kubernetes store (local control plane), through a real registry server: the one version matcher
 * (`?version=X` and a requirement `version: X` select the same records, generated X; issue 11) and the one
 * credential-scope rule for `?reveal=true` (a team-a resolver for alice does not read alice's team-b set;
 * issue 10 item 4), and fault isolation of a corrupted sealed value (issue 10 item 5). The SQLite side: test/integration/registry-version-agreement.test.ts and
 * test/integration/registry-access-matrix.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RegistryStoreApi } from '../../src/registry/store/kubernetes/api.js';
import { run } from '../../src/exec/index.js';
import { objectName } from '../../src/registry/store/kubernetes/store.js';
import { useNamespace } from '../helpers/namespace.js';
import { REGISTRY_BIN, ROOT, randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';
import { checkAgreement, registerVersions } from '../helpers/version-agreement.js';

const ns = useNamespace('regscope');
const admin = randomToken();
const resolverA = randomToken();
const V = randomToken().slice(0, 8);
let dir: string;
let reg: RegistryProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-k8s-scope-'));
  await writeFile(join(dir, 'registry.key'), randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  reg = await startRegistry({
    dir,
    adminToken: admin,
    config: `tokens:\n  - { name: ci-a, role: resolver, token: ${resolverA}, projects: [team-a], users: [alice] }\n`,
    kubernetes: { kubeconfig: ns.cluster.kubeconfig, namespace: ns.name, installCrd: true },
    startTimeoutMs: 60_000,
  });
}, 120_000);

afterAll(async () => {
  await reg?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('query and requirement select the same records for generated selectors (Kubernetes store)', async () => {
  await registerVersions({ url: reg.url, token: admin }, 'vk', 'vk-resource');
  const r = await checkAgreement({ url: reg.url, token: admin }, 'vk', 60);
  expect(r.cases).toBe(60);
  expect(r.nonEmpty).toBeGreaterThan(3);
}, 300_000);

test('?reveal=true for a team-a resolver of alice: alice\'s set for any project, not her team-b one', async () => {
  const put = await fetch(`${reg.url}/extensions/scoped/record`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'scoped',
      services: [
        {
          id: 's',
          credentials: [
            { id: 'ua', scope: 'user', users: ['alice'], configuration: { K: `ua-${V}` } },
            { id: 'uab', scope: 'user', users: ['alice'], projects: ['team-b'], configuration: { K: `uab-${V}` } },
            { id: 'pb', scope: 'project', projects: ['team-b'], configuration: { K: `pb-${V}` } },
          ],
        },
      ],
    }),
  });
  expect(put.status).toBe(201);
  for (const path of ['/extensions/scoped?reveal=true', '/extensions?reveal=true', '/extensions/scoped/services/s/credentials?reveal=true']) {
    const text = await (await fetch(`${reg.url}${path}`, { headers: { authorization: `Bearer ${resolverA}` } })).text();
    expect([path, text.includes(`ua-${V}`), text.includes(`uab-${V}`), text.includes(`pb-${V}`)]).toEqual([path, true, false, false]);
  }
}, 60_000);

async function asAdmin(method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(`${reg.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, text, json: text ? JSON.parse(text) : undefined };
}

test('a corrupted sealed value in the Secret: that set is undecryptable, everything else keeps working, doctor lists it', async () => {
  const record = {
    id: 'broken',
    services: [
      { id: 'sa', resource: 'k-a', endpoints: [{ url: 'http://a', type: 'internal' }], credentials: [{ id: 'c1', scope: 'global', configuration: { K: `c1-${V}` } }] },
      { id: 'sb', resource: 'k-b', endpoints: [{ url: 'http://b', type: 'internal' }], credentials: [{ id: 'c2', scope: 'global', configuration: { K: `c2-${V}` } }] },
    ],
  };
  expect((await asAdmin('PUT', '/extensions/broken/record', record)).status).toBe(201);
  // Corrupt c1's sealed value in the Secret, through the API as any writer of Secrets could.
  const api = await RegistryStoreApi.connect({ kubeconfig: ns.cluster.kubeconfig, namespace: ns.name });
  const name = objectName('broken');
  const ref = (await api.getObject(name))?.spec.credentialsRef as string;
  const secret = (await api.getSecret(name))!;
  const entry = JSON.parse(secret.data[ref]!) as { revision: number; values: Record<string, string> };
  const sealed = entry.values['sa/c1']!;
  const mid = Math.floor(sealed.length / 2);
  entry.values['sa/c1'] = sealed.slice(0, mid) + (sealed[mid] === 'A' ? 'B' : 'A') + sealed.slice(mid + 1);
  await api.replaceSecret({ name, labels: secret.labels, annotations: secret.annotations }, secret.resourceVersion, { ...secret.data, [ref]: JSON.stringify(entry) });

  // The change was made behind the registry's back: its watch-fed cache sees it within the watch delay.
  let read = await asAdmin('GET', '/extensions/broken?reveal=true');
  for (const end = Date.now() + 10_000; read.json.services?.[0]?.credentials?.[0]?.status?.state !== 'undecryptable' && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 100));
    read = await asAdmin('GET', '/extensions/broken?reveal=true');
  }
  expect(read.status).toBe(200);
  expect(read.json.services[0].credentials[0]).toMatchObject({ configuration: { K: '<hidden>' }, status: { state: 'undecryptable' } });
  expect(read.json.services[1].credentials[0].configuration.K).toBe(`c2-${V}`);
  // writes that do not touch it succeed and keep its sealed value
  expect((await asAdmin('PUT', '/extensions/broken', { description: 'still writable' })).status).toBe(200);
  expect((await asAdmin('PUT', '/extensions/broken/services/sb/credentials/c2', { configuration: { K: `c2b-${V}` } })).status).toBe(200);
  const ref2 = (await api.getObject(name))?.spec.credentialsRef as string;
  expect(ref2).not.toBe(ref);
  const entry2 = JSON.parse((await api.getSecret(name))!.data[ref2]!) as { values: Record<string, string> };
  expect(entry2.values['sa/c1']).toBe(entry.values['sa/c1']);
  const after = await asAdmin('GET', '/extensions/broken?reveal=true');
  expect(after.json.services[0].credentials[0].status.state).toBe('undecryptable');
  expect(after.json.services[1].credentials[0].configuration.K).toBe(`c2b-${V}`);
  // resolve: the other service works, the one needing c1 fails naming it
  const wf = (resource: string) => ({ project: 'p', workflow: { name: 'w', steps: [{ name: 's', extensions: [{ name: 'x', service_resource: resource }] }] } });
  expect((await asAdmin('POST', '/workflows/resolve', wf('k-b'))).text).toContain(`c2b-${V}`);
  const bad = await asAdmin('POST', '/workflows/resolve', wf('k-a'));
  expect(bad.status).toBe(422);
  expect(bad.json.error.message).toMatch(/broken\/sa: the stored values of credentials c1 cannot be decrypted/);
  // doctor on the Kubernetes store
  const d = await run(process.execPath, [REGISTRY_BIN, 'doctor', '--store', 'kubernetes', '--kubeconfig', ns.cluster.kubeconfig, '--store-namespace', ns.name, '--key-file', join(dir, 'registry.key')], {
    cwd: ROOT,
    env: { FUSEML_REGISTRY_KEY: undefined },
    allowFailure: true,
    timeoutMs: 60_000,
  });
  expect(d.exitCode).toBe(3);
  expect(d.stdout).toContain('broken/sa/c1: undecryptable');
}, 120_000);
