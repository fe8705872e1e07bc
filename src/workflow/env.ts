/** `-o env` rendering of a resolution: shell-safe `KEY='value'` lines. */
import { FusemlError } from '../core/errors.js';
import type { Resolution } from '../core/resolve.js';

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** POSIX single-quoting: `'` becomes `'\''`; safe for eval, `set -a; . file`, and `env -S`-free use. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * One block per step, headed by a `# step NAME` comment, keys sorted. A single
 * step (or a selected one) prints no header, so the output can be eval'ed as is.
 */
export function renderEnv(resolution: Resolution, step?: string): string {
  const steps = step === undefined ? resolution.steps : resolution.steps.filter((s) => s.name === step);
  if (step !== undefined && steps.length === 0) {
    throw new FusemlError('USAGE', `the workflow has no step ${step}`, { hint: `steps: ${resolution.steps.map((s) => s.name).join(', ')}` });
  }
  // A key that is not a shell name would be run as a command by eval: refuse it.
  const bad = steps.flatMap((s) => Object.keys(s.env).filter((k) => !SHELL_NAME.test(k)).map((k) => `${s.name}: ${JSON.stringify(k)}`));
  if (bad.length > 0) {
    throw new FusemlError('VALIDATION', `cannot print as shell variables (not shell names): ${bad.join(', ')}`, { hint: 'use -o json or -o yaml' });
  }
  const blocks = steps.map((s) => {
    const lines = Object.keys(s.env)
      .sort()
      .map((k) => `${k}=${shellQuote(s.env[k] as string)}`);
    return (steps.length > 1 ? [`# step ${s.name}`, ...lines] : lines).join('\n');
  });
  return blocks.filter((b) => b !== '').join('\n\n') + (blocks.some((b) => b !== '') ? '\n' : '');
}
