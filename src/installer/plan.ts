/**
 * The install plan: everything `install` will do, computed before anything
 * touches the cluster. Requested names (aliases resolved) → transitive closure
 * of `requires` → cycle check → levels; parameters merged and typed; every
 * template (namespaces, step fields, values files, manifests) rendered. Only
 * local files are read; `--dry-run` prints exactly this.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FusemlError, ValidationError, type Issue } from '../core/errors.js';
import type { Extension, Scalar, Step, WaitFor } from '../core/extension.js';
import { closure, findCycle, levels } from '../core/graph.js';
import { isDns1123Label } from '../core/names.js';
import { redact } from '../core/redact.js';
import { render, TemplateError } from '../core/template.js';
import { manifestFiles } from '../descriptor/files.js';
import type { Repository } from '../descriptor/repository.js';
import { parseDuration } from '../core/duration.js';
import { isExternalOnly, isRemoteLocation } from '../core/extension.js';
import { fetchRemote } from '../steps/remote.js';
import { applyMirror, type ChartMirror } from './mirrors.js';
import { resolveParams, type Assignment, type ParamValues } from './params.js';
import { extensionLookup, maskRecord, renderRegistration } from './registration.js';

export const DEFAULT_STEP_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_CONCURRENCY = 4;

// The planned step types live with the steps that run them (src/steps/planned.ts): steps must not import the installer.
export type { HelmChart, PlannedHelm, PlannedKustomize, PlannedManifest, PlannedScript, PlannedStep, PlannedWait } from '../steps/planned.js';
import type { HelmChart, PlannedStep, PlannedWait } from '../steps/planned.js';
type Undigested = PlannedStep extends infer S ? (S extends PlannedStep ? Omit<S, 'digest'> : never) : never;

export interface ExtensionPlan {
  name: string;
  ext: Extension;
  /** The extension's default namespace, rendered. */
  namespace: string;
  /** Namespaces the steps use (created, labelled, when missing). */
  namespaces: string[];
  requires: string[];
  params: ParamValues;
  sensitiveParams: string[];
  /** Parameter → where its value came from (`--set`, a values file, `install record`); defaults are not in it. */
  assigned?: ReadonlyMap<string, string> | undefined;
  install: PlannedStep[];
  uninstall: PlannedStep[];
  /** Registry id and zone for this extension's record. */
  registryId?: string | undefined;
  zone?: string | undefined;
  /** Secret values of this extension known at plan time (sensitive parameters). */
  secrets: string[];
}

export interface Plan {
  /** Every extension to install, dependencies first (topological order). */
  order: string[];
  levels: string[][];
  requested: string[];
  concurrency: number;
  extensions: Map<string, ExtensionPlan>;
  /** Every secret known at plan time, for masking. */
  secrets: string[];
}

export interface PlanOptions {
  extensions: readonly string[];
  assignments?: readonly Assignment[] | undefined;
  /** Issues already found while reading --set / --values (reported with the rest). */
  issues?: readonly Issue[] | undefined;
  concurrency?: number | undefined;
  chartMirrors?: readonly ChartMirror[] | undefined;
  id?: string | undefined;
  zone?: string | undefined;
  /** Include each extension's dependencies (default true). */
  withDependencies?: boolean | undefined;
  /**
   * Planning an uninstall: parameters without a value (sensitive ones are not
   * recorded) get an empty value of their type, and registration is not checked.
   */
  forUninstall?: boolean | undefined;
  /** Parameter values recorded by an earlier install (uninstall), below assignments. */
  recordedParams?: ReadonlyMap<string, ParamValues> | undefined;
}

/** The source of values reused from the install record. */
export const RECORDED_SOURCE = 'install record';

const sha = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex');

/** Dotted `set` keys into a nested object (`a.b.c: v`), merged over `base`. */
export function mergeSet(base: Record<string, unknown>, set: Readonly<Record<string, Scalar>>): Record<string, unknown> {
  const out = structuredClone(base);
  for (const [key, value] of Object.entries(set)) {
    const parts = key.split('.');
    let node: Record<string, unknown> = out;
    for (const p of parts.slice(0, -1)) {
      const next = node[p];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) node[p] = {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1] as string] = value;
  }
  return out;
}

