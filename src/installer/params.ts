/**
 * Parameter values for a plan: descriptor defaults, then `--values FILE`, then
 * `--set` (later wins). Every value is typed and checked against the
 * extension's declaration; all problems are reported at once.
 *
 *   --set EXT.PARAM=VALUE   one extension's parameter
 *   --set PARAM=VALUE       every extension of the plan that declares PARAM
 *   --values FILE           YAML: { EXT: { PARAM: VALUE, … }, … }
 */
import { IDENTIFIER, splitAssignment } from '../core/assign.js';
import type { Issue } from '../core/errors.js';
import type { Extension, ParameterSpec, Scalar } from '../core/extension.js';
import { isDns1123Label } from '../core/names.js';

export type ParamValues = Record<string, Scalar>;

/** One parameter assignment before typing, with where it came from (for messages). */
export interface Assignment {
  /** Extension name, or undefined for "every extension declaring it". */
  extension?: string | undefined;
  param: string;
  value: unknown;
  source: string;
}

/** `[EXTENSION.]PARAM`: an optional extension name (a DNS-1123 label) and a parameter identifier. */
function isSetKey(key: string): boolean {
  const dot = key.indexOf('.');
  return (dot < 0 || isDns1123Label(key.slice(0, dot))) && IDENTIFIER.test(key.slice(dot + 1));
}

/** Parses `--set` entries (`[EXT.]PARAM=VALUE`); malformed entries become issues. */
export function parseSetFlags(entries: readonly string[]): { assignments: Assignment[]; issues: Issue[] } {
  const assignments: Assignment[] = [];
  const issues: Issue[] = [];
  for (const entry of entries) {
    const split = splitAssignment(entry);
    const key = split.key;
    if (!split.ok || !isSetKey(key)) {
      // Never echo the value: it may be a secret.
      issues.push({ file: '--set', pointer: '', message: `"${key}" is not of the form [EXTENSION.]PARAM=VALUE` });
      continue;
    }
    const dot = key.indexOf('.');
    assignments.push({
      extension: dot < 0 ? undefined : key.slice(0, dot),
      param: dot < 0 ? key : key.slice(dot + 1),
      value: split.value,
      source: '--set',
    });
  }
  return { assignments, issues };
}

/** Assignments from a parsed `--values` document: a mapping of extension name to parameter mapping. */
export function valuesAssignments(doc: unknown, file: string): { assignments: Assignment[]; issues: Issue[] } {
  const assignments: Assignment[] = [];
  const issues: Issue[] = [];
  if (doc === null || doc === undefined) return { assignments, issues };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    issues.push({ file, pointer: '', message: 'must be a mapping of extension name to { parameter: value }' });
    return { assignments, issues };
  }
  for (const [ext, params] of Object.entries(doc as Record<string, unknown>)) {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      issues.push({ file, pointer: `/${ext}`, message: 'must be a mapping of parameter name to value' });
      continue;
    }
    for (const [param, value] of Object.entries(params as Record<string, unknown>)) {
      assignments.push({ extension: ext, param, value, source: file });
    }
  }
  return { assignments, issues };
}

/** Converts a raw value to the declared type; returns an error message (without the value) when it does not fit. */
export function coerce(spec: ParameterSpec, value: unknown): { value?: Scalar; error?: string } {
  const type = spec.type ?? 'string';
  let v: Scalar | undefined;
  if (type === 'string') {
    if (typeof value === 'string') v = value;
    else if (typeof value === 'number' || typeof value === 'boolean') v = String(value);
  } else if (type === 'boolean') {
    if (typeof value === 'boolean') v = value;
    else if (value === 'true' || value === 'false') v = value === 'true';
  } else {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (Number.isFinite(n) && (type === 'number' || Number.isInteger(n))) v = n;
  }
  if (v === undefined) return { error: `expects a value of type ${type}` };
  if (spec.enum && !spec.enum.includes(v)) {
    return { error: spec.sensitive ? 'is not one of the allowed values' : `must be one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}` };
  }
  return { value: v };
}

