/**
 * Service Binding projection (https://servicebinding.io/spec/core): one
 * Kubernetes Secret per step requirement of a resolved workflow, of type
 * `servicebinding.io/<type>`, holding the well-known keys that apply (type,
 * provider, uri, host, port, username, password) plus the service's native
 * configuration keys. Pure: builds the Secret bodies; applying them is the
 * caller's business (src/kube).
 */
import { createHash } from 'node:crypto';
import type { Choice, Resolution } from '../core/resolve.js';

export const MANAGED_BY = 'fuseml';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_WORKFLOW = 'fuseml.io/workflow';
export const LABEL_STEP = 'fuseml.io/step';
export const LABEL_REQUIREMENT = 'fuseml.io/requirement';
export const ANNOTATION_EXTENSION = 'fuseml.io/extension';
export const ANNOTATION_SERVICE = 'fuseml.io/service';
export const ANNOTATION_CREDENTIALS = 'fuseml.io/credentials';
export const ANNOTATION_PROJECT = 'fuseml.io/project';

export const WELL_KNOWN_KEYS = ['type', 'provider', 'uri', 'host', 'port', 'username', 'password'] as const;

export interface BindingSecret {
  name: string;
  /** `servicebinding.io/<type>` */
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  stringData: Record<string, string>;
  /** Which step and requirement it binds. */
  step: string;
  requirement: string;
  /** Native keys not projected because they clash with a well-known key. */
  skipped: string[];
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** A DNS-1123 label (≤ 63) from any text; a hash suffix keeps shortened names distinct. */
export function dnsLabel(text: string, max = 63): string {
  const clean = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (clean.length <= max && clean === text) return clean || 'x';
  const head = clean.slice(0, max - 9).replace(/-+$/g, '');
  return `${head || 'x'}-${shortHash(text)}`;
}

/** A label value (≤ 63, alphanumeric at both ends, `-_.` inside). */
export function labelValue(text: string): string {
  if (/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(text) && text.length <= 63) return text;
  return dnsLabel(text);
}

/** The Secret name for one step requirement. */
export function bindingName(workflow: string, step: string, requirement: string): string {
  const raw = `${workflow}-${step}-${requirement}`;
  const clean = dnsLabel(raw, 253);
  return clean.length <= 63 ? clean : dnsLabel(raw, 63);
}

const USERNAME_KEY = /(^|_)(USER|USERNAME|ACCESS_KEY_ID|ACCESS_KEY)$/i;
const PASSWORD_KEY = /(^|_)(PASSWORD|SECRET_ACCESS_KEY|SECRET_KEY|SECRET|TOKEN)$/i;

function single(keys: string[], pattern: RegExp): string | undefined {
  const hits = keys.filter((k) => pattern.test(k));
  return hits.length === 1 ? hits[0] : undefined;
}

/** The well-known Service Binding entries that apply to one choice. */
export function wellKnownEntries(choice: Choice): Record<string, string> {
  const out: Record<string, string> = {
    type: choice.resource ?? choice.category ?? 'unknown',
    provider: choice.product ?? choice.extension_id,
    uri: choice.url,
  };
  try {
    const u = new URL(choice.url);
    if (u.hostname) out.host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port || ({ 'http:': '80', 'https:': '443' } as Record<string, string>)[u.protocol];
    if (port) out.port = port;
    if (u.username) out.username = decodeURIComponent(u.username);
    if (u.password) out.password = decodeURIComponent(u.password);
  } catch {
    // Not a URL (e.g. a bucket name): only uri applies.
  }
  const user = single(choice.secret_keys.filter((k) => !PASSWORD_KEY.test(k)), USERNAME_KEY);
  const pass = single(choice.secret_keys, PASSWORD_KEY);
  if (user && out.username === undefined) out.username = choice.configuration[user] as string;
  if (pass && out.password === undefined) out.password = choice.configuration[pass] as string;
  return out;
}

/** One Secret per step requirement of the resolution. */
export function bindingSecrets(resolution: Resolution): BindingSecret[] {
  const secrets: BindingSecret[] = [];
  for (const step of resolution.steps) {
    for (const choice of step.choices) {
      const wk = wellKnownEntries(choice);
      const stringData: Record<string, string> = { ...wk };
      const skipped: string[] = [];
      for (const [k, v] of Object.entries(choice.configuration)) {
        if (Object.prototype.hasOwnProperty.call(wk, k)) skipped.push(k);
        else stringData[k] = v;
      }
      const annotations: Record<string, string> = {
        [LABEL_WORKFLOW]: resolution.workflow,
        [LABEL_STEP]: step.name,
        [LABEL_REQUIREMENT]: choice.requirement,
        [ANNOTATION_EXTENSION]: choice.extension_id,
        [ANNOTATION_SERVICE]: choice.service_id,
        [ANNOTATION_PROJECT]: resolution.project,
      };
      if (choice.credentials_id !== undefined) annotations[ANNOTATION_CREDENTIALS] = choice.credentials_id;
      secrets.push({
        name: bindingName(resolution.workflow, step.name, choice.requirement),
        type: `servicebinding.io/${wk.type}`,
        labels: {
          [LABEL_MANAGED_BY]: MANAGED_BY,
          [LABEL_WORKFLOW]: labelValue(resolution.workflow),
          [LABEL_STEP]: labelValue(step.name),
          [LABEL_REQUIREMENT]: labelValue(choice.requirement),
        },
        annotations,
        stringData,
        step: step.name,
        requirement: choice.requirement,
        skipped,
      });
    }
  }
  return secrets;
}

/** The label selector of every binding Secret of a workflow (optionally one step). */
export function bindingSelector(workflow: string, step?: string): string {
  const parts = [`${LABEL_MANAGED_BY}=${MANAGED_BY}`, `${LABEL_WORKFLOW}=${labelValue(workflow)}`];
  if (step !== undefined) parts.push(`${LABEL_STEP}=${labelValue(step)}`);
  return parts.join(',');
}
