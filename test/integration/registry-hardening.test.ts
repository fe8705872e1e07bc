/**
 * Security regression suite for the registry's HTTP input (issue #10, input half), over real sockets against real
 * `fuseml-registry serve` processes (built dist):
 * - each hostile body from the issue (80 000 keys, alias bomb, deep nesting, a huge resolve) is refused (413)
 *   while a second client polls /healthz, which keeps answering throughout (the blocked time itself is measured
 *   by bench/registry-hardening.bench.mjs, not asserted here);
 * - header and body timeouts (408, also for authenticated uploads stalled mid-body), 431, per-token concurrency
 *   (429 + Retry-After), all in the error format;
 * - strict, lossless input: duplicate and reserved keys, one YAML document, declared media types, charset, UTF-8;
 * - 405 with Allow, weak If-Match (412), no query values in --log output, the docs' curl examples.
 */
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aliasBombYaml, deepBlockYaml, deepFlowYaml, deepJson, manyKeysYaml, resolveBody, send, whilePolling, type SentResponse } from '../../bench/hostile.mjs';
import { ROOT, randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const tokens = { writer: randomToken(), reader: randomToken(), resolver: randomToken(), other: randomToken() };
const config = `
tokens:
  - { name: installer, role: writer, token: ${tokens.writer} }
  - { name: viewer, role: reader, token: ${tokens.reader} }
  - { name: ci, role: resolver, token: ${tokens.resolver}, projects: [team-a] }
  - { name: other-writer, role: writer, token: ${tokens.other} }
`;
const auth = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const YAML = { 'content-type': 'application/yaml' };
const JSON_T = { 'content-type': 'application/json' };

let reg: RegistryProcess;
let tight: RegistryProcess;

beforeAll(async () => {
  [reg, tight] = await Promise.all([
    startRegistry({ config }),
    // Short timeouts and a low concurrency limit, to see them act; --log to check what it writes.
    startRegistry({ config, args: ['--headers-timeout', '1000', '--request-timeout', '2000', '--max-concurrent', '2', '--log'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([reg?.cleanup(), tight?.cleanup()]);
});

function errorOf(r: SentResponse): { code: string; message: string } {
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  return (JSON.parse(r.body) as { error: { code: string; message: string } }).error;
}

describe('one hostile request cannot stall the server', () => {
  const cases: Array<{ name: string; method: string; path: string; token: string; type: Record<string, string>; body: () => string; status: number; message: RegExp }> = [
    { name: '80 000-key YAML GET body (reader)', method: 'GET', path: '/extensions', token: tokens.reader, type: YAML, body: () => manyKeysYaml(80_000), status: 413, message: /more than 20000 keys|took more than \d+ ms to parse/ },
    { name: 'alias bomb within 100 aliases (writer)', method: 'POST', path: '/extensions', token: tokens.writer, type: YAML, body: () => aliasBombYaml(), status: 413, message: /once parsed \(aliases expanded\)/ },
    { name: '[ × 500 000 (reader)', method: 'GET', path: '/extensions', token: tokens.reader, type: YAML, body: () => deepFlowYaml(500_000), status: 413, message: /deeper than 64/ },
    { name: '"- " × 400 000 (writer)', method: 'POST', path: '/extensions', token: tokens.writer, type: YAML, body: () => deepBlockYaml(400_000), status: 413, message: /keys and items|deeper than 64/ },
    { name: 'JSON nested 400 000 deep (writer)', method: 'POST', path: '/extensions', token: tokens.writer, type: JSON_T, body: () => deepJson(400_000), status: 413, message: /deeper than 64/ },
    { name: 'resolve of 60 steps × 60 requirements (resolver)', method: 'POST', path: '/workflows/resolve', token: tokens.resolver, type: JSON_T, body: () => resolveBody(60, 60), status: 413, message: /steps × requirements/ },
  ];
  for (const c of cases) {
    test(`${c.name}: refused with ${c.status}, /healthz answers all along`, async () => {
      const body = c.body();
      const { result, ok, failed } = await whilePolling(reg.url, () => send(reg.url + c.path, { method: c.method, headers: { ...auth(c.token), ...c.type }, body }));
      expect(result.status).toBe(c.status);
      const err = errorOf(result);
      expect(err.code).toBe('PAYLOAD_TOO_LARGE');
      expect(err.message).toMatch(c.message);
      expect(failed).toBe(0);
      expect(ok).toBeGreaterThan(0);
    });
  }

  test('the server still works after them, and nothing was stored', async () => {
    const r = await send(`${reg.url}/extensions`, { headers: auth(tokens.reader) });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual([]);
  });
});

/** Opens a raw connection, writes `head` (and nothing more), returns what the server sends until it closes. */
async function stall(url: string, head: string, waitMs = 15_000): Promise<{ text: string; ms: number }> {
  const u = new URL(url);
  const sock: Socket = connect(Number(u.port), u.hostname);
  const started = Date.now();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the server kept the stalled connection open for ${waitMs} ms`));
    }, waitMs);
    sock.on('connect', () => sock.write(head));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started };
}

function rawBody(text: string): { status: number; error: { code: string; message: string } } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, error: (JSON.parse(body) as { error: { code: string; message: string } }).error };
}

describe('timeouts, header size, concurrency', () => {
  test('an authenticated upload stalled mid-body gets 408 in the error format and is closed', async () => {
    const head = `POST /extensions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.writer}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":`;
    const r = await stall(tight.url, head);
    const { status, error } = rawBody(r.text);
    expect(status).toBe(408);
    expect(error.code).toBe('REQUEST_TIMEOUT');
  });

  test('an unauthenticated upload stalled mid-body gets its 401 and is closed too', async () => {
    const head = 'POST /extensions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":';
    const r = await stall(tight.url, head);
    expect(r.text).toMatch(/^HTTP\/1\.1 401/);
  });

  test('headers never finished: 408 in the error format', async () => {
    const r = await stall(tight.url, `GET /extensions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.reader}\r\n`);
    const { status, error } = rawBody(r.text);
    expect(status).toBe(408);
    expect(error.code).toBe('REQUEST_TIMEOUT');
  });

  test('headers over the limit: 431 in the error format', async () => {
    const r = await stall(reg.url, `GET /extensions HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
    const { status, error } = rawBody(r.text);
    expect(status).toBe(431);
    expect(error.code).toBe('HEADERS_TOO_LARGE');
  });

  test('per-token concurrency: a third request in flight for one token gets 429 with Retry-After; other tokens do not', async () => {
    const head = `POST /extensions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.writer}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":`;
    const stalled = [stall(tight.url, head), stall(tight.url, head)];
    // Wait until both are in flight (their headers are read at once), then try a third.
    let third: SentResponse | undefined;
    for (let i = 0; i < 50; i++) {
      third = await send(`${tight.url}/extensions`, { headers: auth(tokens.writer) });
      if (third.status === 429) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(third?.status).toBe(429);
    expect(third?.headers['retry-after']).toBe('1');
    expect(errorOf(third as SentResponse).code).toBe('TOO_MANY_REQUESTS');
    expect((await send(`${tight.url}/extensions`, { headers: auth(tokens.other) })).status).toBe(200);
    expect((await send(`${tight.url}/healthz`)).status).toBe(200);
    for (const s of await Promise.all(stalled)) expect(rawBody(s.text).status).toBe(408);
    // Once they are gone, the token may send again.
    expect((await send(`${tight.url}/extensions`, { headers: auth(tokens.writer) })).status).toBe(200);
  });
});

describe('strict, lossless input', () => {
  const post = (body: string, type: Record<string, string>, token = tokens.writer, path = '/extensions'): Promise<SentResponse> =>
    send(reg.url + path, { method: 'POST', headers: { ...auth(token), ...type }, body });

  test('duplicate keys: 400 in JSON as in YAML', async () => {
    const j = await post('{"id":"dup","product":"p","product":"q","version":"1"}', JSON_T);
    expect(j.status).toBe(400);
    expect(errorOf(j).message).toMatch(/duplicate key "product" at \/product/);
    const y = await post('id: dup\nproduct: p\nversion: "1"\nproduct: q\n', YAML);
    expect(y.status).toBe(400);
    expect(errorOf(y).message).toMatch(/duplicate key "product"/);
  });

  test('reserved keys are refused with a 400 naming them, never dropped', async () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const body = { id: 'res', product: 'p', version: '1', services: [{ id: 's', resource: 'r', credentials: [{ id: 'c', scope: 'global', configuration: { [key]: 'v', OK: 'x' } }] }] };
      const j = await post(JSON.stringify(body), JSON_T);
      expect(j.status).toBe(400);
      expect(errorOf(j).message).toContain(`reserved key "${key}" at /services/0/credentials/0/configuration/${key}`);
      const y = await post(`id: res\nproduct: p\nversion: "1"\nconfiguration:\n  ${key}: v\n`, YAML);
      expect(y.status).toBe(400);
      expect(errorOf(y).message).toContain(`reserved key "${key}"`);
    }
    expect((await send(`${reg.url}/extensions/res`, { headers: auth(tokens.reader) })).status).toBe(404);
  });

  test('exactly one YAML document', async () => {
    const r = await post('id: one\nproduct: p\nversion: "1"\n---\nid: two\nproduct: p\nversion: "1"\n', YAML);
    expect(r.status).toBe(400);
    expect(errorOf(r).message).toMatch(/2 documents/);
  });

  test('declared media types only: text/plain and form data get 415; YAML types and no type are YAML', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/vnd.foo+json', 'text/x-yaml']) {
      const r = await post('id: t\nproduct: p\nversion: "1"\n', { 'content-type': type });
      expect(r.status, type).toBe(415);
      expect(errorOf(r).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    for (const [i, type] of ['application/yaml', 'application/x-yaml', 'text/yaml'].entries()) {
      expect((await post(`id: t${i}\nproduct: p\nversion: "1"\n`, { 'content-type': type })).status, type).toBe(201);
    }
    expect((await send(`${reg.url}/extensions`, { method: 'POST', headers: auth(tokens.writer), body: 'id: t9\nproduct: p\nversion: "1"\n' })).status).toBe(201);
  });

  test('charset: UTF-8 accepted, anything else 415; bytes that are not UTF-8 400', async () => {
    expect((await post('{"id":"cs","product":"p","version":"1"}', { 'content-type': 'application/json; charset=UTF-8' })).status).toBe(201);
    const latin = await post('{"id":"cs2","product":"p","version":"1"}', { 'content-type': 'application/json; charset=iso-8859-1' });
    expect(latin.status).toBe(415);
    expect(errorOf(latin).message).toMatch(/charset "iso-8859-1"/);
    const bad = await new Promise<SentResponse>((resolve, reject) => {
      // Raw bytes: 0xff is never valid UTF-8.
      import('node:http').then(({ request }) => {
        const req = request(`${reg.url}/extensions`, { method: 'POST', headers: { ...auth(tokens.writer), ...JSON_T } }, (res) => {
          const c: Buffer[] = [];
          res.on('data', (d) => c.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(c).toString() }));
        });
        req.on('error', reject);
        req.end(Buffer.concat([Buffer.from('{"id":"u","product":"'), Buffer.from([0xff]), Buffer.from('","version":"1"}')]));
      }, reject);
    });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).message).toMatch(/not valid UTF-8/);
  });

  test('TRACE and other unsupported methods: 405 with Allow; unknown paths 404', async () => {
    for (const method of ['TRACE', 'PATCH', 'OPTIONS']) {
      const r = await send(`${reg.url}/extensions`, { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('POST, GET');
      expect(errorOf(r).code).toBe('METHOD_NOT_ALLOWED');
    }
    const one = await send(`${reg.url}/extensions/x`, { method: 'POST' });
    expect(one.status).toBe(405);
    expect(String(one.headers.allow).split(', ').sort()).toEqual(['DELETE', 'GET', 'PUT']);
    expect((await send(`${reg.url}/nope`, { method: 'TRACE' })).status).toBe(404);
  });

  test('weak If-Match never matches (412); the strong ETag does', async () => {
    const created = await post('{"id":"etag","product":"p","version":"1"}', JSON_T);
    expect(created.status).toBe(201);
    const etag = String(created.headers.etag);
    const weak = await send(`${reg.url}/extensions/etag`, { method: 'PUT', headers: { ...auth(tokens.writer), ...JSON_T, 'if-match': `W/${etag}` }, body: '{"description":"d"}' });
    expect(weak.status).toBe(412);
    expect(errorOf(weak).message).toMatch(/weak entity tag/);
    const strong = await send(`${reg.url}/extensions/etag`, { method: 'PUT', headers: { ...auth(tokens.writer), ...JSON_T, 'if-match': etag }, body: '{"description":"d"}' });
    expect(strong.status).toBe(200);
  });

  test('--log writes no query values', async () => {
    const marker = `secret-${randomToken()}`;
    expect((await send(`${tight.url}/extensions?product=${marker}&reveal=false`, { headers: auth(tokens.reader) })).status).toBe(200);
    let logged = '';
    for (let i = 0; i < 50 && !logged.includes('/extensions?product='); i++) {
      await new Promise((r) => setTimeout(r, 20));
      logged = tight.stderr.join('\n');
    }
    expect(logged).toContain('/extensions?product=…&reveal=…');
    expect(logged).not.toContain(marker);
  });
});

test('every curl example in docs/registry.md that sends a body names its Content-Type', async () => {
  const doc = await readFile(`${ROOT}/docs/registry.md`, 'utf8');
  const commands = doc
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => /^\s*curl\s/.test(l));
  const withBody = commands.filter((c) => /\s(-d|--data|--data-binary|--data-raw)\s/.test(c));
  expect(withBody.length).toBeGreaterThan(1);
  for (const c of withBody) expect(c, c).toMatch(/-H '?"?Content-Type: application\/(json|yaml)/i);
});
