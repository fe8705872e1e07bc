/**
 * Workflow resolution: for every step requirement pick one service, one of its
 * endpoints and the credentials the caller may use, then build the step's env.
 * Pure: the caller supplies the candidate records (the registry's view for this
 * caller) and gets a plain result or one ResolutionError listing every problem.
 *
 * Rules, in order (docs/workflows.md):
 *  1. selectors: every field the requirement gives must match (version: ./version.ts, the grammar the
 *     registry's ?version= query uses; a malformed one is a problem of the workflow; "" gives nothing, as in fuseml-core);
 *  2. zone: a service whose extension is in the caller's zone ranks first and is reached
 *     through an internal endpoint (external if it has none); a service elsewhere is
 *     reachable only through an external endpoint. Without a caller zone, zones are no
 *     criterion: every service counts as local (internal endpoint preferred);
 *  3. the default instance (service.default) ranks next;
 *  4. credentials usable by the caller (./scope.ts, the one scope rule): user-scoped over
 *     project-scoped over global; within one scope the `default` credentials; a service that needs
 *     credentials (auth_required, or any registered) and has none usable is skipped;
 *  5. endpoint health (./health.ts), only as a tie-breaker among candidates equal on 2-4: the chosen
 *     endpoint's last probe ok ranks above not probed, above failed. Never a filter: a candidate whose
 *     endpoint failed its probe still resolves when nothing better matches;
 *  6. several candidates still equally good → error listing them; none → error saying
 *     what was asked and why the near misses were skipped.
 * Credential values never appear in messages.
 */
import { ValidationError, type Issue } from './errors.js';
import { healthRank } from './health.js';
import {
  HIDDEN,
  type Configuration,
  type CredentialScope,
  type CredentialsRecord,
  type EndpointRecord,
  type EndpointType,
  type ExtensionRecord,
  type ServiceRecord,
} from './records.js';
import { displayUrl } from './redact.js';
import { scopeAllows } from './scope.js';
import { render, TemplateError, type Lookup } from './template.js';
import { versionMatches, versionSelectorProblem } from './version.js';
import { REQUIREMENT_SELECTORS, selectorGiven, type ExtensionRequirement, type Workflow, type WorkflowStep } from './workflow.js';

/** Who asks, and from where. */
export interface ResolveContext {
  project: string;
  user?: string | undefined;
  /** The caller's zone (e.g. the cluster the workflow runs in). */
  zone?: string | undefined;
}

export interface Choice {
  /** The requirement's name. */
  requirement: string;
  extension_id: string;
  product?: string | undefined;
  version?: string | undefined;
  zone?: string | undefined;
  service_id: string;
  resource?: string | undefined;
  category?: string | undefined;
  url: string;
  endpoint_type: EndpointType;
  credentials_id?: string | undefined;
  credentials_scope?: CredentialScope | undefined;
  /** Why this candidate won, e.g. `same zone`, `default instance`, `project-scoped credentials`. */
  reasons: string[];
  /** The service's native keys: service < endpoint < credentials configuration. */
  configuration: Configuration;
  /** Keys of `configuration` whose values come from credentials (secret). */
  secret_keys: string[];
}

export interface ResolvedStep {
  name: string;
  /** Native keys, FUSEML_EXT_<NAME>_<KEY>, and the step's own env (rendered). */
  env: Record<string, string>;
  /** Keys of `env` whose values are (or contain) credential values. */
  secret_env: string[];
  choices: Choice[];
}

export interface Resolution {
  workflow: string;
  project: string;
  user?: string | undefined;
  zone?: string | undefined;
  steps: ResolvedStep[];
}

export type ProblemKind = 'no-match' | 'ambiguous' | 'ambiguous-credentials' | 'env-collision' | 'template' | 'invalid';

export interface ResolutionProblem {
  kind: ProblemKind;
  step: string;
  requirement?: string | undefined;
  /** JSON pointer into the workflow. */
  pointer: string;
  message: string;
  /** For `ambiguous`: the equally good candidates (`extension/service`). */
  candidates?: string[] | undefined;
}

/** Every problem of a resolution at once. `issues` point into the workflow document. */
export class ResolutionError extends ValidationError {
  readonly problems: readonly ResolutionProblem[];

