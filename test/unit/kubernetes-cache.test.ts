/**
 * The Kubernetes store's cache (src/registry/store/kubernetes-cache.ts) on a fake API: list then watch, events
 * and bookmarks, indexes, 410 Gone → re-list (deleted objects leave), errors → backoff and not serving past the
 * bound, a write that does not show up in time → not serving until the next listing. The real API server is in
 * test/e2e/registry-kubernetes-store*.test.ts.
 */
import { describe, expect, test } from 'vitest';
import type { Listing, StoreApiError, StoredObject, StoredSecret, WatchHandle, WatchHandlers } from '../../src/registry/store/kubernetes/api.js';
import { StoreCache, type CacheApi } from '../../src/registry/store/kubernetes/cache.js';

function obj(id: string, rv: number, doc: Record<string, unknown> = {}): StoredObject {
  return { name: `ext-${id}`, resourceVersion: String(rv), labels: {}, annotations: {}, spec: { id, revision: 1, document: { id, ...doc } } };
}

class FakeApi implements CacheApi {
  objects: StoredObject[] = [];
  rv = 10;
  lists = 0;
  failList = false;
  failWatch = false;
  watchFrom: string[] = [];
  watchers: WatchHandlers<StoredObject>[] = [];
  async listObjectsAt(): Promise<Listing<StoredObject>> {
    this.lists++;
    if (this.failList) throw new Error('connection refused');
    return { items: [...this.objects], resourceVersion: String(this.rv) };
  }
  async listSecretsAt(): Promise<Listing<StoredSecret>> {
    return { items: [], resourceVersion: String(this.rv) };
  }
  async watchObjects(_s: string, rv: string, h: WatchHandlers<StoredObject>): Promise<WatchHandle> {
    this.watchFrom.push(rv);
    if (this.failWatch) {
      h.ended({ message: 'connection refused' } as StoreApiError, false);
      return { stop: () => undefined };
    }
    this.watchers.push(h);
    h.connected();
    return { stop: () => this.#end(h, undefined, false) };
  }
  async watchSecrets(_s: string, _rv: string, h: WatchHandlers<StoredSecret>): Promise<WatchHandle> {
    h.connected();
    return { stop: () => h.ended(undefined, false) };
  }
  #end(h: WatchHandlers<StoredObject>, err: StoreApiError | undefined, gone: boolean): void {
    const i = this.watchers.indexOf(h);
    if (i < 0) return;
    this.watchers.splice(i, 1);
    h.ended(err, gone);
  }
  /** Ends every open object watch. */
  end(err?: StoreApiError, gone = false): void {
    for (const h of [...this.watchers]) this.#end(h, err, gone);
  }
  write(o: StoredObject, type: 'ADDED' | 'MODIFIED' | 'DELETED' = 'ADDED'): void {
    this.objects = this.objects.filter((x) => x.name !== o.name);
    if (type !== 'DELETED') this.objects.push(o);
    this.rv = Math.max(this.rv, Number(o.resourceVersion));
    for (const h of this.watchers) h.event({ type, item: o });
  }
}

