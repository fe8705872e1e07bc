/**
 * fuseml-core's extension routes, plus the installer's idempotent upsert:
 *   POST   /extensions                 register (201; 409 when the id exists)
 *   GET    /extensions                 list / query (query parameters, or a GET body for compatibility)
 *   GET    /extensions/{id}
 *   PUT    /extensions/{id}            partial update of top-level fields (404 when absent)
 *   DELETE /extensions/{id}            204
 *   PUT    /extensions/{id}/record     create (201) or replace (200) the whole record, one transaction
 */
import { FusemlError } from '../../../core/errors.js';
import { actorOf } from '../../auth.js';
import { QUERY_FIELDS, type RegistryQuery } from '../../registry.js';
import { checkId } from '../../validate.js';
import { stringify as stringifyYaml } from 'yaml';
import { checkQuery, encodeBody, encodingFor, etagOf, ifMatch, negotiateEncoding, readGetBody, requireWrite, revealFor, send, sendJsonText, sendSerialized, wantsYaml } from '../http.js';
import type { RouteModule } from './types.js';

type IdParams = { id: string };

/** Query from the query string, or (fuseml-core compatibility) from a GET body; not both. */
function listQuery(query: Record<string, string | undefined>, body: unknown): RegistryQuery {
  const { reveal: _reveal, ...fromQuery } = query;
  let q: Record<string, unknown> = fromQuery;
  if (body !== undefined && body !== null) {
    if (typeof body !== 'object' || Array.isArray(body)) throw new FusemlError('VALIDATION', 'a GET body must be an object of query fields');
    if (Object.keys(fromQuery).length > 0) throw new FusemlError('VALIDATION', 'give the query either as query parameters or as a body, not both');
    q = body as Record<string, unknown>;
  }
  const out: RegistryQuery = {};
  for (const [k, v] of Object.entries(q)) {
    if (!(QUERY_FIELDS as readonly string[]).includes(k)) throw new FusemlError('VALIDATION', `unknown query field ${JSON.stringify(k.slice(0, 60))}`);
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' || v.length > 253) throw new FusemlError('VALIDATION', `query field ${k} must be a string of at most 253 characters`);
    if (k === 'extension_id' || k === 'service_id') checkId(v, k);
    out[k as keyof RegistryQuery] = v;
  }
  return out;
}

export const extensionRoutes: RouteModule = {
  name: 'extensions',
  register(app, { registry }) {
    app.post('/extensions', async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const created = await registry.createExtensionJson(req.body);
      reply.header('location', `/extensions/${encodeURIComponent(created.id)}`);
      return sendJsonText(req, reply, 201, created.json, created.revision);
    });

    app.get('/extensions', async (req, reply) => {
      const body = await readGetBody(req);
      const query = listQuery(checkQuery(req, [...QUERY_FIELDS, 'reveal']), body);
      const reveal = revealFor(req);
      if (reveal.kind === 'none' && !wantsYaml(req)) {
        const json = await registry.listExtensionsJson(query);
        if (json !== undefined) return reply.code(200).type('application/json; charset=utf-8').send(json);
      }
      return send(req, reply, 200, await registry.listExtensions(query, reveal));
    });

    app.get<{ Params: IdParams }>('/extensions/:id', async (req, reply) => {
      checkQuery(req, ['reveal']);
      const id = checkId(req.params.id, 'extension id');
      const reveal = revealFor(req);
      const cache = registry.readCache;
      if (reveal.kind !== 'none' || !cache) {
        const rec = await registry.getExtension(id, reveal);
        return send(req, reply, 200, rec, rec.revision);
      }
      // Masked reads from the read cache (../../read-cache.ts): serialized and compressed once per revision.
      const format = wantsYaml(req) ? 'yaml' : 'json';
      const accepted = negotiateEncoding(req.headers['accept-encoding']);
      const hit = cache.get(id, `${format}+${accepted}`);
      if (hit) {
        reply.code(200).header('vary', 'Accept-Encoding').header('etag', etagOf(hit.revision));
        return sendSerialized(reply, format, hit.body, typeof hit.body === 'string' ? 'identity' : accepted);
      }
      const generation = cache.begin();
      const rec = await registry.getExtension(id);
      const text = format === 'yaml' ? stringifyYaml(rec) : JSON.stringify(rec);
      const encoding = encodingFor(req, reply, Buffer.byteLength(text));
      const body = encodeBody(text, encoding);
      cache.put(id, rec.revision ?? 1, `${format}+${accepted}`, body, generation);
      reply.code(200).header('etag', etagOf(rec.revision ?? 1));
      return sendSerialized(reply, format, body, encoding);
    });

    app.put<{ Params: IdParams }>('/extensions/:id', async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const rec = await registry.updateExtension(checkId(req.params.id, 'extension id'), req.body, ifMatch(req));
      return send(req, reply, 200, rec, rec.revision);
    });

    app.delete<{ Params: IdParams }>('/extensions/:id', async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      await registry.deleteExtension(checkId(req.params.id, 'extension id'), ifMatch(req));
      return send(req, reply, 204);
    });

    app.put<{ Params: IdParams }>('/extensions/:id/record', async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const r = await registry.upsertExtension(checkId(req.params.id, 'extension id'), req.body, ifMatch(req), actorOf(req.principal));
      return send(req, reply, r.created ? 201 : 200, r.record, r.record.revision);
    });
  },
};