  constructor(problems: readonly ResolutionProblem[], source: string, locate?: Locate) {
    const issues: Issue[] = problems.map((p) => {
      const pos = locate?.(p.pointer);
      return { file: source, line: pos?.line, col: pos?.col, pointer: p.pointer, message: p.message };
    });
    const n = problems.length;
    super(issues, `workflow resolution failed: ${n} problem${n === 1 ? '' : 's'}`, {
      hint: problems.some((p) => p.kind === 'ambiguous')
        ? 'narrow the requirement (extension_id, service_id, zone, version) or mark one service as the default'
        : undefined,
    });
    this.name = 'ResolutionError';
    this.problems = problems;
  }
}

/** Source position of a JSON pointer in the workflow document, when known. */
export type Locate = (pointer: string) => { line: number; col: number } | undefined;

export interface ResolveOptions {
  /** Names the workflow in issues (a file path); defaults to `workflow <name>`. */
  source?: string | undefined;
  /** Adds line and column to issues. */
  locate?: Locate | undefined;
}

/** Template roots resolved later by the workflow engine (FuseML): left verbatim. */
export const RUNTIME_TEMPLATE_ROOTS: readonly string[] = ['inputs', 'steps'];

export const ENV_PREFIX = 'FUSEML_EXT_';

/** `mlflow-store` → `MLFLOW_STORE`: upper case, every other character than A-Z 0-9 becomes `_`. */
export function envToken(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export function prefixedEnvName(requirement: string, key: string): string {
  return `${ENV_PREFIX}${envToken(requirement)}_${envToken(key)}`;
}

/** Where a step's binding Secrets are mounted (the Service Binding spec's $SERVICE_BINDING_ROOT). */
export const SERVICE_BINDING_ROOT = '/bindings';

const FILE_KEY = /^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z0-9]+)$/;

/**
 * A file key: a configuration key `VAR.EXT` (an environment variable name, a dot,
 * a file extension; e.g. `GOOGLE_APPLICATION_CREDENTIALS.json`) holds the content
 * of a file. The step's Service Binding Secret holds it under that name, so it is
 * the file $SERVICE_BINDING_ROOT/<requirement>/VAR.EXT, and the step gets VAR set
 * to that path (never the content). Any other key is a plain environment variable.
 */
export function fileKey(key: string): { env: string; extension: string } | undefined {
  const m = FILE_KEY.exec(key);
  return m ? { env: m[1] as string, extension: m[2] as string } : undefined;
}

/** The path of configuration key `key` in the binding of `requirement`, as the step's container sees it. */
export function bindingFilePath(requirement: string, key: string): string {
  return `${SERVICE_BINDING_ROOT}/${requirement}/${key}`;
}

export { versionMatches } from './version.js';
export { scopeAllows } from './scope.js';

/** Scope allows it and its values are visible (not `<hidden>`) to this caller. */
export function credentialsUsable(c: CredentialsRecord, ctx: ResolveContext): boolean {
  return scopeAllows(c, ctx) && !Object.values(c.configuration ?? {}).some((v) => v === HIDDEN);
}

const SCOPE_RANK: Record<CredentialScope, number> = { global: 1, project: 2, user: 3 };

function sameZone(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '') === (b ?? '');
}

function describeRequirement(req: ExtensionRequirement): string {
  const parts = REQUIREMENT_SELECTORS.flatMap((k) => (selectorGiven(req[k]) ? [`${k}=${req[k]}`] : []));
  return parts.length === 0 ? 'any service' : parts.join(', ');
}

function describeCaller(ctx: ResolveContext): string {
  return `project ${ctx.project}${ctx.user === undefined ? '' : `, user ${ctx.user}`}`;
}

interface Candidate {
  ext: ExtensionRecord;
  service: ServiceRecord;
  label: string;
  endpoint?: EndpointRecord;
  inZone: boolean;
  credentials?: CredentialsRecord;
  /** Equally good credentials without a default (only a problem if this candidate wins). */
  credentialsTie?: CredentialsRecord[];
  credRank: number;
  /** Why it cannot be used at all. */
  excluded?: string;
}

