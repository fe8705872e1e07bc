/**
 * Import of FuseML `description.yaml` files (fuseml/extensions format). Keys
 * are matched case-insensitively; the result has the shape of extension.yaml
 * (validated by the same schema) plus the registration record built from its
 * `services`, with `servicecredentials` transforms turned into outputs read
 * from Secrets. Unknown keys are kept so the schema reports them.
 */
import type { OutputSpec, RegistrationManifest } from '../core/extension.js';

type Spec = { [lower: string]: [canonical: string, child?: Spec | 'opaque'] };

const WAIT: Spec = { kind: ['kind'], name: ['name'], namespace: ['namespace'], condition: ['condition'], selector: ['selector'], timeout: ['timeout'] };
const STEP: Spec = {
  type: ['type'], location: ['location'], repo: ['repo'], chart: ['chart'], values: ['values'], version: ['version'],
  namespace: ['namespace'], waitfor: ['waitFor', WAIT], name: ['name'], release: ['release'], args: ['args'], timeout: ['timeout'],
};
const ENDPOINT: Spec = { url: ['url'], type: ['type'], configuration: ['configuration', 'opaque'] };
const CREDENTIALS: Spec = {
  id: ['id'], default: ['default'], scope: ['scope'], projects: ['projects'], users: ['users'], configuration: ['configuration', 'opaque'],
};
const SERVICE: Spec = {
  id: ['id'], resource: ['resource'], category: ['category'], description: ['description'], authrequired: ['auth_required'],
  endpoints: ['endpoints', ENDPOINT], credentials: ['credentials', CREDENTIALS], configuration: ['configuration', 'opaque'],
};
const TRANSFORM: Spec = { configvalue: ['configvalue'], secret: ['secret'], namespace: ['namespace'], secretvalue: ['secretvalue'] };
const SERVICE_CREDENTIALS: Spec = {
  serviceid: ['serviceid'],
  credentials: ['credentials', { id: ['id'], transform: ['transform', TRANSFORM] }],
};
const TOP: Spec = {
  name: ['name'], product: ['product'], version: ['version'], description: ['description'], namespace: ['namespace'],
  zone: ['zone'], requires: ['requires'], install: ['install', STEP], uninstall: ['uninstall', STEP],
  gateways: ['gateways', { name: ['name'], namespace: ['namespace'], port: ['port'], hostprefix: ['hostprefix'], servicehost: ['servicehost'] }],
  rolerules: ['rolerules', { apigroups: ['apigroups'], resources: ['resources'], verbs: ['verbs'] }],
  services: ['services', SERVICE],
  servicecredentials: ['servicecredentials', SERVICE_CREDENTIALS],
};

function canonical(value: unknown, spec: Spec | 'opaque' | undefined): unknown {
  if (spec === undefined || spec === 'opaque') return value;
  if (Array.isArray(value)) return value.map((v) => canonical(v, spec));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const s = spec[k.toLowerCase()];
    if (s) out[s[0]] = canonical(v, s[1]);
    else out[k] = v; // unknown: kept for the schema to report
  }
  return out;
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function fixWaits(steps: unknown): void {
  if (!Array.isArray(steps)) return;
  for (const step of steps) {
    const waits = (step as { waitFor?: unknown })?.waitFor;
    if (!Array.isArray(waits)) continue;
    for (const w of waits as Record<string, unknown>[]) {
      if (w === null || typeof w !== 'object') continue;
      w.kind = typeof w.kind === 'string' ? capitalize(w.kind) : (w.kind ?? 'Pod');
      if (typeof w.condition === 'string') w.condition = capitalize(w.condition);
      if (typeof w.timeout === 'number') w.timeout = `${w.timeout}s`;
    }
  }
}

/** An output name for a transform: letters, digits and `_` only. */
export function transformOutputName(serviceId: string, credentialsId: string, configValue: string): string {
  return [serviceId, credentialsId, configValue].map((s) => s.replace(/[^A-Za-z0-9_]/g, '_')).join('__');
}

export interface ImportedDescription {
  /** extension.yaml-shaped data (to be schema-validated). */
  descriptor: Record<string, unknown>;
  /** The registration record built from services / servicecredentials (to be schema-validated). */
  registration: RegistrationManifest | undefined;
}

export function importDescription(raw: unknown): ImportedDescription {
  const doc = canonical(raw, TOP);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { descriptor: doc as Record<string, unknown>, registration: undefined };
  const d = { ...(doc as Record<string, unknown>) };
  const services = d.services;
  const serviceCredentials = d.servicecredentials;
  delete d.services;
  delete d.servicecredentials;
  fixWaits(d.install);
  fixWaits(d.uninstall);

  let registration: RegistrationManifest | undefined;
  if (services !== undefined || serviceCredentials !== undefined) {
    registration = { services: Array.isArray(services) ? (structuredClone(services) as RegistrationManifest['services']) : (services as never) };
    for (const k of ['product', 'version', 'description', 'zone'] as const) {
      if (typeof d[k] === 'string') registration[k] = d[k] as string;
    }
  }

  const outputs: Record<string, OutputSpec> = {};
  if (Array.isArray(serviceCredentials) && registration?.services) {
    for (const sc of serviceCredentials as Array<{ serviceid?: string; credentials?: Array<{ id?: string; transform?: Array<Record<string, string>> }> }>) {
      const svc = registration.services.find((s) => s.id === sc?.serviceid);
      if (!svc || !Array.isArray(sc.credentials)) continue;
      for (const c of sc.credentials) {
        if (typeof c?.id !== 'string' || !Array.isArray(c.transform)) continue;
        svc.credentials ??= [];
        let cred = svc.credentials.find((x) => x.id === c.id);
        if (!cred) {
          cred = { id: c.id, scope: 'global' };
          svc.credentials.push(cred);
        }
        for (const t of c.transform) {
          if (!t?.configvalue || !t.secret || !t.secretvalue) continue;
          const name = transformOutputName(svc.id, c.id, t.configvalue);
          outputs[name] = { sensitive: true, secret: { name: t.secret, key: t.secretvalue, ...(t.namespace ? { namespace: t.namespace } : {}) } };
          cred.configuration = { ...cred.configuration, [t.configvalue]: `{{ outputs.${name} }}` };
        }
      }
    }
  }
  if (Object.keys(outputs).length > 0) d.outputs = outputs;
  return { descriptor: d, registration };
}
