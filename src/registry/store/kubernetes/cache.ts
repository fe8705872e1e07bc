/**
 * The watch-fed cache of the Kubernetes store (./store.ts), one per replica: informer-style, it lists the
 * FusemlExtension objects and their credentials Secrets once, then watches both from the listing's
 * resourceVersion, so reads and listings are served from memory instead of the API server. See
 * docs/adr/0002-kubernetes-store.md ("Cache") and docs/registry.md ("Kubernetes store").
 *
 * - One copy of each object: the masked document as the API server sent it (no credential value in clear: the
 *   Secrets hold sealed values, decrypted per request by the store, never kept). Indexes by id, product, zone,
 *   service resource and service category point at object names.
 * - A watch that ends is resumed from the last resourceVersion seen (bookmarks included); `410 Gone` (the
 *   resourceVersion was compacted, or the API server restarted) lists again and replaces the contents; errors
 *   retry with a bounded exponential backoff.
 * - `serving()` is false — the store then reads from the API server directly — while a watch has been broken
 *   for longer than `staleAfterMs`, before the first listing, and after a write of this replica did not show
 *   up within `writeWaitMs` (until the next listing). `health()` says the same for /healthz.
 * - Read-your-writes: a writer waits (`waitForVersion` / `waitForGone`) until the watch has delivered its write.
 *   resourceVersions are compared as numbers: the API server documents them as opaque, but on etcd they are
 *   its revisions, one counter for every object kind (an assumption stated in the ADR).
 */
import type { Listing, StoreApiError, StoredObject, StoredSecret, WatchEvent, WatchHandle, WatchHandlers } from './api.js';
import type { ExtensionRecord } from '../../../core/records.js';
import type { StoreFilter } from '../types.js';

/** What the cache needs from ./api.ts (a fake in unit tests). */
export interface CacheApi {
  listObjectsAt(labelSelector: string): Promise<Listing<StoredObject>>;
  listSecretsAt(labelSelector: string): Promise<Listing<StoredSecret>>;
  watchObjects(labelSelector: string, resourceVersion: string, handlers: WatchHandlers<StoredObject>): Promise<WatchHandle>;
  watchSecrets(labelSelector: string, resourceVersion: string, handlers: WatchHandlers<StoredSecret>): Promise<WatchHandle>;
}

export interface CacheOptions {
  /** Label selectors of the extension objects and of the credentials Secrets. */
  objectSelector: string;
  secretSelector: string;
  /** A watch broken for longer than this makes the replica not ready (reads go to the API server). */
  staleAfterMs?: number;
  /** How long a writer waits for its write in the cache before the cache is set aside until the next listing. */
  writeWaitMs?: number;
  /** Backoff between failed attempts: from minBackoffMs, doubling, at most maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export const DEFAULT_STALE_AFTER_MS = 10_000;
export const DEFAULT_WRITE_WAIT_MS = 5_000;

export interface CacheHealth {
  ready: boolean;
  /** Why not ready (no secret, no document: for the /healthz body and the log). */
  reason?: string;
  objects: number;
  /** Listings done since start (1 = the initial one; more after 410 Gone or a lagging write). */
  lists: number;
}

