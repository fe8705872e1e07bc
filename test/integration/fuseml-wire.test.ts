/**
 * Wire conformance with fuseml-core, both directions.
 *
 * 1. The exact requests fuseml-core's Go CLI (`fuseml extension …`, a goa-generated HTTP client) sends,
 *    replayed over a real socket against a real `fuseml-registry serve` process — once with
 *    `--anonymous writer` (the Go CLI sends no Authorization header) and once with a writer token —
 *    and every response checked against what that client can decode.
 * 2. Our client (`RegistryClient` and the built `fuseml` CLI) against a small stand-in HTTP server
 *    that answers as fuseml-core does (list query only from a GET body, goa error bodies).
 *
 * Facts taken from (paths in github.com/fuseml/fuseml-core unless noted):
 *   design/extension.go                     routes, payload → path/body mapping, declared errors per
 *                                           method (NotFound 404, Conflict 409, BadRequest 400), result
 *                                           types and their validations (enums, formats, lengths)
 *   pkg/cli/extension/{register,get,list,update,delete}.go,
 *   pkg/cli/extension/service/{add,update,delete,list}.go,
 *   pkg/cli/extension/endpoint/{add,update,delete,list}.go,
 *   pkg/cli/extension/credentials/{add,update,delete,list}.go
 *                                           what each command puts in the payload (empty strings and
 *                                           false for flags not given on add, only changed flags on update)
 *   pkg/cli/client/extension.go             url.QueryEscape of the endpoint URL before the goa client
 *                                           escapes the path again (→ http%253A%252F%252Fmlflow)
 *   pkg/svc/extension.go                    result shapes (status objects, auth_required/default booleans,
 *                                           empty arrays), defaults (scope global, type external),
 *                                           error mapping, list query from the payload
 *   pkg/core/extension_store.go             generated ids: <product>-, <resource>- (else
 *                                           <product>-service-), <resource>- (else creds-) + 8 characters
 *   go.mod                                  goa.design/goa/v3 v3.3.1, whose pkg/error.go (error names,
 *                                           ids), http/error.go (error body fields), http/encoding.go
 *                                           (request bodies: JSON, no Content-Type) and
 *                                           http/codegen/client.go (path building, response decoding)
 *                                           give the rest.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RegistryClient, RegistryError } from '../../src/registry/client.js';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

// ---- what the Go client sends ---------------------------------------------------------------------

/** Go's url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ escaped, space as '+'. */
function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Go's url.URL.EscapedPath for a path set raw (goa v3.3.1 builds paths with fmt.Sprintf, unescaped). */
function goEscapedPath(path: string): string {
  let out = '';
  for (const ch of path) {
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The path of an endpoint route as fuseml-core's CLI sends it. */
const endpointPath = (ext: string, svc: string, url: string): string => goEscapedPath(`/extensions/${ext}/services/${svc}/endpoints/${goQueryEscape(url)}`);

interface WireResponse {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json: unknown;
}

/**
 * One request as Go's net/http sends a goa request: the JSON body streamed (chunked, no Content-Type:
 * goa's RequestEncoder sets none), `Accept-Encoding: gzip`, Go's User-Agent; a GET may carry a body.
 */
function goRequest(base: string, method: string, path: string, body?: unknown, token?: string): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const headers: Record<string, string> = { 'user-agent': 'Go-http-client/1.1', 'accept-encoding': 'gzip' };
    if (token) headers.authorization = `Bearer ${token}`;
    // Go's transport sends a body of unknown length chunked, for a GET too (after probing that there is one)
    if (body !== undefined) headers['transfer-encoding'] = 'chunked';
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // Go's transport asked for gzip itself, so it decodes a gzip body transparently (and only gzip: it
        // cannot decode any other coding, and the registry must not send one it did not ask for).
        const encoding = res.headers['content-encoding'];
        if (encoding !== undefined && encoding !== 'gzip') {
          reject(new Error(`content-encoding ${encoding} sent to a client that accepts gzip only`));
          return;
        }
        const raw = Buffer.concat(chunks);
        const text = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(`${JSON.stringify(body)}\n`); // json.Encoder adds a newline
    req.end();
  });
}

/** Writes raw bytes to the server and reads everything until it closes the connection. */
function rawExchange(base: string, raw: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(u.port), u.hostname, () => sock.write(raw));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(err)));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

// ---- what the Go client can decode ----------------------------------------------------------------

