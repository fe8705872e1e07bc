/** `fuseml-installer install --extensions a,b`: plan, then (unless --dry-run) apply. */
import { formatIssue, FusemlError, ValidationError, type Issue } from '../../core/errors.js';
import { MASK, redact } from '../../core/redact.js';
import { sep } from 'node:path';
import { InstallerEngine, planCommands, type RunSummary } from '../../installer/engine.js';
import { addFusemlExtras, probeCluster } from '../../installer/fuseml-extras.js';
import { parseChartMirrors, parseMirrors } from '../../installer/mirrors.js';
import { createPlan, previewRegistration, type Plan } from '../../installer/plan.js';
import { parseFormat, renderData, renderTable, type OutputFormat } from '../output.js';
import {
  clusterFrom,
  DISPLAY_TOOLS,
  makeReporter,
  readAssignments,
  checkRegistry,
  registryFrom,
  resolveTools,
  splitList,
  summaryError,
  withInterrupt,
  type CommonFlags,
} from './install-common.js';
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

export async function install(flags: InstallFlags): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const words = splitList(flags.extensions);
  if (words.length === 0) throw new FusemlError('USAGE', 'no extension given', { hint: 'pass --extensions NAME[,NAME…]; see fuseml-installer extensions list' });
  const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
  const mirrors = [...parseMirrors(flags.mirror), ...parseChartMirrors(flags.chartMirror)];
  // -e ./dir, -e git+…#REF, -e https://….tgz: fetched (cached), then on top of the repositories.
  const { repo, names } = await sourcedRepository(flags.extensionsRepository, words, mirrors);
  // Problems in extensions this plan does not use do not block it (they are shown as warnings).
  const { assignments, issues } = await readAssignments(flags);
  let plan: Plan;
  try {
    plan = await createPlan(repo, {
      extensions: names,
      assignments,
      issues,
      concurrency,
      chartMirrors: mirrors,
      id: flags.id,
      zone: flags.zone,
    });
  } catch (e) {
    // A requested extension that failed to load looks unknown: show why it failed instead.
    if (e instanceof FusemlError && e.code === 'NOT_FOUND' && repo.issues.length > 0) {
      throw new ValidationError(repo.issues, `${repo.issues.length} problem(s) in the extensions repository ${repo.dir}`, { hint: 'fuseml-installer extensions validate' });
    }
    throw e;
  }
  const dirs = plan.order.map((n) => plan.extensions.get(n)?.ext.dir ?? '');
  const mine = (i: Issue): boolean => dirs.some((d) => i.file === d || i.file.startsWith(d + sep));
  const relevant = repo.issues.filter(mine);
  if (relevant.length > 0) throw new ValidationError(relevant, `${relevant.length} problem(s) in the extensions of this plan`, { hint: 'fuseml-installer extensions validate' });
  for (const i of repo.issues.filter((x) => !mine(x))) process.stderr.write(`warning: ${formatIssue(i)}\n`);

  if (flags.dryRun) {
    const view = planView(plan);
    process.stdout.write(format === 'table' ? planText(view) : await renderData(view, format));
    return;
  }

  const types = new Set([...plan.extensions.values()].flatMap((p) => p.install.map((s) => s.type)));
  const tools = await resolveTools(types);
  const sink = await registryFrom(flags);
  await checkRegistry(sink);
  const { cluster, holder, lockTimeoutMs, access, where } = await clusterFrom(flags, tools.kubectl);
  await cluster.ping();
  // FuseML's gateways and rolerules: generated steps where the cluster allows them, a warning where not.
  const extras = { gatewayDomain: flags.gatewayDomain, workloadsNamespace: flags.workloadsNamespace };
  for (const w of addFusemlExtras(plan, await probeCluster(plan, tools.kubectl, access, extras), extras)) process.stderr.write(`warning: ${w}\n`);
  const reporter = await makeReporter(format, plan.order, flags.verbose === true);
  reporter.event({ type: 'info', message: `cluster: ${where}` });

  const { value: summary, interrupted } = await withInterrupt(async (signal) => {
    const lock = await cluster.acquireLock({
      holder,
      timeoutMs: lockTimeoutMs,
      signal,
      onWait: (h) => reporter.event({ type: 'info', message: `waiting for the installer lock held by ${h}` }),
    });
    try {
      // Registrations journaled by an earlier run go first.
      if (sink) {
        const synced = await sink.sync();
        for (const d of synced.delivered) reporter.event({ type: 'info', message: `delivered journaled ${d.op === 'upsert' ? 'registration' : 'deregistration'} of ${d.id}` });
      }
      const engine = new InstallerEngine({ cluster, tools, env: access.env, kube: access, sink, reporter, signal, forceReinstall: flags.forceReinstall, adopt: flags.adopt });
      return await engine.install(plan);
    } finally {
      await reporter.close?.();
      await lock.release();
    }
  });
  await printSummary(summary, format);
  const err = summaryError(summary, 'install', sink?.journal.dir ?? '', sink?.url, interrupted);
  if (err) throw err;
}
