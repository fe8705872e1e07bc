import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FusemlError } from '../../src/core/errors.js';
import { loadRepository } from '../../src/descriptor/repository.js';
import { parseSetFlags } from '../../src/installer/params.js';
import { createPlan, type PlannedHelm, type PlannedScript } from '../../src/installer/plan.js';
import { helmArgs } from '../../src/steps/helm.js';
import { runStep, stepCommands } from '../../src/steps/index.js';
import { parseOutputLines } from '../../src/steps/script.js';
import type { StepContext } from '../../src/steps/types.js';
import { makeFakes, type Fakes } from './installer-fakes.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const PW = 'pw-PLANTED-secret-1';
const TOKEN = 'tok-PLANTED-secret-2';

let fakes: Fakes;
beforeEach(async () => {
  fakes = await makeFakes();
});
afterEach(async () => {
  await fakes.cleanup();
});

async function plan() {
  const repo = await loadRepository(REPO);
  return createPlan(repo, { extensions: ['bravo', 'charlie'], assignments: parseSetFlags([`alpha.password=${PW}`, `bravo.token=${TOKEN}`]).assignments });
}

function ctx(extra: Partial<StepContext> = {}): StepContext {
  return { tools: { helm: fakes.helm, kubectl: fakes.kubectl }, extension: 'x', env: fakes.env, secretEnv: {}, secrets: [PW, TOKEN], ...extra };
}

describe('script outputs', () => {
  it('parses key=value lines, skipping blanks and comments; the last value wins; values keep = and spaces', () => {
    expect(parseOutputLines('# c\n\nA=1\nB=x=y \nA=2\r\n')).toEqual({ values: { A: '2', B: 'x=y ' }, problems: [] });
  });
  it('reports malformed lines by number, never their content', () => {
    const r = parseOutputLines('GOOD=1\nSECRETVALUE\n1BAD=2\n');
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toMatch(/^line 2: expected KEY=VALUE/);
    expect(JSON.stringify(r)).not.toContain('SECRETVALUE');
  });
});

