/**
 * Manual registration of an externally installed tool (`fuseml-installer
 * extensions register`): the extension's registration manifest rendered from
 * values the user gives instead of from a cluster.
 *
 * Inputs: every value is given as `KEY=VALUE` (--set, --set-env) or in a YAML
 * mapping (--values). KEY is a parameter, or an output: what the installer
 * would have read from the cluster after an install (tracking URL, S3
 * endpoint, keys) is supplied by the user for an external instance. A bare
 * KEY names the parameter or output of that name (both declared → ambiguous,
 * write `params.KEY` or `outputs.KEY`). Outputs of type `value` are rendered
 * from the parameters, as on install, unless given.
 *
 * Sensitive inputs (sensitive parameters; outputs read from a Secret or marked
 * sensitive) are refused in --set (process arguments show in `ps`): they come
 * from --values FILE, --set-env KEY=ENV_VAR or --set-file KEY=PATH (the file's
 * content, e.g. a JSON key file).
 *
 * Rendering is the installer's own (renderRegistration): the record of an
 * external instance has exactly the shape of an installed one.
 */
import { splitAssignment } from '../core/assign.js';
import { ValidationError, type Issue } from '../core/errors.js';
import type { Extension, OutputSpec, RegistrationManifest, Scalar } from '../core/extension.js';
import type { ExtensionRecord } from '../core/records.js';
import { references } from '../core/template.js';
import { coerce } from '../installer/params.js';
import { extensionLookup, renderDeep, renderRegistration } from '../installer/registration.js';

/** One input before it is typed, with where it came from (for messages; never the value). */
export interface Input {
  key: string;
  value: unknown;
  source: '--set' | '--set-env' | '--set-file' | string;
}

export interface ManualOptions {
  id?: string | undefined;
  zone?: string | undefined;
  /** Overrides the type of every endpoint (an external instance reached from outside the cluster). */
  endpointType?: 'internal' | 'external' | undefined;
  /** Value of {{ extension.namespace }} (default: the extension's namespace). */
  namespace?: string | undefined;
}

export interface ManualRegistration {
  record: ExtensionRecord;
  /** Every sensitive value given (to mask in anything printed). */
  secrets: string[];
}

const KEY = /^(?:(params|outputs)\.)?([A-Za-z_][A-Za-z0-9_]*)$/;

/** Parses `KEY=VALUE` entries; malformed ones become issues (the value is never echoed). */
export function parseAssignments(entries: readonly string[], source: '--set' | '--set-env' | '--set-file', env: NodeJS.ProcessEnv = process.env): { inputs: Input[]; issues: Issue[] } {
  const inputs: Input[] = [];
  const issues: Issue[] = [];
  for (const entry of entries) {
    const split = splitAssignment(entry, { key: KEY });
    const key = split.key;
    if (!split.ok) {
      issues.push({ file: source, pointer: '', message: `"${key}" is not of the form [params.|outputs.]NAME=${source === '--set' ? 'VALUE' : source === '--set-file' ? 'PATH' : 'ENV_VAR'}` });
      continue;
    }
    const raw = split.value;
    if (source === '--set-env') {
      const v = env[raw];
      if (v === undefined) issues.push({ file: source, pointer: `/${key}`, message: `environment variable "${raw}" (for ${key}) is not set` });
      else inputs.push({ key, value: v, source });
    } else inputs.push({ key, value: raw, source });
  }
  return { inputs, issues };
}

