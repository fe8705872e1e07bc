/**
 * The "no duplicated fields" guard (issue 16: response bytes ≤ fuseml-core's for the same records): a real
 * `fuseml-registry serve` holds the registry bench's records (bench/wire-form.mjs); what it sends for them, on
 * every read route, carries no field that fuseml-core's form of the same records lacks other than `revision`
 * (If-Match, ETag), and that only on the record the route is about (records nested in a representation carry none:
 * docs/registry.md, "Revisions, If-Match"); the times are fuseml-core's status times, in its format (Go's
 * time.RFC3339: UTC, whole seconds). Uncompressed, ours is no larger than fuseml-core's form. The byte figures
 * themselves are the bench's (bench/registry.bench.mjs); here their arithmetic and order.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { benchRecord, extraFields, fusemlCoreForm, goTime } from '../../bench/wire-form.mjs';
import { rawRequest, startRegistry, type RawResponse, type RegistryProcess } from '../helpers/registry.js';

// The bench's spread for 10 000 extensions: product-1 is extensions 1, 2001, 4001, 6001 and 8001.
const PRODUCTS = 2000;
const RESOURCES = 2500;
const FIVE = [1, 2001, 4001, 6001, 8001];
const GO_RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

let reg: RegistryProcess;
beforeAll(async () => {
  reg = await startRegistry();
  for (const i of FIVE) {
    const r = await raw('POST', '/extensions', benchRecord(i, PRODUCTS, RESOURCES));
    expect(r.status, r.body.toString('utf8')).toBe(201);
  }
}, 60_000);
afterAll(async () => {
  await reg?.cleanup();
});

function raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(reg, method, path, { body, headers });
}

async function getJson(path: string): Promise<unknown> {
  const r = await raw('GET', path);
  expect(r.status, path).toBe(200);
  expect(r.headers['content-encoding']).toBeUndefined();
  return JSON.parse(r.body.toString('utf8')) as unknown;
}

/** The paths of every `revision` below the top-level record(s) of a response body (`[0].services[1].revision`). */
function nestedRevisions(v: unknown, at = '', depth = 0): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => nestedRevisions(x, `${at}[${i}]`, depth));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [...(k === 'revision' && depth > 0 ? [`${at}.${k}`] : []), ...nestedRevisions(x, `${at}.${k}`, depth + 1)]);
}

/** Go's time.Parse(time.RFC3339, …) on a whole-second UTC time, as a Go client decodes it; undefined when it fails. */
function goParse(t: unknown): Date | undefined {
  if (typeof t !== 'string' || !GO_RFC3339.test(t)) return undefined;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) || goTime(t) !== t ? undefined : d;
}

