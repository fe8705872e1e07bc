/**
 * The Kubernetes calls behind the registry's Kubernetes store
 * (./store.ts): FusemlExtension custom objects, Secrets and the
 * CustomResourceDefinition, through src/kube's generic resource client (plain
 * JSON, straight to the API server: the registry never loads
 * @kubernetes/client-node). Writes carry a resourceVersion (compare-and-swap);
 * failures are StoreApiErrors carrying the HTTP status.
 */
import { FusemlError } from '../../../core/errors.js';
import { KubeApiError, KubeApiError as StoreApiError, httpStatus } from '../../../kube/errors.js';
import { ResourceClient, groupResource, type KubeObject, type ResourceClientOptions, type Watch } from '../../../kube/resources.js';
import { FUSEML_EXTENSION_CRD, FUSEML_EXTENSION_GROUP, FUSEML_EXTENSION_PLURAL, FUSEML_EXTENSION_VERSION } from './crd.js';

/** A FusemlExtension object as the store sees it. */
export interface StoredObject {
  name: string;
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
}

/** A Secret as the store sees it: data base64-decoded (UTF-8). */
export interface StoredSecret {
  name: string;
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  data: Record<string, string>;
}

/** A listing and the resourceVersion it was read at. */
export interface Listing<T> {
  items: T[];
  resourceVersion: string;
}

/** A watch event: an object added, changed or deleted (its last state), or a bookmark (progress, no change). */
export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; item: T } | { type: 'BOOKMARK'; resourceVersion: string };

export interface WatchHandlers<T> {
  event(e: WatchEvent<T>): void;
  connected(): void;
  ended(err: StoreApiError | undefined, gone: boolean): void;
}

export interface WatchHandle {
  /** Closes the watch (ended is called with no error). */
  stop(): void;
}

/** The API server closes a watch after this many seconds (a client watches again from where it was). */
const WATCH_TIMEOUT_S = 120;
/** A watch still open this long after WATCH_TIMEOUT_S is taken as broken. */
const WATCH_GRACE_S = 30;

