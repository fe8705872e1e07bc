/**
 * The Tekton renderer writes only fields Tekton's v1 API defines (no Tekton Go
 * module or CRD is served to this project, so the field names are taken from
 * Tekton's published API reference, https://tekton.dev/docs/pipelines/pipeline-api/
 * (tekton.dev/v1: Pipeline, PipelineSpec, PipelineTask, EmbeddedTask/TaskSpec, Step,
 * ParamSpec, Param, TaskResult, PipelineResult, PipelineRun, PipelineRunSpec,
 * PipelineRef) and Kubernetes core/v1 for the embedded container types).
 * Every key of every rendered object is checked against the type at its path.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { resolveWorkflow } from '../../src/core/resolve.js';
import { parseWorkflow } from '../../src/workflow/load.js';
import { renderWorkflow } from '../../src/workflow/render/index.js';

type Shape = { fields: Record<string, string | null> } | { list: string } | { map: true } | 'scalar';

/** type name → its fields (value: the field's type, null for a scalar). */
const T: Record<string, Shape> = {
  Pipeline: { fields: { apiVersion: null, kind: null, metadata: 'ObjectMeta', spec: 'PipelineSpec' } },
  PipelineRun: { fields: { apiVersion: null, kind: null, metadata: 'ObjectMeta', spec: 'PipelineRunSpec' } },
  ObjectMeta: { fields: { name: null, generateName: null, namespace: null, labels: 'StringMap', annotations: 'StringMap' } },
  StringMap: { map: true },
  PipelineSpec: {
    fields: { displayName: null, description: null, tasks: 'PipelineTasks', params: 'ParamSpecs', workspaces: null, results: 'PipelineResults', finally: 'PipelineTasks' },
  },
  PipelineTasks: { list: 'PipelineTask' },
  PipelineTask: {
    fields: {
      name: null, displayName: null, description: null, taskRef: null, taskSpec: 'EmbeddedTask', when: null, retries: null,
      runAfter: null, params: 'Params', matrix: null, workspaces: null, timeout: null, pipelineRef: null, pipelineSpec: null, onError: null,
    },
  },
  // EmbeddedTask: spec, metadata, and the members of TaskSpec.
  EmbeddedTask: {
    fields: {
      spec: null, metadata: null, params: 'ParamSpecs', displayName: null, description: null, steps: 'Steps', volumes: 'Volumes',
      stepTemplate: null, sidecars: null, workspaces: null, results: 'TaskResults',
    },
  },
  ParamSpecs: { list: 'ParamSpec' },
  ParamSpec: { fields: { name: null, type: null, description: null, properties: null, default: null, enum: null } },
  Params: { list: 'Param' },
  Param: { fields: { name: null, value: null } },
  TaskResults: { list: 'TaskResult' },
  TaskResult: { fields: { name: null, type: null, properties: null, description: null, value: null } },
  PipelineResults: { list: 'PipelineResult' },
  PipelineResult: { fields: { name: null, type: null, description: null, value: null } },
  Steps: { list: 'Step' },
  Step: {
    fields: {
      name: null, displayName: null, image: null, command: null, args: null, workingDir: null, env: 'EnvVars', envFrom: null,
      computeResources: 'Resources', volumeMounts: 'VolumeMounts', volumeDevices: null, imagePullPolicy: null, securityContext: null,
      script: null, timeout: null, workspaces: null, onError: null, stdoutConfig: null, stderrConfig: null, ref: null, params: null,
      results: null, when: null,
    },
  },
  Resources: { fields: { limits: 'StringMap', requests: 'StringMap', claims: null } },
  EnvVars: { list: 'EnvVar' },
  EnvVar: { fields: { name: null, value: null, valueFrom: 'EnvVarSource' } },
  EnvVarSource: { fields: { secretKeyRef: 'KeySelector', configMapKeyRef: 'KeySelector', fieldRef: 'FieldRef', resourceFieldRef: null } },
  KeySelector: { fields: { name: null, key: null, optional: null } },
  FieldRef: { fields: { apiVersion: null, fieldPath: null } },
  VolumeMounts: { list: 'VolumeMount' },
  VolumeMount: { fields: { name: null, mountPath: null, readOnly: null, subPath: null, subPathExpr: null, mountPropagation: null, recursiveReadOnly: null } },
  Volumes: { list: 'Volume' },
  Volume: { fields: { name: null, secret: 'SecretVolume', emptyDir: null, configMap: null, projected: null, persistentVolumeClaim: null } },
  SecretVolume: { fields: { secretName: null, items: null, defaultMode: null, optional: null } },
  PipelineRunSpec: {
    fields: { pipelineRef: 'PipelineRef', pipelineSpec: 'PipelineSpec', params: 'Params', status: null, timeouts: null, taskRunTemplate: null, workspaces: null, taskRunSpecs: null, managedBy: null },
  },
  PipelineRef: { fields: { name: null, apiVersion: null, resolver: null, params: null } },
};

