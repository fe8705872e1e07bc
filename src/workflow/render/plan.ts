/**
 * What every engine renders from, built once: per step, the container env with
 * each extension key delivered by reference (`valueFrom.secretKeyRef` into the
 * step requirement's Service Binding Secret), the binding Secrets mounted as
 * files under $SERVICE_BINDING_ROOT/<requirement>, the step inputs / outputs /
 * resources, and the run-time references (`{{ inputs.X }}`, `{{ steps.S.outputs.O }}`)
 * handed to the engine to write in its own syntax. Pure; problems are collected
 * and thrown at once as a ValidationError whose issues point into the workflow.
 *
 * The env key names and their order come from the resolver (generatedEnv in
 * src/core/resolve.ts): the renderers never recompute them.
 */
import { ValidationError, type Issue } from '../../core/errors.js';
import { envToken, generatedEnv, parseEnvReference, prefixedEnvName, SERVICE_BINDING_ROOT, type Choice, type Resolution } from '../../core/resolve.js';
import { render, TemplateError } from '../../core/template.js';
import type { Workflow, WorkflowStep } from '../../core/workflow.js';
import { bindingName, wellKnownEntries } from '../binding.js';

export const ENGINES = ['job', 'argo', 'tekton'] as const;
export type Engine = (typeof ENGINES)[number];

/** Where the binding Secrets are mounted (defined with the file-key rule in src/core/resolve.ts). */
export { SERVICE_BINDING_ROOT } from '../../core/resolve.js';
/** Label of everything `fuseml workflow run` creates for one run. */
export const LABEL_RUN = 'fuseml.io/run';

