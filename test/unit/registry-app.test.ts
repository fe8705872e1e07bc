/** The registry app in memory (app.inject) over an in-memory SQLite store. */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { tokenEntry, type AuthConfig, type Role } from '../../src/registry/auth.js';
import { createRegistryApp } from '../../src/registry/server/app.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';

const T: Record<Role, string> = {
  admin: 'admin-token-0123456789',
  writer: 'writer-token-0123456789',
  reader: 'reader-token-0123456789',
  resolver: 'resolver-token-0123456789',
};
const auth = (anonymous?: Role): AuthConfig => ({
  anonymous,
  tokens: [
    tokenEntry({ name: 'a', role: 'admin' }, T.admin),
    tokenEntry({ name: 'w', role: 'writer' }, T.writer),
    tokenEntry({ name: 'r', role: 'reader' }, T.reader),
    tokenEntry({ name: 'res', role: 'resolver', projects: ['team-a'], users: ['alice'] }, T.resolver),
  ],
});

const MLFLOW = `
id: mlflow
product: mlflow
version: 1.20.2
zone: dev
services:
  - id: mlflow-tracking
    resource: mlflow-tracking
    category: experiment-tracking
    endpoints:
      - url: http://mlflow.mlflow.svc:5000
        type: internal
        configuration: { MLFLOW_TRACKING_URI: http://mlflow.mlflow.svc:5000 }
  - id: mlflow-store
    resource: s3
    category: model-store
    auth_required: true
    endpoints:
      - url: http://minio.mlflow.svc:9000
        type: internal
    credentials:
      - id: global-s3
        scope: global
        default: true
        configuration: { AWS_ACCESS_KEY_ID: AKIAGLOBAL, AWS_SECRET_ACCESS_KEY: planted-global-secret }
      - id: team-a-s3
        scope: project
        projects: [team-a]
        configuration: { AWS_SECRET_ACCESS_KEY: planted-team-a-secret }
      - id: bob-s3
        scope: user
        users: [bob]
        configuration: { AWS_SECRET_ACCESS_KEY: planted-bob-secret }
`;

let store: SqliteStore;
let app: FastifyInstance;

async function req(o: InjectOptions & { as?: Role | null }) {
  const { as = 'admin', ...rest } = o;
  const headers = { ...(rest.headers ?? {}) } as Record<string, string>;
  if (as) headers.authorization = `Bearer ${T[as]}`;
  const r = await app.inject({ ...rest, headers });
  let body: unknown;
  try {
    body = r.body ? JSON.parse(r.body) : undefined;
  } catch {
    body = r.body;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience
  return { status: r.statusCode, body: body as any, headers: r.headers, raw: r.body };
}

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
  app = await createRegistryApp({ store, auth: auth() });
});
afterEach(async () => {
  await app.close();
  await store.close();
});

const register = () => req({ method: 'POST', url: '/extensions', payload: MLFLOW });

