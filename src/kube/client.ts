/**
 * A small, general Kubernetes client over @kubernetes/client-node: load a
 * kubeconfig (a path, or the default: $KUBECONFIG, ~/.kube/config, in-cluster)
 * and typed reads/writes (workflow commands, server-side apply, tests; the installer
 * and the registry use the lighter generic client, ./resources.ts). The library costs
 * ~400 ms to import, so it is loaded lazily, on the first connect.
 */
import { FusemlError } from '../core/errors.js';
import { sleep } from '../core/sleep.js';
import { httpStatus, kubeError } from './errors.js';

type K8s = typeof import('@kubernetes/client-node');

export interface ConnectOptions {
  /** A kubeconfig file used alone (kubectl's --kubeconfig); default: the $KUBECONFIG list, then ~/.kube/config, then in-cluster. */
  kubeconfig?: string | undefined;
  /** A context of that kubeconfig (kubectl's --context); default: its current-context. */
  context?: string | undefined;
  /** Already resolved (resolveKubeTarget): used as is, kubeconfig and context are then ignored. */
  target?: import('./target.js').KubeTarget | undefined;
}

export interface DeploymentStatus {
  /** The Available condition is True. */
  available: boolean;
  readyReplicas: number;
  replicas: number;
  /** The Available condition's message, when present. */
  message?: string | undefined;
}

/** A Secret to create or replace: values in clear, the API server stores them base64-encoded. */
export interface SecretSpec {
  name: string;
  type?: string | undefined;
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
  stringData: Record<string, string>;
}

const HINT = 'pass --kubeconfig FILE / --context NAME (or KUBECONFIG), or start the local cluster: npm run cluster:up';

export { httpStatus, kubeError } from './errors.js';

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw kubeError(e, what);
  }
}

/** Like call(), but a 404 is `undefined` rather than an error. */
async function find<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (httpStatus(e) === 404) return undefined;
    throw kubeError(e, what);
  }
}

export class KubeClient {
  readonly k8s: K8s;
  readonly config: import('@kubernetes/client-node').KubeConfig;
  readonly core: import('@kubernetes/client-node').CoreV1Api;
  readonly apps: import('@kubernetes/client-node').AppsV1Api;

  private constructor(k8s: K8s, config: import('@kubernetes/client-node').KubeConfig) {
    this.k8s = k8s;
    this.config = config;
    this.core = config.makeApiClient(k8s.CoreV1Api);
    this.apps = config.makeApiClient(k8s.AppsV1Api);
  }

  /**
   * Resolves the target exactly as kubectl does (src/kube/target.ts: --kubeconfig, --context,
   * the KUBECONFIG list merged first-wins, ~/.kube/config, in-cluster) and loads only that context.
   * No request is made yet.
   */
  static async connect(options: ConnectOptions = {}): Promise<KubeClient> {
    const { resolveKubeTarget } = await import('./target.js');
    const target = options.target ?? resolveKubeTarget({ kubeconfig: options.kubeconfig, context: options.context });
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    try {
      if (target.minimal) config.loadFromString(JSON.stringify(target.minimal));
      else config.loadFromCluster();
    } catch (e) {
      throw new FusemlError('CLUSTER', `cannot load ${target.files.join(', ') || 'the in-cluster configuration'}: ${(e as Error).message.split('\n')[0]}`, { hint: HINT, cause: e });
    }
    const client = new KubeClient(k8s, config);
    client.target = target;
    return client;
  }

  /** Which cluster, context and files this client uses. */
  target!: import('./target.js').KubeTarget;

  /** The API server URL of the current context. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /** The server's version (gitVersion, e.g. v1.32.13); fails with CLUSTER when unreachable. */
  async serverVersion(): Promise<string> {
    const api = this.config.makeApiClient(this.k8s.VersionApi);
    const v = await call(`GET ${this.server}/version`, () => api.getCode());
    return v.gitVersion;
  }

