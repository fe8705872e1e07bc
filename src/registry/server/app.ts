/**
 * The registry's Fastify app over a Store. Usable in memory (`app.inject`) and
 * over a real socket (`app.listen`). Route groups live in ./routes/*.ts.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { authenticate, type AuthConfig } from '../auth.js';
import { Registry, type AuditEvent, type ReadOverlay } from '../registry.js';
import { prepareValidators } from '../validate.js';
import type { Store } from '../store/types.js';
import { bodyKind, decodeBody, encodeBody, encodingFor, renderError, sendError } from './http.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { ParsePool } from './parse-pool.js';
import { metaRoutes } from './routes/meta.js';
import { routeModules, type RouteModule } from './routes/index.js';
import { clientErrorHandler, errorBody } from './wire.js';

export const DEFAULT_BODY_LIMIT = DEFAULT_LIMITS.bodyLimit;

export interface RegistryAppOptions {
  store: Store;
  auth: AuthConfig;
  /** Maximum request body in bytes (413 above); default 1 MiB. Same as limits.bodyLimit (which wins). */
  bodyLimit?: number | undefined;
  /** Per-request limits (./limits.ts); defaults for those not given. */
  limits?: Partial<ServerLimits> | undefined;
  /** Route modules; default: routes/index.ts's list. /healthz and /openapi.json are always added. */
  routes?: readonly RouteModule[] | undefined;
  /** Extra route modules added after `routes`. */
  extraRoutes?: readonly RouteModule[] | undefined;
  /** Receives audit events (credential scope changes; names only, never values). Default: none. */
  audit?: ((event: AuditEvent) => void) | undefined;
  /** Endpoint probe statuses to show on reads (./../probe.ts); the caller starts and stops the prober. */
  probes?: ReadOverlay | undefined;
  /** Log requests (pino, to stderr); never logs headers or bodies. */
  logger?: boolean | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    registryRoutes: ReadonlyArray<{ method: string; url: string }>;
  }
}

