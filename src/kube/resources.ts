/**
 * A generic Kubernetes resource client: get, list, create, replace, patch,
 * delete and watch any resource, named by apiVersion and kind (or group,
 * version and plural), plain JSON in and out, every failure mapped by the one
 * mapper in ./errors.ts.
 *
 * It talks to the API server directly (node:https, one keep-alive agent) with
 * the TLS material and credentials of the target (./target.ts): the cluster's
 * CA, a client certificate, a bearer token (also from a tokenFile, re-read so a
 * rotated token is picked up), basic auth, or the in-cluster service account.
 * Only a user that needs a credential plugin (`exec`, `auth-provider`) or a
 * proxy makes it load @kubernetes/client-node, to let the library produce the
 * request options — every other process never loads that library (it costs
 * ~400 ms and ~40 MiB).
 *
 * A watch is one streamed GET (?watch=1): a JSON object per line, handed over
 * in order; the caller decides what to do on its end (re-watch, or re-list on
 * 410 Gone).
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { FusemlError } from '../core/errors.js';
import { KubeApiError, kubeError, type KubeErrorOptions } from './errors.js';
import { SERVICE_ACCOUNT_TOKEN, resolveKubeTarget, type KubeAccess, type KubeTarget } from './target.js';

const SERVICE_ACCOUNT_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** A resource type: `apiVersion` (`v1`, `apps/v1`, `registry.fuseml.io/v1alpha1`) and its plural (URL) name. */
export interface ResourceType {
  apiVersion: string;
  plural: string;
  /** false for cluster-scoped resources (Namespace, StorageClass, CRD): no namespace in the path. */
  namespaced: boolean;
}

/** The plural (URL) name of a kind, guessed as the API server's own naming does (and kubectl without discovery). */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  if (k === 'endpoints') return k; // the one built-in kind already plural
  if (k.endsWith('s') || k.endsWith('x') || k.endsWith('z') || k.endsWith('ch') || k.endsWith('sh')) return `${k}es`;
  if (k.endsWith('y') && !/[aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'IngressClass']);

/** A resource type from apiVersion and kind; cluster scope is known for the built-in kinds, else given. */
export function resourceType(apiVersion: string, kind: string, namespaced: boolean = !CLUSTER_SCOPED.has(kind)): ResourceType {
  return { apiVersion, plural: pluralOf(kind), namespaced };
}

/** A resource type from group, version and plural (`''` is the core group). */
export function groupResource(group: string, version: string, plural: string, namespaced = true): ResourceType {
  return { apiVersion: group === '' ? version : `${group}/${version}`, plural, namespaced };
}

/** A Kubernetes object as plain JSON. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

export interface ListOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /**
   * Read the collection in pages of this many objects (limit/continue), concatenated: one consistent snapshot, and
   * no single huge response held in memory at once. A continue token that expired meanwhile is a 410 error.
   */
  pageSize?: number | undefined;
  /** At most this many objects, one request (no paging). */
  limit?: number | undefined;
}

export interface Listed<T = KubeObject> {
  items: T[];
  /** The resourceVersion the list was read at (to watch from). */
  resourceVersion: string;
}

