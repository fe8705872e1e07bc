/**
 * The SQLite store's group commit (docs/registry.md, "Write path") and the registry's read cache, on a real
 * SQLite file: writes queued together share one commit, each succeeds or fails alone, in order, and settles
 * only once committed; the read cache never serves a representation older than an acknowledged write, also
 * when another process (another store object on the same file) wrote.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, onTestFinished, test, vi } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { PreconditionFailedError } from '../../src/registry/errors.js';
import { ReadCache } from '../../src/registry/read-cache.js';
import { Registry } from '../../src/registry/registry.js';
import { GATHER_MS, SqliteStore } from '../../src/registry/store/sqlite.js';

let dir: string;
let path: string;
const key = randomBytes(32);
const open: SqliteStore[] = [];
function store(sync?: (inline: boolean) => Promise<void>): SqliteStore {
  const s = new SqliteStore({ path, key, ...(sync ? { sync } : {}) });
  open.push(s);
  return s;
}
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-group-'));
  path = join(dir, 'r.db');
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

const rec = (id: string, revision = 1, value = 'v'): ExtensionRecord => ({
  id,
  product: 'p',
  revision,
  services: [{ id: 's', resource: 'r', credentials: [{ id: 'c', scope: 'global', configuration: { K: value } }] }],
});

/** What another connection (as another process would) reads from the file: id → revision. */
function onDisk(): Map<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    return new Map((db.prepare('SELECT id, revision FROM extensions').all() as { id: string; revision: number }[]).map((r) => [r.id, r.revision]));
  } finally {
    db.close();
  }
}

describe('group commit', () => {
  test('writes queued together share one commit; a failing write fails alone, the others are committed', async () => {
    const s = store();
    await s.put(rec('taken'), null);
    const before = { ...s.groupStats };
    const results = await Promise.allSettled([
      s.put(rec('a'), null),
      s.put(rec('taken'), null), // CONFLICT: exists
      s.put(rec('b'), null),
      s.put(rec('missing', 2), 1), // NOT_FOUND
      s.put(rec('taken', 3), 2), // stale revision: 412
      s.delete('nobody'), // NOT_FOUND
      s.put(rec('c'), null),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/already exists/) });
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'NOT_FOUND' });
    expect((results[4] as PromiseRejectedResult).reason).toBeInstanceOf(PreconditionFailedError);
    expect((results[5] as PromiseRejectedResult).reason).toMatchObject({ code: 'NOT_FOUND' });
    // One group, one commit, for all seven.
    expect(s.groupStats.groups - before.groups).toBe(1);
    expect(s.groupStats.writes - before.writes).toBe(7);
    // Settled means committed: another connection sees exactly the successful writes.
    expect(onDisk()).toEqual(new Map([['taken', 1], ['a', 1], ['b', 1], ['c', 1]]));
    // The failed write left nothing half-done: its services index rows are those of the stored record only.
    expect((await s.list({ service_resource: 'r' })).map((r) => r.id)).toEqual(['a', 'b', 'c', 'taken']);
  });

  test('writes in one group run in the order they were queued', async () => {
    const s = store();
    const results = await Promise.allSettled([
      s.put(rec('x', 1, 'first'), null),
      s.put(rec('x', 2, 'second'), 1),
      s.delete('x', 2),
      s.put(rec('x', 1, 'third'), null),
      s.put(rec('x', 2, 'fourth'), 1),
    ]);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(s.groupStats.groups).toBe(1);
    const x = await s.get('x', { reveal: true });
    expect(x?.revision).toBe(2);
    expect(x?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ K: 'fourth' });
  });

  test('compare-and-swap writes of one revision in one group: exactly one winner', async () => {
    const s = store();
    await s.put(rec('cas'), null);
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => s.put(rec('cas', 2, `writer-${i}`), 1)));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toEqual([0]);
    for (const r of results.slice(1)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PreconditionFailedError);
    expect((await s.get('cas', { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ K: 'writer-0' });
  });

  test('a group whose commit cannot happen fails every write in it, and nothing of it is stored', async () => {
    const s = store();
    await s.put(rec('kept'), null);
    // Another process re-keys the database (as rotate-key would): this process must not write any more.
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = 'other' WHERE key = 'key_check'").run();
    db.close();
    const results = await Promise.allSettled([s.put(rec('a'), null), s.put(rec('b'), null), s.delete('kept')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/re-encrypted/) });
    expect(onDisk()).toEqual(new Map([['kept', 1]]));
  });

  test('close() commits what is queued before closing', async () => {
    const s = store();
    const pending = s.put(rec('late'), null);
    await s.close();
    await pending;
    expect(onDisk()).toEqual(new Map([['late', 1]]));
    await expect(s.put(rec('after'), null)).rejects.toThrow(/closed/);
  });

  test('through the registry: concurrent creates, updates and a duplicate, grouped', async () => {
    const s = store();
    const registry = new Registry(s);
    await registry.createExtension(rec('dup'));
    const results = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) => registry.createExtension(rec(`e${i}`))),
      registry.createExtension(rec('dup')),
      registry.updateExtension('dup', { description: 'changed' }),
    ]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['CONFLICT']);
    expect(s.groupStats.largest).toBeGreaterThanOrEqual(10);
    expect(onDisk().size).toBe(11);
    expect((await registry.getExtension('dup')).description).toBe('changed');
  });
});

