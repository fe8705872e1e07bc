import { FusemlError } from '../core/errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `90s`, `5m`, `1h`, `500ms` (a bare number is seconds) into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new FusemlError('USAGE', `${what}: "${text}" is not a duration`, { hint: 'use e.g. 90s, 5m, 1h' });
  return Number(m[1]) * (UNITS[m[2] ?? 's'] as number);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
