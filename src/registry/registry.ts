/**
 * The registry's semantics over a Store: fuseml-core's routes (create = 409
 * when the id exists, PUT = partial update, 404 when absent), per-record
 * revisions and If-Match, the idempotent whole-record upsert used by the
 * installer, id generation, credential masking and scoped reveal.
 *
 * Every record carries `revision`; extensions, services and credentials carry
 * fuseml-core's status times (`registered` or `created`, and `updated`: RFC 3339,
 * UTC, whole seconds), once. A change bumps the revision and `updated` of the
 * changed record and of each record above it (a service's revision covers its
 * endpoints and credentials; an extension's covers all). Stored documents keep
 * every revision; what the public methods return follows the wire rule
 * (withoutNestedRevisions): a record's revision, none on the records nested in it.
 */
import { randomBytes } from 'node:crypto';
import { FusemlError } from '../core/errors.js';
import {
  HIDDEN,
  LEGACY_TIME_FIELDS,
  firstStatusTime,
  recordTime,
  type Configuration,
  type CredentialsRecord,
  type EndpointRecord,
  type ExtensionRecord,
  type ServiceRecord,
  withoutNestedRevisions,
} from '../core/records.js';
import { keepHandSetFields } from '../core/merge.js';
import { serviceSelectorsMatch } from '../core/resolve.js';
import { admitsNobody, describeScope, grantAllows, sameScope } from '../core/scope.js';
import { versionMatcher } from '../core/version.js';
import { PreconditionFailedError } from './errors.js';
import { ReadCache } from './read-cache.js';
import { type CredentialScopeFilter, type ReadOptions, type Store, type StoreFilter } from './store/types.js';
import { PATCHABLE, checkDefaults, validateRecord } from './validate.js';

export interface RegistryQuery extends StoreFilter {
  /** A version selector (src/core/version.ts): `1.19.2`, `1.19` (1.19.x), `>=1.0,<1.1`; malformed → VALIDATION. */
  version?: string | undefined;
}

/** Who writes: named in audit lines; `mayReveal` says whether it may read a credential set's values. */
export interface Actor {
  name: string;
  mayReveal(credentials: CredentialsRecord): boolean;
}

/** One audit line: a credential set's scope, users or projects changed (names only, never values). */
export interface AuditEvent {
  action: 'credentials-rescope';
  actor: string;
  extension_id: string;
  service_id: string;
  credentials_id: string;
  from: string;
  to: string;
}

/** Writes made by the registry itself or by tests without a caller: may do anything. */
const SYSTEM: Actor = { name: 'system', mayReveal: () => true };

export const QUERY_FIELDS = ['extension_id', 'product', 'version', 'zone', 'service_id', 'service_resource', 'service_category'] as const;

/** Which credential values a read returns in clear. */
export type Reveal = { kind: 'none' } | { kind: 'all' } | { kind: 'scope'; scope: CredentialScopeFilter };
export const REVEAL_NONE: Reveal = { kind: 'none' };

function readOptions(reveal: Reveal): ReadOptions {
  if (reveal.kind === 'all') return { reveal: true };
  if (reveal.kind === 'scope') return { reveal: (c) => grantAllows(c, reveal.scope) };
  return { reveal: false };
}

/** Parses an If-Match header (`"3"`, `W/"3"`, `3` or `*`) into a revision; undefined for none or `*`. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*' || header.trim() === '') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m) throw new FusemlError('VALIDATION', 'If-Match must be a revision, e.g. "3"');
  return Number(m[1]);
}

function checkRevision(what: string, current: number | undefined, expected: number | undefined): void {
  if (expected !== undefined && (current ?? 1) !== expected) {
    throw new PreconditionFailedError(`${what} is at revision ${current ?? 1}, not ${expected}`);
  }
}

function slug(text: string | undefined): string {
  return (text ?? '').toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+|[-]+$/g, '').slice(0, 80);
}

/** fuseml-core's random id suffix: 8 characters of Kubernetes' random-name alphabet (lowercase, no vowels). */
const ID_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  const bytes = randomBytes(16);
  let out = '';
  // 27 letters: take bytes below 243 (9 × 27) so that every letter is equally likely.
  for (const b of bytes) {
    if (b < 243) out += ID_ALPHABET[b % 27];
    if (out.length === 8) return out;
  }
  return out + randomSuffix().slice(0, 8 - out.length);
}

/**
 * A generated id in fuseml-core's format: `<prefix>-<8 random characters>`, or the 8 characters alone when
 * there is no prefix. fuseml-core's prefixes: the product for an extension; the resource (else
 * `<product>-service`) for a service; the service's resource (else `creds`) for credentials.
 */
export function generateId(prefix: string | undefined): string {
  const p = slug(prefix);
  return p ? `${p}-${randomSuffix()}` : randomSuffix();
}

type Kind = 'extension' | 'service' | 'endpoint' | 'credentials';

/**
 * fuseml-core's input defaults, where it is looser than our schema: credentials without a scope are
 * global, endpoints without a type are external.
 */
function inputDefaults(kind: Kind, body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const b = body as Record<string, unknown>;
  if (kind === 'credentials' && b.scope === undefined) return { ...b, scope: 'global' };
  if (kind === 'endpoint' && b.type === undefined) return { ...b, type: 'external' };
  return body;
}

