/** /extensions/{extension_id}/services/{service_id}/credentials[/{id}] (fuseml-core). Values masked unless revealed. */
import { actorOf } from '../../auth.js';
import { checkId } from '../../validate.js';
import { checkQuery, ifMatch, requireWrite, revealFor, send } from '../http.js';
import { serviceIds as ids, type ServicePath as P, type RouteModule } from './types.js';

type PI = P & { id: string };

export const credentialRoutes: RouteModule = {
  name: 'credentials',
  register(app, { registry }) {
    const base = '/extensions/:extension_id/services/:service_id/credentials';
    app.post<{ Params: P }>(base, async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const [ext, svc] = ids(req.params);
      const cr = await registry.addCredentials(ext, svc, req.body);
      reply.header('location', `/extensions/${encodeURIComponent(ext)}/services/${encodeURIComponent(svc)}/credentials/${encodeURIComponent(cr.id)}`);
      return send(req, reply, 201, cr, cr.revision);
    });
    app.get<{ Params: P }>(base, async (req, reply) => {
      checkQuery(req, ['reveal']);
      return send(req, reply, 200, await registry.listCredentials(...ids(req.params), revealFor(req)));
    });
    app.get<{ Params: PI }>(`${base}/:id`, async (req, reply) => {
      checkQuery(req, ['reveal']);
      const cr = await registry.getCredentials(...ids(req.params), checkId(req.params.id, 'credentials id'), revealFor(req));
      return send(req, reply, 200, cr, cr.revision);
    });
    app.put<{ Params: PI }>(`${base}/:id`, async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      const cr = await registry.updateCredentials(...ids(req.params), checkId(req.params.id, 'credentials id'), req.body, ifMatch(req), actorOf(req.principal));
      return send(req, reply, 200, cr, cr.revision);
    });
    app.delete<{ Params: PI }>(`${base}/:id`, async (req, reply) => {
      checkQuery(req, []);
      requireWrite(req);
      await registry.deleteCredentials(...ids(req.params), checkId(req.params.id, 'credentials id'), ifMatch(req));
      return send(req, reply, 204);
    });
  },
};