// design/common.go: identifierPattern (references, configuration keys) and optionalIdentifierPattern (ids)
const IDENT = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const ID = /^([A-Za-z0-9_][A-Za-z0-9_-]*)*$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** A record time as fuseml-core writes it and its Go client reads it: time.RFC3339, UTC, whole seconds. */
const GO_RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** Go's time.Parse(time.RFC3339, t) succeeds (a real calendar time) and t is already in the form Go formats it. */
function goTime(t: unknown): boolean {
  if (typeof t !== 'string' || !GO_RFC3339.test(t)) return false;
  const d = new Date(t);
  return !Number.isNaN(d.getTime()) && d.toISOString().replace(/\.000Z$/, 'Z') === t;
}
const goTimeMatcher = (): unknown => expect.toSatisfy(goTime, 'a Go time.RFC3339 time (UTC, whole seconds)');
type Problems = string[];

function str(p: Problems, v: Record<string, unknown>, k: string, at: string, max?: number, re?: RegExp): void {
  if (v[k] === undefined) return;
  if (typeof v[k] !== 'string') return void p.push(`${at}.${k}: not a string`);
  if (max !== undefined && (v[k] as string).length > max) p.push(`${at}.${k}: longer than ${max}`);
  if (re && !re.test(v[k] as string)) p.push(`${at}.${k}: does not match ${re}`);
}
function bool(p: Problems, v: Record<string, unknown>, k: string, at: string): void {
  if (v[k] !== undefined && typeof v[k] !== 'boolean') p.push(`${at}.${k}: not a boolean`);
}
function obj(p: Problems, v: unknown, at: string): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return (p.push(`${at}: not an object`), false);
  return true;
}
function config(p: Problems, v: Record<string, unknown>, at: string): void {
  if (v.configuration === undefined) return;
  if (!obj(p, v.configuration, `${at}.configuration`)) return;
  for (const [k, x] of Object.entries(v.configuration)) {
    if (typeof x !== 'string') p.push(`${at}.configuration.${k}: not a string`);
    if (!IDENT.test(k)) p.push(`${at}.configuration: key ${k} does not match ${IDENT}`);
  }
}
function status(p: Problems, v: Record<string, unknown>, at: string, times: string[]): void {
  if (v.status === undefined) return;
  if (!obj(p, v.status, `${at}.status`)) return;
  for (const t of times) str(p, v.status, t, `${at}.status`, undefined, RFC3339);
}
function arr(p: Problems, v: Record<string, unknown>, k: string, at: string, each: (p: Problems, x: unknown, at: string) => void): void {
  if (v[k] === undefined) return;
  if (!Array.isArray(v[k])) return void p.push(`${at}.${k}: not an array`);
  (v[k] as unknown[]).forEach((x, i) => each(p, x, `${at}.${k}[${i}]`));
}

/** goa's client-side validation of ExtensionEndpoint (design/extension.go). */
function endpoint(p: Problems, v: unknown, at = 'endpoint'): void {
  if (!obj(p, v, at)) return;
  str(p, v, 'url', at, 200, /^[A-Za-z][A-Za-z0-9+.-]*:/);
  str(p, v, 'extension_id', at, 100, IDENT);
  str(p, v, 'service_id', at, 100, IDENT);
  str(p, v, 'type', at, undefined, /^(internal|external)$/);
  config(p, v, at);
  status(p, v, at, []);
}
function credentials(p: Problems, v: unknown, at = 'credentials'): void {
  if (!obj(p, v, at)) return;
  str(p, v, 'id', at, 100, ID);
  str(p, v, 'extension_id', at, 100, IDENT);
  str(p, v, 'service_id', at, 100, IDENT);
  bool(p, v, 'default', at);
  str(p, v, 'scope', at, undefined, /^(global|project|user)$/);
  for (const k of ['projects', 'users']) arr(p, v, k, at, (pp, x, a) => void (typeof x !== 'string' && pp.push(`${a}: not a string`)));
  config(p, v, at);
  status(p, v, at, ['created', 'updated']);
}
function service(p: Problems, v: unknown, at = 'service'): void {
  if (!obj(p, v, at)) return;
  str(p, v, 'id', at, 100, ID);
  str(p, v, 'extension_id', at, 100, IDENT);
  str(p, v, 'resource', at, 100);
  str(p, v, 'category', at, 100);
  bool(p, v, 'auth_required', at);
  str(p, v, 'description', at, 1000);
  config(p, v, at);
  status(p, v, at, ['registered', 'updated']);
  arr(p, v, 'endpoints', at, endpoint);
  arr(p, v, 'credentials', at, credentials);
}
function extension(p: Problems, v: unknown, at = 'extension'): void {
  if (!obj(p, v, at)) return;
  str(p, v, 'id', at, 100, ID);
  for (const k of ['product', 'version', 'zone']) str(p, v, k, at, 100);
  str(p, v, 'description', at, 1000);
  config(p, v, at);
  status(p, v, at, ['registered', 'updated']);
  arr(p, v, 'services', at, service);
}
const decodes = (check: (p: Problems, v: unknown) => void, v: unknown): Problems => {
  const p: Problems = [];
  check(p, v);
  return p;
};
const list = (each: (p: Problems, v: unknown, at: string) => void) => (p: Problems, v: unknown) => {
  if (!Array.isArray(v)) return void p.push('not an array');
  v.forEach((x, i) => each(p, x, `[${i}]`));
};

