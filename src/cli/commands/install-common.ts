/** Shared pieces of install / uninstall / status / extensions sync: options → backends, progress, exit codes. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { EXIT_CODES, FusemlError, TERMINATED_EXIT_CODE, fileError, type Issue } from '../../core/errors.js';
import type { Reporter } from '../../installer/events.js';
import { plainReporter } from '../../installer/events.js';
import { parseDuration } from '../../core/duration.js';
import { parseSetFlags, valuesAssignments, type Assignment } from '../../installer/params.js';
import { registrySink, type RegistrySink } from '../../installer/registry-sink.js';
import type { RunSummary } from '../../installer/engine.js';
import type { ActionEnv, Connection } from '../../installer/actions.js';
import type { Tools } from '../../steps/types.js';

export interface ClusterFlags {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  installerNamespace?: string | undefined;
  lockTimeout?: string | undefined;
}

export interface RegistryFlags {
  registryUrl?: string | undefined;
  registryToken?: string | undefined;
  /** Old names, kept as aliases. */
  url?: string | undefined;
  token?: string | undefined;
  register?: boolean | undefined;
}

export interface ParamFlags {
  set?: string[] | undefined;
  values?: string[] | undefined;
}

export interface CommonFlags extends ClusterFlags, RegistryFlags, ParamFlags {
  extensionsRepository?: string | string[] | undefined;
  extensions?: string[] | undefined;
  output?: string | undefined;
  verbose?: boolean | undefined;
}

/** `--extensions a,b --extensions c` → [a, b, c]. */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/**
 * A --values file, parsed: a missing file is exit 4 (fileError); YAML that does not parse is an issue with its
 * position only — never the text around it, which may hold secrets.
 */
export async function readValuesFile(file: string): Promise<{ doc: unknown } | { issue: Issue }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw fileError('--values', file, e);
  }
  try {
    return { doc: parseYaml(text, { uniqueKeys: true, maxAliasCount: 50 }) as unknown };
  } catch (e) {
    const pos = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    return { issue: { file, line: pos?.line, col: pos?.col, pointer: '', message: 'not valid YAML' } };
  }
}

/** Parameter assignments from --values files then --set flags (later wins), with every problem. */
export async function readAssignments(flags: ParamFlags): Promise<{ assignments: Assignment[]; issues: Issue[] }> {
  const assignments: Assignment[] = [];
  const issues: Issue[] = [];
  for (const file of flags.values ?? []) {
    const read = await readValuesFile(file);
    if ('issue' in read) {
      issues.push(read.issue);
      continue;
    }
    const r = valuesAssignments(read.doc, file);
    assignments.push(...r.assignments);
    issues.push(...r.issues);
  }
  const s = parseSetFlags(flags.set ?? []);
  assignments.push(...s.assignments);
  issues.push(...s.issues);
  return { assignments, issues };
}

/** A tool by FUSEML_HELM / FUSEML_KUBECTL, then PATH; TOOL_MISSING with a hint when absent. */
export async function findTool(name: 'helm' | 'kubectl'): Promise<string> {
  const { resolveTool } = await import('../../exec/tools.js');
  return resolveTool(name);
}

/** Names of the tools for --dry-run output (no lookup: dry runs need no tools). */
export const DISPLAY_TOOLS: Tools = { helm: 'helm', kubectl: 'kubectl' };

/** The registry sink: URL and token resolved as for every CLI (flag > env > config file context > default). */
export async function registryFrom(flags: RegistryFlags): Promise<RegistrySink | undefined> {
  if (flags.register === false) return undefined;
  const { registrySettings } = await import('../config.js');
  const r = await registrySettings(flags);
  const retries = process.env.FUSEML_REGISTRY_RETRIES === undefined ? undefined : Number(process.env.FUSEML_REGISTRY_RETRIES);
  return registrySink(r.url, r.token, undefined, retries);
}

/** The cluster connection from --kubeconfig / --context / --installer-namespace / --lock-timeout. */
export async function clusterFrom(flags: ClusterFlags, kubectl: string): Promise<Connection> {
  const { resolveKubeTarget, childKubeAccess, describeTarget } = await import('../../kube/target.js');
  const target = resolveKubeTarget({ kubeconfig: flags.kubeconfig, context: flags.context });
  const { KubeInstallerCluster, lockHolder } = await import('../../installer/kube-cluster.js');
  const cluster = new KubeInstallerCluster({ target, installerNamespace: flags.installerNamespace, kubectl, onInfo: (m) => void process.stderr.write(`${m}\n`) });
  return {
    cluster,
    /** `context NAME (SERVER)` */
    where: describeTarget(target),
    access: childKubeAccess(target),
    holder: lockHolder(),
    lockTimeoutMs: parseDuration(flags.lockTimeout ?? '0s', '--lock-timeout'),
  };
}

