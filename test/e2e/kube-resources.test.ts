/**
 * src/kube/resources.ts, the generic resource client, against the real API server: CRUD with
 * compare-and-swap, list + watch from the listing's resourceVersion, a watch from a resourceVersion the
 * server no longer holds (410, then a re-list and a watch from it), and the one error mapping (401 → CLUSTER,
 * 403 → FORBIDDEN with the caller's hint, 404, 409, unreachable → CLUSTER).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeApiError } from '../../src/kube/errors.js';
import { ResourceClient, resourceType, type KubeObject, type WatchEventType } from '../../src/kube/resources.js';
import { resolveKubeTarget } from '../../src/kube/target.js';
import { useNamespace, writeTokenKubeconfig } from '../helpers/namespace.js';

const ns = useNamespace('kres');
const CONFIG_MAPS = resourceType('v1', 'ConfigMap');
let client: ResourceClient;
let dir: string;

type ConfigMap = KubeObject & { data?: Record<string, string> };
const cm = (name: string, data: Record<string, string>, resourceVersion?: string): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns.name, labels: { set: 'a' }, ...(resourceVersion ? { resourceVersion } : {}) },
  data,
});

beforeAll(async () => {
  client = await ResourceClient.connect({ kubeconfig: ns.cluster.kubeconfig });
  dir = await mkdtemp(join(tmpdir(), 'kres-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Collects a watch's events until `until` holds for them (or 20 s pass). */