const until = async (fn: () => boolean, ms = 2_000): Promise<void> => {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const options = { objectSelector: 'o', secretSelector: 's', minBackoffMs: 5, maxBackoffMs: 20 };

describe('StoreCache', () => {
  test('lists, then applies watch events from the listing resourceVersion; indexes answer the filters', async () => {
    const api = new FakeApi();
    api.objects = [obj('a', 5, { product: 'mlflow', services: [{ id: 's', resource: 's3', category: 'model-store' }] }), obj('b', 6, { product: 'kserve', zone: 'eu' })];
    const cache = new StoreCache(api, options);
    await cache.start();
    expect(api.watchFrom).toEqual(['10']);
    expect(cache.serving()).toBe(true);
    expect(cache.health()).toMatchObject({ ready: true, objects: 2, lists: 2 });
    expect(cache.object('a')?.resourceVersion).toBe('5');
    expect(cache.objects({ product: 'mlflow' }).map((o) => o.spec.id)).toEqual(['a']);
    expect(cache.objects({ service_category: 'model-store' }).map((o) => o.spec.id)).toEqual(['a']);
    expect(cache.objects({ zone: 'eu', product: 'kserve' }).map((o) => o.spec.id)).toEqual(['b']);
    expect(cache.objects({ product: 'none' })).toEqual([]);
    // A change moves the document between index entries.
    api.write(obj('a', 11, { product: 'other' }), 'MODIFIED');
    expect(cache.objects({ product: 'mlflow' })).toEqual([]);
    expect(cache.objects({ service_resource: 's3' })).toEqual([]);
    expect(cache.objects({ product: 'other' }).map((o) => o.spec.id)).toEqual(['a']);
    // An event older than what is held changes nothing; a delete removes it from every index.
    api.write(obj('b', 3, { product: 'stale' }), 'MODIFIED');
    expect(cache.object('b')?.spec.document).toMatchObject({ product: 'kserve' });
    api.write(obj('b', 12), 'DELETED');
    expect(cache.object('b')).toBeUndefined();
    expect(cache.objects({ zone: 'eu' })).toEqual([]);
    expect(cache.size).toBe(1);
    cache.stop();
  });

  test('a write is waited for until its resourceVersion arrives (a bookmark counts)', async () => {
    const api = new FakeApi();
    const cache = new StoreCache(api, options);
    await cache.start();
    let done = false;
    const wait = cache.waitForVersion('20').then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    api.write(obj('x', 20));
    await wait;
    expect(cache.object('x')).toBeDefined();
    const gone = cache.waitForGone('ext-x', '20');
    for (const h of api.watchers) h.event({ type: 'BOOKMARK', resourceVersion: '25' });
    api.write(obj('x', 26), 'DELETED');
    await gone;
    expect(cache.object('x')).toBeUndefined();
    expect(cache.serving()).toBe(true);
    cache.stop();
  });

  test('410 Gone: lists again and replaces the contents (objects deleted meanwhile leave the cache)', async () => {
    const api = new FakeApi();
    api.objects = [obj('a', 5), obj('b', 6)];
    const cache = new StoreCache(api, options);
    await cache.start();
    api.objects = [obj('b', 30)];
    api.rv = 31;
    api.end({ message: 'too old resource version' } as StoreApiError, true);
    await until(() => api.lists === 2 && api.watchers.length === 1);
    expect(api.watchFrom).toEqual(['10', '31']);
    expect(cache.object('a')).toBeUndefined();
    expect(cache.object('b')?.resourceVersion).toBe('30');
    expect(cache.health()).toMatchObject({ ready: true, lists: 3 });
    cache.stop();
  });

  test('a watch that ends normally resumes from the last resourceVersion, without a listing', async () => {
    const api = new FakeApi();
    const cache = new StoreCache(api, options);
    await cache.start();
    api.write(obj('a', 15));
    api.end();
    await until(() => api.watchers.length === 1);
    expect(api.watchFrom).toEqual(['10', '15']);
    expect(api.lists).toBe(1);
    cache.stop();
  });

  test('a broken watch retries with backoff; past the bound it is not ready, ready again once it reconnects', async () => {
    const api = new FakeApi();
    const cache = new StoreCache(api, { ...options, staleAfterMs: 100 });
    await cache.start();
    api.failWatch = true;
    api.end({ message: 'connection refused' } as StoreApiError);
    expect(cache.serving()).toBe(true);
    await until(() => !cache.serving(), 2_000);
    expect(cache.health()).toMatchObject({ ready: false, reason: expect.stringMatching(/watch of objects has been broken for \d+s: connection refused/) });
    const attempts = api.watchFrom.length;
    await new Promise((r) => setTimeout(r, 100));
    // Bounded backoff (≤ 20 ms here): it keeps trying, not spinning (≤ one attempt per 5 ms).
    expect(api.watchFrom.length).toBeGreaterThan(attempts);
    expect(api.watchFrom.length - attempts).toBeLessThan(25);
    api.failWatch = false;
    await until(() => cache.serving());
    expect(cache.health().ready).toBe(true);
    cache.stop();
  });

  test('a write that does not show up in time: not serving until the next listing has it', async () => {
    const api = new FakeApi();
    const cache = new StoreCache(api, { ...options, writeWaitMs: 30 });
    await cache.start();
    api.objects.push(obj('lost', 40));
    api.rv = 40;
    await cache.waitForVersion('40');
    // The listing forced by the timeout brings it in, and serving resumes.
    await until(() => cache.serving());
    expect(api.lists).toBe(2);
    expect(cache.object('lost')).toBeDefined();
    cache.stop();
  });

  test('a first listing or watch that fails rejects start() (e.g. RBAC without watch)', async () => {
    const api = new FakeApi();
    api.failList = true;
    await expect(new StoreCache(api, options).start()).rejects.toThrow(/connection refused/);
    const noWatch = new FakeApi();
    noWatch.failWatch = true;
    await expect(new StoreCache(noWatch, options).start()).rejects.toMatchObject({ message: 'connection refused' });
  });
});
