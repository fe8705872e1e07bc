/**
 * Validation of registry bodies against schemas/extension-record.schema.json
 * (ajv, JSON Schema 2020-12, every problem reported, unknown fields rejected),
 * plus the checks a schema cannot express (duplicate ids within one body, one
 * default credential per service).
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { FusemlError } from '../core/errors.js';
import { newAjv, schemaErrorWords, valueAt } from '../descriptor/schema.js';
import { BadRequestError } from './errors.js';
import { ID_MAX, ID_WORDS, isRecordId, type ExtensionRecord, type ServiceRecord } from '../core/records.js';

export const EXTENSION_RECORD_SCHEMA_URL = new URL('../../schemas/extension-record.schema.json', import.meta.url);
export const extensionRecordSchema = JSON.parse(readFileSync(EXTENSION_RECORD_SCHEMA_URL, 'utf8')) as {
  $id: string;
  $defs: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
};
const SCHEMA_ID = extensionRecordSchema.$id;

const ref = (def: string): { $ref: string } => ({ $ref: `${SCHEMA_ID}#/$defs/${def}` });

/** Fields of each record that a PUT (partial update, fuseml-core semantics) may change. */
export const PATCHABLE = {
  extension: ['product', 'version', 'description', 'zone', 'configuration', 'status'],
  service: ['resource', 'category', 'description', 'auth_required', 'default', 'configuration'],
  endpoint: ['type', 'configuration'],
  credentials: ['default', 'scope', 'projects', 'users', 'configuration'],
} as const;
/** Set by the registry: accepted in bodies (so a record read back can be sent again) and ignored. */
const READ_ONLY = ['id', 'url', 'extension_id', 'service_id', 'revision', 'created', 'updated'];

function patchSchema(def: keyof typeof PATCHABLE): object {
  const props = extensionRecordSchema.$defs[def]?.properties ?? {};
  const allowed = [...PATCHABLE[def], ...READ_ONLY.filter((k) => k in props)];
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(allowed.map((k) => [k, { $ref: `${SCHEMA_ID}#/$defs/${def}/properties/${k}` }])),
  };
}

let compiled: Record<string, ValidateFunction> | undefined;
function validators(): Record<string, ValidateFunction> {
  if (compiled) return compiled;
  const ajv = newAjv();
  ajv.addSchema(extensionRecordSchema);
  compiled = {
    extension: ajv.compile(ref('extension')),
    service: ajv.compile(ref('service')),
    endpoint: ajv.compile(ref('endpoint')),
    credentials: ajv.compile(ref('credentials')),
    'patch:extension': ajv.compile(patchSchema('extension')),
    'patch:service': ajv.compile(patchSchema('service')),
    'patch:endpoint': ajv.compile(patchSchema('endpoint')),
    'patch:credentials': ajv.compile(patchSchema('credentials')),
  };
  return compiled;
}

/** Compiles the validators now (the server does at start, so its first write does not pay ~100 ms for it). */
export function prepareValidators(): void {
  validators();
}

export type RecordKind = 'extension' | 'service' | 'endpoint' | 'credentials';

/** `pointer: words`, worded as descriptor errors are (src/descriptor/schema.ts); undefined when not worth a line. */
function describe(e: ErrorObject, body: unknown): string | undefined {
  const w = schemaErrorWords(e, valueAt(body, e.instancePath));
  return w && `${e.instancePath === '' ? 'body' : e.instancePath}: ${w.message}`;
}

/** goa's validation error name for an ajv keyword (what fuseml-core's goa server answers for the same fault). */
const GOA_NAME: Record<string, string> = {
  required: 'missing_field',
  type: 'invalid_field_type',
  enum: 'invalid_enum_value',
  const: 'invalid_enum_value',
  format: 'invalid_format',
  pattern: 'invalid_pattern',
  maxLength: 'invalid_length',
  minLength: 'invalid_length',
  maxItems: 'invalid_length',
  minItems: 'invalid_length',
  maxProperties: 'invalid_length',
  minimum: 'invalid_range',
  maximum: 'invalid_range',
};