/**
 * fuseml-core's fields of each record (design/extension.go); we add `revision` only (and a service's `default` when
 * set), on the record a response is about: records nested in it carry none.
 */
const FUSEML_CORE_FIELDS = {
  extension: ['id', 'product', 'version', 'description', 'zone', 'configuration', 'status', 'services'],
  service: ['id', 'extension_id', 'resource', 'category', 'description', 'auth_required', 'configuration', 'status', 'endpoints', 'credentials', 'default'],
  endpoint: ['url', 'extension_id', 'service_id', 'type', 'configuration', 'status'],
  credentials: ['id', 'extension_id', 'service_id', 'scope', 'default', 'projects', 'users', 'configuration', 'status'],
};

/**
 * What fuseml-core always sends that a Go caller may rely on (pkg/svc/extension.go, *ToRest); nothing twice. `own`:
 * the record the response is about (it carries its revision), else one nested in it (no revision).
 */
function fusemlCoreShape(kind: 'extension' | 'service' | 'endpoint' | 'credentials', v: Record<string, unknown>, own = true): void {
  expect(Object.keys(v).filter((k) => k !== 'revision' && !FUSEML_CORE_FIELDS[kind].includes(k))).toEqual([]);
  if (own) expect(v.revision).toEqual(expect.any(Number));
  else expect(v).not.toHaveProperty('revision');
  if (kind === 'extension') {
    expect(v.status).toEqual({ registered: goTimeMatcher(), updated: goTimeMatcher() });
    expect(v.services).toEqual(expect.any(Array));
  }
  if (kind === 'service') {
    // auth_required: fuseml-core sends false when unset; here it is sent when set (absent ≠ false to our resolver)
    if (v.auth_required !== undefined) expect(typeof v.auth_required).toBe('boolean');
    expect(v.status).toEqual({ registered: goTimeMatcher(), updated: goTimeMatcher() });
    expect(v.endpoints).toEqual(expect.any(Array));
    expect(v.credentials).toEqual(expect.any(Array));
  }
  if (kind === 'endpoint') expect(v.status).toEqual({});
  if (kind === 'credentials') {
    expect(typeof v.default).toBe('boolean');
    expect(v.status).toEqual({ created: goTimeMatcher(), updated: goTimeMatcher() });
  }
}

/** goa's error body: all six fields required, with these JSON types (goa http/error.go). */
function expectGoaError(r: WireResponse, status: number, name: string, message?: RegExp): void {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const b = r.json as Record<string, unknown>;
  expect(b).toMatchObject({ name, id: expect.any(String), message: expect.any(String), temporary: expect.any(Boolean), timeout: expect.any(Boolean), fault: expect.any(Boolean) });
  expect(r.headers['goa-error']).toBe(name);
  // ours beside it, same message
  expect(b.error).toEqual(expect.objectContaining({ code: expect.any(String), message: b.message }));
  if (message) expect(b.message).toMatch(message);
}

// ---- 1. the Go CLI's requests against fuseml-registry ---------------------------------------------

