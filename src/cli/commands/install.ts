/** `fuseml-installer install --extensions a,b`: plan, then (unless --dry-run) apply. */
import { FusemlError } from '../../core/errors.js';
import { MASK, redact } from '../../core/redact.js';
import { installAction, planInstall, type PlanInput } from '../../installer/actions.js';
import { planCommands, type RunSummary } from '../../installer/engine.js';
import { parseChartMirrors, parseMirrors } from '../../installer/mirrors.js';
import { previewRegistration, type Plan } from '../../installer/plan.js';
import { parseFormat, renderData, renderTable, type OutputFormat } from '../output.js';
import { actionEnv, DISPLAY_TOOLS, readAssignments, splitList, summaryError, withInterrupt, type CommonFlags } from './install-common.js';
import { sourcedRepository } from './repository.js';

export interface InstallFlags extends CommonFlags {
  concurrency?: string | undefined;
  dryRun?: boolean | undefined;
  forceReinstall?: boolean | undefined;
  chartMirror?: string[] | undefined;
  mirror?: string[] | undefined;
  gatewayDomain?: string | undefined;
  workloadsNamespace?: string | undefined;
  id?: string | undefined;
  zone?: string | undefined;
  adopt?: boolean | undefined;
  resetValues?: boolean | undefined;
}

/** The plan as data for --dry-run: commands and records with secrets masked. */
export function planView(plan: Plan): Record<string, unknown> {
  return {
    dryRun: true,
    requested: plan.requested,
    concurrency: plan.concurrency,
    levels: plan.levels,
    extensions: plan.order.map((n) => {
      const p = plan.extensions.get(n);
      if (!p) return { name: n };
      return {
        name: p.name,
        product: p.ext.product,
        version: p.ext.version,
        ...(p.ext.source ? { source: p.ext.source } : {}),
        namespace: p.namespace,
        namespaces: p.namespaces,
        requires: p.requires,
        parameters: Object.fromEntries(Object.entries(p.params).map(([k, v]) => [k, p.sensitiveParams.includes(k) ? MASK : v])),
        steps: planCommands(p, DISPLAY_TOOLS, plan.secrets).map((s, i) => {
          const step = p.install[i];
          return {
            ...s,
            ...(step?.type === 'helm' ? { values: JSON.parse(redact(JSON.stringify(step.values), plan.secrets.map((x) => JSON.stringify(x).slice(1, -1)))) as unknown } : {}),
          };
        }),
        outputs: Object.keys(p.ext.outputs),
        registration: previewRegistration(p),
      };
    }),
  };
}

