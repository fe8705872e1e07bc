/**
 * Reading an extension's declared outputs from the cluster: a literal value, a
 * script's output, a Secret or ConfigMap key, a Service or Ingress address
 * (waiting for a LoadBalancer address until the deadline), or a JSONPath of
 * any object (through kubectl, which knows every kind from discovery).
 */
import { FusemlError } from '../core/errors.js';
import type { OutputSpec } from '../core/extension.js';
import { sleep } from '../core/sleep.js';
import { run } from '../exec/index.js';
import { resourceType, type KubeObject, type ResourceClient } from '../kube/resources.js';
import { childKubeAccess, type KubeTarget } from '../kube/target.js';
import { pickServicePort } from './cluster.js';
import type { OutputContext } from './cluster.js';

const SECRETS = resourceType('v1', 'Secret');
const CONFIG_MAPS = resourceType('v1', 'ConfigMap');
const SERVICES = resourceType('v1', 'Service');
const INGRESSES = resourceType('networking.k8s.io/v1', 'Ingress');

interface LoadBalancer {
  loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
}
type Service = KubeObject & { spec?: { ports?: { name?: string; port: number }[] }; status?: LoadBalancer };
type Ingress = KubeObject & { spec?: { rules?: { host?: string }[]; tls?: unknown[] }; status?: LoadBalancer };

/** What readOutput needs: the resource client, and for JSONPath outputs kubectl on the same target. */
export interface OutputReader {
  client: ResourceClient;
  target: KubeTarget;
  kubectl: string;
}

async function must<T>(what: string, read: Promise<T | undefined>, kind: string, ns: string, name: string): Promise<T> {
  const v = await read;
  if (v === undefined) throw new FusemlError('NOT_FOUND', `${what}: ${kind} ${ns}/${name} not found`);
  return v;
}

export async function readOutput(r: OutputReader, name: string, spec: OutputSpec, ctx: OutputContext): Promise<string> {
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
    const obj = await must(what, r.client.get<KubeObject & { data?: Record<string, string> }>(spec.secret ? SECRETS : CONFIG_MAPS, ref.name, ns), kind, ns, ref.name);
    const data = spec.secret ? Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : obj.data;
    const v = data?.[ref.key];
    if (v === undefined) throw new FusemlError('NOT_FOUND', `${what}: ${kind} ${ns}/${ref.name} has no key "${ref.key}" (keys: ${Object.keys(data ?? {}).sort().join(', ') || 'none'})`);
    return v;
  }
  if (spec.service) {
    const s = spec.service;
    const ns = s.namespace ?? ctx.namespace;
    for (;;) {
      const svc = await must(what, r.client.get<Service>(SERVICES, s.name, ns), 'Service', ns, s.name);
      const ports = svc.spec?.ports ?? [];
      const port = pickServicePort(ports, s.port);
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
      const ing = await must(what, r.client.get<Ingress>(INGRESSES, s.name, ns), 'Ingress', ns, s.name);
      const host = ing.spec?.rules?.find((x) => x.host)?.host ?? ing.status?.loadBalancer?.ingress?.[0]?.hostname ?? ing.status?.loadBalancer?.ingress?.[0]?.ip;
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
    const access = childKubeAccess(r.target);
    const out = await run(r.kubectl, [...access.kubectl, 'get', kind, j.name, '--namespace', ns, '-o', `jsonpath=${j.path}`], {
      env: access.env,
      timeoutMs: 60_000,
      signal: ctx.signal,
    }).catch((e: unknown) => {
      throw new FusemlError('NOT_FOUND', `${what}: ${(e as Error).message.split('\n')[0]}`);
    });
    // Never echo the value: it may be sensitive.
    if (out.stdout === '') throw new FusemlError('NOT_FOUND', `${what}: ${j.path} of ${j.kind} ${ns}/${j.name} is empty`);
    return out.stdout.replace(/\n$/, '');
  }
  throw new FusemlError('VALIDATION', `${what}: no source`);
}