/** What the actions (src/installer/actions.ts) get from the command line: the cluster, the registry, progress, warnings. */
export async function actionEnv(flags: CommonFlags, format: string, signal?: AbortSignal): Promise<ActionEnv> {
  return {
    connect: (kubectl) => clusterFrom(flags, kubectl),
    sink: await registryFrom(flags),
    reporter: (names) => makeReporter(format, names, flags.verbose === true),
    warn: (m) => void process.stderr.write(`warning: ${m}\n`),
    info: (m) => void process.stderr.write(`${m}\n`),
    signal,
  };
}

/** listr2 on an interactive terminal with table output; plain lines on stderr otherwise (pipes, CI, -o json). */
export async function makeReporter(format: string, names: readonly string[], verbose: boolean): Promise<Reporter> {
  const interactive = process.stderr.isTTY === true && format === 'table' && !process.env.CI && process.env.TERM !== 'dumb';
  if (!interactive) return plainReporter(undefined, verbose);
  const { listrReporter } = await import('./install-progress.js');
  return listrReporter(names);
}

/** The error a finished run ends with (the CLI's exit code), undefined when all went well. */
export function summaryError(summary: RunSummary, verb: 'install' | 'uninstall', journalDir: string, registryUrl?: string, interrupted?: Interruption): FusemlError | undefined {
  if (interrupted) return cancelledError(interrupted, verb, summary.extensions.filter((e) => e.code === 'CANCELLED'));
  const failed = summary.extensions.filter((e) => e.state === 'failed');
  const skipped = summary.extensions.filter((e) => e.state === 'skipped');
  if (failed.length > 0) {
    const first = failed[0] as (typeof failed)[number];
    // The whole message: a failed tool's is its command line then the tail of its stderr (the actual reason).
    const [firstLine, ...tail] = (first.error ?? '').split('\n');
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
    const notDone = skipped.length ? `; not ${verb}ed: ${skipped.map((s) => s.name).join(', ')}` : '';
    return new FusemlError((first.code as FusemlError['code']) ?? 'EXEC', `${verb} of ${first.name} failed${more}: ${firstLine}${notDone}${tail.length ? `\n${tail.map((l) => `  ${l}`).join('\n')}` : ''}`, {
      hint: verb === 'install' ? `fix the cause and run the same command again: finished steps are skipped (--verbose shows the tool output)` : 'fix the cause and run uninstall again',
    });
  }
  if (summary.pendingRegistrations.length > 0) {
    const ids = summary.pendingRegistrations.map((p) => p.id).join(', ');
    const why = summary.pendingRegistrations[0]?.error.split('\n')[0] ?? '';
    return new FusemlError('REGISTRY', `${verb === 'install' ? 'installed, but the registration' : 'uninstalled, but the deregistration'} of ${ids} could not be delivered to ${registryUrl ?? 'the registry'} (${why}); it is journaled in ${journalDir}`, {
      hint: 'when the registry is reachable again run: fuseml-installer extensions sync',
    });
  }
  return undefined;
}

export type Interruption = 'SIGINT' | 'SIGTERM';

/** The exit code of a run cancelled by a signal: 128 + its number, as shells report it (130, 143). */
export const INTERRUPT_EXIT: Readonly<Record<Interruption, number>> = { SIGINT: EXIT_CODES.CANCELLED, SIGTERM: TERMINATED_EXIT_CODE };

/**
 * Runs fn with an AbortSignal that fires on the first SIGINT / SIGTERM (on a terminal or not): the
 * children are stopped (src/exec cancellation), fn finishes its bookkeeping (records marked
 * `interrupted`, the lock released) and returns. A second signal exits at once (the lock then
 * expires by itself). Returns fn's value and the signal, if one came.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; interrupted?: Interruption | undefined }> {
  const ac = new AbortController();
  let interrupted: Interruption | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`\n${sig} again: exiting now; the cluster lock expires by itself\n`);
      process.exit(INTERRUPT_EXIT[sig as Interruption] ?? 130);
    }
    interrupted = sig === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    process.stderr.write(`\n${sig}: cancelling — stopping the running commands, recording where the run stopped, releasing the lock (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to exit at once)\n`);
    ac.abort();
  };
  // `on`, not `once`: execa's exit hook re-raises the signal when it sees no other listener left.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const value = await fn(ac.signal);
    return { value, interrupted };
  } catch (e) {
    if (interrupted) throw cancelledError(interrupted, 'run', [], e);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** "install cancelled (SIGINT) …": exit 130 / 143, naming where each extension stopped. */
export function cancelledError(signal: Interruption, verb: string, stopped: readonly { name: string; stoppedIn?: string | undefined }[], cause?: unknown): FusemlError {
  const where = stopped.map((s) => `${s.name}${s.stoppedIn ? ` (${s.stoppedIn})` : ''}`).join(', ');
  return new FusemlError('CANCELLED', `${verb} cancelled (${signal})${where ? `: stopped in ${where}` : ''}; the lock is released`, {
    hint: verb === 'uninstall' ? 'run the same uninstall again to finish it' : 'run the same command again to resume: finished steps are skipped (fuseml-installer status shows what is interrupted)',
    exitCode: INTERRUPT_EXIT[signal],
    cause,
  });
}
