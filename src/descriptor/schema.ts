/**
 * JSON Schema validation (ajv, draft 2020-12) of parsed YAML, with every error
 * turned into an Issue at its source position and worded for people.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { Issue } from '../core/errors.js';
import { DNS1123_LABEL_PATTERN, DNS1123_LABEL_WORDS } from '../core/names.js';
import { ID_PATTERN, ID_WORDS } from '../core/records.js';
import { suggest } from '../core/suggest.js';
import type { YamlFile } from './yaml.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));
/** Validators generated at build time (scripts/compile-schemas.mjs), next to this module in dist/. */
export const COMPILED_DIR = fileURLToPath(new URL('./compiled/', import.meta.url));

export type SchemaName = 'extension' | 'registration' | 'workflow';
export const SCHEMA_NAMES: readonly SchemaName[] = ['extension', 'registration', 'workflow'];

const AJV_OPTIONS = { allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true } as const;

const require = createRequire(import.meta.url);
let ajv: Ajv2020 | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

function schemaText(name: SchemaName): string {
  return readFileSync(`${SCHEMA_DIR}${name}.schema.json`, 'utf8');
}

export function loadSchema(name: SchemaName): Record<string, unknown> {
  return JSON.parse(schemaText(name)) as Record<string, unknown>;
}

export function schemaHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The one ajv setup (draft 2020-12, every error, strict, formats) for descriptors, registry records and config files. */
export function newAjv(extra: Record<string, unknown> = {}): Ajv2020 {
  // Loaded on demand, with require (ajv is CommonJS): the CLI's usual path never needs it.
  const { Ajv2020: AjvClass } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const addFormats = require('ajv-formats') as (a: Ajv2020) => void;
  const instance = new AjvClass({ ...AJV_OPTIONS, ...extra });
  addFormats(instance);
  return instance;
}

/** The build-time validator, when there is one for this very schema text. */
function precompiled(name: SchemaName, text: string): ValidateFunction | undefined {
  const file = `${COMPILED_DIR}${name}.cjs`;
  if (!existsSync(file)) return undefined;
  const mod = require(file) as { validate: ValidateFunction; schemaHash: string };
  return mod.schemaHash === schemaHash(text) ? mod.validate : undefined;
}

export function validatorFor(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const text = schemaText(name);
    v = precompiled(name, text);
    if (!v) {
      ajv ??= newAjv();
      v = ajv.compile(JSON.parse(text) as Record<string, unknown>);
    }
    compiled.set(name, v);
  }
  return v;
}

/** Stand-alone CommonJS source of a schema's validator, with the same options (for the build). */
export function standaloneValidator(name: SchemaName): string {
  const text = schemaText(name);
  const instance = newAjv({ code: { source: true } });
  const validate = instance.compile(JSON.parse(text) as Record<string, unknown>);
  const standalone = require('ajv/dist/standalone/index.js') as { default: (a: Ajv2020, v: ValidateFunction) => string };
  return `${standalone.default(instance, validate)}\nmodule.exports.validate = module.exports;\nmodule.exports.schemaHash = ${JSON.stringify(schemaHash(text))};\n`;
}

const PATTERN_WORDS: Record<string, string> = {
  [DNS1123_LABEL_PATTERN]: DNS1123_LABEL_WORDS,
  '^[A-Za-z_][A-Za-z0-9_]*$': 'must be an identifier: letters, digits and "_", not starting with a digit',
  [ID_PATTERN]: ID_WORDS,
  '^([A-Za-z0-9_][A-Za-z0-9_-]*)?$': 'must be an id (letters, digits, "_" and "-", not starting with "-") or ""',
  '^[0-9]+(ms|s|m|h)$': 'must be a duration such as 90s, 5m or 1h',
};

type Node = Record<string, unknown>;

/** The field names a schema node allows: its properties, and those of its branches and local $refs. */
function fieldNames(root: Node, node: unknown, seen = new Set<unknown>()): string[] {
  if (node === null || typeof node !== 'object' || seen.has(node)) return [];
  seen.add(node);
  const n = node as Node;
  const own = n.properties && typeof n.properties === 'object' ? Object.keys(n.properties) : [];
  const ref = typeof n.$ref === 'string' && n.$ref.startsWith('#/') ? nodeAt(root, n.$ref.slice(1)) : undefined;
  const branches = ['allOf', 'anyOf', 'oneOf'].flatMap((k) => (Array.isArray(n[k]) ? (n[k] as unknown[]) : []));
  return [...own, ...[ref, n.then, n.else, ...branches].flatMap((b) => fieldNames(root, b, seen))];
}

