/**
 * The registry store on the Kubernetes API (etcd behind it), so several
 * registry replicas can share one state. See docs/registry.md ("Kubernetes
 * store") and docs/adr/0002-kubernetes-store.md.
 *
 * Layout, in one namespace:
 * - one FusemlExtension object per extension (deploy/crd-fusemlextension.yaml): spec.id, spec.revision and
 *   spec.document, the document as readers see it (credential values `<hidden>`, keys kept);
 * - one Secret of the same name holding the credential values, each sealed with the registry key
 *   (AES-256-GCM, ../crypto.ts, the credential's location as AAD): a reader of Secrets without the key learns
 *   nothing but key names;
 * - the Secret `fuseml-registry-key-check`, so a replica started with another key refuses to start.
 *
 * Object names: Kubernetes names are DNS-1123 (lowercase) while ids are not (`API` and `api`, `a_b` and `a-b`
 * are different ids), so an id maps to `ext-<id lowercased, _ as ->-<10 hex of sha256(id)>`; the exact id is in
 * spec.id (and an annotation) and checked on every read.
 *
 * Consistency. Every write is a compare-and-swap on the object's metadata.resourceVersion, after a check of the
 * document's revision: two replicas writing the same revision cannot both succeed (the loser gets CONFLICT or
 * PreconditionFailedError, as with SQLite). The object is the commit point; the Secret is written first and
 * never overwritten in place: each write adds its sealed values under a fresh key (spec.credentialsRef points
 * at it), commits the object, and only then removes the key of the revision it replaced. So whatever order
 * replicas interleave in, the committed object's credentialsRef names values written for exactly that
 * revision; a writer that loses the race removes its own key; a reader that finds its key already gone (the
 * object moved on between its two reads) reads the object again. Keys left by a replica that died between the
 * two writes are unreferenced and removed by the next write of that extension (after STALE_REF_MS).
 */
import { createHash, randomBytes } from 'node:crypto';
import { FusemlError } from '../../../core/errors.js';
import { HIDDEN, withStatusTimes, type Configuration, type CredentialsRecord, type ExtensionRecord } from '../../../core/records.js';
import { KubeApiError } from '../../../kube/errors.js';
import type { ObjectMeta, RegistryStoreApi, StoredObject, StoredSecret } from './api.js';
import { Cipher } from '../../crypto.js';
import { PreconditionFailedError } from '../../errors.js';
import { StoreCache } from './cache.js';
import { listInScope, type CredentialScopeFilter, type ReadOptions, type Store, type StoreFilter, type StoreHealth } from '../types.js';

/** Largest document (JSON, credential values hidden): etcd refuses objects over ~1.5 MiB. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Largest sealed credential values of one document: a Secret (≤ 1 MiB) holds two or three revisions' worth. */
export const MAX_CREDENTIALS_BYTES = 256 * 1024;
/** An unreferenced credentials key older than this is a leftover of a write that died half-way. */
export const STALE_REF_MS = 10 * 60_000;

const KEY_CHECK = 'fuseml-registry key check';
const KEY_CHECK_SECRET = 'fuseml-registry-key-check';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'fuseml-registry' } as const;
const PART = 'registry.fuseml.io/part';
const ID_ANNOTATION = 'registry.fuseml.io/id';
const PRODUCT_LABEL = 'registry.fuseml.io/product';
const ZONE_LABEL = 'registry.fuseml.io/zone';
const RETRIES = 8;

/** The DNS-1123 object name of an extension id (see the header). */
export function objectName(id: string): string {
  const hash = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 10);
  return `ext-${id.toLowerCase().replace(/_/g, '-')}-${hash}`;
}

/** A label value standing for `value`: itself when it is a valid label value, else a hash of it. */
export function labelValue(value: string): string {
  if (value.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value)) return value;
  return `h.${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 40)}`;
}

/** The sealed credential values of one revision, as stored under one key of the Secret. */
interface SealedEntry {
  revision: number;
  /** `<service id>/<credentials id>` → sealed JSON of the configuration. */
  values: Record<string, string>;
}

