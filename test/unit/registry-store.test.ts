/** SqliteStore on a temp file: migrations, encryption at rest, compare-and-swap, atomic writes, key handling. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FusemlError } from '../../src/core/errors.js';
import { loadOrCreateKey } from '../../src/registry/crypto.js';
import { PreconditionFailedError } from '../../src/registry/errors.js';
import { withoutNestedRevisions, type ExtensionRecord } from '../../src/core/records.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';
import { inPreviousForm, legacyTimes, sampleRecord, sampleStatusTimes, statusTimes } from '../helpers/store-contract.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SECRET = `planted-${randomBytes(12).toString('hex')}`;
const rec = (revision = 1) => ({
  id: 'ext',
  product: 'p',
  revision,
  services: [{ id: 's', resource: 'r', credentials: [{ id: 'c', scope: 'global' as const, configuration: { KEY: SECRET } }] }],
});

describe('SqliteStore', () => {
  test('WAL + migrations recorded (the low-selectivity indexes dropped); file mode 0600', async () => {
    const path = join(dir, 'r.db');
    const s = new SqliteStore({ path, key: randomBytes(32) });
    await s.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6]);
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual(['extensions_product', 'services_resource']);
    db.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test('credential values never reach the file in clear; masked reads do not need them', async () => {
    const path = join(dir, 'r.db');
    const key = randomBytes(32);
    const s = new SqliteStore({ path, key });
    await s.put(rec(), null);
    for (const f of await readdir(dir)) expect((await readFile(join(dir, f))).includes(Buffer.from(SECRET)), f).toBe(false);
    expect((await s.get('ext'))?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ KEY: '<hidden>' });
    expect((await s.get('ext', { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ KEY: SECRET });
    await s.close();
    for (const f of await readdir(dir)) expect((await readFile(join(dir, f))).includes(Buffer.from(SECRET)), f).toBe(false);
    // reopen with the same key: readable; with another key: refused
    const again = new SqliteStore({ path, key });
    expect((await again.get('ext', { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration?.KEY).toBe(SECRET);
    await again.close();
    expect(() => new SqliteStore({ path, key: randomBytes(32) })).toThrow(/encryption key does not match/);
  });

  test('a ciphertext moved to another credential does not decrypt (bound to its location)', async () => {
    const path = join(dir, 'r.db');
    const key = randomBytes(32);
    const s = new SqliteStore({ path, key });
    await s.put(rec(), null);
    await s.close();
    const db = new Database(path);
    const doc = (db.prepare('SELECT doc FROM extensions').get() as { doc: string }).doc;
    db.prepare('UPDATE extensions SET doc = ?').run(doc.replace('"id":"c"', '"id":"d"'));
    db.close();
    const moved = new SqliteStore({ path, key });
    expect((await moved.get('ext'))?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ KEY: '<hidden>' });
    // Reported on that set, not thrown for the whole document (fault isolation).
    const revealed = (await moved.get('ext', { reveal: true }))?.services?.[0]?.credentials?.[0];
    expect(revealed?.configuration).toEqual({ KEY: '<hidden>' });
    expect(revealed?.status?.state).toBe('undecryptable');
    expect(moved.undecryptable()).toEqual([{ extension_id: 'ext', service_id: 's', credentials_id: 'd' }]);
    await moved.close();
  });

  test('compare-and-swap: create conflicts, stale revision fails, nothing half-written', async () => {
    const s = new SqliteStore({ path: join(dir, 'r.db'), key: randomBytes(32) });
    await s.put(rec(), null);
    await expect(s.put(rec(), null)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(s.put(rec(3), 2)).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(s.put({ ...rec(2), id: 'nope' }, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await s.put({ ...rec(2), product: 'q', services: [{ id: 's2', resource: 'r2' }] }, 1);
    expect(await s.list({ service_resource: 'r' })).toEqual([]);
    expect((await s.list({ service_resource: 'r2', product: 'q' })).map((r) => r.id)).toEqual(['ext']);
    // a failing write inside the transaction (duplicate service id violates the index) leaves the old version
    await expect(s.put({ ...rec(3), services: [{ id: 'x' }, { id: 'x' }] }, 2)).rejects.toThrow();
    expect((await s.get('ext'))?.revision).toBe(2);
    expect((await s.list({ service_id: 's2' })).length).toBe(1);
    await expect(s.delete('ext', 1)).rejects.toBeInstanceOf(PreconditionFailedError);
    await s.delete('ext', 2);
    await expect(s.delete('ext')).rejects.toBeInstanceOf(FusemlError);
    expect(await s.count()).toBe(0);
    await s.close();
  });
});

describe('masked column', () => {
  test('written in the same pass as the sealed document: byte for byte the serialized masked read, nested revisions left out', async () => {
    const s = new SqliteStore({ path: join(dir, 'r.db'), key: randomBytes(32) });
    const full = {
      id: 'm',
      product: 'p',
      version: '1.0.0',
      revision: 1,
      services: [
        {
          id: 'a',
          resource: 'r',
          revision: 1,
          endpoints: [{ url: 'https://a.example', type: 'external' as const, revision: 1 }],
          credentials: [
            { id: 'c1', scope: 'global' as const, default: true, configuration: { K1: SECRET, K2: 'x' }, status: { state: 'undecryptable' as const, created: 't' }, revision: 1 },
            { id: 'c2', scope: 'project' as const, projects: ['A'], revision: 1 },
          ],
        },
        { id: 'b', revision: 1 },
        { id: 'c', credentials: [], revision: 1 },
      ],
    };
    const given = JSON.stringify(full);
    await s.put(full, null);
    // The caller's record is left as given (the store builds the masked form from copies).
    expect(JSON.stringify(full)).toBe(given);
    // Re-put with a <hidden> value: the stored ciphertext is kept, and the masked form shows its keys.
    const second = { ...full, revision: 2, services: [{ ...full.services[0]!, revision: 2, credentials: [{ id: 'c1', scope: 'global' as const, configuration: { K1: '<hidden>', K2: '<hidden>' }, revision: 2 }] }] };
    for (const [record, expected] of [[full, null], [second, 1]] as const) {
      if (expected !== null) await s.put(record, expected);
      const [row] = await s.listMasked({ product: 'p' });
      const [read] = await s.list({ product: 'p' });
      // The document keeps every revision (If-Match on nested routes); the masked column, what list routes send,
      // follows the wire rule: the extension's revision only.
      expect(read?.services?.[0]?.revision).toBe(record.revision);
      expect(read?.services?.[0]?.credentials?.[0]?.revision).toBe(record.revision);
      expect(row?.json).toBe(JSON.stringify(withoutNestedRevisions(read as ExtensionRecord)));
      expect(JSON.parse(row?.json ?? '{}')).toMatchObject({ revision: record.revision });
      expect(row?.json.match(/"revision"/g)).toHaveLength(1);
      expect(row?.json).not.toContain(SECRET);
    }
    expect((await s.get('m', { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ K1: SECRET, K2: 'x' });
    await s.close();
  });
});

describe('listing as text (Registry.listExtensionsJson)', () => {
  test('with and without service filters: byte for byte the parsed listing serialized, services pruned the same way', async () => {
    const s = new SqliteStore({ path: join(dir, 'r.db'), key: randomBytes(32) });
    const registry = new Registry(s);
    for (let i = 0; i < 6; i++) {
      await registry.createExtension({
        id: `x${i}`,
        product: `p${i % 2}`,
        version: `1.${i}.0`,
        services: [
          { id: 'api', resource: `r${i % 3}`, category: 'serving', endpoints: [{ url: `http://x${i}:80`, type: 'internal' }] },
          { id: 'store', resource: 's3', category: i % 2 ? 'model-store' : 'data', credentials: [{ id: 'c', scope: 'global', configuration: { K: SECRET } }] },
          ...(i === 5 ? [{ id: 'bare' }] : []),
        ],
      });
    }
    const queries = [
      {},
      { product: 'p1' },
      { service_resource: 'r1' },
      { service_resource: 's3', version: '>=1.2.0' },
      { service_id: 'store', service_category: 'model-store' },
      { service_id: 'api', product: 'p0' },
      { service_category: 'nothing' },
      { service_id: 'bare' },
    ];
    for (const q of queries) {
      const text = await registry.listExtensionsJson(q);
      expect(text, JSON.stringify(q)).toBe(JSON.stringify(await registry.listExtensions(q)));
      expect(text).not.toContain(SECRET);
    }
    // Pruned: only the services the filter keeps.
    const pruned = JSON.parse((await registry.listExtensionsJson({ service_resource: 's3' })) ?? '[]') as ExtensionRecord[];
    expect(pruned).toHaveLength(6);
    expect(pruned.every((r) => r.services?.length === 1 && r.services[0]?.id === 'store')).toBe(true);
    await s.close();
  });
});

describe('version hint', () => {
  test('list with a version matcher returns the records of the wanted versions, whole (same as filtering after)', async () => {
    const s = new SqliteStore({ path: join(dir, 'r.db'), key: randomBytes(32) });
    for (const [i, version] of ['1.0.0', '1.1.0', '2.0.0', undefined].entries()) await s.put({ ...rec(), id: `v${i}`, version }, null);
    const wanted = (v: string | undefined): boolean => v !== undefined && v.startsWith('1.');
    const hinted = await s.list({ product: 'p' }, { reveal: true, version: wanted });
    expect(hinted.map((r) => r.id)).toEqual(['v0', 'v1']);
    expect(hinted).toEqual((await s.list({ product: 'p' }, { reveal: true })).filter((r) => wanted(r.version)));
    await s.close();
  });
});

describe('migrations', () => {
  test('a version-1 database gains the masked column, backfilled; the fast listing equals the parsed one', async () => {
    const path = join(dir, 'r.db');
    const key = randomBytes(32);
    const s = new SqliteStore({ path, key });
    await s.put(rec(), null);
    await s.close();
    const db = new Database(path);
    db.exec("ALTER TABLE extensions DROP COLUMN masked; DELETE FROM schema_migrations WHERE version = 2;");
    db.close();
    const again = new SqliteStore({ path, key });
    const rows = await again.listMasked({ product: 'p' });
    expect(rows.map((r) => JSON.parse(r.json))).toEqual((await again.list({ product: 'p' })).map(withoutNestedRevisions));
    expect(rows[0]?.json).not.toContain(SECRET);
    await again.close();
  });

  test('a version-2 database (times at the top level and in status) is rewritten to times once, in status; values still decrypt', async () => {
    const path = join(dir, 'r.db');
    const key = randomBytes(32);
    const s = new SqliteStore({ path, key });
    const t0 = '2026-01-01T00:00:00.123Z';
    const t1 = '2026-01-02T00:00:00.456Z';
    // The document as the previous fuseml-registry stored it (its masked column too, written by its own pass).
    await s.put(inPreviousForm(sampleRecord('ext', { product: 'p', secret: SECRET }), t0, t1, ['team-a']), null);
    await s.close();
    const db = new Database(path);
    const before = db.prepare("SELECT doc, masked FROM extensions WHERE id = 'ext'").get() as { doc: string; masked: string };
    expect(legacyTimes(JSON.parse(before.masked) as ExtensionRecord)).toHaveLength(2 * 7); // 7 records, created and updated on each
    db.exec('DELETE FROM schema_migrations WHERE version = 3');
    db.close();

    const again = new SqliteStore({ path, key });
    const doc = (await again.get('ext', { reveal: true })) as ExtensionRecord;
    expect(legacyTimes(doc)).toEqual([]);
    expect(statusTimes(doc)).toEqual(sampleStatusTimes('ext', t0, t1));
    expect(doc.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe(SECRET);
    // The masked column is rewritten too: the fast listing equals the parsed one, no top-level time left.
    const rows = await again.listMasked({ product: 'p' });
    expect(rows.map((r) => JSON.parse(r.json))).toEqual((await again.list({ product: 'p' })).map(withoutNestedRevisions));
    expect(legacyTimes(JSON.parse(rows[0]?.json ?? '{}') as ExtensionRecord)).toEqual([]);
    expect(rows[0]?.json).not.toContain(SECRET);
    await again.close();
    const check = new Database(path, { readonly: true });
    expect((check.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6]);
    check.close();
  });

  test('a version-4 database (nested revisions in the masked column) gets its masked column rewritten; documents keep every revision', async () => {
    const path = join(dir, 'r.db');
    const key = randomBytes(32);
    const s = new SqliteStore({ path, key });
    await s.put(sampleRecord('ext', { product: 'p', secret: SECRET, revision: 3 }), null);
    await s.put(sampleRecord('other', { product: 'p', revision: 2 }), null);
    await s.close();
    // The masked column as version 4 wrote it: the masked document whole, every nested revision in it.
    const db = new Database(path);
    const docs = db.prepare('SELECT id, doc FROM extensions ORDER BY id').all() as { id: string; doc: string }[];
    const update = db.prepare('UPDATE extensions SET masked = ? WHERE id = ?');
    for (const row of docs) {
      const masked = JSON.parse(row.doc) as ExtensionRecord;
      for (const svc of masked.services ?? []) {
        for (const c of svc.credentials ?? []) {
          const { sealed, ...rest } = c as typeof c & { sealed?: { keys: string[] } };
          Object.assign(c, rest, { configuration: Object.fromEntries((sealed?.keys ?? []).map((k) => [k, '<hidden>'])) });
          delete (c as { sealed?: unknown }).sealed;
        }
      }
      update.run(JSON.stringify(masked), row.id);
    }
    const before = (db.prepare("SELECT masked FROM extensions WHERE id = 'ext'").get() as { masked: string }).masked;
    expect(before.match(/"revision":3/g)).toHaveLength(7); // the extension, 2 services, an endpoint, 3 credential sets
    db.exec('DELETE FROM schema_migrations WHERE version = 5');
    db.close();

    const again = new SqliteStore({ path, key });
    const rows = await again.listMasked({ product: 'p' });
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.json.match(/"revision"/g)).toHaveLength(1);
      expect(row.json).not.toContain(SECRET);
    }
    expect(rows.map((r) => JSON.parse(r.json))).toEqual((await again.list({ product: 'p' })).map(withoutNestedRevisions));
    const doc = (await again.get('ext', { reveal: true })) as ExtensionRecord;
    expect(doc.services?.[0]?.revision).toBe(3);
    expect(doc.services?.[0]?.endpoints?.[0]?.revision).toBe(3);
    expect(doc.services?.[0]?.credentials?.[0]?.revision).toBe(3);
    expect(doc.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe(SECRET);
    await again.close();
    const check = new Database(path, { readonly: true });
    expect((check.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6]);
    check.close();
  });
});

describe('migration 6: extensions as a rowid table', () => {
  test('a database with the WITHOUT ROWID table is rebuilt with every row and services row; the cascade still works', async () => {
    const path = join(dir, 'r.db');
    const key = randomBytes(32);
    const s = new SqliteStore({ path, key });
    await s.put({ ...rec(), id: 'a' }, null);
    await s.put({ ...rec(), id: 'b' }, null);
    await s.close();
    // Back to the table of migration 1 (rows inside the primary key's b-tree), migration 6 not applied.
    const db = new Database(path);
    db.pragma('foreign_keys = OFF'); // better-sqlite3 turns them on: the DROP below would cascade
    expect(db.prepare('SELECT count(*) AS n FROM services').get()).toEqual({ n: 2 });
    db.exec(`
      CREATE TABLE old_x (id TEXT PRIMARY KEY, product TEXT, version TEXT, zone TEXT, revision INTEGER NOT NULL, doc TEXT NOT NULL, masked TEXT) WITHOUT ROWID;
      INSERT INTO old_x SELECT id, product, version, zone, revision, doc, masked FROM extensions;
      DROP TABLE extensions;
      ALTER TABLE old_x RENAME TO extensions;
      CREATE INDEX extensions_product ON extensions(product);
      DELETE FROM schema_migrations WHERE version = 6;
    `);
    expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'extensions'").get() as { sql: string }).sql).toMatch(/WITHOUT ROWID/);
    expect(db.prepare('SELECT count(*) AS n FROM services').get()).toEqual({ n: 2 });
    db.close();
    const again = new SqliteStore({ path, key });
    expect((await again.list({ product: 'p' })).map((r) => r.id)).toEqual(['a', 'b']);
    expect((await again.get('a', { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ KEY: SECRET });
    await again.delete('a');
    await again.close();
    const check = new Database(path, { readonly: true });
    expect((check.prepare("SELECT sql FROM sqlite_master WHERE name = 'extensions'").get() as { sql: string }).sql).not.toMatch(/WITHOUT ROWID/);
    // The services index rows of b survived the rebuild (no cascade); a's went with a (the cascade still holds).
    expect(check.prepare('SELECT extension_id FROM services ORDER BY extension_id').all()).toEqual([{ extension_id: 'b' }]);
    expect(check.pragma('foreign_key_check')).toEqual([]);
    check.close();
  });
});

describe('encryption key file', () => {
  test('generated with mode 0600, then reused; env wins; group-readable file refused', async () => {
    const keyFile = join(dir, 'sub', 'registry.key');
    const a = await loadOrCreateKey({ keyFile, env: {} });
    expect(a.generated).toBe(true);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateKey({ keyFile, env: {} });
    expect(b.generated).toBe(false);
    expect(b.key.equals(a.key)).toBe(true);
    const env = await loadOrCreateKey({ keyFile, env: { FUSEML_REGISTRY_KEY: 'ab'.repeat(32) } });
    expect(env.key.toString('hex')).toBe('ab'.repeat(32));
    await expect(loadOrCreateKey({ keyFile, env: { FUSEML_REGISTRY_KEY: 'short' } })).rejects.toThrow(/not a 256-bit key/);
    const loose = join(dir, 'loose.key');
    await writeFile(loose, randomBytes(32).toString('base64'), { mode: 0o644 });
    await expect(loadOrCreateKey({ keyFile: loose, env: {} })).rejects.toThrow(/readable by group or others/);
  });
});
