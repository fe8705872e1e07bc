/**
 * POST /workflows/resolve in process (Fastify inject) over a real SQLite store:
 * authorization, scoped credentials, error rendering, and that the response is
 * not cacheable. The same route over a real registry process is covered by
 * workflow-resolve.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import type { Resolution } from '../../src/core/resolve.js';
import type { Workflow } from '../../src/core/workflow.js';
import { tokenEntry } from '../../src/registry/auth.js';
import { createRegistryApp } from '../../src/registry/server/app.js';
import { workflowRoutes } from '../../src/registry/server/routes/workflows.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';

const ADMIN = 'admin-token-0123456789';
const RESOLVER_A = 'resolver-a-0123456789';
const READER = 'reader-token-0123456789';

const mlflow: ExtensionRecord = {
  id: 'mlflow-0001',
  product: 'mlflow',
  version: '1.19.0',
  services: [
    {
      id: 'mlflow-tracking',
      resource: 'mlflow-tracking',
      category: 'experiment-tracking',
      endpoints: [{ url: 'http://mlflow', type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow' } }],
    },
    {
      id: 'mlflow-store',
      resource: 's3',
      category: 'model-store',
      auth_required: true,
      endpoints: [{ url: 'http://mlflow-minio:9000', type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: 'http://mlflow-minio:9000' } }],
      credentials: [
        { id: 'team-a', scope: 'project', projects: ['A'], configuration: { AWS_ACCESS_KEY_ID: 'a-key', AWS_SECRET_ACCESS_KEY: 'a-secret-value' } },
        { id: 'team-b', scope: 'project', projects: ['B'], configuration: { AWS_ACCESS_KEY_ID: 'b-key', AWS_SECRET_ACCESS_KEY: 'b-secret-value' } },
      ],
    },
  ],
};

const workflow: Workflow = {
  name: 'train',
  steps: [
    {
      name: 'trainer',
      extensions: [
        { name: 'mlflow-tracking', product: 'mlflow', service_resource: 'mlflow-tracking' },
        { name: 'mlflow-store', product: 'mlflow', service_resource: 's3' },
      ],
      env: [{ name: 'S3', value: '{{ extensions.mlflow-store.url }}' }],
    },
  ],
};

let app: FastifyInstance;
let store: SqliteStore;

async function resolve(token: string | undefined, body: unknown) {
  return app.inject({
    method: 'POST',
    url: '/workflows/resolve',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    payload: JSON.stringify(body),
  });
}

beforeAll(async () => {
  store = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
  app = await createRegistryApp({
    store,
    auth: {
      tokens: [
        tokenEntry({ name: 'admin', role: 'admin' }, ADMIN),
        tokenEntry({ name: 'engine-a', role: 'resolver', projects: ['A'], users: ['alice'] }, RESOLVER_A),
        tokenEntry({ name: 'reader', role: 'reader' }, READER),
      ],
    },
  });
  const r = await app.inject({ method: 'POST', url: '/extensions', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, payload: JSON.stringify(mlflow) });
  expect(r.statusCode, r.body).toBe(201);
});

afterAll(async () => {
  await app.close();
  await store.close();
});

describe('POST /workflows/resolve (in process)', () => {
  it('resolves for a resolver token with the project credentials, marked no-store', async () => {
    const r = await resolve(RESOLVER_A, { workflow, project: 'A' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const res = r.json() as Resolution;
    expect(res.steps[0]?.env).toMatchObject({
      MLFLOW_TRACKING_URI: 'http://mlflow',
      AWS_SECRET_ACCESS_KEY: 'a-secret-value',
      FUSEML_EXT_MLFLOW_STORE_AWS_ACCESS_KEY_ID: 'a-key',
      S3: 'http://mlflow-minio:9000',
    });
    expect(res.steps[0]?.secret_env).toContain('AWS_SECRET_ACCESS_KEY');
    expect(r.body).not.toContain('b-secret-value');
    expect(res.steps[0]?.choices.map((c) => c.credentials_id ?? null)).toEqual([null, 'team-a']);
  });

  it('an admin resolves as any project, still seeing only that project\'s credentials', async () => {
    const r = await resolve(ADMIN, { workflow, project: 'B' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.body).toContain('b-secret-value');
    expect(r.body).not.toContain('a-secret-value');
  });

  it('a project without credentials gets a 422 listing the problem, without values', async () => {
    const r = await resolve(ADMIN, { workflow, project: 'C' });
    expect(r.statusCode).toBe(422);
    const e = r.json().error;
    expect(e.code).toBe('RESOLUTION');
    expect(e.issues).toEqual([
      expect.objectContaining({ kind: 'no-match', step: 'trainer', requirement: 'mlflow-store', pointer: '/steps/0/extensions/1' }),
    ]);
    expect(e.message).toContain('no credentials usable by project C');
    expect(r.body).not.toMatch(/secret-value|a-key|b-key/);
  });

  it('refuses tokens that may not see the credentials of that project or user', async () => {
    expect((await resolve(RESOLVER_A, { workflow, project: 'B' })).statusCode).toBe(403);
    expect((await resolve(RESOLVER_A, { workflow, project: 'A', user: 'bob' })).statusCode).toBe(403);
    expect((await resolve(RESOLVER_A, { workflow, project: 'A', user: 'alice' })).statusCode).toBe(200);
    const reader = await resolve(READER, { workflow, project: 'A' });
    expect(reader.statusCode).toBe(403);
    expect(reader.json().error.message).toContain('role reader may not resolve workflows');
    expect((await resolve(undefined, { workflow, project: 'A' })).statusCode).toBe(401);
  });

  it('reports an invalid body or workflow as 400 with every issue', async () => {
    const noProject = await resolve(ADMIN, { workflow });
    expect(noProject.statusCode).toBe(400);
    expect(noProject.json().error.message).toContain('missing required field "project"');
    const bad = await resolve(ADMIN, { workflow: { name: 'w', steps: [{ name: 's', extensions: [{ product: 'x' }], env: [{ name: 'X' }] }] }, project: 'A' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.issues).toHaveLength(2);
    expect(bad.json().error.issues).toEqual(
      expect.arrayContaining([
        { pointer: '/workflow/steps/0/extensions/0', message: 'missing required field "name"' },
        { pointer: '/workflow/steps/0/env/0', message: 'missing required field "value"' },
      ]),
    );
    expect((await resolve(ADMIN, { workflow, project: 'A', extra: 1 })).statusCode).toBe(400);
    expect((await resolve(ADMIN, { workflow, project: 'A b' })).statusCode).toBe(400);
  });

  it('accepts a YAML body and carries its OpenAPI paths', async () => {
    const { stringify } = await import('yaml');
    const r = await app.inject({
      method: 'POST',
      url: '/workflows/resolve',
      headers: { 'content-type': 'application/yaml', authorization: `Bearer ${RESOLVER_A}` },
      payload: stringify({ workflow, project: 'A' }),
    });
    expect(r.statusCode, r.body).toBe(200);
    const paths = workflowRoutes.openapi?.paths as Record<string, { post: { responses: Record<string, unknown> } }>;
    expect(paths['/workflows/resolve']?.post.responses['422']).toBeDefined();
    expect(workflowRoutes.openapi?.schemas?.WorkflowResolveRequest).toBeDefined();
  });
});