function nodeAt(root: unknown, pointer: string): unknown {
  let v: unknown = root;
  for (const seg of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Node)[decodeURIComponent(seg).replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** ` (did you mean "x"?)` for an unknown field close to an allowed one, from the schema node that refused it. */
function nearestField(root: Node, e: ErrorObject, key: string): string {
  const parent = nodeAt(root, e.schemaPath.replace(/^#/, '').replace(/\/(additionalProperties|unevaluatedProperties)$/, ''));
  const near = suggest(key, [...new Set(fieldNames(root, parent))]);
  return near.length > 0 ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : '';
}

/**
 * The one wording of a schema error, without its location (callers add the file position or the JSON pointer).
 * `echo: false` keeps values out of the words (for files that may hold tokens); `schema` (the root schema the
 * error comes from) adds a "did you mean" to unknown fields. Undefined: not worth reporting on its own (branch
 * selectors, errors repeated by a nested one).
 */
export function schemaErrorWords(e: ErrorObject, data: unknown, opts: { echo?: boolean; schema?: Node } = {}): { message: string; key?: string } | undefined {
  const echo = opts.echo ?? true;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key = String(p.additionalProperty ?? p.unevaluatedProperty);
      return { message: `unknown field "${key}"${opts.schema ? nearestField(opts.schema, e, key) : ''}`, key };
    }
    case 'required':
      return { message: `missing required field "${String(p.missingProperty)}"` };
    case 'enum':
      return { message: `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return undefined; // only ever a branch selector
    case 'pattern': {
      const pat = String(p.pattern);
      const subject = echo ? `${JSON.stringify(data)} ` : '';
      if (pat.startsWith('^([a-z0-9]')) return { message: `${subject}must be a DNS-1123 label (or a {{ params.NAME }} reference)` };
      return { message: `${subject}${PATTERN_WORDS[pat] ?? `must match ${pat}`}` };
    }
    case 'propertyNames':
      return undefined; // reported by the nested pattern error
    // Branch errors carry the $ref'd schema's relative path, so the instance path tells which combinator it is.
    case 'oneOf':
      if (/^\/outputs\/[^/]+$/.test(e.instancePath)) {
        return { message: 'an output needs exactly one source: secret, configMap, service, ingress, jsonPath, script or value' };
      }
      if (/^\/(install|uninstall)\/\d+$/.test(e.instancePath)) {
        return { message: 'a helm step needs either "location" (a chart in the extension folder) or "repo" and "chart", not both' };
      }
      return { message: 'must match exactly one of the allowed forms' };
    case 'anyOf':
      if (/\/waitFor\/\d+$/.test(e.instancePath)) return { message: 'waitFor needs "name" or "selector"' };
      if (/\/id$/.test(e.instancePath)) return { message: `${echo ? `${JSON.stringify(data)} ` : ''}must be an id (letters, digits, "_" and "-", at most 100) or a {{ … }} reference` };
      return { message: 'must match one of the allowed forms' };
    case 'if':
      return undefined;
    case 'type':
      return { message: `must be ${String(p.type).replace(/,/g, ' or ')}, not ${Array.isArray(data) ? 'a list' : data === null ? 'null' : typeof data === 'object' ? 'a mapping' : typeof data}` };
    default:
      return { message: e.message ?? e.keyword };
  }
}

/** The value at a JSON pointer (ajv's instancePath) in `root`. */
export function valueAt(root: unknown, pointer: string): unknown {
  let v: unknown = root;
  for (const seg of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** Validates the file's data against a schema; returns every issue (empty when valid). */
export function schemaIssues(name: SchemaName, doc: YamlFile, data: unknown = doc.data): Issue[] {
  const validate = validatorFor(name);
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  // Errors inside a oneOf/anyOf branch are noise once the oneOf/anyOf itself is reported.
  // (The branch errors of a $ref'd combinator carry the referenced schema's path, so match on the instance path.)
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const keep = (e: ErrorObject): boolean => e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties';
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (
      e.keyword !== 'oneOf' &&
      e.keyword !== 'anyOf' &&
      !keep(e) &&
      combinators.some((c) => e.instancePath === c.instancePath || (e.schemaPath.startsWith(c.schemaPath + '/') && e.instancePath.startsWith(c.instancePath)))
    ) {
      continue;
    }
    const w = schemaErrorWords(e, valueAt(data, e.instancePath), { schema: loadSchema(name) });
    if (!w) continue;
    const issue = doc.issue(e.instancePath, w.message, w.key);
    const id = `${issue.pointer}|${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}
