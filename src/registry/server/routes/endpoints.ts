/** /extensions/{extension_id}/services/{service_id}/endpoints[/{url}] (fuseml-core; the url URL-encoded once or twice, see endpointUrlFromPath). */
import { endpointUrlFromPath } from '../../validate.js';
import { checkQuery, ifMatch, requireWrite, send } from '../http.js';
import { serviceIds as ids, type ServicePath as P, type RouteModule } from './types.js';

type PU = P & { url: string };

export const endpointRoutes: RouteModule = {
  name: 'endpoints',
  register(app, { registry }) {
    const base = '/extensions/:extension_id/services/:service_id/endpoints';
    app.post<{ Params: P }>(base, async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const [ext, svc] = ids(req.params);
      const ep = await registry.addEndpoint(ext, svc, req.body);
      reply.header('location', `/extensions/${encodeURIComponent(ext)}/services/${encodeURIComponent(svc)}/endpoints/${encodeURIComponent(ep.url)}`);
      return send(req, reply, 201, ep, ep.revision);
    });
    app.get<{ Params: P }>(base, async (req, reply) => {
      checkQuery(req, []);
      return send(req, reply, 200, await registry.listEndpoints(...ids(req.params)));
    });
    app.get<{ Params: PU }>(`${base}/:url`, async (req, reply) => {
      checkQuery(req, []);
      const ep = await registry.getEndpoint(...ids(req.params), endpointUrlFromPath(req.params.url));
      return send(req, reply, 200, ep, ep.revision);
    });
    app.put<{ Params: PU }>(`${base}/:url`, async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const ep = await registry.updateEndpoint(...ids(req.params), endpointUrlFromPath(req.params.url), req.body, ifMatch(req));
      return send(req, reply, 200, ep, ep.revision);
    });
    app.delete<{ Params: PU }>(`${base}/:url`, async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      await registry.deleteEndpoint(...ids(req.params), endpointUrlFromPath(req.params.url), ifMatch(req));
      return send(req, reply, 204);
    });
  },
};
