/**
 * helm steps: `helm upgrade --install --wait --timeout --atomic` (a failed
 * install or upgrade is rolled back by helm), `helm uninstall --wait
 * --ignore-not-found`. Values always go through a 0600 temp file.
 */
import { stringify } from 'yaml';
import { run } from '../exec/index.js';
import { formatDuration } from '../installer/duration.js';
import type { PlannedHelm } from '../installer/plan.js';
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

export const helmRunner: StepRunner<PlannedHelm> = {
  commands(step: PlannedHelm, tools: Tools) {
    return [[tools.helm, ...helmArgs(step, VALUES_PLACEHOLDER)]];
  },
  async run(step: PlannedHelm, ctx: StepContext) {
    const exec = (args: string[]) =>
      run(ctx.tools.helm, args, {
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
    await withPrivateFile('values.yaml', stringify(step.values), (file) => exec(helmArgs(step, file)));
    return {};
  },
};
