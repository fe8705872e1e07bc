/**
 * The installer's ClusterBackend over @kubernetes/client-node (imported lazily,
 * only here under src/kube): install records (labelled Secrets), the Lease
 * lock, namespaces we create (labelled; only those are deleted), bounded waits
 * and output reads. Every API failure becomes a FusemlError (CLUSTER when the
 * API server cannot be reached, with a hint about the kubeconfig).
 */
import { hostname, userInfo } from 'node:os';
import { FusemlError } from '../core/errors.js';
import type { OutputSpec } from '../core/extension.js';
import { run } from '../exec/index.js';
import {
  DEFAULT_INSTALLER_NAMESPACE,
  EXTENSION_LABEL,
  LEASE_NAME,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  RECORD_LABEL,
  type ClusterBackend,
  type InstallRecord,
  type Lock,
  type LockOptions,
  type OutputContext,
} from './cluster.js';
import type { PlannedWait } from './plan.js';
import { httpStatus, kubeError as mapKubeError } from '../kube/errors.js';
import { childKubeAccess, type KubeTarget } from '../kube/target.js';
import { daemonSetReadiness, deploymentReadiness, statefulSetReadiness, type Readiness } from '../kube/ready.js';

type K8s = typeof import('@kubernetes/client-node');

export interface KubeBackendOptions {
  /** The cluster (resolveKubeTarget: --kubeconfig, --context, KUBECONFIG as kubectl does); kubectl gets the same. */
  target: KubeTarget;
  installerNamespace?: string | undefined;
  kubectl: string;
  /** Lease duration; the holder renews at a third of it. */
  leaseSeconds?: number | undefined;
  pollMs?: number | undefined;
  /** How long install waits for a Terminating namespace to go before re-creating it (default 5 min). */
  terminatingWaitMs?: number | undefined;
  /** Progress notes (e.g. waiting for a Terminating namespace); at most one per reason and namespace. */
  onInfo?: ((message: string) => void) | undefined;
}

const RECORD_KEY = 'record.json';
const recordName = (ext: string): string => `fuseml-ext-${ext}`;

const statusOf = httpStatus;