function collector() {
  const events: { type: WatchEventType; name: string; data?: Record<string, string> }[] = [];
  const waiters: (() => void)[] = [];
  return {
    events,
    on: (type: WatchEventType, o: ConfigMap) => {
      events.push({ type, name: o.metadata?.name ?? '', data: o.data });
      waiters.splice(0).forEach((w) => w());
    },
    async until(pred: () => boolean): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`watch: timed out; saw ${JSON.stringify(events)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}

describe('generic resource client on the API server', () => {
  test('create, get, list by label, replace with compare-and-swap, merge patch, delete with a precondition', async () => {
    const created = await client.create<ConfigMap>(CONFIG_MAPS, cm('one', { a: '1' }));
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect((await client.get<ConfigMap>(CONFIG_MAPS, 'one', ns.name))?.data).toEqual({ a: '1' });
    expect(await client.get(CONFIG_MAPS, 'absent', ns.name)).toBeUndefined();

    const again = await client.create(CONFIG_MAPS, cm('one', { a: '2' })).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(KubeApiError);
    expect(again).toMatchObject({ code: 'CONFLICT', status: 409, reason: 'AlreadyExists' });

    const replaced = await client.replace<ConfigMap>(CONFIG_MAPS, cm('one', { a: '2' }, created.metadata?.resourceVersion));
    // The old resourceVersion no longer matches: a second replace from it is a conflict, not a lost update.
    const stale = await client.replace(CONFIG_MAPS, cm('one', { a: '3' }, created.metadata?.resourceVersion)).catch((e: unknown) => e);
    expect(stale).toMatchObject({ code: 'CONFLICT', status: 409, reason: 'Conflict' });

    const patched = await client.patch<ConfigMap>(CONFIG_MAPS, 'one', { data: { b: 'x' } }, { namespace: ns.name });
    expect(patched.data).toEqual({ a: '2', b: 'x' });

    await client.create(CONFIG_MAPS, { ...cm('two', {}), metadata: { name: 'two', namespace: ns.name, labels: { set: 'b' } } });
    const listed = await client.list<ConfigMap>(CONFIG_MAPS, { namespace: ns.name, labelSelector: 'set=a' });
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(['one']);
    expect(Number(listed.resourceVersion)).toBeGreaterThanOrEqual(Number(patched.metadata?.resourceVersion));
    // In pages of one: the same snapshot, every object once.
    const paged = await client.list<ConfigMap>(CONFIG_MAPS, { namespace: ns.name, pageSize: 1 });
    const whole = await client.list<ConfigMap>(CONFIG_MAPS, { namespace: ns.name });
    expect(paged.items.map((i) => i.metadata?.name).sort()).toEqual(whole.items.map((i) => i.metadata?.name).sort());
    expect(paged.items.length).toBeGreaterThanOrEqual(3); // one, two, and the namespace's kube-root-ca.crt
    expect((await client.list(CONFIG_MAPS, { namespace: ns.name, limit: 1 })).items).toHaveLength(1);

    const precondition = await client.delete(CONFIG_MAPS, 'one', ns.name, { resourceVersion: replaced.metadata?.resourceVersion }).catch((e: unknown) => e);
    expect(precondition).toMatchObject({ code: 'CONFLICT', status: 409 });
    expect(await client.delete(CONFIG_MAPS, 'one', ns.name, { resourceVersion: patched.metadata?.resourceVersion })).toBe(true);
    expect(await client.delete(CONFIG_MAPS, 'one', ns.name)).toBe(false);
    expect(await client.delete(CONFIG_MAPS, 'two', ns.name)).toBe(true);
  });

  test('list, then watch from the listing: every later change arrives, in order; stop() ends it without an error', async () => {
    await client.create(CONFIG_MAPS, cm('w0', { v: '0' }));
    const listing = await client.list<ConfigMap>(CONFIG_MAPS, { namespace: ns.name, labelSelector: 'set=a' });
    expect(listing.items.map((i) => i.metadata?.name)).toContain('w0');
    const c = collector();
    const watch = await client.watch<ConfigMap>(CONFIG_MAPS, { namespace: ns.name, labelSelector: 'set=a', resourceVersion: listing.resourceVersion }, c.on);
    await client.create(CONFIG_MAPS, cm('w1', { v: '1' }));
    await client.patch(CONFIG_MAPS, 'w1', { data: { v: '2' } }, { namespace: ns.name });
    await client.delete(CONFIG_MAPS, 'w1', ns.name);
    await c.until(() => c.events.some((e) => e.type === 'DELETED'));
    const changes = c.events.filter((e) => e.type !== 'BOOKMARK');
    // w0 was in the listing: the watch from its resourceVersion does not repeat it.
    expect(changes).toEqual([
      { type: 'ADDED', name: 'w1', data: { v: '1' } },
      { type: 'MODIFIED', name: 'w1', data: { v: '2' } },
      { type: 'DELETED', name: 'w1', data: { v: '2' } },
    ]);
    watch.stop();
    await expect(watch.done).resolves.toBeUndefined();
  });

  test('a watch from a resourceVersion the server no longer holds ends with 410; a re-list and a watch from it work', async () => {
    const c = collector();
    const old = await client.watch<ConfigMap>(CONFIG_MAPS, { namespace: ns.name, resourceVersion: '1' }, c.on);
    const err = await old.done.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(410);
    expect(['Expired', 'Gone']).toContain((err as KubeApiError).reason);
    expect(c.events.map((e) => e.type)).toEqual(['ERROR']);

    const relisted = await client.list(CONFIG_MAPS, { namespace: ns.name });
    const c2 = collector();
    const fresh = await client.watch<ConfigMap>(CONFIG_MAPS, { namespace: ns.name, resourceVersion: relisted.resourceVersion }, c2.on);
    await client.create(CONFIG_MAPS, cm('after-410', { v: 'x' }));
    await c2.until(() => c2.events.some((e) => e.name === 'after-410'));
    fresh.stop();
    await fresh.done;
  });

  test('errors: 401 → CLUSTER (credentials), 403 → FORBIDDEN with the hint, unreachable → CLUSTER', async () => {
    const sa = 'no-rights';
    await client.create(resourceType('v1', 'ServiceAccount'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns.name } });
    const tr = await client.request<{ status: { token: string } }>('POST', `${client.path(resourceType('v1', 'ServiceAccount'), ns.name, sa)}/token`, 'token request', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    const allowed = await writeTokenKubeconfig(ns.cluster.kubeconfig, tr.status.token, ns.name, join(dir, 'sa'));
    const noRights = await ResourceClient.connect({ kubeconfig: allowed, forbiddenHint: 'needs rights on configmaps' });
    expect(noRights.namespace).toBe(ns.name);
    const forbidden = await noRights.list(CONFIG_MAPS).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', status: 403, hint: 'needs rights on configmaps' });

    const bogus = await writeTokenKubeconfig(ns.cluster.kubeconfig, 'not-a-token', ns.name, join(dir, 'bogus'));
    const unauth = await (await ResourceClient.connect({ kubeconfig: bogus })).list(CONFIG_MAPS).catch((e: unknown) => e);
    expect(unauth).toMatchObject({ code: 'CLUSTER', status: 401 });
    expect((unauth as KubeApiError).message).toContain('did not accept the credentials');
    const watchUnauth = await (await ResourceClient.connect({ kubeconfig: bogus })).watch(CONFIG_MAPS, { resourceVersion: '' }, () => undefined).catch((e: unknown) => e);
    expect(watchUnauth).toMatchObject({ code: 'CLUSTER', status: 401 });

    const target = resolveKubeTarget({ kubeconfig: ns.cluster.kubeconfig });
    const minimal = structuredClone(target.minimal) as { clusters: { cluster: { server: string } }[] };
    (minimal.clusters[0] as { cluster: { server: string } }).cluster.server = 'https://127.0.0.1:1';
    const down = await ResourceClient.connect({ target: { ...target, server: 'https://127.0.0.1:1', minimal } });
    const unreachable = await down.get(CONFIG_MAPS, 'x', ns.name).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ code: 'CLUSTER', status: undefined });
    expect((unreachable as Error).message).toContain('cannot reach the Kubernetes API server');
  });
});