function planText(view: Record<string, unknown>): string {
  const lines: string[] = [];
  const levels = view.levels as string[][];
  lines.push(`Plan (dry run, nothing changed): ${levels.map((l) => l.join(' + ')).join('  ->  ')}  [concurrency ${String(view.concurrency)}]`);
  for (const e of view.extensions as Record<string, unknown>[]) {
    lines.push('');
    lines.push(`${String(e.name)} (${String(e.product)} ${String(e.version)})  namespace ${String(e.namespace)}${(e.requires as string[]).length ? `  requires ${(e.requires as string[]).join(', ')}` : ''}`);
    const src = e.source as { kind: string; url?: string; path?: string; commit?: string; digest?: string } | undefined;
    if (src) lines.push(`  source: ${src.kind} ${src.url ?? src.path ?? ''}${src.commit ? ` commit ${src.commit}` : ''}${src.digest ? ` ${src.digest}` : ''}`);
    const params = Object.entries(e.parameters as Record<string, unknown>);
    if (params.length) lines.push(`  parameters: ${params.map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
    for (const s of e.steps as { id: string; type: string; namespace: string; commands: string[][]; waitFor: { kind: string; name?: string; selector?: string; all?: boolean; namespace: string }[] }[]) {
      lines.push(`  step ${s.id} (${s.type}, namespace ${s.namespace})`);
      for (const c of s.commands) lines.push(`    $ ${c.map((a) => (/^[\w@%+=:,./<>-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
      for (const w of s.waitFor) lines.push(`    wait for ${w.kind} ${w.name ?? (w.all ? '(all)' : `-l ${w.selector}`)} in ${w.namespace}`);
    }
    if ((e.outputs as string[]).length) lines.push(`  outputs: ${(e.outputs as string[]).join(', ')}`);
    if (e.registration) {
      lines.push('  registration:');
      for (const l of JSON.stringify(e.registration, null, 2).split('\n')) lines.push(`    ${l}`);
    } else lines.push('  registration: none');
  }
  return lines.join('\n') + '\n';
}

export async function printSummary(summary: RunSummary, format: OutputFormat, extra: Record<string, unknown> = {}): Promise<void> {
  if (format !== 'table') {
    process.stdout.write(await renderData({ ...summary, ...extra }, format));
    return;
  }
  if (summary.extensions.length === 0) {
    process.stdout.write('Nothing to do: no extension installed by this installer.\n');
    return;
  }
  process.stdout.write(
    renderTable(summary.extensions, [
      { header: 'extension', get: (e) => e.name },
      { header: 'result', get: (e) => e.state },
      { header: 'steps', get: (e) => e.steps.map((s) => `${s.id}:${s.state}`).join(' ') || '-' },
      { header: 'registration', get: (e) => e.registration },
      { header: 'outputs', get: (e) => Object.entries(e.outputs).map(([k, v]) => `${k}=${v}`).join(' ') || '-' },
    ]),
  );
  if (summary.namespacesDeleted.length) process.stdout.write(`namespaces deleted: ${summary.namespacesDeleted.join(', ')}\n`);
}

/** The plan input from install / upgrade / diff flags. */
export async function planInputFrom(flags: InstallFlags, words: string[]): Promise<PlanInput> {
  const chartMirrors = [...parseMirrors(flags.mirror), ...parseChartMirrors(flags.chartMirror)];
  // -e ./dir, -e git+…#REF, -e https://….tgz: fetched (cached), then on top of the repositories.
  const { repo, names } = await sourcedRepository(flags.extensionsRepository, words, chartMirrors);
  const { assignments, issues } = await readAssignments(flags);
  return {
    repo,
    names,
    assignments,
    issues,
    concurrency: flags.concurrency === undefined ? undefined : Number(flags.concurrency),
    chartMirrors,
    id: flags.id,
    zone: flags.zone,
    resetValues: flags.resetValues === true,
  };
}

export function requireNames(flags: { extensions?: string[] | undefined }): string[] {
  const names = splitList(flags.extensions);
  if (names.length === 0) throw new FusemlError('USAGE', 'no extension given', { hint: 'pass --extensions NAME[,NAME…]; see fuseml-installer extensions list' });
  return names;
}

/** install (and upgrade: `upgrade` set): --dry-run prints the plan; else the install action runs and its summary is printed. */
export async function install(flags: InstallFlags, upgrade = false): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const input = await planInputFrom(flags, requireNames(flags));
  if (flags.dryRun) {
    // No cluster: the values recorded by earlier runs are not read (fuseml-installer diff shows them).
    const view = planView(await planInstall(input, new Map(), (m) => void process.stderr.write(`warning: ${m}\n`)));
    process.stdout.write(format === 'table' ? planText(view) : await renderData(view, format));
    return;
  }
  const { value: result, interrupted } = await withInterrupt(async (signal) =>
    installAction(await actionEnv(flags, format, signal), {
      ...input,
      forceReinstall: flags.forceReinstall,
      adopt: flags.adopt,
      gatewayDomain: flags.gatewayDomain,
      workloadsNamespace: flags.workloadsNamespace,
      upgrade,
    }),
  );
  await printSummary(result.summary, format);
  const err = summaryError(result.summary, 'install', result.journalDir, result.registryUrl, interrupted);
  if (err) throw err;
}
