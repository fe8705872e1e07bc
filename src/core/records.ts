/**
 * Registry records: the FuseML core `/extensions` model (snake_case on the wire),
 * extension → services → endpoints → credentials. The JSON Schema
 * schemas/extension-record.schema.json describes the same shape; a test keeps
 * the two from drifting apart.
 */

export const ENDPOINT_TYPES = ['internal', 'external'] as const;
export const CREDENTIAL_SCOPES = ['global', 'project', 'user'] as const;
export type EndpointType = (typeof ENDPOINT_TYPES)[number];
export type CredentialScope = (typeof CREDENTIAL_SCOPES)[number];

/** Free-form configuration: environment-style keys to string values. */
export type Configuration = Record<string, string>;

export interface EndpointRecord {
  url: string;
  /** Filled in by the registry from the path. */
  extension_id?: string;
  service_id?: string;
  type: EndpointType;
  configuration?: Configuration;
  /** fuseml-core's endpoint status (empty there); here it may carry the registry's last probe. */
  status?: EndpointStatus;
  /**
   * Set by the registry: bumped on every change of this record; sent on the endpoint's own routes only
   * (withoutNestedRevisions). An endpoint has no times (as in fuseml-core).
   */
  revision?: number;
}

export interface CredentialsRecord {
  id: string;
  extension_id?: string;
  service_id?: string;
  /** The credentials to use when several match (one per service). */
  default?: boolean;
  scope: CredentialScope;
  /** For scope `project`: the projects allowed to use them. */
  projects?: string[];
  /** For scope `user`: the users allowed to use them. */
  users?: string[];
  /** Secret values: read back as `<hidden>` unless the caller may see them. */
  configuration?: Configuration;
  /** fuseml-core's credentials status: set by the registry. */
  status?: CredentialsStatus;
  /** Set by the registry; sent on the credentials' own routes only (withoutNestedRevisions). */
  revision?: number;
}

export interface ServiceRecord {
  id: string;
  extension_id?: string;
  /** What kind of API it offers, e.g. `mlflow-tracking`, `s3`. */
  resource?: string;
  /** What it is for, e.g. `experiment-tracking`, `model-store`, `prediction-serving`. */
  category?: string;
  description?: string;
  auth_required?: boolean;
  /** Marks the default instance for its extension's product and this resource (only one). */
  default?: boolean;
  configuration?: Configuration;
  /** fuseml-core's service status: set by the registry. */
  status?: ServiceStatus;
  endpoints?: EndpointRecord[];
  credentials?: CredentialsRecord[];
  /** Set by the registry; sent on the service's own routes only (withoutNestedRevisions). */
  revision?: number;
}

/**
 * The outcome of the registry's last probe of an endpoint (docs/registry.md, "Endpoint probes"): set on reads
 * only, by the replica that answers, when it runs with --probe-interval; never stored, never taken from input.
 */
export interface ProbeStatus {
  /** The endpoint answered (HTTP: a status below 500; other schemes: a TCP connection). */
  ok: boolean;
  /** When the probe finished (RFC 3339). */
  at: string;
  /** Why it failed, e.g. `connection refused`; absent when ok. */
  error?: string;
}

/** fuseml-core's endpoint status: empty there ("can be extended" with operational status, its design says). */
export interface EndpointStatus {
  last_probe?: ProbeStatus;
}

/** fuseml-core's service status; the registry sets both times (recordTime's form). */
export interface ServiceStatus {
  registered?: string;
  updated?: string;
}

/** fuseml-core's credentials status; the registry sets both times. */
export interface CredentialsStatus {
  created?: string;
  updated?: string;
  /** Set on reads only (never stored): `undecryptable` when the stored values fail to decrypt. */
  state?: 'undecryptable';
}

export interface ExtensionStatus {
  /** fuseml-core: when the extension was registered / last updated (set by the registry). */
  registered?: string;
  updated?: string;
  installed?: boolean;
  /** Free text, e.g. `installed by fuseml-installer 0.1.0`. */
  message?: string;
}

export interface ExtensionRecord {
  id: string;
  product?: string;
  version?: string;
  description?: string;
  zone?: string;
  configuration?: Configuration;
  status?: ExtensionStatus;
  services?: ServiceRecord[];
  /**
   * Set by the registry (the only field added to fuseml-core's form: If-Match, ETag); each record has one, sent
   * only in the representation of that record (withoutNestedRevisions).
   */
  revision?: number;
}

/** The last whole second recordTime() formatted, and its text (every write of a second stamps the same). */
let lastSecond = Number.NaN;
let lastText = '';

