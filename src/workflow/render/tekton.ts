/**
 * `--engine tekton`: a Tekton `Pipeline` (tekton.dev/v1) with one embedded task
 * per step, and a `PipelineRun` of it. FuseML's own engine. Run-time references
 * become task params fed by `$(params.X)` / `$(tasks.S.results.O)` (Tekton orders
 * the tasks by those result references); a step writes output O to
 * $FUSEML_OUTPUT_<O> (= `$(results.O.path)`), and workflow outputs become
 * pipeline results.
 */
import { dnsLabel } from '../binding.js';
import { planWithParams, workflowOutputs } from './argo.js';
import { metadata, type Rendered, type RenderContext } from './job.js';
import type { RuntimeRef } from './plan.js';

export const TEKTON_API = 'tekton.dev/v1';

export function renderTekton(ctx: RenderContext): Rendered {
  const taskName = (step: string): string => dnsLabel(step);
  const { plans, params, values, notes } = planWithParams(
    ctx,
    (param) => `$(params.${param})`,
    { outputPath: (_step, output) => `$(results.${output}.path)` },
    'the PipelineRun must be given them',
  );

  const expr = (ref: RuntimeRef): string => (ref.kind === 'input' ? `$(params.${ref.name})` : `$(tasks.${taskName(ref.step)}.results.${ref.output})`);
  const tasks = plans.map((p) => {
    const mine = [...(params.get(p.name) ?? new Map<string, RuntimeRef>()).entries()];
    return {
      name: taskName(p.name),
      ...(mine.length > 0 ? { params: mine.map(([name, ref]) => ({ name, value: expr(ref) })) } : {}),
      taskSpec: {
        ...(mine.length > 0 ? { params: mine.map(([name]) => ({ name, type: 'string' })) } : {}),
        ...(p.outputs.length > 0 ? { results: p.outputs.map((o) => ({ name: o, type: 'string' })) } : {}),
        steps: [
          {
            name: taskName(p.name),
            image: p.image,
            env: p.env,
            ...(p.resources ? { computeResources: p.resources } : {}),
            volumeMounts: p.volumeMounts,
          },
        ],
        volumes: p.volumes,
      },
    };
  });
  const outs = workflowOutputs(ctx, new Set(plans.map((p) => p.name)));
  const pipelineName = dnsLabel(ctx.runId === undefined ? ctx.workflow.name : `${ctx.workflow.name}-${ctx.runId}`);
  const inputs = ctx.workflow.inputs ?? [];
  const pipeline = {
    apiVersion: TEKTON_API,
    kind: 'Pipeline',
    metadata: metadata(ctx, { name: pipelineName }),
    spec: {
      ...(ctx.workflow.description ? { description: ctx.workflow.description } : {}),
      ...(inputs.length > 0
        ? {
            params: inputs.map((i) => ({
              name: i.name,
              type: 'string',
              ...(i.description ? { description: i.description } : {}),
              ...(i.default !== undefined ? { default: i.default } : {}),
            })),
          }
        : {}),
      tasks,
      ...(outs.length > 0 ? { results: outs.map((o) => ({ name: o.name, value: `$(tasks.${taskName(o.step)}.results.${o.name})` })) } : {}),
    },
  };
  const given = inputs.filter((i) => values[i.name] !== undefined);
  const run = {
    apiVersion: TEKTON_API,
    kind: 'PipelineRun',
    metadata: metadata(ctx, ctx.runId === undefined ? { generateName: `${dnsLabel(ctx.workflow.name, 50)}-run-` } : { name: pipelineName }),
    spec: {
      pipelineRef: { name: pipelineName },
      ...(given.length > 0 ? { params: given.map((i) => ({ name: i.name, value: values[i.name] as string })) } : {}),
    },
  };
  return { objects: [pipeline, run], notes };
}
