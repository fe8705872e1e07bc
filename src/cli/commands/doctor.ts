/** `fuseml-installer doctor [--fix]`: the drift report (src/installer/doctor.ts) printed, fixes confirmed and applied. */
import { FusemlError, ValidationError } from '../../core/errors.js';
import { doctorAction } from '../../installer/actions.js';
import type { DoctorReport } from '../../installer/doctor.js';
import { confirm, requireConfirmable } from '../confirm.js';
import { parseFormat, renderData, renderTable } from '../output.js';
import { openRepository } from './repository.js';
import { actionEnv, readAssignments, splitList, withInterrupt, type CommonFlags } from './install-common.js';

export interface DoctorFlags extends CommonFlags {
  fix?: boolean | undefined;
  yes?: boolean | undefined;
}

export async function doctor(flags: DoctorFlags): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  if (flags.fix) requireConfirmable('fix drift', { yes: flags.yes === true });
  const repo = await openRepository(flags.extensionsRepository);
  const { assignments, issues } = await readAssignments(flags);
  if (issues.length > 0) throw new ValidationError(issues, `${issues.length} problem(s) in --set / --values`);
  const { value } = await withInterrupt(async (signal) => {
    const env = await actionEnv({ ...flags, register: true }, format, signal);
    const result = await doctorAction(env, {
      repo,
      names: splitList(flags.extensions),
      assignments,
      fix: flags.fix,
      confirm: async (report, where) => {
        await printReport(report, format === 'table' ? 'table' : undefined);
        const what = report.findings.filter((f) => f.fix).map((f) => `${f.extension}: ${f.fix}`);
        await confirm(`Fix drift on ${where} (registry ${env.sink?.url ?? '-'}):\n${[...new Set(what)].map((w) => `  - ${w}\n`).join('')}Apply these fixes?`, { yes: flags.yes === true });
      },
    });
    if (!result.fixed) await printReport(result.report, format === 'table' ? 'table' : undefined);
    return result;
  });
  const { report, fixed, where } = value;
  if (format !== 'table') {
    const { fixes: _internal, ...data } = report;
    process.stdout.write(await renderData({ cluster: where, ...data, ...(fixed ? { fixed } : {}) }, format));
  } else if (fixed) {
    process.stdout.write(`\nFixes:\n${renderTable(fixed, [
      { header: 'extension', get: (x) => x.extension },
      { header: 'action', get: (x) => x.action },
      { header: 'result', get: (x) => (x.error ? `${x.result}: ${x.error}` : x.result) },
    ])}`);
  }
  const failedFixes = (fixed ?? []).filter((f) => f.result !== 'done');
  const unfixed = report.findings.filter((f) => !fixed || !f.fix || fixed.some((x) => x.extension === f.extension && x.result === 'failed'));
  if (unfixed.length > 0 || failedFixes.length > 0) {
    const n = unfixed.length;
    throw new FusemlError('DRIFT', fixed
      ? `${n} finding(s) not fixed${failedFixes.length ? `; ${failedFixes.length} fix(es) not delivered` : ''}: ${[...new Set(unfixed.map((f) => `${f.extension} ${f.kind}`))].join(', ') || 'see the fixes'}`
      : `drift found: ${report.findings.map((f) => `${f.extension} ${f.kind}`).join(', ')}`, {
      hint: fixed || flags.fix
        ? 'the findings without a fix say what to do (their hint); journaled registry changes are delivered by: fuseml-installer extensions sync'
        : 'fuseml-installer doctor --fix re-registers or deregisters what it can (asks first)',
    });
  }
  if (report.registryUnreachable) {
    throw new FusemlError('REGISTRY', `the registry ${report.registry ?? ''} could not be reached: registry records were not compared`, {
      hint: 'check --registry-url / FUSEML_SERVER_URL and that fuseml-registry is running, then run doctor again',
    });
  }
}

/** The table (findings, then notes on stderr); with -o json / yaml only the notes go to stderr here. */
async function printReport(report: DoctorReport, table: 'table' | undefined): Promise<void> {
  for (const n of report.notes) process.stderr.write(`note: ${n.extension}: ${n.message}\n`);
  if (!table) return;
  if (report.findings.length === 0) {
    process.stdout.write(report.checked.length === 0 ? 'No extensions installed by fuseml-installer.\n' : `No drift: ${report.checked.join(', ')} agree with helm, the cluster${report.registryUnreachable ? '' : ' and the registry'}.\n`);
    return;
  }
  process.stdout.write(renderTable(report.findings, [
    { header: 'extension', get: (f) => f.extension },
    { header: 'drift', get: (f) => f.kind },
    { header: 'detail', get: (f) => f.detail },
    { header: 'fix', get: (f) => f.fix ?? (f.hint ? `none: ${f.hint}` : 'none') },
  ]));
}
