/**
 * helm steps: `helm upgrade --install --wait --timeout --atomic` (a failed
 * install or upgrade is rolled back by helm), `helm uninstall --wait
 * --ignore-not-found`. Values always go through a 0600 temp file.
 */
import { stringify } from 'yaml';
import { FusemlError } from '../core/errors.js';
import { run } from '../exec/index.js';
import { formatDuration } from '../core/duration.js';
import type { PlannedHelm } from './planned.js';
import { withPrivateFile } from './tempfile.js';
import type { StepContext, StepRunner, Tools } from './types.js';

export const VALUES_PLACEHOLDER = '<values.yaml>';

export function helmArgs(step: PlannedHelm, valuesFile: string): string[] {
  const timeout = formatDuration(step.timeoutMs);
  if (step.action === 'uninstall') {
    return ['uninstall', step.release, '--namespace', step.namespace, '--wait', '--timeout', timeout, '--ignore-not-found'];
  }
  const chart = step.chart;
  if (!chart) throw new Error(`helm step ${step.id} has no chart`);
  return [
    'upgrade', '--install', step.release, chart.ref,
    ...(chart.repo ? ['--repo', chart.repo] : []),
    ...(chart.version ? ['--version', chart.version] : []),
    '--namespace', step.namespace,
    '--values', valuesFile,
    '--wait', '--timeout', timeout, '--atomic',
  ];
}

const PENDING_OPERATION = /another operation \(install\/upgrade\/rollback\) is in progress/;

/** Recovers a release a killed run left pending: removes a pending-install one, drops a pending-upgrade/-rollback revision; returns its state. */
async function recoverPending(step: PlannedHelm, ctx: StepContext, exec: (args: string[]) => Promise<unknown>): Promise<string | undefined> {
  const r = await run(ctx.tools.helm, [...(ctx.kube?.helm ?? []), 'status', step.release, '--namespace', step.namespace, '-o', 'json'], { env: ctx.env, secrets: ctx.secrets, allowFailure: true, timeoutMs: 60_000, signal: ctx.signal });
  let status: string | undefined;
  try {
    status = (JSON.parse(r.stdout) as { info?: { status?: string } }).info?.status;
  } catch {
    return undefined;
  }
  if (status === 'pending-install') await exec(['uninstall', step.release, '--namespace', step.namespace, '--wait', '--timeout', formatDuration(step.timeoutMs)]);
  else if (status === 'pending-upgrade' || status === 'pending-rollback') {
    const driver = ctx.env.HELM_DRIVER ?? process.env.HELM_DRIVER ?? 'secret';
    if (driver === 'secret' || driver === 'secrets') {
      // Drop the abandoned revision from helm's storage: the last deployed one is current again and the upgrade
      // that follows starts from it. (A `helm rollback` would re-apply the old manifests first, which fails for
      // charts whose Jobs changed: their templates are immutable.)
      await run(ctx.tools.kubectl, [...(ctx.kube?.kubectl ?? []), 'delete', 'secret', '--namespace', step.namespace, '--ignore-not-found', '-l', `owner=helm,name=${step.release},status=${status}`], { env: ctx.env, secrets: ctx.secrets, timeoutMs: 60_000, signal: ctx.signal });
    } else await exec(['rollback', step.release, '--namespace', step.namespace, '--wait', '--timeout', formatDuration(step.timeoutMs)]);
  } else return undefined;
  return status;
}

export const helmRunner: StepRunner<PlannedHelm> = {
  commands(step: PlannedHelm, tools: Tools) {
    return [[tools.helm, ...helmArgs(step, VALUES_PLACEHOLDER)]];
  },
  async run(step: PlannedHelm, ctx: StepContext) {
    const exec = (args: string[]) =>
      run(ctx.tools.helm, [...(ctx.kube?.helm ?? []), ...args], {
        env: ctx.env,
        secrets: ctx.secrets,
        // helm enforces its own --timeout; ours is a backstop.
        timeoutMs: step.timeoutMs + 60_000,
        signal: ctx.signal,
        onLine: ctx.onLine && ((l) => ctx.onLine?.(l)),
      });
    if (step.action === 'uninstall') {
      await exec(helmArgs(step, ''));
      return {};
    }
    const install = (): Promise<unknown> => withPrivateFile('values.yaml', stringify(step.values), (file) => exec(helmArgs(step, file)));
    try {
      await install();
    } catch (e) {
      // A release left pending by an installer killed mid-operation blocks every later one. We hold the
      // cluster lock, so no other installer of ours is working on it: recover, then try once more.
      if (!(e instanceof FusemlError) || !PENDING_OPERATION.test(e.message)) throw e;
      const recovered = await recoverPending(step, ctx, exec);
      if (!recovered) throw e;
      ctx.onLine?.(`helm: release ${step.release} was left ${recovered} by an interrupted run; recovered, retrying`);
      await install();
    }
    return {};
  },
};
