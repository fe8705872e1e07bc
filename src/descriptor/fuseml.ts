/**
 * Import of FuseML `description.yaml` files (fuseml/extensions format). Keys
 * are matched case-insensitively; the result has the shape of extension.yaml
 * (validated by the same schema) plus the registration record built from its
 * `services`, with `servicecredentials` transforms turned into outputs read
 * from Secrets. Unknown keys are kept so the schema reports them.
 *
 * FuseML's meaning of its looser forms (fuseml/fuseml, deployments/extensions.go):
 * - a key present with no value (`values:`, `namespace:`) is the same as absent;
 * - credentials without `scope` are global;
 * - `uninstall: [{type: helm}]` removes the release named after the extension;
 * - `waitfor` entries: `kind` defaults to pod, `condition` to Ready, `timeout` is
 *   in seconds, `selector: all` means every object of the kind; the older
 *   `waitfor: pods` (a kind name alone) means every pod of the step namespace;
 * - `location` (and a helm `values`) may be an http(s) URL: fetched at install;
 * - no `product`: the extension name; no `version`: 0.0.0 (FuseML registers empty strings).
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
    if (v === null) continue; // FuseML: a key with no value is an absent key
    const s = spec[k.toLowerCase()];
    if (s) out[s[0]] = canonical(v, s[1]);
    else out[k] = v; // unknown: kept for the schema to report
  }
  return out;
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Kinds FuseML's installer passes to `kubectl wait`, singular and plural, to the Kind our waits use. */
const KINDS: Record<string, string> = {
  pod: 'Pod', pods: 'Pod', deployment: 'Deployment', deployments: 'Deployment', statefulset: 'StatefulSet', statefulsets: 'StatefulSet',
  daemonset: 'DaemonSet', daemonsets: 'DaemonSet', job: 'Job', jobs: 'Job',
};
const kindOf = (k: string): string => KINDS[k.toLowerCase()] ?? capitalize(k);

function fixWaits(steps: unknown): void {
  if (!Array.isArray(steps)) return;
  for (const step of steps as Record<string, unknown>[]) {
    if (step === null || typeof step !== 'object') continue;
    // The older `waitfor: pods`: every object of that kind in the step namespace.
    if (typeof step.waitFor === 'string') step.waitFor = [{ kind: kindOf(step.waitFor), all: true }];
    const waits = step.waitFor;
    if (!Array.isArray(waits)) continue;
    for (const w of waits as Record<string, unknown>[]) {
      if (w === null || typeof w !== 'object') continue;
      w.kind = typeof w.kind === 'string' ? kindOf(w.kind) : (w.kind ?? 'Pod');
      if (typeof w.condition === 'string') w.condition = capitalize(w.condition);
      if (typeof w.timeout === 'number') w.timeout = `${w.timeout}s`;
      if (w.selector === 'all') {
        delete w.selector;
        w.all = true;
      }
    }
  }
}

/** An output name for a transform: letters, digits and `_` only. */
export function transformOutputName(serviceId: string, credentialsId: string, configValue: string): string {
  return [serviceId, credentialsId, configValue].map((s) => s.replace(/[^A-Za-z0-9_]/g, '_')).join('__');
}

/** The version of a description.yaml that gives none. */
export const UNKNOWN_VERSION = '0.0.0';

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
  // FuseML leaves them empty when absent (cert-manager, knative): the product is the extension, the version unknown.
  if (d.product === undefined && typeof d.name === 'string') d.product = d.name;
  if (d.version === undefined) d.version = UNKNOWN_VERSION;
  const services = d.services;
  const serviceCredentials = d.servicecredentials;
  delete d.services;
  delete d.servicecredentials;
  fixWaits(d.install);
  fixWaits(d.uninstall);

  let registration: RegistrationManifest | undefined;
  if (services !== undefined || serviceCredentials !== undefined) {
    registration = { services: Array.isArray(services) ? (structuredClone(services) as RegistrationManifest['services']) : (services as never) };
    // fuseml-core does not require a scope: none is global.
    for (const svc of Array.isArray(registration.services) ? registration.services : []) {
      for (const c of Array.isArray(svc?.credentials) ? svc.credentials : []) if (c && typeof c === 'object' && c.scope === undefined) c.scope = 'global';
    }
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