describe('helm step', () => {
  it('upgrade --install --wait --atomic with the values in a 0600 temp file that is removed afterwards', async () => {
    const p = await plan();
    const step = p.extensions.get('alpha')?.install[0] as PlannedHelm;
    await runStep(step, ctx());
    const [call] = await fakes.calls();
    expect(call?.tool).toBe('helm');
    expect(call?.args).toMatch(/^upgrade --install alpha \S+\/alpha\/chart --namespace fx-alpha --values \S+\/values.yaml --wait --timeout 2m --atomic$/);
    expect(call?.args).not.toContain(PW);
    expect(call?.mode).toBe('600');
    expect(call?.values).toContain(`password: ${PW}`);
    const valuesFile = /--values (\S+)/.exec(call?.args ?? '')?.[1] as string;
    expect(existsSync(valuesFile)).toBe(false);
  });

  it('repo charts get --repo and --version; uninstall ignores a missing release', () => {
    const step: PlannedHelm = { id: 's', phase: 'install', type: 'helm', action: 'install', release: 'r', namespace: 'n', timeoutMs: 90_000, waitFor: [], digest: '', values: {}, chart: { ref: 'mychart', repo: 'http://mirror.local/charts', version: '1.2.3' } };
    expect(helmArgs(step, 'V')).toEqual(['upgrade', '--install', 'r', 'mychart', '--repo', 'http://mirror.local/charts', '--version', '1.2.3', '--namespace', 'n', '--values', 'V', '--wait', '--timeout', '90s', '--atomic']);
    expect(helmArgs({ ...step, action: 'uninstall' }, '')).toEqual(['uninstall', 'r', '--namespace', 'n', '--wait', '--timeout', '90s', '--ignore-not-found']);
  });

  it('a failing helm gives an EXEC error with the stderr tail, secrets masked', async () => {
    const p = await plan();
    const step = p.extensions.get('alpha')?.install[0] as PlannedHelm;
    const err = await runStep(step, ctx({ env: { ...fakes.env, FAKE_FAIL_ON: 'alpha' } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FusemlError);
    expect((err as FusemlError).code).toBe('EXEC');
    expect((err as FusemlError).message).toMatch(/helm upgrade --install alpha .* failed \(exit code 1\):\nError: planted failure for alpha/);
  });

  it('a missing helm binary is TOOL_MISSING', async () => {
    const p = await plan();
    const step = p.extensions.get('alpha')?.install[0] as PlannedHelm;
    const err = await runStep(step, ctx({ tools: { helm: '/nonexistent/helm', kubectl: fakes.kubectl } })).catch((e: unknown) => e);
    expect((err as FusemlError).code).toBe('TOOL_MISSING');
  });
});

describe('helm step: a release left pending by an interrupted run', () => {
  it('is removed (pending-install) and the install retried once', async () => {
    const fake = join(fakes.dir, 'pending-helm');
    // First upgrade: "another operation is in progress"; status: pending-install; uninstall; second upgrade: ok.
    await writeFile(fake, `#!/bin/sh
echo "$*" >> "${fakes.dir}/pending.log"
case "$1" in
  upgrade) if [ ! -f "${fakes.dir}/once" ]; then touch "${fakes.dir}/once"; echo "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" >&2; exit 1; fi ;;
  status) echo '{"name":"alpha","info":{"status":"pending-install"}}' ;;
esac
exit 0
`);
    await chmod(fake, 0o755);
    const p = await plan();
    const step = p.extensions.get('alpha')?.install[0] as PlannedHelm;
    const lines: string[] = [];
    await runStep(step, ctx({ tools: { helm: fake, kubectl: fakes.kubectl }, onLine: (l) => lines.push(l) }));
    const log = (await readFile(join(fakes.dir, 'pending.log'), 'utf8')).trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
    expect(log).toEqual(['upgrade --install', 'status alpha', 'uninstall alpha', 'upgrade --install']);
    expect(lines).toContain('helm: release alpha was left pending-install by an interrupted run; recovered, retrying');
  });

  it('pending-upgrade: the abandoned revision is dropped from helm\'s storage (no rollback), then the upgrade runs again', async () => {
    const fake = join(fakes.dir, 'pending-up-helm');
    const kubectl = join(fakes.dir, 'pending-up-kubectl');
    await writeFile(fake, `#!/bin/sh
echo "helm $*" >> "${fakes.dir}/pending-up.log"
case "$1" in
  upgrade) if [ ! -f "${fakes.dir}/once-up" ]; then touch "${fakes.dir}/once-up"; echo "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" >&2; exit 1; fi ;;
  status) echo '{"name":"alpha","info":{"status":"pending-upgrade"}}' ;;
esac
exit 0
`);
    await writeFile(kubectl, `#!/bin/sh\necho "kubectl $*" >> "${fakes.dir}/pending-up.log"\n`);
    await chmod(fake, 0o755);
    await chmod(kubectl, 0o755);
    const step = (await plan()).extensions.get('alpha')?.install[0] as PlannedHelm;
    const lines: string[] = [];
    await runStep(step, ctx({ tools: { helm: fake, kubectl }, env: { ...fakes.env, HELM_DRIVER: 'secret' }, onLine: (l) => lines.push(l) }));
    const log = (await readFile(join(fakes.dir, 'pending-up.log'), 'utf8')).trim().split('\n');
    expect(log.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['helm upgrade --install', 'helm status alpha', 'kubectl delete secret', 'helm upgrade --install']);
    expect(log[2]).toContain(`--namespace ${step.namespace} --ignore-not-found -l owner=helm,name=alpha,status=pending-upgrade`);
    expect(lines).toContain('helm: release alpha was left pending-upgrade by an interrupted run; recovered, retrying');
  });
});

describe('manifest step', () => {
  it('kubectl apply of the rendered manifests through a 0600 temp file', async () => {
    const p = await plan();
    const step = p.extensions.get('charlie')?.install[0];
    expect(step && stepCommands(step, { helm: 'helm', kubectl: 'kubectl' })).toEqual([['kubectl', 'apply', '--namespace', 'fx-charlie', '-f', '<manifest.yaml>']]);
    await runStep(step as NonNullable<typeof step>, ctx());
    const [call] = await fakes.calls();
    expect(call?.tool).toBe('kubectl');
    expect(call?.mode).toBe('600');
    expect(call?.values).toContain('greeting: "hello"');
  });
});

describe('script step', () => {
  it('runs the extension file with an argument array, cwd = its folder, context and secrets in env, outputs from $FUSEML_OUTPUTS', async () => {
    const p = await plan();
    const bravo = p.extensions.get('bravo');
    const step = bravo?.install[1] as PlannedScript;
    const lines: string[] = [];
    const r = await runStep(step, ctx({ extension: 'bravo', secretEnv: { FUSEML_PARAM_TOKEN: TOKEN }, onLine: (l) => lines.push(l) }));
    expect(r.outputs).toEqual({ ENDPOINT: 'http://bravo.fx-bravo.svc.cluster.local:8080/api', API_KEY: `key-${TOKEN}` });
    expect(lines).toEqual(['configuring bravo in fx-bravo']);
  });

  it('a script failure is an EXEC error', async () => {
    const p = await plan();
    const step = p.extensions.get('bravo')?.install[1] as PlannedScript;
    const err = await runStep(step, ctx({ extension: 'bravo' })).catch((e: unknown) => e);
    expect((err as FusemlError).code).toBe('EXEC');
    expect((err as FusemlError).message).toMatch(/no token in the environment/);
  });
});
