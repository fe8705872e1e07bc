/**
 * `fuseml workflow run --engine job` on the local control plane, with the shipped
 * mlflow and seldon extensions installed by the real installer (upstream charts
 * from the stand-in mirror): every step's Pod (kwok marks it Running; containers
 * never run) gets every env key the resolver generates by secretKeyRef to the
 * run's binding Secret, and the binding Secrets mounted under
 * $SERVICE_BINDING_ROOT/<requirement>; no credential value (read with an admin
 * reveal) appears in rendered manifests, CLI output or Pod specs; an endpoint
 * changed in the registry reaches the next run, in a new Secret, while the
 * previous run's Secret stays as it was.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resolution } from '../../src/core/resolve.js';
import { run } from '../../src/exec/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { bindingName } from '../../src/workflow/binding.js';
import type { ChartRepo } from '../helpers/chart-repo.js';
import { cli } from '../helpers/cli.js';
import { useNamespace } from '../helpers/namespace.js';
import { runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';
import { createPersistentVolumes, startUpstreamChartRepo, upstreamMirrors } from '../helpers/shipped-extensions.js';

const ns = useNamespace('e2e-wf-run');
const INSTALLER_NS = 'fuseml-e2e-wf-run';
const PV_LABEL = 'fuseml-e2e=wf-run';
const kubectl = process.env.FUSEML_KUBECTL ?? 'kubectl';

let registry: RegistryProcess;
let client: RegistryClient;
let charts: ChartRepo;
let env: Record<string, string>;
let dir: string;
let file: string;

// The sample workflow, made runnable as plain Jobs: the predictor takes the model from a workflow input.
const WORKFLOW = `name: train-serve
inputs:
  - name: model
    default: s3://mlflow/models/1
steps:
  - name: trainer
    image: ghcr.io/fuseml/mlflow-trainer:0.3
    extensions:
      - name: mlflow-tracking
        product: mlflow
        service_resource: mlflow-tracking
      - name: mlflow-store
        product: mlflow
        service_resource: s3
  - name: predictor
    image: ghcr.io/fuseml/predictor:0.3
    inputs:
      - name: model
        value: '{{ inputs.model }}'
    extensions:
      - name: mlflow-store
        product: mlflow
        service_resource: s3
      - name: serving
        service_category: prediction-serving
    env:
      - name: S3_ENDPOINT
        value: '{{ extensions.mlflow-store.cfg.MLFLOW_S3_ENDPOINT_URL }}'
      - name: PREDICTIONS
        value: '{{ extensions.serving.url }}/predict'
`;

async function kc(args: string[], allowFailure = false) {
  return run(kubectl, ['--kubeconfig', env.KUBECONFIG as string, '--request-timeout=30s', ...args], { allowFailure, timeoutMs: 120_000 });
}
const installer = (args: string[]) => cli('fuseml-installer', [...args, '--installer-namespace', INSTALLER_NS, '--lock-timeout', '5m'], { env, timeoutMs: 15 * 60_000 });
const fuseml = (args: string[]) => runFuseml(args, { url: registry.url, token: registry.adminToken });

type Pod = {
  metadata: { name: string; labels: Record<string, string> };
  status: { phase: string };
  spec: {
    containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; volumeMounts: { name: string; mountPath: string }[] }[];
    volumes: { name: string; secret?: { secretName: string } }[];
  };
};

/** The run's Pods, once the Job controller has made one per step and kwok marked them Running (or, for Job Pods, Succeeded). */
async function runPods(runId: string, steps: number): Promise<Pod[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await kc(['get', 'pods', '-n', ns.name, '-l', `fuseml.io/run=${runId}`, '-o', 'json'], true);
    const pods = r.exitCode === 0 ? (JSON.parse(r.stdout) as { items: Pod[] }).items : [];
    if (pods.length === steps && pods.every((p) => ['Running', 'Succeeded'].includes(p.status.phase))) return pods;
    if (Date.now() > deadline) throw new Error(`run ${runId}: pods ${pods.map((p) => `${p.metadata.name}=${p.status.phase}`).join(', ') || 'none'} after 120 s`);
    await new Promise((res) => setTimeout(res, 1_000));
  }
}