/** A failed call as a FusemlError (the one mapping in ./errors.ts); a 403 names the rights the installer needs. */
export function kubeError(e: unknown, what: string): FusemlError {
  return mapKubeError(e, what, { forbiddenHint: 'the kubeconfig user needs rights on secrets, leases and namespaces' });
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((res, rej) => {
    if (signal?.aborted) return rej(new FusemlError('CANCELLED', 'cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      rej(new FusemlError('CANCELLED', 'cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** Several objects' readiness as one wait result: the first not-ready object says what is awaited. */
function summary(rs: Readiness[], items: { metadata?: { name?: string | undefined } | undefined }[], plural: string): { ready: boolean; detail: string } {
  const i = rs.findIndex((r) => !r.ready);
  const ok = rs.filter((r) => r.ready).length;
  return { ready: i < 0, detail: `${ok}/${rs.length} ${plural} ready${i >= 0 ? `; ${items[i]?.metadata?.name ?? '?'}: ${rs[i]?.reason}` : ''}` };
}

const DEFAULT_CONDITION: Record<string, string> = { deployment: 'Available', pod: 'Ready', job: 'Complete' };

export class KubeInstallerCluster implements ClusterBackend {
  readonly namespace: string;
  readonly #o: KubeBackendOptions;
  #apis?: Promise<{ k8s: K8s; core: import('@kubernetes/client-node').CoreV1Api; apps: import('@kubernetes/client-node').AppsV1Api; batch: import('@kubernetes/client-node').BatchV1Api; net: import('@kubernetes/client-node').NetworkingV1Api; coord: import('@kubernetes/client-node').CoordinationV1Api; storage: import('@kubernetes/client-node').StorageV1Api }>;
  #nsReady?: Promise<void>;
  readonly #told = new Set<string>();

  constructor(options: KubeBackendOptions) {
    this.#o = options;
    this.namespace = options.installerNamespace ?? DEFAULT_INSTALLER_NAMESPACE;
  }

  #api() {
    this.#apis ??= (async () => {
      const { KubeClient } = await import('../kube/client.js');
      const client = await KubeClient.connect({ target: this.#o.target });
      const { k8s, config: kc } = client;
      return {
        k8s,
        core: kc.makeApiClient(k8s.CoreV1Api),
        apps: kc.makeApiClient(k8s.AppsV1Api),
        batch: kc.makeApiClient(k8s.BatchV1Api),
        net: kc.makeApiClient(k8s.NetworkingV1Api),
        coord: kc.makeApiClient(k8s.CoordinationV1Api),
        storage: kc.makeApiClient(k8s.StorageV1Api),
      };
    })();
    return this.#apis;
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw kubeError(e, what);
    }
  }

  async ping(): Promise<void> {
    const { core } = await this.#api();
    await this.#call('list namespaces', () => core.listNamespace({ limit: 1 }));
  }

  async #installerNamespace(): Promise<void> {
    this.#nsReady ??= this.ensureNamespace(this.namespace, '').then(() => undefined);
    return this.#nsReady;
  }

  // ---- namespaces

  async ensureNamespace(namespace: string, extension: string, signal?: AbortSignal): Promise<boolean> {
    const { core } = await this.#api();
    // A namespace still being deleted (e.g. right after an uninstall) refuses new objects: wait until it is gone.
    const deadline = Date.now() + (this.#o.terminatingWaitMs ?? 5 * 60_000);
    for (;;) {
      let ns;
      try {
        ns = await core.readNamespace({ name: namespace });
      } catch (e) {
        if (statusOf(e) !== 404) throw kubeError(e, `read namespace ${namespace}`);
        break;
      }
      if (ns.status?.phase !== 'Terminating') return false;
      if (Date.now() >= deadline) {
        const why = (ns.status?.conditions ?? []).filter((c) => c.status === 'True' && c.message).map((c) => c.message).join('; ');
        throw new FusemlError('TIMEOUT', `namespace ${namespace} is still being deleted (Terminating) after ${Math.round((this.#o.terminatingWaitMs ?? 5 * 60_000) / 1000)}s${why ? `: ${why}` : ''}`, {
          hint: `wait until \`kubectl get namespace ${namespace}\` says NotFound, then run the install again`,
        });
      }
      if (!this.#told.has(namespace)) {
        this.#told.add(namespace);
        this.#o.onInfo?.(`namespace ${namespace} is being deleted (Terminating): waiting until it is gone`);
      }
      await sleep(1000, signal);
    }
    try {
      await core.createNamespace({
        body: {
          metadata: {
            name: namespace,
            labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
            ...(extension ? { annotations: { 'fuseml.io/created-for': extension } } : {}),
          },
        },
      });
      return true;
    } catch (e) {
      if (statusOf(e) === 409) return false; // created meanwhile (by a parallel step of ours, or someone else)
      throw kubeError(e, `create namespace ${namespace}`);
    }
  }

  async deleteNamespaceIfOurs(namespace: string): Promise<boolean> {
    const { core } = await this.#api();
    let ns;
    try {
      ns = await core.readNamespace({ name: namespace });
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw kubeError(e, `read namespace ${namespace}`);
    }
    if (ns.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY || namespace === this.namespace) return false;
    try {
      await core.deleteNamespace({ name: namespace });
      return true;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw kubeError(e, `delete namespace ${namespace}`);
    }
  }

  // ---- install records

  async readRecords(): Promise<InstallRecord[]> {
    const { core } = await this.#api();
    let list;
    try {
      list = await core.listNamespacedSecret({ namespace: this.namespace, labelSelector: `${RECORD_LABEL}=true` });
    } catch (e) {
      if (statusOf(e) === 404) return [];
      throw kubeError(e, `list install records in ${this.namespace}`);
    }
    const out: InstallRecord[] = [];
    for (const s of list.items) {
      const raw = s.data?.[RECORD_KEY];
      if (!raw) continue;
      try {
        out.push(JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as InstallRecord);
      } catch {
        // A damaged record is ignored (and overwritten by the next install).
      }
    }
    return out.sort((a, b) => a.extension.localeCompare(b.extension));
  }

  async writeRecord(record: InstallRecord): Promise<void> {
    await this.#installerNamespace();
    const { core } = await this.#api();
    const name = recordName(record.extension);
    const body = {
      metadata: {
        name,
        namespace: this.namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [RECORD_LABEL]: 'true', [EXTENSION_LABEL]: record.extension },
      },
      type: 'fuseml.io/install-record',
      data: { [RECORD_KEY]: Buffer.from(JSON.stringify(record)).toString('base64') },
    };
    try {
      await core.replaceNamespacedSecret({ name, namespace: this.namespace, body });
    } catch (e) {
      if (statusOf(e) !== 404) throw kubeError(e, `write install record ${name}`);
      await this.#call(`create install record ${name}`, () => core.createNamespacedSecret({ namespace: this.namespace, body }));
    }
  }

  async deleteRecord(extension: string): Promise<void> {
    const { core } = await this.#api();
    try {
      await core.deleteNamespacedSecret({ name: recordName(extension), namespace: this.namespace });
    } catch (e) {
      if (statusOf(e) !== 404) throw kubeError(e, `delete install record of ${extension}`);
    }
  }

  // ---- lock

  async acquireLock(opts: LockOptions): Promise<Lock> {
    await this.#installerNamespace();
    const { coord, k8s } = await this.#api();
    const duration = this.#o.leaseSeconds ?? 30;
    const deadline = Date.now() + opts.timeoutMs;
    const spec = () => ({ holderIdentity: opts.holder, leaseDurationSeconds: duration, acquireTime: new k8s.V1MicroTime(), renewTime: new k8s.V1MicroTime() });
    let told = false;
    for (;;) {
      let lease;
      try {
        lease = await coord.readNamespacedLease({ name: LEASE_NAME, namespace: this.namespace });
      } catch (e) {
        if (statusOf(e) !== 404) throw kubeError(e, 'read the installer lock');
      }
      if (!lease) {
        try {
          await coord.createNamespacedLease({ namespace: this.namespace, body: { metadata: { name: LEASE_NAME, namespace: this.namespace }, spec: spec() } });
          break;
        } catch (e) {
          if (statusOf(e) !== 409) throw kubeError(e, 'create the installer lock');
          continue;
        }
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string).getTime() : 0;
      const expired = !holder || Date.now() > renewed + (lease.spec?.leaseDurationSeconds ?? duration) * 1000;
      if (expired || holder === opts.holder) {
        try {
          await coord.replaceNamespacedLease({ name: LEASE_NAME, namespace: this.namespace, body: { metadata: { name: LEASE_NAME, namespace: this.namespace, resourceVersion: lease.metadata?.resourceVersion }, spec: spec() } });
          break;
        } catch (e) {
          if (statusOf(e) !== 409) throw kubeError(e, 'take the installer lock');
          continue;
        }
      }
      if (Date.now() >= deadline) {
        const since = lease.spec?.acquireTime ? ` since ${new Date(lease.spec.acquireTime as unknown as string).toISOString()}` : '';
        throw new FusemlError('LOCKED', `another installer holds the lock on this cluster: ${holder}${since}`, {
          hint: `wait for it to finish, or pass --lock-timeout 10m to wait; a killed installer's lock expires after ${duration}s`,
        });
      }
      if (!told) {
        opts.onWait?.(holder);
        told = true;
      }
      await sleep(Math.min(1000, Math.max(50, deadline - Date.now())), opts.signal);
    }
    // Renew until released.
    let stopped = false;
    const timer = setInterval(() => {
      void (async () => {
        try {
          const l = await coord.readNamespacedLease({ name: LEASE_NAME, namespace: this.namespace });
          if (stopped || l.spec?.holderIdentity !== opts.holder) return;
          await coord.replaceNamespacedLease({ name: LEASE_NAME, namespace: this.namespace, body: { ...l, spec: { ...l.spec, renewTime: new k8s.V1MicroTime() } } });
        } catch {
          // The next renewal tries again; the lease outlives a missed one.
        }
      })();
    }, Math.max(1000, (duration * 1000) / 3));
    timer.unref();
    return {
      release: async () => {
        stopped = true;
        clearInterval(timer);
        try {
          const l = await coord.readNamespacedLease({ name: LEASE_NAME, namespace: this.namespace });
          if (l.spec?.holderIdentity === opts.holder) {
            await coord.deleteNamespacedLease({ name: LEASE_NAME, namespace: this.namespace, body: { preconditions: { resourceVersion: l.metadata?.resourceVersion } } });
          }
        } catch {
          // Gone already, or taken over after expiry.
        }
      },
    };
  }

  // ---- waits

  /** Ready when every matching object meets the condition; none matching yet is "not ready". */
  async #check(w: PlannedWait): Promise<{ ready: boolean; detail: string; failed?: string }> {
    const { core, apps, batch } = await this.#api();
    const kind = w.kind.toLowerCase();
    const ns = w.namespace;
    const one = <T>(read: () => Promise<T>, list: () => Promise<{ items: T[] }>): Promise<T[]> =>
      w.name
        ? read().then(
            (x) => [x],
            (e) => {
              if (statusOf(e) === 404) return [];
              throw e;
            },
          )
        : list().then((l) => l.items);
    const sel = w.selector;
    const cond = (conds: Condition[] | undefined, type: string): Condition | undefined => conds?.find((c) => c.type === type);
    switch (kind) {
      case 'deployment': {
        const items = await one(() => apps.readNamespacedDeployment({ name: w.name as string, namespace: ns }), () => apps.listNamespacedDeployment({ namespace: ns, labelSelector: sel }));
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        const type = w.condition ?? 'Available';
        const rs = items.map((d) => deploymentReadiness(d, type));
        const failed = rs.find((r) => r.failed);
        if (failed) return { ready: false, detail: '', failed: failed.failed };
        return summary(rs, items, 'deployments');
      }
      case 'statefulset': {
        const items = await one(() => apps.readNamespacedStatefulSet({ name: w.name as string, namespace: ns }), () => apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: sel }));
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        return summary(items.map(statefulSetReadiness), items, 'statefulsets');
      }
      case 'daemonset': {
        const items = await one(() => apps.readNamespacedDaemonSet({ name: w.name as string, namespace: ns }), () => apps.listNamespacedDaemonSet({ namespace: ns, labelSelector: sel }));
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        return summary(items.map(daemonSetReadiness), items, 'daemonsets');
      }
      case 'pod': {
        const items = await one(() => core.readNamespacedPod({ name: w.name as string, namespace: ns }), () => core.listNamespacedPod({ namespace: ns, labelSelector: sel }));
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        const type = w.condition ?? 'Ready';
        const ok = items.filter((p) => cond(p.status?.conditions as Condition[] | undefined, type)?.status === 'True');
        return { ready: ok.length === items.length, detail: `${ok.length}/${items.length} pods ${type}` };
      }
      case 'job': {
        const items = await one(() => batch.readNamespacedJob({ name: w.name as string, namespace: ns }), () => batch.listNamespacedJob({ namespace: ns, labelSelector: sel }));
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        const failed = items.find((j) => cond(j.status?.conditions as Condition[] | undefined, 'Failed')?.status === 'True');
        if (failed) return { ready: false, detail: '', failed: `job ${failed.metadata?.name} failed` };
        const type = w.condition ?? 'Complete';
        const ok = items.filter((j) => cond(j.status?.conditions as Condition[] | undefined, type)?.status === 'True');
        return { ready: ok.length === items.length, detail: `${ok.length}/${items.length} jobs ${type}` };
      }
      default: {
        // Any other kind (e.g. a CRD's): kubectl knows the API group from discovery.
        const target = w.name ? [`${w.kind}/${w.name}`] : w.all ? [w.kind, '--all'] : [w.kind, '-l', sel as string];
        const access = childKubeAccess(this.#o.target);
        const r = await run(this.#o.kubectl, [...access.kubectl, 'wait', ...target, '--namespace', ns, `--for=condition=${w.condition ?? 'Ready'}`, '--timeout=1s'], { env: access.env, allowFailure: true, timeoutMs: 30_000 });
        return { ready: r.exitCode === 0, detail: (r.stderr || r.stdout).trim().split('\n')[0] ?? '' };
      }
    }
  }

  async wait(w: PlannedWait, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + w.timeoutMs;
    const what = `${w.kind} ${w.name ?? (w.all ? '(all)' : `-l ${w.selector}`)} in ${w.namespace}${w.condition ?? DEFAULT_CONDITION[w.kind.toLowerCase()] ? ` (${w.condition ?? DEFAULT_CONDITION[w.kind.toLowerCase()]})` : ''}`;
    let last = '';
    for (;;) {
      let r;
      try {
        r = await this.#check(w);
      } catch (e) {
        throw kubeError(e, `waiting for ${what}`);
      }
      if (r.failed) throw new FusemlError('EXEC', `waiting for ${what}: ${r.failed}`);
      if (r.ready) return;
      last = r.detail;
      if (Date.now() >= deadline) throw new FusemlError('TIMEOUT', `waiting for ${what}: not ready after ${Math.round(w.timeoutMs / 1000)}s${last ? ` (${last})` : ''}`);
      await sleep(this.#o.pollMs ?? 500, signal);
    }
  }

  // ---- diagnosis of a wait that is not progressing

  async diagnose(namespace: string): Promise<string[]> {
    const { core, batch, storage } = await this.#api();
    const out: string[] = [];
    const [pvcs, pods, jobs] = await Promise.all([
      core.listNamespacedPersistentVolumeClaim({ namespace }).then((l) => l.items, () => []),
      core.listNamespacedPod({ namespace }).then((l) => l.items, () => []),
      batch.listNamespacedJob({ namespace }).then((l) => l.items, () => []),
    ]);
    const pending = pvcs.filter((c) => c.status?.phase === 'Pending');
    if (pending.length > 0) {
      // A claim naming no class binds only through the default StorageClass (or a matching PersistentVolume).
      let hasDefault = false;
      try {
        const scs = await storage.listStorageClass();
        hasDefault = scs.items.some((sc) => sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
      } catch {
        // no rights to read StorageClasses: say nothing about them
        hasDefault = true;
      }
      for (const c of pending) {
        const cls = c.spec?.storageClassName;
        const why = !cls && !hasDefault ? 'no StorageClass: none named and the cluster has no default; create a PersistentVolume for it or a default StorageClass' : cls ? `StorageClass ${cls}` : 'waiting for a volume';
        out.push(`PersistentVolumeClaim ${namespace}/${c.metadata?.name} Pending (${why})`);
      }
    }
    for (const p of pods) {
      const name = `${namespace}/${p.metadata?.name}`;
      const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
      if (sched?.status === 'False' && sched.reason === 'Unschedulable') out.push(`pod ${name} unschedulable: ${sched.message ?? ''}`.trim());
      for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
        const w = cs.state?.waiting;
        if (w?.reason && ['ImagePullBackOff', 'ErrImagePull', 'CrashLoopBackOff', 'CreateContainerConfigError', 'InvalidImageName'].includes(w.reason)) {
          out.push(`pod ${name} container ${cs.name}: ${w.reason}${w.message ? ` (${w.message.split('\n')[0]})` : ''}`);
        }
      }
    }
    for (const j of jobs) {
      const failed = j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed) out.push(`job ${namespace}/${j.metadata?.name} failed: ${failed.reason ?? ''}${failed.message ? ` ${failed.message}` : ''}`.trim());
    }
    return out;
  }

  // ---- outputs

  async readOutput(name: string, spec: OutputSpec, ctx: OutputContext): Promise<string> {
    const { core, net } = await this.#api();
    const what = `output ${name}`;
    if (spec.value !== undefined) return ctx.renderValue(spec.value);
    if (spec.script) {
      const v = ctx.scriptOutputs[spec.script.key];
      if (v === undefined) throw new FusemlError('NOT_FOUND', `${what}: the install script wrote no "${spec.script.key}" to $FUSEML_OUTPUTS`);
      return v;
    }
    if (spec.secret || spec.configMap) {
      const ref = (spec.secret ?? spec.configMap) as { name: string; key: string; namespace?: string };
      const ns = ref.namespace ?? ctx.namespace;
      const kind = spec.secret ? 'Secret' : 'ConfigMap';
      let data: Record<string, string> | undefined;
      try {
        data = spec.secret
          ? Object.fromEntries(Object.entries((await core.readNamespacedSecret({ name: ref.name, namespace: ns })).data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
          : (await core.readNamespacedConfigMap({ name: ref.name, namespace: ns })).data;
      } catch (e) {
        throw kubeError(e, `${what}: read ${kind} ${ns}/${ref.name}`);
      }
      const v = data?.[ref.key];
      if (v === undefined) throw new FusemlError('NOT_FOUND', `${what}: ${kind} ${ns}/${ref.name} has no key "${ref.key}" (keys: ${Object.keys(data ?? {}).sort().join(', ') || 'none'})`);
      return v;
    }
    if (spec.service) {
      const s = spec.service;
      const ns = s.namespace ?? ctx.namespace;
      for (;;) {
        const svc = await this.#call(`${what}: read Service ${ns}/${s.name}`, () => core.readNamespacedService({ name: s.name, namespace: ns }));
        const ports = svc.spec?.ports ?? [];
        const port = s.port === undefined ? ports[0] : ports.find((p) => p.name === String(s.port) || p.port === Number(s.port));
        if (!port) throw new FusemlError('NOT_FOUND', `${what}: Service ${ns}/${s.name} has no port ${s.port ?? ''} (ports: ${ports.map((p) => p.name ?? p.port).join(', ') || 'none'})`);
        const scheme = s.scheme ?? 'http';
        const path = s.path ?? '';
        if ((s.address ?? 'cluster') === 'cluster') return `${scheme}://${s.name}.${ns}.svc.cluster.local:${port.port}${path}`;
        const ing = svc.status?.loadBalancer?.ingress?.[0];
        const addr = ing?.ip ?? ing?.hostname;
        if (addr) return `${scheme}://${addr}:${port.port}${path}`;
        if (Date.now() >= ctx.deadline) throw new FusemlError('TIMEOUT', `${what}: Service ${ns}/${s.name} got no LoadBalancer address in time`, { hint: 'use address: cluster, or check the cluster has a load balancer' });
        await sleep(1000, ctx.signal);
      }
    }
    if (spec.ingress) {
      const s = spec.ingress;
      const ns = s.namespace ?? ctx.namespace;
      for (;;) {
        const ing = await this.#call(`${what}: read Ingress ${ns}/${s.name}`, () => net.readNamespacedIngress({ name: s.name, namespace: ns }));
        const host = ing.spec?.rules?.find((r) => r.host)?.host ?? ing.status?.loadBalancer?.ingress?.[0]?.hostname ?? ing.status?.loadBalancer?.ingress?.[0]?.ip;
        const scheme = s.scheme ?? (ing.spec?.tls?.length ? 'https' : 'http');
        if (host) return `${scheme}://${host}`;
        if (Date.now() >= ctx.deadline) throw new FusemlError('TIMEOUT', `${what}: Ingress ${ns}/${s.name} has no host and got no address in time`);
        await sleep(1000, ctx.signal);
      }
    }
    if (spec.jsonPath) {
      const j = spec.jsonPath;
      const ns = j.namespace ?? ctx.namespace;
      // Both reach kubectl's argument list.
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(j.name) || !/^[A-Za-z][A-Za-z0-9]*$/.test(j.kind)) {
        throw new FusemlError('VALIDATION', `${what}: "${j.kind}/${j.name}" is not a Kubernetes kind and object name`);
      }
      // kubectl's fully qualified form: KIND.VERSION.GROUP (core kinds need no qualification).
      const kind = j.apiVersion?.includes('/') ? `${j.kind}.${j.apiVersion.split('/')[1]}.${j.apiVersion.split('/')[0]}` : j.kind;
      const access = childKubeAccess(this.#o.target);
      const r = await run(this.#o.kubectl, [...access.kubectl, 'get', kind, j.name, '--namespace', ns, '-o', `jsonpath=${j.path}`], {
        env: access.env,
        timeoutMs: 60_000,
        signal: ctx.signal,
      }).catch((e: unknown) => {
        throw new FusemlError('NOT_FOUND', `${what}: ${(e as Error).message.split('\n')[0]}`);
      });
      // Never echo the value: it may be sensitive.
      if (r.stdout === '') throw new FusemlError('NOT_FOUND', `${what}: ${j.path} of ${j.kind} ${ns}/${j.name} is empty`);
      return r.stdout.replace(/\n$/, '');
    }
    throw new FusemlError('VALIDATION', `${what}: no source`);
  }
}

/** `user@host pid N`: who holds the lock, for the message a second installer prints. */
export function lockHolder(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return `${user}@${hostname()} pid ${process.pid}`;
}