/** Throws VALIDATION listing every problem (up to 20) when `body` is not a valid record of `kind`. */
export function validateRecord(kind: RecordKind, body: unknown, mode: 'create' | 'patch' = 'create'): void {
  const v = validators()[mode === 'patch' ? `patch:${kind}` : kind];
  if (!v) throw new FusemlError('INTERNAL', `no validator for ${kind}`);
  if (body === undefined || body === null) throw new BadRequestError('missing_payload', `the request has no body: send the ${kind} as JSON or YAML`);
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('decode_payload', `the body must be a ${kind} object`);
  if (!v(body)) {
    const errors = (v.errors ?? []).filter((e) => e.keyword !== 'if');
    const msgs = [...new Set(errors.map((e) => describe(e, body)).filter((m) => m !== undefined))];
    const more = msgs.length > 20 ? `; and ${msgs.length - 20} more` : '';
    const name = GOA_NAME[errors[0]?.keyword ?? ''] ?? 'BadRequest';
    throw new BadRequestError(name, `invalid ${kind}: ${msgs.slice(0, 20).join('; ')}${more}`);
  }
  if (kind === 'extension') checkExtension(body as ExtensionRecord);
  if (kind === 'service') checkService(body as ServiceRecord, 'body');
}

function dup(values: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) return v;
    seen.add(v);
  }
  return undefined;
}

function checkService(s: ServiceRecord, at: string): void {
  const url = dup((s.endpoints ?? []).map((e) => e.url));
  if (url !== undefined) throw new FusemlError('VALIDATION', `${at}: endpoint ${url} given twice`);
  const cred = dup((s.credentials ?? []).map((c) => c.id));
  if (cred !== undefined) throw new FusemlError('VALIDATION', `${at}: credentials ${cred} given twice`);
  checkDefaults(s, at);
}

/** At most one default credentials per service. */
export function checkDefaults(s: ServiceRecord, at = `service ${s.id}`): void {
  const defaults = (s.credentials ?? []).filter((c) => c.default === true);
  if (defaults.length > 1) {
    throw new FusemlError('VALIDATION', `${at}: ${defaults.length} credentials are marked default (${defaults.map((c) => c.id).join(', ')}); at most one may be`);
  }
}

function checkExtension(e: ExtensionRecord): void {
  const svc = dup((e.services ?? []).map((s) => s.id));
  if (svc !== undefined) throw new FusemlError('VALIDATION', `service ${svc} given twice`);
  (e.services ?? []).forEach((s, i) => checkService(s, `/services/${i}`));
}

/** Validates an id taken from a path or a query before it goes anywhere. */
export function checkId(id: string, what: string): string {
  if (!isRecordId(id)) {
    throw new FusemlError('VALIDATION', `${what} ${JSON.stringify(id.slice(0, 120))} ${ID_WORDS} (at most ${ID_MAX} characters)`);
  }
  return id;
}

const TWICE_ESCAPED = /^[A-Za-z][A-Za-z0-9+.-]*%3A/i;

/**
 * The endpoint URL of a path segment that the router has decoded once. Clients escape it once
 * (`http%3A%2F%2Fmlflow`) or, as fuseml-core's Go client does, twice (`http%253A%252F%252Fmlflow`:
 * query-escaped, then path-escaped again). The rule is unambiguous: after one decoding, a URL escaped
 * once starts with `scheme:`, one escaped twice with `scheme%3A` (a scheme is never followed by `%`);
 * only the latter is decoded once more, with query rules (`+` is a space), as fuseml-core does.
 */
export function endpointUrlFromPath(segment: string): string {
  if (!TWICE_ESCAPED.test(segment)) return checkEndpointUrl(segment);
  let url: string;
  try {
    url = decodeURIComponent(segment.replace(/\+/g, ' '));
  } catch {
    throw new FusemlError('VALIDATION', 'the endpoint url in the path is not a valid URL');
  }
  return checkEndpointUrl(url);
}

/** An endpoint url taken from a path: an absolute `scheme://` URL (as endpoint urls are) without control characters or spaces. */
export function checkEndpointUrl(url: string): string {
  // eslint-disable-next-line no-control-regex
  if (url.length === 0 || url.length > 2048 || !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) || /[\u0000-\u001f\u007f\s]/.test(url) || url.includes('\uFFFD')) {
    throw new FusemlError('VALIDATION', 'the endpoint url in the path is not a valid URL');
  }
  try {
    const u = new URL(url);
    if (!u.protocol) throw new Error('no scheme');
  } catch {
    throw new FusemlError('VALIDATION', 'the endpoint url in the path is not a valid URL');
  }
  return url;
}
