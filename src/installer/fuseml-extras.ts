/**
 * FuseML descriptors' `gateways` and `rolerules`, honoured the way FuseML's
 * installer does (fuseml/fuseml, deployments/extensions.go), as generated
 * manifest steps added to an extension's plan once the cluster is known:
 *
 * - `gateways`: with Istio on the cluster (the networking.istio.io Gateway
 *   kind exists) and a domain (`--gateway-domain`, FuseML's system_domain),
 *   an Istio Gateway `<name>-gateway` (port 80, host `<name>.<domain>` or
 *   `<hostprefix>.<domain>`) and a VirtualService routing `/` to
 *   `<servicehost>:<port>`, in the gateway's namespace (default: the
 *   extension's). FuseML creates them only when Istio is there; we say so.
 * - `rolerules`: FuseML adds them to the role of its workloads namespace, so
 *   workflow steps may use the extension's API. We create a Role
 *   `fuseml-ext-<name>` with those rules in the workloads namespace
 *   (`--workloads-namespace`, default fuseml-workloads) bound to every
 *   service account of that namespace — when the namespace exists.
 *
 * Whatever cannot be honoured is returned as a warning, never skipped silently.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { Extension } from '../core/extension.js';
import { isDns1123Label } from '../core/names.js';
import { run } from '../exec/index.js';
import type { ExtensionPlan, Plan, PlannedManifest } from './plan.js';

export const DEFAULT_WORKLOADS_NAMESPACE = 'fuseml-workloads';
export const GATEWAYS_STEP = 'fuseml-gateways';
export const ROLERULES_STEP = 'fuseml-rolerules';

export interface ClusterFacts {
  /** The Istio Gateway kind is served. */
  istio: boolean;
  /** The workloads namespace exists. */
  workloadsNamespace: boolean;
}

export interface ExtrasOptions {
  gatewayDomain?: string | undefined;
  workloadsNamespace?: string | undefined;
  /** Planning an uninstall: remove what an install may have created (objects are deleted by name; no warnings). */
  uninstall?: boolean | undefined;
}

const sha = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex');

/** Istio Gateway + VirtualService documents for an extension's gateways. */
export function gatewayDocuments(ext: Extension, namespace: string, domain: string): Record<string, unknown>[] {
  return ext.gateways.flatMap((g) => {
    const ns = g.namespace ?? namespace;
    const host = `${g.hostprefix ?? g.name}.${domain}`;
    const labels = { 'app.kubernetes.io/name': g.name, 'app.kubernetes.io/managed-by': 'fuseml-installer', 'fuseml.io/extension': ext.name };
    const docs: Record<string, unknown>[] = [
      {
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'Gateway',
        metadata: { name: `${g.name}-gateway`, namespace: ns, labels },
        spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [host] }] },
      },
    ];
    // Without a service host (e.g. seldon's "*.seldon"), FuseML only opens the gateway for the workloads' own routes.
    if (g.servicehost) {
      docs.push({
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'VirtualService',
        metadata: { name: g.name, namespace: ns, labels },
        spec: {
          hosts: [host],
          gateways: [`${g.name}-gateway`],
          http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: g.servicehost, ...(g.port ? { port: { number: g.port } } : {}) } }] }],
        },
      });
    }
    return docs;
  });
}

/** A Role with the extension's rules, bound to every service account of the workloads namespace. */
export function roleDocuments(ext: Extension, workloadsNamespace: string): Record<string, unknown>[] {
  const name = `fuseml-ext-${ext.name}`;
  const labels = { 'app.kubernetes.io/managed-by': 'fuseml-installer', 'fuseml.io/extension': ext.name };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: workloadsNamespace, labels },
      rules: ext.rolerules.map((r) => ({ apiGroups: r.apigroups ?? [''], resources: r.resources ?? [], verbs: r.verbs ?? [] })),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: workloadsNamespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `system:serviceaccounts:${workloadsNamespace}` }],
    },
  ];
}

function manifestStep(id: string, phase: 'install' | 'uninstall', namespace: string, docs: Record<string, unknown>[]): PlannedManifest {
  const step: Omit<PlannedManifest, 'digest'> = {
    id,
    phase,
    namespace,
    timeoutMs: 120_000,
    waitFor: [],
    type: 'manifest',
    action: phase === 'install' ? 'apply' : 'delete',
    files: [{ source: `${id} (generated from the descriptor)`, content: docs.map((d) => stringify(d)).join('---\n') }],
  };
  return { ...step, digest: sha(step) };
}