/** Resolves requested names (aliases allowed) to canonical names, reporting unknown ones together. */
export function resolveNames(repo: Repository, names: readonly string[]): string[] {
  const unknown = names.filter((n) => !repo.get(n));
  if (unknown.length > 0) {
    throw new FusemlError('NOT_FOUND', `unknown extension${unknown.length > 1 ? 's' : ''}: ${unknown.map((n) => `"${n}"`).join(', ')}`, {
      hint: `available in ${repo.dir}: ${[...repo.extensions.keys()].join(', ') || 'none'} (fuseml-installer extensions list)`,
    });
  }
  return [...new Set(names.map((n) => (repo.get(n) as Extension).name))];
}

/** Names in dependency order (closure of requires), levels, with the cycle printed when there is one. */
export function orderExtensions(repo: Repository, roots: readonly string[], withDependencies = true): { order: string[]; levels: string[][] } {
  const deps = (n: string): string[] => (repo.get(n)?.requires ?? []).map((r) => repo.get(r)?.name ?? r);
  const missing = new Set<string>();
  const nodes = withDependencies ? closure(roots, (n) => deps(n).filter((d) => (repo.get(d) ? true : (missing.add(`${d} (required by ${n})`), false)))) : [...roots];
  if (missing.size > 0) {
    throw new FusemlError('NOT_FOUND', `unknown required extension${missing.size > 1 ? 's' : ''}: ${[...missing].join(', ')}`, {
      hint: 'fix "requires" in the extension descriptor, or add the missing extension to the repository',
    });
  }
  const cycle = findCycle(nodes, deps);
  if (cycle) {
    throw new FusemlError('VALIDATION', `dependency cycle: ${cycle.join(' -> ')}`, { hint: 'remove one of these "requires" entries' });
  }
  const lv = levels(nodes, (n) => deps(n).filter((d) => nodes.includes(d)));
  return { order: lv.flat(), levels: lv };
}

function fileLabel(ext: Extension, p: string): string {
  return p.startsWith(ext.dir) ? p.slice(ext.dir.length + 1) : p;
}

