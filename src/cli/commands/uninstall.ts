/** `fuseml-installer uninstall [--extensions a,b]`: reverse dependency order, deregistration, our namespaces. */
import { FusemlError } from '../../core/errors.js';
import { uninstallAction } from '../../installer/actions.js';
import { parseMirrors } from '../../installer/mirrors.js';
import { confirm, requireConfirmable } from '../confirm.js';
import { parseFormat, renderData } from '../output.js';
import { actionEnv, readAssignments, splitList, summaryError, withInterrupt, type CommonFlags } from './install-common.js';
import { printSummary } from './install.js';
import { openRepository } from './repository.js';

export interface UninstallFlags extends CommonFlags {
  withDependents?: boolean | undefined;
  dryRun?: boolean | undefined;
  mirror?: string[] | undefined;
  workloadsNamespace?: string | undefined;
  all?: boolean | undefined;
  yes?: boolean | undefined;
}

export async function uninstall(flags: UninstallFlags): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const requested = splitList(flags.extensions);
  // Guardrails, before anything is touched: an explicit scope, and a confirmation.
  if (requested.length === 0 && !flags.all) {
    throw new FusemlError('USAGE', 'uninstall: say what to uninstall', { hint: 'pass --extensions NAME[,NAME…], or --all for every extension this installer installed (fuseml-installer status lists them)' });
  }
  if (requested.length > 0 && flags.all) throw new FusemlError('USAGE', 'uninstall: --extensions and --all exclude each other');
  if (!flags.dryRun) requireConfirmable('uninstall', { yes: flags.yes === true });
  const repo = await openRepository(flags.extensionsRepository);
  const { assignments, issues } = await readAssignments(flags);
  if (issues.length > 0) {
    const { ValidationError } = await import('../../core/errors.js');
    throw new ValidationError(issues, `${issues.length} problem(s) in --set / --values`);
  }
  const chartMirrors = parseMirrors(flags.mirror);
  const { value: result, interrupted } = await withInterrupt(async (signal) =>
    uninstallAction(await actionEnv(flags, format, signal), {
      repo,
      names: requested,
      all: flags.all,
      withDependents: flags.withDependents,
      assignments,
      chartMirrors,
      // extensions installed by location (-e git+…, .tgz, ./dir): their pinned source, on top of the folders
      reopen: (layers) => openRepository(flags.extensionsRepository, layers, true),
      workloadsNamespace: flags.workloadsNamespace,
      dryRun: flags.dryRun,
      confirm: (targets, namespaces, where) =>
        confirm(`Uninstall ${targets.join(', ')} from ${where}, deleting their helm releases and objects, registry records and the namespaces the installer created (${namespaces.join(', ') || 'none'}) unless still used?`, { yes: flags.yes === true }),
    }),
  );
  if ('dryRun' in result) {
    process.stdout.write(await renderData(result, format === 'table' ? 'yaml' : format));
    return;
  }
  await printSummary(result.summary, format);
  const err = summaryError(result.summary, 'uninstall', result.journalDir, result.registryUrl, interrupted);
  if (err) throw err;
}