export interface SecretKeyRef {
  secretKeyRef: { name: string; key: string };
}
export interface FieldRef {
  fieldRef: { fieldPath: string };
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: SecretKeyRef | FieldRef;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface Volume {
  name: string;
  secret?: { secretName: string };
  emptyDir?: Record<string, never>;
}

export type Quantity = string | number;
export interface Resources {
  requests?: Record<string, Quantity>;
  limits?: Record<string, Quantity>;
}

/** A run-time reference of the workflow, as the engine must write it. */
export type RuntimeRef = { kind: 'input'; name: string } | { kind: 'output'; step: string; output: string };

/**
 * How an engine writes a run-time reference used by one step: returns the text to
 * put in the container field, or throws an Error saying why it cannot.
 */
export type RuntimeWriter = (ref: RuntimeRef, step: string) => string;

export interface StepPlan {
  name: string;
  /** Index in the workflow file (for pointers). */
  index: number;
  image: string;
  env: EnvVar[];
  volumes: Volume[];
  volumeMounts: VolumeMount[];
  resources?: Resources | undefined;
  /** The step's declared outputs (names). */
  outputs: string[];
  /** Steps whose outputs this one uses. */
  dependsOn: string[];
  /** The binding Secrets it references, per requirement. */
  secrets: { requirement: string; name: string }[];
}

export interface PlanOptions {
  /** The Secret of one step requirement; default: the name `fuseml workflow bind` gives it. */
  secretName?: (step: string, requirement: string) => string;
  /** The engine's way to write run-time references. */
  runtime: RuntimeWriter;
  /** Env telling the step where to write output O (engine-specific path), or undefined: outputs not collected. */
  outputPath?: ((step: string, output: string) => string) | undefined;
  /** Extra volumes and mounts of every step (e.g. an emptyDir for outputs). */
  extraVolumes?: { volume: Volume; mount: VolumeMount }[] | undefined;
  /** Source file named in issues, and positions. */
  file?: string | undefined;
  locate?: ((pointer: string) => { line: number; col: number } | undefined) | undefined;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `{{ steps.S.outputs.O }}` / `{{ inputs.X }}` → RuntimeRef, or undefined for another shape. */
export function runtimeRef(path: string): RuntimeRef | undefined {
  const p = path.split('.');
  if (p[0] === 'inputs' && p.length === 2) return { kind: 'input', name: p[1] as string };
  if (p[0] === 'steps' && p[2] === 'outputs' && p.length === 4) return { kind: 'output', step: p[1] as string, output: p[3] as string };
  return undefined;
}

/** Kubernetes expands `$(VAR)` in env values: literal text must write `$$(`. */
export function escapeDollar(text: string): string {
  return text.replace(/\$\(/g, '$$$$(');
}

/** The step's resources (a field read defensively: the workflow schema may or may not define it yet). */
function readResources(step: WorkflowStep, pointer: string, issues: Omit<Issue, 'file'>[]): Resources | undefined {
  const raw = (step as unknown as { resources?: unknown }).resources;
  if (raw === undefined || raw === null) return undefined;
  const bad = (message: string): undefined => {
    issues.push({ pointer: `${pointer}/resources`, message });
    return undefined;
  };
  if (typeof raw !== 'object' || Array.isArray(raw)) return bad('resources: expected an object with requests and/or limits');
  const out: Resources = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k !== 'requests' && k !== 'limits') return bad(`resources.${k}: not supported (only requests and limits, as in a Kubernetes container)`);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad(`resources.${k}: expected a map of resource name to quantity`);
    const m: Record<string, Quantity> = {};
    for (const [name, q] of Object.entries(v as Record<string, unknown>)) {
      if (typeof q !== 'string' && typeof q !== 'number') return bad(`resources.${k}.${name}: expected a quantity (string or number)`);
      m[name] = q;
    }
    out[k] = m;
  }
  return out;
}

/**
 * Plans the steps of a resolution (all of the workflow's, or those resolved with
 * --step). Throws ValidationError listing every field the engine cannot express.
 */
export function planSteps(workflow: Workflow, resolution: Resolution, options: PlanOptions): StepPlan[] {
  const file = options.file ?? `workflow ${workflow.name}`;
  const issues: Omit<Issue, 'file'>[] = [];
  const secretName = options.secretName ?? ((s: string, r: string) => bindingName(resolution.workflow, s, r));
  const plans: StepPlan[] = [];

  for (const resolved of resolution.steps) {
    const index = workflow.steps.findIndex((s) => s.name === resolved.name);
    const step = workflow.steps[index] as WorkflowStep;
    const ptr = `/steps/${index}`;
    const add = (pointer: string, message: string): void => {
      issues.push({ pointer, message: `step ${step.name}: ${message}` });
    };
    if (step.image === undefined || step.image === '') add(`${ptr}/image`, 'no image: a step needs a container image to run');

    const reqs = step.extensions ?? [];
    const byReq = new Map<string, Choice>(resolved.choices.map((c) => [c.requirement, c]));
    const secrets = resolved.choices.map((c) => ({ requirement: c.requirement, name: secretName(step.name, c.requirement) }));
    const secretOf = new Map(secrets.map((s) => [s.requirement, s.name]));
    const dependsOn = new Set<string>();
    const clashes = new Set<string>();

    /** A reference to key `key` of requirement `req`'s Secret (checked). */
    const keyRef = (req: string, from: { kind: 'url' } | { kind: 'cfg'; key: string }, pointer: string): SecretKeyRef | undefined => {
      const ch = byReq.get(req) as Choice;
      const reqIdx = reqs.findIndex((r) => r.name === req);
      if (from.kind === 'url') return { secretKeyRef: { name: secretOf.get(req) as string, key: 'uri' } };
      if (Object.prototype.hasOwnProperty.call(wellKnownEntries(ch), from.key)) {
        // Once per requirement and key (the native name and FUSEML_EXT_<NAME>_<KEY> both need it).
        if (clashes.has(`${req}\u0000${from.key}`)) return undefined;
        clashes.add(`${req}\u0000${from.key}`);
        add(pointer === '' ? `${ptr}/extensions/${reqIdx}` : pointer, `requirement ${req}: configuration key ${from.key} is spelled like a Service Binding key, so the binding Secret does not hold it and it cannot be delivered by reference`);
        return undefined;
      }
      if (!SECRET_KEY.test(from.key)) {
        add(pointer === '' ? `${ptr}/extensions/${reqIdx}` : pointer, `requirement ${req}: configuration key ${JSON.stringify(from.key)} is not a valid Secret key`);
        return undefined;
      }
      return { secretKeyRef: { name: secretOf.get(req) as string, key: from.key } };
    };

    /** Renders a template value of the step for the engine: extension refs as $(VAR), run-time refs by the engine. */
    const renderValue = (template: string, pointer: string, envDefined: (name: string) => boolean): string | undefined => {
      let failed = false;
      const lookup = (path: string): string => {
        const rt = runtimeRef(path);
        if (rt) {
          if (rt.kind === 'output') {
            const producer = workflow.steps.find((s) => s.name === rt.step);
            if (!producer) throw new Error(`the workflow has no step ${rt.step}`);
            if (!(producer.outputs ?? []).some((o) => o.name === rt.output)) throw new Error(`step ${rt.step} has no output ${rt.output}`);
            if (!resolution.steps.some((s) => s.name === rt.step)) throw new Error(`step ${rt.step} is not part of this rendering (--step)`);
            dependsOn.add(rt.step);
          } else if (!(workflow.inputs ?? []).some((i) => i.name === rt.name)) {
            throw new Error(`the workflow has no input ${rt.name}`);
          }
          return options.runtime(rt, step.name);
        }
        const ref = parseEnvReference(path, reqs);
        if (ref.kind === 'url' || ref.kind === 'cfg') {
          const key = prefixedEnvName(ref.name, ref.kind === 'url' ? 'URL' : ref.key);
          if (!envDefined(key)) throw new Error(`${key} is overridden by the step's own env, so this reference cannot be delivered by reference`);
          return `$(${key})`;
        }
        throw new Error(ref.kind === 'error' ? ref.message : 'unsupported reference');
      };
      try {
        return render(escapeDollar(template), lookup);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        for (const p of err.problems) add(pointer, `{{ ${p.ref} }}: ${p.message}`);
        failed = true;
      }
      return failed ? undefined : '';
    };

    // 1. Generated keys, by reference; the first of equal native keys counts (as in the resolver).
    const env: EnvVar[] = [];
    const seen = new Set<string>();
    const own = new Set((step.env ?? []).map((e) => e.name));
    for (const g of generatedEnv(resolved.choices)) {
      if (seen.has(g.key)) continue;
      seen.add(g.key);
      if (own.has(g.key)) continue; // the step's own env overrides it (as in the resolver)
      if (g.from.kind === 'file') {
        // The content is the binding's file (mounted below); the variable is its path.
        const fk = g.from.key;
        if (!SECRET_KEY.test(fk)) add(`${ptr}/extensions/${reqs.findIndex((r) => r.name === g.requirement)}`, `requirement ${g.requirement}: configuration key ${JSON.stringify(fk)} is not a valid Secret key`);
        else env.push({ name: g.key, value: escapeDollar(g.value) });
        continue;
      }
      const ref = keyRef(g.requirement, g.from, '');
      if (ref) env.push({ name: g.key, valueFrom: ref });
    }
    // The generated keys that stay (not overridden by the step's own env): what `$(KEY)` may refer to.
    const generated = new Set(env.map((e) => e.name));
    const defined = (name: string): boolean => generated.has(name);

    // 2. What FuseML gave every step: the workflow name and namespace.
    const fixed: EnvVar[] = [
      { name: 'FUSEML_ENV_WORKFLOW_NAME', value: workflow.name },
      { name: 'FUSEML_ENV_WORKFLOW_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'SERVICE_BINDING_ROOT', value: SERVICE_BINDING_ROOT },
    ];
    // 3. Step inputs, as FuseML passed them: FUSEML_<NAME>; a codeset as FUSEML_CODESET_NAME / _PATH.
    (step.inputs ?? []).forEach((input, i) => {
      const ip = `${ptr}/inputs/${i}`;
      if (input.codeset) {
        const name = renderValue(input.codeset.name, `${ip}/codeset/name`, defined);
        if (name !== undefined) fixed.push({ name: 'FUSEML_CODESET_NAME', value: name });
        if (input.codeset.path !== undefined) fixed.push({ name: 'FUSEML_CODESET_PATH', value: escapeDollar(input.codeset.path) });
        return;
      }
      if (input.name === undefined) {
        add(ip, 'an input needs a name (or a codeset)');
        return;
      }
      const template = input.value ?? `{{ inputs.${input.name} }}`;
      const value = renderValue(template, input.value === undefined ? `${ip}/name` : `${ip}/value`, defined);
      if (value !== undefined) fixed.push({ name: `FUSEML_${envToken(input.name)}`, value });
    });
    // 4. Where to write each output.
    const outputs: string[] = [];
    (step.outputs ?? []).forEach((out, i) => {
      const op = `${ptr}/outputs/${i}`;
      if (out.image !== undefined) {
        add(`${op}/image`, 'image outputs (FuseML builds an image) are not supported by the renderers');
        return;
      }
      outputs.push(out.name);
      if (options.outputPath) fixed.push({ name: `FUSEML_OUTPUT_${envToken(out.name)}`, value: options.outputPath(step.name, out.name) });
    });
    for (const f of fixed) {
      if (own.has(f.name)) continue;
      if (generated.has(f.name)) add(ptr, `${f.name} is set both by an extension and by the step's inputs/outputs`);
      else env.push(f);
    }

    // 5. The step's own env: an exact single extension reference becomes a secretKeyRef, anything else a value.
    (step.env ?? []).forEach((e, i) => {
      const pointer = `${ptr}/env/${i}/value`;
      if (!ENV_VAR_NAME.test(e.name)) add(`${ptr}/env/${i}/name`, `env ${e.name}: not an environment variable name`);
      const exact = /^\s*\{\{\s*(extensions\.[A-Za-z0-9_.-]+)\s*\}\}\s*$/.exec(e.value);
      if (exact) {
        const ref = parseEnvReference(exact[1] as string, reqs);
        if ((ref.kind === 'url' || ref.kind === 'cfg') && byReq.has(ref.name)) {
          const sk = keyRef(ref.name, ref.kind === 'url' ? { kind: 'url' } : { kind: 'cfg', key: ref.key }, pointer);
          if (sk) env.push({ name: e.name, valueFrom: sk });
          return;
        }
      }
      const value = renderValue(e.value, pointer, defined);
      if (value !== undefined) env.push({ name: e.name, value });
    });

    // Volumes: one Secret volume per requirement, mounted read-only at $SERVICE_BINDING_ROOT/<requirement>.
    const volumes: Volume[] = secrets.map((s, i) => ({ name: `binding-${i}`, secret: { secretName: s.name } }));
    const volumeMounts: VolumeMount[] = secrets.map((s, i) => ({ name: `binding-${i}`, mountPath: `${SERVICE_BINDING_ROOT}/${s.requirement}`, readOnly: true }));
    for (const x of options.extraVolumes ?? []) {
      volumes.push(x.volume);
      volumeMounts.push(x.mount);
    }

    plans.push({
      name: step.name,
      index,
      image: step.image ?? '',
      env,
      volumes,
      volumeMounts,
      resources: readResources(step, ptr, issues),
      outputs,
      dependsOn: [...dependsOn],
      secrets,
    });
  }

  if (issues.length > 0) {
    const full: Issue[] = issues.map((i) => {
      const pos = options.locate?.(i.pointer);
      return { file, line: pos?.line, col: pos?.col, ...i };
    });
    throw new ValidationError(full, `${file}: cannot render the workflow (${full.length} problem${full.length === 1 ? '' : 's'})`);
  }
  return plans;
}

/** The value of each workflow input: --input, else its default; undefined when neither. */
export function inputValues(workflow: Workflow, given: Record<string, string>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const i of workflow.inputs ?? []) out[i.name] = given[i.name] ?? i.default;
  return out;
}

/** Unknown --input names are an error naming them. */
export function checkInputs(workflow: Workflow, given: Record<string, string>): string[] {
  const known = new Set((workflow.inputs ?? []).map((i) => i.name));
  return Object.keys(given).filter((k) => !known.has(k));
}