export interface ResolvedParams {
  /** Extension name → parameter values (sensitive included). */
  values: Map<string, ParamValues>;
  /** Extension name → names of its sensitive parameters. */
  sensitive: Map<string, Set<string>>;
  /** Extension name → parameter → where its value came from (assigned ones only, not defaults). */
  assigned: Map<string, Map<string, string>>;
  issues: Issue[];
}

/**
 * Merges defaults and assignments for the extensions of a plan. Unknown
 * extensions/parameters, values of the wrong type and missing required
 * parameters are all reported.
 */
export function resolveParams(exts: readonly Extension[], assignments: readonly Assignment[], aliases: (name: string) => string | undefined = (n) => n): ResolvedParams {
  const issues: Issue[] = [];
  const values = new Map<string, ParamValues>();
  const sensitive = new Map<string, Set<string>>();
  const assigned = new Map<string, Map<string, string>>();
  const byName = new Map(exts.map((e) => [e.name, e]));
  for (const ext of exts) {
    const v: ParamValues = {};
    for (const [k, spec] of Object.entries(ext.parameters)) if (spec.default !== undefined) v[k] = spec.default;
    values.set(ext.name, v);
    sensitive.set(ext.name, new Set(Object.entries(ext.parameters).filter(([, s]) => s.sensitive).map(([k]) => k)));
  }
  const apply = (ext: Extension, a: Assignment): void => {
    const spec = ext.parameters[a.param];
    if (!spec) {
      const known = Object.keys(ext.parameters).sort().join(', ') || 'none';
      issues.push({ file: a.source, pointer: `/${ext.name}/${a.param}`, message: `unknown parameter "${a.param}" of extension ${ext.name} (declared: ${known})` });
      return;
    }
    const r = coerce(spec, a.value);
    if (r.error !== undefined) issues.push({ file: a.source, pointer: `/${ext.name}/${a.param}`, message: `parameter ${ext.name}.${a.param} ${r.error}` });
    else {
      (values.get(ext.name) as ParamValues)[a.param] = r.value as Scalar;
      let m = assigned.get(ext.name);
      if (!m) assigned.set(ext.name, (m = new Map()));
      m.set(a.param, a.source);
    }
  };
  for (const a of assignments) {
    if (a.extension === undefined) {
      const targets = exts.filter((e) => e.parameters[a.param] !== undefined);
      if (targets.length === 0) {
        issues.push({ file: a.source, pointer: `/${a.param}`, message: `unknown parameter "${a.param}": no extension of the plan (${exts.map((e) => e.name).join(', ')}) declares it` });
      }
      for (const t of targets) apply(t, a);
      continue;
    }
    const name = aliases(a.extension) ?? a.extension;
    const ext = byName.get(name);
    if (!ext) {
      // A values file may hold parameters of extensions this plan does not install.
      if (a.source !== '--set' && aliases(a.extension) !== undefined) continue;
      issues.push({ file: a.source, pointer: `/${a.extension}`, message: `"${a.extension}" is not an extension of this plan (${exts.map((e) => e.name).join(', ')})` });
      continue;
    }
    apply(ext, a);
  }
  for (const ext of exts) {
    const v = values.get(ext.name) as ParamValues;
    const missing = Object.entries(ext.parameters).filter(([k, s]) => s.required && v[k] === undefined).map(([k]) => k);
    for (const k of missing) {
      issues.push({ file: ext.file, pointer: `/parameters/${k}`, message: `parameter ${ext.name}.${k} is required: pass --set ${ext.name}.${k}=VALUE or put it in a --values file` });
    }
  }
  return { values, sensitive, assigned, issues };
}

/** The environment variable name of a parameter for scripts: FUSEML_PARAM_<NAME>. */
export function paramEnvName(param: string): string {
  return `FUSEML_PARAM_${param.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}
