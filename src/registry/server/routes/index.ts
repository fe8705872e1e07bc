/**
 * The route modules the registry app registers, in order. To add a group of
 * routes (e.g. POST /workflows/resolve), write routes/<name>.ts exporting a
 * RouteModule (with its `openapi` paths) and add it to this list — or pass it
 * to createRegistryApp({ routes: [...] }).
 */
import { credentialRoutes } from './credentials.js';
import { endpointRoutes } from './endpoints.js';
import { extensionRoutes } from './extensions.js';
import { serviceRoutes } from './services.js';
import type { RouteModule } from './types.js';
import { workflowRoutes } from './workflows.js';

export const routeModules: readonly RouteModule[] = [extensionRoutes, serviceRoutes, endpointRoutes, credentialRoutes, workflowRoutes];
export type { RouteContext, RouteModule } from './types.js';
