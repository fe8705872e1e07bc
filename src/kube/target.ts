/**
 * Which cluster, as kubectl and helm decide it: the one module that resolves
 * `--kubeconfig`, `--context`, $KUBECONFIG and ~/.kube/config into a target,
 * and the flags every child process (helm, kubectl, scripts) gets so that it
 * acts on the same one. No @kubernetes/client-node here (cheap to import).
 *
 * kubectl's rules (client-go's loading rules), followed exactly:
 * - `--kubeconfig FILE`: that file only (it must exist); no merging.
 * - else $KUBECONFIG, a `:`-separated list: files that do not exist are
 *   skipped; the files are merged, and the FIRST file that sets a value wins —
 *   for `current-context` and for a cluster, user or context of a given name
 *   (a name repeated in a later file is ignored, not an error).
 * - else ~/.kube/config; else, inside a pod, the service account (in-cluster).
 * - `--context NAME` picks a context of the merged config, else its
 *   current-context. Relative file paths in a kubeconfig (certificate-authority,
 *   client-certificate, client-key, tokenFile) are relative to the file that
 *   defines them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FusemlError } from '../core/errors.js';

export interface KubeAccess {
  /** --kubeconfig: one file, used alone. */
  kubeconfig?: string | undefined;
  /** --context: a context name of the (merged) kubeconfig. */
  context?: string | undefined;
}

type Named = { name: string; [k: string]: unknown };

export interface KubeTarget {
  /** The kubeconfig files read, in order ([] in-cluster). */
  files: string[];
  /** true when --kubeconfig named the file (children get --kubeconfig too). */
  explicitFile: boolean;
  /** The context used; undefined in-cluster. */
  context: string | undefined;
  /** The context's default namespace, when it sets one. */
  namespace: string | undefined;
  cluster: string | undefined;
  user: string | undefined;
  /** The API server URL. */
  server: string;
  /** A kubeconfig holding only the chosen context, its cluster and user (paths made absolute); undefined in-cluster. */
  minimal: Record<string, unknown> | undefined;
  inCluster: boolean;
}

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const HINT = 'pass --kubeconfig FILE and/or --context NAME (as for kubectl), or set KUBECONFIG';

const PATH_FIELDS: Record<'cluster' | 'user', readonly string[]> = {
  cluster: ['certificate-authority'],
  user: ['client-certificate', 'client-key', 'tokenFile'],
};

function absolutize(kind: 'cluster' | 'user', entry: Named, dir: string): Named {
  const inner = (entry[kind] ?? {}) as Record<string, unknown>;
  const copy = { ...inner };
  for (const f of PATH_FIELDS[kind]) {
    const v = copy[f];
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) copy[f] = resolve(dir, v);
  }
  return { ...entry, [kind]: copy };
}

interface Merged {
  currentContext: string | undefined;
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
}

function readKubeconfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FusemlError('CLUSTER', `cannot read the kubeconfig ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: HINT });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    const pos = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new FusemlError('CLUSTER', `the kubeconfig ${file}${pos ? `:${pos.line}:${pos.col}` : ''} is not valid YAML`, { hint: HINT });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new FusemlError('CLUSTER', `the kubeconfig ${file} is not a mapping`, { hint: HINT });
  return doc as Record<string, unknown>;
}

/** Merges kubeconfig documents with kubectl's rule: the first file to set a value wins. */
export function mergeKubeconfigs(docs: readonly { file: string; doc: Record<string, unknown> }[]): Merged {
  const m: Merged = { currentContext: undefined, clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const { file, doc } of docs) {
    const dir = dirname(file);
    const cc = doc['current-context'];
    if (m.currentContext === undefined && typeof cc === 'string' && cc !== '') m.currentContext = cc;
    for (const [key, map, kind] of [
      ['clusters', m.clusters, 'cluster'],
      ['users', m.users, 'user'],
      ['contexts', m.contexts, 'context'],
    ] as const) {
      const list = doc[key];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) throw new FusemlError('CLUSTER', `the kubeconfig ${file}: ${key} is not a list`, { hint: HINT });
      for (const raw of list as unknown[]) {
        const e = raw as Named | null;
        if (!e || typeof e.name !== 'string' || e.name === '' || map.has(e.name)) continue;
        map.set(e.name, kind === 'context' ? e : absolutize(kind, e, dir));
      }
    }
  }
  return m;
}

/** The kubeconfig files kubectl would read, in order, and whether --kubeconfig named them. */
export function kubeconfigFiles(access: KubeAccess, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): { files: string[]; explicit: boolean } {
  if (access.kubeconfig) {
    const f = resolve(access.kubeconfig);
    if (!existsSync(f)) throw new FusemlError('CLUSTER', `--kubeconfig ${access.kubeconfig}: no such file`, { hint: HINT });
    return { files: [f], explicit: true };
  }
  const list = env.KUBECONFIG;
  if (list !== undefined && list !== '') {
    // kubectl skips missing files of the list (and fails only when none is left and a context is needed).
    const files = [...new Set(list.split(delimiter).filter((f) => f !== '').map((f) => resolve(f)))].filter((f) => existsSync(f));
    return { files, explicit: false };
  }
  const def = join(home, '.kube', 'config');
  return { files: existsSync(def) ? [def] : [], explicit: false };
}

/** Resolves the target cluster exactly as kubectl would for the same flags and environment. */
export function resolveKubeTarget(access: KubeAccess = {}, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): KubeTarget {
  const { files, explicit } = kubeconfigFiles(access, env, home);
  if (files.length === 0) {
    if (!access.context && env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
      const host = env.KUBERNETES_SERVICE_HOST;
      const port = env.KUBERNETES_SERVICE_PORT ?? '443';
      const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
      return { files: [], explicitFile: false, context: undefined, namespace: undefined, cluster: undefined, user: undefined, server, minimal: undefined, inCluster: true };
    }
    const where = env.KUBECONFIG ? `none of the files in KUBECONFIG (${env.KUBECONFIG}) exists` : `no kubeconfig (${join(home, '.kube', 'config')} does not exist, KUBECONFIG is not set)`;
    throw new FusemlError('CLUSTER', `no cluster configured: ${where}`, { hint: HINT });
  }
  const merged = mergeKubeconfigs(files.map((file) => ({ file, doc: readKubeconfig(file) })));
  const source = explicit ? `the kubeconfig ${files[0]}` : files.length > 1 ? `the kubeconfigs ${files.join(delimiter)}` : `the kubeconfig ${files[0]}`;
  const name = access.context || merged.currentContext;
  if (!name) {
    throw new FusemlError('CLUSTER', `${source} sets no current-context`, { hint: `pass --context NAME (contexts: ${[...merged.contexts.keys()].join(', ') || 'none'})` });
  }
  const ctx = merged.contexts.get(name);
  if (!ctx) {
    throw new FusemlError('CLUSTER', `${source} has no context "${name}"${access.context ? ' (--context)' : ' (its current-context)'}`, {
      hint: `contexts: ${[...merged.contexts.keys()].join(', ') || 'none'}`,
    });
  }
  const c = (ctx.context ?? {}) as { cluster?: string; user?: string; namespace?: string };
  const cluster = c.cluster ? merged.clusters.get(c.cluster) : undefined;
  if (!cluster) throw new FusemlError('CLUSTER', `context "${name}" of ${source} names ${c.cluster ? `cluster "${c.cluster}", which is not defined` : 'no cluster'}`, { hint: HINT });
  const server = String((cluster.cluster as { server?: unknown } | undefined)?.server ?? '');
  if (!server) throw new FusemlError('CLUSTER', `cluster "${cluster.name}" of ${source} has no server`, { hint: HINT });
  // A context without a user (or naming an undefined one) is anonymous, as for kubectl.
  const user = c.user ? merged.users.get(c.user) : undefined;
  const userEntry: Named = user ?? { name: c.user || 'anonymous', user: {} };
  const minimal = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': name,
    clusters: [cluster],
    users: [userEntry],
    contexts: [{ name, context: { ...c, user: userEntry.name } }],
  };
  return { files, explicitFile: explicit, context: name, namespace: c.namespace || undefined, cluster: cluster.name, user: c.user || undefined, server, minimal, inCluster: false };
}

/** The flags and environment a child process gets so that it acts on `target`, never on what it would guess. */
export interface ChildKubeAccess {
  /** Before helm's sub-command arguments: --kubeconfig FILE (when given) and --kube-context NAME. */
  helm: string[];
  /** Before kubectl's: --kubeconfig FILE (when given) and --context NAME. */
  kubectl: string[];
  /** KUBECONFIG (the exact files read) and FUSEML_KUBE_CONTEXT, for every child including scripts. */
  env: Record<string, string>;
}

export function childKubeAccess(target: KubeTarget): ChildKubeAccess {
  if (target.inCluster) return { helm: [], kubectl: [], env: {} };
  const file = target.explicitFile ? ['--kubeconfig', target.files[0] as string] : [];
  const ctx = target.context as string;
  return {
    helm: [...file, '--kube-context', ctx],
    kubectl: [...file, '--context', ctx],
    env: { KUBECONFIG: target.files.join(delimiter), FUSEML_KUBE_CONTEXT: ctx },
  };
}

/** `context NAME (SERVER)`: the target in one phrase, for progress lines and messages. */
export function describeTarget(target: KubeTarget): string {
  return target.inCluster ? `in-cluster (${target.server})` : `context ${target.context} (${target.server})`;
}