/** A record time as fuseml-core sends it (Go's time.RFC3339): UTC, whole seconds, e.g. `2026-11-28T06:27:48Z`. */
export function recordTime(at?: Date): string {
  if (at !== undefined) return at.toISOString().replace(/\.\d+Z$/, 'Z');
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastText = new Date(second * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    lastSecond = second;
  }
  return lastText;
}

/**
 * The status field holding when a record was first stored, as fuseml-core names it: `created` for credentials,
 * `registered` for extensions and services (endpoints have no times). Both the registry and stored-form
 * conversions use it.
 */
export function firstStatusTime(kind: 'extension' | 'service' | 'credentials'): 'registered' | 'created' {
  return kind === 'credentials' ? 'created' : 'registered';
}

/**
 * Top-level record times written by fuseml-registry before they lived only in `status` (the same times twice):
 * accepted in request bodies and ignored (read-only), never sent, moved into `status` in stored documents.
 */
export const LEGACY_TIME_FIELDS = ['created', 'updated'] as const;

/**
 * An extension document as stored by an earlier fuseml-registry, in today's form (in place; returned): each
 * record's top-level `created` / `updated` moved into its status (`registered` or, for credentials, `created`;
 * and `updated`) where the status lacks them, then dropped; endpoints (no times in fuseml-core) just drop them.
 * Documents in today's form come back unchanged. Both stores use it: SQLite's migration, Kubernetes on read.
 */
export function withStatusTimes(doc: ExtensionRecord): ExtensionRecord {
  const move = (r: object, first: 'registered' | 'created' | undefined): void => {
    const o = r as Record<string, unknown>;
    if (o.created === undefined && o.updated === undefined) return;
    if (first !== undefined) {
      const status = { ...((o.status as Record<string, unknown> | undefined) ?? {}) };
      if (status[first] === undefined && o.created !== undefined) status[first] = o.created;
      if (status.updated === undefined && o.updated !== undefined) status.updated = o.updated;
      o.status = status;
    }
    delete o.created;
    delete o.updated;
  };
  move(doc, firstStatusTime('extension'));
  for (const s of doc.services ?? []) {
    move(s, firstStatusTime('service'));
    for (const e of s.endpoints ?? []) move(e, undefined);
    for (const c of s.credentials ?? []) move(c, firstStatusTime('credentials'));
  }
  return doc;
}

/**
 * The wire rule for revisions (docs/registry.md, "Revisions, If-Match"): a representation carries the revision of
 * the record it is about; the records nested inside it carry none. An extension's services, endpoints and
 * credentials, and a service's endpoints and credentials, are sent without `revision`; each one's revision is read
 * through its own route (its body and ETag). Stored documents keep every revision (If-Match on a nested route is
 * checked against it); only what is sent drops them. Works on the shape: an extension (`services`), a service
 * (`endpoints`, `credentials`), an endpoint or credential set (nothing nested: returned as it is).
 *
 * Returns a copy of the records that lose a field (the nested ones, and those holding them); `record` itself is
 * left as it is, and everything else is shared with it. Copies rather than `delete`: objects keep V8's fast
 * properties, which JSON.stringify serializes faster (the SQLite store builds its masked column with it on every
 * write).
 */
export function withoutNestedRevisions<T extends ExtensionRecord | ServiceRecord | EndpointRecord | CredentialsRecord>(record: T): T {
  const r = record as { services?: ServiceRecord[]; endpoints?: EndpointRecord[]; credentials?: CredentialsRecord[] };
  if (r.services !== undefined) return { ...record, services: r.services.map(nestedService) };
  if (r.endpoints === undefined && r.credentials === undefined) return record;
  const out = { ...record } as ServiceRecord;
  if (r.endpoints !== undefined) out.endpoints = r.endpoints.map(withoutRevision);
  if (r.credentials !== undefined) out.credentials = r.credentials.map(withoutRevision);
  return out as T;
}

/** A service inside an extension's representation: neither it nor what is nested in it carries a revision. */
function nestedService(s: ServiceRecord): ServiceRecord {
  return withoutNestedRevisions(withoutRevision(s));
}

function withoutRevision<T extends { revision?: number }>(r: T): T {
  const { revision: _revision, ...rest } = r;
  return rest as T;
}

/** What credential values read back as for callers not allowed to see them. */
export const HIDDEN = '<hidden>';

/** Extension, service and credential ids in the registry (fuseml-core). */
export const ID_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_-]*$';
export const ID_MAX = 100;
const ID_RE = new RegExp(ID_PATTERN);
/** The words for an id that breaks the rule (JSON Schema errors on ID_PATTERN say the same). */
export const ID_WORDS = 'must be an id: letters, digits, "_" and "-", not starting with "-"';

/** The one id rule for extension, service and credential ids. */
export function isRecordId(id: string): boolean {
  return id.length > 0 && id.length <= ID_MAX && ID_RE.test(id);
}
