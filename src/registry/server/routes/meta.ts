/** GET /healthz and GET /openapi.json. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { extensionRecordSchema, PATCHABLE } from '../../validate.js';
import { send } from '../http.js';
import type { RouteModule } from './types.js';

export const OPENAPI_URL = new URL('../../../../schemas/openapi.yaml', import.meta.url);

type OpenApiDoc = { paths: Record<string, unknown>; components?: { schemas?: Record<string, unknown> } };

type Json = Record<string, unknown>;

/** A copy of `v` with the record schema's local refs (`#/$defs/x`) made absolute, for use outside it. */
function absolute(v: unknown, base: string): unknown {
  if (Array.isArray(v)) return v.map((x) => absolute(x, base));
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#/') ? `${base}${x}` : absolute(x, base)]));
}

/**
 * Request-body schemas derived from the record schema (one source of truth): New* (POST: ids may be "" or
 * absent, generated as in fuseml-core), ExtensionUpsert (PUT …/record: the id comes from the path), *Patch
 * (PUT: the fields a partial update may change). A service's credentials may hold one default at most.
 */
export function requestSchemas(): Record<string, Json> {
  const base = extensionRecordSchema.$id;
  const defs = extensionRecordSchema.$defs as Record<string, { properties: Json; required?: string[] }>;
  const props = (def: string, drop: string[] = []): Json =>
    Object.fromEntries(Object.entries(absolute(defs[def]?.properties ?? {}, base) as Json).filter(([k, v]) => !drop.includes(k) && !(v as { readOnly?: boolean }).readOnly));
  const readOnly = ['extension_id', 'service_id', 'revision', 'created', 'updated'];
  const newId = { anyOf: [{ $ref: `${base}#/$defs/id` }, { const: '' }], description: 'empty or absent: generated' };
  const oneDefault = (items: Json): Json => ({
    type: 'array',
    maxItems: 100,
    items,
    contains: { type: 'object', required: ['default'], properties: { default: { const: true } } },
    minContains: 0,
    maxContains: 1,
  });
  const obj = (properties: Json, required: string[] = []): Json => ({ type: 'object', additionalProperties: false, required, properties });
  const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
  const endpoints = (): Json => ({ ...(absolute(defs.service?.properties ?? {}, base) as Record<string, Json>).endpoints, items: ref('NewEndpoint') });
  const out: Record<string, Json> = {
    // fuseml-core's input defaults (src/registry/registry.ts): a credential set without a scope is global, an
    // endpoint without a type external; so neither is required on input.
    NewCredentials: obj({ ...props('credentials', readOnly), id: newId }),
    NewEndpoint: obj(props('endpoint', readOnly), ['url']),
    NewService: obj({ ...props('service', readOnly), id: newId, endpoints: endpoints(), credentials: oneDefault(ref('NewCredentials')) }),
    NewExtension: obj({ ...props('extension', readOnly), id: newId, services: { type: 'array', maxItems: 100, items: ref('NewService') } }),
    UpsertCredentials: obj(props('credentials', readOnly), ['id']),
    UpsertService: obj({ ...props('service', readOnly), endpoints: endpoints(), credentials: oneDefault(ref('UpsertCredentials')) }, ['id']),
    ExtensionUpsert: obj({ ...props('extension', ['id', ...readOnly]), services: { type: 'array', maxItems: 100, items: ref('UpsertService') } }),
  };
  for (const [kind, fields] of Object.entries(PATCHABLE)) {
    const name = `${kind[0]?.toUpperCase()}${kind.slice(1)}Patch`;
    out[name] = obj(Object.fromEntries(fields.map((f) => [f, { $ref: `${base}#/$defs/${kind}/properties/${f}` }])));
  }
  return out;
}

/** schemas/openapi.yaml, with the record schema embedded and the paths of the given modules merged in. */
export async function buildOpenApi(modules: readonly RouteModule[]): Promise<OpenApiDoc> {
  const doc = parse(await readFile(OPENAPI_URL, 'utf8')) as OpenApiDoc;
  const { $schema: _schema, ...record } = extensionRecordSchema as unknown as Record<string, unknown>;
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ExtensionRecord: record, ...requestSchemas() } };
  for (const m of modules) {
    if (!m.openapi) continue;
    for (const [p, item] of Object.entries(m.openapi.paths)) {
      doc.paths[p] = { ...(doc.paths[p] as object | undefined), ...(item as object) };
    }
    Object.assign(doc.components.schemas ?? {}, m.openapi.schemas);
  }
  return doc;
}

export function metaRoutes(modules: () => readonly RouteModule[]): RouteModule {
  let cached: Promise<OpenApiDoc> | undefined;
  return {
    name: 'meta',
    register(app, ctx) {
      app.get('/healthz', { config: { public: true } }, async (req, reply) => {
        const health = ctx.store.health?.();
        if (health && !health.ready) return send(req, reply, 503, { status: 'not ready', reason: health.reason });
        if (!health) await ctx.store.count();
        return send(req, reply, 200, { status: 'ok' });
      });
      app.get('/openapi.json', { config: { public: true } }, async (req, reply) => {
        cached ??= buildOpenApi(modules());
        const doc = await cached.catch((err: unknown) => {
          cached = undefined;
          throw err;
        });
        return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(doc));
      });
    },
  };
}
