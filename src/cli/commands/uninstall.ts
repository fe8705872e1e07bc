/** `fuseml-installer uninstall [--extensions a,b]`: reverse dependency order, deregistration, our namespaces. */
import { FusemlError } from '../../core/errors.js';
import type { ExtensionSource, Scalar } from '../../core/extension.js';
import { installedDependents, InstallerEngine } from '../../installer/engine.js';
import { addFusemlExtras, probeCluster } from '../../installer/fuseml-extras.js';
import { parseMirrors } from '../../installer/mirrors.js';
import { createPlan, type ExtensionPlan } from '../../installer/plan.js';
import { confirm, requireConfirmable } from '../confirm.js';
import { parseFormat, renderData } from '../output.js';
import { checkRegistry, clusterFrom, makeReporter, readAssignments, registryFrom, resolveTools, splitList, summaryError, withInterrupt, type CommonFlags } from './install-common.js';
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
  let repo = await openRepository(flags.extensionsRepository);
  const { assignments, issues } = await readAssignments(flags);
  if (issues.length > 0) {
    const { ValidationError } = await import('../../core/errors.js');
    throw new ValidationError(issues, `${issues.length} problem(s) in --set / --values`);
  }
  const tools = await resolveTools(new Set());
  const sink = await registryFrom(flags);
  await checkRegistry(sink);
  const { cluster, holder, lockTimeoutMs, access, where } = await clusterFrom(flags, tools.kubectl);
  await cluster.ping();

  const { value: summary, interrupted } = await withInterrupt(async (signal) => {
    // A dry run only reads: no lock (taking it would be a write).
    const lock = flags.dryRun ? { release: async () => undefined } : await cluster.acquireLock({ holder, timeoutMs: lockTimeoutMs, signal });
    let reporter;
    try {
      const records = await cluster.readRecords();
      const installed = records.map((r) => r.extension);
      const canonical = (n: string): string => repo.get(n)?.name ?? n;
      let targets = requested.length === 0 ? installed : [...new Set(requested.map(canonical))];
      const notInstalled = targets.filter((t) => !installed.includes(t));
      if (notInstalled.length > 0) {
        throw new FusemlError('NOT_FOUND', `not installed by this installer: ${notInstalled.join(', ')}`, {
          hint: installed.length ? `installed: ${installed.join(', ')} (fuseml-installer status)` : 'nothing is installed (fuseml-installer status)',
        });
      }
      const deps = installedDependents(targets, records);
      if (deps.length > 0) {
        if (!flags.withDependents) {
          throw new FusemlError('CONFLICT', `cannot uninstall ${targets.join(', ')}: still required by installed ${deps.join(', ')}`, {
            hint: `uninstall ${deps.join(', ')} first, or pass --with-dependents to uninstall ${deps.length > 1 ? 'them' : 'it'} too`,
          });
        }
        targets = [...deps, ...targets];
      }
      // Extensions installed by location (-e git+…, .tgz, ./dir): their uninstall steps come from the pinned source.
      const sourced = records.filter((r) => r.source && targets.includes(r.extension));
      if (sourced.length > 0) {
        const { recordedLayer } = await import('../../installer/sources.js');
        const layers = [];
        for (const r of sourced) layers.push(await recordedLayer(r.source as ExtensionSource, { mirrors: parseMirrors(flags.mirror), signal }));
        repo = await openRepository(flags.extensionsRepository, layers, true);
      }
      const missing = targets.filter((t) => !repo.get(t));
      if (missing.length > 0) {
        throw new FusemlError('NOT_FOUND', `the extension repository ${repo.dir} has no ${missing.join(', ')}: its uninstall steps are unknown`, {
          hint: 'pass --extensions-repository DIR: the repository the extension was installed from',
        });
      }
      if (targets.length === 0) return { extensions: [], pendingRegistrations: [], namespacesDeleted: [] };
      const recorded = new Map<string, Record<string, Scalar>>(records.map((r) => [r.extension, r.params]));
      const plan = await createPlan(repo, { extensions: targets, assignments, withDependencies: false, forUninstall: true, recordedParams: recorded, chartMirrors: parseMirrors(flags.mirror) });
      // What an install made of FuseML's gateways and rolerules goes too.
      const extras = { workloadsNamespace: flags.workloadsNamespace, uninstall: true };
      addFusemlExtras(plan, await probeCluster(plan, tools.kubectl, access, extras), extras);
      if (flags.dryRun) {
        const view = {
          dryRun: true,
          order: [...plan.levels].reverse().flat(),
          extensions: [...plan.extensions.values()].map((p: ExtensionPlan) => ({
            name: p.name,
            steps: p.uninstall.map((s) => ({ id: s.id, type: s.type, namespace: s.namespace })),
            registration: records.find((r) => r.extension === p.name)?.registration?.id ?? null,
          })),
        };
        process.stdout.write(await renderData(view, format === 'table' ? 'yaml' : format));
        return undefined;
      }
      const nsList = [...new Set(targets.flatMap((t) => records.find((r) => r.extension === t)?.namespaces ?? []))];
      await confirm(`Uninstall ${targets.join(', ')} from ${where}, deleting their helm releases and objects, registry records and the namespaces the installer created (${nsList.join(', ') || 'none'}) unless still used?`, { yes: flags.yes === true });
      // helm only when a step needs it (a manifest-only extension uninstalls without it).
      const types = new Set([...plan.extensions.values()].flatMap((p) => p.uninstall.map((s) => s.type)));
      if (types.has('helm')) tools.helm = (await resolveTools(types)).helm;
      reporter = await makeReporter(format, targets, flags.verbose === true);
      reporter.event({ type: 'info', message: `cluster: ${where}` });
      const engine = new InstallerEngine({ cluster, tools, env: access.env, kube: access, sink, reporter, signal });
      return await engine.uninstall(targets, plan.extensions, records);
    } finally {
      await reporter?.close?.();
      await lock.release();
    }
  });
  if (!summary) return;
  await printSummary(summary, format);
  const err = summaryError(summary, 'uninstall', sink?.journal.dir ?? '', sink?.url, interrupted);
  if (err) throw err;
}