/** Every key path not defined by the type at that path. */
function unknownFields(value: unknown, type: string, path: string, out: string[]): string[] {
  const shape = T[type];
  if (!shape || shape === 'scalar') return out;
  if ('map' in shape) return out;
  if ('list' in shape) {
    if (!Array.isArray(value)) out.push(`${path}: expected a list`);
    else value.forEach((v, i) => unknownFields(v, shape.list, `${path}[${i}]`, out));
    return out;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    out.push(`${path}: expected an object`);
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!Object.prototype.hasOwnProperty.call(shape.fields, k)) out.push(`${path}.${k}`);
    else if (shape.fields[k]) unknownFields(v, shape.fields[k] as string, `${path}.${k}`, out);
  }
  return out;
}

const records: ExtensionRecord[] = [
  {
    id: 'mlflow',
    product: 'mlflow',
    services: [
      { id: 'mlflow-tracking', resource: 'mlflow-tracking', endpoints: [{ url: 'http://mlflow:5000', type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow:5000' } }] },
      {
        id: 'mlflow-store',
        resource: 's3',
        endpoints: [{ url: 'http://minio:9000', type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' } }],
        credentials: [{ id: 'default', scope: 'global', configuration: { AWS_ACCESS_KEY_ID: 'u', AWS_SECRET_ACCESS_KEY: 'p' } }],
      },
    ],
  },
  { id: 'seldon-core', product: 'seldon-core', services: [{ id: 'api', category: 'prediction-serving', endpoints: [{ url: 'https://k8s', type: 'internal' }] }] },
];

describe("tekton renderer and Tekton's published v1 field names", () => {
  it('uses only fields Tekton v1 defines, at the right places', async () => {
    const file = join(import.meta.dirname, '../fixtures/workflows/mlflow-e2e.yaml');
    const loaded = parseWorkflow(await readFile(file, 'utf8'), file);
    (loaded.workflow.steps[0] as unknown as { resources: unknown }).resources = { requests: { cpu: '1' }, limits: { memory: '2Gi' } };
    const resolution = resolveWorkflow(loaded.workflow, { project: 'A' }, records);
    const r = renderWorkflow('tekton', { workflow: loaded.workflow, resolution, namespace: 'ns', inputs: { 'mlflow-codeset': 'x' } });
    const [pipeline, run] = r.objects;
    expect(unknownFields(pipeline, 'Pipeline', 'Pipeline', [])).toEqual([]);
    expect(unknownFields(run, 'PipelineRun', 'PipelineRun', [])).toEqual([]);
    // The checker itself: a Kubernetes container's `resources` is not a Tekton Step field (it is computeResources).
    const bad = structuredClone(pipeline) as { spec: { tasks: { taskSpec: { steps: Record<string, unknown>[] } }[] } };
    (bad.spec.tasks[0]?.taskSpec.steps[0] as Record<string, unknown>).resources = {};
    expect(unknownFields(bad, 'Pipeline', 'Pipeline', [])).toEqual(['Pipeline.spec.tasks[0].taskSpec.steps[0].resources']);
  });
});
