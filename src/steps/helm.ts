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

/**
 * The state of a helm release (`helm status -o json`: deployed, failed, pending-install…), null when there is
 * no such release. Any other failure of helm is an EXEC error.
 */
export async function helmReleaseStatus(
  helm: string,
  release: string,
  namespace: string,
  o: { kube?: readonly string[] | undefined; env?: Readonly<Record<string, string>> | undefined; secrets?: readonly string[] | undefined; signal?: AbortSignal | undefined } = {},
): Promise<string | null> {
  const r = await run(helm, [...(o.kube ?? []), 'status', release, '--namespace', namespace, '-o', 'json'], { env: o.env, secrets: o.secrets, allowFailure: true, timeoutMs: 60_000, signal: o.signal });
  if (r.exitCode !== 0) {
    if (/release: not found/.test(r.stderr)) return null;
    throw new FusemlError('EXEC', `${r.command} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  }
  try {
    return (JSON.parse(r.stdout) as { info?: { status?: string } }).info?.status ?? 'unknown';
  } catch {
    throw new FusemlError('EXEC', `${r.command}: not JSON`);
  }
}

/** Recovers a release a killed run left pending: removes a pending-install one, drops a pending-upgrade/-rollback revision; returns its state. */
async function recoverPending(step: PlannedHelm, ctx: StepContext, exec: (args: string[]) => Promise<unknown>): Promise<string | undefined> {
  const status = await helmReleaseStatus(ctx.tools.helm, step.release, step.namespace, { kube: ctx.kube?.helm, env: ctx.env, secrets: ctx.secrets, signal: ctx.signal }).catch(() => undefined);
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

/** How the installer's own helm calls reach the cluster (the engine's tools, kube flags and environment). */
export interface HelmAccess {
  helm: string;
  /** Cluster flags (childKubeAccess of the target). */
  flags: readonly string[];
  env: Record<string, string>;
  secrets?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
}

function helmRun(a: HelmAccess, args: string[], timeoutMs = 60_000, allowFailure = false) {
  return run(a.helm, [...a.flags, ...args], { env: a.env, secrets: a.secrets ?? [], timeoutMs, signal: a.signal, allowFailure });
}

/** The release's current helm revision and chart (`helm status -o json`); undefined when there is no release. */
export async function helmStatus(a: HelmAccess, release: string, namespace: string): Promise<{ revision: number; chart: string; chartVersion: string } | undefined> {
  const r = await helmRun(a, ['status', release, '--namespace', namespace, '-o', 'json'], 60_000, true);
  if (r.exitCode !== 0) return undefined;
  try {
    const s = JSON.parse(r.stdout) as { version?: unknown; chart?: { metadata?: { name?: string; version?: string } } };
    if (typeof s.version !== 'number') return undefined;
    return { revision: s.version, chart: s.chart?.metadata?.name ?? '', chartVersion: s.chart?.metadata?.version ?? '' };
  } catch {
    return undefined;
  }
}

/** The release's current helm revision; undefined when there is no release. */
export async function helmRevision(a: HelmAccess, release: string, namespace: string): Promise<number | undefined> {
  return (await helmStatus(a, release, namespace))?.revision;
}

/** The values the release was installed with (`helm get values -o json`); {} when there is no release. */
export async function helmReleaseValues(a: HelmAccess, release: string, namespace: string): Promise<Record<string, unknown> | undefined> {
  const r = await helmRun(a, ['get', 'values', release, '--namespace', namespace, '-o', 'json'], 60_000, true);
  if (r.exitCode !== 0) return undefined;
  try {
    const v = JSON.parse(r.stdout) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
}

/** `helm rollback RELEASE REVISION --wait`: the release back to an earlier revision (helm records it as a new one). */
export async function helmRollback(a: HelmAccess, release: string, namespace: string, revision: number, timeoutMs: number): Promise<void> {
  await helmRun(a, ['rollback', release, String(revision), '--namespace', namespace, '--wait', '--timeout', formatDuration(timeoutMs)], timeoutMs + 60_000);
}