describe('extensions', () => {
  test('register from YAML (no Content-Type), read back as JSON or YAML, 409 on duplicate', async () => {
    const r = await register();
    expect(r.status).toBe(201);
    expect(r.headers.etag).toBe('"1"');
    expect(r.headers.location).toBe('/extensions/mlflow');
    expect(r.body.revision).toBe(1);
    expect(r.raw).not.toContain('planted');
    expect((await register()).status).toBe(409);

    const y = await req({ method: 'GET', url: '/extensions/mlflow', headers: { accept: 'application/yaml' } });
    expect(y.headers['content-type']).toMatch(/yaml/);
    const doc = parse(y.raw);
    expect(doc.services[1].credentials[0].configuration.AWS_SECRET_ACCESS_KEY).toBe('<hidden>');
    expect(doc.services[0].endpoints[0].extension_id).toBe('mlflow');
  });

  test("a create's answer is the record as a listing sends it; YAML when asked for", async () => {
    const r = await register();
    expect(r.status).toBe(201);
    const listed = await req({ method: 'GET', url: '/extensions?product=mlflow' });
    expect(r.body).toEqual(listed.body[0]);
    expect(r.body.services[1].credentials[0].configuration.AWS_SECRET_ACCESS_KEY).toBe('<hidden>');
    const y = await req({ method: 'POST', url: '/extensions', payload: MLFLOW.replace('id: mlflow\n', 'id: mlflow-2\n'), headers: { accept: 'application/yaml' } });
    expect(y.status).toBe(201);
    expect(y.headers['content-type']).toMatch(/yaml/);
    expect(y.headers.etag).toBe('"1"');
    const doc = parse(y.raw);
    expect(doc.id).toBe('mlflow-2');
    expect(doc.services[1].credentials[0].configuration.AWS_SECRET_ACCESS_KEY).toBe('<hidden>');
  });

  test('fuseml-core status fields: accepted on input, set by the registry', async () => {
    const body = { id: 'x', status: { registered: '2021-01-01T00:00:00Z', updated: '2021-01-01T00:00:00Z' }, services: [{ id: '', status: { registered: '2021-01-01T00:00:00Z' }, endpoints: [{ url: 'http://a', type: 'internal', status: {} }], credentials: [{ id: 'c', scope: 'global', status: { created: '2021-01-01T00:00:00Z' } }] }] };
    const r = await req({ method: 'POST', url: '/extensions', payload: body });
    expect(r.status).toBe(201);
    // The times, once, in fuseml-core's status and format (Go's time.RFC3339: UTC, whole seconds); none on top.
    const at = r.body.status.registered as string;
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(at).not.toBe('2021-01-01T00:00:00Z');
    expect(r.body.status).toEqual({ registered: at, updated: at });
    expect(r.body).not.toHaveProperty('created');
    expect(r.body).not.toHaveProperty('updated');
    // fuseml-core's format: no resource and no product → 8 characters of Kubernetes' random-name alphabet
    expect(r.body.services[0].id).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{8}$/);
    expect(r.body.services[0].status).toEqual({ registered: at, updated: at });
    expect(r.body.services[0].endpoints[0].status).toEqual({});
    expect(r.body.services[0].endpoints[0]).not.toHaveProperty('created');
    expect(r.body.services[0].credentials[0].status).toEqual({ created: at, updated: at });
    const u = await req({ method: 'PUT', url: '/extensions/x', payload: { status: { installed: true, registered: '1999-01-01T00:00:00Z' } } });
    expect(u.body.status).toEqual({ installed: true, registered: at, updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect(u.body.revision).toBe(r.body.revision + 1);
    // sending back what was read changes nothing, also with the top-level times an earlier registry sent (ignored)
    const again = await req({ method: 'PUT', url: '/extensions/x/record', payload: u.body });
    expect(again.body.revision).toBe(u.body.revision);
    const old = '1999-01-01T00:00:00.000Z';
    const legacy = { ...u.body, created: old, updated: old, services: u.body.services.map((s: Record<string, unknown>) => ({ ...s, created: old, updated: old })) };
    const fromOld = await req({ method: 'PUT', url: '/extensions/x/record', payload: legacy });
    expect(fromOld.status).toBe(200);
    expect(fromOld.body.revision).toBe(u.body.revision);
    expect(fromOld.body).not.toHaveProperty('created');
    expect(fromOld.body.status).toEqual(u.body.status);
    const patched = await req({ method: 'PUT', url: '/extensions/x', payload: { description: 'd', created: old, updated: old } });
    expect(patched.status).toBe(200);
    expect(patched.body).not.toHaveProperty('updated');
    expect(patched.body.status.registered).toBe(at);
  });

  test('register from JSON; ids generated when absent', async () => {
    const r = await req({ method: 'POST', url: '/extensions', payload: { product: 'seldon-core', version: '1.11.0' } });
    expect(r.status).toBe(201);
    expect(r.body.id).toMatch(/^seldon-core-[bcdfghjklmnpqrstvwxz2456789]{8}$/);
  });

  test('PUT is a partial update (fuseml-core), 404 when absent, If-Match → 412', async () => {
    await register();
    const u = await req({ method: 'PUT', url: '/extensions/mlflow', payload: { description: 'tracking', zone: 'prod' } });
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ description: 'tracking', zone: 'prod', product: 'mlflow', revision: 2 });
    expect(u.body.services).toHaveLength(2);
    expect((await req({ method: 'PUT', url: '/extensions/nope', payload: { zone: 'x' } })).status).toBe(404);
    const stale = await req({ method: 'PUT', url: '/extensions/mlflow', payload: { zone: 'y' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('PRECONDITION_FAILED');
    expect((await req({ method: 'PUT', url: '/extensions/mlflow', payload: { zone: 'y', revision: 1 } })).status).toBe(412);
    expect((await req({ method: 'PUT', url: '/extensions/mlflow', payload: { zone: 'y' }, headers: { 'if-match': '"2"' } })).status).toBe(200);
    expect((await req({ method: 'PUT', url: '/extensions/mlflow', payload: { services: [] } })).status).toBe(400);
  });

  test('DELETE → 204, then 404; If-Match checked', async () => {
    await register();
    expect((await req({ method: 'DELETE', url: '/extensions/mlflow', headers: { 'if-match': '"7"' } })).status).toBe(412);
    expect((await req({ method: 'DELETE', url: '/extensions/mlflow' })).status).toBe(204);
    expect((await req({ method: 'DELETE', url: '/extensions/mlflow' })).status).toBe(404);
    expect((await req({ method: 'GET', url: '/extensions/mlflow' })).status).toBe(404);
  });

  test('query: product, zone, version exact and ranges (comma), service filters prune services, GET body', async () => {
    await register();
    await req({ method: 'POST', url: '/extensions', payload: { id: 'mlflow-old', product: 'mlflow', version: '1.0.3', zone: 'prod', services: [{ id: 'tracking', resource: 'mlflow-tracking' }] } });
    await req({ method: 'POST', url: '/extensions', payload: { id: 'kserve', product: 'kserve', version: '0.7.0', services: [{ id: 'kserve-api', resource: 'kserve-api', category: 'prediction-serving' }] } });
    const ids = async (qs: string, payload?: string) =>
      (await req({ method: 'GET', url: `/extensions${qs}`, ...(payload ? { payload, headers: { 'content-type': 'application/yaml' } } : {}) })).body.map((e: { id: string }) => e.id);
    expect(await ids('')).toEqual(['kserve', 'mlflow', 'mlflow-old']);
    expect(await ids('?product=mlflow')).toEqual(['mlflow', 'mlflow-old']);
    expect(await ids('?product=mlflow&zone=prod')).toEqual(['mlflow-old']);
    expect(await ids('?version=1.0.3')).toEqual(['mlflow-old']);
    // one grammar with workflow requirements (src/core/version.ts): a partial version is a wildcard
    expect(await ids('?version=1.0')).toEqual(['mlflow-old']);
    expect(await ids('?version=1.1')).toEqual([]);
    expect(await ids(`?version=${encodeURIComponent('>=1.0,<1.1')}`)).toEqual(['mlflow-old']);
    expect(await ids(`?version=${encodeURIComponent('>=1.0')}&product=mlflow`)).toEqual(['mlflow', 'mlflow-old']);
    expect(await ids(`?version=${encodeURIComponent('>=v1.1,<v2.5')}`)).toEqual(['mlflow']);
    expect(await ids('?service_category=prediction-serving')).toEqual(['kserve']);
    expect(await ids('?extension_id=kserve')).toEqual(['kserve']);
    expect(await ids('', 'product: kserve\n')).toEqual(['kserve']);
    // the JSON fast path (unparsed stored documents) and the parsed path (YAML) give the same records
    for (const qs of ['', '?product=mlflow', `?version=${encodeURIComponent('>=1.0,<1.1')}`]) {
      const fast = (await req({ method: 'GET', url: `/extensions${qs}` })).body;
      const slow = parse((await req({ method: 'GET', url: `/extensions${qs}`, headers: { accept: 'application/yaml' } })).raw);
      expect(fast).toEqual(slow);
    }
    const pruned = await req({ method: 'GET', url: '/extensions?service_resource=s3' });
    expect(pruned.body).toHaveLength(1);
    expect(pruned.body[0].services.map((s: { id: string }) => s.id)).toEqual(['mlflow-store']);
    expect((await req({ method: 'GET', url: '/extensions?service_id=mlflow-tracking' })).body[0].services).toHaveLength(1);
    expect((await req({ method: 'GET', url: '/extensions?bogus=1' })).status).toBe(400);
    expect((await req({ method: 'GET', url: `/extensions?version=${encodeURIComponent('>=banana,<')}` })).status).toBe(400);
  });
});

describe('load seen by the store (Store.observeLoad)', () => {
  test('the count of admitted requests not yet answered: up while writes wait in the store, down once answered; refused ones never count', async () => {
    let probe: (() => number) | undefined;
    const seen: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const observed = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
    observed.observeLoad = (p) => (probe = p);
    const putMasked = observed.putMasked.bind(observed);
    observed.putMasked = async (record, expected) => {
      seen.push(probe?.() ?? -1);
      await held;
      return putMasked(record, expected);
    };
    const a = await createRegistryApp({ store: observed, auth: auth() });
    try {
      expect(probe?.()).toBe(0);
      expect((await a.inject({ method: 'POST', url: '/extensions', payload: { id: 'x' } })).statusCode).toBe(401);
      expect(probe?.()).toBe(0);
      const headers = { authorization: `Bearer ${T.writer}`, 'content-type': 'application/json' };
      const writes = ['one', 'two'].map((id) => a.inject({ method: 'POST', url: '/extensions', headers, payload: { id, product: 'p' } }));
      while (seen.length < 2) await new Promise((r) => setImmediate(r));
      expect(probe?.()).toBe(2); // both admitted, both waiting in the store
      release();
      expect((await Promise.all(writes)).map((r) => r.statusCode)).toEqual([201, 201]);
      expect(probe?.()).toBe(0);
    } finally {
      await a.close();
      await observed.close();
    }
  });
});

describe('services, endpoints, credentials', () => {
  test('full CRUD on every sub-resource', async () => {
    await req({ method: 'POST', url: '/extensions', payload: { id: 'minio', product: 'minio' } });
    const base = '/extensions/minio/services';
    expect((await req({ method: 'POST', url: base, payload: { id: 's3', resource: 's3', category: 'model-store' } })).status).toBe(201);
    expect((await req({ method: 'POST', url: base, payload: { id: 's3' } })).status).toBe(409);
    expect((await req({ method: 'POST', url: '/extensions/none/services', payload: { id: 's3' } })).status).toBe(404);
    expect((await req({ method: 'GET', url: base })).body).toHaveLength(1);
    const svc = await req({ method: 'PUT', url: `${base}/s3`, payload: { description: 'object store' } });
    expect(svc.body).toMatchObject({ description: 'object store', revision: 2 });
    expect((await req({ method: 'PUT', url: `${base}/s3`, payload: { category: 'x' }, headers: { 'if-match': '1' } })).status).toBe(412);

    const url = 'http://minio.minio.svc:9000/a?b=c';
    const eps = `${base}/s3/endpoints`;
    expect((await req({ method: 'POST', url: eps, payload: { url, type: 'internal' } })).status).toBe(201);
    expect((await req({ method: 'POST', url: eps, payload: { url, type: 'external' } })).status).toBe(409);
    expect((await req({ method: 'POST', url: eps, payload: { url: 'http://x', type: 'public' } })).status).toBe(400);
    const one = await req({ method: 'GET', url: `${eps}/${encodeURIComponent(url)}` });
    expect(one.body).toMatchObject({ url, type: 'internal', extension_id: 'minio', service_id: 's3' });
    expect((await req({ method: 'PUT', url: `${eps}/${encodeURIComponent(url)}`, payload: { type: 'external' } })).body.type).toBe('external');
    expect((await req({ method: 'GET', url: eps })).body).toHaveLength(1);
    expect((await req({ method: 'GET', url: `${eps}/${encodeURIComponent('http://other')}` })).status).toBe(404);
    expect((await req({ method: 'DELETE', url: `${eps}/${encodeURIComponent(url)}` })).status).toBe(204);
    expect((await req({ method: 'GET', url: eps })).body).toHaveLength(0);

    const cr = `${base}/s3/credentials`;
    const c = await req({ method: 'POST', url: cr, payload: { id: 'c1', scope: 'global', configuration: { SECRET: 'planted-c1' } } });
    expect(c.status).toBe(201);
    expect(c.body.configuration.SECRET).toBe('<hidden>');
    expect((await req({ method: 'POST', url: cr, payload: { id: 'c1', scope: 'global' } })).status).toBe(409);
    // fuseml-core accepts a project-scoped set without projects (its CLI never sends them): usable by no project
    expect((await req({ method: 'POST', url: cr, payload: { id: 'c2', scope: 'project' } })).status).toBe(201);
    expect((await req({ method: 'DELETE', url: `${cr}/c2` })).status).toBe(204);
    expect((await req({ method: 'GET', url: `${cr}/c1` })).body.configuration.SECRET).toBe('<hidden>');
    expect((await req({ method: 'GET', url: `${cr}/c1?reveal=true` })).body.configuration.SECRET).toBe('planted-c1');
    // <hidden> sent back keeps the stored value
    await req({ method: 'PUT', url: `${cr}/c1`, payload: { configuration: { SECRET: '<hidden>', OTHER: 'v' } } });
    expect((await req({ method: 'GET', url: `${cr}/c1?reveal=true` })).body.configuration).toEqual({ SECRET: 'planted-c1', OTHER: 'v' });
    // the merged record is validated again: a bad scope is a 400 (an empty users list is allowed, as in fuseml-core)
    expect((await req({ method: 'PUT', url: `${cr}/c1`, payload: { scope: 'team' } })).status).toBe(400);
    expect((await req({ method: 'GET', url: cr })).body).toHaveLength(1);
    expect((await req({ method: 'DELETE', url: `${cr}/c1` })).status).toBe(204);
    expect((await req({ method: 'DELETE', url: `${cr}/c1` })).status).toBe(404);
    expect((await req({ method: 'DELETE', url: `${base}/s3` })).status).toBe(204);
    expect((await req({ method: 'GET', url: `${base}/s3` })).status).toBe(404);
  });

  test('at most one default credentials per service', async () => {
    await register();
    const r = await req({ method: 'POST', url: '/extensions/mlflow/services/mlflow-store/credentials', payload: { id: 'd2', scope: 'global', default: true } });
    expect(r.status).toBe(400);
  });
});

describe('auth, roles and masking', () => {
  test('no token → 401, bad token → 401, reader cannot write, writer can', async () => {
    expect((await req({ method: 'GET', url: '/extensions', as: null })).status).toBe(401);
    expect((await req({ method: 'GET', url: '/extensions', as: null, headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    expect((await req({ method: 'GET', url: '/healthz', as: null })).status).toBe(200);
    expect((await req({ method: 'POST', url: '/extensions', payload: MLFLOW, as: 'reader' })).status).toBe(403);
    expect((await req({ method: 'POST', url: '/extensions', payload: MLFLOW, as: 'resolver' })).status).toBe(403);
    expect((await req({ method: 'POST', url: '/extensions', payload: MLFLOW, as: 'writer' })).status).toBe(201);
    expect((await req({ method: 'DELETE', url: '/extensions/mlflow', as: 'reader' })).status).toBe(403);
    expect((await req({ method: 'GET', url: '/extensions', as: 'reader' })).status).toBe(200);
  });

  test('--anonymous role applies to callers without a token', async () => {
    const anon = await createRegistryApp({ store, auth: auth('reader') });
    expect((await anon.inject({ method: 'GET', url: '/extensions' })).statusCode).toBe(200);
    expect((await anon.inject({ method: 'POST', url: '/extensions', payload: MLFLOW })).statusCode).toBe(403);
    await anon.close();
  });

  test('values hidden by default for everyone; reveal: admin all, resolver its scope, others 403', async () => {
    await register();
    const secrets = (body: unknown) => JSON.stringify(body).match(/planted-[a-z-]+/g) ?? [];
    for (const as of ['admin', 'writer', 'reader', 'resolver'] as const) {
      expect(secrets((await req({ method: 'GET', url: '/extensions/mlflow', as })).body)).toEqual([]);
    }
    expect(secrets((await req({ method: 'GET', url: '/extensions/mlflow?reveal=true', as: 'admin' })).body).sort()).toEqual([
      'planted-bob-secret',
      'planted-global-secret',
      'planted-team-a-secret',
    ]);
    // resolver bound to project team-a and user alice: global + team-a, not bob's
    expect(secrets((await req({ method: 'GET', url: '/extensions?reveal=true', as: 'resolver' })).body).sort()).toEqual(['planted-global-secret', 'planted-team-a-secret']);
    expect((await req({ method: 'GET', url: '/extensions/mlflow?reveal=true', as: 'reader' })).status).toBe(403);
    expect((await req({ method: 'GET', url: '/extensions/mlflow/services/mlflow-store/credentials?reveal=true', as: 'writer' })).status).toBe(403);
    expect((await req({ method: 'GET', url: '/extensions/mlflow/services/mlflow-store/credentials?reveal=1', as: 'admin' })).status).toBe(400);
  });

  test('store query for the resolver returns only the credentials in scope, in clear', async () => {
    await register();
    const [rec] = await store.listForResolver({ service_resource: 's3' }, { projects: [], users: ['bob'] });
    const creds = rec?.services?.find((s) => s.id === 'mlflow-store')?.credentials ?? [];
    expect(creds.map((c) => c.id).sort()).toEqual(['bob-s3', 'global-s3']);
    expect(creds.find((c) => c.id === 'bob-s3')?.configuration?.AWS_SECRET_ACCESS_KEY).toBe('planted-bob-secret');
  });
});

describe('upsert (PUT /extensions/{id}/record)', () => {
  test('creates (201), is idempotent (200, same content), replaces the whole record', async () => {
    const body = parse(MLFLOW);
    const c = await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: body });
    expect(c.status).toBe(201);
    const again = await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: body });
    expect(again.status).toBe(200);
    // It sends credential values: always a new revision (equal values must not be told apart by the revision).
    expect(again.body.revision).toBe(2);
    // Nested records' revisions are on their own routes (a representation carries its own record's only).
    expect(again.body.services[0]).not.toHaveProperty('revision');
    expect((await req({ method: 'GET', url: '/extensions/mlflow/services/mlflow-tracking' })).body.revision).toBe(1);
    expect((await req({ method: 'GET', url: '/extensions/mlflow/services/mlflow-store/credentials/global-s3' })).body.revision).toBe(2);
    expect({ ...again.body.services[0] }).toEqual(c.body.services[0]);
    // Sent back as read (values <hidden>): nothing changes, same revision.
    const masked = (await req({ method: 'GET', url: '/extensions/mlflow' })).body;
    const same = await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: masked });
    expect(same.status).toBe(200);
    expect(same.body.revision).toBe(2);
    expect(same.body.status.updated).toBe(again.body.status.updated);
    expect(same.body.services[1].credentials[0].status).toEqual(again.body.services[1].credentials[0].status);

    const changed = structuredClone(body);
    changed.services = [changed.services[0]];
    changed.services[0].endpoints[0].configuration.MLFLOW_TRACKING_URI = 'http://new:5000';
    const r = await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: changed });
    expect(r.status).toBe(200);
    expect(r.body.revision).toBe(3);
    expect(r.body.services).toHaveLength(1);
    expect((await req({ method: 'GET', url: '/extensions/mlflow/services/mlflow-tracking' })).body.revision).toBe(2);
    expect(r.body.services[0].status.registered).toBe(c.body.services[0].status.registered);
    expect((await req({ method: 'GET', url: '/extensions?service_resource=s3' })).body).toEqual([]);
  });

  test('If-Match / revision on upsert; id mismatch → 400; credential <hidden> keeps values', async () => {
    const body = parse(MLFLOW);
    await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: body });
    expect((await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: { ...body, zone: 'x' }, headers: { 'if-match': '"5"' } })).status).toBe(412);
    expect((await req({ method: 'PUT', url: '/extensions/other/record', payload: { id: 'other' }, headers: { 'if-match': '"1"' } })).status).toBe(412);
    expect((await req({ method: 'PUT', url: '/extensions/other/record', payload: body })).status).toBe(400);
    const masked = (await req({ method: 'GET', url: '/extensions/mlflow' })).body;
    masked.zone = 'prod';
    const r = await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: masked });
    expect(r.status).toBe(200);
    const revealed = (await req({ method: 'GET', url: '/extensions/mlflow?reveal=true' })).body;
    expect(revealed.services[1].credentials[0].configuration.AWS_SECRET_ACCESS_KEY).toBe('planted-global-secret');
    expect(revealed.zone).toBe('prod');
  });
});

