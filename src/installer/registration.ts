/**
 * Registration records: the extension's registration manifest rendered with
 * its outputs and parameters into a registry ExtensionRecord. Pure; used by
 * the installer and by manual registration (`extensions register`).
 */
import { createHash } from 'node:crypto';
import { FusemlError } from '../core/errors.js';
import type { Extension, RegistrationManifest, Scalar } from '../core/extension.js';
import { ID_MAX, ID_PATTERN, isRecordId, type ExtensionRecord } from '../core/records.js';
import { MASK, redact } from '../core/redact.js';
import { renderAll, type Lookup } from '../core/template.js';

export interface RegistrationOptions {
  /** Registry id of the extension (default: the manifest's id, else the extension name). */
  id?: string | undefined;
  /** Zone (default: the manifest's zone, else the extension's). */
  zone?: string | undefined;
  /** The status message stored with the record. */
  message?: string | undefined;
  /**
   * Renders `{{ outputs.x }}` as `<outputs.x>` instead of failing when an
   * output is not known yet (dry runs).
   */
  placeholders?: boolean | undefined;
}

/** The lookup of `{{ params.x }}`, `{{ outputs.x }}` and `{{ extension.name|namespace|product|version }}`. */
export function extensionLookup(
  ext: Extension,
  params: Readonly<Record<string, Scalar>>,
  outputs?: Readonly<Record<string, string>>,
  opts: { namespace?: string; placeholders?: boolean } = {},
): Lookup {
  return (path) => {
    const [root, name, ...rest] = path.split('.');
    if (name === undefined || rest.length > 0) throw new Error('unknown reference: expected params.NAME, outputs.NAME or extension.FIELD');
    if (root === 'params') {
      if (!(name in ext.parameters)) throw new Error(`unknown reference: no parameter "${name}" is declared (declared: ${Object.keys(ext.parameters).sort().join(', ') || 'none'})`);
      const v = params[name];
      if (v === undefined) throw new Error(`parameter "${name}" has no value`);
      return String(v);
    }
    if (root === 'outputs') {
      if (!outputs) throw new Error('outputs are not available here');
      const v = outputs[name];
      if (v !== undefined) return v;
      if (opts.placeholders && name in ext.outputs) return `<outputs.${name}>`;
      throw new Error(`unknown reference: no output "${name}" (declared: ${Object.keys(ext.outputs).sort().join(', ') || 'none'})`);
    }
    if (root === 'extension') {
      if (name === 'name') return ext.name;
      if (name === 'product') return ext.product;
      if (name === 'version') return ext.version;
      if (name === 'namespace') {
        if (opts.namespace === undefined) throw new Error('the namespace is not known here');
        return opts.namespace;
      }
      throw new Error('unknown reference: extension has name, namespace, product, version');
    }
    throw new Error('unknown reference: expected params.NAME, outputs.NAME or extension.FIELD');
  };
}

/** Renders every string of a JSON-like value; all bad references reported at once. */
export function renderDeep<T>(value: T, lookup: Lookup): T {
  const templates: Record<string, string> = {};
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'string') templates[path] = v;
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  };
  walk(value, '');
  const rendered = renderAll(templates, lookup);
  const rebuild = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') return rendered[path];
    if (Array.isArray(v)) return v.map((x, i) => rebuild(x, `${path}[${i}]`));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rebuild(x, path ? `${path}.${k}` : k)]));
    return v;
  };
  return rebuild(value, '') as T;
}


/** What an install record keeps of the registry record it delivered (RegistrationState.digest): sha256 of its JSON. */
export function registrationDigest(record: ExtensionRecord): string {
  return createHash('sha256').update(JSON.stringify(record)).digest('hex');
}

/**
 * The registry record of an installed extension. Throws a VALIDATION error
 * listing every unknown reference. Returns undefined when the extension
 * registers nothing.
 */
export function renderRegistration(
  ext: Extension,
  params: Readonly<Record<string, Scalar>>,
  outputs: Readonly<Record<string, string>>,
  opts: RegistrationOptions & { namespace?: string } = {},
): ExtensionRecord | undefined {
  const manifest: RegistrationManifest | undefined = ext.registration;
  if (!manifest) return undefined;
  const lookup = extensionLookup(ext, params, outputs, { namespace: opts.namespace ?? ext.namespace, placeholders: opts.placeholders ?? false });
  const m = renderDeep(manifest, lookup);
  const id = opts.id ?? m.id ?? ext.name;
  if (!isRecordId(id)) {
    throw new FusemlError('VALIDATION', `registry id "${id}" of extension ${ext.name} is invalid (expected ${ID_PATTERN}, at most ${ID_MAX} characters)`);
  }
  const zone = opts.zone ?? m.zone ?? ext.zone;
  const record: ExtensionRecord = {
    id,
    product: m.product ?? ext.product,
    version: m.version ?? ext.version,
    description: m.description ?? ext.description,
    ...(zone ? { zone } : {}),
    ...(m.configuration ? { configuration: m.configuration } : {}),
    status: { installed: true, message: opts.message ?? `installed by fuseml-installer (extension ${ext.name})` },
    services: (m.services ?? []).map((s) => ({
      id: s.id,
      ...(s.resource !== undefined ? { resource: s.resource } : {}),
      ...(s.category !== undefined ? { category: s.category } : {}),
      ...(s.description !== undefined ? { description: s.description } : {}),
      ...(s.auth_required !== undefined ? { auth_required: s.auth_required } : {}),
      ...(s.default !== undefined ? { default: s.default } : {}),
      ...(s.configuration ? { configuration: s.configuration } : {}),
      endpoints: (s.endpoints ?? []).map((e) => ({ url: e.url, type: e.type, ...(e.configuration ? { configuration: e.configuration } : {}) })),
      credentials: (s.credentials ?? []).map((c) => ({
        id: c.id,
        scope: c.scope,
        ...(c.default !== undefined ? { default: c.default } : {}),
        ...(c.projects ? { projects: c.projects } : {}),
        ...(c.users ? { users: c.users } : {}),
        ...(c.configuration ? { configuration: c.configuration } : {}),
      })),
    })),
  };
  return record;
}

/** A copy fit for printing: credential values masked, and every known secret value masked anywhere. */
export function maskRecord(record: ExtensionRecord, secrets: Iterable<string>): ExtensionRecord {
  const list = [...secrets];
  const masked = JSON.parse(redact(JSON.stringify(record), list.map((s) => JSON.stringify(s).slice(1, -1)))) as ExtensionRecord;
  for (const s of masked.services ?? []) {
    for (const c of s.credentials ?? []) {
      if (c.configuration) c.configuration = Object.fromEntries(Object.keys(c.configuration).map((k) => [k, MASK]));
    }
  }
  return masked;
}
