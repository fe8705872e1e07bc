/**
 * The Store contract (test/helpers/store-contract.ts) on the Kubernetes store, against the local control
 * plane, in a fresh namespace; plus what only this store has: the layout of its objects, the key check, the
 * size limit and the missing-CRD error.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { RegistryStoreApi } from '../../src/kube/registry-store-api.js';
import { KubernetesStore, MAX_DOCUMENT_BYTES, objectName } from '../../src/registry/store/kubernetes.js';
import { useNamespace } from '../helpers/namespace.js';
import { sampleRecord, storeContract } from '../helpers/store-contract.js';

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
});
