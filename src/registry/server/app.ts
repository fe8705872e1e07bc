/**
 * The registry's Fastify app over a Store. Usable in memory (`app.inject`) and
 * over a real socket (`app.listen`). Route groups live in ./routes/*.ts.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { authenticate, type AuthConfig } from '../auth.js';
import { Registry } from '../registry.js';
import type { Store } from '../store/types.js';
import { parseBody, renderError, sendError } from './http.js';
import { metaRoutes } from './routes/meta.js';
import { routeModules, type RouteModule } from './routes/index.js';
import { clientErrorHandler, errorBody } from './wire.js';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface RegistryAppOptions {
  store: Store;
  auth: AuthConfig;
  /** Maximum request body in bytes (413 above); default 1 MiB. */
  bodyLimit?: number | undefined;
  /** Route modules; default: routes/index.ts's list. /healthz and /openapi.json are always added. */
  routes?: readonly RouteModule[] | undefined;
  /** Extra route modules added after `routes`. */
  extraRoutes?: readonly RouteModule[] | undefined;
  /** Log requests (pino, to stderr); never logs headers or bodies. */
  logger?: boolean | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    registryRoutes: ReadonlyArray<{ method: string; url: string }>;
  }
}

export async function createRegistryApp(options: RegistryAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ? { level: 'info', stream: process.stderr } : false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    // Our own 503 while closing (below), so that it has the same error body as every other error.
    return503OnClosing: false,
    // Errors of Node's HTTP parser (before there is a request): the same error body as everything else.
    clientErrorHandler,
    frameworkErrors: (err, req, reply) => {
      const r = renderError(err.statusCode && err.statusCode < 500 ? err : Object.assign(err, { statusCode: 400 }));
      void sendError(undefined, reply as unknown as FastifyReply, r.status, r.body);
    },
  });
  const registry = new Registry(options.store);
  const modules = [...(options.routes ?? routeModules), ...(options.extraRoutes ?? [])];
  const all: RouteModule[] = [];
  all.push(metaRoutes((): readonly RouteModule[] => all), ...modules);

  app.decorateRequest('principal', undefined as never);
  // Every route registered, for the OpenAPI coverage test (and introspection).
  const registered: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) registered.push({ method: String(method), url: r.url });
  });
  app.decorate('registryRoutes', registered);

  // Bodies: JSON or YAML by Content-Type; YAML when none. Everything else: 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    try {
      done(null, parseBody(req.headers['content-type'], body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    if (closing) {
      reply.header('connection', 'close');
      return sendError(req, reply, 503, errorBody(503, 'UNAVAILABLE', 'the registry is shutting down'));
    }
    // A declared body over the limit: answer 413 at once, keeping the connection so Node drains the upload
    // (closing it with unread data makes the client see a reset instead of the 413).
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > bodyLimit) {
      if (declared > 64 * 1024 * 1024) reply.header('connection', 'close'); // not worth draining
      return sendError(req, reply, 413, errorBody(413, 'PAYLOAD_TOO_LARGE', `request body is too large (limit ${bodyLimit} bytes)`));
    }
    if ((req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    const r = authenticate(options.auth, req.headers.authorization);
    if (!r.ok) {
      reply.header('www-authenticate', 'Bearer realm="fuseml-registry"');
      return sendError(req, reply, r.status, errorBody(r.status, 'UNAUTHORIZED', r.message));
    }
    req.principal = r.principal;
  });

  app.setErrorHandler((err, req, reply) => {
    const r = renderError(err);
    if (r.internal) req.log.error({ err }, 'internal error');
    return sendError(req, reply, r.status, r.body);
  });

  app.setNotFoundHandler((req, reply) => {
    return sendError(req, reply, 404, errorBody(404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  const ctx = { registry, store: options.store, auth: options.auth };
  for (const m of all) await m.register(app, ctx);
  return app;
}
