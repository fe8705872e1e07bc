/**
 * The real `fuseml-registry serve` process (built dist) on a random port with a
 * temp SQLite file, driven over a real socket through the registry client.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { RegistryClient, RegistryError } from '../../src/registry/client.js';
import { run } from '../../src/exec/index.js';
import { REGISTRY_BIN, randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const SECRET = `planted-${randomToken()}`;
const PROJECT_SECRET = `planted-project-${randomToken()}`;
const tokens = { writer: randomToken(), reader: randomToken(), resolver: randomToken() };
const config = `
tokens:
  - { name: installer, role: writer, token: ${tokens.writer} }
  - { name: viewer, role: reader, token: ${tokens.reader} }
  - { name: ci, role: resolver, token: ${tokens.resolver}, projects: [team-a] }
`;

const record: ExtensionRecord = {
  id: 'mlflow',
  product: 'mlflow',
  version: '1.20.2',
  services: [
    {
      id: 'mlflow-tracking',
      resource: 'mlflow-tracking',
      category: 'experiment-tracking',
      endpoints: [{ url: 'http://mlflow.mlflow.svc:5000', type: 'internal' , configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.mlflow.svc:5000' } }],
    },
    {
      id: 'mlflow-store',
      resource: 's3',
      category: 'model-store',
      credentials: [
        { id: 'default', scope: 'global' , default: true, configuration: { AWS_ACCESS_KEY_ID: 'minio', AWS_SECRET_ACCESS_KEY: SECRET } },
        { id: 'team-a', scope: 'project' , projects: ['team-a'], configuration: { AWS_SECRET_ACCESS_KEY: PROJECT_SECRET } },
      ],
    },
  ],
};

let reg: RegistryProcess;
let tempDir: string;
let admin: RegistryClient;
const as = (token: string | undefined) => new RegistryClient({ url: reg.url, token, retries: 0 });

async function expectError(p: Promise<unknown>, status: number): Promise<RegistryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).status).toBe(status);
  return err as RegistryError;
}

async function fileBytesContain(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await readdir(dir)) {
    if (!f.startsWith('registry.db')) continue;
    const bytes = await readFile(join(dir, f));
    if (bytes.includes(Buffer.from(needle))) hits.push(f);
  }
  return hits;
}

beforeAll(async () => {
  reg = await startRegistry({ config });
  tempDir = reg.dir;
  admin = as(reg.adminToken);
});
afterAll(async () => {
  await reg?.cleanup();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

describe('fuseml-registry serve over a real socket', () => {
  test('healthz and openapi.json need no token', async () => {
    expect(await as(undefined).health()).toEqual({ status: 'ok' });
    const doc = (await as(undefined).request<{ openapi: string; paths: object }>('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/extensions/{id}/record');
  });

  test('every route: extensions, services, endpoints, credentials', async () => {
    const w = as(tokens.writer);
    const created = await w.registerExtension(record);
    expect(created.revision).toBe(1);
    await expectError(w.registerExtension(record), 409);
    expect((await w.listExtensions()).map((e) => e.id)).toEqual(['mlflow']);
    expect((await w.getExtension('mlflow')).product).toBe('mlflow');
    expect((await w.updateExtension('mlflow', { zone: 'dev' }, { ifMatch: 1 })).revision).toBe(2);
    await expectError(w.updateExtension('mlflow', { zone: 'x' }, { ifMatch: 1 }), 412);
    await expectError(w.updateExtension('absent', { zone: 'x' }), 404);

    expect((await w.addService('mlflow', { id: 'extra', resource: 'r' })).id).toBe('extra');
    expect((await w.listServices('mlflow')).map((s) => s.id)).toEqual(['mlflow-tracking', 'mlflow-store', 'extra']);
    expect((await w.updateService('mlflow', 'extra', { category: 'c' })).category).toBe('c');
    expect((await w.getService('mlflow', 'extra')).revision).toBe(2);

    const url = 'https://extra.example.com:8443/api?x=1&y=%2F';
    expect((await w.addEndpoint('mlflow', 'extra', { url, type: 'external' })).url).toBe(url);
    expect((await w.getEndpoint('mlflow', 'extra', url)).type).toBe('external');
    expect((await w.updateEndpoint('mlflow', 'extra', url, { configuration: { K: 'v' } })).configuration).toEqual({ K: 'v' });
    expect(await w.listEndpoints('mlflow', 'extra')).toHaveLength(1);
    await w.deleteEndpoint('mlflow', 'extra', url);
    await expectError(w.getEndpoint('mlflow', 'extra', url), 404);

    expect((await w.addCredentials('mlflow', 'extra', { id: 'c', scope: 'user', users: ['bob'], configuration: { T: 'x' } })).configuration).toEqual({ T: '<hidden>' });
    // a writer may widen a set only when it sends its values again (docs/registry.md, "Re-scoping credentials")
    await expectError(w.updateCredentials('mlflow', 'extra', 'c', { users: ['bob', 'carol'] }), 403);
    expect((await w.updateCredentials('mlflow', 'extra', 'c', { users: ['bob', 'carol'], configuration: { T: 'y' } })).users).toEqual(['bob', 'carol']);
    expect((await w.getCredentials('mlflow', 'extra', 'c')).id).toBe('c');
    expect(await w.listCredentials('mlflow', 'extra')).toHaveLength(1);
    await w.deleteCredentials('mlflow', 'extra', 'c');
    await w.deleteService('mlflow', 'extra');
    await expectError(w.getService('mlflow', 'extra'), 404);

    expect((await w.query({ service_resource: 's3' }))[0]?.services?.map((s) => s.id)).toEqual(['mlflow-store']);
    expect(await w.query({ version: '>=1.0,<1.1' })).toEqual([]);
    expect(await w.query({ version: '>=1.20,<2' })).toHaveLength(1);
  });

  test('masking, roles and scopes', async () => {
    const dump = async (c: RegistryClient, reveal = false) => JSON.stringify(await c.getExtension('mlflow', { reveal }));
    for (const t of [tokens.reader, tokens.writer, tokens.resolver, reg.adminToken]) {
      const text = await dump(as(t));
      expect(text).not.toContain('planted');
      expect(text).toContain('<hidden>');
    }
    expect(await dump(admin, true)).toContain(SECRET);
    const resolver = await dump(as(tokens.resolver), true);
    expect(resolver).toContain(SECRET);
    expect(resolver).toContain(PROJECT_SECRET);
    await expectError(as(tokens.reader).getExtension('mlflow', { reveal: true }), 403);
    await expectError(as(tokens.writer).listCredentials('mlflow', 'mlflow-store', { reveal: true }), 403);
    await expectError(as(tokens.reader).deleteExtension('mlflow'), 403);
    const e = await expectError(as(undefined).listExtensions(), 401);
    expect(e.code).toBe('FORBIDDEN');
    const bad = await expectError(as('not-a-valid-token-xxxxxxxx').listExtensions(), 401);
    expect(bad.message).not.toContain('not-a-valid-token');
  });

  test('upsert: create, idempotent, replace; If-Match', async () => {
    const w = as(tokens.writer);
    const rec = { id: 'kserve', product: 'kserve', version: '0.7.0', services: [{ id: 'kserve-api', resource: 'kserve-api', category: 'prediction-serving' }] };
    const a = await w.upsertExtension(rec);
    expect(a.created).toBe(true);
    const b = await w.upsertExtension(rec);
    expect(b).toMatchObject({ created: false, record: { revision: 1 } });
    const c = await w.upsertExtension({ ...rec, version: '0.8.0' }, { ifMatch: 1 });
    expect(c.record.revision).toBe(2);
    await expectError(w.upsertExtension({ ...rec, version: '0.9.0' }, { ifMatch: 1 }), 412);
    await w.deleteExtension('kserve', { ifMatch: 2 });
  });

  test('credential values are encrypted at rest (db and WAL files)', async () => {
    expect(await fileBytesContain(reg.dir, SECRET)).toEqual([]);
    expect(await fileBytesContain(reg.dir, PROJECT_SECRET)).toEqual([]);
    expect(await fileBytesContain(reg.dir, 'AWS_ACCESS_KEY_ID')).not.toEqual([]); // keys stay readable: the check is meaningful
  });

  test('bad input over the socket: 4xx with an error body, never a 500', async () => {
    const h = { authorization: `Bearer ${reg.adminToken}` };
    // node:http rather than fetch: the server may answer 413 before a 10 MB upload is finished, and then the
    // response counts, not the write error that follows.
    const send = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(reg.url + path, { method, headers: { ...h, ...headers } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', (err) => setTimeout(() => reject(err), 2000)); // only if no response arrives
        req.end(body);
      });
    const corpus: Array<[string, string, (string | Buffer)?, Record<string, string>?]> = [
      ['POST', '/extensions', 'id: [oops'],
      ['POST', '/extensions', '{"id":', { 'content-type': 'application/json' }],
      ['POST', '/extensions', Buffer.alloc(10 * 1024 * 1024, 97), { 'content-type': 'application/yaml' }],
      ['POST', '/extensions', JSON.stringify({ id: 'x'.repeat(101) }), { 'content-type': 'application/json' }],
      ['POST', '/extensions', JSON.stringify({ id: '../etc' }), { 'content-type': 'application/json' }],
      ['POST', '/extensions', JSON.stringify({ id: 'ok', services: [{ id: 's' }, { id: 's' }] }), { 'content-type': 'application/json' }],
      ['POST', '/extensions', Buffer.from([0xff, 0xfe, 0x00, 0x41])],
      ['GET', '/extensions/mlflow/services/mlflow-store/endpoints/%E0%A4%A'],
      ['GET', '/extensions/mlflow/services/mlflow-store/endpoints/%C0%AF'],
      ['GET', '/extensions/a%2F..%2Fb'],
      ['PUT', '/extensions/mlflow', 'zone: [', {}],
      ['DELETE', '/extensions/mlflow/services/mlflow-store/credentials/a%20b'],
    ];
    const before = JSON.stringify(await admin.listExtensions({}, { reveal: true }));
    for (const [method, path, body, headers] of corpus) {
      const r = await send(method, path, body, headers);
      expect(r.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${method} ${path}`).toBeLessThan(500);
      expect(JSON.parse(r.text).error.message).toEqual(expect.any(String));
    }
    expect(JSON.stringify(await admin.listExtensions({}, { reveal: true }))).toBe(before);
  });

  test('restart: data persists and secrets still decrypt; the wrong key refuses to start', async () => {
    const dir = reg.dir;
    const stopped = await reg.stop();
    expect(stopped?.exitCode).toBe(0);
    // nothing secret in what the server printed
    const printed = `${stopped?.stdout ?? ''}\n${reg.stderr.join('\n')}`;
    for (const s of [SECRET, PROJECT_SECRET, reg.adminToken ?? '', ...Object.values(tokens)]) expect(printed).not.toContain(s);
    expect(printed).toMatch(/SIGTERM: shutting down/);
    expect(await fileBytesContain(dir, SECRET)).toEqual([]);

    await expect(startRegistry({ dir, config, env: { FUSEML_REGISTRY_KEY: Buffer.alloc(32, 7).toString('base64') } })).rejects.toThrow(
      /encryption key does not match/,
    );

    const old = reg;
    reg = await startRegistry({ dir, config });
    const again = new RegistryClient({ url: reg.url, token: reg.adminToken });
    const rec = await again.getExtension('mlflow', { reveal: true });
    expect(JSON.stringify(rec)).toContain(SECRET);
    expect(rec.zone).toBe('dev');
    void old; // stopped above; its temp dir (shared with the new process) is removed in afterAll
  });
});

describe('fuseml-registry: other modes', () => {
  test('FUSEML_REGISTRY_IN_PROCESS=1 serves on the main thread and stops cleanly', async () => {
    const r = await startRegistry({ env: { FUSEML_REGISTRY_IN_PROCESS: '1' } });
    try {
      expect(await new RegistryClient({ url: r.url, token: r.adminToken }).listExtensions()).toEqual([]);
      expect((await r.stop())?.exitCode).toBe(0);
      expect(r.stderr.join('\n')).toMatch(/SIGTERM: shutting down/);
    } finally {
      await r.cleanup();
    }
  });

  test('hash-token prints the SHA-256 of the token on stdin', async () => {
    const token = randomToken();
    const res = await run(process.execPath, [REGISTRY_BIN, 'hash-token'], { input: `${token}\n`, secrets: [token] });
    expect(res.stdout.trim()).toBe(createHash('sha256').update(token).digest('hex'));
    const short = await run(process.execPath, [REGISTRY_BIN, 'hash-token'], { input: 'short\n', allowFailure: true });
    expect(short.exitCode).toBe(2);
  });
});