/** Inputs from a parsed --values document: a flat mapping, or `params:` / `outputs:` sub-mappings. */
export function valuesInputs(doc: unknown, file: string): { inputs: Input[]; issues: Issue[] } {
  const inputs: Input[] = [];
  const issues: Issue[] = [];
  if (doc === null || doc === undefined) return { inputs, issues };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    issues.push({ file, pointer: '', message: 'must be a mapping of NAME: value (or params: {…} / outputs: {…})' });
    return { inputs, issues };
  }
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if ((k === 'params' || k === 'outputs') && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) inputs.push({ key: `${k}.${k2}`, value: v2, source: file });
    } else if (!KEY.test(k)) {
      issues.push({ file, pointer: `/${k}`, message: `"${k}" is not a parameter or output name` });
    } else inputs.push({ key: k, value: v, source: file });
  }
  for (const i of inputs) {
    if (i.value === null || (typeof i.value === 'object')) issues.push({ file, pointer: `/${i.key.replace('.', '/')}`, message: `${i.key} must be a string, number or boolean` });
  }
  return { inputs: inputs.filter((i) => i.value !== null && typeof i.value !== 'object'), issues };
}

/** Outputs whose value is a secret: read from a Secret, or marked sensitive. */
export function isSensitiveOutput(spec: OutputSpec): boolean {
  return spec.sensitive === true || spec.secret !== undefined;
}

function* manifestStrings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const v of value) yield* manifestStrings(v);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) yield* manifestStrings(v);
}

/** The parameters and outputs a registration manifest refers to (outputs of type `value` bring their parameters). */
export function manifestNeeds(ext: Extension, manifest: RegistrationManifest): { params: Set<string>; outputs: Set<string> } {
  const params = new Set<string>();
  const outputs = new Set<string>();
  for (const s of manifestStrings(manifest)) {
    for (const ref of references(s)) {
      const [root, name] = ref.split('.');
      if (root === 'params' && name) params.add(name);
      if (root === 'outputs' && name) outputs.add(name);
    }
  }
  for (const o of outputs) {
    const v = ext.outputs[o]?.value;
    if (v !== undefined) for (const ref of references(v)) if (ref.startsWith('params.')) params.add(ref.slice('params.'.length));
  }
  return { params, outputs };
}

/**
 * Types and checks the inputs against the extension, renders the record.
 * Throws one ValidationError listing every problem (unknown keys, wrong types,
 * sensitive values in --set, and every missing parameter and output).
 */
