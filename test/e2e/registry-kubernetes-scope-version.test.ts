/**
 * On the Kubernetes store (local control plane), through a real registry server: the one version matcher
 * (`?version=X` and a requirement `version: X` select the same records, generated X; issue 11) and the one
 * credential-scope rule for `?reveal=true` (a team-a resolver for alice does not read alice's team-b set;
 * issue 10 item 4). The SQLite side: test/integration/registry-version-agreement.test.ts and
 * test/integration/registry-access-matrix.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { useNamespace } from '../helpers/namespace.js';
import { randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';
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