function rvNumber(rv: string): number {
  const n = Number(rv);
  return Number.isFinite(n) ? n : 0;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

interface Named {
  name: string;
  resourceVersion: string;
}

/** One list-then-watch loop over one kind. */
class Stream<T extends Named> {
  readonly items = new Map<string, T>();
  /** The resourceVersion this stream has caught up to. */
  rv = 0;
  #rvText = '';
  synced = false;
  lists = 0;
  /** Since when the watch is not running (undefined: it is). */
  brokenSince: number | undefined = Date.now();
  lastError: string | undefined;
  #needList = true;
  #handle: WatchHandle | undefined;
  #stopped = false;
  #firstSync: { resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(
    readonly kind: string,
    private readonly list: () => Promise<Listing<T>>,
    private readonly watch: (rv: string, h: WatchHandlers<T>) => Promise<WatchHandle>,
    private readonly onSet: (item: T, before: T | undefined) => void,
    private readonly onDelete: (item: T) => void,
    private readonly onProgress: () => void,
    private readonly backoff: { min: number; max: number },
  ) {}

  /** Runs the loop; resolves once listed and watching (rejects when the first listing or watch fails). */
  start(): Promise<void> {
    const first = new Promise<void>((resolve, reject) => (this.#firstSync = { resolve, reject }));
    void this.#run();
    return first;
  }

  stop(): void {
    this.#stopped = true;
    this.#handle?.stop();
  }

  /** Lists again at the next turn (the current watch is closed). */
  relist(): void {
    this.#needList = true;
    this.#handle?.stop();
  }

  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(item.name);
      const before = this.items.get(item.name);
      this.items.set(item.name, item);
      this.onSet(item, before);
    }
    for (const [name, item] of this.items) {
      if (!seen.has(name)) {
        this.items.delete(name);
        this.onDelete(item);
      }
    }
  }

  #apply(e: WatchEvent<T>): void {
    if (e.type === 'BOOKMARK') {
      this.#advance(e.resourceVersion);
      return;
    }
    const item = e.item;
    const before = this.items.get(item.name);
    // An event older than what is held (possible after a re-list raced with the watch) changes nothing.
    if (!before || rvNumber(item.resourceVersion) >= rvNumber(before.resourceVersion)) {
      if (e.type === 'DELETED') {
        if (before) {
          this.items.delete(item.name);
          this.onDelete(before);
        }
      } else {
        this.items.set(item.name, item);
        this.onSet(item, before);
      }
    }
    this.#advance(item.resourceVersion);
  }

  #advance(rv: string): void {
    const n = rvNumber(rv);
    if (n > this.rv) {
      this.rv = n;
      this.#rvText = rv;
    }
    this.onProgress();
  }

  async #run(): Promise<void> {
    let delay = this.backoff.min;
    while (!this.#stopped) {
      try {
        if (this.#needList) {
          const listing = await this.list();
          if (this.#stopped) return;
          this.#replace(listing.items);
          this.rv = rvNumber(listing.resourceVersion);
          this.#rvText = listing.resourceVersion;
          this.#needList = false;
          this.synced = true;
          this.lists++;
          this.onProgress();
        }
        const connectedAt = await this.#watchOnce();
        // A watch that ran for a while resets the backoff; one that ends at once keeps growing it.
        if (connectedAt !== undefined && Date.now() - connectedAt > 5_000) delay = this.backoff.min;
      } catch (e) {
        this.brokenSince ??= Date.now();
        this.lastError = (e as Error)?.message ?? String(e);
        if (this.#firstSync) {
          this.#firstSync.reject(e);
          this.#firstSync = undefined;
          this.#stopped = true;
          return;
        }
        if (this.#stopped) return;
        await sleep(delay);
        delay = Math.min(delay * 2, this.backoff.max);
      }
    }
  }

  /** One watch; resolves with when it connected (undefined: never) once it ended normally, rejects on error. */
  #watchOnce(): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      let connectedAt: number | undefined;
      this.watch(this.#rvText, {
        event: (e) => this.#apply(e),
        connected: () => {
          connectedAt = Date.now();
          this.brokenSince = undefined;
          this.lastError = undefined;
          this.onProgress();
          this.#firstSync?.resolve();
          this.#firstSync = undefined;
        },
        ended: (err: StoreApiError | undefined, gone: boolean) => {
          this.#handle = undefined;
          this.brokenSince ??= Date.now();
          if (gone) {
            // Too old to resume: list again (at once, no backoff).
            this.#needList = true;
            resolve(connectedAt);
          } else if (err) reject(err);
          else resolve(connectedAt);
        },
      }).then(
        (h) => {
          if (this.#stopped) h.stop();
          else this.#handle = h;
        },
        reject,
      );
    });
  }
}

interface Waiter {
  done: () => boolean;
  resolve: (ok: boolean) => void;
}