/**
 * What fuseml-core always sends where we would leave a field out: `services`, `endpoints`, `credentials`
 * as arrays, credentials' `default` as a boolean, an endpoint's `status` as `{}`. Not `auth_required`:
 * absent means "needed when credentials are registered" (fuseml-core's rule) and `false` "optional"
 * to the resolver (src/core/resolve.ts), so an absent value is never turned into `false`.
 */
function outputDefaults<T extends object>(r: T, kind: Kind): T {
  const o = r as Record<string, unknown>;
  if (kind === 'extension') o.services ??= [];
  if (kind === 'service') {
    o.endpoints ??= [];
    o.credentials ??= [];
  }
  if (kind === 'endpoint') o.status ??= {};
  if (kind === 'credentials') o.default ??= false;
  return r;
}

/**
 * The services a listing keeps under its service filters (undefined: no service filter, all of them): the rule a
 * workflow requirement's service selectors follow (serviceSelectorsMatch, src/core/resolve.ts).
 */
function servicesKept(filter: StoreFilter): ((s: ServiceRecord) => boolean) | undefined {
  if (filter.service_id === undefined && filter.service_resource === undefined && filter.service_category === undefined) return undefined;
  return (s) => serviceSelectorsMatch(filter, s);
}

/** Status fields the registry sets (times, and `state` / `last_probe` on reads): never taken from input. */
const STATUS_TIMES = ['registered', 'created', 'updated', 'state', 'last_probe'];