/**
 * Adds the generated steps the cluster allows to each extension plan (install:
 * appended; uninstall: first) and returns a warning for everything it cannot honour.
 */
export function addFusemlExtras(plan: Plan, facts: ClusterFacts, opts: ExtrasOptions = {}): string[] {
  const warnings: string[] = [];
  const workloads = opts.workloadsNamespace ?? DEFAULT_WORKLOADS_NAMESPACE;
  for (const p of plan.extensions.values()) addTo(p, facts, workloads, opts.uninstall ? (opts.gatewayDomain ?? 'localhost') : opts.gatewayDomain, warnings);
  return opts.uninstall ? [] : warnings;
}

function addTo(p: ExtensionPlan, facts: ClusterFacts, workloads: string, domain: string | undefined, warnings: string[]): void {
  const ext = p.ext;
  if (ext.gateways.length > 0) {
    const names = ext.gateways.map((g) => g.name).join(', ');
    if (!facts.istio) {
      warnings.push(`${ext.name}: gateways ${names} not created: the cluster has no Istio (kind Gateway of networking.istio.io); FuseML creates them only with Istio too. Reach the services through their cluster URLs or your own ingress.`);
    } else if (!domain) {
      warnings.push(`${ext.name}: gateways ${names} not created: Istio is there but no domain was given (--gateway-domain, FuseML's system_domain)`);
    } else {
      // One step per namespace: kubectl refuses objects of another namespace than --namespace.
      const byNs = new Map<string, Record<string, unknown>[]>();
      for (const d of gatewayDocuments(ext, p.namespace, domain)) {
        const ns = (d.metadata as { namespace: string }).namespace;
        byNs.set(ns, [...(byNs.get(ns) ?? []), d]);
      }
      for (const [ns, docs] of byNs) {
        const id = `${GATEWAYS_STEP}-${ns}`;
        p.install.push(manifestStep(id, 'install', ns, docs));
        p.uninstall.unshift(manifestStep(`undo-${id}`, 'uninstall', ns, docs));
        if (!p.namespaces.includes(ns) && isDns1123Label(ns)) p.namespaces.push(ns);
      }
    }
  }
  if (ext.rolerules.length > 0) {
    if (!facts.workloadsNamespace) {
      warnings.push(`${ext.name}: rolerules not applied: the workloads namespace ${workloads} does not exist (FuseML adds these rules to the role of its workloads; pass --workloads-namespace to name yours)`);
    } else {
      p.install.push(manifestStep(ROLERULES_STEP, 'install', workloads, roleDocuments(ext, workloads)));
      p.uninstall.unshift(manifestStep(`undo-${ROLERULES_STEP}`, 'uninstall', workloads, roleDocuments(ext, workloads)));
    }
  }
}

/** Asks the cluster (through kubectl) what the extras need; only when some extension has gateways or rolerules. */
export async function probeCluster(plan: Plan, kubectl: string, access: { kubectl: readonly string[]; env: Record<string, string> }, opts: ExtrasOptions = {}): Promise<ClusterFacts> {
  const exts = [...plan.extensions.values()].map((p) => p.ext);
  const out = async (args: string[]): Promise<string> => {
    // The installer's target (--kubeconfig / --context), as for every other kubectl it runs.
    const r = await run(kubectl, [...access.kubectl, ...args, '--request-timeout=20s'], { env: access.env, allowFailure: true, timeoutMs: 30_000 });
    return r.exitCode === 0 ? r.stdout : '';
  };
  const istio = exts.some((e) => e.gateways.length > 0) && (await out(['api-resources', '--api-group=networking.istio.io', '-o', 'name'])).split('\n').some((l) => l.trim().startsWith('gateways.'));
  const ns = opts.workloadsNamespace ?? DEFAULT_WORKLOADS_NAMESPACE;
  const workloadsNamespace = exts.some((e) => e.rolerules.length > 0) && (await out(['get', 'namespace', ns, '-o', 'name', '--ignore-not-found'])).trim() !== '';
  return { istio, workloadsNamespace };
}