/** The keys a document is indexed under. */
function keysOf(o: StoredObject): { id?: string; product?: string; zone?: string; resources: string[]; categories: string[] } {
  const doc = o.spec.document as ExtensionRecord | undefined;
  const services = Array.isArray(doc?.services) ? doc.services : [];
  return {
    id: typeof o.spec.id === 'string' ? o.spec.id : undefined,
    product: typeof doc?.product === 'string' ? doc.product : undefined,
    zone: typeof doc?.zone === 'string' ? doc.zone : undefined,
    resources: services.flatMap((s) => (typeof s.resource === 'string' ? [s.resource] : [])),
    categories: services.flatMap((s) => (typeof s.category === 'string' ? [s.category] : [])),
  };
}

class Index {
  readonly #map = new Map<string, Set<string>>();
  add(key: string | undefined, name: string): void {
    if (key === undefined) return;
    let set = this.#map.get(key);
    if (!set) this.#map.set(key, (set = new Set()));
    set.add(name);
  }
  remove(key: string | undefined, name: string): void {
    if (key === undefined) return;
    const set = this.#map.get(key);
    if (!set) return;
    set.delete(name);
    if (set.size === 0) this.#map.delete(key);
  }
  get(key: string): ReadonlySet<string> {
    return this.#map.get(key) ?? new Set();
  }
}

export class StoreCache {
  readonly #objects: Stream<StoredObject>;
  readonly #secrets: Stream<StoredSecret>;
  readonly #byId = new Map<string, string>();
  readonly #byProduct = new Index();
  readonly #byZone = new Index();
  readonly #byResource = new Index();
  readonly #byCategory = new Index();
  readonly #staleAfterMs: number;
  readonly #writeWaitMs: number;
  #waiters: Waiter[] = [];
  /** Set when a write did not show up in time: not serving until the next listing of objects. */
  #laggingSinceLists: number | undefined;