/** A sync the test releases by hand: what waits for durability waits for `release()`. */
function heldSync(): { sync: () => Promise<void>; calls: () => number; release: (err?: Error) => void } {
  let calls = 0;
  let pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    sync: () =>
      new Promise<void>((resolve, reject) => {
        calls++;
        pending.push({ resolve, reject });
      }),
    calls: () => calls,
    release: (err) => {
      const now = pending;
      pending = [];
      for (const p of now) {
        if (err) p.reject(err);
        else p.resolve();
      }
    },
  };
}
const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('durability: the WAL sync off the event loop', () => {
  test('a write is answered only after the sync that followed its commit; reads wait for it too', async () => {
    const held = heldSync();
    const s = store(held.sync);
    const write = s.put(rec('a'), null);
    const refused = s.put(rec('missing', 2), 1); // NOT_FOUND: answered after the sync as well
    await new Promise((r) => setImmediate(r)); // the group commits
    expect(onDisk().get('a')).toBe(1); // committed (in the WAL)...
    expect(held.calls()).toBe(1);
    expect(await settled(write)).toBe(false); // ...but not answered before it is synced
    expect(await settled(refused)).toBe(false);
    const read = s.get('a');
    expect(await settled(read)).toBe(false); // no reader sees what is not yet durable
    held.release();
    await expect(write).resolves.toMatchObject({ id: 'a' });
    await expect(refused).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(read).resolves.toMatchObject({ id: 'a', revision: 1 });
    expect(s.groupStats.syncs).toBe(1);
  });

  test('one sync at a time: writes queued while it runs commit as one group when it ends, covered by the next sync', async () => {
    const held = heldSync();
    const s = store(held.sync);
    const first = s.put(rec('a'), null);
    await new Promise((r) => setImmediate(r));
    const second = s.put(rec('b'), null);
    const third = s.put(rec('c'), null);
    await new Promise((r) => setImmediate(r));
    expect(onDisk().has('a')).toBe(true);
    expect(onDisk().has('b') || onDisk().has('c')).toBe(false); // queued, not committed, while a's sync runs
    expect(held.calls()).toBe(1);
    held.release(); // a's sync
    await expect(first).resolves.toBeDefined();
    expect(await settled(second)).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(onDisk().has('b') && onDisk().has('c')).toBe(true); // one commit...
    expect(held.calls()).toBe(2); // ...and one sync for both
    expect(await settled(third)).toBe(false);
    held.release();
    await expect(Promise.all([second, third])).resolves.toHaveLength(2);
    expect(s.groupStats).toMatchObject({ groups: 2, writes: 3, syncs: 2 });
  });

  test('after a sync that answered several writers, the next group is held until as many writes are queued', async () => {
    // The hold's time limit (GATHER_MS) must not run out while the test looks: setTimeout is the test's.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const held = heldSync();
    const s = store(held.sync);
    const firsts = ['a', 'b', 'c'].map((id) => s.put(rec(id), null));
    await new Promise((r) => setImmediate(r)); // one group of three; its sync is held
    held.release();
    await Promise.all(firsts);
    // The three writers come back one at a time: their writes wait for one another...
    const d = s.put(rec('d'), null);
    await new Promise((r) => setImmediate(r));
    const e = s.put(rec('e'), null);
    await new Promise((r) => setImmediate(r));
    expect(onDisk().has('d') || onDisk().has('e')).toBe(false);
    expect(held.calls()).toBe(1);
    const f = s.put(rec('f'), null);
    await new Promise((r) => setImmediate(r));
    // ...and commit as one group, with one sync, once the third is queued.
    expect(['d', 'e', 'f'].every((id) => onDisk().has(id))).toBe(true);
    expect(held.calls()).toBe(2);
    held.release();
    await expect(Promise.all([d, e, f])).resolves.toHaveLength(3);
    expect(s.groupStats).toMatchObject({ groups: 2, writes: 6, syncs: 2 });
  });

  test('a held group waits GATHER_MS at most for writers that do not come back; a lone writer is never held', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const held = heldSync();
      const s = store(held.sync);
      const firsts = [s.put(rec('a'), null), s.put(rec('b'), null)];
      await new Promise((r) => setImmediate(r));
      held.release();
      await Promise.all(firsts);
      const c = s.put(rec('c'), null); // one of the two writers comes back
      expect(await settled(c)).toBe(false);
      expect(onDisk().has('c')).toBe(false);
      vi.advanceTimersByTime(GATHER_MS);
      await new Promise((r) => setImmediate(r));
      expect(onDisk().has('c')).toBe(true); // committed when the wait ran out
      held.release();
      await c;
      // c's sync answered one write: the next write commits at the end of its turn, without waiting.
      const d = s.put(rec('d'), null);
      await new Promise((r) => setImmediate(r));
      expect(onDisk().has('d')).toBe(true);
      held.release();
      await d;
    } finally {
      vi.useRealTimers();
    }
  });

  test('a write queued while a failing sync runs is refused without being committed', async () => {
    const held = heldSync();
    const s = store(held.sync);
    const first = s.put(rec('a'), null);
    await new Promise((r) => setImmediate(r));
    const queued = s.put(rec('b'), null);
    held.release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(first).rejects.toMatchObject({ code: 'REGISTRY' });
    await expect(queued).rejects.toMatchObject({ code: 'REGISTRY', message: expect.stringMatching(/could not be synced/) });
    expect(onDisk().has('b')).toBe(false);
  });

  test('a sync that fails fails the writes waiting for it and refuses every later write', async () => {
    const held = heldSync();
    const s = store(held.sync);
    const write = s.put(rec('a'), null);
    await new Promise((r) => setImmediate(r));
    held.release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(write).rejects.toMatchObject({ code: 'REGISTRY', message: expect.stringMatching(/could not be synced to disk \(EIO: i\/o error, fdatasync\): writes are refused until fuseml-registry is restarted/) });
    await expect(s.put(rec('b'), null)).rejects.toMatchObject({ code: 'REGISTRY', message: expect.stringMatching(/could not be synced/) });
    expect(onDisk().has('b')).toBe(false);
  });

  test('a group syncs on the event loop when every request in flight waits for it, on the thread pool otherwise', async () => {
    const flags: boolean[] = [];
    const s = store((inline) => {
      flags.push(inline);
      return Promise.resolve();
    });
    // No load observed (a store used without the server): the thread pool.
    await Promise.all([s.put(rec('a'), null), s.put(rec('b'), null)]);
    let inFlight = 3;
    s.observeLoad(() => inFlight);
    // Three requests in flight, all three writes of this group: inline.
    await Promise.all([s.put(rec('c'), null), s.put(rec('d'), null), s.put(rec('e'), null)]);
    // Three in flight, two of them writes of this group (the third, e.g. a read, could run meanwhile): the pool.
    await Promise.all([s.put(rec('f'), null), s.put(rec('g'), null)]);
    inFlight = 1;
    await s.put(rec('h'), null);
    expect(flags).toEqual([false, true, false, true]);
    expect(s.groupStats).toMatchObject({ syncs: 4, inlineSyncs: 2 });
  });

  test('the default sync on the event loop: fdatasync of the WAL file, the same answers', async () => {
    const s = store();
    s.observeLoad(() => 0);
    const results = await Promise.allSettled([s.put(rec('a'), null), s.put(rec('a'), null), s.put(rec('b'), null)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(s.groupStats.inlineSyncs).toBe(s.groupStats.syncs);
    expect([...onDisk().keys()].sort()).toEqual(['a', 'b']);
  });

  test('the default sync: fdatasync of the WAL file, at most one per group', async () => {
    const s = store();
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.put(rec(`e${i}`), null)));
    await s.put(rec('last'), null);
    expect(s.groupStats.syncs).toBeGreaterThanOrEqual(1);
    expect(s.groupStats.syncs).toBeLessThanOrEqual(s.groupStats.groups);
    expect(onDisk().size).toBe(21);
  });
});

