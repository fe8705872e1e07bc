/**
 * Namespaces the installer creates (labelled managed-by fuseml, so only those
 * are ever deleted), over src/kube's generic resource client.
 */
import { FusemlError } from '../core/errors.js';
import { httpStatus } from '../kube/errors.js';
import { resourceType, type KubeObject, type ResourceClient } from '../kube/resources.js';
import { sleep } from '../core/sleep.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from './cluster.js';

const NAMESPACES = resourceType('v1', 'Namespace');

interface RawNamespace extends KubeObject {
  status?: { phase?: string; conditions?: { status?: string; message?: string }[] };
}

export interface EnsureNamespaceOptions {
  /** How long to wait for a Terminating namespace to go before re-creating it. */
  terminatingWaitMs: number;
  /** Called once when the wait for a Terminating namespace starts. */
  onTerminating?: (() => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** Creates `namespace` (labelled ours, annotated with the extension it was created for); false when it existed. */
export async function ensureNamespace(client: ResourceClient, namespace: string, extension: string, options: EnsureNamespaceOptions): Promise<boolean> {
  // A namespace still being deleted (e.g. right after an uninstall) refuses new objects: wait until it is gone.
  const deadline = Date.now() + options.terminatingWaitMs;
  let told = false;
  for (;;) {
    const ns = await client.get<RawNamespace>(NAMESPACES, namespace);
    if (!ns) break;
    if (ns.status?.phase !== 'Terminating') return false;
    if (Date.now() >= deadline) {
      const why = (ns.status?.conditions ?? []).filter((c) => c.status === 'True' && c.message).map((c) => c.message).join('; ');
      throw new FusemlError('TIMEOUT', `namespace ${namespace} is still being deleted (Terminating) after ${Math.round(options.terminatingWaitMs / 1000)}s${why ? `: ${why}` : ''}`, {
        hint: `wait until \`kubectl get namespace ${namespace}\` says NotFound, then run the install again`,
      });
    }
    if (!told) {
      told = true;
      options.onTerminating?.();
    }
    await sleep(1000, options.signal);
  }
  try {
    await client.create(NAMESPACES, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
        ...(extension ? { annotations: { 'fuseml.io/created-for': extension } } : {}),
      },
    });
    return true;
  } catch (e) {
    if (httpStatus(e) === 409) return false; // created meanwhile (by a parallel step of ours, or someone else)
    throw e;
  }
}

/** Deletes `namespace` if the installer created it (and it is not `keep`); false when it was not ours or absent. */
export async function deleteNamespaceIfOurs(client: ResourceClient, namespace: string, keep: string): Promise<boolean> {
  const ns = await client.get(NAMESPACES, namespace);
  if (!ns || ns.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY || namespace === keep) return false;
  return client.delete(NAMESPACES, namespace);
}