const DESCRIPTOR = {
  id: 'mlflow-0001',
  product: 'mlflow',
  version: '1.19.0',
  description: 'MLflow',
  zone: 'dev-cluster',
  services: [
    {
      id: 'mlflow-tracking',
      resource: 'mlflow-tracking',
      category: 'experiment-tracking',
      description: 'MLflow tracking',
      endpoints: [{ url: 'http://mlflow.mlflow.svc', type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.mlflow.svc' } }],
    },
    {
      id: 'mlflow-store',
      resource: 's3',
      category: 'model-store',
      auth_required: true,
      endpoints: [{ url: 'http://mlflow-minio.mlflow.svc:9000', type: 'internal' }],
      credentials: [{ id: 'default', scope: 'global', configuration: { AWS_ACCESS_KEY_ID: 'minio', AWS_SECRET_ACCESS_KEY: `planted-${randomToken()}` } }],
    },
  ],
};

const ALPHABET8 = '[bcdfghjklmnpqrstvwxz2456789]{8}';
const emptyQuery = { extension_id: '', product: '', version: '', zone: '', service_id: '', service_resource: '', service_category: '' };

const token = randomToken();
const variants: Array<{ name: string; start: () => Promise<RegistryProcess>; token?: string }> = [
  { name: '--anonymous writer (no Authorization header, as the Go CLI sends)', start: () => startRegistry({ adminToken: null, args: ['--anonymous', 'writer'] }) },
  {
    name: 'with a writer token',
    start: () => startRegistry({ adminToken: null, config: `tokens:\n  - { name: cli, role: writer, token: ${token} }\n` }),
    token,
  },
];

describe.each(variants)('fuseml-core Go CLI requests against fuseml-registry serve, $name', ({ start, token: tok }) => {
  let reg: RegistryProcess;
  const go = (method: string, path: string, body?: unknown) => goRequest(reg.url, method, path, body, tok);

  beforeAll(async () => {
    reg = await start();
  }, 30_000);
  afterAll(async () => {
    await reg?.cleanup();
  });

  test('extension register / get / update / delete, and their errors', async () => {
    // register: POST /extensions, the whole Extension as the body
    const created = await go('POST', '/extensions', DESCRIPTOR);
    expect(created.status).toBe(201);
    expect(decodes(extension, created.json)).toEqual([]);
    fusemlCoreShape('extension', created.json as Record<string, unknown>);
    const svc0 = (created.json as { services: Array<Record<string, unknown>> }).services[0] as Record<string, unknown>;
    fusemlCoreShape('service', svc0, false);
    fusemlCoreShape('endpoint', (svc0.endpoints as Array<Record<string, unknown>>)[0] as Record<string, unknown>, false);
    const store = (created.json as { services: Array<{ credentials: Array<Record<string, unknown>> }> }).services[1];
    fusemlCoreShape('credentials', store?.credentials[0] as Record<string, unknown>, false);
    expect(store?.credentials[0]?.configuration).toEqual({ AWS_ACCESS_KEY_ID: '<hidden>', AWS_SECRET_ACCESS_KEY: '<hidden>' });

    // 409 Conflict (declared for registerExtension): decodable goa error with a readable message
    expectGoaError(await go('POST', '/extensions', DESCRIPTOR), 409, 'Conflict', /mlflow-0001 already exists/);
    // 400 (declared): a bad id, with goa's validation name
    expectGoaError(await go('POST', '/extensions', { id: 'no spaces' }), 400, 'invalid_pattern', /must be an id/);
    // a descriptor without an id: generated in fuseml-core's format
    const noId = await go('POST', '/extensions', { product: 'seldon-core', version: '1.11' });
    expect(noId.status).toBe(201);
    expect((noId.json as { id: string }).id).toMatch(new RegExp(`^seldon-core-${ALPHABET8}$`));

    // get: GET /extensions/{id}; 404 NotFound (declared)
    const got = await go('GET', '/extensions/mlflow-0001');
    expect(got.status).toBe(200);
    expect(decodes(extension, got.json)).toEqual([]);
    expectGoaError(await go('GET', '/extensions/nope'), 404, 'NotFound', /extension nope not found/);

    // update: PUT /extensions/{id}, only the changed flags in the body (the id is in the path)
    const upd = await go('PUT', '/extensions/mlflow-0001', { description: 'MLflow 1.19', configuration: { region: 'eu' } });
    expect(upd.status).toBe(200);
    expect(decodes(extension, upd.json)).toEqual([]);
    expect(upd.json).toMatchObject({ id: 'mlflow-0001', description: 'MLflow 1.19', configuration: { region: 'eu' } });
    expectGoaError(await go('PUT', '/extensions/nope', { zone: 'x' }), 404, 'NotFound');

    // delete: DELETE /extensions/{id}, 204 without a body; 404 NotFound (declared)
    const del = await go('DELETE', `/extensions/${(noId.json as { id: string }).id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectGoaError(await go('DELETE', '/extensions/nope'), 404, 'NotFound');
  });

  test('extension list: the query as a GET body, every field an empty string unless given', async () => {
    const all = await go('GET', '/extensions', emptyQuery);
    expect(all.status).toBe(200);
    expect(decodes(list(extension), all.json)).toEqual([]);
    expect((all.json as Array<{ id: string }>).map((e) => e.id)).toContain('mlflow-0001');
    for (const [field, value, hit] of [
      ['extension_id', 'mlflow-0001', true],
      ['product', 'mlflow', true],
      ['version', '>=1.0,<2.0', true],
      ['version', '2.0.0', false],
      ['zone', 'dev-cluster', true],
      ['service_id', 'mlflow-store', true],
      ['service_resource', 's3', true],
      ['service_category', 'prediction-serving', false],
    ] as const) {
      const r = await go('GET', '/extensions', { ...emptyQuery, [field]: value });
      expect(r.status, `${field}=${value}`).toBe(200);
      expect(decodes(list(extension), r.json)).toEqual([]);
      expect((r.json as Array<{ id: string }>).some((e) => e.id === 'mlflow-0001'), `${field}=${value}`).toBe(hit);
    }
    // our client in fuseml-core mode (a JSON GET body) gets the same from this registry
    const ours = new RegistryClient({ url: reg.url, token: tok, retries: 0, serverKind: 'fuseml-core' });
    expect((await ours.listExtensions({ product: 'mlflow', service_resource: 's3' })).map((e) => e.id)).toEqual(['mlflow-0001']);
    // ?reveal=true stays a query parameter: honoured here (a writer may not read values: 403), ignored by fuseml-core
    const reveal = await ours.listExtensions({ product: 'mlflow' }, { reveal: true }).catch((e: unknown) => e);
    expect((reveal as RegistryError).status).toBe(403);
  });

  test('extension service add / update / list / delete', async () => {
    // add with no flags: empty strings and false for what was not given, "" as the id → generated
    const add = await go('POST', '/extensions/mlflow-0001/services', { id: '', description: '', resource: '', category: '', auth_required: false });
    expect(add.status).toBe(201);
    expect(decodes(service, add.json)).toEqual([]);
    fusemlCoreShape('service', add.json as Record<string, unknown>);
    const sid = (add.json as { id: string }).id;
    expect(sid).toMatch(new RegExp(`^mlflow-service-${ALPHABET8}$`));
    const withRes = await go('POST', '/extensions/mlflow-0001/services', { id: '', description: '', resource: 'mlflow-ui', category: 'ui', auth_required: false });
    expect((withRes.json as { id: string }).id).toMatch(new RegExp(`^mlflow-ui-${ALPHABET8}$`));

    expectGoaError(await go('POST', '/extensions/mlflow-0001/services', { id: 'mlflow-tracking' }), 409, 'Conflict');
    expectGoaError(await go('POST', '/extensions/nope/services', { id: 'x' }), 404, 'NotFound');

    const upd = await go('PUT', `/extensions/mlflow-0001/services/${sid}`, { category: 'experiment-tracking', auth_required: true });
    expect(upd.status).toBe(200);
    expect(decodes(service, upd.json)).toEqual([]);
    expect(upd.json).toMatchObject({ id: sid, category: 'experiment-tracking', auth_required: true });
    expectGoaError(await go('PUT', '/extensions/mlflow-0001/services/nope', { category: 'x' }), 404, 'NotFound');

    const ls = await go('GET', '/extensions/mlflow-0001/services');
    expect(ls.status).toBe(200);
    expect(decodes(list(service), ls.json)).toEqual([]);

    expect((await go('DELETE', `/extensions/mlflow-0001/services/${sid}`)).status).toBe(204);
    expectGoaError(await go('DELETE', `/extensions/mlflow-0001/services/${sid}`), 404, 'NotFound');
  });

  test('extension endpoint add / update / delete with the URL escaped twice, and list', async () => {
    const other = 'http://mlflow.example.com:8080/x?a=b&c=d';
    const add = await go('POST', '/extensions/mlflow-0001/services/mlflow-tracking/endpoints', { url: 'http://mlflow.example.com:8080', type: 'external' });
    expect(add.status).toBe(201);
    expect(decodes(endpoint, add.json)).toEqual([]);
    fusemlCoreShape('endpoint', add.json as Record<string, unknown>);
    expectGoaError(await go('POST', '/extensions/mlflow-0001/services/mlflow-tracking/endpoints', { url: 'http://mlflow.example.com:8080', type: 'external' }), 409, 'Conflict');

    // update: PUT …/endpoints/{url}: QueryEscape'd by the CLI, escaped again by Go's URL
    const path = endpointPath('mlflow-0001', 'mlflow-tracking', 'http://mlflow.example.com:8080');
    expect(path).toBe('/extensions/mlflow-0001/services/mlflow-tracking/endpoints/http%253A%252F%252Fmlflow.example.com%253A8080');
    const upd = await go('PUT', path, { type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.example.com:8080' } });
    expect(upd.status).toBe(200);
    expect(decodes(endpoint, upd.json)).toEqual([]);
    expect(upd.json).toMatchObject({ url: 'http://mlflow.example.com:8080', type: 'internal' });
    // escaped once (our client, curl) reaches the same record
    const once = await go('GET', `/extensions/mlflow-0001/services/mlflow-tracking/endpoints/${encodeURIComponent('http://mlflow.example.com:8080')}`);
    expect(once.json).toMatchObject({ type: 'internal' });
    // a URL needing more escaping (? = & escaped twice): decoded to the URL, not registered → 404
    expect(endpointPath('mlflow-0001', 'mlflow-tracking', other)).toMatch(/x%253Fa%253Db%2526c%253Dd$/);
    expectGoaError(await go('PUT', endpointPath('mlflow-0001', 'mlflow-tracking', other), { type: 'internal' }), 404, 'NotFound', /x\?a=b&c=d not found/);
    // QueryEscape turns a space into '+', decoded back to a space: never a valid endpoint URL here (400, stricter)
    expectGoaError(await go('PUT', endpointPath('mlflow-0001', 'mlflow-tracking', 'http://a b'), { type: 'internal' }), 400, 'BadRequest', /not a valid URL/);

    const ls = await go('GET', '/extensions/mlflow-0001/services/mlflow-tracking/endpoints');
    expect(decodes(list(endpoint), ls.json)).toEqual([]);
    expect(ls.json).toHaveLength(2);

    expect((await go('DELETE', path)).status).toBe(204);
    expectGoaError(await go('DELETE', path), 404, 'NotFound');
  });

  test('extension credentials add / update / list / delete, project scope without projects', async () => {
    // add --scope project, no --project: the CLI sends no projects; fuseml-core accepts (usable by no project)
    const add = await go('POST', '/extensions/mlflow-0001/services/mlflow-store/credentials', { id: '', scope: 'project', configuration: { AWS_SECRET_ACCESS_KEY: 'planted-x' } });
    expect(add.status).toBe(201);
    expect(decodes(credentials, add.json)).toEqual([]);
    fusemlCoreShape('credentials', add.json as Record<string, unknown>);
    const cid = (add.json as { id: string }).id;
    expect(cid).toMatch(new RegExp(`^s3-${ALPHABET8}$`));
    expect(add.json).toMatchObject({ scope: 'project', default: false, configuration: { AWS_SECRET_ACCESS_KEY: '<hidden>' } });
    expectGoaError(await go('POST', '/extensions/mlflow-0001/services/mlflow-store/credentials', { id: 'default', scope: 'global' }), 409, 'Conflict');
    expectGoaError(await go('POST', '/extensions/mlflow-0001/services/mlflow-store/credentials', { id: 'x', scope: 'team' }), 400, 'invalid_enum_value', /must be one of: "global", "project", "user"/);

    const upd = await go('PUT', `/extensions/mlflow-0001/services/mlflow-store/credentials/${cid}`, { scope: 'user' });
    expect(upd.status).toBe(200);
    expect(decodes(credentials, upd.json)).toEqual([]);
    expect(upd.json).toMatchObject({ id: cid, scope: 'user' });
    // Stricter than fuseml-core (docs/fuseml-compatibility.md): a writer widens who may use stored values only by
    // sending the values again (the writer cannot read them); the refusal is a goa error the Go CLI prints.
    expectGoaError(await go('PUT', `/extensions/mlflow-0001/services/mlflow-store/credentials/${cid}`, { scope: 'project', projects: ['team-a'] }), 403, 'forbidden', /needs the right to read their values/);
    const upd2 = await go('PUT', `/extensions/mlflow-0001/services/mlflow-store/credentials/${cid}`, { scope: 'project', projects: ['team-a'], configuration: { AWS_SECRET_ACCESS_KEY: 'planted-y' } });
    expect(upd2.status).toBe(200);
    expect(upd2.json).toMatchObject({ scope: 'project', projects: ['team-a'] });
    expectGoaError(await go('PUT', '/extensions/mlflow-0001/services/mlflow-store/credentials/nope', { scope: 'global' }), 404, 'NotFound');

    const ls = await go('GET', '/extensions/mlflow-0001/services/mlflow-store/credentials');
    expect(decodes(list(credentials), ls.json)).toEqual([]);
    expect(JSON.stringify(ls.json)).not.toContain('planted-');

    expect((await go('DELETE', `/extensions/mlflow-0001/services/mlflow-store/credentials/${cid}`)).status).toBe(204);
    expectGoaError(await go('DELETE', `/extensions/mlflow-0001/services/mlflow-store/credentials/${cid}`), 404, 'NotFound');
  });

  test('framework errors carry the same body: unknown route, no payload, and auth when a token is configured', async () => {
    expectGoaError(await go('GET', '/extensions/a/b/c/d'), 404, 'NotFound', /no route/);
    expectGoaError(await go('POST', '/extensions'), 400, 'missing_payload');
    if (tok) expectGoaError(await goRequest(reg.url, 'GET', '/extensions/mlflow-0001'), 401, 'unauthorized', /authentication required/);
    // errors of Node's HTTP parser, before there is a request: the same body
    for (const [raw, status, name] of [
      ['NOT HTTP AT ALL\r\n\r\n', 400, 'BadRequest'],
      [`GET /extensions HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ] as const) {
      const text = await rawExchange(reg.url, raw);
      expect(text.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(text).toMatch(new RegExp(`goa-error: ${name}`, 'i'));
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      expect(body).toMatchObject({ name, message: expect.any(String), temporary: false, timeout: false, fault: false, error: { code: expect.any(String) } });
    }
  });
});

/**
 * With endpoint probes on, endpoints carry `status.last_probe {ok, at, error}`. fuseml-core's design declares
 * ExtensionEndpointStatus with no fields ("can be extended to include future operational status attrs"), and
 * goa's generated client decodes bodies with encoding/json, which skips unknown fields: the Go client still
 * decodes every read. Checked here on the requests it sends (get, list, service get, endpoint get).
 */
describe('fuseml-core Go CLI requests with endpoint probes on (serve --probe-interval)', () => {
  let reg: RegistryProcess;
  const go = (method: string, path: string, body?: unknown) => goRequest(reg.url, method, path, body);

  beforeAll(async () => {
    reg = await startRegistry({ adminToken: null, args: ['--anonymous', 'writer', '--probe-interval', '200ms', '--probe-timeout', '1s'] });
  }, 30_000);
  afterAll(async () => {
    await reg?.cleanup();
  });

  test('get, list, service and endpoint reads still decode with status.last_probe on endpoints', async () => {
    // One endpoint that answers (the registry itself) and one nothing listens on (a port just freed).
    const freed = createServer();
    await new Promise<void>((r) => freed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(freed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => freed.close(() => r()));
    const rec = { id: 'probed-0001', product: 'mlflow', services: [{ id: 'tracking', resource: 'mlflow-tracking', endpoints: [{ url: reg.url, type: 'external' }, { url: deadUrl, type: 'external' }] }] };
    expect((await go('POST', '/extensions', rec)).status).toBe(201);
    let got: WireResponse | undefined;
    for (let i = 0; i < 100; i++) {
      got = await go('GET', '/extensions/probed-0001');
      const eps = (got.json as { services: Array<{ endpoints: Array<{ status: { last_probe?: unknown } }> }> }).services[0]?.endpoints ?? [];
      if (eps.every((e) => e.status.last_probe !== undefined)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const eps = (got?.json as { services: Array<{ endpoints: Array<Record<string, unknown>> }> }).services[0]?.endpoints;
    expect(eps?.map((e) => e.status)).toEqual([
      { last_probe: { ok: true, at: expect.stringMatching(RFC3339) } },
      { last_probe: { ok: false, at: expect.stringMatching(RFC3339), error: expect.any(String) } },
    ]);
    expect(decodes(extension, got?.json)).toEqual([]);
    const all = await go('GET', '/extensions', emptyQuery);
    expect(all.status).toBe(200);
    expect(decodes(list(extension), all.json)).toEqual([]);
    const svc = await go('GET', '/extensions/probed-0001/services/tracking');
    expect(decodes(service, svc.json)).toEqual([]);
    const ep = await go('GET', endpointPath('probed-0001', 'tracking', deadUrl));
    expect(ep.status).toBe(200);
    expect(decodes(endpoint, ep.json)).toEqual([]);
    expect((ep.json as { status: { last_probe: { ok: boolean } } }).status.last_probe.ok).toBe(false);
  });
});

// ---- 2. our client against a server that answers as fuseml-core does -------------------------------

interface Seen {
  method: string;
  url: string;
  body: string;
}

/** A stand-in for fuseml-core's extension service: list only from a GET body, goa error bodies. */
function fusemlCoreStandIn(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const records = [
    { id: 'mlflow-abcdefgh', product: 'mlflow', version: '1.19.0', status: { registered: '2021-06-01T10:00:00Z', updated: '2021-06-01T10:00:00Z' }, services: [{ id: 's3-bcdfghjk', resource: 's3', category: 'model-store', auth_required: false, status: {}, endpoints: [], credentials: [] }] },
    { id: 'seldon-xyzwvbcd', product: 'seldon-core', version: '1.11.0', status: { registered: '2021-06-01T10:00:00Z', updated: '2021-06-01T10:00:00Z' }, services: [] },
  ];
  const seen: Seen[] = [];
  const goaError = (res: ServerResponse, status: number, name: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'goa-error': name });
    res.end(JSON.stringify({ name, id: 'AbCdEf12', message, temporary: false, timeout: false, fault: false }));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/extensions') {
        // goa: no body → missing_payload; the query string is not read at all
        if (body.trim() === '') return goaError(res, 400, 'missing_payload', 'missing required payload');
        const q = JSON.parse(body) as Record<string, string>;
        const out = records.filter((r) => (!q.product || r.product === q.product) && (!q.extension_id || r.id === q.extension_id) && (!q.service_resource || r.services.some((s) => s.resource === q.service_resource)));
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(out));
      }
      if (req.method === 'POST' && path === '/extensions') return goaError(res, 409, 'Conflict', 'Extension with ID mlflow-abcdefgh already exists');
      if (req.method === 'GET' && path?.startsWith('/extensions/')) return goaError(res, 404, 'NotFound', `Extension with ID ${path.slice(12)} not found`);
      return goaError(res, 400, 'BadRequest', 'bad request');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

describe('our client against a fuseml-core stand-in (GET bodies for list, goa error bodies)', () => {
  let core: Awaited<ReturnType<typeof fusemlCoreStandIn>>;
  beforeAll(async () => {
    core = await fusemlCoreStandIn();
  });
  afterAll(async () => {
    await core?.close();
  });

  test('RegistryClient: auto-detects the GET body once, then sends it directly', async () => {
    core.seen.length = 0;
    const c = new RegistryClient({ url: core.url, retries: 0 });
    expect(c.serverKind).toBe('auto');
    const first = await c.listExtensions({ product: 'mlflow' });
    expect(first.map((e) => e.id)).toEqual(['mlflow-abcdefgh']);
    expect(c.serverKind).toBe('fuseml-core');
    // the first call tried query parameters (400 missing_payload), the retry carried the body
    expect(core.seen.map((s) => [s.method, s.url])).toEqual([
      ['GET', '/extensions?product=mlflow'],
      ['GET', '/extensions'],
    ]);
    expect(JSON.parse(core.seen[1]?.body ?? '')).toEqual({ ...emptyQuery, product: 'mlflow' });
    // detected once: the next call goes straight to the body
    await c.listExtensions({ service_resource: 's3' });
    expect(core.seen).toHaveLength(3);
    expect(JSON.parse(core.seen[2]?.body ?? '')).toEqual({ ...emptyQuery, service_resource: 's3' });
  });

  test('RegistryClient: goa error bodies become readable messages with the usual codes', async () => {
    const c = new RegistryClient({ url: core.url, retries: 0 });
    const conflict = await c.registerExtension({ id: 'mlflow-abcdefgh' }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(RegistryError);
    expect((conflict as RegistryError).code).toBe('CONFLICT');
    expect((conflict as RegistryError).serverCode).toBe('Conflict');
    expect((conflict as Error).message).toBe('registry: POST /extensions: 409 Extension with ID mlflow-abcdefgh already exists');
    const missing = await c.getExtension('nope').catch((e: unknown) => e);
    expect((missing as RegistryError).code).toBe('NOT_FOUND');
    expect((missing as Error).message).toMatch(/404 Extension with ID nope not found$/);
  });

  test('fuseml extension list with each filter, --server-kind fuseml-core and auto; errors and exit codes', async () => {
    for (const [flag, value, ids] of [
      [undefined, undefined, ['mlflow-abcdefgh', 'seldon-xyzwvbcd']],
      ['--id', 'seldon-xyzwvbcd', ['seldon-xyzwvbcd']],
      ['--product', 'mlflow', ['mlflow-abcdefgh']],
      ['--service-resource', 's3', ['mlflow-abcdefgh']],
    ] as const) {
      for (const kind of ['fuseml-core', 'auto']) {
        core.seen.length = 0;
        const args = ['extension', 'list', '--server-kind', kind, '-o', 'json', ...(flag ? [flag, value as string] : [])];
        const r = await runFuseml(args, { url: core.url });
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect((JSON.parse(r.stdout) as Array<{ id: string }>).map((e) => e.id)).toEqual(ids);
        const last = core.seen[core.seen.length - 1] as Seen;
        expect(last.url).toBe('/extensions');
        const field = { '--id': 'extension_id', '--product': 'product', '--service-resource': 'service_resource' }[flag ?? '--id'];
        expect(JSON.parse(last.body)).toEqual(flag ? { ...emptyQuery, [field]: value } : emptyQuery);
        expect(core.seen).toHaveLength(kind === 'auto' ? 2 : 1);
      }
    }
    const every = ['--version', '1.19.0', '-z', 'dev', '--service-id', 's3-bcdfghjk', '-c', 'model-store']; // fuseml-core's short flags
    core.seen.length = 0;
    const r = await runFuseml(['extension', 'list', '--server-kind', 'fuseml-core', '-o', 'json', ...every], { url: core.url });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(core.seen[0]?.body ?? '')).toEqual({ ...emptyQuery, version: '1.19.0', zone: 'dev', service_id: 's3-bcdfghjk', service_category: 'model-store' });

    const conflict = await runFuseml(['extension', 'register', '-f', '-'], { url: core.url, input: 'id: mlflow-abcdefgh\n' });
    expect(conflict.exitCode).toBe(5);
    expect(conflict.stderr).toContain('409 Extension with ID mlflow-abcdefgh already exists');
    const missing = await runFuseml(['extension', 'get', 'nope'], { url: core.url });
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toContain('404 Extension with ID nope not found');
  });
});
