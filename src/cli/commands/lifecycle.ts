/** `fuseml-installer upgrade | diff | rollback`: flags → the actions in src/installer/actions.ts, results printed. */
import { FusemlError } from '../../core/errors.js';
import { diffAction, rollbackAction, type Change, type DiffResult } from '../../installer/actions.js';
import { parseFormat, renderData } from '../output.js';
import { actionEnv, splitList, withInterrupt } from './install-common.js';
import { install, planInputFrom, requireNames, type InstallFlags } from './install.js';

/** upgrade: install with the values recorded by earlier runs (--set changes one, --reset-values drops them); installed extensions only. */
export function upgrade(flags: InstallFlags): Promise<void> {
  return install(flags, true);
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function changeLine(c: Change): string {
  const sign = c.from === undefined ? '+' : c.to === undefined ? '-' : '~';
  const what = c.from === undefined ? show(c.to) : c.to === undefined ? show(c.from) : `${show(c.from)} -> ${show(c.to)}`;
  return `  ${sign} ${c.kind} ${c.path}: ${what}`;
}

export function diffText(d: DiffResult): string {
  const lines: string[] = [];
  for (const e of d.extensions) {
    const head = `${e.name} (${e.installed ? `installed${e.revision !== undefined ? `, revision ${e.revision}` : ''}` : 'not installed'})`;
    lines.push(e.changes.length ? head : `${head}: no changes`);
    for (const c of e.changes) lines.push(changeLine(c));
  }
  return lines.join('\n') + '\n';
}

/** diff: what install / upgrade with these flags would change; nothing is touched. --exit-code: 1 when there are changes. */
export async function diff(flags: InstallFlags & { exitCode?: boolean | undefined }): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const input = await planInputFrom(flags, requireNames(flags));
  const { value: result } = await withInterrupt(async (signal) => diffAction(await actionEnv({ ...flags, register: false }, format, signal), input));
  process.stdout.write(format === 'table' ? diffText(result) : await renderData(result, format));
  if (flags.exitCode && result.changed) process.exitCode = 1;
}

export interface RollbackFlags extends InstallFlags {
  timeout?: string | undefined;
}

/** rollback -e X [REVISION]. */
export async function rollback(revision: string | undefined, flags: RollbackFlags): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const names = splitList(flags.extensions);
  if (names.length !== 1) throw new FusemlError('USAGE', 'rollback needs one extension: --extensions NAME', { hint: 'fuseml-installer rollback -e mlflow [REVISION]' });
  let rev: number | undefined;
  if (revision !== undefined) {
    rev = Number(revision);
    if (!Number.isInteger(rev) || rev < 1) throw new FusemlError('USAGE', `REVISION must be a positive integer (got "${revision}")`, { hint: `fuseml-installer status -e ${names[0] as string} --history lists the revisions` });
  }
  const { parseDuration } = await import('../../core/duration.js');
  const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout, '--timeout');
  const { value: r } = await withInterrupt(async (signal) => rollbackAction(await actionEnv(flags, format, signal), { name: names[0] as string, revision: rev, timeoutMs }));
  if (format !== 'table') {
    process.stdout.write(await renderData(r, format));
  } else {
    process.stdout.write(`${r.extension}: rolled back from revision ${r.from} to ${r.to} (now revision ${r.revision})\n`);
    for (const h of r.helm) process.stdout.write(`  helm release ${h.release} (namespace ${h.namespace}): revision ${h.revision}\n`);
    process.stdout.write(`  registration: ${r.registration}\n`);
    if (r.notRolledBack.length) process.stdout.write(`  not rolled back (not helm; the next install re-applies them): ${r.notRolledBack.join(', ')}\n`);
  }
  if (r.registration === 'pending') {
    throw new FusemlError('REGISTRY', `rolled back, but the registration of ${r.extension} could not be delivered; it is journaled`, { hint: 'when the registry is reachable again run: fuseml-installer extensions sync' });
  }
}