function selectorsMatch(req: ExtensionRequirement, ext: ExtensionRecord, svc: ServiceRecord): boolean {
  if (selectorGiven(req.extension_id) && req.extension_id !== ext.id) return false;
  if (selectorGiven(req.product) && req.product !== ext.product) return false;
  if (selectorGiven(req.version) && !versionMatches(ext.version, req.version)) return false;
  if (selectorGiven(req.zone) && !sameZone(req.zone, ext.zone)) return false;
  return serviceSelectorsMatch(req, svc);
}

/**
 * The service-level part of a requirement's selectors (service_id, service_resource, service_category): a service
 * failing it is never a candidate for the requirement, whatever its extension. The registry reveals credential
 * values only for services some requirement passes here (src/registry/server/routes/workflows.ts).
 */
export function serviceSelectorsMatch(req: { service_id?: string | undefined; service_resource?: string | undefined; service_category?: string | undefined }, svc: { id: string; resource?: string | undefined; category?: string | undefined }): boolean {
  if (selectorGiven(req.service_id) && req.service_id !== svc.id) return false;
  if (selectorGiven(req.service_resource) && req.service_resource !== svc.resource) return false;
  if (selectorGiven(req.service_category) && req.service_category !== svc.category) return false;
  return true;
}

function pickEndpoint(c: Candidate, ctx: ResolveContext): void {
  const endpoints = c.service.endpoints ?? [];
  if (endpoints.length === 0) {
    c.excluded = `${c.label}: no endpoints registered`;
    return;
  }
  const external = endpoints.find((e) => e.type === 'external');
  if (c.inZone) {
    c.endpoint = endpoints.find((e) => e.type === 'internal') ?? external;
  } else if (external) {
    c.endpoint = external;
  } else {
    const where = c.ext.zone === undefined ? 'no zone' : `zone ${c.ext.zone}`;
    const caller = ctx.zone === undefined ? 'no zone given' : `zone ${ctx.zone}`;
    c.excluded = `${c.label}: only internal endpoints, and it is in ${where} (caller: ${caller})`;
  }
}

function pickCredentials(c: Candidate, ctx: ResolveContext): void {
  const all = c.service.credentials ?? [];
  // A set the caller may use whose stored values cannot be decrypted stays a candidate, so that choosing it
  // fails naming it (rather than silently falling back to another set).
  const usable = all.filter((cr) => credentialsUsable(cr, ctx) || (scopeAllows(cr, ctx) && isUndecryptable(cr)));
  const needs = c.service.auth_required === true || (c.service.auth_required !== false && all.length > 0);
  if (usable.length === 0) {
    c.credRank = 0;
    if (needs) c.excluded = `${c.label}: no credentials usable by ${describeCaller(ctx)}`;
    return;
  }
  const best = Math.max(...usable.map((cr) => SCOPE_RANK[cr.scope]));
  const top = usable.filter((cr) => SCOPE_RANK[cr.scope] === best);
  const defaults = top.filter((cr) => cr.default === true);
  c.credRank = best;
  if (top.length === 1) c.credentials = top[0];
  else if (defaults.length === 1) c.credentials = defaults[0];
  else c.credentialsTie = defaults.length > 1 ? defaults : top;
  const broken = c.credentials ? [c.credentials] : (c.credentialsTie ?? []).filter(isUndecryptable);
  if (broken.length > 0 && broken.every(isUndecryptable)) {
    const ids = broken.map((cr) => cr.id).join(', ');
    c.excluded = `${c.label}: the stored values of credentials ${ids} cannot be decrypted (corrupted data or a wrong key; run fuseml-registry doctor)`;
  }
}

/** Set by the registry's stores on a credential set whose stored values fail to decrypt. */
export function isUndecryptable(c: CredentialsRecord): boolean {
  return c.status?.state === 'undecryptable';
}