export interface ObjectMeta {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A failed call: `status` is the HTTP status (409 conflict or exists, 404, …), `reason` the API's reason. */
export { KubeApiError as StoreApiError };

/** How long a call waits out 429s: the API server answers 429 "storage is (re)initializing" for a while after a CRD changes. */
const BUSY_RETRY_MS = 10_000;

/** fn(), retried while the API server answers 429 (too many requests, or a custom resource's storage re-initializing). */
async function busyRetry<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_RETRY_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await fn();
    } catch (e) {
      if (httpStatus(e) !== 429 || Date.now() + delay > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

interface RawObject extends KubeObject {
  spec?: Record<string, unknown>;
}

interface RawSecret extends KubeObject {
  data?: Record<string, string>;
}

interface RawCrd extends KubeObject {
  status?: { conditions?: { type?: string; status?: string }[] };
}

function toObject(o: RawObject): StoredObject {
  return {
    name: o.metadata?.name ?? '',
    resourceVersion: o.metadata?.resourceVersion ?? '',
    labels: o.metadata?.labels ?? {},
    annotations: o.metadata?.annotations ?? {},
    spec: o.spec ?? {},
  };
}

function toSecret(s: RawSecret): StoredSecret {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
  return {
    name: s.metadata?.name ?? '',
    resourceVersion: s.metadata?.resourceVersion ?? '',
    labels: s.metadata?.labels ?? {},
    annotations: s.metadata?.annotations ?? {},
    data,
  };
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}

const EXTENSIONS = groupResource(FUSEML_EXTENSION_GROUP, FUSEML_EXTENSION_VERSION, FUSEML_EXTENSION_PLURAL);
const SECRETS = groupResource('', 'v1', 'secrets');
const CRDS = groupResource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', false);
/** Listings are read in pages: a registry starting on 10 000 extensions never holds one 20 MB response at once. */
const PAGE_SIZE = 500;
const API_VERSION = `${FUSEML_EXTENSION_GROUP}/${FUSEML_EXTENSION_VERSION}`;
const KIND = FUSEML_EXTENSION_CRD.spec.names.kind;

export class RegistryStoreApi {
  readonly namespace: string;
  readonly server: string;
  readonly #client: ResourceClient;

  private constructor(client: ResourceClient, namespace: string) {
    this.namespace = namespace;
    this.server = client.server;
    this.#client = client;
  }

  /** Resolves the kubeconfig; the namespace defaults to the context's, then `default`. */
  static async connect(options: ResourceClientOptions & { namespace?: string | undefined }): Promise<RegistryStoreApi> {
    const client = await ResourceClient.connect(options);
    return new RegistryStoreApi(client, options.namespace ?? client.namespace);
  }

  #meta(meta: ObjectMeta, resourceVersion?: string) {
    return { ...meta, namespace: this.namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) };
  }

  async getObject(name: string): Promise<StoredObject | undefined> {
    const o = await busyRetry(() => this.#client.get<RawObject>(EXTENSIONS, name, this.namespace));
    return o ? toObject(o) : undefined;
  }

  async listObjects(labelSelector: string | undefined): Promise<StoredObject[]> {
    return (await this.listObjectsAt(labelSelector ?? '')).items;
  }

  /** Creates the object; an existing one fails with status 409 (reason AlreadyExists). */
  async createObject(meta: ObjectMeta, spec: Record<string, unknown>): Promise<StoredObject> {
    const body = { apiVersion: API_VERSION, kind: KIND, metadata: this.#meta(meta), spec };
    return toObject(await busyRetry(() => this.#client.create<RawObject>(EXTENSIONS, body)));
  }

  /** Replaces the object if it is still at `resourceVersion` (409 otherwise). */
  async replaceObject(meta: ObjectMeta, resourceVersion: string, spec: Record<string, unknown>): Promise<StoredObject> {
    const body = { apiVersion: API_VERSION, kind: KIND, metadata: this.#meta(meta, resourceVersion), spec };
    return toObject(await busyRetry(() => this.#client.replace<RawObject>(EXTENSIONS, body)));
  }

  /** Deletes the object if it is still at `resourceVersion` (409 otherwise, 404 when absent). */
  async deleteObject(name: string, resourceVersion: string): Promise<void> {
    await this.#deleteOrFail(EXTENSIONS, name, resourceVersion);
  }

  async #deleteOrFail(type: typeof SECRETS, name: string, resourceVersion: string): Promise<void> {
    const existed = await busyRetry(() => this.#client.delete(type, name, this.namespace, { resourceVersion }));
    if (!existed) throw new StoreApiError('NOT_FOUND', `delete ${type.plural} ${this.namespace}/${name}: HTTP 404: not found`, 404, 'NotFound', undefined);
  }

  async getSecret(name: string): Promise<StoredSecret | undefined> {
    const s = await busyRetry(() => this.#client.get<RawSecret>(SECRETS, name, this.namespace));
    return s ? toSecret(s) : undefined;
  }

  async listSecrets(labelSelector: string): Promise<StoredSecret[]> {
    return (await this.listSecretsAt(labelSelector)).items;
  }

  /** Creates an Opaque Secret; an existing one fails with status 409. */
  async createSecret(meta: ObjectMeta, data: Record<string, string>): Promise<StoredSecret> {
    const body = { apiVersion: 'v1', kind: 'Secret', metadata: this.#meta(meta), type: 'Opaque', data: encode(data) };
    return toSecret(await busyRetry(() => this.#client.create<RawSecret>(SECRETS, body)));
  }

  /** Replaces a Secret's data wholesale if it is still at `resourceVersion` (409 otherwise). */
  async replaceSecret(meta: ObjectMeta, resourceVersion: string, data: Record<string, string>): Promise<StoredSecret> {
    const body = { apiVersion: 'v1', kind: 'Secret', metadata: this.#meta(meta, resourceVersion), type: 'Opaque', data: encode(data) };
    return toSecret(await busyRetry(() => this.#client.replace<RawSecret>(SECRETS, body)));
  }

  /** Deletes a Secret if it is still at `resourceVersion` (409 otherwise, 404 when absent). */
  async deleteSecret(name: string, resourceVersion: string): Promise<void> {
    await this.#deleteOrFail(SECRETS, name, resourceVersion);
  }

  async #readCrd(): Promise<RawCrd | undefined> {
    return busyRetry(() => this.#client.get<RawCrd>(CRDS, FUSEML_EXTENSION_CRD.metadata.name));
  }

  /** True when the FusemlExtension CRD is installed and established. */
  async crdEstablished(): Promise<boolean> {
    const crd = await this.#readCrd();
    return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  }

  /** Creates or updates the FusemlExtension CRD, then waits (≤ timeoutMs) until it is established. */
  async installCrd(timeoutMs = 30_000): Promise<'created' | 'updated'> {
    const name = FUSEML_EXTENSION_CRD.metadata.name;
    const body = structuredClone(FUSEML_EXTENSION_CRD) as unknown as KubeObject;
    let outcome: 'created' | 'updated' = 'created';
    for (let attempt = 0; ; attempt++) {
      const existing = await this.#readCrd();
      try {
        if (!existing) {
          await busyRetry(() => this.#client.create(CRDS, body));
        } else {
          outcome = 'updated';
          await busyRetry(() => this.#client.replace(CRDS, { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } }));
        }
        break;
      } catch (e) {
        // Another replica installing it at the same time: read again and retry.
        if (!(e instanceof StoreApiError && e.status === 409) || attempt >= 5) throw e;
      }
    }
    const deadline = Date.now() + timeoutMs;
    while (!(await this.crdEstablished())) {
      if (Date.now() > deadline) throw new FusemlError('TIMEOUT', `crd ${name} not established ${Math.round(timeoutMs / 1000)}s after its installation`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return outcome;
  }

  // ---- listing with a resourceVersion, and watches (the store's cache, ./cache.ts)

  /** The objects matching `labelSelector` and the resourceVersion of the listing (to watch from). */
  async listObjectsAt(labelSelector: string): Promise<Listing<StoredObject>> {
    const list = await busyRetry(() => this.#client.list<RawObject>(EXTENSIONS, { namespace: this.namespace, labelSelector, pageSize: PAGE_SIZE }));
    return { items: list.items.map(toObject), resourceVersion: list.resourceVersion };
  }

  /** The Secrets matching `labelSelector` and the resourceVersion of the listing. */
  async listSecretsAt(labelSelector: string): Promise<Listing<StoredSecret>> {
    const list = await busyRetry(() => this.#client.list<RawSecret>(SECRETS, { namespace: this.namespace, labelSelector, pageSize: PAGE_SIZE }));
    return { items: list.items.map(toSecret), resourceVersion: list.resourceVersion };
  }

  /** Watches FusemlExtension objects from `resourceVersion` (see #watch()). */
  watchObjects(labelSelector: string, resourceVersion: string, handlers: WatchHandlers<StoredObject>): Promise<WatchHandle> {
    return this.#watch(EXTENSIONS, labelSelector, resourceVersion, (o) => toObject(o as RawObject), handlers);
  }

  /** Watches Secrets from `resourceVersion` (see #watch()). */
  watchSecrets(labelSelector: string, resourceVersion: string, handlers: WatchHandlers<StoredSecret>): Promise<WatchHandle> {
    return this.#watch(SECRETS, labelSelector, resourceVersion, (o) => toSecret(o as RawSecret), handlers);
  }

  /**
   * One watch request. Resolves once the API server has answered (the stream is open: `handlers.connected` was
   * called) or the request failed (`handlers.ended` was called). `ended` is called exactly once: with undefined
   * when the server closed the stream normally (its timeoutSeconds), with `gone` true when the resourceVersion
   * is too old (410: list again), else with the error. Events are handed over in the order the server sent them.
   */
  async #watch<T>(type: typeof SECRETS, labelSelector: string, resourceVersion: string, convert: (o: KubeObject) => T, handlers: WatchHandlers<T>): Promise<WatchHandle> {
    const path = this.#client.path(type, this.namespace);
    let ended = false;
    let watch: Watch | undefined;
    // The server ends every watch after WATCH_TIMEOUT_S: one still open well past that is a connection to an API
    // server that stopped answering (hung, or a network partition without a reset) — end it as an error.
    const silent = setTimeout(
      () => end(new StoreApiError('CLUSTER', `watch ${path}: no end from the API server after ${WATCH_TIMEOUT_S + WATCH_GRACE_S}s`, undefined, '', undefined), false),
      (WATCH_TIMEOUT_S + WATCH_GRACE_S) * 1000,
    );
    silent.unref();
    const end = (err: StoreApiError | undefined, gone: boolean): void => {
      if (ended) return;
      ended = true;
      clearTimeout(silent);
      watch?.stop();
      handlers.ended(err, gone);
    };
    const asError = (e: unknown): StoreApiError =>
      e instanceof StoreApiError ? e : new StoreApiError('CLUSTER', `watch ${path}: ${(e as Error).message}`, undefined, '', e);
    const gone = (e: StoreApiError): boolean => e.status === 410 || e.reason === 'Expired' || e.reason === 'Gone';
    try {
      watch = await this.#client.watch<KubeObject>(type, { namespace: this.namespace, labelSelector, resourceVersion, timeoutSeconds: WATCH_TIMEOUT_S }, (kind, obj) => {
        if (ended) return;
        if (kind === 'ADDED' || kind === 'MODIFIED' || kind === 'DELETED') handlers.event({ type: kind, item: convert(obj) });
        else if (kind === 'BOOKMARK') {
          const rv = obj?.metadata?.resourceVersion;
          if (rv) handlers.event({ type: kind, resourceVersion: rv });
        }
      });
    } catch (e) {
      const err = asError(e);
      end(err, gone(err));
      return { stop: () => undefined };
    }
    watch.done.then(
      () => end(undefined, false),
      (e: unknown) => {
        const err = asError(e);
        end(err, gone(err));
      },
    );
    if (ended) watch.stop();
    else handlers.connected();
    return { stop: () => end(undefined, false) };
  }
}