  constructor(api: CacheApi, options: CacheOptions) {
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.#writeWaitMs = options.writeWaitMs ?? DEFAULT_WRITE_WAIT_MS;
    const backoff = { min: options.minBackoffMs ?? 200, max: options.maxBackoffMs ?? 5_000 };
    const progress = () => this.#wake();
    this.#objects = new Stream<StoredObject>(
      'objects',
      () => api.listObjectsAt(options.objectSelector),
      (rv, h) => api.watchObjects(options.objectSelector, rv, h),
      (o, before) => {
        if (before) this.#unindex(before);
        this.#index(o);
      },
      (o) => this.#unindex(o),
      progress,
      backoff,
    );
    this.#secrets = new Stream<StoredSecret>(
      'secrets',
      () => api.listSecretsAt(options.secretSelector),
      (rv, h) => api.watchSecrets(options.secretSelector, rv, h),
      () => undefined,
      () => undefined,
      progress,
      backoff,
    );
  }

  /** Lists both kinds and starts the watches; rejects when a first listing or watch fails (e.g. no RBAC watch). */
  async start(): Promise<void> {
    try {
      await Promise.all([this.#objects.start(), this.#secrets.start()]);
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  stop(): void {
    this.#objects.stop();
    this.#secrets.stop();
    for (const w of this.#waiters) w.resolve(false);
    this.#waiters = [];
  }

  #index(o: StoredObject): void {
    const k = keysOf(o);
    if (k.id !== undefined) this.#byId.set(k.id, o.name);
    this.#byProduct.add(k.product, o.name);
    this.#byZone.add(k.zone, o.name);
    for (const r of k.resources) this.#byResource.add(r, o.name);
    for (const c of k.categories) this.#byCategory.add(c, o.name);
  }

  #unindex(o: StoredObject): void {
    const k = keysOf(o);
    if (k.id !== undefined && this.#byId.get(k.id) === o.name) this.#byId.delete(k.id);
    this.#byProduct.remove(k.product, o.name);
    this.#byZone.remove(k.zone, o.name);
    for (const r of k.resources) this.#byResource.remove(r, o.name);
    for (const c of k.categories) this.#byCategory.remove(c, o.name);
  }

  #wake(): void {
    if (this.#laggingSinceLists !== undefined && this.#objects.lists > this.#laggingSinceLists) this.#laggingSinceLists = undefined;
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.done()) return true;
      w.resolve(true);
      return false;
    });
  }

  /** Why the cache must not answer now, or undefined when it may. */
  #notServing(): string | undefined {
    const now = Date.now();
    for (const s of [this.#objects, this.#secrets]) {
      if (!s.synced) return `the ${s.kind} cache has not been listed yet`;
      if (s.brokenSince !== undefined && now - s.brokenSince > this.#staleAfterMs) {
        return `the watch of ${s.kind} has been broken for ${Math.round((now - s.brokenSince) / 1000)}s${s.lastError ? `: ${s.lastError}` : ''}`;
      }
    }
    if (this.#laggingSinceLists !== undefined) return 'a write of this replica is not in the cache yet (listing again)';
    return undefined;
  }

  /** True when reads may be served from the cache (else the store asks the API server). */
  serving(): boolean {
    return this.#notServing() === undefined;
  }

  /** For /healthz: cache state only, no request. */
  health(): CacheHealth {
    const reason = this.#notServing();
    return { ready: reason === undefined, ...(reason ? { reason } : {}), objects: this.#objects.items.size, lists: this.#objects.lists + this.#secrets.lists };
  }

  get size(): number {
    return this.#objects.items.size;
  }

  /** The object of extension `id` (checked against spec.id). */
  object(id: string): StoredObject | undefined {
    const name = this.#byId.get(id);
    const o = name === undefined ? undefined : this.#objects.items.get(name);
    return o && o.spec.id === id ? o : undefined;
  }

  /** The object called `name`, whichever id it holds. */
  objectNamed(name: string): StoredObject | undefined {
    return this.#objects.items.get(name);
  }

  secret(name: string): StoredSecret | undefined {
    return this.#secrets.items.get(name);
  }

  /**
   * Candidates for `filter`: narrowed by the most selective index among the filters given; the caller checks
   * every filter on the documents (the service filters must match one service together).
   */
  objects(filter: StoreFilter): StoredObject[] {
    if (filter.extension_id !== undefined) {
      const o = this.object(filter.extension_id);
      return o ? [o] : [];
    }
    const sets: ReadonlySet<string>[] = [];
    if (filter.product !== undefined) sets.push(this.#byProduct.get(filter.product));
    if (filter.zone !== undefined) sets.push(this.#byZone.get(filter.zone));
    if (filter.service_resource !== undefined) sets.push(this.#byResource.get(filter.service_resource));
    if (filter.service_category !== undefined) sets.push(this.#byCategory.get(filter.service_category));
    if (sets.length === 0) return [...this.#objects.items.values()];
    sets.sort((a, b) => a.size - b.size);
    const out: StoredObject[] = [];
    for (const name of sets[0] as ReadonlySet<string>) {
      const o = this.#objects.items.get(name);
      if (o) out.push(o);
    }
    return out;
  }

  #wait(done: () => boolean): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = { done, resolve };
      this.#waiters.push(w);
      setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        resolve(false);
      }, this.#writeWaitMs).unref();
    });
  }

  /** A write that did not show up in time: stop serving until objects are listed again. */
  #lagging(): void {
    this.#laggingSinceLists ??= this.#objects.lists;
    this.#objects.relist();
  }

  /**
   * Waits (≤ writeWaitMs) until the objects watch has delivered resourceVersion `rv` (a write's). When it does
   * not in time the cache stops serving until its next listing, so reads still see the write.
   */
  async waitForVersion(rv: string): Promise<void> {
    const n = rvNumber(rv);
    if (!(await this.#wait(() => this.#objects.rv >= n))) this.#lagging();
  }

  /** Waits (≤ writeWaitMs) until object `name` at `rv` (deleted by this replica) has left the cache. */
  async waitForGone(name: string, rv: string): Promise<void> {
    const n = rvNumber(rv);
    const gone = () => {
      const o = this.#objects.items.get(name);
      return !o || rvNumber(o.resourceVersion) > n;
    };
    if (!(await this.#wait(gone))) this.#lagging();
  }
}
