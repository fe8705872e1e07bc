/**
 * POST /workflows/resolve: resolves a workflow's extension requirements for a
 * project (and user) against the registry as it is now.
 *
 * Body (JSON or YAML): { workflow, project, user?, zone? }.
 * 200: the Resolution (per step env, secret_env, choices), with credential values
 *      in clear: the response is marked no-store.
 * 400: the workflow or body is invalid (error.issues: pointer + message).
 * 403: the token may not resolve for that project / user (only `admin`, and
 *      `resolver` tokens listing the project and user, may).
 * 422: the requirements cannot be resolved (error.issues: every problem).
 *
 * The resolver reads credential values only in the requested scope (global,
 * the project, the user), decrypting only those of services a requirement may
 * pick; nothing here logs a body or a value.
 */
import { FusemlError } from '../../../core/errors.js';
import type { ExtensionRecord, ServiceRecord } from '../../../core/records.js';
import { checkWorkflow, ResolutionError, resolveWorkflow, serviceSelectorsMatch, type ResolveContext } from '../../../core/resolve.js';
import { versionSelectorProblem } from '../../../core/version.js';
import { selectorGiven, type Workflow } from '../../../core/workflow.js';
import { workflowDataIssues } from '../../../workflow/load.js';
import type { Principal } from '../../auth.js';
import type { Registry, RegistryQuery } from '../../registry.js';
import { checkQuery, forbidden, send, sendError } from '../http.js';
import { errorBody } from '../wire.js';
import type { RouteModule } from './types.js';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,252}$/;

interface ResolveBody {
  workflow: Workflow;
  context: ResolveContext;
}

function field(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new FusemlError('VALIDATION', `missing required field "${key}"`);
    return undefined;
  }
  if (typeof v !== 'string' || !NAME.test(v)) {
    throw new FusemlError('VALIDATION', `${key} must be a name of letters, digits, "_", ".", "@" and "-" (at most 253)`);
  }
  return v;
}

function parseRequest(body: unknown): ResolveBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new FusemlError('VALIDATION', 'the body must be an object: { workflow, project, user?, zone? }');
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['workflow', 'project', 'user', 'zone'].includes(k));
  if (unknown.length > 0) throw new FusemlError('VALIDATION', `unknown field ${JSON.stringify(unknown[0]?.slice(0, 60))}`);
  const context: ResolveContext = { project: field(b, 'project', true) as string, user: field(b, 'user', false), zone: field(b, 'zone', false) };
  if (b.workflow === undefined) throw new FusemlError('VALIDATION', 'missing required field "workflow"');
  return { workflow: b.workflow as Workflow, context };
}