export interface DeleteOptions {
  /** Delete only if the object is still at this resourceVersion (409 otherwise). */
  resourceVersion?: string | undefined;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' | undefined;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const PATCH_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface WatchOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Watch from this resourceVersion (that of a listing, or of the last event seen). */
  resourceVersion: string;
  /** The server ends the watch after this many seconds (default 300). */
  timeoutSeconds?: number | undefined;
  /** Ask for BOOKMARK events (progress without a change); default true. */
  bookmarks?: boolean | undefined;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface Watch {
  /**
   * Settles when the watch ends: undefined when the server closed the stream (its timeout) or stop() was called;
   * rejected with a KubeApiError when it failed — `status` 410 (reason Expired/Gone) when the resourceVersion is too
   * old (list again). An ERROR event ends the watch the same way.
   */
  readonly done: Promise<void>;
  stop(): void;
}

export interface ResourceClientOptions extends KubeAccess {
  /** Already resolved (resolveKubeTarget); kubeconfig and context are then ignored. */
  target?: KubeTarget | undefined;
  /** For 403s: the rights the caller needs (see KubeErrorOptions). */
  forbiddenHint?: string | undefined;
  /** Per-request timeout (not for watches); default 30 s. */
  timeoutMs?: number | undefined;
}

type Entry = Record<string, unknown>;

interface Transport {
  url: URL;
  /** Options for one request: TLS material, agent, headers (Authorization). */
  options(): Promise<RequestOptions>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function fileOrData(data: unknown, file: unknown, what: string): Buffer | undefined {
  const d = str(data);
  if (d) return Buffer.from(d, 'base64');
  const f = str(file);
  if (!f) return undefined;
  try {
    return readFileSync(f);
  } catch (e) {
    throw new FusemlError('CLUSTER', `cannot read the kubeconfig's ${what} ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'check --kubeconfig / --context / KUBECONFIG',
      cause: e,
    });
  }
}

/** The request options for a kubeconfig target without credential plugins; undefined when client-node is needed. */
function directTransport(target: KubeTarget): Transport | undefined {
  if (target.inCluster) {
    const url = new URL(target.server);
    const agent = new Agent({ keepAlive: true, ca: readFileSync(SERVICE_ACCOUNT_CA) });
    let token: { value: string; at: number } | undefined;
    return {
      url,
      async options() {
        // The projected service-account token is rotated by the kubelet: re-read it every minute.
        if (!token || Date.now() - token.at > 60_000) token = { value: readFileSync(SERVICE_ACCOUNT_TOKEN, 'utf8').trim(), at: Date.now() };
        return { agent, headers: { authorization: `Bearer ${token.value}` } };
      },
    };
  }
  const min = target.minimal as { clusters: { cluster?: Entry }[]; users: { user?: Entry }[] };
  const cluster = min.clusters[0]?.cluster ?? {};
  const user = min.users[0]?.user ?? {};
  if (user.exec || user['auth-provider'] || cluster['proxy-url']) return undefined;
  const url = new URL(String(cluster.server));
  const insecure = cluster['insecure-skip-tls-verify'] === true;
  const tls = {
    ca: fileOrData(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate-authority'),
    cert: fileOrData(user['client-certificate-data'], user['client-certificate'], 'client-certificate'),
    key: fileOrData(user['client-key-data'], user['client-key'], 'client-key'),
    rejectUnauthorized: !insecure,
    servername: str(cluster['tls-server-name']),
  };
  const agent = url.protocol === 'http:' ? new HttpAgent({ keepAlive: true }) : new Agent({ keepAlive: true, ...tls });
  const staticHeaders: Record<string, string> = {};
  const token = str(user.token);
  if (token) staticHeaders.authorization = `Bearer ${token}`;
  else if (str(user.username)) staticHeaders.authorization = `Basic ${Buffer.from(`${String(user.username)}:${String(user.password ?? '')}`).toString('base64')}`;
  const tokenFile = token ? undefined : str(user.tokenFile);
  let fileToken: { value: string; at: number } | undefined;
  return {
    url,
    async options() {
      if (tokenFile) {
        if (!fileToken || Date.now() - fileToken.at > 60_000) {
          fileToken = { value: (fileOrData(undefined, tokenFile, 'tokenFile') as Buffer).toString('utf8').trim(), at: Date.now() };
        }
        return { agent, headers: { authorization: `Bearer ${fileToken.value}` } };
      }
      return { agent, headers: { ...staticHeaders } };
    },
  };
}

/** A credential plugin or proxy: @kubernetes/client-node produces the options (it runs the plugin, caches its token). */
async function libraryTransport(target: KubeTarget): Promise<Transport> {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  config.loadFromString(JSON.stringify(target.minimal));
  const url = new URL(config.getCurrentCluster()?.server ?? target.server);
  const agent = new Agent({ keepAlive: true });
  return {
    url,
    async options() {
      const opts: RequestOptions = { agent, headers: {} };
      await config.applyToHTTPSOptions(opts);
      return opts;
    },
  };
}

/** The API server's Status body of a failed request, parsed when it is one. */
function failure(status: number, text: string): Error & { code: number; body: unknown } {
  let body: unknown = text.slice(0, 2000);
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: kept as text */
  }
  return Object.assign(new Error(`HTTP ${status}`), { code: status, body });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

export class ResourceClient {
  readonly target: KubeTarget;
  /** The default namespace: the context's, the service account's in-cluster, else `default`. */
  readonly namespace: string;
  readonly #transport: Transport;
  readonly #errors: KubeErrorOptions;
  readonly #timeoutMs: number;

  private constructor(target: KubeTarget, transport: Transport, options: ResourceClientOptions) {
    this.target = target;
    this.#transport = transport;
    this.#errors = { forbiddenHint: options.forbiddenHint };
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    let ns = target.namespace;
    if (!ns && target.inCluster) {
      try {
        ns = readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
      } catch {
        /* no namespace file: default */
      }
    }
    this.namespace = ns ?? 'default';
  }

  /** Resolves the target as kubectl does (./target.ts). No request is made yet. */
  static async connect(options: ResourceClientOptions = {}): Promise<ResourceClient> {
    const target = options.target ?? resolveKubeTarget({ kubeconfig: options.kubeconfig, context: options.context });
    let transport: Transport | undefined;
    try {
      transport = directTransport(target) ?? (await libraryTransport(target));
    } catch (e) {
      if (e instanceof FusemlError) throw e;
      throw new FusemlError('CLUSTER', `cannot load ${target.files.join(', ') || 'the in-cluster configuration'}: ${(e as Error).message.split('\n')[0]}`, {
        hint: 'check --kubeconfig / --context / KUBECONFIG',
        cause: e,
      });
    }
    return new ResourceClient(target, transport, options);
  }

  /** The API server URL. */
  get server(): string {
    return this.target.server;
  }

  /** The path of a collection (no name) or of an object. */
  path(type: ResourceType, namespace?: string, name?: string): string {
    const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
    const ns = type.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? this.namespace)}` : '';
    return `${base}${ns}/${type.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  }

  #what(verb: string, type: ResourceType, namespace?: string, name?: string): string {
    const ns = namespace ?? this.namespace;
    if (name !== undefined) return `${verb} ${type.plural} ${type.namespaced ? `${ns}/` : ''}${name}`;
    return type.namespaced ? `${verb} ${type.plural} in ${ns}` : `${verb} ${type.plural}`;
  }

  /** Opens a request; resolves with the response once its headers came. */
  async #open(method: string, path: string, query: Record<string, string | number | boolean | undefined>, body: unknown, contentType: string, timeoutMs: number | undefined, signal?: AbortSignal): Promise<{ res: IncomingMessage; abort: () => void }> {
    const opts = await this.#transport.options();
    const base = this.#transport.url;
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.set(k, String(v));
    const prefix = base.pathname.replace(/\/$/, '');
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json', ...(opts.headers as Record<string, string>) };
    if (data !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = String(Buffer.byteLength(data));
    }
    const send = base.protocol === 'http:' ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send({
        ...opts,
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || (base.protocol === 'http:' ? 80 : 443),
        method,
        path: `${prefix}${path}${qs.size ? `?${qs}` : ''}`,
        headers,
        ...(signal ? { signal } : {}),
      });
      if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${Math.round(timeoutMs / 1000)}s`)));
      req.on('error', reject);
      req.on('response', (res) => resolve({ res, abort: () => req.destroy() }));
      req.end(data);
    });
  }

  /** One request; the parsed JSON answer, or a KubeApiError (the one mapping). */
  async request<T = unknown>(method: string, path: string, what: string, options: { query?: Record<string, string | number | boolean | undefined>; body?: unknown; contentType?: string } = {}): Promise<T> {
    try {
      const { res } = await this.#open(method, path, options.query ?? {}, options.body, options.contentType ?? 'application/json', this.#timeoutMs);
      const text = await readAll(res);
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) throw failure(status, text);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (e) {
      throw kubeError(e, what, this.#errors);
    }
  }

  /** The object, or undefined when it does not exist. */
  async get<T = KubeObject>(type: ResourceType, name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', this.path(type, namespace, name), this.#what('get', type, namespace, name));
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async list<T = KubeObject>(type: ResourceType, options: ListOptions = {}): Promise<Listed<T>> {
    const items: T[] = [];
    let resourceVersion = '';
    let next: string | undefined;
    do {
      const page = await this.request<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>('GET', this.path(type, options.namespace), this.#what('list', type, options.namespace), {
        query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: options.pageSize ?? options.limit, continue: next },
      });
      for (const item of page.items ?? []) items.push(item);
      resourceVersion = page.metadata?.resourceVersion || resourceVersion;
      next = options.pageSize ? page.metadata?.continue || undefined : undefined;
    } while (next);
    return { items, resourceVersion };
  }

  /** Creates the object (namespace: its metadata.namespace, else the default); 409 AlreadyExists when it exists. */
  async create<T = KubeObject>(type: ResourceType, body: KubeObject, options: { dryRun?: boolean } = {}): Promise<T> {
    const ns = body.metadata?.namespace;
    return this.request<T>('POST', this.path(type, ns), this.#what('create', type, ns, body.metadata?.name), { body, query: { dryRun: options.dryRun ? 'All' : undefined } });
  }

  /** Replaces the object; with metadata.resourceVersion set, only if it is still at that version (409 otherwise). */
  async replace<T = KubeObject>(type: ResourceType, body: KubeObject): Promise<T> {
    const ns = body.metadata?.namespace;
    const name = String(body.metadata?.name ?? '');
    return this.request<T>('PUT', this.path(type, ns, name), this.#what('replace', type, ns, name), { body });
  }

  /** Patches the object (merge, strategic merge, JSON patch, or server-side apply with a field manager). */
  async patch<T = KubeObject>(type: ResourceType, name: string, patch: unknown, options: { namespace?: string | undefined; type?: PatchType; fieldManager?: string; force?: boolean; dryRun?: boolean } = {}): Promise<T> {
    const kind = options.type ?? 'merge';
    return this.request<T>('PATCH', this.path(type, options.namespace, name), this.#what('patch', type, options.namespace, name), {
      body: patch,
      contentType: PATCH_TYPES[kind],
      query: { fieldManager: options.fieldManager, force: options.force, dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /** Deletes the object: false when it did not exist (a failed precondition is a 409 error). */
  async delete(type: ResourceType, name: string, namespace?: string, options: DeleteOptions = {}): Promise<boolean> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.resourceVersion) body.preconditions = { resourceVersion: options.resourceVersion };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    try {
      await this.request('DELETE', this.path(type, namespace, name), this.#what('delete', type, namespace, name), { body });
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return false;
      throw e;
    }
  }

  /**
   * Watches a collection from `options.resourceVersion`; `onEvent` gets each event in order (objects as plain
   * JSON; for ERROR the Status). Resolves once the server answered (the stream is open); see Watch.done.
   */
  async watch<T = KubeObject>(type: ResourceType, options: WatchOptions, onEvent: (type: WatchEventType, object: T) => void): Promise<Watch> {
    const what = this.#what('watch', type, options.namespace);
    const query = {
      watch: 1,
      resourceVersion: options.resourceVersion,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      allowWatchBookmarks: options.bookmarks === false ? undefined : true,
      timeoutSeconds: options.timeoutSeconds ?? 300,
    };
    let opened: { res: IncomingMessage; abort: () => void };
    try {
      opened = await this.#open('GET', this.path(type, options.namespace), query, undefined, 'application/json', undefined);
    } catch (e) {
      throw kubeError(e, what, this.#errors);
    }
    const { res, abort } = opened;
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const text = await readAll(res).catch(() => '');
      throw kubeError(failure(status, text), what, this.#errors);
    }
    let stopped = false;
    const done = new Promise<void>((resolve, reject) => {
      let rest = '';
      let settled = false;
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        if (err === undefined || stopped) resolve();
        else reject(kubeError(err, what, this.#errors));
        abort();
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (settled || stopped) return;
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl).trim();
          rest = rest.slice(nl + 1);
          if (line === '') continue;
          let ev: { type: WatchEventType; object: unknown };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch (e) {
            return finish(new Error(`unreadable watch event (${(e as Error).message})`));
          }
          if (ev.type === 'ERROR') {
            const s = ev.object as { code?: number; reason?: string; message?: string };
            onEvent('ERROR', ev.object as T);
            return finish(Object.assign(new Error(s?.message ?? 'watch error'), { code: s?.code, body: s }));
          }
          try {
            onEvent(ev.type, ev.object as T);
          } catch (e) {
            return finish(e instanceof FusemlError ? e : new Error(`watch handler failed: ${(e as Error).message}`));
          }
          if (settled || stopped) return;
        }
      });
      res.on('end', () => finish());
      res.on('error', (e) => finish(e));
      res.on('close', () => finish(res.complete ? undefined : new Error('the watch connection was closed')));
    });
    return {
      done,
      stop: () => {
        stopped = true;
        abort();
      },
    };
  }
}
