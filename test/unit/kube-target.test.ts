import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childKubeAccess, resolveKubeTarget } from '../../src/kube/target.js';

let dir: string;
const file = (n: string) => join(dir, n);

/** A kubeconfig: one cluster/user/context per entry. */
function kc(current: string | undefined, entries: { ctx: string; cluster: string; server: string; user: string; token?: string; ns?: string }[]): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    ...(current ? [`current-context: ${current}`] : []),
    'clusters:',
    ...entries.map((e) => `- name: ${e.cluster}\n  cluster: { server: "${e.server}", certificate-authority: certs/ca.crt }`),
    'users:',
    ...entries.map((e) => `- name: ${e.user}\n  user: { token: "${e.token ?? 't'}", client-key: ../keys/k.pem }`),
    'contexts:',
    ...entries.map((e) => `- name: ${e.ctx}\n  context: { cluster: ${e.cluster}, user: ${e.user}${e.ns ? `, namespace: ${e.ns}` : ''} }`),
    '',
  ].join('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-kubeconfig-'));
  await mkdir(join(dir, 'sub'));
  await writeFile(file('good'), kc('good', [{ ctx: 'good', cluster: 'c', server: 'https://good:6443', user: 'u', token: 'good-token' }, { ctx: 'second', cluster: 'c', server: 'https://good:6443', user: 'u', ns: 'team-b' }]));
  // The same user and cluster names, another current-context: kubectl keeps the first file's.
  await writeFile(join(dir, 'sub', 'dead'), kc('dead', [{ ctx: 'dead', cluster: 'c', server: 'https://127.0.0.1:9', user: 'u', token: 'dead-token' }, { ctx: 'only-in-dead', cluster: 'd', server: 'https://dead-only:1', user: 'v' }]));
  await writeFile(file('nocurrent'), kc(undefined, [{ ctx: 'x', cluster: 'cx', server: 'https://x:1', user: 'ux' }]));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('resolveKubeTarget: kubectl loading rules', () => {
  const env = (KUBECONFIG?: string) => ({ KUBECONFIG }) as NodeJS.ProcessEnv;

  it('KUBECONFIG=good:dead: the first file wins for current-context and for duplicate names; no error on duplicates', () => {
    const t = resolveKubeTarget({}, env(`${file('good')}:${join(dir, 'sub', 'dead')}`), dir);
    expect(t).toMatchObject({ context: 'good', server: 'https://good:6443', cluster: 'c', user: 'u', explicitFile: false, files: [file('good'), join(dir, 'sub', 'dead')] });
    const users = (t.minimal as { users: { user: { token: string } }[] }).users;
    expect(users).toHaveLength(1);
    expect(users[0]?.user.token).toBe('good-token');
  });

  it('KUBECONFIG=dead:good: the dead file now wins', () => {
    expect(resolveKubeTarget({}, env(`${join(dir, 'sub', 'dead')}:${file('good')}`), dir)).toMatchObject({ context: 'dead', server: 'https://127.0.0.1:9' });
  });

  it('--context picks any context of the merged list, with its namespace; contexts only in a later file are found', () => {
    const list = env(`${file('good')}:${join(dir, 'sub', 'dead')}`);
    expect(resolveKubeTarget({ context: 'second' }, list, dir)).toMatchObject({ context: 'second', namespace: 'team-b', server: 'https://good:6443' });
    expect(resolveKubeTarget({ context: 'only-in-dead' }, list, dir)).toMatchObject({ context: 'only-in-dead', server: 'https://dead-only:1', user: 'v' });
  });

  it('relative paths are relative to the file that defines the entry', () => {
    const t = resolveKubeTarget({ context: 'only-in-dead' }, env(`${file('good')}:${join(dir, 'sub', 'dead')}`), dir);
    const m = t.minimal as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
    expect(m.clusters[0]?.cluster['certificate-authority']).toBe(join(dir, 'sub', 'certs', 'ca.crt'));
    expect(m.users[0]?.user['client-key']).toBe(join(dir, 'keys', 'k.pem'));
  });

  it('--kubeconfig is used alone, even with KUBECONFIG set; missing files of the list are skipped', () => {
    expect(resolveKubeTarget({ kubeconfig: join(dir, 'sub', 'dead') }, env(file('good')), dir)).toMatchObject({ context: 'dead', explicitFile: true, files: [join(dir, 'sub', 'dead')] });
    expect(resolveKubeTarget({}, env(`${file('missing')}:${file('good')}`), dir)).toMatchObject({ context: 'good', files: [file('good')] });
    expect(() => resolveKubeTarget({ kubeconfig: file('missing') }, env(), dir)).toThrow(/--kubeconfig .*missing: no such file/);
  });

  it('~/.kube/config when KUBECONFIG is unset; clear errors otherwise', async () => {
    await mkdir(join(dir, 'home', '.kube'), { recursive: true });
    await writeFile(join(dir, 'home', '.kube', 'config'), kc('good', [{ ctx: 'good', cluster: 'c', server: 'https://home:1', user: 'u' }]));
    expect(resolveKubeTarget({}, env(), join(dir, 'home'))).toMatchObject({ server: 'https://home:1' });
    expect(() => resolveKubeTarget({}, env(), join(dir, 'nohome'))).toThrow(/no cluster configured/);
    expect(() => resolveKubeTarget({ context: 'nope' }, env(file('good')), dir)).toThrow(/has no context "nope" \(--context\)/);
    expect(() => resolveKubeTarget({}, env(file('nocurrent')), dir)).toThrow(/sets no current-context/);
  });

  it('children get the resolved context explicitly: helm --kube-context, kubectl --context, the same files', () => {
    const list = `${file('good')}:${join(dir, 'sub', 'dead')}`;
    const a = childKubeAccess(resolveKubeTarget({ context: 'second' }, env(list), dir));
    expect(a).toEqual({ helm: ['--kube-context', 'second'], kubectl: ['--context', 'second'], env: { KUBECONFIG: list, FUSEML_KUBE_CONTEXT: 'second' } });
    const b = childKubeAccess(resolveKubeTarget({ kubeconfig: file('good') }, env(), dir));
    expect(b.helm).toEqual(['--kubeconfig', file('good'), '--kube-context', 'good']);
    expect(b.kubectl).toEqual(['--kubeconfig', file('good'), '--context', 'good']);
  });
});
