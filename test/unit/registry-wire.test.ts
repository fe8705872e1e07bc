/**
 * The registry's fuseml-core wire rules in memory: one error body for every error (checked against
 * schemas/openapi.yaml's Error schema), endpoint URLs escaped once or twice, fuseml-core's id format,
 * and the client's reading of goa error bodies.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { tokenEntry } from '../../src/registry/auth.js';
import { errorOf } from '../../src/registry/client.js';
import { generateId } from '../../src/registry/registry.js';
import { createRegistryApp } from '../../src/registry/server/app.js';
import { errorBody } from '../../src/registry/server/wire.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';
import { endpointUrlFromPath } from '../../src/registry/validate.js';

const openapi = parse(readFileSync(new URL('../../schemas/openapi.yaml', import.meta.url), 'utf8')) as { components: { schemas: { Error: object } } };
const validateError = new Ajv2020({ strict: false }).compile(openapi.components.schemas.Error);
const TOKEN = 'writer-token-0123456789';
const READER = 'reader-token-0123456789';

let store: SqliteStore;
let app: FastifyInstance;
beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
  app = await createRegistryApp({ store, auth: { tokens: [tokenEntry({ name: 'w', role: 'writer' }, TOKEN), tokenEntry({ name: 'r', role: 'reader' }, READER)] }, bodyLimit: 4096 });
});
afterEach(async () => {
  await app.close();
});

const H = { authorization: `Bearer ${TOKEN}` };

describe('every error response has the one body: ours plus goa fields, valid against the OpenAPI Error schema', () => {
  const cases: Array<[string, () => Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }>, number, string]> = [
    ['no token (401, from the auth hook)', () => app.inject({ method: 'GET', url: '/extensions' }), 401, 'unauthorized'],
    ['a reader writes (403)', () => app.inject({ method: 'POST', url: '/extensions', headers: { authorization: `Bearer ${READER}` }, payload: { id: 'x' } }), 403, 'forbidden'],
    ['unknown route (404, not-found handler)', () => app.inject({ method: 'GET', url: '/nope', headers: H }), 404, 'NotFound'],
    ['unknown record (404)', () => app.inject({ method: 'GET', url: '/extensions/nope', headers: H }), 404, 'NotFound'],
    ['malformed JSON (400)', () => app.inject({ method: 'POST', url: '/extensions', headers: { ...H, 'content-type': 'application/json' }, payload: '{"id":' }), 400, 'decode_payload'],
    ['no body (400)', () => app.inject({ method: 'POST', url: '/extensions', headers: H }), 400, 'missing_payload'],
    ['missing required field (400)', () => app.inject({ method: 'POST', url: '/extensions/x/services/s/endpoints', headers: H, payload: { type: 'internal' } }), 400, 'missing_field'],
    ['wrong type (400)', () => app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { id: 'x', version: 3 } }), 400, 'invalid_field_type'],
    ['unknown field (400, stricter than fuseml-core)', () => app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { id: 'x', colour: 'red' } }), 400, 'BadRequest'],
    ['unknown query parameter (400)', () => app.inject({ method: 'GET', url: '/extensions?colour=red', headers: H }), 400, 'BadRequest'],
    ['declared body too large (413, from the onRequest hook)', () => app.inject({ method: 'POST', url: '/extensions', headers: { ...H, 'content-type': 'application/json' }, payload: `{"id":"x","description":"${'a'.repeat(5000)}"}` }), 413, 'payload_too_large'],
    ['unsupported Content-Type (415)', () => app.inject({ method: 'POST', url: '/extensions', headers: { ...H, 'content-type': 'text/html' }, payload: '<p>' }), 415, 'unsupported_media_type'],
    ['stale If-Match (412)', async () => {
      await app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { id: 'x' } });
      return app.inject({ method: 'PUT', url: '/extensions/x', headers: { ...H, 'if-match': '"7"' }, payload: { zone: 'z' } });
    }, 412, 'precondition_failed'],
    ['duplicate (409)', async () => {
      await app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { id: 'x' } });
      return app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { id: 'x' } });
    }, 409, 'Conflict'],
  ];
  test.each(cases)('%s', async (_what, send, status, name) => {
    const r = await send();
    expect(r.statusCode).toBe(status);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(validateError(body), JSON.stringify(validateError.errors)).toBe(true);
    expect(body.name).toBe(name);
    expect(r.headers['goa-error']).toBe(name);
    expect(body.message).toBe((body.error as { message: string }).message);
    expect(body.id).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(body).toMatchObject({ temporary: false, timeout: false, fault: false });
  });

  test('YAML when the client asks for YAML only', async () => {
    const r = await app.inject({ method: 'GET', url: '/extensions/nope', headers: { ...H, accept: 'application/yaml' } });
    expect(r.headers['content-type']).toMatch(/yaml/);
    expect(validateError(parse(r.body))).toBe(true);
  });

  test('503 while the server closes, temporary: true', async () => {
    const closing = app.close();
    const r = await app.inject({ method: 'GET', url: '/extensions', headers: H });
    await closing;
    expect(r.statusCode).toBe(503);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(validateError(body)).toBe(true);
    expect(body).toMatchObject({ name: 'unavailable', temporary: true, fault: false });
  });

  test('500 without details, fault: true', async () => {
    expect(errorBody(500, 'INTERNAL', 'internal error')).toMatchObject({ name: 'fault', fault: true, temporary: false, timeout: false });
    expect(errorBody(503, 'UNAVAILABLE', 'x')).toMatchObject({ name: 'unavailable', fault: false, temporary: true });
    expect(errorBody(408, 'TIMEOUT', 'x')).toMatchObject({ name: 'request_timeout', timeout: true });
    const broken = await createRegistryApp({ store: Object.assign(Object.create(store) as SqliteStore, { get: async () => { throw new Error('disk on fire: /secret/path'); } }), auth: { anonymous: 'reader', tokens: [] } });
    const r = await broken.inject({ method: 'GET', url: '/extensions/x' });
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('disk');
    expect(validateError(JSON.parse(r.body))).toBe(true);
    await broken.close();
  });
});

describe('endpoint URLs in the path: escaped once or twice, one rule', () => {
  test('router-decoded values', () => {
    expect(endpointUrlFromPath('http://mlflow:5000')).toBe('http://mlflow:5000'); // escaped once
    expect(endpointUrlFromPath('http%3A%2F%2Fmlflow%3A5000')).toBe('http://mlflow:5000'); // escaped twice
    expect(endpointUrlFromPath('HTTPS%3a%2F%2Fx%2Fa%3Fb%3Dc%26d')).toBe('HTTPS://x/a?b=c&d');
    // a URL escaped once whose own path holds escapes stays as it is
    expect(endpointUrlFromPath('http://x/a%2Fb')).toBe('http://x/a%2Fb');
    expect(() => endpointUrlFromPath('http%3A%2F%2Fa+b')).toThrow(/not a valid URL/); // '+' is a space
    expect(() => endpointUrlFromPath('http%3A%ZZ')).toThrow(/not a valid URL/);
    expect(() => endpointUrlFromPath('mlflow')).toThrow(/not a valid URL/);
  });

  test('any URL, escaped once or twice (query-escaped first, as Go does), comes back the same', () => {
    const goQueryEscape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        // what the router hands over: the segment decoded once
        expect(endpointUrlFromPath(decodeURIComponent(encodeURIComponent(url)))).toBe(url);
        expect(endpointUrlFromPath(decodeURIComponent(encodeURIComponent(goQueryEscape(url))))).toBe(url);
      }),
    );
  });

  test('over the router: both forms reach the same endpoint', async () => {
    await app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { id: 'e', services: [{ id: 's', endpoints: [{ url: 'http://mlflow:5000/x', type: 'internal' }] }] } });
    for (const seg of ['http%3A%2F%2Fmlflow%3A5000%2Fx', 'http%253A%252F%252Fmlflow%253A5000%252Fx']) {
      const r = await app.inject({ method: 'GET', url: `/extensions/e/services/s/endpoints/${seg}`, headers: H });
      expect(r.statusCode, seg).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ url: 'http://mlflow:5000/x', status: {} });
    }
  });
});

describe("fuseml-core's ids and defaults", () => {
  test('<prefix>-<8 characters of the Kubernetes random-name alphabet>, or the 8 alone', () => {
    for (let i = 0; i < 200; i++) expect(generateId('mlflow')).toMatch(/^mlflow-[bcdfghjklmnpqrstvwxz2456789]{8}$/);
    expect(generateId(undefined)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{8}$/);
    expect(generateId('Seldon Core!')).toMatch(/^seldon-core-[a-z0-9]{8}$/);
  });

  test('prefixes: product; resource, else <product>-service; resource, else creds', async () => {
    const e = JSON.parse((await app.inject({ method: 'POST', url: '/extensions', headers: H, payload: { product: 'mlflow', services: [{ resource: 's3', credentials: [{}] }, { credentials: [{ id: '' }] }] } })).body);
    expect(e.id).toMatch(/^mlflow-\w{8}$/);
    expect(e.services[0].id).toMatch(/^s3-\w{8}$/);
    expect(e.services[0].credentials[0].id).toMatch(/^s3-\w{8}$/);
    expect(e.services[1].id).toMatch(/^mlflow-service-\w{8}$/);
    expect(e.services[1].credentials[0].id).toMatch(/^creds-\w{8}$/);
    // fuseml-core's defaults: scope global, endpoint type external; what it always sends
    expect(e.services[0].credentials[0]).toMatchObject({ scope: 'global', default: false });
    expect(e.services[1]).toMatchObject({ endpoints: [] });
    // auth_required stays absent unless given: to the resolver absent ≠ false (see outputDefaults)
    expect(e.services[1]).not.toHaveProperty('auth_required');
    const ep = JSON.parse((await app.inject({ method: 'POST', url: `/extensions/${e.id}/services/${e.services[0].id}/endpoints`, headers: H, payload: { url: 'http://minio:9000' } })).body);
    expect(ep).toMatchObject({ type: 'external', status: {} });
    // the installer's whole-record write generates nothing: ids stay required there
    const up = await app.inject({ method: 'PUT', url: '/extensions/y/record', headers: H, payload: { services: [{ resource: 's3' }] } });
    expect(up.statusCode).toBe(400);
    expect(JSON.parse(up.body).name).toBe('missing_field');
  });
});

describe('the client reads both error bodies', () => {
  test('ours, goa, text, nothing', () => {
    expect(errorOf({ error: { code: 'CONFLICT', message: 'x exists' }, name: 'Conflict', message: 'x exists' }, 409)).toEqual({ message: 'x exists', serverCode: 'CONFLICT' });
    expect(errorOf({ name: 'Conflict', id: 'a', message: 'Extension x already exists', temporary: false, timeout: false, fault: false }, 409)).toEqual({ message: 'Extension x already exists', serverCode: 'Conflict' });
    expect(errorOf('404 page not found\n', 404)).toEqual({ message: '404 page not found', serverCode: undefined });
    expect(errorOf(undefined, 502)).toEqual({ message: 'HTTP 502', serverCode: undefined });
  });
});