/** A URL with the values of its query string removed (`/x?reveal=…`), for logs. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const names = url
    .slice(q + 1)
    .split('&')
    .filter((p) => p !== '')
    .map((p) => `${p.split('=')[0]?.slice(0, 60) ?? ''}=…`);
  return `${url.slice(0, q)}?${names.join('&')}`;
}

/** Matches a concrete path against route patterns (`/extensions/:id`), for 405's Allow header. */
function patternRegex(url: string): RegExp {
  const parts = url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('/')}/?$`);
}

export async function createRegistryApp(options: RegistryAppOptions): Promise<FastifyInstance> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }), ...stripUndefined(options.limits ?? {}) };
  const pool = new ParsePool(limits, limits.parseTimeoutMs);
  prepareValidators();
  const app = Fastify({
    logger: options.logger
      ? {
          level: 'info',
          stream: process.stderr,
          serializers: {
            // Never headers, bodies or query values (a query may carry a value worth hiding).
            req: (r: { method: string; url: string; ip?: string }) => ({ method: r.method, url: redactUrl(r.url), remoteAddress: r.ip }),
          },
        }
      : false,
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node checks the two timeouts above (its default, 30 s, would stretch them by as much).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
    },
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
  app.decorate('registryLimits', limits);
  app.decorate('parsePool', pool);
  app.addHook('onClose', async () => pool.close());
  const registry = new Registry(options.store, undefined, options.audit, options.probes);
  const modules = [...(options.routes ?? routeModules), ...(options.extraRoutes ?? [])];
  const all: RouteModule[] = [];
  all.push(metaRoutes((): readonly RouteModule[] => all), ...modules);

  app.decorateRequest('principal', undefined as never);
  // Every route registered, for the OpenAPI coverage test (and introspection), and for 405's Allow header.
  const registered: Array<{ method: string; url: string }> = [];
  const patterns: Array<{ method: string; re: RegExp }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      registered.push({ method: String(method), url: r.url });
      patterns.push({ method: String(method), re: patternRegex(r.url) });
    }
  });
  app.decorate('registryRoutes', registered);

  // Bodies: JSON or YAML by Content-Type (YAML when none), UTF-8 only; everything else: 415. Parsed with the
  // limits, large bodies off the event loop (./parse-pool.ts).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, async (req: FastifyRequest, body: Buffer) => {
    return pool.parse(bodyKind(req.headers['content-type']), decodeBody(body));
  });

  /** No route for this method and path: 405 with Allow when the path has other methods, else 404. */
  const noRoute = (req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = req.url.split('?')[0] ?? '';
    const allow = [...new Set(patterns.filter((p) => p.re.test(path)).map((p) => p.method))];
    if (allow.length > 0) {
      reply.header('allow', allow.join(', '));
      return sendError(req, reply, 405, errorBody(405, 'METHOD_NOT_ALLOWED', `${req.method.slice(0, 20)} is not allowed on ${path.slice(0, 200)}; allowed: ${allow.join(', ')}`));
    }
    return sendError(req, reply, 404, errorBody(404, 'NOT_FOUND', `no route ${req.method.slice(0, 20)} ${path.slice(0, 200)}`));
  };

  const bodyLimit = limits.bodyLimit;
  const inFlight = new Map<string, number>();
  /** Admitted requests not yet answered, all callers together (the store's observeLoad). */
  let inFlightTotal = 0;
  options.store.observeLoad?.(() => inFlightTotal);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  /** Answers the request itself (returns the reply) when it may not reach its route; undefined lets it through. */
  const admit = (req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
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
    if ((req.routeOptions.config as { public?: boolean } | undefined)?.public) return undefined;
    // No route: 404/405 at once (before any body is read or parsed), no token needed to learn that.
    if (req.routeOptions.url === undefined) return noRoute(req, reply);
    const r = authenticate(options.auth, req.headers.authorization);
    if (!r.ok) {
      reply.header('www-authenticate', 'Bearer realm="fuseml-registry"');
      return sendError(req, reply, r.status, errorBody(r.status, 'UNAUTHORIZED', r.message));
    }
    req.principal = r.principal;
    // Per-token concurrency (callers without a token: per client address).
    const key = req.headers.authorization ? `token:${r.principal.name}` : `anonymous:${req.ip}`;
    const n = inFlight.get(key) ?? 0;
    if (n >= limits.perTokenConcurrency) {
      reply.header('retry-after', '1');
      return sendError(req, reply, 429, errorBody(429, 'TOO_MANY_REQUESTS', `more than ${limits.perTokenConcurrency} requests in flight for this token; retry later`));
    }
    inFlight.set(key, n + 1);
    inFlightTotal++;
    reply.raw.once('close', () => {
      inFlightTotal--;
      const left = (inFlight.get(key) ?? 1) - 1;
      if (left <= 0) inFlight.delete(key);
      else inFlight.set(key, left);
    });
    return undefined;
  };
  // Callback-style hooks (here and onSend): no promise per request.
  app.addHook('onRequest', (req, reply, done) => {
    let answered: FastifyReply | undefined;
    try {
      answered = admit(req, reply);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (answered === undefined) done();
  });

  // Response compression (gzip or br when the client's Accept-Encoding allows it; identity otherwise, and for
  // small bodies): every text body a route or error handler sends. Bodies that already carry a
  // Content-Encoding (e.g. the read cache's pre-compressed ones) pass as they are.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (typeof payload !== 'string' || reply.hasHeader('content-encoding') || reply.statusCode === 204 || reply.statusCode === 304) {
      done(null, payload);
      return;
    }
    let body: string | Buffer;
    try {
      const encoding = encodingFor(req, reply, payload.length);
      if (encoding !== 'identity') reply.header('content-encoding', encoding);
      body = encodeBody(payload, encoding);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, body);
  });

  app.setErrorHandler((err, req, reply) => {
    const r = renderError(err);
    if (r.internal) req.log.error({ err }, 'internal error');
    return sendError(req, reply, r.status, r.body);
  });

  app.setNotFoundHandler((req, reply) => noRoute(req, reply));

  const ctx = { registry, store: options.store, auth: options.auth };
  for (const m of all) await m.register(app, ctx);
  return app;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
