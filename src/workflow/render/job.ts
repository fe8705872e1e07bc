/**
 * `--engine job`: one plain Kubernetes Job (batch/v1) per step. Jobs have no
 * ordering and no way to pass outputs: all of them start at once, a reference
 * to another step's output is an error naming the field, and `{{ inputs.X }}`
 * takes the value of --input X=… or the input's default. Steps run in order only
 * with --engine argo or tekton.
 */
import { FusemlError } from '../../core/errors.js';
import type { Resolution } from '../../core/resolve.js';
import type { Workflow } from '../../core/workflow.js';
import { dnsLabel, labelValue, LABEL_MANAGED_BY, LABEL_STEP, LABEL_WORKFLOW, MANAGED_BY } from '../binding.js';
import { checkInputs, escapeDollar, inputValues, LABEL_RUN, planSteps, type StepPlan } from './plan.js';

export interface RenderContext {
  workflow: Workflow;
  resolution: Resolution;
  /** metadata.namespace of every object, when given. */
  namespace?: string | undefined;
  /** --input NAME=VALUE */
  inputs?: Record<string, string> | undefined;
  /** A run id: names and labels objects of one run (`fuseml workflow run`). */
  runId?: string | undefined;
  /** The Secret of a step requirement (default: the `workflow bind` name). */
  secretName?: ((step: string, requirement: string) => string) | undefined;
  file?: string | undefined;
  locate?: ((pointer: string) => { line: number; col: number } | undefined) | undefined;
}

export interface Rendered {
  /** The objects, in apply order. */
  objects: Record<string, unknown>[];
  /** Things the engine does not do that are worth saying (never a dropped field: those are errors). */
  notes: string[];
}

export type K8sObject = Record<string, unknown>;

/** Common labels of everything rendered for a workflow (and run). */
export function workflowLabels(ctx: RenderContext, step?: string): Record<string, string> {
  const labels: Record<string, string> = { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_WORKFLOW]: labelValue(ctx.workflow.name) };
  if (step !== undefined) labels[LABEL_STEP] = labelValue(step);
  if (ctx.runId !== undefined) labels[LABEL_RUN] = ctx.runId;
  return labels;
}

export function metadata(ctx: RenderContext, name: Record<string, string>, step?: string): K8sObject {
  return { ...name, ...(ctx.namespace ? { namespace: ctx.namespace } : {}), labels: workflowLabels(ctx, step) };
}

/** Unknown --input names. */
export function assertInputs(ctx: RenderContext): void {
  const unknown = checkInputs(ctx.workflow, ctx.inputs ?? {});
  if (unknown.length > 0) {
    const known = (ctx.workflow.inputs ?? []).map((i) => i.name);
    throw new FusemlError('USAGE', `--input ${unknown.join(', ')}: the workflow has no such input`, { hint: `inputs: ${known.join(', ') || 'none'}` });
  }
}

/** A container of a step plan (shared by the Job and Argo renderers). */
export function container(p: StepPlan, extra: K8sObject = {}): K8sObject {
  return {
    name: dnsLabel(p.name),
    image: p.image,
    env: p.env,
    ...(p.resources ? { resources: p.resources } : {}),
    volumeMounts: p.volumeMounts,
    ...extra,
  };
}

export function jobName(workflow: string, step: string, runId?: string): string {
  return dnsLabel(runId === undefined ? `${workflow}-${step}` : `${workflow}-${step}-${runId}`);
}

export function renderJobs(ctx: RenderContext): Rendered {
  assertInputs(ctx);
  const values = inputValues(ctx.workflow, ctx.inputs ?? {});
  const plans = planSteps(ctx.workflow, ctx.resolution, {
    secretName: ctx.secretName,
    file: ctx.file,
    locate: ctx.locate,
    runtime: (ref) => {
      if (ref.kind === 'output') {
        throw new Error(`engine job cannot pass outputs between steps (Jobs run unordered); use --engine argo or tekton`);
      }
      const v = values[ref.name];
      if (v === undefined) throw new Error(`workflow input ${ref.name} has no default: give --input ${ref.name}=VALUE`);
      return escapeDollar(v);
    },
  });
  const notes: string[] = [];
  const uncollected = plans.flatMap((p) => p.outputs.map((o) => `${p.name}.${o}`));
  if (uncollected.length > 0) notes.push(`engine job does not collect step outputs (${uncollected.join(', ')}); the steps run, their outputs go nowhere`);
  if (plans.length > 1) notes.push('engine job starts all Jobs at once: steps run in order only with --engine argo or tekton');
  const objects = plans.map((p) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      ...metadata(ctx, { name: jobName(ctx.workflow.name, p.name, ctx.runId) }, p.name),
      annotations: { 'fuseml.io/step-index': String(p.index) },
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: workflowLabels(ctx, p.name) },
        spec: {
          restartPolicy: 'Never',
          containers: [container(p)],
          volumes: p.volumes,
        },
      },
    },
  }));
  return { objects, notes };
}