describe('read cache', () => {
  test('filled by reads, dropped by writes: a read after a write returns the new revision', async () => {
    const registry = new Registry(store());
    const cache = registry.readCache as ReadCache;
    expect(cache).toBeDefined();
    await registry.createExtension(rec('r'));
    const g = cache.begin();
    const first = await registry.getExtension('r');
    cache.put('r', first.revision ?? 1, 'json', JSON.stringify(first), g);
    expect(cache.get('r', 'json')?.revision).toBe(1);
    await registry.updateExtension('r', { description: 'new' });
    expect(cache.get('r', 'json')).toBeUndefined();
    await registry.deleteExtension('r');
    expect(cache.size).toBe(0);
  });

  test('a read that raced a write cannot put back what it read before the write', async () => {
    const registry = new Registry(store());
    const cache = registry.readCache as ReadCache;
    await registry.createExtension(rec('race'));
    const g = cache.begin();
    const stale = await registry.getExtension('race');
    await registry.updateExtension('race', { description: 'after' }); // committed (and invalidated) meanwhile
    cache.put('race', stale.revision ?? 1, 'json', JSON.stringify(stale), g);
    expect(cache.get('race', 'json')).toBeUndefined();
  });

  test('a write by another process (another connection) clears the cache', async () => {
    const mine = new Registry(store());
    const theirs = new Registry(store());
    await mine.createExtension(rec('shared'));
    const cache = mine.readCache as ReadCache;
    cache.put('shared', 1, 'json', '{}', cache.begin());
    expect(cache.get('shared', 'json')).toBeDefined();
    await theirs.updateExtension('shared', { description: 'by the other process' });
    expect(cache.get('shared', 'json')).toBeUndefined();
    expect((await mine.getExtension('shared')).revision).toBe(2);
  });

  test('bounded: the oldest entries go first; clear() drops all', () => {
    const cache = new ReadCache(() => 0, 10_000);
    for (let i = 0; i < 20; i++) cache.put(`e${i}`, 1, 'json', 'x'.repeat(500), cache.begin()); // 1000 bytes each
    expect(cache.size).toBeLessThanOrEqual(10);
    expect(cache.get('e19', 'json')).toBeDefined();
    expect(cache.get('e0', 'json')).toBeUndefined();
    cache.invalidate('e19');
    expect(cache.get('e19', 'json')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
