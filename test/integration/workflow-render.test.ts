/**
 * `fuseml workflow render` through the built CLI against a real registry process
 * (real HTTP, real SQLite): resolution as the caller (project-scoped credentials
 * land in the Secrets, never in the manifests), errors naming the field with its
 * position, and the usage errors of `render` / `run`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const RESOLVER = randomToken();
const TEAM_SECRET = 'team-secret-' + randomToken().slice(0, 10);
const record: ExtensionRecord = {
  id: 'mlflow',
  product: 'mlflow',
  services: [
    {
      id: 'mlflow-tracking',
      resource: 'mlflow-tracking',
      endpoints: [{ url: 'http://mlflow:5000', type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow:5000' } }],
    },
    {
      id: 'mlflow-store',
      resource: 's3',
      auth_required: true,
      endpoints: [{ url: 'http://minio:9000', type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' } }],
      credentials: [{ id: 'team', scope: 'project', projects: ['A'], configuration: { AWS_ACCESS_KEY_ID: 'team-key', AWS_SECRET_ACCESS_KEY: TEAM_SECRET } }],
    },
  ],
};

const WORKFLOW = `name: two-steps
inputs:
  - name: data
steps:
  - name: train
    image: trainer:1
    outputs:
      - name: model
    extensions:
      - name: tracking
        service_resource: mlflow-tracking
      - name: store
        service_resource: s3
  - name: serve
    image: server:1
    inputs:
      - name: model
        value: '{{ steps.train.outputs.model }}'
`;

let reg: RegistryProcess;
let dir: string;
let file: string;
const fuseml = (args: string[]) => runFuseml(args, { url: reg.url, token: RESOLVER });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-render-'));
  file = join(dir, 'wf.yaml');
  await writeFile(file, WORKFLOW);
  reg = await startRegistry({ config: `tokens:\n  - name: engine\n    role: resolver\n    token: ${RESOLVER}\n    projects: [A]\n` });
  const res = await fetch(`${reg.url}/extensions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${reg.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(record),
  });
  expect(res.status, await res.text()).toBe(201);
});

afterAll(async () => {
  await reg?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fuseml workflow render', () => {
  it('argo: renders with the caller’s resolution; credentials stay in the Secrets', async () => {
    const r = await fuseml(['workflow', 'render', file, '--project', 'A', '--engine', 'argo', '-n', 'team-a']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('kind: Workflow');
    expect(r.stdout).toContain('name: two-steps-train-store');
    expect(r.stdout).toContain('key: AWS_SECRET_ACCESS_KEY');
    expect(r.stdout).not.toContain(TEAM_SECRET);
    expect(r.stdout).not.toContain('team-key');
    expect(r.stdout).not.toContain('http://mlflow:5000');
    expect(r.stderr).toContain('note: workflow inputs without a value');
  });

  it('job: what Jobs cannot express is an error naming the field, with its position (exit 3)', async () => {
    const r = await fuseml(['workflow', 'render', file, '--project', 'A', '--engine', 'job', '--input', 'data=x']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/wf\.yaml:18:16 \/steps\/1\/inputs\/0\/value step serve: \{\{ steps\.train\.outputs\.model \}\}: engine job cannot pass outputs between steps/);
    expect(r.stdout).toBe('');
  });

  it('--step renders only that step; project B has no usable credentials', async () => {
    const r = await fuseml(['workflow', 'render', file, '--project', 'A', '--engine', 'job', '--step', 'train', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { metadata: { name: string } }).metadata.name).toBe('two-steps-train');
    expect(r.stderr).toContain('does not collect step outputs (train.model)');
    const b = await runFuseml(['workflow', 'render', file, '--project', 'B', '--engine', 'tekton'], { url: reg.url, token: reg.adminToken });
    expect(b.exitCode).toBe(3);
    expect(b.stderr).toMatch(/no credentials usable by project B/);
  });

  it('usage errors: unknown --input, malformed --input, run with another engine than job', async () => {
    const u = await fuseml(['workflow', 'render', file, '--project', 'A', '--engine', 'tekton', '--input', 'nope=1']);
    expect(u.exitCode).toBe(2);
    expect(u.stderr).toMatch(/--input nope: the workflow has no such input/);
    const m = await fuseml(['workflow', 'render', file, '--project', 'A', '--engine', 'tekton', '--input', 'data']);
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toMatch(/expected NAME=VALUE/);
    const a = await fuseml(['workflow', 'run', file, '--project', 'A', '-n', 'x', '--engine', 'argo']);
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/workflow run applies plain Jobs only/);
  });
});