  /** A Secret's data, base64-decoded (UTF-8), merged over its stringData; undefined when absent. */
  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const s = await find(`secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
    if (!s) return undefined;
    const out: Record<string, string> = { ...(s.stringData ?? {}) };
    for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
    return out;
  }

  /**
   * Creates or replaces a Secret (idempotent). A Secret's type is immutable, so
   * when it changes the old Secret is deleted and a new one created.
   */
  async applySecret(namespace: string, secret: SecretSpec): Promise<'created' | 'replaced'> {
    const what = `secret ${namespace}/${secret.name}`;
    const body = {
      metadata: { name: secret.name, namespace, labels: secret.labels ?? {}, annotations: secret.annotations ?? {} },
      type: secret.type,
      stringData: secret.stringData,
    };
    const existing = await find(what, () => this.core.readNamespacedSecret({ namespace, name: secret.name }));
    if (!existing) {
      await call(`create ${what}`, () => this.core.createNamespacedSecret({ namespace, body }));
      return 'created';
    }
    if ((existing.type ?? 'Opaque') !== (secret.type ?? 'Opaque')) {
      await find(`delete ${what}`, () => this.core.deleteNamespacedSecret({ namespace, name: secret.name }));
      await call(`create ${what}`, () => this.core.createNamespacedSecret({ namespace, body }));
      return 'replaced';
    }
    // stringData is merged into data by the API server: replace data wholesale so removed keys go.
    const data = Object.fromEntries(Object.entries(secret.stringData).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
    await call(`replace ${what}`, () =>
      this.core.replaceNamespacedSecret({
        namespace,
        name: secret.name,
        body: { metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion }, type: secret.type, data },
      }),
    );
    return 'replaced';
  }

  /** Names of the Secrets matching a label selector, sorted. */
  async listSecretNames(namespace: string, labelSelector: string): Promise<string[]> {
    const list = await call(`list secrets in ${namespace} (${labelSelector})`, () => this.core.listNamespacedSecret({ namespace, labelSelector }));
    return list.items.map((s) => s.metadata?.name ?? '').filter((n) => n !== '').sort();
  }

  /** A Secret's type and labels; undefined when absent. */
  async secretMeta(namespace: string, name: string): Promise<{ type: string; labels: Record<string, string> } | undefined> {
    const s = await find(`secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
    return s ? { type: s.type ?? 'Opaque', labels: s.metadata?.labels ?? {} } : undefined;
  }

  /** Deletes a Secret; absent is fine. */
  async deleteSecret(namespace: string, name: string): Promise<void> {
    await find(`delete secret ${namespace}/${name}`, () => this.core.deleteNamespacedSecret({ namespace, name }));
  }

  /** A Deployment's availability; undefined when absent. */
  async deploymentStatus(namespace: string, name: string): Promise<DeploymentStatus | undefined> {
    const d = await find(`deployment ${namespace}/${name}`, () => this.apps.readNamespacedDeployment({ namespace, name }));
    if (!d) return undefined;
    const cond = d.status?.conditions?.find((c) => c.type === 'Available');
    return {
      available: cond?.status === 'True',
      readyReplicas: d.status?.readyReplicas ?? 0,
      replicas: d.spec?.replicas ?? 1,
      message: cond?.message,
    };
  }

  /** A Service's ClusterIP ('None' for a headless one); undefined when the Service is absent. */
  async serviceClusterIP(namespace: string, name: string): Promise<string | undefined> {
    const s = await find(`service ${namespace}/${name}`, () => this.core.readNamespacedService({ namespace, name }));
    return s?.spec?.clusterIP;
  }

  async namespaceExists(name: string): Promise<boolean> {
    return (await find(`namespace ${name}`, () => this.core.readNamespace({ name }))) !== undefined;
  }

  /** Creates a namespace; an existing one is an error (CONFLICT). */
  async createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await call(`create namespace ${name}`, () => this.core.createNamespace({ body: { metadata: { name, labels } } }));
  }

  /**
   * Deletes a namespace (absent is fine). With `waitMs`, waits until it is gone
   * (the controller-manager empties it first) and fails with TIMEOUT after that long.
   */
  async deleteNamespace(name: string, options: { waitMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    await find(`delete namespace ${name}`, () => this.core.deleteNamespace({ name }));
    if (options.waitMs === undefined) return;
    const deadline = Date.now() + options.waitMs;
    while (await this.namespaceExists(name)) {
      if (Date.now() > deadline) {
        throw new FusemlError('TIMEOUT', `namespace ${name} still exists ${Math.round(options.waitMs / 1000)}s after its deletion`);
      }
      await sleep(250, options.signal);
    }
  }
}