describe("the bench's list of 5 records against fuseml-core's form of them", () => {
  test('ours carries no field fuseml-core lacks but revision; the times are its status times, in its format', async () => {
    const ours = (await getJson('/extensions?product=product-1')) as ExtensionRecord[];
    expect(ours.map((r) => r.id)).toEqual(FIVE.map((i) => `ext-${i}`));
    const core = ours.map(fusemlCoreForm);
    expect(extraFields(ours, core, ['revision'])).toEqual([]);
    // revision on each extension, none on its services, endpoints and credentials.
    expect(extraFields(ours, core)).toEqual(FIVE.map((_, i) => `[${i}].revision`));
    expect(nestedRevisions(ours)).toEqual([]);
    // No time given twice: with revision taken out, what remains is fuseml-core's form but for what fuseml-core
    // sends and we leave out: auth_required unset (absent ≠ false to our resolver, src/core/resolve.ts).
    expect(extraFields(core, ours)).toEqual(FIVE.flatMap((_, i) => [`[${i}].services[0].auth_required`, `[${i}].services[1].auth_required`]));
    for (const [i, r] of ours.entries()) {
      const c = core[i] as { status: unknown; services: { status: unknown; endpoints: { status: unknown }[]; credentials: { status: unknown }[] }[] };
      expect(r.status).toEqual(c.status);
      for (const [j, s] of (r.services ?? []).entries()) {
        expect(s.status).toEqual(c.services[j]?.status);
        for (const [k, e] of (s.endpoints ?? []).entries()) expect(e.status).toEqual(c.services[j]?.endpoints[k]?.status);
        for (const [k, cr] of (s.credentials ?? []).entries()) expect(cr.status).toEqual(c.services[j]?.credentials[k]?.status);
      }
      const times = [r.status?.registered, r.status?.updated, ...(r.services ?? []).flatMap((s) => [s.status?.registered, s.status?.updated, ...(s.credentials ?? []).flatMap((cr) => [cr.status?.created, cr.status?.updated])])];
      expect(times).toHaveLength(2 + 2 * 2 + 2);
      for (const t of times) expect(goParse(t), String(t)).toBeInstanceOf(Date);
    }
  });

  test('bytes: identity no larger than fuseml-core\'s form (it differs by revision and auth_required alone); gzip far below', async () => {
    const identity = await raw('GET', '/extensions?product=product-1');
    const gzip = await raw('GET', '/extensions?product=product-1', undefined, { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(identity.body)).toBe(true);
    const ours = JSON.parse(identity.body.toString('utf8')) as ExtensionRecord[];
    const core = Buffer.byteLength(JSON.stringify(ours.map(fusemlCoreForm)));
    // `,"revision":N` on each extension only (not on its 2 services, 2 endpoints and credential set), less
    // `"auth_required":false,` on its 2 services, fuseml-core sends and we leave out when unset.
    const revisions = ours.length * ',"revision":1'.length;
    const authRequired = ours.length * 2 * '"auth_required":false,'.length;
    expect(identity.body.length).toBe(core + revisions - authRequired);
    expect(identity.body.length).toBeLessThanOrEqual(core);
    expect(gzip.body.length).toBeLessThan(core);
  });
});

describe('every read route against the same fuseml-core form', () => {
  test('an extension, its services, endpoints and credentials: nothing beyond fuseml-core but the revision of the route\'s own record(s)', async () => {
    const ext = (await getJson('/extensions/ext-1')) as ExtensionRecord;
    const core = fusemlCoreForm(ext) as { services: { endpoints: unknown[]; credentials: unknown[] }[] };
    const store = core.services[1] as { endpoints: unknown[]; credentials: unknown[] };
    const reads: [string, unknown][] = [
      ['/extensions/ext-1', core],
      ['/extensions/ext-1/services', core.services],
      ['/extensions/ext-1/services/store', store],
      ['/extensions/ext-1/services/store/endpoints', store.endpoints],
      [`/extensions/ext-1/services/store/endpoints/${encodeURIComponent('https://ext-1.example.com')}`, store.endpoints[0]],
      ['/extensions/ext-1/services/store/credentials', store.credentials],
      ['/extensions/ext-1/services/store/credentials/default', store.credentials[0]],
    ];
    for (const [path, theirs] of reads) {
      const r = await raw('GET', path);
      expect(r.status, path).toBe(200);
      const body = JSON.parse(r.body.toString('utf8')) as unknown;
      expect(extraFields(body, theirs, ['revision']), path).toEqual([]);
      // The revision is on the record(s) the route is about, nowhere below; a single record's is its ETag.
      expect(nestedRevisions(body), path).toEqual([]);
      const own = Array.isArray(body) ? (body as { revision?: unknown }[]) : [body as { revision?: unknown }];
      expect(own.length, path).toBeGreaterThan(0);
      for (const x of own) expect(x.revision, path).toBe(1);
      if (!Array.isArray(body)) expect(r.headers.etag, path).toBe('"1"');
    }
    // The list routes too (the masked column's fast path and the parsed path of a service filter).
    for (const path of ['/extensions', '/extensions?product=product-1', '/extensions?service_resource=resource-b-1']) {
      const list = (await getJson(path)) as { revision?: unknown }[];
      expect(list.length, path).toBeGreaterThan(0);
      expect(nestedRevisions(list), path).toEqual([]);
      for (const x of list) expect(x.revision, path).toBe(1);
    }
  });
});
