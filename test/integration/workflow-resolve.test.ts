/**
 * Workflow resolution end to end on real registry processes (the built
 * fuseml-registry, real HTTP, real SQLite) driven through the built `fuseml`
 * CLI: defaults, project- and user-scoped credentials, ambiguity and env
 * collision errors, category-based portability across two registries, and
 * registry updates picked up by the next resolution.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import type { Resolution } from '../../src/core/resolve.js';
import { run } from '../../src/exec/index.js';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const RESOLVER_A = randomToken();
const RESOLVER_B = randomToken();
const config = `
tokens:
  - name: engine-a
    role: resolver
    token: ${RESOLVER_A}
    projects: [A]
    users: [alice]
  - name: engine-b
    role: resolver
    token: ${RESOLVER_B}
    projects: [B]
`;

const TEAM_A_SECRET = 'team-a-secret-' + randomToken().slice(0, 8);
const ALICE_SECRET = 'alice-secret-' + randomToken().slice(0, 8);

function mlflow(id: string, isDefault: boolean): ExtensionRecord {
  return {
    id,
    product: 'mlflow',
    version: '2.9.2',
    services: [
      {
        id: 'mlflow-tracking',
        resource: 'mlflow-tracking',
        category: 'experiment-tracking',
        default: isDefault,
        endpoints: [{ url: `http://${id}:5000`, type: 'internal', configuration: { MLFLOW_TRACKING_URI: `http://${id}:5000` } }],
      },
      {
        id: 'mlflow-store',
        resource: 's3',
        category: 'model-store',
        auth_required: true,
        endpoints: [{ url: `http://${id}-minio:9000`, type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: `http://${id}-minio:9000` } }],
        credentials: [{ id: 'default', scope: 'global', configuration: { AWS_ACCESS_KEY_ID: `${id}-key`, AWS_SECRET_ACCESS_KEY: `${id}-secret` } }],
      },
    ],
  };
}

const s3Team: ExtensionRecord = {
  id: 's3-team',
  product: 's3',
  version: '1.0.0',
  services: [
    {
      id: 's3',
      resource: 's3',
      category: 'object-store',
      auth_required: true,
      endpoints: [{ url: 'http://minio-team:9000', type: 'internal', configuration: { S3_ENDPOINT_URL: 'http://minio-team:9000' } }],
      credentials: [
        { id: 'team-a', scope: 'project', projects: ['A'], configuration: { AWS_ACCESS_KEY_ID: 'team-a-key', AWS_SECRET_ACCESS_KEY: TEAM_A_SECRET } },
        { id: 'alice', scope: 'user', users: ['alice'], configuration: { AWS_ACCESS_KEY_ID: 'alice-key', AWS_SECRET_ACCESS_KEY: ALICE_SECRET } },
      ],
    },
  ],
};

function serving(product: string, service: string): ExtensionRecord {
  return {
    id: product,
    product,
    version: '1.0.0',
    services: [{ id: service, resource: service, category: 'prediction-serving', endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal', configuration: { SERVING_PLATFORM: product } }] }],
  };
}

let reg1: RegistryProcess;
let reg2: RegistryProcess;
let dir: string;

async function api(reg: RegistryProcess, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(reg.url + path, {
    method,
    headers: { authorization: `Bearer ${reg.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

let n = 0;
async function workflowFile(yaml: string): Promise<string> {
  const file = join(dir, `wf-${++n}.yaml`);
  await writeFile(file, yaml);
  return file;
}

async function resolveJson(reg: RegistryProcess, token: string, file: string, ...args: string[]): Promise<Resolution> {
  const r = await runFuseml(['workflow', 'resolve', file, '-o', 'json', '--show-secrets', ...args], { url: reg.url, token });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Resolution;
}

const trainWorkflow = `
name: train
steps:
  - name: trainer
    image: trainer:1
    extensions:
      - name: tracking
        product: mlflow
        service_resource: mlflow-tracking
      - name: data
        product: s3
        service_resource: s3
    env:
      - name: DATA_URL
        value: '{{ extensions.data.url }}/datasets'
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-wf-'));
  [reg1, reg2] = await Promise.all([startRegistry({ config }), startRegistry({ config })]);
  for (const rec of [mlflow('mlflow-dev', false), mlflow('mlflow-prod', true), s3Team, serving('seldon-core', 'seldon-core-api')]) {
    await api(reg1, 'POST', '/extensions', rec);
  }
  await api(reg2, 'POST', '/extensions', serving('kserve', 'kserve-api'));
});

afterAll(async () => {
  await Promise.all([reg1?.cleanup(), reg2?.cleanup()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fuseml workflow resolve on a real registry', () => {
  it('dev/prod MLflow: the default instance wins; extension_id picks the other', async () => {
    const file = await workflowFile(trainWorkflow);
    const r = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    const step = r.steps[0];
    expect(step?.choices.map((c) => [c.requirement, c.extension_id, c.service_id])).toEqual([
      ['tracking', 'mlflow-prod', 'mlflow-tracking'],
      ['data', 's3-team', 's3'],
    ]);
    expect(step?.choices[0]?.reasons).toContain('default instance');
    expect(step?.env).toMatchObject({
      MLFLOW_TRACKING_URI: 'http://mlflow-prod:5000',
      FUSEML_EXT_TRACKING_URL: 'http://mlflow-prod:5000',
      DATA_URL: 'http://minio-team:9000/datasets',
    });

    const dev = await workflowFile(trainWorkflow.replace('product: mlflow\n', 'product: mlflow\n        extension_id: mlflow-dev\n'));
    const rd = await resolveJson(reg1, RESOLVER_A, dev, '--project', 'A');
    expect(rd.steps[0]?.env.MLFLOW_TRACKING_URI).toBe('http://mlflow-dev:5000');
  });

  it('project-scoped S3 credentials: seen by project A, not by project B', async () => {
    const file = await workflowFile(trainWorkflow);
    const a = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    expect(a.steps[0]?.choices[1]).toMatchObject({ credentials_id: 'team-a', credentials_scope: 'project' });
    expect(a.steps[0]?.env.AWS_SECRET_ACCESS_KEY).toBe(TEAM_A_SECRET);
    expect(a.steps[0]?.env.FUSEML_EXT_DATA_AWS_SECRET_ACCESS_KEY).toBe(TEAM_A_SECRET);

    const b = await runFuseml(['workflow', 'resolve', file, '--project', 'B', '-o', 'json', '--show-secrets'], { url: reg1.url, token: RESOLVER_B });
    expect(b.exitCode).toBe(3);
    expect(b.stdout).toBe('');
    expect(b.stderr).toContain(`${file}:10:9 /steps/0/extensions/1 step trainer, requirement data: no usable service matches product=s3, service_resource=s3: s3-team/s3: no credentials usable by project B`);
    expect(b.stderr).not.toContain(TEAM_A_SECRET);
    expect(b.stderr).not.toContain('team-a-key');

    // And B's token cannot pretend to be A.
    const forged = await runFuseml(['workflow', 'resolve', file, '--project', 'A'], { url: reg1.url, token: RESOLVER_B });
    expect(forged.exitCode).toBe(12);
    expect(forged.stderr).toContain('may not resolve for project A');
  });

  it('a user-scoped credential is used for its user, over the project one', async () => {
    const file = await workflowFile(trainWorkflow);
    const r = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A', '--user', 'alice');
    expect(r.steps[0]?.choices[1]).toMatchObject({ credentials_id: 'alice', credentials_scope: 'user' });
    expect(r.steps[0]?.env.AWS_SECRET_ACCESS_KEY).toBe(ALICE_SECRET);
  });

  it('an ambiguous requirement: error listing both candidates, with the position in the file', async () => {
    const file = await workflowFile(`name: ambiguous
steps:
  - name: trainer
    extensions:
      - name: store
        product: mlflow
        service_resource: s3
`);
    const r = await runFuseml(['workflow', 'resolve', file, '--project', 'A'], { url: reg1.url, token: RESOLVER_A });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(
      `${file}:5:9 /steps/0/extensions/0 step trainer, requirement store: 2 services match product=mlflow, service_resource=s3 equally well and none is the default: mlflow-dev/mlflow-store (http://mlflow-dev-minio:9000/), mlflow-prod/mlflow-store (http://mlflow-prod-minio:9000/)`,
    );
    expect(r.stderr).toContain('Hint: narrow the requirement');
  });

  it('two requirements setting the same native key differently: the env collision error names both', async () => {
    const file = await workflowFile(`name: collision
steps:
  - name: copy
    extensions:
      - name: src
        product: s3
      - name: dst
        extension_id: mlflow-prod
        service_id: mlflow-store
`);
    const r = await runFuseml(['workflow', 'resolve', file, '--project', 'A'], { url: reg1.url, token: RESOLVER_A });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('requirement dst (mlflow-prod/mlflow-store) and requirement src (s3-team/s3) set AWS_ACCESS_KEY_ID to different values');
    expect(r.stderr).toContain('set AWS_SECRET_ACCESS_KEY to different values');
    expect(r.stderr).not.toMatch(/mlflow-prod-secret|team-a-key/);
  });

  it('category-based portability: the same workflow resolves to Seldon on one registry, KServe on the other', async () => {
    const file = await workflowFile(`name: serve
steps:
  - name: predictor
    extensions:
      - name: serving
        service_category: prediction-serving
    env:
      - name: PLATFORM
        value: '{{ extensions.serving.cfg.SERVING_PLATFORM }}'
`);
    const one = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    const two = await resolveJson(reg2, RESOLVER_A, file, '--project', 'A');
    expect(one.steps[0]?.choices[0]).toMatchObject({ extension_id: 'seldon-core', service_id: 'seldon-core-api' });
    expect(two.steps[0]?.choices[0]).toMatchObject({ extension_id: 'kserve', service_id: 'kserve-api' });
    expect([one.steps[0]?.env.PLATFORM, two.steps[0]?.env.PLATFORM]).toEqual(['seldon-core', 'kserve']);
  });

  it('an update of the S3 endpoint is picked up by the next resolve', async () => {
    const file = await workflowFile(trainWorkflow);
    const before = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    expect(before.steps[0]?.env.S3_ENDPOINT_URL).toBe('http://minio-team:9000');

    const ep = `/extensions/s3-team/services/s3/endpoints/${encodeURIComponent('http://minio-team:9000')}`;
    await api(reg1, 'PUT', ep, { configuration: { S3_ENDPOINT_URL: 'http://minio-team:9000', S3_REGION: 'eu-1' } });
    const patched = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    expect(patched.steps[0]?.env.S3_REGION).toBe('eu-1');

    await api(reg1, 'DELETE', ep);
    await api(reg1, 'POST', '/extensions/s3-team/services/s3/endpoints', { url: 'http://minio-new:9000', type: 'internal', configuration: { S3_ENDPOINT_URL: 'http://minio-new:9000' } });
    const after = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    expect(after.steps[0]?.choices[1]?.url).toBe('http://minio-new:9000');
    expect(after.steps[0]?.env).toMatchObject({ S3_ENDPOINT_URL: 'http://minio-new:9000', DATA_URL: 'http://minio-new:9000/datasets' });
  });

  it('secrets: hidden in json/yaml/table without --show-secrets; -o env needs it and is eval-safe', async () => {
    const file = await workflowFile(trainWorkflow);
    const opts = { url: reg1.url, token: RESOLVER_A };
    const masked = await runFuseml(['workflow', 'resolve', file, '--project', 'A', '-o', 'yaml'], opts);
    expect(masked.exitCode, masked.stderr).toBe(0);
    expect(masked.stdout).toContain('AWS_SECRET_ACCESS_KEY: <hidden>');
    expect(masked.stdout).not.toContain(TEAM_A_SECRET);
    const table = await runFuseml(['workflow', 'resolve', file, '--project', 'A'], opts);
    expect(table.stdout).toMatch(/^STEP\s+REQUIREMENT\s+EXTENSION\s+SERVICE\s+URL\s+CREDENTIALS\s+WHY/);
    expect(table.stdout).toContain('team-a (project)');
    expect(table.stdout).not.toContain(TEAM_A_SECRET);

    const refused = await runFuseml(['workflow', 'resolve', file, '--project', 'A', '-o', 'env'], opts);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('-o env would print credential values');
    expect(refused.stdout).toBe('');

    const env = await runFuseml(['workflow', 'resolve', file, '--project', 'A', '-o', 'env', '--show-secrets'], opts);
    expect(env.exitCode, env.stderr).toBe(0);
    expect(env.stdout).toContain(`AWS_SECRET_ACCESS_KEY='${TEAM_A_SECRET}'\n`);
    const sh = await run('/bin/sh', ['-s'], { input: `${env.stdout}\nprintf '%s|%s' "$MLFLOW_TRACKING_URI" "$DATA_URL"`, timeoutMs: 10_000 });
    // (the endpoint test above may have moved the S3 endpoint)
    expect(sh.stdout).toMatch(/^http:\/\/mlflow-prod:5000\|http:\/\/minio-(team|new):9000\/datasets$/);
  });

  it('--step resolves one step only; its problems keep their position in the file', async () => {
    const file = await workflowFile(`name: two
steps:
  - name: first
    extensions:
      - name: tracking
        product: mlflow
        service_resource: mlflow-tracking
  - name: second
    extensions:
      - name: store
        product: mlflow
        service_resource: s3
`);
    const opts = { url: reg1.url, token: RESOLVER_A };
    const first = await runFuseml(['workflow', 'resolve', file, '--project', 'A', '--step', 'first', '-o', 'env'], opts);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toBe("FUSEML_EXT_TRACKING_MLFLOW_TRACKING_URI='http://mlflow-prod:5000'\nFUSEML_EXT_TRACKING_URL='http://mlflow-prod:5000'\nMLFLOW_TRACKING_URI='http://mlflow-prod:5000'\n");
    const second = await runFuseml(['workflow', 'resolve', file, '--project', 'A', '--step', 'second'], opts);
    expect(second.exitCode).toBe(3);
    expect(second.stderr).toContain(`${file}:10:9 /steps/1/extensions/0 step second, requirement store: 2 services match`);
    const none = await runFuseml(['workflow', 'resolve', file, '--project', 'A', '--step', 'third'], opts);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('no step third');
  });

  it('moving the default to another instance (fuseml extension service update --default) clears the old mark and the next resolve follows', async () => {
    const admin = { url: reg1.url, token: reg1.adminToken };
    const moved = await runFuseml(['extension', 'service', 'update', 'mlflow-dev', 'mlflow-tracking', '--default', 'true', '-o', 'json'], admin);
    expect(moved.exitCode, moved.stderr).toBe(0);
    const prod = await runFuseml(['extension', 'service', 'get', 'mlflow-prod', 'mlflow-tracking', '-o', 'json'], admin);
    expect(JSON.parse(prod.stdout).default).toBeUndefined();
    const file = await workflowFile(trainWorkflow);
    const r = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    expect(r.steps[0]?.env.MLFLOW_TRACKING_URI).toBe('http://mlflow-dev:5000');
    // and back, so the other tests keep their fixture
    const back = await runFuseml(['extension', 'service', 'update', 'mlflow-prod', 'mlflow-tracking', '--default', 'true'], admin);
    expect(back.exitCode, back.stderr).toBe(0);
    expect((await resolveJson(reg1, RESOLVER_A, file, '--project', 'A')).steps[0]?.env.MLFLOW_TRACKING_URI).toBe('http://mlflow-prod:5000');
  });

  it('validates the file locally before asking the registry', async () => {
    const file = await workflowFile('name: bad\nsteps:\n  - name: s\n    extensions:\n      - nme: x\n');
    const r = await runFuseml(['workflow', 'resolve', file, '--project', 'A'], { url: reg1.url, token: RESOLVER_A });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`${file}:5:9 /steps/0/extensions/0 unknown field "nme"`);
    const ok = await runFuseml(['workflow', 'validate', await workflowFile(trainWorkflow)]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('valid workflow train (1 steps, 2 extension requirements)');
  });

  it("a workflow in fuseml-core's full form (created, labels, resources, extensionAccess, status, empty selectors) validates and resolves", async () => {
    const file = resolve(import.meta.dirname, '../fixtures/workflows/fuseml-core-full.yaml');
    const ok = await runFuseml(['workflow', 'validate', file]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('valid workflow train-and-serve (3 steps, 4 extension requirements)');
    const r = await resolveJson(reg1, RESOLVER_A, file, '--project', 'A');
    expect(r.steps.map((s) => s.name)).toEqual(['builder', 'trainer', 'predictor']);
    const [, trainer, predictor] = r.steps;
    // status and extensionAccess (what fuseml-core resolved at creation) are ignored: the registry decides now.
    expect(trainer?.choices.map((c) => [c.requirement, c.extension_id, c.service_id])).toEqual([
      ['mlflow-tracking', 'mlflow-prod', 'mlflow-tracking'],
      ['mlflow-store', 'mlflow-dev', 'mlflow-store'],
    ]);
    expect(trainer?.env).toMatchObject({ MLFLOW_S3_ENDPOINT_URL: 'http://mlflow-dev-minio:9000', AWS_ACCESS_KEY_ID: 'mlflow-dev-key' });
    // "" selectors filter nothing; the version range and category do.
    expect(predictor?.choices.map((c) => [c.requirement, c.extension_id, c.service_id])).toEqual([
      ['s3-storage', 'mlflow-prod', 'mlflow-store'],
      ['serving', 'seldon-core', 'seldon-core-api'],
    ]);
    expect(predictor?.env).toMatchObject({ S3_ENDPOINT: 'http://mlflow-prod-minio:9000', SERVING_API: 'https://kubernetes.default.svc' });
  });
});