// The API server hands objects back with their keys sorted; documents are put back in the field order of
// src/core/records.ts (unknown keys after), so responses look the same as with SQLite.
const EXTENSION_KEYS = ['id', 'product', 'version', 'description', 'zone', 'configuration', 'status', 'services', 'revision'];
const SERVICE_KEYS = ['id', 'extension_id', 'resource', 'category', 'description', 'auth_required', 'default', 'configuration', 'status', 'endpoints', 'credentials', 'revision'];
const ENDPOINT_KEYS = ['url', 'extension_id', 'service_id', 'type', 'configuration', 'status', 'revision'];
const CREDENTIALS_KEYS = ['id', 'extension_id', 'service_id', 'default', 'scope', 'projects', 'users', 'configuration', 'status', 'revision'];

function ordered<T extends object>(o: T, keys: readonly string[]): T {
  const src = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in src) out[k] = src[k];
  for (const k of Object.keys(src)) if (!(k in out)) out[k] = src[k];
  return out as T;
}

function inRecordOrder(doc: ExtensionRecord): ExtensionRecord {
  const out = ordered(doc, EXTENSION_KEYS);
  if (out.services) {
    out.services = out.services.map((s) => {
      const svc = ordered(s, SERVICE_KEYS);
      if (svc.endpoints) svc.endpoints = svc.endpoints.map((e) => ordered(e, ENDPOINT_KEYS));
      if (svc.credentials) svc.credentials = svc.credentials.map((c) => ordered(c, CREDENTIALS_KEYS));
      return svc;
    });
  }
  return out;
}

/** What a write's revision check saw last (for the catch-up after a lost race). */
interface Observed {
  checked?: boolean;
  object?: StoredObject | undefined;
  /** The resourceVersion the object had in the cache when the API server said it is gone. */
  absentAfter?: string;
}

export interface KubernetesStoreOptions {
  api: RegistryStoreApi;
  key: Buffer;
  /** The watch-fed cache reads are served from (./cache.ts); without one every read asks the API server. */
  cache?: StoreCache | undefined;
}

function isStatus(e: unknown, status: number): boolean {
  return (e as { status?: unknown } | null)?.status === status;
}

/**
 * A failed API call that reaches a caller of the store is the registry's problem, not the client's: a 403 or 404
 * from the API server (RBAC, a deleted namespace) must not become the HTTP answer to a request, so it turns into
 * CLUSTER (a 500 whose detail goes to the log only).
 */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof KubeApiError) {
      throw new FusemlError('CLUSTER', `registry store: ${(e as Error).message}`, { cause: e });
    }
    throw e;
  }
}

