/**
 * The "no duplicated fields" guard (issue 16: response bytes ≤ fuseml-core's for the same records): a real
 * `fuseml-registry serve` holds the registry bench's records (bench/wire-form.mjs); what it sends for them, on
 * every read route, carries no field that fuseml-core's form of the same records lacks other than `revision`
 * (If-Match, ETag); the times are fuseml-core's status times, in its format (Go's time.RFC3339: UTC, whole
 * seconds). The byte figures themselves are the bench's (bench/registry.bench.mjs); here only their order.
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

  test('bytes: gzip (asked for) is below fuseml-core form\'s identity; identity differs from it by revision alone', async () => {
    const identity = await raw('GET', '/extensions?product=product-1');
    const gzip = await raw('GET', '/extensions?product=product-1', undefined, { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(identity.body)).toBe(true);
    const ours = JSON.parse(identity.body.toString('utf8')) as ExtensionRecord[];
    const core = Buffer.byteLength(JSON.stringify(ours.map(fusemlCoreForm)));
    // `,"revision":N` on each of the 6 records of an extension (extension, 2 services, 2 endpoints, credentials),
    // less `"auth_required":false,` on its 2 services, fuseml-core sends and we leave out when unset.
    const revisions = ours.length * 6 * ',"revision":1'.length;
    const authRequired = ours.length * 2 * '"auth_required":false,'.length;
    expect(identity.body.length).toBe(core + revisions - authRequired);
    expect(gzip.body.length).toBeLessThan(core);
  });
});

describe('every read route against the same fuseml-core form', () => {
  test('an extension, its services, endpoints and credentials: nothing beyond fuseml-core but revision', async () => {
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
    for (const [path, theirs] of reads) expect(extraFields(await getJson(path), theirs, ['revision']), path).toEqual([]);
  });
});
