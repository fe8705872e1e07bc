/**
 * JSON Schema validation (ajv, draft 2020-12) of parsed YAML, with every error
 * turned into an Issue at its source position and worded for people.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Issue } from '../core/errors.js';
import type { YamlFile } from './yaml.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

export type SchemaName = 'extension' | 'registration' | 'workflow';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
let ajv: Ajv2020 | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

export function loadSchema(name: SchemaName): Record<string, unknown> {
  return JSON.parse(readFileSync(`${SCHEMA_DIR}${name}.schema.json`, 'utf8')) as Record<string, unknown>;
}

export function validatorFor(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    if (!ajv) {
      ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true });
      addFormats(ajv);
    }
    v = ajv.compile(loadSchema(name));
    compiled.set(name, v);
  }
  return v;
}

const PATTERN_WORDS: Record<string, string> = {
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$': 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'must be an identifier: letters, digits and "_", not starting with a digit',
  '^[A-Za-z0-9_][A-Za-z0-9_-]*$': 'must be an id: letters, digits, "_" and "-", not starting with "-"',
  '^[0-9]+(ms|s|m|h)$': 'must be a duration such as 90s, 5m or 1h',
};

function words(e: ErrorObject, data: unknown): { message: string; key?: string } | undefined {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key = String(p.additionalProperty ?? p.unevaluatedProperty);
      return { message: `unknown field "${key}"`, key };
    }
    case 'required':
      return { message: `missing required field "${String(p.missingProperty)}"` };
    case 'enum':
      return { message: `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return undefined; // only ever a branch selector
    case 'pattern': {
      const pat = String(p.pattern);
      if (pat.startsWith('^([a-z0-9]')) return { message: `${JSON.stringify(data)} must be a DNS-1123 label (or a {{ params.NAME }} reference)` };
      return { message: `${JSON.stringify(data)} ${PATTERN_WORDS[pat] ?? `must match ${pat}`}` };
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
      if (/\/id$/.test(e.instancePath)) return { message: `${JSON.stringify(data)} must be an id (letters, digits, "_" and "-", at most 100) or a {{ … }} reference` };
      return { message: 'must match one of the allowed forms' };
    case 'if':
      return undefined;
    case 'type':
      return { message: `must be ${String(p.type).replace(/,/g, ' or ')}, not ${Array.isArray(data) ? 'a list' : data === null ? 'null' : typeof data === 'object' ? 'a mapping' : typeof data}` };
    default:
      return { message: e.message ?? e.keyword };
  }
}

function valueAt(root: unknown, pointer: string): unknown {
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
    const w = words(e, valueAt(data, e.instancePath));
    if (!w) continue;
    const issue = doc.issue(e.instancePath, w.message, w.key);
    const id = `${issue.pointer}|${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}
