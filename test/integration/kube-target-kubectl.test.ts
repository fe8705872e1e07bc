/**
 * The installer's kubeconfig resolution agrees with the real kubectl's for the
 * same flags and KUBECONFIG (`kubectl config view --minify` needs no cluster).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { childKubeAccess, resolveKubeTarget } from '../../src/kube/target.js';

let dir: string;
let kubectl: string;

const config = (current: string, entries: [ctx: string, cluster: string, server: string, user: string, token: string, ns?: string][]) =>
  [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${current}`,
    'clusters:',
    ...entries.map(([, c, s]) => `- name: ${c}\n  cluster: { server: "${s}", insecure-skip-tls-verify: true }`),
    'users:',
    ...entries.map(([, , , u, t]) => `- name: ${u}\n  user: { token: "${t}" }`),
    'contexts:',
    ...entries.map(([x, c, , u, , ns]) => `- name: ${x}\n  context: { cluster: ${c}, user: ${u}${ns ? `, namespace: ${ns}` : ''} }`),
    '',
  ].join('\n');

beforeAll(async () => {
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-kubeconfig-kubectl-'));
  await mkdir(join(dir, 'home'));
  await writeFile(join(dir, 'a'), config('a1', [['a1', 'c', 'https://a.example:6443', 'u', 'tok-a'], ['a2', 'c2', 'https://a2.example:6443', 'u2', 'tok-a2', 'team']]));
  await writeFile(join(dir, 'b'), config('b1', [['b1', 'c', 'https://b.example:6443', 'u', 'tok-b'], ['a1', 'cb', 'https://shadowed:1', 'ub', 'tok-shadow'], ['b2', 'cb2', 'https://b2.example:6443', 'u2', 'tok-b2']]));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function kubectlView(args: string[], env: Record<string, string>): Promise<{ context: string; server: string; token: string; namespace: string | undefined }> {
  const r = await run(kubectl, ['config', 'view', '--minify', '--raw', '-o', 'json', ...args], { env: { HOME: join(dir, 'home'), ...env } });
  const v = JSON.parse(r.stdout) as { 'current-context': string; clusters: { cluster: { server: string } }[]; users: { user: { token: string } }[]; contexts: { context: { namespace?: string } }[] };
  return { context: v['current-context'], server: v.clusters[0]?.cluster.server ?? '', token: v.users[0]?.user.token ?? '', namespace: v.contexts[0]?.context.namespace };
}

function ours(access: { kubeconfig?: string; context?: string }, env: Record<string, string>) {
  const t = resolveKubeTarget(access, env, join(dir, 'home'));
  const m = t.minimal as { users: { user: { token: string } }[] };
  return { context: t.context as string, server: t.server, token: m.users[0]?.user.token ?? '', namespace: t.namespace };
}

describe('kubeconfig resolution = kubectl', () => {
  const cases: [string, { kubeconfig?: string; context?: string }, () => Record<string, string>][] = [
    ['KUBECONFIG=a:b', {}, () => ({ KUBECONFIG: `${dir}/a:${dir}/b` })],
    ['KUBECONFIG=b:a', {}, () => ({ KUBECONFIG: `${dir}/b:${dir}/a` })],
    ['KUBECONFIG=a:b --context b2 (user u2 defined in both: a wins)', { context: 'b2' }, () => ({ KUBECONFIG: `${dir}/a:${dir}/b` })],
    ['KUBECONFIG=b:a --context a1 (context a1 defined in both: b wins)', { context: 'a1' }, () => ({ KUBECONFIG: `${dir}/b:${dir}/a` })],
    ['KUBECONFIG=a:b --context a2 (namespace)', { context: 'a2' }, () => ({ KUBECONFIG: `${dir}/a:${dir}/b` })],
    ['KUBECONFIG=missing:b', {}, () => ({ KUBECONFIG: `${dir}/missing:${dir}/b` })],
    ['--kubeconfig b with KUBECONFIG=a', { kubeconfig: 'b' }, () => ({ KUBECONFIG: `${dir}/a` })],
  ];
  for (const [name, access, env] of cases) {
    it(name, async () => {
      const a = { ...access, ...(access.kubeconfig ? { kubeconfig: join(dir, access.kubeconfig) } : {}) };
      const mine = ours(a, env());
      const args = [...(a.kubeconfig ? ['--kubeconfig', a.kubeconfig] : []), ...(a.context ? ['--context', a.context] : [])];
      expect(mine).toEqual(await kubectlView(args, env()));
      // And kubectl given our explicit flags and env lands on the same context.
      const child = childKubeAccess(resolveKubeTarget(a, env(), join(dir, 'home')));
      expect(await kubectlView(child.kubectl, { ...env(), ...child.env })).toEqual(mine);
    });
  }
});