function rankKey(c: Candidate): number[] {
  return [c.inZone ? 1 : 0, c.service.default === true ? 1 : 0, c.credRank, healthRank(c.endpoint)];
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function reasonsFor(c: Candidate, rivals: number, zoneGiven: boolean): string[] {
  const reasons: string[] = [];
  if (rivals === 0) reasons.push('only match');
  if (zoneGiven && c.inZone) reasons.push(`same zone (${c.endpoint?.type} endpoint)`);
  else if (zoneGiven) reasons.push('other zone (external endpoint)');
  else reasons.push(`no zone given (${c.endpoint?.type} endpoint)`);
  if (c.service.default === true) reasons.push('default instance');
  if (c.credentials) {
    reasons.push(`${c.credentials.scope}-scoped credentials${c.credentials.default === true ? ' (default)' : ''}`);
  }
  const probe = c.endpoint?.status?.last_probe;
  if (probe?.ok === true) reasons.push('endpoint healthy (last probe ok)');
  else if (probe?.ok === false) reasons.push(`endpoint unhealthy (last probe failed: ${probe.error ?? 'no answer'})`);
  return reasons;
}

type Pick = { ok: true; candidate: Candidate; rivals: number; zoneGiven: boolean } | { ok: false; kind: ProblemKind; message: string; candidates?: string[] };

/** Chooses among the records for one requirement. */
export function pickService(req: ExtensionRequirement, ctx: ResolveContext, extensions: readonly ExtensionRecord[]): Pick {
  const matched: Candidate[] = [];
  for (const ext of extensions) {
    for (const service of ext.services ?? []) {
      if (!selectorsMatch(req, ext, service)) continue;
      const c: Candidate = { ext, service, label: `${ext.id}/${service.id}`, inZone: ctx.zone === undefined || sameZone(ext.zone, ctx.zone), credRank: 0 };
      pickEndpoint(c, ctx);
      if (!c.excluded) pickCredentials(c, ctx);
      matched.push(c);
    }
  }
  const asked = describeRequirement(req);
  if (matched.length === 0) {
    return { ok: false, kind: 'no-match', message: `no registered service matches ${asked}` };
  }
  const usable = matched.filter((c) => !c.excluded);
  if (usable.length === 0) {
    const why = matched.map((c) => c.excluded).join('; ');
    return { ok: false, kind: 'no-match', message: `no usable service matches ${asked}: ${why}` };
  }
  usable.sort((a, b) => compareKeys(rankKey(b), rankKey(a)));
  const first = usable[0] as Candidate;
  const top = usable.filter((c) => compareKeys(rankKey(c), rankKey(first)) === 0);
  if (top.length > 1) {
    const labels = top.map((c) => `${c.label} (${displayUrl(c.endpoint?.url ?? '')})`);
    return {
      ok: false,
      kind: 'ambiguous',
      message: `${top.length} services match ${asked} equally well and none is the default: ${labels.join(', ')}`,
      candidates: top.map((c) => c.label),
    };
  }
  if (first.credentialsTie) {
    const ids = first.credentialsTie.map((cr) => cr.id);
    return {
      ok: false,
      kind: 'ambiguous-credentials',
      message: `${first.label}: ${ids.length} ${first.credentialsTie[0]?.scope}-scoped credentials usable by ${describeCaller(ctx)} and none is the default: ${ids.join(', ')}`,
      candidates: ids,
    };
  }
  return { ok: true, candidate: first, rivals: usable.length - 1, zoneGiven: ctx.zone !== undefined };
}

function toChoice(req: ExtensionRequirement, c: Candidate, rivals: number, zoneGiven: boolean): Choice {
  const endpoint = c.endpoint as EndpointRecord;
  const credConfig = c.credentials?.configuration ?? {};
  return {
    requirement: req.name,
    extension_id: c.ext.id,
    product: c.ext.product,
    version: c.ext.version,
    zone: c.ext.zone,
    service_id: c.service.id,
    resource: c.service.resource,
    category: c.service.category,
    url: endpoint.url,
    endpoint_type: endpoint.type,
    credentials_id: c.credentials?.id,
    credentials_scope: c.credentials?.scope,
    reasons: reasonsFor(c, rivals, zoneGiven),
    configuration: { ...c.service.configuration, ...endpoint.configuration, ...credConfig },
    secret_keys: Object.keys(credConfig).sort(),
  };
}

interface EnvEntry {
  value: string;
  secret: boolean;
  /** Who set it, for collision messages. */
  source: string;
}

export type EnvReference =
  | { kind: 'url'; name: string }
  | { kind: 'cfg'; name: string; key: string }
  | { kind: 'runtime' }
  | { kind: 'error'; message: string };

const REF_SHAPE = 'use extensions.<name>.url or extensions.<name>.cfg.<KEY>';

export function isRuntimeReference(path: string): boolean {
  return RUNTIME_TEMPLATE_ROOTS.includes(path.split('.')[0] ?? '');
}

/** What a `{{ … }}` path in step env refers to, given the step's requirements. */
export function parseEnvReference(path: string, reqs: readonly ExtensionRequirement[]): EnvReference {
  const [root, name, field, key, ...rest] = path.split('.');
  if (isRuntimeReference(path)) return { kind: 'runtime' };
  if (root !== 'extensions') return { kind: 'error', message: `unknown reference (known roots: extensions, ${RUNTIME_TEMPLATE_ROOTS.join(', ')})` };
  if (name === undefined) return { kind: 'error', message: `incomplete reference: ${REF_SHAPE}` };
  if (!reqs.some((r) => r.name === name)) {
    const known = [...new Set(reqs.map((r) => r.name))];
    return { kind: 'error', message: `unknown reference: the step has no requirement named ${name}${known.length ? ` (known: ${known.join(', ')})` : ''}` };
  }
  if (field === 'url' && key === undefined) return { kind: 'url', name };
  if (field === 'cfg' && key !== undefined && rest.length === 0) return { kind: 'cfg', name, key };
  return { kind: 'error', message: `unknown reference: ${REF_SHAPE}` };
}

/**
 * Checks that need no registry: unique step names, unique requirement names (also
 * after mapping to FUSEML_EXT_<NAME>_), unique env names, and well-formed `{{ … }}`
 * references to requirements of the same step. Used by the loader and the resolver.
 */
export function checkWorkflow(workflow: Workflow): ResolutionProblem[] {
  const problems: ResolutionProblem[] = [];
  const stepNames = new Set<string>();
  workflow.steps.forEach((step, s) => {
    const add = (p: Omit<ResolutionProblem, 'step'>): void => {
      const where = p.requirement === undefined ? `step ${step.name}` : `step ${step.name}, requirement ${p.requirement}`;
      problems.push({ ...p, step: step.name, message: `${where}: ${p.message}` });
    };
    if (stepNames.has(step.name)) add({ kind: 'invalid', pointer: `/steps/${s}/name`, message: 'step name is used twice' });
    stepNames.add(step.name);

    const reqs = step.extensions ?? [];
    const byToken = new Map<string, string>();
    reqs.forEach((req, i) => {
      const bad = req.version === undefined ? undefined : versionSelectorProblem(req.version);
      if (bad !== undefined) add({ kind: 'invalid', requirement: req.name, pointer: `/steps/${s}/extensions/${i}/version`, message: bad });
      const token = envToken(req.name);
      const other = byToken.get(token);
      if (other !== undefined) {
        const what = other === req.name ? 'is used twice' : `and ${other} both map to ${ENV_PREFIX}${token}_`;
        add({ kind: 'invalid', requirement: req.name, pointer: `/steps/${s}/extensions/${i}/name`, message: `requirement name ${req.name} ${what}` });
      } else byToken.set(token, req.name);
    });

    const envNames = new Set<string>();
    (step.env ?? []).forEach((e, i) => {
      if (envNames.has(e.name)) add({ kind: 'invalid', pointer: `/steps/${s}/env/${i}/name`, message: `env ${e.name} is set twice` });
      envNames.add(e.name);
      const lookup: Lookup = (path) => {
        const ref = parseEnvReference(path, reqs);
        if (ref.kind === 'error') throw new Error(ref.message);
        return '';
      };
      try {
        render(e.value, lookup, { passThrough: isRuntimeReference });
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        for (const tp of err.problems) {
          add({ kind: 'template', pointer: `/steps/${s}/env/${i}/value`, message: `env ${e.name}: {{ ${tp.ref} }}: ${tp.message}` });
        }
      }
    });
  });
  return problems;
}

/** One generated env entry of a step and where it comes from. */
export interface GeneratedEnv {
  key: string;
  value: string;
  secret: boolean;
  requirement: string;
  /**
   * The choice's URL, one of its configuration keys, or a file key: the path of the
   * file the step's binding holds it in (see fileKey).
   */
  from: { kind: 'url' } | { kind: 'cfg'; key: string } | { kind: 'file'; key: string };
  /** Who set it, for messages. */
  source: string;
}

/**
 * The generated env of a step, in order: every configuration key under its
 * native name (requirement by requirement), then FUSEML_EXT_<NAME>_URL and
 * FUSEML_EXT_<NAME>_<KEY>. A key may appear more than once (two requirements
 * setting one native key): the first one counts, a different value is a
 * collision (reported by the resolver). Used by the resolver and by the
 * renderers that deliver the same keys by reference (src/workflow/render).
 */
export function generatedEnv(choices: readonly Choice[]): GeneratedEnv[] {
  const out: GeneratedEnv[] = [];
  const label = (ch: Choice): string => `requirement ${ch.requirement} (${ch.extension_id}/${ch.service_id})`;
  /** A configuration entry as env: its value, or for a file key the path of the file (not secret). */
  const entry = (ch: Choice, key: string, value: string): { name: string; value: string; secret: boolean; from: GeneratedEnv['from'] } => {
    const file = fileKey(key);
    if (file) return { name: file.env, value: bindingFilePath(ch.requirement, key), secret: false, from: { kind: 'file', key } };
    return { name: key, value, secret: ch.secret_keys.includes(key), from: { kind: 'cfg', key } };
  };
  for (const ch of choices) {
    for (const [key, value] of Object.entries(ch.configuration)) {
      const { name, ...e } = entry(ch, key, value);
      out.push({ key: name, ...e, requirement: ch.requirement, source: label(ch) });
    }
  }
  for (const ch of choices) {
    out.push({ key: prefixedEnvName(ch.requirement, 'URL'), value: ch.url, secret: false, requirement: ch.requirement, from: { kind: 'url' }, source: `${label(ch)} url` });
    for (const [key, value] of Object.entries(ch.configuration)) {
      const { name, ...e } = entry(ch, key, value);
      out.push({ key: prefixedEnvName(ch.requirement, name), ...e, requirement: ch.requirement, source: `${label(ch)} ${key}` });
    }
  }
  return out;
}

/** Resolves one step; problems are appended, the result is meaningful only if none were added. */
function resolveStep(
  step: WorkflowStep,
  stepIndex: number,
  ctx: ResolveContext,
  extensions: readonly ExtensionRecord[],
  problems: ResolutionProblem[],
): ResolvedStep {
  const stepPtr = `/steps/${stepIndex}`;
  const add = (p: Omit<ResolutionProblem, 'step'>): void => {
    const where = p.requirement === undefined ? `step ${step.name}` : `step ${step.name}, requirement ${p.requirement}`;
    problems.push({ ...p, step: step.name, message: `${where}: ${p.message}` });
  };

  const reqs = step.extensions ?? [];
  const choices: Choice[] = [];
  const failed = new Set<string>();
  reqs.forEach((req, i) => {
    const pick = pickService(req, ctx, extensions);
    if (pick.ok) choices.push(toChoice(req, pick.candidate, pick.rivals, pick.zoneGiven));
    else {
      failed.add(req.name);
      add({ kind: pick.kind, requirement: req.name, pointer: `${stepPtr}/extensions/${i}`, message: pick.message, candidates: pick.candidates });
    }
  });

  // Generated env: native keys and FUSEML_EXT_<NAME>_<KEY>; never silently overwritten.
  const env = new Map<string, EnvEntry>();
  const reported = new Set<string>();
  const set = (key: string, entry: EnvEntry, requirement: string): void => {
    const prev = env.get(key);
    if (prev === undefined) env.set(key, entry);
    else if (prev.value !== entry.value && !reported.has(key)) {
      reported.add(key);
      const idx = reqs.findIndex((r) => r.name === requirement);
      add({
        kind: 'env-collision',
        requirement,
        pointer: `${stepPtr}/extensions/${idx}`,
        message: `${entry.source} and ${prev.source} set ${key} to different values; use ${ENV_PREFIX}<NAME>_<KEY> in the step or narrow one requirement`,
      });
    } else if (prev.value === entry.value && entry.secret) prev.secret = true;
  };
  for (const g of generatedEnv(choices)) set(g.key, { value: g.value, secret: g.secret, source: g.source }, g.requirement);

  // The step's own env, rendered; it is explicit, so it overrides generated keys.
  const own = step.env ?? [];
  const byName = new Map(choices.map((c) => [c.requirement, c]));
  const rendered: Record<string, string> = {};
  const secretOwn = new Set<string>();
  own.forEach((e, i) => {
    const pointer = `${stepPtr}/env/${i}/value`;
    let usedSecret = false;
    // Malformed and unknown references were reported by checkWorkflow; here only
    // what needs the resolution can fail: a configuration key the service lacks.
    const lookup: Lookup = (path) => {
      const ref = parseEnvReference(path, reqs);
      if (ref.kind === 'error' || ref.kind === 'runtime' || failed.has(ref.name)) return '';
      const ch = byName.get(ref.name) as Choice;
      if (ref.kind === 'url') return ch.url;
      if (!Object.prototype.hasOwnProperty.call(ch.configuration, ref.key)) {
        const known = Object.keys(ch.configuration).sort().join(', ') || 'none';
        add({
          kind: 'template',
          requirement: undefined,
          pointer,
          message: `env ${e.name}: {{ ${path} }}: unknown reference: ${ch.extension_id}/${ch.service_id} has no configuration key ${ref.key} (known: ${known})`,
        });
        return '';
      }
      if (ch.secret_keys.includes(ref.key)) usedSecret = true;
      return ch.configuration[ref.key] as string;
    };
    try {
      rendered[e.name] = render(e.value, lookup, { passThrough: isRuntimeReference });
      if (usedSecret) secretOwn.add(e.name);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
    }
  });

  const out: Record<string, string> = {};
  const secret = new Set<string>();
  for (const [k, e] of env) {
    out[k] = e.value;
    if (e.secret) secret.add(k);
  }
  for (const [k, v] of Object.entries(rendered)) {
    out[k] = v;
    if (secretOwn.has(k)) secret.add(k);
    else secret.delete(k);
  }
  return { name: step.name, env: out, secret_env: [...secret].sort(), choices };
}

/** Step by step, segment by segment, numbers numerically; a stable sort keeps ties in place. */
function comparePointers(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const x = sa[i] as string;
    const y = sb[i] as string;
    if (x === y) continue;
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return sa.length - sb.length;
}

/**
 * Resolves every step of the workflow for the caller. Throws ResolutionError with
 * all problems of all steps; otherwise returns env and choices per step.
 */
export function resolveWorkflow(
  workflow: Workflow,
  ctx: ResolveContext,
  extensions: readonly ExtensionRecord[],
  options: ResolveOptions = {},
): Resolution {
  const problems: ResolutionProblem[] = checkWorkflow(workflow);
  const steps = workflow.steps.map((step, i) => resolveStep(step, i, ctx, extensions, problems));
  problems.sort((a, b) => comparePointers(a.pointer, b.pointer));
  if (problems.length > 0) throw new ResolutionError(problems, options.source ?? `workflow ${workflow.name}`, options.locate);
  return { workflow: workflow.name, project: ctx.project, user: ctx.user, zone: ctx.zone, steps };
}

/** A copy with every secret value replaced by `<hidden>` (for output without --show-secrets). */
export function maskResolution(r: Resolution): Resolution {
  return {
    ...r,
    steps: r.steps.map((s) => ({
      ...s,
      env: Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, s.secret_env.includes(k) ? HIDDEN : v])),
      choices: s.choices.map((c) => ({
        ...c,
        configuration: Object.fromEntries(Object.entries(c.configuration).map(([k, v]) => [k, c.secret_keys.includes(k) ? HIDDEN : v])),
      })),
    })),
  };
}

/** Every secret value in a resolution (for redaction of messages and logs). */
export function secretValues(r: Resolution): string[] {
  const out = new Set<string>();
  for (const s of r.steps) {
    for (const k of s.secret_env) if (s.env[k]) out.add(s.env[k] as string);
    for (const c of s.choices) for (const k of c.secret_keys) if (c.configuration[k]) out.add(c.configuration[k] as string);
  }
  return [...out];
}
