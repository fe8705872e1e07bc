/**
 * `--engine argo`: one Argo Workflows `Workflow` (argoproj.io/v1alpha1). Each step
 * is a container template; the entry template is a DAG whose task dependencies
 * come from the `{{ steps.S.outputs.O }}` references. Run-time references become
 * template input parameters fed by the task arguments (`{{workflow.parameters.X}}`,
 * `{{tasks.S.outputs.parameters.O}}`); a step writes output O to the file named by
 * $FUSEML_OUTPUT_<O> (under /fuseml/outputs, an emptyDir), which Argo collects.
 */
import { FusemlError } from '../../core/errors.js';
import { dnsLabel } from '../binding.js';
import { assertInputs, container, metadata, type Rendered, type RenderContext } from './job.js';
import { inputValues, planSteps, type PlanOptions, type RuntimeRef, type StepPlan } from './plan.js';

export const ARGO_OUTPUTS_DIR = '/fuseml/outputs';
/** The DAG template (step templates are named after the steps). */
const ENTRY = 'fuseml-main';

/** A parameter name for a run-time reference: letters, digits, `-` and `_` only. */
export function paramName(ref: RuntimeRef): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return ref.kind === 'input' ? `input-${clean(ref.name)}` : `step-${clean(ref.step)}-${clean(ref.output)}`;
}

/** Per step: parameter name → the engine expression that feeds it. */
export type StepParams = Map<string, Map<string, RuntimeRef>>;

/** Records the parameter a step needs; two different references with one name are an error. */
export function needParam(params: StepParams, step: string, ref: RuntimeRef): string {
  const name = paramName(ref);
  const mine = params.get(step) ?? new Map<string, RuntimeRef>();
  params.set(step, mine);
  const prev = mine.get(name);
  if (prev && JSON.stringify(prev) !== JSON.stringify(ref)) throw new Error(`two run-time references map to the parameter name ${name}`);
  mine.set(name, ref);
  return name;
}

/** The step producing each workflow output (the last one declaring an output of that name), or a note. */
export function workflowOutputs(ctx: RenderContext, rendered: Set<string>): { name: string; step: string }[] {
  const out: { name: string; step: string }[] = [];
  for (const [i, o] of (ctx.workflow.outputs ?? []).entries()) {
    const producers = ctx.workflow.steps.filter((s) => (s.outputs ?? []).some((so) => so.name === o.name));
    const last = producers[producers.length - 1];
    if (!last) {
      throw new FusemlError('VALIDATION', `${ctx.file ?? 'workflow'} /outputs/${i}: workflow output ${o.name} is not an output of any step`);
    }
    if (rendered.has(last.name)) out.push({ name: o.name, step: last.name });
  }
  return out;
}

/** What argo and tekton share: inputs checked, steps planned with run-time references as step parameters. */
export function planWithParams(
  ctx: RenderContext,
  write: (param: string) => string,
  extra: Pick<PlanOptions, 'outputPath' | 'extraVolumes'>,
  submitHint: string,
): { plans: StepPlan[]; params: StepParams; values: Record<string, string | undefined>; notes: string[] } {
  assertInputs(ctx);
  const values = inputValues(ctx.workflow, ctx.inputs ?? {});
  const params: StepParams = new Map();
  const plans = planSteps(ctx.workflow, ctx.resolution, {
    secretName: ctx.secretName,
    file: ctx.file,
    locate: ctx.locate,
    runtime: (ref, step) => write(needParam(params, step, ref)),
    ...extra,
  });
  const notes: string[] = [];
  const missing = Object.entries(values).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) notes.push(`workflow inputs without a value (${submitHint}): ${missing.join(', ')}`);
  return { plans, params, values, notes };
}

export function renderArgo(ctx: RenderContext): Rendered {
  const taskName = (step: string): string => dnsLabel(step);
  const { plans, params, values, notes } = planWithParams(
    ctx,
    (param) => `{{inputs.parameters.${param}}}`,
    {
      outputPath: (_step, output) => `${ARGO_OUTPUTS_DIR}/${output}`,
      extraVolumes: [{ volume: { name: 'fuseml-outputs', emptyDir: {} }, mount: { name: 'fuseml-outputs', mountPath: ARGO_OUTPUTS_DIR } }],
    },
    'give them when submitting, e.g. argo submit -p NAME=VALUE',
  );

  const expr = (ref: RuntimeRef): string =>
    ref.kind === 'input' ? `{{workflow.parameters.${ref.name}}}` : `{{tasks.${taskName(ref.step)}.outputs.parameters.${ref.output}}}`;

  const templates = plans.map((p) => {
    const mine = [...(params.get(p.name) ?? new Map<string, RuntimeRef>()).keys()];
    return {
      name: taskName(p.name),
      ...(mine.length > 0 ? { inputs: { parameters: mine.map((name) => ({ name })) } } : {}),
      ...(p.outputs.length > 0 ? { outputs: { parameters: p.outputs.map((o) => ({ name: o, valueFrom: { path: `${ARGO_OUTPUTS_DIR}/${o}` } })) } } : {}),
      container: container(p),
      volumes: p.volumes,
    };
  });
  const tasks = plans.map((p) => {
    const mine = [...(params.get(p.name) ?? new Map<string, RuntimeRef>()).entries()];
    return {
      name: taskName(p.name),
      template: taskName(p.name),
      ...(p.dependsOn.length > 0 ? { dependencies: p.dependsOn.map(taskName) } : {}),
      ...(mine.length > 0 ? { arguments: { parameters: mine.map(([name, ref]) => ({ name, value: expr(ref) })) } } : {}),
    };
  });
  const outs = workflowOutputs(ctx, new Set(plans.map((p) => p.name)));
  const base = dnsLabel(ctx.workflow.name, 50);
  const name: Record<string, string> = ctx.runId === undefined ? { generateName: `${base}-` } : { name: dnsLabel(`${ctx.workflow.name}-${ctx.runId}`) };
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: metadata(ctx, name),
    spec: {
      entrypoint: ENTRY,
      ...((ctx.workflow.inputs ?? []).length > 0
        ? { arguments: { parameters: (ctx.workflow.inputs ?? []).map((i) => ({ name: i.name, ...(values[i.name] !== undefined ? { value: values[i.name] } : {}) })) } }
        : {}),
      templates: [
        {
          name: ENTRY,
          dag: { tasks },
          ...(outs.length > 0
            ? { outputs: { parameters: outs.map((o) => ({ name: o.name, valueFrom: { parameter: `{{tasks.${taskName(o.step)}.outputs.parameters.${o.name}}}` } })) } }
            : {}),
        },
        ...templates,
      ],
    },
  };
  return { objects: [workflow], notes };
}