/** Every credential value the registry holds (admin reveal). */
async function credentialValues(): Promise<string[]> {
  const out: string[] = [];
  for (const id of ['mlflow', 'seldon-core']) {
    const rec = await client.getExtension(id, { reveal: true });
    for (const s of rec.services ?? []) for (const c of s.credentials ?? []) out.push(...Object.values(c.configuration ?? {}));
  }
  return out.filter((v) => v.length >= 6);
}

async function runOnce(): Promise<{ runId: string; stdout: string }> {
  const r = await fuseml(['workflow', 'run', file, '-n', ns.name, '--project', 'demo', '--engine', 'job', '--kubeconfig', env.KUBECONFIG as string, '-o', 'json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return { runId: (JSON.parse(r.stdout) as { run: string }).run, stdout: r.stdout + r.stderr };
}

beforeAll(async () => {
  const kubeconfig = inject('fusemlKubeconfig');
  const helm = inject('fusemlHelm');
  registry = await startRegistry();
  client = new RegistryClient({ url: registry.url, token: registry.adminToken });
  charts = await startUpstreamChartRepo(helm);
  env = { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_REGISTRY_URL: registry.url, FUSEML_REGISTRY_TOKEN: registry.adminToken as string };
  await createPersistentVolumes(kubectl, kubeconfig, { prefix: 'fuseml-e2e-wfrun', label: 'wf-run', count: 3 });
  const r = await installer(['install', '--extensions', 'mlflow,seldon', ...upstreamMirrors(charts)]);
  expect(r.exitCode, r.stderr).toBe(0);
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-wf-run-'));
  file = join(dir, 'wf.yaml');
  await writeFile(file, WORKFLOW);
}, 20 * 60_000);

afterAll(async () => {
  if (env) {
    await installer(['uninstall', '--extensions', 'mlflow,seldon', '--yes']).catch(() => undefined);
    await kc(['delete', 'pv', '-l', PV_LABEL, '--ignore-not-found', '--wait=false'], true);
    await kc(['delete', 'namespace', INSTALLER_NS, '--ignore-not-found', '--wait=false'], true);
  }
  await Promise.all([registry?.cleanup(), charts?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 15 * 60_000);

describe('fuseml workflow run --engine job', () => {
  let firstRun: string;

  it('gives each step Pod every resolved env key by secretKeyRef to its binding Secret, and mounts the bindings', async () => {
    const secrets = await credentialValues();
    expect(secrets.length).toBeGreaterThanOrEqual(2); // MinIO's access key and secret key

    const { runId, stdout } = await runOnce();
    firstRun = runId;
    for (const v of secrets) expect(stdout).not.toContain(v);

    const resolved = await fuseml(['workflow', 'resolve', file, '--project', 'demo', '-o', 'json']);
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    const resolution = JSON.parse(resolved.stdout) as Resolution;

    const pods = await runPods(runId, 2);
    for (const step of resolution.steps) {
      const pod = pods.find((p) => p.metadata.labels['fuseml.io/step'] === step.name) as Pod;
      expect(pod, step.name).toBeDefined();
      expect(pod.metadata.labels['fuseml.io/workflow']).toBe('train-serve');
      const c = pod.spec.containers[0] as Pod['spec']['containers'][0];
      const secretOf = (req: string) => `${bindingName('train-serve', step.name, req)}-${runId}`;
      const own = new Set(['S3_ENDPOINT', 'PREDICTIONS']);
      // Every generated key of the resolution: by reference, never a value.
      for (const key of Object.keys(step.env).filter((k) => !own.has(k))) {
        const e = c.env.find((x) => x.name === key);
        expect(e?.value, `${step.name} ${key}`).toBeUndefined();
        expect(step.choices.map((ch) => secretOf(ch.requirement)), `${step.name} ${key}`).toContain(e?.valueFrom?.secretKeyRef?.name);
      }
      for (const ch of step.choices) {
        const vol = pod.spec.volumes.find((v) => v.secret?.secretName === secretOf(ch.requirement));
        expect(vol, `${step.name} ${ch.requirement} volume`).toBeDefined();
        expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: vol?.name, mountPath: `/bindings/${ch.requirement}` }));
        for (const k of ch.secret_keys) expect(c.env.find((e) => e.name === k)?.valueFrom?.secretKeyRef).toEqual({ name: secretOf(ch.requirement), key: k });
      }
      expect(c.env.find((e) => e.name === 'SERVICE_BINDING_ROOT')?.value).toBe('/bindings');
      if (step.name === 'trainer') {
        expect(c.env.find((e) => e.name === 'MLFLOW_TRACKING_URI')?.valueFrom?.secretKeyRef).toEqual({ name: secretOf('mlflow-tracking'), key: 'MLFLOW_TRACKING_URI' });
      } else {
        expect(c.env.find((e) => e.name === 'S3_ENDPOINT')?.valueFrom?.secretKeyRef).toEqual({ name: secretOf('mlflow-store'), key: 'MLFLOW_S3_ENDPOINT_URL' });
        expect(c.env.find((e) => e.name === 'PREDICTIONS')?.value).toBe('$(FUSEML_EXT_SERVING_URL)/predict');
        expect(c.env.find((e) => e.name === 'FUSEML_MODEL')?.value).toBe('s3://mlflow/models/1');
      }
      // The Secret holds the real values the step will see.
      const data = await ns.client.readSecret(ns.name, secretOf(step.choices[0]?.requirement as string));
      expect(data?.uri).toBe(step.choices[0]?.url);
    }
    const store = await ns.client.readSecret(ns.name, `${bindingName('train-serve', 'trainer', 'mlflow-store')}-${runId}`);
    expect(secrets).toContain(store?.AWS_SECRET_ACCESS_KEY);

    // No credential value in any Pod spec of the run, nor in the rendered manifests of any engine.
    const podJson = JSON.stringify(pods.map((p) => p.spec));
    for (const v of secrets) expect(podJson).not.toContain(v);
    for (const engine of ['job', 'argo', 'tekton']) {
      const r = await fuseml(['workflow', 'render', file, '--project', 'demo', '--engine', engine, '-n', ns.name]);
      expect(r.exitCode, r.stderr).toBe(0);
      for (const v of secrets) expect(r.stdout).not.toContain(v);
      expect(r.stdout).toContain('secretKeyRef');
    }
  });

  it('re-resolves on every run: an endpoint changed in the registry reaches the next run in a new Secret', async () => {
    const rec = await client.getExtension('mlflow', { reveal: true });
    const tracking = rec.services?.find((s) => s.id === 'mlflow-tracking');
    const moved = 'http://mlflow-v2.mlflow.svc.cluster.local:5000';
    const old = tracking?.endpoints?.[0]?.url as string;
    (tracking as NonNullable<typeof tracking>).endpoints = [{ url: moved, type: 'internal', configuration: { MLFLOW_TRACKING_URI: moved } }];
    await client.upsertExtension(rec);

    const { runId } = await runOnce();
    expect(runId).not.toBe(firstRun);
    const name = bindingName('train-serve', 'trainer', 'mlflow-tracking');
    expect((await ns.client.readSecret(ns.name, `${name}-${runId}`))?.MLFLOW_TRACKING_URI).toBe(moved);
    // The previous run's Secret is not reused (nor rewritten).
    expect((await ns.client.readSecret(ns.name, `${name}-${firstRun}`))?.MLFLOW_TRACKING_URI).toBe(old);
    const pods = await runPods(runId, 2);
    const trainer = pods.find((p) => p.metadata.labels['fuseml.io/step'] === 'trainer') as Pod;
    expect(trainer.spec.containers[0]?.env.find((e) => e.name === 'MLFLOW_TRACKING_URI')?.valueFrom?.secretKeyRef?.name).toBe(`${name}-${runId}`);

    // `workflow bind` of the same workflow leaves the runs' Secrets alone.
    const bind = await fuseml(['workflow', 'bind', file, '-n', ns.name, '--project', 'demo', '--kubeconfig', env.KUBECONFIG as string]);
    expect(bind.exitCode, bind.stderr).toBe(0);
    expect(await ns.client.readSecret(ns.name, `${name}-${firstRun}`)).toBeDefined();
  });
});
