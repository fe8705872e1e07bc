/**
 * A route module: one file per group of routes, registered by the app (see
 * ./index.ts). A module may carry its own OpenAPI paths; they are merged into
 * the document served at /openapi.json (so a module added later, e.g.
 * POST /workflows/resolve, documents itself without editing schemas/openapi.yaml).
 */
import type { FastifyInstance } from 'fastify';
import type { AuthConfig } from '../../auth.js';
import type { Registry } from '../../registry.js';
import type { Store } from '../../store/types.js';
import { checkId } from '../../validate.js';

export interface RouteContext {
  registry: Registry;
  store: Store;
  auth: AuthConfig;
}

export interface RouteModule {
  name: string;
  register(app: FastifyInstance, ctx: RouteContext): void | Promise<void>;
  /** OpenAPI 3.1 `paths` (and optional `components.schemas`) this module serves. */
  openapi?: { paths: Record<string, unknown>; schemas?: Record<string, unknown> };
}

/** Path parameters of the routes under a service. */
export type ServicePath = { extension_id: string; service_id: string };

/** The validated extension and service ids of a route under a service. */
export function serviceIds(p: ServicePath): [string, string] {
  return [checkId(p.extension_id, 'extension id'), checkId(p.service_id, 'service id')];
}
