/**
 * The write and read path of a real `fuseml-registry serve` (SQLite file, real sockets): concurrent writes
 * (grouped into one commit by the store) each answered by their own outcome, If-Match races with exactly one
 * winner, the read cache never behind an acknowledged write (ETag and If-Match stay right), and response
 * compression negotiated from Accept-Encoding (identity when the client does not ask).
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rawRequest, startRegistry, type RawResponse, type RegistryProcess } from '../helpers/registry.js';

let reg: RegistryProcess;
beforeAll(async () => {
  // More than the default 16 requests in flight per token: the bursts below send up to 30 at once.
  reg = await startRegistry({ args: ['--max-concurrent', '64'] });
}, 60_000);
afterAll(async () => {
  await reg?.cleanup();
});

type Raw = RawResponse;

/** One request over node:http (no transparent decompression: the bytes as sent). */
function raw(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Raw> {
  return rawRequest(reg, method, path, options);
}

function decoded(r: Raw): string {
  const enc = r.headers['content-encoding'];
  if (enc === 'gzip') return gunzipSync(r.body).toString('utf8');
  if (enc === 'br') return brotliDecompressSync(r.body).toString('utf8');
  expect(enc).toBeUndefined();
  return r.body.toString('utf8');
}

const record = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  product: 'wrp',
  version: '1.0.0',
  description: `record ${id} ${'padding '.repeat(40)}`,
  services: [
    { id: 'api', resource: `res-${id}`, category: 'c', endpoints: [{ url: `http://${id}.ns.svc:8080`, type: 'internal' }] },
    { id: 'store', resource: 's3', credentials: [{ id: 'default', scope: 'global', configuration: { SECRET: `secret-of-${id}` } }] },
  ],
  ...extra,
});

describe('concurrent writes', () => {
  test('30 creates at once, 5 of them duplicates: each answered by its own outcome, every 201 stored', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `burst-${i}`);
    const sends = [...ids, ...ids.slice(0, 5)].map((id) => raw('POST', '/extensions', { body: record(id) }));
    const results = await Promise.all(sends);
    expect(results.filter((r) => r.status === 201)).toHaveLength(25);
    expect(results.filter((r) => r.status === 409)).toHaveLength(5);
    for (const id of ids) expect((await raw('GET', `/extensions/${id}`)).status).toBe(200);
  });

  test('If-Match races: 10 concurrent updates of the same revision, exactly one wins, the rest get 412', async () => {
    expect((await raw('POST', '/extensions', { body: record('race') })).status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => raw('PUT', '/extensions/race', { body: { description: `writer ${i}` }, headers: { 'if-match': '"1"' } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(412)]);
    const winner = results.find((r) => r.status === 200) as Raw;
    const now = await raw('GET', '/extensions/race');
    expect(now.headers.etag).toBe('"2"');
    expect(JSON.parse(decoded(now)).description).toBe(JSON.parse(decoded(winner)).description);
  });

  test('concurrent deletes and creates of distinct ids, mixed with failing deletes', async () => {
    for (let i = 0; i < 10; i++) expect((await raw('POST', '/extensions', { body: record(`del-${i}`) })).status).toBe(201);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => raw('DELETE', `/extensions/del-${i}`)),
      ...Array.from({ length: 5 }, (_, i) => raw('DELETE', `/extensions/never-${i}`)),
      ...Array.from({ length: 5 }, (_, i) => raw('POST', '/extensions', { body: record(`new-${i}`) })),
    ]);
    expect(results.map((r) => r.status).join(",")).toEqual([...Array(10).fill(204), ...Array(5).fill(404), ...Array(5).fill(201)].join(","));
    for (let i = 0; i < 10; i++) expect((await raw('GET', `/extensions/del-${i}`)).status).toBe(404);
    for (let i = 0; i < 5; i++) expect((await raw('GET', `/extensions/new-${i}`)).status).toBe(200);
  });
});