/** steps × requirements (all steps' `extensions`): what one resolve costs, bounded by --resolve-limit. */
export function resolveSize(workflow: unknown): number {
  const steps = (workflow as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return 0;
  let requirements = 0;
  for (const s of steps) {
    const ext = (s as { extensions?: unknown } | null)?.extensions;
    if (Array.isArray(ext)) requirements += ext.length;
  }
  return steps.length * requirements;
}

function checkResolveSize(workflow: unknown, limit: number): void {
  const size = resolveSize(workflow);
  if (size > limit) {
    throw Object.assign(new Error(`the workflow is too large to resolve: steps × requirements = ${size}, limit ${limit}`), { statusCode: 413 });
  }
}

/** Admin: anyone. Resolver: only projects and users its token lists. Others: no. */
function authorize(p: Principal, ctx: ResolveContext): void {
  if (p.role === 'admin') return;
  if (p.role !== 'resolver') throw forbidden(`role ${p.role} may not resolve workflows (it would reveal credentials): use a resolver token`);
  if (!p.projects.includes(ctx.project)) throw forbidden(`token ${p.name} may not resolve for project ${ctx.project}`);
  if (ctx.user !== undefined && !p.users.includes(ctx.user)) throw forbidden(`token ${p.name} may not resolve for user ${ctx.user}`);
}

/**
 * The records as the caller may see them, in one store query per distinct requirement: the credentials in
 * scope with their values (decrypted only for the services some requirement's service selectors accept: the
 * resolver never looks at the others), every other credential set with hidden values, so that a service needing
 * credentials the caller lacks is skipped, not returned bare. The resolver uses only sets whose scope admits the
 * caller and whose values are in clear (src/core/resolve.ts, credentialsUsable), so it picks what it would pick
 * with every value decrypted.
 */
export async function candidatesFor(registry: Registry, ctx: ResolveContext, workflow?: Workflow): Promise<ExtensionRecord[]> {
  const scope = { projects: [ctx.project], users: ctx.user === undefined ? [] : [ctx.user] };
  const filters = (workflow && storeFilters(workflow)) ?? [{}];
  const requirements = (workflow?.steps ?? []).flatMap((s) => s.extensions ?? []);
  const wanted = (svc: Pick<ServiceRecord, 'id' | 'resource' | 'category'>): boolean =>
    workflow === undefined || requirements.some((req) => serviceSelectorsMatch(req, svc));
  return union(filters.map((f) => registry.listForResolution(f, scope, wanted)));
}

/** The exact-match selectors a store can filter on (zone is left to the resolver). */
const STORE_SELECTORS = ['extension_id', 'product', 'service_id', 'service_resource', 'service_category'] as const;

/**
 * One store query per distinct requirement, by its exact-match selectors, and its version selector (a store may
 * skip the documents of other versions unread): the resolver only looks at records a requirement's selectors
 * match (src/core/resolve.ts, selectorsMatch, with the same version matcher), so the others need not be read —
 * with 10 000 extensions, a few records per requirement instead of every record (and every credential
 * decrypted). Undefined (read everything) when a requirement has none of the exact-match selectors.
 */
function storeFilters(workflow: Workflow): RegistryQuery[] | undefined {
  const out = new Map<string, RegistryQuery>();
  for (const step of workflow.steps ?? []) {
    for (const req of step.extensions ?? []) {
      const f: RegistryQuery = {};
      for (const k of STORE_SELECTORS) if (selectorGiven(req[k])) f[k] = req[k];
      if (Object.keys(f).length === 0) return undefined;
      // checkWorkflow refused malformed selectors before; one that slipped through would match nothing either way.
      if (selectorGiven(req.version) && versionSelectorProblem(req.version) === undefined) f.version = req.version;
      out.set(JSON.stringify(f), f);
    }
  }
  return [...out.values()];
}

/** The records of several queries, each once, ordered by id (as one query returns them). */
async function union(lists: Array<Promise<ExtensionRecord[]>>): Promise<ExtensionRecord[]> {
  const all = await Promise.all(lists);
  if (all.length === 1) return all[0] ?? [];
  const byId = new Map<string, ExtensionRecord>();
  for (const list of all) for (const r of list) if (!byId.has(r.id)) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export const workflowRoutes: RouteModule = {
  name: 'workflows',
  register(app, { registry }) {
    app.post('/workflows/resolve', async (req, reply) => {
      checkQuery(req, []);
      const { workflow, context } = parseRequest(req.body);
      authorize(req.principal, context);
      checkResolveSize(workflow, app.registryLimits.resolveLimit);
      // Schema problems, then problems of the workflow itself (names, references, malformed version selectors):
      // all 400, before the registry is read.
      const issues = workflowDataIssues(workflow, 'workflow');
      if (issues.length === 0) issues.push(...checkWorkflow(workflow).map(({ pointer, message }) => ({ file: 'workflow', pointer, message })));
      if (issues.length > 0) {
        const message = `invalid workflow: ${issues.length} problem${issues.length === 1 ? '' : 's'}`;
        return sendError(req, reply, 400, errorBody(400, 'VALIDATION', message, { extra: { issues: issues.map(({ pointer, message }) => ({ pointer: `/workflow${pointer}`, message })) } }));
      }
      const records = await candidatesFor(registry, context, workflow);
      reply.header('cache-control', 'no-store');
      try {
        return await send(req, reply, 200, resolveWorkflow(workflow, context, records));
      } catch (err) {
        if (!(err instanceof ResolutionError)) throw err;
        const lines = err.problems.map((p) => `${p.pointer} ${p.message}`);
        // The message carries every problem, for clients that only show messages.
        const message = `${err.message}:\n${lines.join('\n')}`;
        const issues = err.problems.map(({ kind, step, requirement, pointer, message, candidates }) => ({ kind, step, requirement, pointer, message, candidates }));
        return sendError(req, reply, 422, errorBody(422, 'RESOLUTION', message, { extra: { hint: err.hint, issues } }));
      }
    });
  },
  openapi: {
    paths: {
      '/workflows/resolve': {
        post: {
          operationId: 'resolveWorkflow',
          summary: 'Resolve the extension requirements of a workflow for a project (and user)',
          description:
            'Picks, per step requirement, one service endpoint and the credentials the caller may use (zone, then default instance, then user > project > global credentials) and returns each step\'s env. The response holds credential values: only admin tokens and resolver tokens listing the project (and user) may call it.',
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/WorkflowResolveRequest' } },
              'application/yaml': { schema: { $ref: '#/components/schemas/WorkflowResolveRequest' } },
            },
          },
          responses: {
            '200': { description: 'Resolved', content: { 'application/json': { schema: { $ref: '#/components/schemas/WorkflowResolution' } } } },
            '400': { description: 'Invalid body or workflow (error.issues)' },
            '401': { description: 'No or invalid token' },
            '403': { description: 'The token may not resolve for this project or user' },
            '408': { $ref: '#/components/responses/Error' },
            '413': { description: 'The body, or the workflow (steps × requirements), is over a limit', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
            '415': { $ref: '#/components/responses/Error' },
            '422': { description: 'Unresolvable requirements: no match, ambiguous, env collisions (error.issues, all at once)' },
            '429': { $ref: '#/components/responses/TooManyRequests' },
            '431': { $ref: '#/components/responses/Error' },
            '500': { $ref: '#/components/responses/Error' },
          },
        },
      },
    },
    schemas: {
      WorkflowResolveRequest: {
        type: 'object',
        required: ['workflow', 'project'],
        additionalProperties: false,
        properties: {
          workflow: { type: 'object', description: 'A workflow, see schemas/workflow.schema.json' },
          project: { type: 'string', pattern: NAME.source },
          user: { type: 'string', pattern: NAME.source },
          zone: { type: 'string', pattern: NAME.source, description: 'The zone the workflow runs in (internal endpoints there are preferred)' },
        },
      },
      WorkflowResolution: {
        type: 'object',
        properties: {
          workflow: { type: 'string' },
          project: { type: 'string' },
          user: { type: 'string' },
          zone: { type: 'string' },
          steps: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                env: { type: 'object', additionalProperties: { type: 'string' } },
                secret_env: { type: 'array', items: { type: 'string' }, description: 'env keys holding credential values' },
                choices: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      requirement: { type: 'string' },
                      extension_id: { type: 'string' },
                      service_id: { type: 'string' },
                      url: { type: 'string' },
                      endpoint_type: { type: 'string', enum: ['internal', 'external'] },
                      credentials_id: { type: 'string' },
                      credentials_scope: { type: 'string', enum: ['global', 'project', 'user'] },
                      reasons: { type: 'array', items: { type: 'string' } },
                      configuration: { type: 'object', additionalProperties: { type: 'string' } },
                      secret_keys: { type: 'array', items: { type: 'string' } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