/** The paths (`.services[0].revision`) of every `revision` in `v` below its top level. */
function nestedRevisions(v: unknown, at = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => nestedRevisions(x, `${at}[${i}]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [...(k === 'revision' && at !== '' && !/^\[\d+\]$/.test(at) ? [`${at}.${k}`] : []), ...nestedRevisions(x, `${at}.${k}`)]);
}

describe('revisions: a representation carries its own record\'s, nested records none', () => {
  const svc = '/extensions/mlflow/services/mlflow-store';
  const cred = `${svc}/credentials/global-s3`;
  const ep = `${svc}/endpoints/${encodeURIComponent('http://minio.mlflow.svc:9000')}`;

  test('every read route (JSON, YAML, revealed): its own record has revision (= ETag), nothing nested has one', async () => {
    await register();
    const own: [string, boolean][] = [
      ['/extensions', false],
      ['/extensions?product=mlflow', false],
      ['/extensions?service_resource=s3', false],
      ['/extensions/mlflow', true],
      ['/extensions/mlflow/services', false],
      [svc, true],
      [`${svc}/endpoints`, false],
      [ep, true],
      [`${svc}/credentials`, false],
      [cred, true],
    ];
    for (const [path, single] of own) {
      for (const variant of ['', 'yaml', 'reveal'] as const) {
        const url = variant === 'reveal' && !path.includes('endpoints') ? `${path}${path.includes('?') ? '&' : '?'}reveal=true` : path;
        const r = await req({ method: 'GET', url, headers: variant === 'yaml' ? { accept: 'application/yaml' } : {} });
        expect(r.status, url).toBe(200);
        const body = variant === 'yaml' ? parse(r.raw) : r.body;
        expect(nestedRevisions(body), `${url} ${variant}`).toEqual([]);
        const records = (single ? [body] : body) as { revision?: number }[];
        expect(records.length, url).toBeGreaterThan(0);
        for (const x of records) expect(x.revision, url).toEqual(expect.any(Number));
        if (single) expect(r.headers.etag, url).toBe(`"${body.revision}"`);
      }
    }
    // The read cache's second serve of the same body, too.
    expect(nestedRevisions((await req({ method: 'GET', url: '/extensions/mlflow' })).body)).toEqual([]);
  });

  test('write responses: an extension or service sent back without the revisions of what is nested in it', async () => {
    const created = await register();
    expect(created.body.revision).toBe(1);
    expect(nestedRevisions(created.body)).toEqual([]);
    const updated = await req({ method: 'PUT', url: '/extensions/mlflow', payload: { zone: 'prod' } });
    expect(updated.body.revision).toBe(2);
    expect(nestedRevisions(updated.body)).toEqual([]);
    const upserted = await req({ method: 'PUT', url: '/extensions/other/record', payload: { id: 'other', services: [{ id: 's', endpoints: [{ url: 'http://a', type: 'internal' }] }] } });
    expect(upserted.status).toBe(201);
    expect(nestedRevisions(upserted.body)).toEqual([]);
    const added = await req({ method: 'POST', url: '/extensions/mlflow/services', payload: { id: 'extra', endpoints: [{ url: 'http://b', type: 'internal' }], credentials: [{ id: 'c', scope: 'global' }] } });
    expect(added.status).toBe(201);
    expect(added.body.revision).toBe(1);
    expect(nestedRevisions(added.body)).toEqual([]);
    const patched = await req({ method: 'PUT', url: '/extensions/mlflow/services/extra', payload: { description: 'd' } });
    expect(patched.body.revision).toBe(2);
    expect(nestedRevisions(patched.body)).toEqual([]);
    // The nested records keep theirs: on their own routes.
    expect((await req({ method: 'GET', url: '/extensions/mlflow/services/extra/credentials/c' })).body.revision).toBe(1);
    expect((await req({ method: 'GET', url: `/extensions/mlflow/services/extra/endpoints/${encodeURIComponent('http://b')}` })).body.revision).toBe(1);
  });

  test('If-Match on a nested route with the revision read from that route; a credential change moves its service and extension', async () => {
    await register();
    const read = await req({ method: 'GET', url: cred });
    expect(read.body.revision).toBe(1);
    expect(read.headers.etag).toBe('"1"');
    const svcBefore = (await req({ method: 'GET', url: svc })).body.revision as number;
    const extBefore = (await req({ method: 'GET', url: '/extensions/mlflow' })).body.revision as number;
    const ok = await req({ method: 'PUT', url: cred, payload: { configuration: { AWS_ACCESS_KEY_ID: '<hidden>', AWS_SECRET_ACCESS_KEY: 'rotated' } }, headers: { 'if-match': read.headers.etag as string } });
    expect(ok.status).toBe(200);
    expect(ok.body.revision).toBe(2);
    expect(ok.headers.etag).toBe('"2"');
    // The same revision again is stale now: 412, nothing written.
    const stale = await req({ method: 'PUT', url: cred, payload: { configuration: { AWS_ACCESS_KEY_ID: '<hidden>', AWS_SECRET_ACCESS_KEY: 'lost' } }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect((await req({ method: 'GET', url: `${cred}?reveal=true` })).body.configuration.AWS_SECRET_ACCESS_KEY).toBe('rotated');
    // The credential change bumped the records above it: visible on their own routes (and in their ETags).
    const svcAfter = await req({ method: 'GET', url: svc });
    expect(svcAfter.body.revision).toBe(svcBefore + 1);
    expect(svcAfter.headers.etag).toBe(`"${svcBefore + 1}"`);
    const extAfter = await req({ method: 'GET', url: '/extensions/mlflow' });
    expect(extAfter.body.revision).toBe(extBefore + 1);
    expect(extAfter.headers.etag).toBe(`"${extBefore + 1}"`);
    // The service's If-Match is checked against the service's own revision, not the extension's or a nested one.
    expect((await req({ method: 'PUT', url: svc, payload: { description: 'x' }, headers: { 'if-match': `"${svcBefore}"` } })).status).toBe(412);
    expect((await req({ method: 'PUT', url: svc, payload: { description: 'x' }, headers: { 'if-match': `"${svcBefore + 1}"` } })).status).toBe(200);
    // An endpoint: read its revision from its route, update and delete with it.
    const e = await req({ method: 'GET', url: ep });
    expect(e.body.revision).toBe(1);
    const eu = await req({ method: 'PUT', url: ep, payload: { type: 'external' }, headers: { 'if-match': e.headers.etag as string } });
    expect(eu.status).toBe(200);
    expect((await req({ method: 'DELETE', url: ep, headers: { 'if-match': e.headers.etag as string } })).status).toBe(412);
    expect((await req({ method: 'DELETE', url: ep, headers: { 'if-match': eu.headers.etag as string } })).status).toBe(204);
  });

  test('a revision inside a nested record of a request body is accepted and ignored', async () => {
    await register();
    const masked = (await req({ method: 'GET', url: '/extensions/mlflow' })).body;
    const withNested = { ...masked, services: masked.services.map((s: Record<string, unknown>) => ({ ...s, revision: 99 })) };
    const same = await req({ method: 'PUT', url: '/extensions/mlflow/record', payload: withNested });
    expect(same.status).toBe(200);
    expect(same.body.revision).toBe(masked.revision);
    expect((await req({ method: 'GET', url: svc })).body.revision).toBe(1);
  });
});

describe('bad input: always 4xx with {"error":{code,message}}, never a 500, nothing written', () => {
  const cases: Array<[string, InjectOptions]> = [
    ['malformed YAML', { method: 'POST', url: '/extensions', payload: 'id: [unclosed' }],
    ['malformed JSON', { method: 'POST', url: '/extensions', payload: '{"id":', headers: { 'content-type': 'application/json' } }],
    ['YAML list', { method: 'POST', url: '/extensions', payload: '- a\n- b\n' }],
    ['scalar', { method: 'POST', url: '/extensions', payload: '42', headers: { 'content-type': 'application/json' } }],
    ['empty body', { method: 'POST', url: '/extensions', payload: '' }],
    ['wrong types', { method: 'POST', url: '/extensions', payload: { id: 'x', services: 'nope', version: 3 } }],
    ['unknown field', { method: 'POST', url: '/extensions', payload: { id: 'x', color: 'red' } }],
    ['id with /', { method: 'POST', url: '/extensions', payload: { id: 'a/b' } }],
    ['id ..', { method: 'POST', url: '/extensions', payload: { id: '..' } }],
    ['id with space', { method: 'POST', url: '/extensions', payload: { id: 'a b' } }],
    ['id 101 chars', { method: 'POST', url: '/extensions', payload: { id: 'a'.repeat(101) } }],
    ['unknown endpoint type', { method: 'POST', url: '/extensions', payload: { id: 'x', services: [{ id: 's', endpoints: [{ url: 'http://a', type: 'public' }] }] } }],
    ['unknown scope', { method: 'POST', url: '/extensions', payload: { id: 'x', services: [{ id: 's', credentials: [{ id: 'c', scope: 'world' }] }] } }],
    ['duplicate service ids', { method: 'POST', url: '/extensions', payload: { id: 'x', services: [{ id: 's' }, { id: 's' }] } }],
    ['duplicate YAML keys', { method: 'POST', url: '/extensions', payload: 'id: x\nid: y\n' }],
    ['unknown YAML tag', { method: 'POST', url: '/extensions', payload: 'id: !custom x\n' }],
    ['YAML alias bomb', { method: 'POST', url: '/extensions', payload: 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nid: x\n' }],
    ['10 MB body', { method: 'POST', url: '/extensions', payload: `id: x\ndescription: ${'a'.repeat(10 * 1024 * 1024)}\n` }],
    ['unsupported content type', { method: 'POST', url: '/extensions', payload: '<x/>', headers: { 'content-type': 'application/xml' } }],
    ['path id with space', { method: 'GET', url: '/extensions/a%20b' }],
    ['path id 101 chars', { method: 'GET', url: `/extensions/${'a'.repeat(101)}` }],
    ['endpoint url garbage encoding', { method: 'GET', url: '/extensions/x/services/s/endpoints/%E0%A4%A' }],
    ['endpoint url not a URL', { method: 'GET', url: '/extensions/x/services/s/endpoints/not%20a%20url' }],
    ['endpoint url with NUL', { method: 'DELETE', url: '/extensions/x/services/s/endpoints/http%3A%2F%2Fa%00b' }],
    ['bad If-Match', { method: 'PUT', url: '/extensions/x', payload: { zone: 'z' }, headers: { 'if-match': 'banana' } }],
    ['query given twice', { method: 'GET', url: '/extensions?product=a&product=b' }],
    ['GET body not a map', { method: 'GET', url: '/extensions', payload: '[1]', headers: { 'content-type': 'application/json' } }],
    ['unknown route', { method: 'GET', url: '/nothing' }],
    ['wrong method', { method: 'PATCH', url: '/extensions/x', payload: {} }],
    ['__proto__ key', { method: 'POST', url: '/extensions', payload: '{"id":"x","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } }],
  ];
  test.each(cases)('%s', async (_name, o) => {
    const r = await req(o);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.body.error.code).toEqual(expect.any(String));
    expect(r.body.error.message).toEqual(expect.any(String));
    expect(await store.count()).toBe(0);
  });
});

describe('unknown query parameters', () => {
  test('a misspelt one is named with the parameter it is near; otherwise the route\'s parameters are listed', async () => {
    const near = await req({ method: 'GET', url: '/extensions?service_resourse=s3' });
    expect(near.status).toBe(400);
    expect(near.body.error.message).toBe('unknown query parameter "service_resourse" (did you mean service_resource?)');
    const far = await req({ method: 'GET', url: '/extensions?colour=red' });
    expect(far.status).toBe(400);
    expect(far.body.error.message).toMatch(/^unknown query parameter "colour"; this route takes .*product.*service_resource.*reveal/);
    const none = await req({ method: 'GET', url: '/extensions/x/services?product=p' });
    expect(none.body.error.message).toMatch(/^unknown query parameter "product"; this route takes/);
  });
});

describe('meta', () => {
  test('every registered route is in openapi.json and vice versa', async () => {
    const doc = (await req({ method: 'GET', url: '/openapi.json', as: null })).body as { openapi: string; paths: Record<string, Record<string, unknown>>; components: unknown };
    expect(doc.openapi).toMatch(/^3\.1/);
    const documented = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((k) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(k))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    const served = app.registryRoutes.map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
    expect(JSON.stringify(doc.components)).toContain('"ExtensionRecord"');
  });

  test('every operation documents every status it can return', async () => {
    type Op = { security?: unknown[]; requestBody?: unknown; parameters?: Array<{ $ref?: string }>; responses: Record<string, unknown> };
    const doc = (await req({ method: 'GET', url: '/openapi.json', as: null })).body as { paths: Record<string, Record<string, Op>> };
    const missing: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!['get', 'put', 'post', 'delete'].includes(method)) continue;
        const params = (op.parameters ?? []).map((p) => p.$ref ?? '');
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        // Anyone: a malformed request (400), slow client (408), declared body over the limit (413), headers (431), 500.
        const want = ['400', '408', '413', '431', '500'];
        if (!isPublic) {
          want.push('401', '429');
          if (method !== 'get' || params.some((p) => p.endsWith('/reveal'))) want.push('403');
          if (op.requestBody || method === 'delete' || (method === 'get' && path === '/extensions')) want.push('415');
          if (path.includes('{')) want.push('404', '414'); // 414: a path parameter longer than the router takes
          if (params.some((p) => p.endsWith('/ifMatch'))) want.push('412');
        }
        for (const s of want) if (!(s in op.responses)) missing.push(`${method.toUpperCase()} ${path}: ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('a method a path does not serve: 405 with Allow; no path: 404', async () => {
    const r = await app.inject({ method: 'PATCH', url: '/extensions/x' });
    expect(r.statusCode).toBe(405);
    expect(r.headers.allow).toBe('GET, PUT, DELETE');
    expect(JSON.parse(r.body).error.code).toBe('METHOD_NOT_ALLOWED');
    expect((await app.inject({ method: 'PATCH', url: '/nowhere' })).statusCode).toBe(404);
  });

  test('unknown errors are a 500 without details', async () => {
    const broken = await createRegistryApp({
      store: Object.assign(Object.create(store), { list: async () => { throw new Error('disk on fire: /secret/path'); } }),
      auth: auth(),
    });
    const r = await broken.inject({ method: 'GET', url: '/extensions', headers: { authorization: `Bearer ${T.admin}` } });
    expect(r.statusCode).toBe(500);
    expect(JSON.parse(r.body)).toEqual({
      error: { code: 'INTERNAL', message: 'internal error' },
      name: 'fault',
      id: expect.stringMatching(/^[A-Za-z0-9_-]{8}$/),
      message: 'internal error',
      temporary: false,
      timeout: false,
      fault: true,
    });
    await broken.close();
  });
});

describe('error messages never echo body content', () => {
  test('malformed JSON / YAML holding a secret', async () => {
    for (const [payload, type] of [
      ['{"configuration": {"K": "planted-json-secret"} oops', 'application/json'],
      ['planted-json-secret is not json', 'application/json'],
      ['configuration:\n  K: planted-yaml-secret\n   bad: [', 'application/yaml'],
    ] as const) {
      const r = await req({ method: 'POST', url: '/extensions', payload, headers: { 'content-type': type } });
      expect(r.status).toBe(400);
      expect(r.raw).not.toContain('planted');
    }
  });
});
