/**
 * The Store contract (test/helpers/store-contract.ts) on the Kubernetes store, against the local control
 * plane, in a fresh namespace; plus what only this store has: the layout of its objects, the key check, the
 * size limit and the missing-CRD error.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, test } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { Registry } from '../../src/registry/registry.js';
import { RegistryStoreApi } from '../../src/registry/store/kubernetes/api.js';
import { KubernetesStore, MAX_DOCUMENT_BYTES, objectName } from '../../src/registry/store/kubernetes/store.js';
import { useNamespace, writeTokenKubeconfig } from '../helpers/namespace.js';
import { ROOT } from '../helpers/registry.js';
import { inPreviousForm, legacyTimes, sampleRecord, sampleStatusTimes, statusTimes, storeContract } from '../helpers/store-contract.js';

const ns = useNamespace('regstore');
const key = randomBytes(32);
let api: RegistryStoreApi;

beforeAll(async () => {
  api = await RegistryStoreApi.connect({ kubeconfig: ns.cluster.kubeconfig, namespace: ns.name });
  await api.installCrd();
});

const open = (k: Buffer = key) => KubernetesStore.open({ kubeconfig: ns.cluster.kubeconfig, namespace: ns.name, key: k });

storeContract('kubernetes', {
  open: () => open(),
  // The raw objects as any reader of the namespace gets them through the API (Secret data base64 as stored).
  atRest: async (id) => {
    const name = objectName(id);
    const raw = await ns.client.core.readNamespacedSecret({ namespace: ns.name, name }).catch(() => undefined);
    const decoded = Object.values(raw?.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    return JSON.stringify([await api.getObject(name), raw ?? null, decoded]);
  },
});

describe('Kubernetes store specifics', () => {
  test('one FusemlExtension (masked document, labels) and one Secret (sealed values) per extension', async () => {
    const store = await open();
    const id = `Layout_${randomBytes(3).toString('hex')}`;
    await store.put(sampleRecord(id, { product: 'mlflow', zone: 'eu-1', secret: 'layout-secret' }), null);
    const name = objectName(id);
    const o = await api.getObject(name);
    expect(o?.spec.id).toBe(id);
    expect(o?.spec.revision).toBe(1);
    expect(o?.labels).toMatchObject({ 'registry.fuseml.io/product': 'mlflow', 'registry.fuseml.io/zone': 'eu-1' });
    expect(o?.annotations['registry.fuseml.io/id']).toBe(id);
    expect(JSON.stringify(o?.spec.document)).toContain('<hidden>');
    const secret = await api.getSecret(name);
    expect(Object.keys(secret?.data ?? {})).toEqual([o?.spec.credentialsRef]);
    expect(JSON.stringify(secret)).not.toContain('layout-secret');
    // An update leaves one revision's values behind; a delete removes the Secret too.
    await store.put(sampleRecord(id, { revision: 2, secret: 'layout-2' }), 1);
    const o2 = await api.getObject(name);
    expect(Object.keys((await api.getSecret(name))?.data ?? {})).toEqual([o2?.spec.credentialsRef]);
    await store.put({ ...sampleRecord(id, { revision: 3 }), services: [] }, 2);
    expect(await api.getSecret(name)).toBeUndefined();
    await store.put(sampleRecord(id, { revision: 4 }), 3);
    await store.delete(id);
    expect(await api.getObject(name)).toBeUndefined();
    expect(await api.getSecret(name)).toBeUndefined();
  });

  test("an object written by the previous version (top-level created/updated beside the status times) reads in today's form; the next write stores that form", async () => {
    const id = `old-form-${randomBytes(3).toString('hex')}`;
    const t0 = '2026-01-01T00:00:00.123Z';
    const t1 = '2026-01-02T00:00:00.456Z';
    // What the previous fuseml-registry handed its store (so the object it wrote).
    const writer = await open();
    await writer.put(inPreviousForm(sampleRecord(id, { secret: 'old-form-secret' }), t0, t1, ['team-a']), null);
    expect(legacyTimes((await api.getObject(objectName(id)))?.spec.document as unknown as ExtensionRecord)).toHaveLength(2 * 7);

    const expected = sampleStatusTimes(id, t0, t1);
    const check = (doc: ExtensionRecord | undefined): void => {
      expect(doc).toBeDefined();
      expect(legacyTimes(doc as ExtensionRecord)).toEqual([]);
      expect(statusTimes(doc as ExtensionRecord)).toEqual(expected);
    };
    // Through a fresh replica's watch-fed cache and straight from the API server, values revealed or not.
    const cached = await open();
    const direct = await KubernetesStore.open({ kubeconfig: ns.cluster.kubeconfig, namespace: ns.name, key, cache: false });
    let seen: ExtensionRecord | undefined;
    for (let i = 0; i < 200 && !seen; i++) {
      seen = await cached.get(id);
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    check(seen);
    check(await direct.get(id));
    const revealed = await direct.get(id, { reveal: true });
    check(revealed);
    expect(revealed?.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe('old-form-secret');
    check((await direct.list({ product: 'mlflow' })).find((r) => r.id === id));

    // The registry's next write of the extension stores today's form: the times kept, once, in status.
    const registry = new Registry(direct);
    const updated = await registry.updateExtension(id, { description: 'rewritten' });
    expect(updated.status?.registered).toBe(t0);
    expect(updated.status?.updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const stored = (await api.getObject(objectName(id)))?.spec.document as unknown as ExtensionRecord;
    expect(legacyTimes(stored)).toEqual([]);
    expect(statusTimes(stored)).toEqual({ ...expected, [`extension ${id}`]: { registered: t0, updated: updated.status?.updated } });
    expect((await direct.get(id, { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe('old-form-secret');
    await direct.delete(id);
  });

  test('a replica with another key refuses to start', async () => {
    await open();
    await expect(open(randomBytes(32))).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/encryption key does not match/) });
  });

  test('an oversized document is a clear VALIDATION error, nothing written', async () => {
    const store = await open();
    const id = `big-${randomBytes(3).toString('hex')}`;
    const big = { ...sampleRecord(id), description: 'x'.repeat(MAX_DOCUMENT_BYTES) };
    await expect(store.put(big, null)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/too large for the Kubernetes store/) });
    expect(await store.get(id)).toBeUndefined();
    expect(await api.getSecret(objectName(id))).toBeUndefined();
  });

  test('API failures are the registry\'s (CLUSTER, a 500), never a 404/403 to the client; a missing namespace is a usage error', async () => {
    const missing = `${ns.name}-absent`;
    await expect(KubernetesStore.open({ kubeconfig: ns.cluster.kubeconfig, namespace: missing, key })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/namespace .* does not exist/),
    });
    const store = new KubernetesStore({ api: await RegistryStoreApi.connect({ kubeconfig: ns.cluster.kubeconfig, namespace: missing }), key });
    expect(await store.get('x')).toBeUndefined();
    await expect(store.put(sampleRecord('x'), null)).rejects.toMatchObject({ code: 'CLUSTER', message: expect.stringMatching(/registry store: .*404/) });
  });

  test('deploy/rbac-fuseml-registry.yaml is enough: the store works as that ServiceAccount', async () => {
    const client = ns.client;
    const rbac = client.config.makeApiClient(client.k8s.RbacAuthorizationV1Api);
    const suffix = ns.name;
    const text = await readFile(join(ROOT, 'deploy/rbac-fuseml-registry.yaml'), 'utf8');
    type Doc = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
    const docs = parseAllDocuments(text).map((d) => d.toJSON() as Doc);
    const clusterScoped: Doc[] = [];
    for (const d of docs) {
      if (d.metadata.namespace) d.metadata.namespace = ns.name;
      for (const subj of (d.subjects as { namespace?: string }[] | undefined) ?? []) subj.namespace = ns.name;
      if (d.kind.startsWith('Cluster')) {
        d.metadata.name = `${d.metadata.name}-${suffix}`;
        const ref = d.roleRef as { name: string } | undefined;
        if (ref) ref.name = `${ref.name}-${suffix}`;
        clusterScoped.push(d);
      }
      if (d.kind === 'ServiceAccount') await client.core.createNamespacedServiceAccount({ namespace: ns.name, body: d as never });
      else if (d.kind === 'Role') await rbac.createNamespacedRole({ namespace: ns.name, body: d as never });
      else if (d.kind === 'RoleBinding') await rbac.createNamespacedRoleBinding({ namespace: ns.name, body: d as never });
      else if (d.kind === 'ClusterRole') await rbac.createClusterRole({ body: d as never });
      else if (d.kind === 'ClusterRoleBinding') await rbac.createClusterRoleBinding({ body: d as never });
      else throw new Error(`unexpected ${d.kind} in the RBAC manifest`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'fuseml-sa-'));
    try {
      const token = await client.core.createNamespacedServiceAccountToken({
        namespace: ns.name,
        name: 'fuseml-registry',
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      });
      const kubeconfig = await writeTokenKubeconfig(ns.cluster.kubeconfig, token.status?.token as string, ns.name, join(dir, 'kubeconfig'));
      // The RoleBinding may take a moment to reach the authorizer's cache.
      let store: KubernetesStore | undefined;
      for (let i = 0; !store; i++) {
        try {
          store = await KubernetesStore.open({ kubeconfig, key });
        } catch (e) {
          if (i > 20) throw e;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      expect(store.api.namespace).toBe(ns.name);
      const id = `rbac-${randomBytes(3).toString('hex')}`;
      await store.put(sampleRecord(id, { secret: 'rbac-secret' }), null);
      await store.put(sampleRecord(id, { revision: 2, secret: 'rbac-2' }), 1);
      expect((await store.list({ product: 'mlflow' }, { reveal: true })).find((r) => r.id === id)?.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe('rbac-2');
      await store.delete(id, 2);
      expect(await store.get(id)).toBeUndefined();
      // Installing the CRD needs more than the documented read access.
      await expect(KubernetesStore.open({ kubeconfig, key, installCrd: true })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      await rm(dir, { recursive: true, force: true });
      for (const d of clusterScoped) {
        if (d.kind === 'ClusterRole') await rbac.deleteClusterRole({ name: d.metadata.name });
        else await rbac.deleteClusterRoleBinding({ name: d.metadata.name });
      }
    }
  });
});
