/**
 * `fuseml workflow bind / unbind` against a real registry process and the local
 * control plane: one servicebinding.io Secret per step requirement, with the
 * well-known and native keys and the cleanup labels; re-binding replaces them
 * and removes stale ones; unbind deletes them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';
import { useNamespace } from '../helpers/namespace.js';

const ns = useNamespace('e2e-wf-bind');
const RESOLVER = randomToken();
const SECRET = 'minio-secret-' + randomToken().slice(0, 10);

const mlflow: ExtensionRecord = {
  id: 'mlflow-0001',
  product: 'mlflow',
  version: '2.9.2',
  services: [
    {
      id: 'mlflow-tracking',
      resource: 'mlflow-tracking',
      category: 'experiment-tracking',
      endpoints: [{ url: 'http://mlflow.fuseml-ext.svc:5000', type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.fuseml-ext.svc:5000' } }],
    },
    {
      id: 'mlflow-store',
      resource: 's3',
      category: 'model-store',
      auth_required: true,
      endpoints: [{ url: 'http://mlflow-minio.fuseml-ext.svc:9000', type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: 'http://mlflow-minio.fuseml-ext.svc:9000' } }],
      credentials: [{ id: 'team-a', scope: 'project', projects: ['A'], configuration: { AWS_ACCESS_KEY_ID: 'minio-user', AWS_SECRET_ACCESS_KEY: SECRET } }],
    },
  ],
};

const workflow = `name: mlflow-e2e
steps:
  - name: trainer
    image: trainer:1
    extensions:
      - name: tracking
        product: mlflow
        service_resource: mlflow-tracking
      - name: store
        product: mlflow
        service_resource: s3
`;

let reg: RegistryProcess;
let dir: string;
let file: string;

function fuseml(args: string[]) {
  return runFuseml([...args, '--kubeconfig', ns.cluster.kubeconfig, '-n', ns.name], { url: reg.url, token: RESOLVER });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-wf-'));
  file = join(dir, 'wf.yaml');
  await writeFile(file, workflow);
  reg = await startRegistry({ config: `tokens:\n  - name: engine\n    role: resolver\n    token: ${RESOLVER}\n    projects: [A]\n` });
  const res = await fetch(`${reg.url}/extensions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${reg.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(mlflow),
  });
  expect(res.status, await res.text()).toBe(201);
});

afterAll(async () => {
  await reg?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fuseml workflow bind on the local control plane', () => {
  it('--dry-run prints the Secrets with credential values hidden and creates nothing', async () => {
    const r = await fuseml(['workflow', 'bind', file, '--project', 'A', '--dry-run', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const secrets = JSON.parse(r.stdout) as { name: string; stringData: Record<string, string> }[];
    expect(secrets.map((s) => s.name)).toEqual(['mlflow-e2e-trainer-tracking', 'mlflow-e2e-trainer-store']);
    expect(secrets[1]?.stringData.password).toBe('<hidden>');
    expect(r.stdout).not.toContain(SECRET);
    expect(await ns.client.listSecretNames(ns.name, 'app.kubernetes.io/managed-by=fuseml')).toEqual([]);
  });

  it('creates one servicebinding.io Secret per step requirement with the well-known and native keys', async () => {
    const r = await fuseml(['workflow', 'bind', file, '--project', 'A']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^SECRET\s+TYPE\s+STEP\s+REQUIREMENT\s+KEYS/);
    expect(r.stdout).not.toContain(SECRET);

    expect(await ns.client.secretMeta(ns.name, 'mlflow-e2e-trainer-tracking')).toEqual({
      type: 'servicebinding.io/mlflow-tracking',
      labels: {
        'app.kubernetes.io/managed-by': 'fuseml',
        'fuseml.io/workflow': 'mlflow-e2e',
        'fuseml.io/step': 'trainer',
        'fuseml.io/requirement': 'tracking',
      },
    });
    expect(await ns.client.readSecret(ns.name, 'mlflow-e2e-trainer-tracking')).toEqual({
      type: 'mlflow-tracking',
      provider: 'mlflow',
      uri: 'http://mlflow.fuseml-ext.svc:5000',
      host: 'mlflow.fuseml-ext.svc',
      port: '5000',
      MLFLOW_TRACKING_URI: 'http://mlflow.fuseml-ext.svc:5000',
    });
    expect((await ns.client.secretMeta(ns.name, 'mlflow-e2e-trainer-store'))?.type).toBe('servicebinding.io/s3');
    expect(await ns.client.readSecret(ns.name, 'mlflow-e2e-trainer-store')).toEqual({
      type: 's3',
      provider: 'mlflow',
      uri: 'http://mlflow-minio.fuseml-ext.svc:9000',
      host: 'mlflow-minio.fuseml-ext.svc',
      port: '9000',
      username: 'minio-user',
      password: SECRET,
      MLFLOW_S3_ENDPOINT_URL: 'http://mlflow-minio.fuseml-ext.svc:9000',
      AWS_ACCESS_KEY_ID: 'minio-user',
      AWS_SECRET_ACCESS_KEY: SECRET,
    });
  });

  it('binding again replaces in place (registry changes included) and removes Secrets of requirements no longer there', async () => {
    const ep = `/extensions/mlflow-0001/services/mlflow-tracking/endpoints/${encodeURIComponent('http://mlflow.fuseml-ext.svc:5000')}`;
    const put = await fetch(reg.url + ep, {
      method: 'PUT',
      headers: { authorization: `Bearer ${reg.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.fuseml-ext.svc:5000', MLFLOW_EXPERIMENT_NAME: 'e2e' } }),
    });
    expect(put.status, await put.text()).toBe(200);
    await writeFile(file, workflow.split('      - name: store')[0] as string);
    const r = await fuseml(['workflow', 'bind', file, '--project', 'A']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Removed stale bindings: mlflow-e2e-trainer-store');
    expect(await ns.client.listSecretNames(ns.name, 'fuseml.io/workflow=mlflow-e2e')).toEqual(['mlflow-e2e-trainer-tracking']);
    expect((await ns.client.readSecret(ns.name, 'mlflow-e2e-trainer-tracking'))?.MLFLOW_EXPERIMENT_NAME).toBe('e2e');
  });

  it('unbind deletes the workflow\'s binding Secrets, by name or file', async () => {
    const r = await fuseml(['workflow', 'unbind', 'mlflow-e2e']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Deleted 1 binding Secret(s): mlflow-e2e-trainer-tracking');
    expect(await ns.client.listSecretNames(ns.name, 'app.kubernetes.io/managed-by=fuseml')).toEqual([]);
    const again = await fuseml(['workflow', 'unbind', file]);
    expect(again.stdout).toContain('No bindings of workflow mlflow-e2e');
  });

  it('a project without credentials binds nothing and says why', async () => {
    await writeFile(file, workflow);
    const r = await runFuseml(['workflow', 'bind', file, '--project', 'B', '-n', ns.name, '--kubeconfig', ns.cluster.kubeconfig], { url: reg.url, token: reg.adminToken });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('no credentials usable by project B');
    expect(await ns.client.listSecretNames(ns.name, 'app.kubernetes.io/managed-by=fuseml')).toEqual([]);
  });
});