describe('read cache', () => {
  test('a read after a write returns the new revision; ETag and If-Match follow it', async () => {
    expect((await raw('POST', '/extensions', { body: record('cached') })).status).toBe(201);
    const first = await raw('GET', '/extensions/cached');
    const again = await raw('GET', '/extensions/cached'); // from the cache
    expect(first.headers.etag).toBe('"1"');
    expect(again.headers.etag).toBe('"1"');
    expect(decoded(again)).toBe(decoded(first));
    expect(decoded(first)).not.toContain('secret-of-cached');

    const upd = await raw('PUT', '/extensions/cached', { body: { description: 'second' }, headers: { 'if-match': '"1"' } });
    expect(upd.status).toBe(200);
    const after = await raw('GET', '/extensions/cached');
    expect(after.headers.etag).toBe('"2"');
    expect(JSON.parse(decoded(after))).toMatchObject({ description: 'second', revision: 2 });
    // The old ETag no longer matches; the new one does.
    expect((await raw('PUT', '/extensions/cached', { body: { description: 'stale' }, headers: { 'if-match': '"1"' } })).status).toBe(412);
    expect((await raw('PUT', '/extensions/cached', { body: { description: 'third' }, headers: { 'if-match': after.headers.etag as string } })).status).toBe(200);
    expect(JSON.parse(decoded(await raw('GET', '/extensions/cached')))).toMatchObject({ description: 'third', revision: 3 });

    // Changes below the extension (a credential's value, through its own route) invalidate too.
    expect((await raw('PUT', '/extensions/cached/services/store/credentials/default', { body: { configuration: { SECRET: 'rotated' } } })).status).toBe(200);
    const creds = JSON.parse(decoded(await raw('GET', '/extensions/cached')));
    expect(creds.revision).toBe(4);
    expect(creds.services[1].credentials[0].configuration).toEqual({ SECRET: '<hidden>' });
    // A revealed read is never served from the cache (and shows the new value).
    const revealed = JSON.parse(decoded(await raw('GET', '/extensions/cached?reveal=true')));
    expect(revealed.services[1].credentials[0].configuration).toEqual({ SECRET: 'rotated' });

    // YAML is its own cached variant, of the same revision.
    const yaml = await raw('GET', '/extensions/cached', { headers: { accept: 'application/yaml' } });
    expect(yaml.headers['content-type']).toMatch(/yaml/);
    expect(decoded(yaml)).toMatch(/^revision: 4$/m);

    expect((await raw('DELETE', '/extensions/cached')).status).toBe(204);
    expect((await raw('GET', '/extensions/cached')).status).toBe(404);
    expect((await raw('GET', '/extensions/cached', { headers: { accept: 'application/yaml' } })).status).toBe(404);
  });
});

describe('compression', () => {
  test('gzip or br when accepted, identity otherwise; same bytes once decoded', async () => {
    expect((await raw('POST', '/extensions', { body: record('zip') })).status).toBe(201);
    for (const path of ['/extensions/zip', '/extensions/zip', '/extensions?product=wrp']) {
      const plain = await raw('GET', path);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toMatch(/accept-encoding/i);
      const text = plain.body.toString('utf8');
      expect(text.length).toBeGreaterThan(1024);

      const gz = await raw('GET', path, { headers: { 'accept-encoding': 'gzip' } });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gz.body.length).toBeLessThan(plain.body.length);
      expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
      expect(decoded(gz)).toBe(text);

      const br = await raw('GET', path, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      expect(br.headers['content-encoding']).toBe('br');
      expect(decoded(br)).toBe(text);

      expect((await raw('GET', path, { headers: { 'accept-encoding': 'br;q=0, gzip;q=0.5' } })).headers['content-encoding']).toBe('gzip');
      expect((await raw('GET', path, { headers: { 'accept-encoding': 'identity' } })).headers['content-encoding']).toBeUndefined();
      expect((await raw('GET', path, { headers: { 'accept-encoding': 'gzip;q=0' } })).headers['content-encoding']).toBeUndefined();
      expect((await raw('GET', path, { headers: { 'accept-encoding': '*' } })).headers['content-encoding']).toBe('br');
    }
  });

  test('small bodies and errors stay identity; a compressed error body decodes to the error format', async () => {
    const small = await raw('GET', '/healthz', { headers: { 'accept-encoding': 'gzip' } });
    expect(small.status).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
    const notFound = await raw('GET', '/extensions/nope', { headers: { 'accept-encoding': 'gzip' } });
    expect(notFound.status).toBe(404);
    expect(JSON.parse(decoded(notFound))).toMatchObject({ name: 'NotFound', error: { code: 'NOT_FOUND' } });
    const created = await raw('POST', '/extensions', { body: record('zip-created'), headers: { 'accept-encoding': 'gzip' } });
    expect(created.status).toBe(201);
    expect(created.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(decoded(created))).toMatchObject({ id: 'zip-created', revision: 1 });
  });
});
