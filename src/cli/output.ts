/** Rendering of command results: -o table|json|yaml. */
import { Option } from 'commander';
import { FusemlError } from '../core/errors.js';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

export function outputOption(defaultFormat: OutputFormat = 'table'): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default(defaultFormat);
}

export function parseFormat(value: unknown): OutputFormat {
  if (typeof value === 'string' && (OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new FusemlError('USAGE', `unknown output format "${String(value)}"`, { hint: 'use -o table, -o json or -o yaml' });
}

export interface Column<T> {
  header: string;
  get: (row: T) => unknown;
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(cell).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * A plain, aligned text table (kubectl style), no box drawing: easy to grep. On a terminal (`width`: its columns)
 * the last column is cut with "…" so that rows do not wrap; piped output is never cut.
 */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], width: number | undefined = process.stdout.isTTY ? process.stdout.columns : undefined): string {
  const matrix = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(c.get(r)).replace(/\s*\n\s*/g, ' ')))];
  const widths = columns.map((_, i) => Math.max(...matrix.map((row) => (row[i] ?? '').length)));
  const lastAt = widths.slice(0, -1).reduce((sum, w) => sum + w + 3, 0);
  // Cut only when the last column keeps a useful width; otherwise let the terminal wrap.
  const room = width !== undefined && width - lastAt >= 20 ? width - lastAt : undefined;
  const fit = (v: string): string => (room !== undefined && v.length > room ? `${v.slice(0, room - 1)}…` : v);
  return matrix
    .map((row) => row.map((v, i) => (i === row.length - 1 ? fit(v) : v.padEnd(widths[i] ?? 0))).join('   ').trimEnd())
    .join('\n') + '\n';
}

export async function renderData(data: unknown, format: 'json' | 'yaml'): Promise<string> {
  if (format === 'json') return JSON.stringify(data, null, 2) + '\n';
  const { stringify } = await import('./yaml-stringify.js');
  return stringify(data, { lineWidth: 0 });
}

/** Prints rows as a table, or the data as JSON / YAML. */
export async function printResult<T>(
  format: OutputFormat,
  data: unknown,
  rows: readonly T[],
  columns: readonly Column<T>[],
  emptyMessage = 'No resources found.',
): Promise<void> {
  if (format === 'table') {
    process.stdout.write(rows.length === 0 ? emptyMessage + '\n' : renderTable(rows, columns));
  } else {
    process.stdout.write(await renderData(data, format));
  }
}