/** A record's `status` without the registry-set times (undefined when nothing else is left). */
function userStatus(status: unknown): Record<string, unknown> | undefined {
  if (!status || typeof status !== 'object') return undefined;
  const out = Object.fromEntries(Object.entries(status).filter(([k]) => !STATUS_TIMES.includes(k)));
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Content of a record without the registry's bookkeeping, for "did it change" checks. */
function content(r: object): string {
  const status = userStatus((r as { status?: unknown }).status);
  r = { ...r, status };
  const skip = new Set(['revision', ...LEGACY_TIME_FIELDS, 'extension_id', 'service_id', 'services', 'endpoints', 'credentials']);
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(sorted(Object.fromEntries(Object.entries(r).filter(([k]) => !skip.has(k)))));
}

function stripMeta<T extends object>(r: T): T {
  const out = { ...r } as Record<string, unknown>;
  // Read-only fields (and the top-level times earlier versions sent, which old clients may send back): ignored.
  for (const k of ['revision', ...LEGACY_TIME_FIELDS, 'extension_id', 'service_id']) delete out[k];
  if ('status' in out) {
    const status = userStatus(out.status);
    if (status) out.status = status;
    else delete out.status;
  }
  return out as T;
}

type Timed = { status?: { registered?: string; created?: string; updated?: string } };

/**
 * fuseml-core's status times (the record's only times): the first one (`registered`, for credentials `created`)
 * kept from `prev`, `updated` set to `updated` (kept from `prev` when undefined). Endpoints have none (`{}`).
 */
function setStatusTimes(r: Timed, prev: Timed | undefined, updated: string | undefined, now: string, kind: Kind): void {
  if (kind === 'endpoint') {
    r.status ??= {};
    return;
  }
  const first = firstStatusTime(kind);
  r.status = { ...userStatus(r.status), [first]: prev?.status?.[first] ?? now, updated: updated ?? prev?.status?.updated ?? now };
}

/** `<hidden>` in a submitted credential value keeps the stored value (a record read back can be sent again). */
function mergeHidden(submitted: Configuration | undefined, stored: Configuration | undefined, at: string): Configuration | undefined {
  if (!submitted) return submitted;
  const out: Configuration = {};
  for (const [k, v] of Object.entries(submitted)) {
    if (v === HIDDEN) {
      const old = stored?.[k];
      if (old === undefined) throw new FusemlError('VALIDATION', `${at}: configuration ${k} is "${HIDDEN}" but no value is stored for it`);
      out[k] = old;
    } else out[k] = v;
  }
  return out;
}

/** Whether a submitted configuration carries values (not only `<hidden>` placeholders): such a write always counts as a change. */
function submitsValues(submitted: Configuration | undefined): boolean {
  return submitted !== undefined && Object.values(submitted).some((v) => v !== HIDDEN);
}

/**
 * The rule for changing who may use a credential set (docs/registry.md, "Re-scoping credentials"): a new scope,
 * users or projects that would keep the stored values (not all of them sent again) needs an actor that may read
 * those values; every accepted change is audited.
 */
interface ScopeChange {
  prev: CredentialsRecord;
  next: CredentialsRecord;
  /** The new record keeps (some of) the stored values rather than carrying only values sent with the write. */
  keepsStoredValues: boolean;
  extId: string;
  serviceId: string;
}

type Stamp = { now: string; actor: Actor; audits: AuditEvent[] };

function checkScopeChange(c: ScopeChange, s: Stamp): void {
  if (sameScope(c.prev, c.next)) return;
  const storedValues = Object.keys(c.prev.configuration ?? {}).length > 0;
  // Narrowing to nobody (as fuseml-core's CLI does with --scope and no list) exposes nothing: allowed.
  if (storedValues && c.keepsStoredValues && !admitsNobody(c.next) && !s.actor.mayReveal(c.prev)) {
    throw new FusemlError(
      'FORBIDDEN',
      `credentials ${c.prev.id} of service ${c.serviceId}: changing scope, users or projects (${describeScope(c.prev)} → ${describeScope(c.next)}) needs the right to read their values, or all values sent again`,
      { hint: 'send every configuration value with the change, or ask an admin' },
    );
  }
  s.audits.push({
    action: 'credentials-rescope',
    actor: s.actor.name,
    extension_id: c.extId,
    service_id: c.serviceId,
    credentials_id: c.prev.id,
    from: describeScope(c.prev),
    to: describeScope(c.next),
  });
}

/** Bookkeeping for a record in a new document, given its previous version (if any). */
function stamp<T extends { revision?: number; status?: object }>(next: T, prev: T | undefined, changed: boolean, s: Stamp, kind: Kind): T {
  if (!prev) next.revision = 1;
  else next.revision = changed ? (prev.revision ?? 1) + 1 : (prev.revision ?? 1);
  setStatusTimes(next as Timed, prev as Timed | undefined, !prev || changed ? s.now : undefined, s.now, kind);
  return next;
}

/** Builds a whole new service (with endpoints and credentials) from input, reusing bookkeeping of `prev`. */
function buildService(extId: string, input: ServiceRecord, prev: ServiceRecord | undefined, s: Stamp): { service: ServiceRecord; changed: boolean } {
  const svc: ServiceRecord = outputDefaults({ ...stripMeta(input), extension_id: extId }, 'service');
  let childChanged = false;
  const prevEndpoints = new Map((prev?.endpoints ?? []).map((e) => [e.url, e]));
  const prevCreds = new Map((prev?.credentials ?? []).map((c) => [c.id, c]));
  if (input.endpoints !== undefined) {
    svc.endpoints = input.endpoints.map((e) => {
      const p = prevEndpoints.get(e.url);
      const ep: EndpointRecord = outputDefaults({ ...stripMeta(e), extension_id: extId, service_id: svc.id }, 'endpoint');
      const changed = !p || content(p) !== content(ep);
      childChanged ||= changed;
      return stamp(ep, p, changed, s, 'endpoint');
    });
  }
  if (input.credentials !== undefined) {
    svc.credentials = input.credentials.map((c) => {
      const p = prevCreds.get(c.id);
      const cr: CredentialsRecord = outputDefaults({ ...stripMeta(c), extension_id: extId, service_id: svc.id }, 'credentials');
      const cfg = mergeHidden(c.configuration, p?.configuration, `credentials ${c.id}`);
      if (cfg !== undefined) cr.configuration = cfg;
      if (p) checkScopeChange({ prev: p, next: cr, keepsStoredValues: Object.values(c.configuration ?? {}).includes(HIDDEN), extId, serviceId: svc.id }, s);
      const changed = !p || submitsValues(c.configuration) || content(p) !== content(cr);
      childChanged ||= changed;
      return stamp(cr, p, changed, s, 'credentials');
    });
  }
  const removed =
    [...prevEndpoints.keys()].some((u) => !(svc.endpoints ?? []).some((e) => e.url === u)) ||
    [...prevCreds.keys()].some((id) => !(svc.credentials ?? []).some((c) => c.id === id));
  const changed = !prev || childChanged || removed || content(prev) !== content(svc);
  return { service: stamp(svc, prev, changed, s, 'service'), changed };
}

function findService(doc: ExtensionRecord, serviceId: string): ServiceRecord {
  const s = doc.services?.find((x) => x.id === serviceId);
  if (!s) throw new FusemlError('NOT_FOUND', `service ${serviceId} not found in extension ${doc.id}`);
  return s;
}

function findEndpoint(svc: ServiceRecord, url: string): EndpointRecord {
  const e = svc.endpoints?.find((x) => x.url === url);
  if (!e) throw new FusemlError('NOT_FOUND', `endpoint ${url} not found in service ${svc.id}`);
  return e;
}

function findCredentials(svc: ServiceRecord, id: string): CredentialsRecord {
  const c = svc.credentials?.find((x) => x.id === id);
  if (!c) throw new FusemlError('NOT_FOUND', `credentials ${id} not found in service ${svc.id}`);
  return c;
}

/** A change of `r` or of a record below it: a new revision, and a new `status.updated` (endpoints have none). */
function touch(r: { revision?: number; status?: object }, s: Stamp): void {
  r.revision = (r.revision ?? 1) + 1;
  if (r.status && 'updated' in r.status) r.status = { ...r.status, updated: s.now };
}

function applyPatch<T extends object>(target: T, patch: Record<string, unknown>, fields: readonly string[]): boolean {
  const before = content(target);
  const t = target as Record<string, unknown>;
  for (const f of fields) {
    if (!(f in patch)) continue;
    if (f === 'status') {
      // Only the caller's own status fields change; the registry's times stay.
      const times = Object.fromEntries(Object.entries((t.status as object | undefined) ?? {}).filter(([k]) => STATUS_TIMES.includes(k)));
      t.status = { ...userStatus(patch.status), ...times };
    } else t[f] = patch[f];
  }
  return content(target) !== before;
}

function checkPathField(body: Record<string, unknown>, field: string, value: string): void {
  if (body[field] !== undefined && body[field] !== value) {
    throw new FusemlError('VALIDATION', `${field} ${JSON.stringify(body[field])} in the body does not match ${JSON.stringify(value)} in the path`);
  }
}

/**
 * Read-only statuses laid over records on reads (./probe.ts's EndpointProber): never part of a write. Reads
 * get them (listings, gets, the resolver's view); writes and what they return do not.
 */
export interface ReadOverlay {
  annotate(record: ExtensionRecord): ExtensionRecord;
  /** False when annotate would change nothing (stored JSON may then be served as it is). */
  active(): boolean;
  /** Calls back with each extension whose annotation changed (the read cache then drops its bodies). */
  onChange?(listener: (extensionId: string) => void): () => void;
}

export interface UpsertResult {
  record: ExtensionRecord;
  created: boolean;
  changed: boolean;
}

export class Registry {
  /**
   * Serialized masked representations by extension id and revision (./read-cache.ts): kept in step with every
   * write below; undefined when the store cannot tell about other writers (no `dataVersion`).
   */
  readonly readCache: ReadCache | undefined;

  constructor(
    readonly store: Store,
    /** Record times; fuseml-core's form (recordTime: RFC 3339, UTC, whole seconds). */
    private readonly clock: () => string = () => recordTime(),
    /** Receives an audit event after each accepted scope change of a credential set. */
    private readonly audit?: (event: AuditEvent) => void,
    /** Endpoint probe statuses shown on reads (`fuseml-registry serve --probe-interval`). */
    private readonly overlay?: ReadOverlay,
  ) {
    const version = store.dataVersion?.bind(store);
    this.readCache = version ? new ReadCache(version) : undefined;
    // Cached bodies carry the probe statuses of their time: a new status drops them.
    overlay?.onChange?.((id) => this.readCache?.invalidate(id));
  }

  /** The store's put; the read cache forgets the extension once the write settled (before it is answered). */
  async #put(record: ExtensionRecord, expectedRevision: number | null): Promise<ExtensionRecord> {
    return (await this.#putMasked(record, expectedRevision)).record;
  }

  /** #put, with the store's serialized masked document when it makes one (Store.putMasked). */
  async #putMasked(record: ExtensionRecord, expectedRevision: number | null): Promise<{ record: ExtensionRecord; masked?: string }> {
    try {
      return this.store.putMasked ? await this.store.putMasked(record, expectedRevision) : { record: await this.store.put(record, expectedRevision) };
    } finally {
      this.readCache?.invalidate(record.id);
    }
  }

  /** The store's delete, with the same cache invalidation as #put. */
  async #delete(id: string, expectedRevision?: number): Promise<void> {
    try {
      await this.store.delete(id, expectedRevision);
    } finally {
      this.readCache?.invalidate(id);
    }
  }

  #annotate(records: ExtensionRecord[]): ExtensionRecord[] {
    const o = this.overlay;
    return o === undefined ? records : records.map((r) => o.annotate(r));
  }

  // ---- reads ---------------------------------------------------------------------------------

  async listExtensions(query: RegistryQuery, reveal: Reveal = REVEAL_NONE): Promise<ExtensionRecord[]> {
    const { version, ...filter } = query;
    let records = await this.store.list(filter, readOptions(reveal));
    if (version !== undefined) {
      const matches = versionMatcher(version);
      records = records.filter((r) => matches(r.version));
    }
    const keep = servicesKept(filter);
    if (keep) {
      for (const r of records) r.services = (r.services ?? []).filter(keep);
    }
    return this.#annotate(records.map(withoutNestedRevisions));
  }

  /**
   * The masked listing as JSON text (the store's masked form follows the wire rule: no nested revisions), when
   * the store offers it and no probe status is to be laid over; undefined otherwise (use listExtensions). Without
   * a service filter the stored texts are sent as they are; with one, each is parsed, pruned to the services the
   * filter keeps (listExtensions' rule) and serialized again — still no credential to unseal.
   */
  async listExtensionsJson(query: RegistryQuery): Promise<string | undefined> {
    const { version, ...filter } = query;
    if (!this.store.listMasked || this.overlay?.active() === true) return undefined;
    let rows = await this.store.listMasked(filter);
    if (version !== undefined) {
      const matches = versionMatcher(version);
      rows = rows.filter((r) => matches(r.version ?? undefined));
    }
    const keep = servicesKept(filter);
    if (!keep) return `[${rows.map((r) => r.json).join(',')}]`;
    return `[${rows
      .map((r) => {
        const record = JSON.parse(r.json) as ExtensionRecord;
        record.services = (record.services ?? []).filter(keep);
        return JSON.stringify(record);
      })
      .join(',')}]`;
  }

  /**
   * For the workflow resolver: the records matching `query`, whole. The values of the credentials usable in
   * `scope` are in clear for the services `wanted` accepts, and only those are decrypted; every other credential
   * set reads with `<hidden>` values, so the resolver sees that it exists (a service needing credentials the
   * caller lacks is skipped, not returned bare) and cannot use it.
   */
  async listForResolution(query: RegistryQuery, scope: CredentialScopeFilter, wanted: (service: Pick<ServiceRecord, 'id' | 'resource' | 'category'>) => boolean = () => true): Promise<ExtensionRecord[]> {
    const { version, ...filter } = query;
    const matches = version === undefined ? undefined : versionMatcher(version);
    let records = await this.store.list(filter, { reveal: (c, s) => wanted(s) && grantAllows(c, scope), version: matches });
    if (matches) records = records.filter((r) => matches(r.version));
    return this.#annotate(records);
  }

  /** The stored document (every revision in it), with the read overlay. */
  async #document(id: string, reveal: Reveal): Promise<ExtensionRecord> {
    const r = await this.store.get(id, readOptions(reveal));
    if (!r) throw new FusemlError('NOT_FOUND', `extension ${id} not found`);
    return this.overlay === undefined ? r : this.overlay.annotate(r);
  }

  async #service(extId: string, serviceId: string, reveal: Reveal): Promise<ServiceRecord> {
    return findService(await this.#document(extId, reveal), serviceId);
  }

  async getExtension(id: string, reveal: Reveal = REVEAL_NONE): Promise<ExtensionRecord> {
    return withoutNestedRevisions(await this.#document(id, reveal));
  }

  async listServices(extId: string, reveal: Reveal = REVEAL_NONE): Promise<ServiceRecord[]> {
    return ((await this.#document(extId, reveal)).services ?? []).map(withoutNestedRevisions);
  }

  async getService(extId: string, serviceId: string, reveal: Reveal = REVEAL_NONE): Promise<ServiceRecord> {
    return withoutNestedRevisions(await this.#service(extId, serviceId, reveal));
  }

  async listEndpoints(extId: string, serviceId: string): Promise<EndpointRecord[]> {
    return (await this.#service(extId, serviceId, REVEAL_NONE)).endpoints ?? [];
  }

  async getEndpoint(extId: string, serviceId: string, url: string): Promise<EndpointRecord> {
    return findEndpoint(await this.#service(extId, serviceId, REVEAL_NONE), url);
  }

  async listCredentials(extId: string, serviceId: string, reveal: Reveal = REVEAL_NONE): Promise<CredentialsRecord[]> {
    return (await this.#service(extId, serviceId, reveal)).credentials ?? [];
  }

  async getCredentials(extId: string, serviceId: string, id: string, reveal: Reveal = REVEAL_NONE): Promise<CredentialsRecord> {
    return findCredentials(await this.#service(extId, serviceId, reveal), id);
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * Read-modify-write of one extension document. `change` works on a copy (values in clear) and
   * returns whether anything changed; the store's compare-and-swap makes it one transaction, retried
   * when another writer got in between.
   */
  readonly #locks = new Map<string, Promise<unknown>>();

  /**
   * Runs writes to one extension one after the other within this process, so concurrent requests do not
   * race each other's compare-and-swap (writers in other processes still can: they get retried or 412).
   */
  async #serialized<T>(extId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(extId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(extId, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(extId) === tail) this.#locks.delete(extId);
    }
  }

  async #mutate(extId: string, change: (doc: ExtensionRecord, s: Stamp) => boolean, actor: Actor = SYSTEM): Promise<ExtensionRecord> {
    return this.#serialized(extId, () => this.#mutateNow(extId, change, actor));
  }

  async #mutateNow(extId: string, change: (doc: ExtensionRecord, s: Stamp) => boolean, actor: Actor): Promise<ExtensionRecord> {
    for (let attempt = 0; ; attempt++) {
      const doc = await this.store.get(extId, { reveal: true });
      if (!doc) throw new FusemlError('NOT_FOUND', `extension ${extId} not found`);
      const s: Stamp = { now: this.clock(), actor, audits: [] };
      const next = structuredClone(doc);
      if (!change(next, s)) return this.#masked(doc);
      touch(next, s);
      try {
        const stored = this.#masked(await this.#put(next, doc.revision ?? 1));
        this.#emit(s);
        return stored;
      } catch (err) {
        if (err instanceof PreconditionFailedError && attempt < 4) continue;
        throw err;
      }
    }
  }

  #emit(s: Stamp): void {
    for (const e of s.audits) this.audit?.(e);
  }

  #masked(r: ExtensionRecord): ExtensionRecord {
    for (const s of r.services ?? []) {
      for (const c of s.credentials ?? []) {
        if (c.configuration) c.configuration = Object.fromEntries(Object.keys(c.configuration).map((k) => [k, HIDDEN]));
      }
    }
    return r;
  }

  async createExtension(body: unknown): Promise<ExtensionRecord> {
    return withoutNestedRevisions((await this.#create(body)).stored);
  }

  /**
   * createExtension, its answer serialized as JSON: the store's masked text of the new document when the store
   * gives it (Store.putMasked: the same text a listing sends), so the record is not serialized twice.
   */
  async createExtensionJson(body: unknown): Promise<{ id: string; revision: number; json: string }> {
    const { stored, masked } = await this.#create(body);
    return { id: stored.id, revision: stored.revision ?? 1, json: masked ?? JSON.stringify(withoutNestedRevisions(stored)) };
  }

  async #create(body: unknown): Promise<{ stored: ExtensionRecord; masked: string | undefined }> {
    const input = this.#withNestedIds(this.#withId(body, (b) => generateId(typeof b.product === 'string' ? b.product : undefined)));
    validateRecord('extension', input);
    const rec = this.#build(input as ExtensionRecord, undefined, SYSTEM).record;
    const { record, masked } = await this.#serialized(rec.id, () => this.#putMasked(rec, null));
    const stored = this.#masked(record);
    await this.#clearOtherDefaults(stored);
    return { stored, masked };
  }

  /**
   * One default instance per product and service resource: after `written` marks a service default,
   * the other extensions of the same product lose the default mark on their services of that resource.
   * Each of those is its own compare-and-swap write; a concurrent writer that sets another default
   * meanwhile wins in turn (last writer wins), and the resolver reports ambiguity should two remain.
   */
  async #clearOtherDefaults(written: ExtensionRecord): Promise<void> {
    if (written.product === undefined) return;
    const resources = new Set((written.services ?? []).filter((svc) => svc.default === true && svc.resource !== undefined).map((svc) => svc.resource));
    if (resources.size === 0) return;
    const others = (await this.store.list({ product: written.product })).filter(
      (r) => r.id !== written.id && (r.services ?? []).some((svc) => svc.default === true && resources.has(svc.resource)),
    );
    for (const other of others) {
      await this.#mutate(other.id, (doc, s) => {
        if (doc.product !== written.product) return false;
        let changed = false;
        for (const svc of doc.services ?? []) {
          if (svc.default === true && resources.has(svc.resource)) {
            delete svc.default;
            touch(svc, s);
            changed = true;
          }
        }
        return changed;
      });
    }
  }

  /** fuseml-core's PUT: updates the given top-level fields; 404 when absent. */
  async updateExtension(id: string, body: unknown, ifMatch?: number): Promise<ExtensionRecord> {
    validateRecord('extension', body, 'patch');
    const patch = body as Record<string, unknown>;
    checkPathField(patch, 'id', id);
    const expected = ifMatch ?? (patch.revision as number | undefined);
    const doc = await this.#mutate(id, (d) => {
      checkRevision(`extension ${id}`, d.revision, expected);
      return applyPatch(d, patch, PATCHABLE.extension);
    });
    if (patch.product !== undefined) await this.#clearOtherDefaults(doc);
    return withoutNestedRevisions(doc);
  }

  /** Creates or replaces the whole record (services, endpoints, credentials) in one transaction. */
  async upsertExtension(id: string, body: unknown, ifMatch?: number, actor: Actor = SYSTEM): Promise<UpsertResult> {
    if (body && typeof body === 'object' && !Array.isArray(body) && (body as Record<string, unknown>).id === undefined) {
      body = { id, ...body };
    }
    // Whole-record writes are idempotent: fuseml-core's input defaults, but no generated ids.
    body = this.#withNestedIds(body, undefined, false);
    validateRecord('extension', body);
    const input = body as ExtensionRecord;
    checkPathField(input as unknown as Record<string, unknown>, 'id', id);
    const expected = ifMatch ?? input.revision;
    const result = await this.#serialized(id, () => this.#upsertNow(id, input, expected, actor));
    if (result.changed) await this.#clearOtherDefaults(result.record);
    return { ...result, record: withoutNestedRevisions(result.record) };
  }

  async #upsertNow(id: string, input: ExtensionRecord, expected: number | undefined, actor: Actor): Promise<UpsertResult> {
    for (let attempt = 0; ; attempt++) {
      const prev = await this.store.get(id, { reveal: true });
      if (!prev && expected !== undefined) throw new PreconditionFailedError(`extension ${id} does not exist (a revision was expected)`);
      if (prev) checkRevision(`extension ${id}`, prev.revision, expected);
      // Fields set by hand (zone, a default) survive a re-registration that leaves them out.
      const { record, changed, stamp: s } = this.#build(keepHandSetFields(prev ?? undefined, input), prev ?? undefined, actor);
      if (prev && !changed) return { record: this.#masked(prev), created: false, changed: false };
      try {
        const stored = await this.#put(record, prev ? (prev.revision ?? 1) : null);
        this.#emit(s);
        return { record: this.#masked(stored), created: !prev, changed: true };
      } catch (err) {
        const raced = err instanceof PreconditionFailedError || (err instanceof FusemlError && (err.code === 'CONFLICT' || err.code === 'NOT_FOUND'));
        if (raced && expected === undefined && attempt < 4) continue;
        throw err;
      }
    }
  }

  #build(input: ExtensionRecord, prev: ExtensionRecord | undefined, actor: Actor): { record: ExtensionRecord; changed: boolean; stamp: Stamp } {
    const s: Stamp = { now: this.clock(), actor, audits: [] };
    const rec: ExtensionRecord = outputDefaults({ ...stripMeta(input) }, 'extension');
    let childChanged = false;
    if (input.services !== undefined) {
      rec.services = input.services.map((svc) => {
        const r = buildService(input.id, svc, prev?.services?.find((p) => p.id === svc.id), s);
        childChanged ||= r.changed;
        return r.service;
      });
    }
    const removed = (prev?.services ?? []).some((p) => !(rec.services ?? []).some((x) => x.id === p.id));
    const changed = !prev || childChanged || removed || content(prev) !== content(rec);
    return { record: stamp(rec, prev, changed, s, 'extension'), changed, stamp: s };
  }

  async deleteExtension(id: string, ifMatch?: number): Promise<void> {
    await this.#serialized(id, () => this.#delete(id, ifMatch));
  }

  /**
   * fuseml-core's input defaults and generated ids (for services and credentials given without one) inside
   * a whole extension body; `product` is the extension's product (for service ids without a resource).
   */
  #withNestedIds(body: unknown, product?: string, generate = true): unknown {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
    const services = (body as Record<string, unknown>).services;
    if (!Array.isArray(services)) return body;
    const prod = product ?? ((body as Record<string, unknown>).product as string | undefined);
    return {
      ...body,
      services: services.map((svc: unknown) => {
        const withId = !generate ? svc : this.#withId(svc, (b) => generateId(typeof b.resource === 'string' && b.resource ? b.resource : prod ? `${prod}-service` : undefined));
        if (!withId || typeof withId !== 'object') return withId;
        const w = withId as Record<string, unknown>;
        const resource = typeof w.resource === 'string' && w.resource ? w.resource : 'creds';
        const out: Record<string, unknown> = { ...w };
        if (Array.isArray(w.endpoints)) out.endpoints = w.endpoints.map((e: unknown) => inputDefaults('endpoint', e));
        if (Array.isArray(w.credentials)) out.credentials = w.credentials.map((c: unknown) => inputDefaults('credentials', generate ? this.#withId(c, () => generateId(resource)) : c));
        return out;
      }),
    };
  }

  /** Fills in a generated id when absent or empty (fuseml-core generates one then). */
  #withId(body: unknown, make: (b: Record<string, unknown>) => string): unknown {
    const id = body && typeof body === 'object' ? (body as Record<string, unknown>).id : undefined;
    if (body && typeof body === 'object' && !Array.isArray(body) && (id === undefined || id === '')) {
      return { ...body, id: make(body as Record<string, unknown>) };
    }
    return body;
  }

  async addService(extId: string, body: unknown): Promise<ServiceRecord> {
    const needsProduct = body !== null && typeof body === 'object' && !(body as Record<string, unknown>).id && !(body as Record<string, unknown>).resource;
    const product = needsProduct ? (await this.store.get(extId))?.product : undefined;
    const input = this.#withNestedIds({ services: [body] }, product) as { services: unknown[] };
    validateRecord('service', input.services[0]);
    const svc = input.services[0] as ServiceRecord;
    checkPathField(svc as unknown as Record<string, unknown>, 'extension_id', extId);
    const doc = await this.#mutate(extId, (d, s) => {
      if (d.services?.some((x) => x.id === svc.id)) throw new FusemlError('CONFLICT', `service ${svc.id} already exists in extension ${extId}`);
      d.services = [...(d.services ?? []), buildService(extId, svc, undefined, s).service];
      return true;
    });
    await this.#clearOtherDefaults(doc);
    return withoutNestedRevisions(findService(doc, svc.id));
  }

  async updateService(extId: string, serviceId: string, body: unknown, ifMatch?: number): Promise<ServiceRecord> {
    validateRecord('service', body, 'patch');
    const patch = body as Record<string, unknown>;
    checkPathField(patch, 'id', serviceId);
    checkPathField(patch, 'extension_id', extId);
    const expected = ifMatch ?? (patch.revision as number | undefined);
    const doc = await this.#mutate(extId, (d, s) => {
      const svc = findService(d, serviceId);
      checkRevision(`service ${serviceId}`, svc.revision, expected);
      const changed = applyPatch(svc, patch, PATCHABLE.service);
      if (changed) touch(svc, s);
      return changed;
    });
    if (patch.default === true || patch.resource !== undefined) await this.#clearOtherDefaults(doc);
    return withoutNestedRevisions(findService(doc, serviceId));
  }

  async deleteService(extId: string, serviceId: string, ifMatch?: number): Promise<void> {
    await this.#mutate(extId, (d) => {
      const svc = findService(d, serviceId);
      checkRevision(`service ${serviceId}`, svc.revision, ifMatch);
      d.services = (d.services ?? []).filter((x) => x !== svc);
      return true;
    });
  }

  async addEndpoint(extId: string, serviceId: string, body: unknown): Promise<EndpointRecord> {
    body = inputDefaults('endpoint', body);
    validateRecord('endpoint', body);
    const input = body as EndpointRecord;
    checkPathField(input as unknown as Record<string, unknown>, 'extension_id', extId);
    checkPathField(input as unknown as Record<string, unknown>, 'service_id', serviceId);
    const doc = await this.#mutate(extId, (d, s) => {
      const svc = findService(d, serviceId);
      if (svc.endpoints?.some((e) => e.url === input.url)) throw new FusemlError('CONFLICT', `endpoint ${input.url} already exists in service ${serviceId}`);
      const ep = stamp(outputDefaults({ ...stripMeta(input), extension_id: extId, service_id: serviceId }, 'endpoint'), undefined, true, s, 'endpoint');
      svc.endpoints = [...(svc.endpoints ?? []), ep];
      touch(svc, s);
      return true;
    });
    return findService(doc, serviceId).endpoints?.find((e) => e.url === input.url) as EndpointRecord;
  }

  async updateEndpoint(extId: string, serviceId: string, url: string, body: unknown, ifMatch?: number): Promise<EndpointRecord> {
    validateRecord('endpoint', body, 'patch');
    const patch = body as Record<string, unknown>;
    checkPathField(patch, 'url', url);
    checkPathField(patch, 'extension_id', extId);
    checkPathField(patch, 'service_id', serviceId);
    const expected = ifMatch ?? (patch.revision as number | undefined);
    const doc = await this.#mutate(extId, (d, s) => {
      const svc = findService(d, serviceId);
      const ep = findEndpoint(svc, url);
      checkRevision(`endpoint ${url}`, ep.revision, expected);
      const changed = applyPatch(ep, patch, PATCHABLE.endpoint);
      if (changed) {
        touch(ep, s);
        touch(svc, s);
      }
      return changed;
    });
    return findEndpoint(findService(doc, serviceId), url);
  }

  async deleteEndpoint(extId: string, serviceId: string, url: string, ifMatch?: number): Promise<void> {
    await this.#mutate(extId, (d, s) => {
      const svc = findService(d, serviceId);
      const ep = findEndpoint(svc, url);
      checkRevision(`endpoint ${url}`, ep.revision, ifMatch);
      svc.endpoints = (svc.endpoints ?? []).filter((e) => e !== ep);
      touch(svc, s);
      return true;
    });
  }

  async addCredentials(extId: string, serviceId: string, body: unknown): Promise<CredentialsRecord> {
    const needsId = body !== null && typeof body === 'object' && !(body as Record<string, unknown>).id;
    const resource = needsId ? (await this.store.get(extId))?.services?.find((x) => x.id === serviceId)?.resource : undefined;
    const input0 = inputDefaults('credentials', this.#withId(body, () => generateId(resource || 'creds')));
    validateRecord('credentials', input0);
    const input = input0 as CredentialsRecord;
    checkPathField(input as unknown as Record<string, unknown>, 'extension_id', extId);
    checkPathField(input as unknown as Record<string, unknown>, 'service_id', serviceId);
    mergeHidden(input.configuration, undefined, `credentials ${input.id}`);
    const doc = await this.#mutate(extId, (d, s) => {
      const svc = findService(d, serviceId);
      if (svc.credentials?.some((c) => c.id === input.id)) throw new FusemlError('CONFLICT', `credentials ${input.id} already exist in service ${serviceId}`);
      const cr = stamp(outputDefaults({ ...stripMeta(input), extension_id: extId, service_id: serviceId }, 'credentials'), undefined, true, s, 'credentials');
      svc.credentials = [...(svc.credentials ?? []), cr];
      checkDefaults(svc);
      touch(svc, s);
      return true;
    });
    return findService(doc, serviceId).credentials?.find((c) => c.id === input.id) as CredentialsRecord;
  }

  async updateCredentials(extId: string, serviceId: string, id: string, body: unknown, ifMatch?: number, actor: Actor = SYSTEM): Promise<CredentialsRecord> {
    validateRecord('credentials', body, 'patch');
    const patch = { ...(body as Record<string, unknown>) };
    checkPathField(patch, 'id', id);
    checkPathField(patch, 'extension_id', extId);
    checkPathField(patch, 'service_id', serviceId);
    const expected = ifMatch ?? (patch.revision as number | undefined);
    const sent = patch.configuration as Configuration | undefined;
    const doc = await this.#mutate(extId, (d, s) => {
      const svc = findService(d, serviceId);
      const cr = findCredentials(svc, id);
      checkRevision(`credentials ${id}`, cr.revision, expected);
      if (patch.configuration !== undefined) {
        patch.configuration = mergeHidden(patch.configuration as Configuration, cr.configuration, `credentials ${id}`);
      }
      const prev = structuredClone(cr);
      // A write that sends values counts as a change even when they equal the stored ones: the revision must
      // not tell a writer whether a guessed value was right.
      const changed = applyPatch(cr, patch, PATCHABLE.credentials) || submitsValues(sent);
      // The merged record must still be valid (e.g. scope project needs projects).
      validateRecord('credentials', stripMeta(cr));
      checkScopeChange({ prev, next: cr, keepsStoredValues: sent === undefined || Object.values(sent).includes(HIDDEN), extId, serviceId }, s);
      checkDefaults(svc);
      if (changed) {
        touch(cr, s);
        touch(svc, s);
      }
      return changed;
    }, actor);
    return findCredentials(findService(doc, serviceId), id);
  }

  async deleteCredentials(extId: string, serviceId: string, id: string, ifMatch?: number): Promise<void> {
    await this.#mutate(extId, (d, s) => {
      const svc = findService(d, serviceId);
      const cr = findCredentials(svc, id);
      checkRevision(`credentials ${id}`, cr.revision, ifMatch);
      svc.credentials = (svc.credentials ?? []).filter((c) => c !== cr);
      touch(svc, s);
      return true;
    });
  }
}
