/**
 * The Kubernetes calls behind the registry's Kubernetes store
 * (src/registry/store/kubernetes.ts): FusemlExtension custom objects, Secrets
 * and the CustomResourceDefinition, with plain types in and out so the store
 * never sees a @kubernetes/client-node type. Writes carry a resourceVersion
 * (compare-and-swap); failures are StoreApiErrors carrying the HTTP status.
 */
import { FusemlError } from '../../../core/errors.js';
import { KubeClient, type ConnectOptions } from '../../../kube/client.js';
import { KubeApiError, KubeApiError as StoreApiError, httpStatus, kubeError } from '../../../kube/errors.js';
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

/** A failure as a KubeApiError (the one mapping in ./errors.ts), so callers can read its status. */
function apiError(e: unknown, what: string): StoreApiError {
  const k = kubeError(e, what);
  return k instanceof StoreApiError ? k : new StoreApiError(k.code, k.message, undefined, '', k);
}

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

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await busyRetry(fn);
  } catch (e) {
    throw apiError(e, what);
  }
}

async function find<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await busyRetry(fn);
  } catch (e) {
    if (httpStatus(e) === 404) return undefined;
    throw apiError(e, what);
  }
}

interface RawObject {
  metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface RawCrd {
  metadata?: { name?: string; resourceVersion?: string };
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

function toSecret(s: import('@kubernetes/client-node').V1Secret): StoredSecret {
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

export class RegistryStoreApi {
  readonly namespace: string;
  readonly server: string;
  readonly #objects: import('@kubernetes/client-node').CustomObjectsApi;
  readonly #core: import('@kubernetes/client-node').CoreV1Api;
  readonly #client: KubeClient;

  private constructor(client: KubeClient, namespace: string) {
    this.namespace = namespace;
    this.server = client.server;
    this.#client = client;
    this.#objects = client.config.makeApiClient(client.k8s.CustomObjectsApi);
    this.#core = client.core;
  }

  /** Loads the kubeconfig; the namespace defaults to the context's, then `default`. */
  static async connect(options: ConnectOptions & { namespace?: string | undefined }): Promise<RegistryStoreApi> {
    const client = await KubeClient.connect(options);
    const namespace = options.namespace ?? client.config.getContextObject(client.config.getCurrentContext())?.namespace ?? 'default';
    return new RegistryStoreApi(client, namespace);
  }

  #ref() {
    return { group: FUSEML_EXTENSION_GROUP, version: FUSEML_EXTENSION_VERSION, namespace: this.namespace, plural: FUSEML_EXTENSION_PLURAL };
  }

  #named(name: string) {
    return { ...this.#ref(), name };
  }

  #what(name: string): string {
    return `${FUSEML_EXTENSION_PLURAL} ${this.namespace}/${name}`;
  }

  async getObject(name: string): Promise<StoredObject | undefined> {
    const o = await find(`get ${this.#what(name)}`, () => this.#objects.getNamespacedCustomObject(this.#named(name)) as Promise<RawObject>);
    return o ? toObject(o) : undefined;
  }

  async listObjects(labelSelector: string | undefined): Promise<StoredObject[]> {
    const list = (await call(`list ${FUSEML_EXTENSION_PLURAL} in ${this.namespace}`, () =>
      this.#objects.listNamespacedCustomObject({ ...this.#ref(), labelSelector }),
    )) as { items?: RawObject[] };
    return (list.items ?? []).map(toObject);
  }

  /** Creates the object; an existing one fails with status 409 (reason AlreadyExists). */
  async createObject(meta: ObjectMeta, spec: Record<string, unknown>): Promise<StoredObject> {
    const body = { apiVersion: `${FUSEML_EXTENSION_GROUP}/${FUSEML_EXTENSION_VERSION}`, kind: FUSEML_EXTENSION_CRD.spec.names.kind, metadata: meta, spec };
    return toObject((await call(`create ${this.#what(meta.name)}`, () => this.#objects.createNamespacedCustomObject({ ...this.#ref(), body }))) as RawObject);
  }

  /** Replaces the object if it is still at `resourceVersion` (409 otherwise). */
  async replaceObject(meta: ObjectMeta, resourceVersion: string, spec: Record<string, unknown>): Promise<StoredObject> {
    const body = {
      apiVersion: `${FUSEML_EXTENSION_GROUP}/${FUSEML_EXTENSION_VERSION}`,
      kind: FUSEML_EXTENSION_CRD.spec.names.kind,
      metadata: { ...meta, resourceVersion },
      spec,
    };
    return toObject((await call(`replace ${this.#what(meta.name)}`, () => this.#objects.replaceNamespacedCustomObject({ ...this.#named(meta.name), body }))) as RawObject);
  }

  /** Deletes the object if it is still at `resourceVersion` (409 otherwise, 404 when absent). */
  async deleteObject(name: string, resourceVersion: string): Promise<void> {
    await call(`delete ${this.#what(name)}`, () =>
      this.#objects.deleteNamespacedCustomObject({ ...this.#named(name), body: { preconditions: { resourceVersion } } }),
    );
  }

  async getSecret(name: string): Promise<StoredSecret | undefined> {
    const s = await find(`get secret ${this.namespace}/${name}`, () => this.#core.readNamespacedSecret({ namespace: this.namespace, name }));
    return s ? toSecret(s) : undefined;
  }

  async listSecrets(labelSelector: string): Promise<StoredSecret[]> {
    const list = await call(`list secrets in ${this.namespace}`, () => this.#core.listNamespacedSecret({ namespace: this.namespace, labelSelector }));
    return list.items.map(toSecret);
  }

  /** Creates an Opaque Secret; an existing one fails with status 409. */
  async createSecret(meta: ObjectMeta, data: Record<string, string>): Promise<StoredSecret> {
    return toSecret(
      await call(`create secret ${this.namespace}/${meta.name}`, () =>
        this.#core.createNamespacedSecret({ namespace: this.namespace, body: { metadata: meta, type: 'Opaque', data: encode(data) } }),
      ),
    );
  }

  /** Replaces a Secret's data wholesale if it is still at `resourceVersion` (409 otherwise). */
  async replaceSecret(meta: ObjectMeta, resourceVersion: string, data: Record<string, string>): Promise<StoredSecret> {
    return toSecret(
      await call(`replace secret ${this.namespace}/${meta.name}`, () =>
        this.#core.replaceNamespacedSecret({
          namespace: this.namespace,
          name: meta.name,
          body: { metadata: { ...meta, resourceVersion }, type: 'Opaque', data: encode(data) },
        }),
      ),
    );
  }

  /** Deletes a Secret if it is still at `resourceVersion` (409 otherwise, 404 when absent). */
  async deleteSecret(name: string, resourceVersion: string): Promise<void> {
    await call(`delete secret ${this.namespace}/${name}`, () =>
      this.#core.deleteNamespacedSecret({ namespace: this.namespace, name, body: { preconditions: { resourceVersion } } }),
    );
  }

  // The CRD goes through the generic custom-object calls, as plain JSON: the typed CustomResourceDefinition
  // model of client-node would drop the schema's x-kubernetes-* keys it does not know in that spelling.
  #crd(name?: string) {
    return { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', ...(name === undefined ? {} : { name }) };
  }

  async #readCrd(): Promise<RawCrd | undefined> {
    const name = FUSEML_EXTENSION_CRD.metadata.name;
    return (await find(`get crd ${name}`, () => this.#objects.getClusterCustomObject({ ...this.#crd(), name }))) as RawCrd | undefined;
  }

  /** True when the FusemlExtension CRD is installed and established. */
  async crdEstablished(): Promise<boolean> {
    const crd = await this.#readCrd();
    return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  }

  /** Creates or updates the FusemlExtension CRD, then waits (≤ timeoutMs) until it is established. */
  async installCrd(timeoutMs = 30_000): Promise<'created' | 'updated'> {
    const name = FUSEML_EXTENSION_CRD.metadata.name;
    const body = structuredClone(FUSEML_EXTENSION_CRD) as unknown as RawCrd;
    let outcome: 'created' | 'updated' = 'created';
    for (let attempt = 0; ; attempt++) {
      const existing = await this.#readCrd();
      try {
        if (!existing) {
          await call(`create crd ${name}`, () => this.#objects.createClusterCustomObject({ ...this.#crd(), body }));
        } else {
          outcome = 'updated';
          const replacement = { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } };
          await call(`replace crd ${name}`, () => this.#objects.replaceClusterCustomObject({ ...this.#crd(), name, body: replacement }));
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

  // ---- listing with a resourceVersion, and watches (the store's cache, src/registry/store/kubernetes-cache.ts)

  /** The objects matching `labelSelector` and the resourceVersion of the listing (to watch from). */
  async listObjectsAt(labelSelector: string): Promise<Listing<StoredObject>> {
    const list = (await call(`list ${FUSEML_EXTENSION_PLURAL} in ${this.namespace}`, () =>
      this.#objects.listNamespacedCustomObject({ ...this.#ref(), labelSelector }),
    )) as { items?: RawObject[]; metadata?: { resourceVersion?: string } };
    return { items: (list.items ?? []).map(toObject), resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** The Secrets matching `labelSelector` and the resourceVersion of the listing. */
  async listSecretsAt(labelSelector: string): Promise<Listing<StoredSecret>> {
    const list = await call(`list secrets in ${this.namespace}`, () => this.#core.listNamespacedSecret({ namespace: this.namespace, labelSelector }));
    return { items: list.items.map(toSecret), resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** Watches FusemlExtension objects from `resourceVersion` (see watch()). */
  watchObjects(labelSelector: string, resourceVersion: string, handlers: WatchHandlers<StoredObject>): Promise<WatchHandle> {
    const path = `/apis/${FUSEML_EXTENSION_GROUP}/${FUSEML_EXTENSION_VERSION}/namespaces/${encodeURIComponent(this.namespace)}/${FUSEML_EXTENSION_PLURAL}`;
    return this.#watch(path, labelSelector, resourceVersion, (o) => toObject(o as RawObject), handlers);
  }

  /** Watches Secrets from `resourceVersion` (see watch()). */
  watchSecrets(labelSelector: string, resourceVersion: string, handlers: WatchHandlers<StoredSecret>): Promise<WatchHandle> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets`;
    return this.#watch(path, labelSelector, resourceVersion, (o) => toSecret(o as import('@kubernetes/client-node').V1Secret), handlers);
  }

  /**
   * One watch request. Resolves once the API server has answered (the stream is open: `handlers.connected` was
   * called) or the request failed (`handlers.ended` was called). `ended` is called exactly once: with undefined
   * when the server closed the stream normally (its timeoutSeconds), with `gone` true when the resourceVersion
   * is too old (410: list again), else with the error. Events are handed over in the order the server sent them.
   */
  async #watch<T>(path: string, labelSelector: string, resourceVersion: string, convert: (o: unknown) => T, handlers: WatchHandlers<T>): Promise<WatchHandle> {
    const watch = new this.#client.k8s.Watch(this.#client.config);
    let ended = false;
    const held: { controller?: AbortController } = {};
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
      held.controller?.abort();
      handlers.ended(err, gone);
    };
    const query = { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_S };
    const controller = await watch.watch(
      path,
      query,
      (type: string, obj: unknown) => {
        if (ended) return;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') handlers.event({ type, item: convert(obj) });
        else if (type === 'BOOKMARK') {
          const rv = (obj as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
          if (rv) handlers.event({ type, resourceVersion: rv });
        } else if (type === 'ERROR') {
          const status = obj as { code?: number; reason?: string; message?: string } | null;
          const gone = status?.code === 410 || status?.reason === 'Expired' || status?.reason === 'Gone';
          end(new StoreApiError('CLUSTER', `watch ${path}: ${status?.message ?? 'error'}`, status?.code, status?.reason ?? '', status), gone);
        }
      },
      (err: unknown) => {
        if (!err) return end(undefined, false);
        const status = (err as { statusCode?: unknown }).statusCode;
        const e = apiError(typeof status === 'number' ? Object.assign(err as object, { code: status }) : err, `watch ${path}`);
        end(e, e.status === 410);
      },
    );
    held.controller = controller;
    if (ended) controller.abort();
    else handlers.connected();
    return { stop: () => end(undefined, false) };
  }
}
