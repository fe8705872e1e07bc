/**
 * The installer's ClusterBackend on a real cluster, over src/kube's generic
 * resource client (plain JSON straight to the API server): install records
 * (./records.ts), the Lease lock (./lock.ts), namespaces we create
 * (./namespaces.ts), output reads (./outputs.ts), and here the bounded waits
 * and the diagnosis of a wait that does not progress. Every API failure is a
 * FusemlError from src/kube's one mapper (CLUSTER when the API server cannot
 * be reached, with a hint about the kubeconfig).
 */
import { FusemlError } from '../core/errors.js';
import type { OutputSpec } from '../core/extension.js';
import { sleep } from '../core/sleep.js';
import { run } from '../exec/index.js';
import { kubeError } from '../kube/errors.js';
import { daemonSetReadiness, deploymentReadiness, statefulSetReadiness, type DaemonSetLike, type DeploymentLike, type Readiness, type StatefulSetLike } from '../kube/ready.js';
import { ResourceClient, resourceType, type KubeObject } from '../kube/resources.js';
import { childKubeAccess, type KubeTarget } from '../kube/target.js';
import { DEFAULT_INSTALLER_NAMESPACE, type ClusterBackend, type InstallRecord, type Lock, type LockOptions, type OutputContext } from './cluster.js';
import { acquireLock } from './lock.js';
import { deleteNamespaceIfOurs, ensureNamespace } from './namespaces.js';
import { readOutput } from './kube-outputs.js';
import type { PlannedWait } from './plan.js';
import { deleteRecord, readPrivate, readRecords, writePrivate, writeRecord } from './records.js';

export { lockHolder } from './lock.js';

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

const FORBIDDEN_HINT = 'the kubeconfig user needs rights on secrets, leases and namespaces';

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

type WithConditions = KubeObject & { status?: { conditions?: Condition[] } };

interface Pod extends KubeObject {
  status?: {
    conditions?: Condition[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}
interface ContainerStatus {
  name: string;
  state?: { waiting?: { reason?: string; message?: string } };
}
type Claim = KubeObject & { spec?: { storageClassName?: string }; status?: { phase?: string } };

const R = {
  namespaces: resourceType('v1', 'Namespace'),
  pods: resourceType('v1', 'Pod'),
  claims: resourceType('v1', 'PersistentVolumeClaim'),
  deployments: resourceType('apps/v1', 'Deployment'),
  statefulSets: resourceType('apps/v1', 'StatefulSet'),
  daemonSets: resourceType('apps/v1', 'DaemonSet'),
  jobs: resourceType('batch/v1', 'Job'),
  storageClasses: resourceType('storage.k8s.io/v1', 'StorageClass'),
};

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
  #client?: Promise<ResourceClient>;
  #nsReady?: Promise<void>;
  readonly #told = new Set<string>();

  constructor(options: KubeBackendOptions) {
    this.#o = options;
    this.namespace = options.installerNamespace ?? DEFAULT_INSTALLER_NAMESPACE;
  }

  #api(): Promise<ResourceClient> {
    this.#client ??= ResourceClient.connect({ target: this.#o.target, forbiddenHint: FORBIDDEN_HINT });
    return this.#client;
  }

  async ping(): Promise<void> {
    await (await this.#api()).list(R.namespaces, { limit: 1 });
  }

  async #installerNamespace(): Promise<void> {
    this.#nsReady ??= this.ensureNamespace(this.namespace, '').then(() => undefined);
    return this.#nsReady;
  }

  // ---- namespaces (./namespaces.ts)

  async ensureNamespace(namespace: string, extension: string, signal?: AbortSignal): Promise<boolean> {
    return ensureNamespace(await this.#api(), namespace, extension, {
      terminatingWaitMs: this.#o.terminatingWaitMs ?? 5 * 60_000,
      signal,
      onTerminating: () => {
        if (this.#told.has(namespace)) return;
        this.#told.add(namespace);
        this.#o.onInfo?.(`namespace ${namespace} is being deleted (Terminating): waiting until it is gone`);
      },
    });
  }