export function manualRegistration(ext: Extension, inputs: readonly Input[], options: ManualOptions = {}): ManualRegistration {
  const manifest = ext.registration;
  if (!manifest) throw new ValidationError([{ file: ext.file, pointer: '', message: `extension ${ext.name} registers nothing (no registration manifest)` }]);
  const issues: Issue[] = [];
  const params: Record<string, Scalar> = {};
  const outputs: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [k, spec] of Object.entries(ext.parameters)) if (spec.default !== undefined) params[k] = spec.default;

  const given = new Set<string>();
  for (const input of inputs) {
    const m = KEY.exec(input.key);
    if (!m) {
      issues.push({ file: input.source, pointer: '', message: `"${input.key}" is not a parameter or output name` });
      continue;
    }
    const name = m[2] as string;
    const isParam = name in ext.parameters;
    const isOutput = name in ext.outputs;
    let root = m[1] as 'params' | 'outputs' | undefined;
    if (!root) {
      if (isParam && isOutput) {
        issues.push({ file: input.source, pointer: `/${name}`, message: `"${name}" is both a parameter and an output of ${ext.name}: write params.${name} or outputs.${name}` });
        continue;
      }
      root = isParam ? 'params' : isOutput ? 'outputs' : undefined;
    }
    if (!root || (root === 'params' && !isParam) || (root === 'outputs' && !isOutput)) {
      const known = [...Object.keys(ext.parameters).map((p) => `params.${p}`), ...Object.keys(ext.outputs).map((o) => `outputs.${o}`)].sort().join(', ') || 'none';
      issues.push({ file: input.source, pointer: `/${input.key}`, message: `unknown key "${input.key}" for extension ${ext.name} (known: ${known})` });
      continue;
    }
    const sensitive = root === 'params' ? ext.parameters[name]?.sensitive === true : isSensitiveOutput(ext.outputs[name] as OutputSpec);
    if (sensitive && input.source === '--set') {
      issues.push({
        file: '--set',
        pointer: `/${root}.${name}`,
        message: `${root}.${name} is sensitive and must not be passed in --set (process arguments are visible to other users): use --values FILE, --set-env ${name}=ENV_VAR or --set-file ${name}=PATH`,
      });
      continue;
    }
    given.add(`${root}.${name}`);
    if (root === 'params') {
      const r = coerce(ext.parameters[name] ?? {}, input.value);
      if (r.error !== undefined) issues.push({ file: input.source, pointer: `/params.${name}`, message: `parameter ${name} ${r.error}` });
      else {
        params[name] = r.value as Scalar;
        if (sensitive) secrets.push(String(r.value));
      }
    } else {
      const v = String(input.value);
      if (v === '') issues.push({ file: input.source, pointer: `/outputs.${name}`, message: `output ${name} must not be empty` });
      outputs[name] = v;
      if (sensitive) secrets.push(v);
    }
  }

  // Outputs of type `value` are rendered from the parameters, as on install.
  const needs = manifestNeeds(ext, manifest);
  const missing: string[] = [];
  for (const p of [...needs.params].sort()) if (params[p] === undefined) missing.push(`params.${p}${ext.parameters[p]?.description ? ` (${ext.parameters[p]?.description})` : ''}`);
  for (const [p, spec] of Object.entries(ext.parameters)) if (spec.required && params[p] === undefined && !needs.params.has(p)) missing.push(`params.${p}`);
  for (const o of [...needs.outputs].sort()) {
    if (outputs[o] !== undefined) continue;
    const spec = ext.outputs[o] as OutputSpec | undefined;
    if (spec?.value !== undefined) continue;
    missing.push(`outputs.${o}${spec?.description ? ` (${spec.description})` : ''}${spec && isSensitiveOutput(spec) ? ' [sensitive]' : ''}`);
  }
  for (const m of missing) issues.push({ file: ext.file, pointer: '', message: `missing value for manual registration of ${ext.name}: ${m}` });
  if (issues.length > 0) throw new ValidationError(issues, `${issues.length} problem${issues.length === 1 ? '' : 's'} with the values for ${ext.name}`);

  const namespace = options.namespace ?? ext.namespace;
  const paramsOnly = extensionLookup(ext, params, undefined, { namespace });
  for (const o of needs.outputs) {
    const spec = ext.outputs[o];
    if (outputs[o] === undefined && spec?.value !== undefined) outputs[o] = renderDeep(spec.value, paramsOnly);
  }
  const record = renderRegistration(ext, params, outputs, { id: options.id, zone: options.zone, namespace }) as ExtensionRecord;
  record.status = { installed: false, message: `external ${ext.name} instance, registered manually by fuseml-installer` };
  if (options.endpointType) for (const s of record.services ?? []) for (const e of s.endpoints ?? []) e.type = options.endpointType;
  return { record, secrets };
}

/**
 * A stand-alone registration file (`extensions register -f FILE`) as an
 * extension with no steps: every key given is a parameter (or an output, with
 * `outputs.`) of that name. The record's product comes from the file.
 */
export function fileExtension(manifest: RegistrationManifest, file: string, inputs: readonly Input[], id: string | undefined): Extension {
  const name = id ?? manifest.id ?? '';
  const parameters: Extension['parameters'] = {};
  const outputs: Extension['outputs'] = {};
  for (const i of inputs) {
    const m = KEY.exec(i.key);
    if (!m) continue;
    // Values from a file or the environment may be secrets; --set ones are not.
    if (m[1] === 'outputs') outputs[m[2] as string] = { value: '', sensitive: i.source !== '--set' };
    else parameters[m[2] as string] = { sensitive: i.source !== '--set' };
  }
  return {
    name,
    product: manifest.product ?? '',
    version: manifest.version ?? '',
    description: manifest.description ?? '',
    namespace: 'default',
    zone: manifest.zone,
    requires: [],
    aliases: [],
    parameters,
    install: [],
    uninstall: [],
    outputs,
    registration: manifest,
    gateways: [],
    rolerules: [],
    dir: file,
    file,
    registrationFile: file,
    format: 'extension.yaml',
  };
}
