/**
 * Server-side apply of arbitrary objects (a Job, a Secret, an Argo Workflow…)
 * through the KubeClient's connection: `PATCH` with
 * `application/apply-patch+yaml`, field manager `fuseml`, conflicts forced
 * (fuseml owns what it renders).
 */
import { FusemlError } from '../core/errors.js';
import { kubeError, type KubeClient } from './client.js';

export const FIELD_MANAGER = 'fuseml';

export interface ApplyOptions {
  /** Ask the API server to validate only (`dryRun=All`): nothing is stored. */
  dryRun?: boolean | undefined;
}

export interface Applied {
  kind: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
}

type Obj = { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };

/** Applies the objects in order; the first failure stops (earlier ones stay applied) and names the object. */
export async function serverSideApply(k: KubeClient, objects: readonly Record<string, unknown>[], options: ApplyOptions = {}): Promise<Applied[]> {
  const api = k.k8s.KubernetesObjectApi.makeApiClient(k.config);
  const out: Applied[] = [];
  for (const o of objects) {
    const m = (o as Obj).metadata ?? {};
    const what = `${String((o as Obj).kind)} ${m.namespace ? `${String(m.namespace)}/` : ''}${String(m.name)}`;
    if (typeof m.name !== 'string' || m.name === '') throw new FusemlError('USAGE', `${what}: server-side apply needs metadata.name (not generateName)`);
    try {
      const res = await api.patch(
        o as import('@kubernetes/client-node').KubernetesObject,
        undefined,
        options.dryRun ? 'All' : undefined,
        FIELD_MANAGER,
        true,
        k.k8s.PatchStrategy.ServerSideApply,
      );
      out.push({ kind: String(res.kind ?? (o as Obj).kind), name: res.metadata?.name ?? m.name, namespace: res.metadata?.namespace, uid: res.metadata?.uid });
    } catch (e) {
      throw kubeError(e, `apply ${what}`);
    }
  }
  return out;
}

/** Deletes the objects (absent is fine), in reverse order; Jobs with their Pods (background propagation). */
export async function deleteObjects(k: KubeClient, objects: readonly Record<string, unknown>[]): Promise<void> {
  const api = k.k8s.KubernetesObjectApi.makeApiClient(k.config);
  for (const o of [...objects].reverse()) {
    try {
      await api.delete(o as import('@kubernetes/client-node').KubernetesObject, undefined, undefined, undefined, undefined, 'Background');
    } catch (e) {
      const status = (e as { code?: unknown } | null)?.code;
      if (status !== 404) throw kubeError(e, `delete ${String((o as Obj).kind)} ${String((o as Obj).metadata?.name)}`);
    }
  }
}