  async deleteNamespaceIfOurs(namespace: string): Promise<boolean> {
    return deleteNamespaceIfOurs(await this.#api(), namespace, this.namespace);
  }

  // ---- install records (./records.ts)

  async readRecords(): Promise<InstallRecord[]> {
    return readRecords(await this.#api(), this.namespace);
  }

  async writeRecord(record: InstallRecord): Promise<void> {
    await this.#installerNamespace();
    await writeRecord(await this.#api(), this.namespace, record);
  }

  async deleteRecord(extension: string): Promise<void> {
    await deleteRecord(await this.#api(), this.namespace, extension);
  }

  async readPrivate(extension: string): Promise<Record<string, string>> {
    return readPrivate(await this.#api(), this.namespace, extension);
  }

  async writePrivate(extension: string, data: Record<string, string>): Promise<void> {
    await this.#installerNamespace();
    await writePrivate(await this.#api(), this.namespace, extension, data);
  }

  // ---- lock (./lock.ts)

  async acquireLock(opts: LockOptions): Promise<Lock> {
    await this.#installerNamespace();
    return acquireLock(await this.#api(), this.namespace, this.#o.leaseSeconds ?? 30, opts);
  }

  // ---- waits

  /** Ready when every matching object meets the condition; none matching yet is "not ready". */
  async #check(w: PlannedWait): Promise<{ ready: boolean; detail: string; failed?: string }> {
    const client = await this.#api();
    const kind = w.kind.toLowerCase();
    const ns = w.namespace;
    const matching = async <T>(type: typeof R.pods): Promise<T[]> => {
      if (!w.name) return (await client.list<T>(type, { namespace: ns, labelSelector: w.selector })).items;
      const one = await client.get<T>(type, w.name, ns);
      return one === undefined ? [] : [one];
    };
    const cond = (conds: Condition[] | undefined, type: string): Condition | undefined => conds?.find((c) => c.type === type);
    switch (kind) {
      case 'deployment': {
        const items = await matching<DeploymentLike>(R.deployments);
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        const type = w.condition ?? 'Available';
        const rs = items.map((d) => deploymentReadiness(d, type));
        const failed = rs.find((r) => r.failed);
        if (failed) return { ready: false, detail: '', failed: failed.failed };
        return summary(rs, items, 'deployments');
      }
      case 'statefulset': {
        const items = await matching<StatefulSetLike>(R.statefulSets);
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        return summary(items.map(statefulSetReadiness), items, 'statefulsets');
      }
      case 'daemonset': {
        const items = await matching<DaemonSetLike>(R.daemonSets);
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        return summary(items.map(daemonSetReadiness), items, 'daemonsets');
      }
      case 'pod': {
        const items = await matching<WithConditions>(R.pods);
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        const type = w.condition ?? 'Ready';
        const ok = items.filter((p) => cond(p.status?.conditions, type)?.status === 'True');
        return { ready: ok.length === items.length, detail: `${ok.length}/${items.length} pods ${type}` };
      }
      case 'job': {
        const items = await matching<WithConditions>(R.jobs);
        if (items.length === 0) return { ready: false, detail: 'not found yet' };
        const failed = items.find((j) => cond(j.status?.conditions, 'Failed')?.status === 'True');
        if (failed) return { ready: false, detail: '', failed: `job ${failed.metadata?.name} failed` };
        const type = w.condition ?? 'Complete';
        const ok = items.filter((j) => cond(j.status?.conditions, type)?.status === 'True');
        return { ready: ok.length === items.length, detail: `${ok.length}/${items.length} jobs ${type}` };
      }
      default: {
        // Any other kind (e.g. a CRD's): kubectl knows the API group from discovery.
        const target = w.name ? [`${w.kind}/${w.name}`] : w.all ? [w.kind, '--all'] : [w.kind, '-l', w.selector as string];
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
    const client = await this.#api();
    const out: string[] = [];
    const all = <T>(type: typeof R.pods): Promise<T[]> => client.list<T>(type, { namespace }).then((l) => l.items, () => []);
    const [pvcs, pods, jobs] = await Promise.all([all<Claim>(R.claims), all<Pod>(R.pods), all<WithConditions>(R.jobs)]);
    const pending = pvcs.filter((c) => c.status?.phase === 'Pending');
    if (pending.length > 0) {
      // A claim naming no class binds only through the default StorageClass (or a matching PersistentVolume).
      let hasDefault = false;
      try {
        const scs = await client.list(R.storageClasses);
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

  // ---- outputs (./outputs.ts)

  async readOutput(name: string, spec: OutputSpec, ctx: OutputContext): Promise<string> {
    return readOutput({ client: await this.#api(), target: this.#o.target, kubectl: this.#o.kubectl }, name, spec, ctx);
  }
}