async function planSteps(
  ext: Extension,
  phase: 'install' | 'uninstall',
  steps: readonly Step[],
  render1: (label: string, t: string) => string,
  nsDefault: string,
  mirrors: readonly ChartMirror[],
  issues: Issue[],
): Promise<PlannedStep[]> {
  const out: PlannedStep[] = [];
  for (const [i, step] of steps.entries()) {
    const where = `${phase}[${i}]`;
    const id = step.name ?? `${phase}-${i}`;
    const namespace = step.namespace ? render1(`${where}.namespace`, step.namespace) : nsDefault;
    if (!isDns1123Label(namespace)) issues.push({ file: ext.file, pointer: `/${phase}/${i}/namespace`, message: `namespace "${namespace}" is not a DNS-1123 label` });
    let timeoutMs = DEFAULT_STEP_TIMEOUT_MS;
    try {
      if (step.timeout) timeoutMs = parseDuration(step.timeout);
    } catch (e) {
      issues.push({ file: ext.file, pointer: `/${phase}/${i}/timeout`, message: (e as Error).message });
    }
    const waitFor: PlannedWait[] = (step.waitFor ?? []).map((w: WaitFor, j) => {
      let t = DEFAULT_WAIT_TIMEOUT_MS;
      try {
        if (w.timeout) t = parseDuration(w.timeout);
      } catch (e) {
        issues.push({ file: ext.file, pointer: `/${phase}/${i}/waitFor/${j}/timeout`, message: (e as Error).message });
      }
      return {
        kind: w.kind,
        name: w.name === undefined ? undefined : render1(`${where}.waitFor[${j}].name`, w.name),
        selector: w.selector === undefined ? undefined : render1(`${where}.waitFor[${j}].selector`, w.selector),
        ...(w.all ? { all: true as const } : {}),
        namespace: w.namespace ? render1(`${where}.waitFor[${j}].namespace`, w.namespace) : namespace,
        condition: w.condition,
        timeoutMs: t,
      };
    });
    // Rendered names reach the API and kubectl's argument list: keep them to Kubernetes name syntax.
    waitFor.forEach((w, j) => {
      if (w.name !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(w.name)) issues.push({ file: ext.file, pointer: `/${phase}/${i}/waitFor/${j}/name`, message: `"${w.name}" is not a Kubernetes object name` });
      if (w.selector !== undefined && (w.selector.startsWith('-') || w.selector.trim() === '')) issues.push({ file: ext.file, pointer: `/${phase}/${i}/waitFor/${j}/selector`, message: `"${w.selector}" is not a label selector` });
      if (!isDns1123Label(w.namespace)) issues.push({ file: ext.file, pointer: `/${phase}/${i}/waitFor/${j}/namespace`, message: `namespace "${w.namespace}" is not a DNS-1123 label` });
    });
    const base = { id, phase, namespace, timeoutMs, waitFor };
    const noFlag = ext.namespaceImplicit && !step.namespace ? { namespaceFlag: false as const } : {};
    let planned: Undigested | undefined;
    switch (step.type) {
      case 'helm': {
        const release = step.release ?? ext.name;
        if (phase === 'uninstall') {
          planned = { ...base, type: 'helm', action: 'uninstall', release, values: {} };
          break;
        }
        let chart: HelmChart;
        if (step.location) {
          // A chart URL (e.g. https://…/chart-0.1.0.tgz): helm fetches it, from the mirror when one matches.
          chart = { ref: /^(https?|oci):\/\//.test(step.location) ? applyMirror(step.location, mirrors) : resolve(ext.dir, step.location), version: step.version };
        } else {
          const repoUrl = applyMirror(step.repo as string, mirrors);
          // helm takes OCI charts as a reference (oci://host/path/chart), not through --repo.
          chart = repoUrl.startsWith('oci://')
            ? { ref: `${repoUrl.replace(/\/+$/, '')}/${step.chart as string}`, version: step.version }
            : { ref: step.chart as string, repo: repoUrl, version: step.version };
        }
        let values: Record<string, unknown> = {};
        if (step.values) {
          const remote = isRemoteLocation(step.values);
          const file = remote ? step.values : resolve(ext.dir, step.values);
          // A remote values file (FuseML allows a URL) is fetched now, at install time, and used as it is.
          const text = remote
            ? (await fetchRemote(applyMirror(step.values, mirrors), { original: step.values })).toString('utf8')
            : render1(`${fileLabel(ext, file)}`, await readFile(file, 'utf8'));
          try {
            const doc = (parseYaml(text) ?? {}) as unknown;
            if (typeof doc !== 'object' || Array.isArray(doc)) issues.push({ file, pointer: '', message: 'the rendered values file is not a mapping' });
            else values = doc as Record<string, unknown>;
          } catch (e) {
            // The YAML error message may quote rendered (secret) text: keep only its first line's position part.
            issues.push({ file, pointer: '', message: `the rendered values file is not valid YAML (${String((e as Error).message).split('\n')[0]?.replace(/:.*$/, '')}); quote templates that may render special characters` });
          }
        }
        const set: Record<string, Scalar> = {};
        for (const [k, v] of Object.entries(step.set ?? {})) set[k] = typeof v === 'string' ? render1(`${where}.set.${k}`, v) : v;
        planned = { ...base, type: 'helm', action: 'install', release, chart, values: mergeSet(values, set) };
        break;
      }
      case 'manifest': {
        if (isRemoteLocation(step.location)) {
          planned = { ...base, type: 'manifest', action: phase === 'install' ? 'apply' : 'delete', files: [], url: applyMirror(step.location, mirrors), ...noFlag };
          break;
        }
        const loc = resolve(ext.dir, step.location);
        const files = await manifestFiles(loc);
        const rendered = [];
        for (const f of files) rendered.push({ source: fileLabel(ext, f), content: render1(fileLabel(ext, f), await readFile(f, 'utf8')) });
        planned = { ...base, type: 'manifest', action: phase === 'install' ? 'apply' : 'delete', files: rendered, ...noFlag };
        break;
      }
      case 'kustomize':
        planned = { ...base, type: 'kustomize', action: phase === 'install' ? 'apply' : 'delete', dir: isRemoteLocation(step.location) ? applyMirror(step.location, mirrors) : resolve(ext.dir, step.location), ...noFlag };
        break;
      case 'script': {
        const remote = isRemoteLocation(step.location);
        const file = remote ? basename(new URL(step.location).pathname) || 'script' : isAbsolute(step.location) ? step.location : join(ext.dir, step.location);
        const args = (step.args ?? []).map((a, j) => render1(`${where}.args[${j}]`, a));
        planned = { ...base, type: 'script', file, args, cwd: ext.dir, ...(remote ? { url: applyMirror(step.location, mirrors) } : {}) };
        break;
      }
    }
    out.push({ ...planned, digest: sha(planned) } as PlannedStep);
  }
  return out;
}

/** The steps that undo an install when the extension declares no uninstall steps: install steps reversed. */
function derivedUninstall(install: readonly PlannedStep[]): PlannedStep[] {
  const out: PlannedStep[] = [];
  for (const s of [...install].reverse()) {
    const base = { id: `undo-${s.id}`, phase: 'uninstall' as const, namespace: s.namespace, timeoutMs: s.timeoutMs, waitFor: [] };
    let p: Undigested | undefined;
    if (s.type === 'helm') p = { ...base, type: 'helm', action: 'uninstall', release: s.release, values: {} };
    else if (s.type === 'manifest') p = { ...base, type: 'manifest', action: 'delete', files: s.files, ...(s.url ? { url: s.url } : {}), ...(s.namespaceFlag === false ? { namespaceFlag: false as const } : {}) };
    else if (s.type === 'kustomize') p = { ...base, type: 'kustomize', action: 'delete', dir: s.dir, ...(s.namespaceFlag === false ? { namespaceFlag: false as const } : {}) };
    if (p) out.push({ ...p, digest: sha(p) } as PlannedStep);
  }
  return out;
}

/** Plans one extension given its parameter values. Template problems are collected into `issues`. */
export async function planExtension(
  ext: Extension,
  params: ParamValues,
  sensitive: ReadonlySet<string>,
  opts: { chartMirrors?: readonly ChartMirror[] | undefined; registryId?: string | undefined; zone?: string | undefined },
  issues: Issue[],
): Promise<ExtensionPlan> {
  const templateIssue = (label: string, e: unknown): void => {
    if (e instanceof TemplateError) for (const p of e.problems) issues.push({ file: ext.file, pointer: '', message: `${label}: {{ ${p.ref} }}: ${p.message}` });
    else throw e;
  };
  const preLookup = extensionLookup(ext, params, undefined, {});
  let namespace = ext.namespace;
  try {
    namespace = render(ext.namespace, preLookup);
  } catch (e) {
    templateIssue('namespace', e);
  }
  if (!isDns1123Label(namespace)) issues.push({ file: ext.file, pointer: '/namespace', message: `namespace "${namespace}" is not a DNS-1123 label` });
  const lookup = extensionLookup(ext, params, undefined, { namespace });
  const render1 = (label: string, t: string): string => {
    try {
      return render(t, lookup);
    } catch (e) {
      templateIssue(label, e);
      return t;
    }
  };
  const mirrors = opts.chartMirrors ?? [];
  const install = await planSteps(ext, 'install', ext.install, render1, namespace, mirrors, issues);
  const uninstall = ext.uninstall.length > 0 ? await planSteps(ext, 'uninstall', ext.uninstall, render1, namespace, mirrors, issues) : derivedUninstall(install);
  const secrets = [...sensitive].map((k) => params[k]).filter((v): v is Scalar => v !== undefined).map(String).filter((s) => s.length > 0);
  for (const s of install) {
    if (s.type === 'script' && s.args.some((a) => secrets.some((x) => a.includes(x)))) {
      issues.push({ file: ext.file, pointer: `/install`, message: `step ${s.id}: a sensitive parameter is used in the script arguments (visible in the process list); read it from the FUSEML_PARAM_… environment variable instead` });
    }
  }
  return {
    name: ext.name,
    ext,
    namespace,
    namespaces: [...new Set([namespace, ...install.map((s) => s.namespace)])].filter((n) => install.some((s) => s.namespace === n)),
    requires: ext.requires,
    params,
    sensitiveParams: [...sensitive],
    install,
    uninstall,
    registryId: opts.registryId,
    zone: opts.zone,
    secrets,
  };
}

/** Builds the whole plan; throws NOT_FOUND / VALIDATION with every problem found. */
export async function createPlan(repo: Repository, options: PlanOptions): Promise<Plan> {
  if (options.extensions.length === 0) {
    throw new FusemlError('USAGE', 'no extension given', { hint: 'pass --extensions NAME[,NAME…]; see fuseml-installer extensions list' });
  }
  const requested = resolveNames(repo, options.extensions);
  const { order, levels: lv } = orderExtensions(repo, requested, options.withDependencies ?? true);
  const exts = order.map((n) => repo.get(n) as Extension);
  const external = options.forUninstall ? [] : exts.filter(isExternalOnly);
  if (external.length > 0) {
    const names = external.map((e) => e.name).join(', ');
    throw new FusemlError('USAGE', `${names} ${external.length === 1 ? 'is' : 'are'} external only (no install steps): nothing to install`, {
      hint: `register an existing instance instead: fuseml-installer extensions register ${external[0]?.name} --set …  (see: fuseml-installer extensions describe ${external[0]?.name})`,
    });
  }
  const issues: Issue[] = [...(options.issues ?? [])];
  if (options.id !== undefined && requested.length !== 1) {
    throw new FusemlError('USAGE', '--id applies to a single extension', { hint: 'install the extension that needs its own registry id on its own' });
  }
  const recorded: Assignment[] = [];
  for (const [ext, values] of options.recordedParams ?? []) {
    for (const [param, value] of Object.entries(values)) if (repo.get(ext)?.parameters[param]) recorded.push({ extension: ext, param, value, source: RECORDED_SOURCE });
  }
  const resolved = resolveParams(exts, [...recorded.filter((a) => order.includes(a.extension as string)), ...(options.assignments ?? [])], (n) => repo.get(n)?.name);
  issues.push(...resolved.issues.filter((i) => !(options.forUninstall && /is required:/.test(i.message))));
  if (options.forUninstall) {
    for (const ext of exts) {
      const v = resolved.values.get(ext.name) as ParamValues;
      for (const [k, spec] of Object.entries(ext.parameters)) {
        if (v[k] === undefined) v[k] = spec.type === 'boolean' ? false : spec.type === 'integer' || spec.type === 'number' ? 0 : '';
      }
    }
  }
  const plans = new Map<string, ExtensionPlan>();
  for (const ext of exts) {
    const params = resolved.values.get(ext.name) as ParamValues;
    const p = await planExtension(ext, params, resolved.sensitive.get(ext.name) as Set<string>, {
      chartMirrors: options.chartMirrors,
      registryId: requested.length === 1 && requested[0] === ext.name ? options.id : undefined,
      zone: options.zone,
    }, issues);
    p.requires = ext.requires.map((r) => repo.get(r)?.name ?? r);
    p.assigned = resolved.assigned.get(ext.name) ?? new Map();
    plans.set(ext.name, p);
  }
  // Registration manifests render now (outputs as placeholders), so reference errors surface before the cluster is touched.
  for (const p of options.forUninstall ? [] : plans.values()) {
    try {
      renderRegistration(p.ext, p.params, {}, { id: p.registryId, zone: p.zone, namespace: p.namespace, placeholders: true });
    } catch (e) {
      if (e instanceof TemplateError) for (const pr of e.problems) issues.push({ file: p.ext.registrationFile ?? p.ext.file, pointer: '', message: `${pr.label ?? ''}: {{ ${pr.ref} }}: ${pr.message}` });
      else if (e instanceof FusemlError) issues.push({ file: p.ext.registrationFile ?? p.ext.file, pointer: '/id', message: e.message });
      else throw e;
    }
  }
  // A missing required parameter is reported once, not again by each template using it.
  const missing = new Set(issues.flatMap((i) => /^parameter [^.]+\.(\S+) is required:/.exec(i.message)?.[1] ?? []));
  for (let i = issues.length - 1; i >= 0; i--) {
    const m = /parameter "([^"]+)" has no value$/.exec(issues[i]?.message ?? '');
    if (m && missing.has(m[1] as string)) issues.splice(i, 1);
  }
  if (issues.length > 0) {
    const secrets = [...plans.values()].flatMap((p) => p.secrets);
    const safe = issues.map((i) => ({ ...i, message: redact(i.message, secrets) }));
    throw new ValidationError(safe, `${issues.length} problem${issues.length === 1 ? '' : 's'} in the install plan; nothing was changed`);
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new FusemlError('USAGE', `--concurrency must be a positive integer`);
  return {
    order,
    levels: lv,
    requested,
    concurrency,
    extensions: plans,
    secrets: [...new Set([...plans.values()].flatMap((p) => p.secrets))],
  };
}

/** The registry record an extension plan would produce, outputs as `<outputs.x>`, secrets masked. */
export function previewRegistration(p: ExtensionPlan): unknown {
  const r = renderRegistration(p.ext, p.params, {}, { id: p.registryId, zone: p.zone, namespace: p.namespace, placeholders: true });
  return r ? maskRecord(r, p.secrets) : null;
}
