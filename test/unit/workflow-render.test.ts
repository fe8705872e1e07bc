/**
 * The renderers (job, argo, tekton) on a resolution made by the real resolver:
 * every env key the resolver generates arrives by secretKeyRef into the step
 * requirement's binding Secret, the Secrets are mounted under
 * $SERVICE_BINDING_ROOT/<requirement>, no value of the registry is inlined, and
 * what an engine cannot express is an error naming the field.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import type { ExtensionRecord } from '../../src/core/records.js';
import { resolveWorkflow, secretValues, type Resolution } from '../../src/core/resolve.js';
import type { Workflow } from '../../src/core/workflow.js';
import { bindingName, bindingSecrets } from '../../src/workflow/binding.js';
import { parseWorkflow } from '../../src/workflow/load.js';
import { renderWorkflow, type RenderContext } from '../../src/workflow/render/index.js';
import { escapeDollar } from '../../src/workflow/render/plan.js';
import { parseInputs, runSecret } from '../../src/cli/commands/workflow-render.js';

const SECRET = 'sup3r-$(secret)-value';
const records: ExtensionRecord[] = [
  {
    id: 'mlflow-0001',
    product: 'mlflow',
    services: [
      {
        id: 'mlflow-tracking',
        resource: 'mlflow-tracking',
        endpoints: [{ url: 'http://mlflow.mlflow.svc:5000', type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.mlflow.svc:5000' } }],
      },
      {
        id: 'mlflow-store',
        resource: 's3',
        endpoints: [{ url: 'http://minio.mlflow.svc:9000', type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: 'http://minio.mlflow.svc:9000' } }],
        credentials: [{ id: 'default', scope: 'global', configuration: { AWS_ACCESS_KEY_ID: 'minio-user', AWS_SECRET_ACCESS_KEY: SECRET } }],
      },
    ],
  },
  {
    id: 'seldon-core',
    product: 'seldon-core',
    services: [{ id: 'seldon-core-api', category: 'prediction-serving', endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal' }] }],
  },
];

const FIXTURE = join(import.meta.dirname, '../fixtures/workflows/mlflow-e2e.yaml');

async function setup(mutate?: (w: Workflow) => void): Promise<{ ctx: RenderContext; resolution: Resolution }> {
  const loaded = parseWorkflow(await readFile(FIXTURE, 'utf8'), FIXTURE);
  mutate?.(loaded.workflow);
  const resolution = resolveWorkflow(loaded.workflow, { project: 'A' }, records);
  return { resolution, ctx: { workflow: loaded.workflow, resolution, file: loaded.file, locate: loaded.locate } };
}

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: unknown } };
type Container = { name: string; image: string; env: Env[]; volumeMounts: { name: string; mountPath: string }[]; resources?: unknown; computeResources?: unknown };

function expectByReference(containers: Container[], resolution: Resolution, secretName: (step: string, req: string) => string, names: string[]): void {
  resolution.steps.forEach((step, i) => {
    const c = containers[i] as Container;
    // Every key the resolver generates is in the env, by reference to the requirement's Secret.
    const generated = Object.keys(step.env).filter((k) => !(containers[i] as Container).env.some((e) => e.name === k && e.value !== undefined));
    for (const key of generated) {
      const e = c.env.find((x) => x.name === key);
      expect(e?.valueFrom?.secretKeyRef, `${step.name} ${key}`).toBeDefined();
      expect(e?.value).toBeUndefined();
    }
    for (const ch of step.choices) {
      const secret = secretName(step.name, ch.requirement);
      expect(c.env.find((e) => e.name === `FUSEML_EXT_${ch.requirement.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`)?.valueFrom?.secretKeyRef).toEqual({ name: secret, key: 'uri' });
      for (const k of ch.secret_keys) expect(c.env.find((e) => e.name === k)?.valueFrom?.secretKeyRef?.name).toBe(secret);
      expect(c.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: `/bindings/${ch.requirement}` }));
    }
    expect(c.env.find((e) => e.name === 'SERVICE_BINDING_ROOT')?.value).toBe('/bindings');
    expect(c.name).toBe(names[i]);
  });
}

describe('workflow render', () => {
  it('job: one Job per step, env by secretKeyRef, binding Secrets mounted, nothing inlined', async () => {
    const { ctx, resolution } = await setup((w) => {
      // Jobs cannot pass outputs: the predictor takes the model from an input instead.
      (w.steps[1] as { inputs: unknown }).inputs = [{ name: 'model', value: '{{ inputs.predictor }}' }];
    });
    const r = renderWorkflow('job', { ...ctx, namespace: 'team-a', inputs: { 'mlflow-codeset': 'mlflow-project' } });
    expect(r.objects.map((o) => [o.kind, (o.metadata as { name: string }).name])).toEqual([
      ['Job', 'mlflow-e2e-trainer'],
      ['Job', 'mlflow-e2e-predictor'],
    ]);
    const containers = r.objects.map((o) => ((o.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0] as Container));
    expectByReference(containers, resolution, (s, q) => bindingName('mlflow-e2e', s, q), ['trainer', 'predictor']);
    const trainer = containers[0] as Container;
    expect(trainer.env.find((e) => e.name === 'MLFLOW_TRACKING_URI')?.valueFrom?.secretKeyRef).toEqual({ name: 'mlflow-e2e-trainer-mlflow-tracking', key: 'MLFLOW_TRACKING_URI' });
    expect(trainer.env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'mlflow-e2e-trainer-mlflow-store', key: 'AWS_SECRET_ACCESS_KEY' });
    expect(trainer.env.find((e) => e.name === 'FUSEML_CODESET_NAME')?.value).toBe('mlflow-project');
    const predictor = containers[1] as Container;
    // An exact single reference becomes a secretKeyRef; the input takes the input's default.
    expect(predictor.env.find((e) => e.name === 'S3_ENDPOINT')?.valueFrom?.secretKeyRef).toEqual({ name: 'mlflow-e2e-predictor-mlflow-store', key: 'MLFLOW_S3_ENDPOINT_URL' });
    expect(predictor.env.find((e) => e.name === 'SERVING_API')?.valueFrom?.secretKeyRef).toEqual({ name: 'mlflow-e2e-predictor-serving', key: 'uri' });
    expect(predictor.env.find((e) => e.name === 'FUSEML_MODEL')?.value).toBe('auto');
    expect(predictor.env.find((e) => e.name === 'FUSEML_ENV_WORKFLOW_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    const text = JSON.stringify(r.objects);
    for (const v of secretValues(resolution)) expect(text).not.toContain(v);
    expect(text).not.toContain('http://mlflow.mlflow.svc:5000');
    expect(r.notes.join('\n')).toMatch(/does not collect step outputs \(trainer\.mlflow-model-url, predictor\.prediction-url\)/);
    const job = r.objects[0] as { metadata: { namespace: string; labels: Record<string, string> }; spec: { template: { spec: { restartPolicy: string; volumes: unknown[] } } } };
    expect(job.metadata.namespace).toBe('team-a');
    expect(job.metadata.labels).toMatchObject({ 'fuseml.io/workflow': 'mlflow-e2e', 'fuseml.io/step': 'trainer' });
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.volumes).toEqual([
      { name: 'binding-0', secret: { secretName: 'mlflow-e2e-trainer-mlflow-tracking' } },
      { name: 'binding-1', secret: { secretName: 'mlflow-e2e-trainer-mlflow-store' } },
    ]);
  });

  it('job: a reference to another step output, or an input without value, is an error naming the field', async () => {
    const { ctx } = await setup();
    let err: unknown;
    try {
      renderWorkflow('job', ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const issues = (err as ValidationError).issues.map((i) => `${i.line}:${i.col} ${i.pointer} ${i.message}`);
    expect(issues).toEqual([
      expect.stringMatching(/^\d+:\d+ \/steps\/0\/inputs\/0\/codeset\/name step trainer: \{\{ inputs\.mlflow-codeset \}\}: workflow input mlflow-codeset has no default: give --input mlflow-codeset=VALUE$/),
      expect.stringMatching(/\/steps\/1\/inputs\/0\/value step predictor: \{\{ steps\.trainer\.outputs\.mlflow-model-url \}\}: engine job cannot pass outputs between steps/),
    ]);
    expect(() => renderWorkflow('job', { ...ctx, inputs: { nope: 'x' } })).toThrow(/--input nope: the workflow has no such input/);
  });

  it('mixed text with extension references uses Kubernetes $(VAR) expansion of the generated keys; literal $( is escaped', async () => {
    const { ctx } = await setup((w) => {
      w.steps[1]!.inputs = [];
      w.steps[1]!.env = [
        { name: 'MODEL_URL', value: '{{ extensions.mlflow-store.url }}/models/$(not-a-var)' },
        { name: 'PLAIN', value: 'a $(b) c' },
      ];
    });
    const r = renderWorkflow('job', { ...ctx, inputs: { 'mlflow-codeset': 'x' } });
    const env = ((r.objects[1]?.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0] as Container).env;
    expect(env.find((e) => e.name === 'MODEL_URL')?.value).toBe('$(FUSEML_EXT_MLFLOW_STORE_URL)/models/$$(not-a-var)');
    expect(env.find((e) => e.name === 'PLAIN')?.value).toBe('a $$(b) c');
    // The referenced variable is defined before its use.
    expect(env.findIndex((e) => e.name === 'FUSEML_EXT_MLFLOW_STORE_URL')).toBeLessThan(env.findIndex((e) => e.name === 'MODEL_URL'));
    expect(escapeDollar('$(A)$$(B)')).toBe('$$(A)$$$(B)');
  });

  it('argo: a Workflow whose DAG follows the steps.X.outputs references', async () => {
    const { ctx, resolution } = await setup();
    const r = renderWorkflow('argo', { ...ctx, inputs: { 'mlflow-codeset': 'mlflow-project' } });
    expect(r.objects).toHaveLength(1);
    const wf = r.objects[0] as {
      apiVersion: string;
      kind: string;
      metadata: { generateName: string };
      spec: { entrypoint: string; arguments: { parameters: unknown[] }; templates: { name: string; dag?: { tasks: unknown[] }; container?: Container; outputs?: unknown; inputs?: unknown }[] };
    };
    expect([wf.apiVersion, wf.kind, wf.metadata.generateName]).toEqual(['argoproj.io/v1alpha1', 'Workflow', 'mlflow-e2e-']);
    expect(wf.spec.arguments.parameters).toEqual([{ name: 'mlflow-codeset', value: 'mlflow-project' }, { name: 'predictor', value: 'auto' }]);
    const main = wf.spec.templates.find((t) => t.name === wf.spec.entrypoint);
    expect(main?.dag?.tasks).toEqual([
      { name: 'trainer', template: 'trainer', arguments: { parameters: [{ name: 'input-mlflow-codeset', value: '{{workflow.parameters.mlflow-codeset}}' }] } },
      {
        name: 'predictor',
        template: 'predictor',
        dependencies: ['trainer'],
        arguments: { parameters: [{ name: 'step-trainer-mlflow-model-url', value: '{{tasks.trainer.outputs.parameters.mlflow-model-url}}' }] },
      },
    ]);
    expect(main?.outputs).toEqual({ parameters: [{ name: 'prediction-url', valueFrom: { parameter: '{{tasks.predictor.outputs.parameters.prediction-url}}' } }] });
    const steps = wf.spec.templates.filter((t) => t.container);
    expect(steps[0]?.outputs).toEqual({ parameters: [{ name: 'mlflow-model-url', valueFrom: { path: '/fuseml/outputs/mlflow-model-url' } }] });
    const predictor = steps[1]?.container as Container;
    expect(predictor.env.find((e) => e.name === 'FUSEML_MODEL')?.value).toBe('{{inputs.parameters.step-trainer-mlflow-model-url}}');
    expect(predictor.env.find((e) => e.name === 'FUSEML_OUTPUT_PREDICTION_URL')?.value).toBe('/fuseml/outputs/prediction-url');
    expectByReference(steps.map((s) => s.container as Container), resolution, (s, q) => bindingName('mlflow-e2e', s, q), ['trainer', 'predictor']);
    for (const v of secretValues(resolution)) expect(JSON.stringify(r.objects)).not.toContain(v);
  });

  it('tekton: a Pipeline with embedded tasks (results, params, computeResources) and a PipelineRun', async () => {
    const { ctx, resolution } = await setup((w) => {
      (w.steps[0] as unknown as { resources: unknown }).resources = { requests: { cpu: '500m', memory: '1Gi' }, limits: { 'nvidia.com/gpu': 1 } };
    });
    const r = renderWorkflow('tekton', { ...ctx, inputs: { 'mlflow-codeset': 'mlflow-project' } });
    expect(r.objects.map((o) => [o.apiVersion, o.kind])).toEqual([
      ['tekton.dev/v1', 'Pipeline'],
      ['tekton.dev/v1', 'PipelineRun'],
    ]);
    const pipeline = r.objects[0] as { metadata: { name: string }; spec: { params: unknown[]; results: unknown[]; tasks: { name: string; params?: unknown[]; taskSpec: { params?: unknown[]; results?: unknown[]; steps: Container[]; volumes: unknown[] } }[] } };
    expect(pipeline.metadata.name).toBe('mlflow-e2e');
    expect(pipeline.spec.params).toEqual([
      { name: 'mlflow-codeset', type: 'string', description: 'an MLflow compatible codeset' },
      { name: 'predictor', type: 'string', default: 'auto' },
    ]);
    expect(pipeline.spec.results).toEqual([{ name: 'prediction-url', value: '$(tasks.predictor.results.prediction-url)' }]);
    const [trainer, predictor] = pipeline.spec.tasks;
    expect(trainer?.taskSpec.results).toEqual([{ name: 'mlflow-model-url', type: 'string' }]);
    expect(trainer?.taskSpec.steps[0]?.computeResources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { 'nvidia.com/gpu': 1 } });
    expect(predictor?.params).toEqual([{ name: 'step-trainer-mlflow-model-url', value: '$(tasks.trainer.results.mlflow-model-url)' }]);
    expect(predictor?.taskSpec.params).toEqual([{ name: 'step-trainer-mlflow-model-url', type: 'string' }]);
    const env = predictor?.taskSpec.steps[0]?.env as Env[];
    expect(env.find((e) => e.name === 'FUSEML_MODEL')?.value).toBe('$(params.step-trainer-mlflow-model-url)');
    expect(env.find((e) => e.name === 'FUSEML_OUTPUT_PREDICTION_URL')?.value).toBe('$(results.prediction-url.path)');
    expectByReference(pipeline.spec.tasks.map((t) => t.taskSpec.steps[0] as Container), resolution, (s, q) => bindingName('mlflow-e2e', s, q), ['trainer', 'predictor']);
    const run = r.objects[1] as { metadata: { generateName: string }; spec: unknown };
    expect(run.metadata.generateName).toBe('mlflow-e2e-run-');
    expect(run.spec).toEqual({
      pipelineRef: { name: 'mlflow-e2e' },
      params: [
        { name: 'mlflow-codeset', value: 'mlflow-project' },
        { name: 'predictor', value: 'auto' },
      ],
    });
  });

  it('fields no engine can express are errors naming them: image outputs, missing image, malformed resources', async () => {
    const { ctx } = await setup((w) => {
      w.steps[0]!.outputs = [{ name: 'img', image: { name: 'x' } }];
      delete w.steps[1]!.image;
      (w.steps[1] as unknown as { resources: unknown }).resources = { cpu: 1 };
    });
    for (const engine of ['argo', 'tekton'] as const) {
      let err: unknown;
      try {
        renderWorkflow(engine, ctx);
      } catch (e) {
        err = e;
      }
      expect((err as ValidationError).issues.map((i) => i.pointer)).toEqual(['/steps/0/outputs/0/image', '/steps/1/image', '/steps/1/inputs/0/value', '/steps/1/resources']);
    }
  });

  it('own env overriding a generated key: the generated entry goes; a $(…) use of the overridden key, or a key the binding Secret cannot hold, is an error', async () => {
    const { ctx } = await setup((w) => {
      w.steps[1]!.inputs = [];
      w.steps[1]!.env = [
        { name: 'MLFLOW_S3_ENDPOINT_URL', value: 'http://override' },
        { name: 'FUSEML_EXT_MLFLOW_STORE_URL', value: 'x' },
        { name: 'MODEL', value: '{{ extensions.mlflow-store.url }}/m' },
      ];
    });
    let err: unknown;
    try {
      renderWorkflow('tekton', ctx);
    } catch (e) {
      err = e;
    }
    expect((err as ValidationError).issues.map((i) => `${i.pointer} ${i.message}`)).toEqual([
      expect.stringMatching(/^\/steps\/1\/env\/2\/value step predictor: \{\{ extensions\.mlflow-store\.url \}\}: FUSEML_EXT_MLFLOW_STORE_URL is overridden by the step's own env/),
    ]);
    const ok = await setup((w) => {
      w.steps[1]!.inputs = [];
      w.steps[1]!.env = [{ name: 'MLFLOW_S3_ENDPOINT_URL', value: 'http://override' }];
    });
    const pipeline = renderWorkflow('tekton', ok.ctx).objects[0] as { spec: { tasks: { taskSpec: { steps: Container[] } }[] } };
    const env = pipeline.spec.tasks[1]?.taskSpec.steps[0]?.env as Env[];
    expect(env.filter((e) => e.name === 'MLFLOW_S3_ENDPOINT_URL')).toEqual([{ name: 'MLFLOW_S3_ENDPOINT_URL', value: 'http://override' }]);

    // A configuration key spelled like a Service Binding key is not in the binding Secret under that name.
    const store = records[0]!.services![1]!;
    const saved = store.endpoints![0]!.configuration;
    store.endpoints![0]!.configuration = { ...saved, uri: 's3://elsewhere' };
    try {
      const clash = await setup();
      expect(() => renderWorkflow('argo', { ...clash.ctx })).toThrow(/cannot render/);
      try {
        renderWorkflow('argo', clash.ctx);
      } catch (e) {
        expect((e as ValidationError).issues.map((i) => i.pointer)).toEqual(['/steps/0/extensions/1', '/steps/1/extensions/0']);
        expect((e as ValidationError).issues[0]?.message).toMatch(/configuration key uri is spelled like a Service Binding key/);
      }
    } finally {
      store.endpoints![0]!.configuration = saved;
    }
  });

  it('workflow run: each run gets its own Secrets (run label and name suffix); --input parsing', async () => {
    const { resolution } = await setup();
    const a = bindingSecrets(resolution).map((s) => runSecret(s, 'run1'));
    expect(a[0]?.name).toBe('mlflow-e2e-trainer-mlflow-tracking-run1');
    expect(a[0]?.labels['fuseml.io/run']).toBe('run1');
    expect(parseInputs(['a=b=c', 'x='])).toEqual({ a: 'b=c', x: '' });
    expect(() => parseInputs(['novalue'])).toThrow(/expected NAME=VALUE/);
    expect(() => parseInputs(['a=1', 'a=2'])).toThrow(/given twice/);
  });
});
