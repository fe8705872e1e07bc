/** The got-based client against small fake HTTP servers: retries, backoff, typed errors. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { RegistryClient, RegistryError } from '../../src/registry/client.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function fake(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ url: string; calls: () => number }> {
  let n = 0;
  server = createServer((req, res) => {
    n++;
    req.resume();
    req.on('end', () => handler(req, res, n));
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => n };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const TOKEN = 'secret-token-0123456789';
const client = (url: string, o: object = {}) => new RegistryClient({ url, token: TOKEN, backoffMs: 5, retries: 3, ...o });

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(RegistryError);
  return e as RegistryError;
}

describe('RegistryClient', () => {
  test('sends the bearer token and reads the revision from ETag', async () => {
    let auth: string | undefined;
    const f = await fake((req, res) => {
      auth = req.headers.authorization;
      json(res, 200, { id: 'x' }, { etag: '"4"' });
    });
    const r = await client(f.url).request('GET', '/extensions/x');
    expect(auth).toBe(`Bearer ${TOKEN}`);
    expect(r).toMatchObject({ status: 200, body: { id: 'x' }, revision: 4 });
  });

  test('retries a GET on 503 with backoff, then succeeds', async () => {
    const f = await fake((_req, res, n) => (n < 3 ? json(res, 503, { error: { code: 'X', message: 'busy' } }) : json(res, 200, [])));
    expect(await client(f.url).listExtensions()).toEqual([]);
    expect(f.calls()).toBe(3);
  });

  test('gives up after the retries with the server message and status', async () => {
    const f = await fake((_req, res) => json(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } }));
    const e = await failure(client(f.url).getExtension('x'));
    expect(f.calls()).toBe(4);
    expect(e).toMatchObject({ code: 'REGISTRY', status: 500 });
    expect(e.message).toMatch(/GET \/extensions\/x: 500 internal error/);
  });

  test('no retry on 4xx; codes map to FusemlError codes', async () => {
    for (const [status, code] of [[400, 'VALIDATION'], [401, 'FORBIDDEN'], [403, 'FORBIDDEN'], [404, 'NOT_FOUND'], [409, 'CONFLICT'], [412, 'CONFLICT']] as const) {
      const f = await fake((_req, res) => json(res, status, { error: { code: 'C', message: `m${status}` } }));
      const e = await failure(client(f.url).updateExtension('x', { zone: 'z' }, { ifMatch: 2 }));
      expect(f.calls()).toBe(1);
      expect(e).toMatchObject({ code, status, serverCode: 'C' });
      expect(e.message).toContain(`m${status}`);
      await new Promise((r) => server?.close(r));
      server = undefined;
    }
  });

  test('a POST is not retried on a 500 (it may have been applied), but is on 503', async () => {
    const f = await fake((_req, res) => json(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } }));
    await failure(client(f.url).registerExtension({ id: 'x' }));
    expect(f.calls()).toBe(1);
    await new Promise((r) => server?.close(r));
    const g = await fake((_req, res, n) => (n === 1 ? json(res, 503, {}) : json(res, 201, { id: 'x' })));
    expect(await client(g.url).registerExtension({ id: 'x' })).toEqual({ id: 'x' });
    expect(g.calls()).toBe(2);
  });

  test('connection refused: retried, then REGISTRY with a hint; the token is never in the message', async () => {
    const e = await failure(client('http://127.0.0.1:1').listExtensions());
    expect(e.code).toBe('REGISTRY');
    expect(e.status).toBeUndefined();
    expect(e.message).toMatch(/cannot connect \(ECONNREFUSED\)/);
    expect(e.hint).toMatch(/FUSEML_SERVER_URL/);
    expect(`${e.message} ${e.hint}`).not.toContain(TOKEN);
  });

  test('timeout → TIMEOUT', async () => {
    const f = await fake((_req, res) => setTimeout(() => json(res, 200, []), 500));
    const e = await failure(client(f.url, { timeoutMs: 50, retries: 0 }).listExtensions());
    expect(e.code).toBe('TIMEOUT');
  });

  test('paths are URL-encoded; query and If-Match are sent', async () => {
    const seen: string[] = [];
    const f = await fake((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['if-match'] ?? ''}`);
      res.writeHead(204).end();
    });
    const c = client(f.url);
    await c.deleteEndpoint('e', 's', 'http://a:1/x?y=1', { ifMatch: 3 });
    await c.listExtensions({ version: '>=1.0,<1.1', product: undefined }, { reveal: true });
    expect(seen).toEqual([
      'DELETE /extensions/e/services/s/endpoints/http%3A%2F%2Fa%3A1%2Fx%3Fy%3D1 "3"',
      'GET /extensions?version=%3E%3D1.0%2C%3C1.1&reveal=true ',
    ]);
  });

  test('rejects a non-http URL', () => {
    expect(() => new RegistryClient({ url: 'file:///etc/passwd' })).toThrow(/http/);
    expect(() => new RegistryClient({ url: 'not a url' })).toThrow(/not a registry URL/);
  });
});
