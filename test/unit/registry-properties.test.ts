/** Property-based and concurrency checks of the registry app (in memory). */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { tokenEntry } from '../../src/registry/auth.js';
import { createRegistryApp } from '../../src/registry/server/app.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';
import { validateRecord } from '../../src/registry/validate.js';
import { legacyTimes } from '../helpers/store-contract.js';

const TOKEN = 'admin-token-0123456789';
let store: SqliteStore;
let app: FastifyInstance;
const H = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  store = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
  // 40 writes at once from one token: above the default per-token concurrency limit, which is not what this tests.
  app = await createRegistryApp({ store, auth: { tokens: [tokenEntry({ name: 'a', role: 'admin' }, TOKEN)] }, limits: { perTokenConcurrency: 64 } });
  await seedBase();
});

/** The record every fuzzed path points into; put back whenever the fuzz deleted it, so deep paths keep being hit. */
async function seedBase(): Promise<void> {
  const base = { id: 'base', services: [{ id: 's', endpoints: [{ url: 'http://e', type: 'internal' }], credentials: [{ id: 'c', scope: 'global', configuration: { K: 'v' } }] }] };
  const r = await app.inject({ method: 'PUT', url: '/extensions/base/record', headers: H, payload: base });
  expect(r.statusCode).toBeLessThan(300);
}
afterAll(async () => {
  await app.close();
  await store.close();
});

const paths = [
  '/extensions',
  '/extensions/base',
  '/extensions/base/record',
  '/extensions/base/services',
  '/extensions/base/services/s',
  '/extensions/base/services/s/endpoints',
  `/extensions/base/services/s/endpoints/${encodeURIComponent('http://e')}`,
  '/extensions/base/services/s/credentials',
  '/extensions/base/services/s/credentials/c',
];

describe('properties', () => {
  test('arbitrary bodies on any route: never a 5xx, always a JSON error body on failure', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'PUT', 'GET', 'DELETE'),
        fc.constantFrom(...paths),
        fc.oneof(fc.jsonValue(), fc.string(), fc.object()),
        fc.constantFrom('application/json', 'application/yaml', undefined),
        async (method, url, value, type) => {
          if ((await store.get('base')) === undefined) await seedBase();
          // Strings go as they are (malformed JSON/YAML); anything else as JSON text, which is YAML too.
          // (Not String(value): fast-check objects may carry a non-function `toString` key.)
          const payload = typeof value === 'string' && type === 'application/yaml' ? value : JSON.stringify(value);
          const r = await app.inject({ method, url, headers: { ...H, ...(type ? { 'content-type': type } : {}) }, payload: method === 'GET' || method === 'DELETE' ? undefined : payload });
          expect(r.statusCode).toBeLessThan(500);
          if (r.statusCode >= 400) expect(JSON.parse(r.body).error.message).toEqual(expect.any(String));
        },
      ),
      { numRuns: 300 },
    );
    // Whatever state the fuzz left (writes, partial deletes), every stored record is valid and reads back through
    // the API exactly as the store holds it.
    const stored = await store.list({}, { reveal: true });
    expect(stored.length).toBeGreaterThan(0);
    for (const rec of stored) {
      expect(() => validateRecord('extension', { ...rec, status: undefined }), rec.id).not.toThrow();
      // The times are stored once, in status: no record keeps a top-level created / updated.
      expect(legacyTimes(rec), rec.id).toEqual([]);
      const r = await app.inject({ method: 'GET', url: `/extensions/${encodeURIComponent(rec.id)}?reveal=true`, headers: { ...H, accept: 'application/json' } });
      expect(r.statusCode, rec.id).toBe(200);
      expect(JSON.parse(r.body).id).toBe(rec.id);
    }
  });

  test('upsert is idempotent for any valid record', async () => {
    const id = fc.stringMatching(/^[a-z0-9_][a-z0-9_-]{0,20}$/);
    const cfg = fc.dictionary(fc.stringMatching(/^[A-Z_]{1,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 });
    const record = fc.record({
      id,
      product: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      version: fc.option(fc.constantFrom('1.0.0', '2.1', 'v3'), { nil: undefined }),
      configuration: fc.option(cfg, { nil: undefined }),
      services: fc.uniqueArray(
        fc.record({
          id,
          resource: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
          endpoints: fc.uniqueArray(fc.record({ url: fc.webUrl(), type: fc.constantFrom('internal', 'external') }), { selector: (e) => e.url, maxLength: 2 }),
          credentials: fc.uniqueArray(fc.record({ id, scope: fc.constant('global'), configuration: cfg }), { selector: (c) => c.id, maxLength: 2 }),
        }),
        { selector: (s) => s.id, maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(record, async (rec) => {
        const body = JSON.parse(JSON.stringify(rec));
        const put = () => app.inject({ method: 'PUT', url: `/extensions/${rec.id}/record`, headers: H, payload: body });
        const first = await put();
        expect([200, 201]).toContain(first.statusCode);
        const second = await put();
        expect(second.statusCode).toBe(200);
        // Same content; a write that sends credential values is always a new revision (see docs/registry.md).
        const sendsValues = rec.services.some((s) => s.credentials.some((c) => Object.keys(c.configuration).length > 0));
        const bookkeeping = (doc: unknown): unknown =>
          JSON.parse(JSON.stringify(doc), (k, v: unknown) => (sendsValues && ['revision', 'status'].includes(k) ? undefined : v));
        expect(bookkeeping(JSON.parse(second.body))).toEqual(bookkeeping(JSON.parse(first.body)));
        if (!sendsValues) expect(JSON.parse(second.body).revision).toBe(JSON.parse(first.body).revision);
        else expect(JSON.parse(second.body).revision).toBe(JSON.parse(first.body).revision + 1);
        const read = await app.inject({ method: 'GET', url: `/extensions/${rec.id}?reveal=true`, headers: H });
        const got = JSON.parse(read.body);
        expect(got.services.map((s: { id: string }) => s.id)).toEqual(rec.services.map((s) => s.id));
        for (const [i, s] of rec.services.entries()) {
          for (const [j, c] of s.credentials.entries()) expect(got.services[i].credentials[j].configuration).toEqual(c.configuration);
        }
      }),
      { numRuns: 60 },
    );
  });

  test('concurrent writes to one extension are all applied (no lost update, no spurious 412)', async () => {
    await app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { id: 'busy' } });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? app.inject({ method: 'POST', url: '/extensions/busy/services', headers: H, payload: { id: `svc-${i}` } })
          : app.inject({ method: 'PUT', url: '/extensions/busy', headers: H, payload: { description: `d${i}` } }),
      ),
    );
    expect(results.map((r) => r.statusCode).filter((c) => c >= 300)).toEqual([]);
    const rec = JSON.parse((await app.inject({ method: 'GET', url: '/extensions/busy', headers: H })).body);
    expect(rec.services).toHaveLength(20);
    expect(rec.revision).toBe(41);
  });
});