function newRef(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

function refTime(ref: string): number | undefined {
  const m = /^r-([0-9a-z]+)-[0-9a-f]+$/.exec(ref);
  return m ? parseInt(m[1] as string, 36) : undefined;
}

function matches(record: ExtensionRecord, filter: StoreFilter): boolean {
  if (filter.extension_id !== undefined && record.id !== filter.extension_id) return false;
  if (filter.product !== undefined && record.product !== filter.product) return false;
  if (filter.zone !== undefined && record.zone !== filter.zone) return false;
  if (filter.service_id === undefined && filter.service_resource === undefined && filter.service_category === undefined) return true;
  return (record.services ?? []).some(
    (s) =>
      (filter.service_id === undefined || s.id === filter.service_id) &&
      (filter.service_resource === undefined || s.resource === filter.service_resource) &&
      (filter.service_category === undefined || s.category === filter.service_category),
  );
}

export class KubernetesStore implements Store {
  readonly api: RegistryStoreApi;
  readonly #cipher: Cipher;
  readonly #cache: StoreCache | undefined;

  constructor(options: KubernetesStoreOptions) {
    this.api = options.api;
    this.#cipher = new Cipher(options.key);
    this.#cache = options.cache;
  }

  /** The cache when it may answer now (see StoreCache.serving), else undefined: ask the API server. */
  #cached(): StoreCache | undefined {
    return this.#cache?.serving() ? this.#cache : undefined;
  }

  /** Readiness for /healthz, from the cache's state (no request); always ready without a cache. */
  health(): StoreHealth {
    return this.#cache ? this.#cache.health() : { ready: true };
  }

  /**
   * Connects to the API server, checks (or, with installCrd, installs) the CRD and checks the key against the
   * namespace's key-check Secret (creating it on first use).
   */
  static async open(options: {
    kubeconfig?: string | undefined;
    namespace?: string | undefined;
    key: Buffer;
    installCrd?: boolean;
    /** false: no cache, every read asks the API server (default: the watch-fed cache). */
    cache?: boolean | { staleAfterMs?: number; writeWaitMs?: number };
  }): Promise<KubernetesStore> {
    const { RegistryStoreApi } = await import('./api.js');
    const api = await RegistryStoreApi.connect({ kubeconfig: options.kubeconfig, namespace: options.namespace });
    if (options.installCrd) await api.installCrd();
    else if (!(await api.crdEstablished())) {
      throw new FusemlError('USAGE', `the FusemlExtension CRD is not installed in the cluster at ${api.server}`, {
        hint: 'kubectl apply -f deploy/crd-fusemlextension.yaml, or start with --install-crd',
      });
    }
    const checked = new KubernetesStore({ api, key: options.key });
    await checked.#checkKey();
    if (options.cache === false) return checked;
    const cache = new StoreCache(api, { objectSelector: `${PART}=extension`, secretSelector: `${PART}=credentials`, ...(typeof options.cache === 'object' ? options.cache : {}) });
    await guard(() => cache.start());
    return new KubernetesStore({ api, key: options.key, cache });
  }

  async #checkKey(): Promise<void> {
    const meta = { name: KEY_CHECK_SECRET, labels: { ...MANAGED_BY, [PART]: 'key-check' }, annotations: {} };
    let secret = await this.api.getSecret(KEY_CHECK_SECRET);
    if (!secret) {
      try {
        await this.api.createSecret(meta, { check: this.#cipher.encrypt(KEY_CHECK, 'key_check') });
        return;
      } catch (e) {
        if (isStatus(e, 404)) {
          throw new FusemlError('USAGE', `the store namespace ${this.api.namespace} does not exist`, { hint: `kubectl create namespace ${this.api.namespace}`, cause: e });
        }
        if (!isStatus(e, 409)) throw e;
        secret = await this.api.getSecret(KEY_CHECK_SECRET);
      }
    }
    let ok = false;
    try {
      ok = this.#cipher.decrypt(secret?.data.check ?? '', 'key_check') === KEY_CHECK;
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new FusemlError('USAGE', `the encryption key does not match the registry store in namespace ${this.api.namespace}`, {
        hint: 'start every replica with the key the store was created with (--key-file or FUSEML_REGISTRY_KEY)',
      });
    }
  }

  #aad(extensionId: string, serviceId: string, credentialsId: string): string {
    return `${extensionId}/${serviceId}/${credentialsId}`;
  }

  /** The masked document and the sealed values of `record`; oversized documents are a VALIDATION error. */
  #split(record: ExtensionRecord, kept: Record<string, string> = {}): { masked: ExtensionRecord; values: Record<string, string> } {
    const masked = structuredClone(record);
    const values: Record<string, string> = {};
    for (const s of masked.services ?? []) {
      for (const c of s.credentials ?? []) {
        if (c.status?.state !== undefined) {
          const { state: _state, ...status } = c.status;
          c.status = status;
        }
        if (!c.configuration || Object.keys(c.configuration).length === 0) continue;
        if (Object.values(c.configuration).includes(HIDDEN)) {
          // Values that could not be decrypted when read: their stored ciphertext is kept as it is.
          const old = kept[`${s.id}/${c.id}`];
          if (old === undefined) throw new FusemlError('VALIDATION', `credentials ${c.id} of service ${s.id} in extension ${record.id}: a value is "${HIDDEN}" and none is stored`);
          values[`${s.id}/${c.id}`] = old;
          c.configuration = Object.fromEntries(Object.keys(c.configuration).map((k) => [k, HIDDEN]));
          continue;
        }
        values[`${s.id}/${c.id}`] = this.#cipher.encrypt(JSON.stringify(c.configuration), this.#aad(record.id, s.id, c.id));
        c.configuration = Object.fromEntries(Object.keys(c.configuration).map((k) => [k, HIDDEN]));
      }
    }
    const docBytes = Buffer.byteLength(JSON.stringify(masked), 'utf8');
    if (docBytes > MAX_DOCUMENT_BYTES) {
      throw new FusemlError('VALIDATION', `extension ${record.id} is too large for the Kubernetes store: ${docBytes} bytes, at most ${MAX_DOCUMENT_BYTES}`, {
        hint: 'split it into several extensions (etcd refuses objects over ~1.5 MiB)',
      });
    }
    const credBytes = Buffer.byteLength(JSON.stringify(values), 'utf8');
    if (credBytes > MAX_CREDENTIALS_BYTES) {
      throw new FusemlError('VALIDATION', `the credentials of extension ${record.id} are too large for the Kubernetes store: ${credBytes} bytes sealed, at most ${MAX_CREDENTIALS_BYTES}`);
    }
    return { masked, values };
  }

  #meta(name: string, record: ExtensionRecord): ObjectMeta {
    const labels: Record<string, string> = { ...MANAGED_BY, [PART]: 'extension' };
    if (record.product !== undefined) labels[PRODUCT_LABEL] = labelValue(record.product);
    if (record.zone !== undefined) labels[ZONE_LABEL] = labelValue(record.zone);
    return { name, labels, annotations: { [ID_ANNOTATION]: record.id } };
  }

  /** The object of `id`, or undefined (also when the name is taken by another id: a hash collision). */
  async #object(id: string): Promise<StoredObject | undefined> {
    const o = await this.api.getObject(objectName(id));
    return o && o.spec.id === id ? o : undefined;
  }

  /**
   * The document of object `o`, with the credentials `reveal` accepts in clear; undefined when its sealed values
   * are no longer in `secret` (the object was rewritten meanwhile: read it again).
   */
  #materialize(o: StoredObject, reveal: ReadOptions['reveal'], secret: StoredSecret | undefined): ExtensionRecord | undefined {
    // An object written by an earlier fuseml-registry (top-level created / updated) reads in today's form; the
    // next write of the extension stores that form.
    const doc = inRecordOrder(withStatusTimes(structuredClone(o.spec.document) as ExtensionRecord));
    if (!reveal) return doc;
    const shown: [string, CredentialsRecord & { configuration: Configuration }][] = [];
    for (const s of doc.services ?? []) {
      for (const c of s.credentials ?? []) {
        if (!c.configuration || Object.keys(c.configuration).length === 0) continue;
        if (typeof reveal === 'function' ? reveal(c, s) : true) shown.push([s.id, c as CredentialsRecord & { configuration: Configuration }]);
      }
    }
    if (shown.length === 0) return doc;
    const ref = o.spec.credentialsRef;
    const raw = typeof ref === 'string' ? secret?.data[ref] : undefined;
    if (raw === undefined) return undefined;
    const entry = JSON.parse(raw) as SealedEntry;
    if (entry.revision !== o.spec.revision) {
      throw new FusemlError('INTERNAL', `extension ${doc.id}: stored credentials belong to revision ${entry.revision}, not ${String(o.spec.revision)}`);
    }
    for (const [serviceId, c] of shown) {
      const sealed = entry.values[`${serviceId}/${c.id}`];
      if (sealed === undefined) throw new FusemlError('INTERNAL', `extension ${doc.id}: stored credentials ${serviceId}/${c.id} are missing`);
      try {
        c.configuration = JSON.parse(this.#cipher.decrypt(sealed, this.#aad(doc.id, serviceId, c.id))) as Configuration;
      } catch {
        // One bad ciphertext must not fail the whole document: the set reads as undecryptable (values hidden).
        c.status = { ...c.status, state: 'undecryptable' };
      }
    }
    return doc;
  }

  /** Reads `id` (object, then Secret when values are to be revealed), again when a writer moved it on between. */
  async #read(id: string, reveal: ReadOptions['reveal'], first?: { object: StoredObject; secret: StoredSecret | undefined }): Promise<ExtensionRecord | undefined> {
    let attempt = first;
    for (let i = 0; i < RETRIES; i++) {
      const o = attempt?.object ?? (await this.#object(id));
      if (!o) return undefined;
      const secret = attempt ? attempt.secret : reveal ? await this.api.getSecret(o.name) : undefined;
      const doc = this.#materialize(o, reveal, secret);
      if (doc) return doc;
      attempt = undefined;
    }
    throw new FusemlError('CONFLICT', `extension ${id} kept changing while being read; try again`);
  }

  async get(id: string, options: ReadOptions = {}): Promise<ExtensionRecord | undefined> {
    const cache = this.#cached();
    if (cache) {
      const o = cache.object(id);
      // A Secret the cache does not have yet (or without this revision's key) is read from the API server by #read.
      return o ? guard(() => this.#read(id, options.reveal, { object: o, secret: options.reveal ? cache.secret(o.name) : undefined })) : undefined;
    }
    return guard(() => this.#read(id, options.reveal));
  }

  async list(filter: StoreFilter, options: ReadOptions = {}): Promise<ExtensionRecord[]> {
    return guard(() => this.#list(filter, options));
  }

  async #list(filter: StoreFilter, options: ReadOptions): Promise<ExtensionRecord[]> {
    let objects: StoredObject[];
    const cache = this.#cached();
    if (cache) objects = cache.objects(filter);
    else if (filter.extension_id !== undefined) {
      const o = await this.#object(filter.extension_id);
      objects = o ? [o] : [];
    } else {
      // Labels narrow the listing on the server; every filter is checked again on the documents below (a label
      // value may be a hash, and service filters are not labels).
      const selector = [`${PART}=extension`];
      if (filter.product) selector.push(`${PRODUCT_LABEL}=${labelValue(filter.product)}`);
      if (filter.zone) selector.push(`${ZONE_LABEL}=${labelValue(filter.zone)}`);
      objects = await this.api.listObjects(selector.join(','));
    }
    objects = objects.filter((o) => typeof o.spec.id === 'string' && matches(o.spec.document as unknown as ExtensionRecord, filter));
    objects.sort((a, b) => ((a.spec.id as string) < (b.spec.id as string) ? -1 : (a.spec.id as string) > (b.spec.id as string) ? 1 : 0));
    let secrets = new Map<string, StoredSecret>();
    if (cache && options.reveal) {
      secrets = new Map(objects.flatMap((o) => { const s = cache.secret(o.name); return s ? [[o.name, s] as const] : []; }));
    } else if (options.reveal && objects.length > 0) {
      const list = objects.length === 1 ? [await this.api.getSecret(objects[0]!.name)] : await this.api.listSecrets(`${PART}=credentials`);
      secrets = new Map(list.filter((s): s is StoredSecret => s !== undefined).map((s) => [s.name, s]));
    }
    const out: ExtensionRecord[] = [];
    for (const o of objects) {
      const doc = await this.#read(o.spec.id as string, options.reveal, { object: o, secret: secrets.get(o.name) });
      // Deleted (or rewritten to no longer match) since the listing: leave it out.
      if (doc && matches(doc, filter)) out.push(doc);
    }
    return out;
  }

  async listForResolver(filter: StoreFilter, scope: CredentialScopeFilter): Promise<ExtensionRecord[]> {
    return listInScope(this, filter, scope);
  }

  /**
   * Changes the Secret `name` with compare-and-swap on its resourceVersion, retrying when another replica
   * changed it meanwhile; `change` returns the new data (empty: delete the Secret).
   */
  async #updateSecret(name: string, id: string, change: (data: Record<string, string>) => Record<string, string>): Promise<void> {
    const meta: ObjectMeta = { name, labels: { ...MANAGED_BY, [PART]: 'credentials' }, annotations: { [ID_ANNOTATION]: id } };
    for (let i = 0; i < RETRIES * 2; i++) {
      // First try on what the cache holds (a stale copy fails the compare-and-swap: read again).
      const cache = i === 0 ? this.#cached() : undefined;
      const s = cache ? cache.secret(name) : await this.api.getSecret(name);
      const before = s?.data ?? {};
      const next = change({ ...before });
      const same = Object.keys(next).length === Object.keys(before).length && Object.entries(next).every(([k, v]) => before[k] === v);
      // Nothing to write, judged on the cache's copy: it may be behind (keys to prune not seen yet), so ask the API server.
      if (cache && (s ? same && Object.keys(next).length > 0 : Object.keys(next).length === 0)) continue;
      try {
        if (!s) {
          if (Object.keys(next).length > 0) await this.api.createSecret(meta, next);
        } else if (Object.keys(next).length === 0) {
          await this.api.deleteSecret(name, s.resourceVersion);
        } else if (!same) {
          await this.api.replaceSecret(meta, s.resourceVersion, next);
        }
        return;
      } catch (e) {
        // 409: changed meanwhile; 404 on replace or delete: deleted meanwhile (on create it is the namespace).
        if (!isStatus(e, 409) && !(s && isStatus(e, 404))) throw e;
      }
    }
    throw new FusemlError('CONFLICT', `the credentials Secret of extension ${id} kept changing; try again`);
  }

  /** Removes `refs` and stale unreferenced keys from the Secret, keeping `keep`. Best effort: a failure only leaves garbage. */
  async #cleanup(name: string, id: string, refs: (string | undefined)[], keep: string | undefined): Promise<void> {
    const now = Date.now();
    try {
      await this.#updateSecret(name, id, (data) => {
        for (const k of Object.keys(data)) {
          if (k === keep) continue;
          const t = refTime(k);
          if (refs.includes(k) || t === undefined || now - t > STALE_REF_MS) delete data[k];
        }
        return data;
      });
    } catch {
      // Left for the next write of this extension.
    }
  }

  async put(record: ExtensionRecord, expectedRevision: number | null): Promise<ExtensionRecord> {
    const observed: Observed = {};
    try {
      return await guard(() => this.#put(record, expectedRevision, observed));
    } catch (e) {
      // Lost a race (412, 409, 404): the caller reads next, so the cache catches up with what the API server showed.
      if (this.#cache && observed.checked && (e instanceof PreconditionFailedError || (e instanceof FusemlError && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND')))) {
        const o = observed.object;
        if (o) await this.#cache.waitForVersion(o.resourceVersion);
        else if (observed.absentAfter !== undefined) await this.#cache.waitForGone(objectName(record.id), observed.absentAfter);
      }
      throw e;
    }
  }

  async #put(record: ExtensionRecord, expectedRevision: number | null, observed: Observed = {}): Promise<ExtensionRecord> {
    const name = objectName(record.id);
    const { masked, values } = this.#split(record, await this.#keptValues(record, name));
    const revision = record.revision ?? (expectedRevision === null ? 1 : expectedRevision + 1);
    const meta = this.#meta(name, record);

    const cached = this.#cached()?.objectNamed(name);
    observed.absentAfter = cached?.resourceVersion;
    let current = cached ?? (await this.api.getObject(name));
    if (current && current.spec.id !== record.id) {
      throw new FusemlError('INTERNAL', `extension ${record.id}: object name ${name} is taken by extension ${String(current.spec.id)}`);
    }
    const check = (o: StoredObject | undefined): StoredObject | undefined => {
      observed.checked = true;
      observed.object = o;
      if (expectedRevision === null) {
        if (o) throw new FusemlError('CONFLICT', `extension ${record.id} already exists`);
        return undefined;
      }
      if (!o) throw new FusemlError('NOT_FOUND', `extension ${record.id} not found`);
      if (o.spec.revision !== expectedRevision) {
        throw new PreconditionFailedError(`extension ${record.id} is at revision ${String(o.spec.revision)}, not ${expectedRevision}`);
      }
      return o;
    };
    if (cached) {
      // The cache may be behind: a failed check is confirmed with the API server (a passed one is enforced by the
      // compare-and-swap below, which fails on a stale resourceVersion).
      try {
        current = check(current);
      } catch {
        current = await this.api.getObject(name);
        current = check(current && current.spec.id === record.id ? current : undefined);
      }
    } else current = check(current);

    // 1. The sealed values, under a key of their own (nothing a reader can reach yet).
    const ref = Object.keys(values).length > 0 ? newRef() : undefined;
    if (ref) {
      const entry: SealedEntry = { revision, values };
      await this.#updateSecret(name, record.id, (data) => ({ ...data, [ref]: JSON.stringify(entry) }));
    }
    // 2. The commit: the object, compare-and-swap on its resourceVersion.
    const spec: Record<string, unknown> = { id: record.id, revision, document: masked, ...(ref ? { credentialsRef: ref } : {}) };
    let written: StoredObject;
    try {
      for (let i = 0; ; i++) {
        try {
          if (!current) written = await this.api.createObject(meta, spec);
          else written = await this.api.replaceObject(meta, current.resourceVersion, spec);
          break;
        } catch (e) {
          if (!isStatus(e, 409) && !(current && isStatus(e, 404))) throw e;
          // Another replica wrote (or deleted) it first: the revision check decides, as it would have before.
          const again = await this.api.getObject(name);
          current = check(again && again.spec.id === record.id ? again : undefined);
          if (i >= RETRIES) throw new FusemlError('CONFLICT', `extension ${record.id} kept changing; try again`, { cause: e });
        }
      }
    } catch (e) {
      if (ref) await this.#cleanup(name, record.id, [ref], undefined);
      throw e;
    }
    // Read-your-writes: answer once this replica's cache holds the write.
    await this.#cache?.waitForVersion(written.resourceVersion);
    // 3. The values of the replaced revision are unreachable now.
    const old = current?.spec.credentialsRef;
    if (typeof old === 'string') await this.#cleanup(name, record.id, [old], ref);
    return structuredClone(record);
  }

  /**
   * For a record that carries `<hidden>` values (credentials whose stored values could not be decrypted when
   * read): the stored sealed values of the current revision, to keep them as they are.
   */
  async #keptValues(record: ExtensionRecord, name: string): Promise<Record<string, string>> {
    const carries = (record.services ?? []).some((s) => (s.credentials ?? []).some((c) => Object.values(c.configuration ?? {}).includes(HIDDEN)));
    if (!carries) return {};
    const o = await this.api.getObject(name);
    const ref = o?.spec.credentialsRef;
    const raw = typeof ref === 'string' ? (await this.api.getSecret(name))?.data[ref] : undefined;
    return raw === undefined ? {} : (JSON.parse(raw) as SealedEntry).values;
  }

  async delete(id: string, expectedRevision?: number): Promise<void> {
    return guard(() => this.#delete(id, expectedRevision));
  }

  async #delete(id: string, expectedRevision?: number): Promise<void> {
    const name = objectName(id);
    for (let i = 0; ; i++) {
      const o = await this.#object(id);
      if (!o) throw new FusemlError('NOT_FOUND', `extension ${id} not found`);
      if (expectedRevision !== undefined && o.spec.revision !== expectedRevision) {
        throw new PreconditionFailedError(`extension ${id} is at revision ${String(o.spec.revision)}, not ${expectedRevision}`);
      }
      try {
        await this.api.deleteObject(name, o.resourceVersion);
      } catch (e) {
        if (isStatus(e, 404)) throw new FusemlError('NOT_FOUND', `extension ${id} not found`);
        if (!isStatus(e, 409) || i >= RETRIES) throw e;
        continue;
      }
      await this.#cache?.waitForGone(name, o.resourceVersion);
      const ref = o.spec.credentialsRef;
      // Keys of a create racing with this delete are recent and stay; the Secret goes when nothing is left.
      await this.#cleanup(name, id, [typeof ref === 'string' ? ref : undefined], undefined);
      return;
    }
  }

  async count(): Promise<number> {
    const cache = this.#cached();
    if (cache) return cache.size;
    return guard(async () => (await this.api.listObjects(`${PART}=extension`)).length);
  }

  async close(): Promise<void> {
    // The cache's watches are the only thing held open (without a cache every call is a request).
    this.#cache?.stop();
  }
}
