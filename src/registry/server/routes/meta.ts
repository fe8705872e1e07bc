/** GET /healthz and GET /openapi.json. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { extensionRecordSchema } from '../../validate.js';
import { send } from '../http.js';
import type { RouteModule } from './types.js';

export const OPENAPI_URL = new URL('../../../../schemas/openapi.yaml', import.meta.url);

type OpenApiDoc = { paths: Record<string, unknown>; components?: { schemas?: Record<string, unknown> } };

/** schemas/openapi.yaml, with the record schema embedded and the paths of the given modules merged in. */
export async function buildOpenApi(modules: readonly RouteModule[]): Promise<OpenApiDoc> {
  const doc = parse(await readFile(OPENAPI_URL, 'utf8')) as OpenApiDoc;
  const { $schema: _schema, ...record } = extensionRecordSchema as unknown as Record<string, unknown>;
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ExtensionRecord: record } };
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
