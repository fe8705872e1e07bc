/** /extensions/{extension_id}/services[/{id}] (fuseml-core). */
import { checkId } from '../../validate.js';
import { checkQuery, ifMatch, requireWrite, revealFor, send } from '../http.js';
import type { RouteModule } from './types.js';

type P = { extension_id: string };
type PS = P & { id: string };

export const serviceRoutes: RouteModule = {
  name: 'services',
  register(app, { registry }) {
    app.post<{ Params: P }>('/extensions/:extension_id/services', async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const ext = checkId(req.params.extension_id, 'extension id');
      const svc = await registry.addService(ext, req.body);
      reply.header('location', `/extensions/${encodeURIComponent(ext)}/services/${encodeURIComponent(svc.id)}`);
      return send(req, reply, 201, svc, svc.revision);
    });
    app.get<{ Params: P }>('/extensions/:extension_id/services', async (req, reply) => {
      checkQuery(req, ['reveal']);
      return send(req, reply, 200, await registry.listServices(checkId(req.params.extension_id, 'extension id'), revealFor(req)));
    });
    app.get<{ Params: PS }>('/extensions/:extension_id/services/:id', async (req, reply) => {
      checkQuery(req, ['reveal']);
      const svc = await registry.getService(checkId(req.params.extension_id, 'extension id'), checkId(req.params.id, 'service id'), revealFor(req));
      return send(req, reply, 200, svc, svc.revision);
    });
    app.put<{ Params: PS }>('/extensions/:extension_id/services/:id', async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const svc = await registry.updateService(checkId(req.params.extension_id, 'extension id'), checkId(req.params.id, 'service id'), req.body, ifMatch(req));
      return send(req, reply, 200, svc, svc.revision);
    });
    app.delete<{ Params: PS }>('/extensions/:extension_id/services/:id', async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      await registry.deleteService(checkId(req.params.extension_id, 'extension id'), checkId(req.params.id, 'service id'), ifMatch(req));
      return send(req, reply, 204);
    });
  },
};
