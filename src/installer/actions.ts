/**
 * The installer's actions, as helm's pkg/action: install, upgrade, uninstall, diff, rollback, history,
 * status, sync. Each takes what the CLI resolved (the extension repository, parameter assignments, a
 * way to connect to the cluster, the registry sink) and does the orchestration — the cluster lock, the
 * registration journal, the engine, the install records and their history. src/cli maps flags to
 * options, asks for confirmation and prints.
 */
import { createHash } from 'node:crypto';
import { sep } from 'node:path';
import { FusemlError, ValidationError, type Issue } from '../core/errors.js';
import type { ExtensionSource, Scalar } from '../core/extension.js';
import { reuseValues } from '../core/merge.js';
import type { ExtensionRecord } from '../core/records.js';
import { MASK } from '../core/redact.js';
import type { Layer, Repository } from '../descriptor/repository.js';
import { resolveTool } from '../exec/tools.js';
import { helmReleaseStatus, helmReleaseValues, helmRevision, helmRollback, helmStatus, type HelmAccess } from '../steps/helm.js';
import type { Tools } from '../steps/types.js';
import { HISTORY_LIMIT, type ClusterBackend, type HelmRevision, type InstallRecord, type RecordedValues, type Revision } from './cluster.js';
import { installedDependents, InstallerEngine, type RunSummary } from './engine.js';
import { applyFixes, checkDrift, type DoctorReport, type FixResult } from './doctor.js';
import type { Reporter } from './events.js';
import { addFusemlExtras, probeCluster } from './fuseml-extras.js';
import { Journal } from './journal.js';
import type { ChartMirror } from './mirrors.js';
import type { Assignment, ParamValues } from './params.js';
import { createPlan, RECORDED_SOURCE, type ExtensionPlan, type Plan } from './plan.js';
import { renderRegistration } from './registration.js';
import type { RegistrySink, SyncResult } from './registry-sink.js';

/** A connection to the cluster the CLI resolved from its flags. */
export interface Connection {
  cluster: ClusterBackend;
  /** Environment and cluster flags every helm / kubectl child gets. */
  access: { env: Record<string, string>; helm: readonly string[]; kubectl: readonly string[] };
  /** `context NAME (SERVER)`, for messages. */
  where: string;
  holder: string;
  lockTimeoutMs: number;
}

export interface ActionEnv {
  /** Connects with this kubectl (the CLI resolves the target from --kubeconfig / --context). */
  connect(kubectl: string): Promise<Connection>;
  /** Undefined: do not register. */
  sink?: RegistrySink | undefined;
  /** The progress reporter for a run over these extensions. */
  reporter(names: readonly string[]): Promise<Reporter>;
  warn(message: string): void;
  info?(message: string): void;
  signal?: AbortSignal | undefined;
}

export interface PlanInput {
  repo: Repository;
  names: readonly string[];
  assignments: readonly Assignment[];
  /** Problems found reading --set / --values (reported with the plan's). */
  issues: readonly Issue[];
  concurrency?: number | undefined;
  chartMirrors?: readonly ChartMirror[] | undefined;
  id?: string | undefined;
  zone?: string | undefined;
  /** Drop the values recorded by earlier runs (helm's --reset-values). */
  resetValues?: boolean | undefined;
}

export interface InstallOptions extends PlanInput {
  forceReinstall?: boolean | undefined;
  adopt?: boolean | undefined;
  gatewayDomain?: string | undefined;
  workloadsNamespace?: string | undefined;
  /** `upgrade`: every requested extension must be installed already. */
  upgrade?: boolean | undefined;
}

export interface RunResult {
  summary: RunSummary;
  journalDir: string;
  registryUrl?: string | undefined;
}

const sha = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex');
const VALUES_KEY = 'values.json';
const revKey = (n: number): string => `rev-${n}.json`;

interface PrivateRevision {
  /** The sensitive user-set values of the revision. */
  values: ParamValues;
  /** The registration record delivered (outputs and secrets in it). */
  registration?: ExtensionRecord | undefined;
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** The tools a set of step types needs (kubectl always: manifests, outputs, the cluster probe). */
export async function toolsFor(types: ReadonlySet<string>): Promise<Tools> {
  return { helm: types.has('helm') ? await resolveTool('helm') : 'helm', kubectl: await resolveTool('kubectl') };
}

/** Registry access before the first cluster change: a refused token fails now (exit 12); unreachable is a warning. */
async function checkRegistry(env: ActionEnv): Promise<void> {
  const unreachable = await env.sink?.checkAccess();
  if (unreachable) {
    env.warn(`${unreachable.message.split('\n')[0]}; going on: registry changes will be journaled (deliver them later with: fuseml-installer extensions sync)`);
  }
}

/**
 * The plan for an install (no cluster needed): `recorded` values go below the given assignments.
 * Problems in extensions of the repository this plan does not use are warnings.
 */
export async function planInstall(input: PlanInput, recorded: ReadonlyMap<string, ParamValues> = new Map(), warn: (m: string) => void = () => undefined): Promise<Plan> {
  const { repo } = input;
  let plan: Plan;
  try {
    plan = await createPlan(repo, {
      extensions: input.names,
      assignments: input.assignments,
      issues: input.issues,
      concurrency: input.concurrency,
      chartMirrors: input.chartMirrors,
      id: input.id,
      zone: input.zone,
      recordedParams: recorded,
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
  const { formatIssue } = await import('../core/errors.js');
  for (const i of repo.issues.filter((x) => !mine(x))) warn(formatIssue(i));
  return plan;
}

/** Problems recorded values cannot fix (unknown names, bad values) show before the cluster is contacted. */
async function prevalidate(input: PlanInput): Promise<void> {
  try {
    await planInstall(input);
  } catch (e) {
    if (!(e instanceof ValidationError) || e.issues.some((i) => !/ is required:/.test(i.message))) throw e;
  }
}

/** The values each record's last run had the user set, sensitive ones from the private data. */
async function recordedUserValues(cluster: ClusterBackend, records: readonly InstallRecord[]): Promise<Map<string, ParamValues>> {
  const out = new Map<string, ParamValues>();
  for (const r of records) {
    if (!r.values) continue;
    const sensitive = r.values.sensitive.length > 0 ? parseJson<ParamValues>((await cluster.readPrivate(r.extension))[VALUES_KEY], {}) : {};
    out.set(r.extension, { ...r.values.set, ...sensitive });
  }
  return out;
}

function requireInstalled(repo: Repository, names: readonly string[], records: readonly InstallRecord[], verb: string): void {
  const installed = new Set(records.map((r) => r.extension));
  const missing = names.filter((n) => !installed.has(repo.get(n)?.name ?? n));
  if (missing.length > 0) {
    throw new FusemlError('NOT_FOUND', `${verb}: not installed by this installer: ${missing.join(', ')}`, {
      hint: `install ${missing.length > 1 ? 'them' : 'it'} first: fuseml-installer install -e ${missing.join(',')} (fuseml-installer status lists what is installed)`,
    });
  }
}

/** The values the user set for an extension of a run: recorded ones (unless reset) with the given ones over them. */
function userValues(p: ExtensionPlan, recorded: ParamValues | undefined, reset: boolean): { values: RecordedValues; sensitive: ParamValues } {
  const given = Object.fromEntries([...(p.assigned ?? new Map<string, string>())].filter(([, src]) => src !== RECORDED_SOURCE).map(([k]) => [k, p.params[k] as Scalar]));
  const all = reuseValues(recorded, given, { reset, declared: (k) => k in p.ext.parameters });
  const set: Record<string, Scalar> = {};
  const sensitive: ParamValues = {};
  for (const [k, v] of Object.entries(all)) (p.sensitiveParams.includes(k) ? sensitive : set)[k] = v;
  return { values: { set, sensitive: Object.keys(sensitive).sort() }, sensitive };
}

function helmAccess(tools: Tools, conn: Connection, secrets: readonly string[], signal?: AbortSignal): HelmAccess {
  return { helm: tools.helm, flags: conn.access.helm, env: conn.access.env, secrets, signal };
}

/** Appends a revision, keeping at most HISTORY_LIMIT (their private data pruned too). */
function addRevision(record: InstallRecord, priv: Record<string, string>, rev: Omit<Revision, 'revision' | 'at'>, data: PrivateRevision): Revision {
  const history = record.history ?? [];
  const entry: Revision = { revision: (history.at(-1)?.revision ?? 0) + 1, at: new Date().toISOString(), ...rev };
  history.push(entry);
  while (history.length > HISTORY_LIMIT) {
    const old = history.shift() as Revision;
    delete priv[revKey(old.revision)];
  }
  record.history = history;
  priv[revKey(entry.revision)] = JSON.stringify(data);
  return entry;
}

async function helmRevisions(p: ExtensionPlan, a: HelmAccess): Promise<HelmRevision[]> {
  const out: HelmRevision[] = [];
  for (const s of p.install) {
    if (s.type !== 'helm') continue;
    const revision = await helmRevision(a, s.release, s.namespace);
    if (revision !== undefined) out.push({ step: s.id, release: s.release, namespace: s.namespace, revision });
  }
  return out;
}

/** After a run: the values the user set, and a revision for every extension the run changed. */
async function recordRun(conn: Connection, tools: Tools, plan: Plan, summary: RunSummary, recorded: ReadonlyMap<string, ParamValues>, registrations: ReadonlyMap<string, ExtensionRecord>, opts: InstallOptions, before: readonly InstallRecord[], signal?: AbortSignal): Promise<void> {
  const c = conn.cluster;
  const records = new Map((await c.readRecords()).map((r) => [r.extension, r]));
  for (const outcome of summary.extensions) {
    if (outcome.state !== 'installed' && outcome.state !== 'unchanged') continue;
    const p = plan.extensions.get(outcome.name);
    const record = records.get(outcome.name);
    if (!p || !record) continue;
    const { values, sensitive } = userValues(p, recorded.get(p.name), opts.resetValues === true);
    const valuesChanged = JSON.stringify(record.values) !== JSON.stringify(values);
    if (outcome.state === 'unchanged' && !valuesChanged && record.history?.length) continue;
    const priv = await c.readPrivate(p.name);
    if (values.sensitive.length > 0) priv[VALUES_KEY] = JSON.stringify(sensitive);
    else delete priv[VALUES_KEY];
    record.values = values;
    if (outcome.state === 'installed' || !record.history?.length) {
      const last = record.history?.at(-1);
      const registration = registrations.get(p.name) ?? (last ? parseJson<PrivateRevision>(priv[revKey(last.revision)], { values: {} }).registration : undefined);
      const wasInstalled = before.some((r) => r.extension === p.name && r.status === 'installed');
      addRevision(record, priv, {
        action: opts.upgrade || wasInstalled ? 'upgrade' : 'install',
        version: p.ext.version,
        values,
        helm: await helmRevisions(p, helmAccess(tools, conn, plan.secrets, signal)),
        steps: Object.fromEntries(p.install.map((s) => [s.id, s.digest])),
        registration: registration?.id,
      }, { values: sensitive, registration });
    }
    await c.writePrivate(p.name, priv);
    record.updatedAt = new Date().toISOString();
    await c.writeRecord(record);
  }
}

/** install / upgrade: plan (reusing recorded values), then run under the lock; the summary says what happened. */
export async function installAction(env: ActionEnv, opts: InstallOptions): Promise<RunResult> {
  await prevalidate(opts);
  const conn = await env.connect(await resolveTool('kubectl'));
  await conn.cluster.ping();
  const before = await conn.cluster.readRecords();
  if (opts.upgrade) requireInstalled(opts.repo, opts.names, before, 'upgrade');
  const recorded = opts.resetValues ? new Map<string, ParamValues>() : await recordedUserValues(conn.cluster, before);
  const plan = await planInstall(opts, recorded, env.warn);
  const tools = await toolsFor(new Set([...plan.extensions.values()].flatMap((p) => p.install.map((s) => s.type))));
  await checkRegistry(env);
  // FuseML's gateways and rolerules: generated steps where the cluster allows them, a warning where not.
  const extras = { gatewayDomain: opts.gatewayDomain, workloadsNamespace: opts.workloadsNamespace };
  for (const w of addFusemlExtras(plan, await probeCluster(plan, tools.kubectl, conn.access, extras), extras)) env.warn(w);
  const reporter = await env.reporter(plan.order);
  reporter.event({ type: 'info', message: `cluster: ${conn.where}` });
  const registrations = new Map<string, ExtensionRecord>();
  let lock;
  try {
    lock = await conn.cluster.acquireLock({
      holder: conn.holder,
      timeoutMs: conn.lockTimeoutMs,
      signal: env.signal,
      onWait: (h) => reporter.event({ type: 'info', message: `waiting for the installer lock held by ${h}` }),
    });
    // Registrations journaled by an earlier run go first.
    if (env.sink) {
      const synced = await env.sink.sync();
      for (const d of synced.delivered) reporter.event({ type: 'info', message: `delivered journaled ${d.op === 'upsert' ? 'registration' : 'deregistration'} of ${d.id}` });
    }
    const engine = new InstallerEngine({
      cluster: conn.cluster, tools, env: conn.access.env, kube: conn.access, sink: env.sink, reporter, signal: env.signal,
      forceReinstall: opts.forceReinstall, adopt: opts.adopt, onRegistered: (n, r) => registrations.set(n, r),
    });
    const summary = await engine.install(plan);
    if (!env.signal?.aborted) await recordRun(conn, tools, plan, summary, recorded, registrations, opts, before, env.signal);
    return { summary, journalDir: env.sink?.journal.dir ?? '', registryUrl: env.sink?.url };
  } finally {
    await reporter.close?.();
    await lock?.release();
  }
}

export interface UninstallOptions {
  repo: Repository;
  /** Requested names; empty with `all`. */
  names: readonly string[];
  all?: boolean | undefined;
  withDependents?: boolean | undefined;
  assignments: readonly Assignment[];
  chartMirrors?: readonly ChartMirror[] | undefined;
  workloadsNamespace?: string | undefined;
  dryRun?: boolean | undefined;
  /** Asked once the targets are known, before anything changes (throws to stop). */
  confirm?: ((targets: readonly string[], namespaces: readonly string[], where: string) => Promise<void>) | undefined;
  /** The repository with these extra layers on top: for extensions installed by location (their pinned source). */
  reopen?: ((layers: Layer[]) => Promise<Repository>) | undefined;
}

export interface UninstallDryRun {
  dryRun: true;
  order: string[];
  extensions: { name: string; steps: { id: string; type: string; namespace: string }[]; registration: string | null }[];
}

/** uninstall: reverse dependency order, the dependents rule, deregistration, our namespaces. */
export async function uninstallAction(env: ActionEnv, opts: UninstallOptions): Promise<RunResult | UninstallDryRun> {
  let { repo } = opts;
  const tools: Tools = { helm: 'helm', kubectl: await resolveTool('kubectl') };
  await checkRegistry(env);
  const conn = await env.connect(tools.kubectl);
  await conn.cluster.ping();
  // A dry run only reads: no lock (taking it would be a write).
  const lock = opts.dryRun ? { release: async () => undefined } : await conn.cluster.acquireLock({ holder: conn.holder, timeoutMs: conn.lockTimeoutMs, signal: env.signal });
  let reporter: Reporter | undefined;
  try {
    const records = await conn.cluster.readRecords();
    const installed = records.map((r) => r.extension);
    const canonical = (n: string): string => repo.get(n)?.name ?? n;
    let targets = opts.all ? installed : [...new Set(opts.names.map(canonical))];
    const notInstalled = targets.filter((t) => !installed.includes(t));
    if (notInstalled.length > 0) {
      throw new FusemlError('NOT_FOUND', `not installed by this installer: ${notInstalled.join(', ')}`, {
        hint: installed.length ? `installed: ${installed.join(', ')} (fuseml-installer status)` : 'nothing is installed (fuseml-installer status)',
      });
    }
    const deps = installedDependents(targets, records);
    if (deps.length > 0) {
      if (!opts.withDependents) {
        throw new FusemlError('CONFLICT', `cannot uninstall ${targets.join(', ')}: still required by installed ${deps.join(', ')}`, {
          hint: `uninstall ${deps.join(', ')} first, or pass --with-dependents to uninstall ${deps.length > 1 ? 'them' : 'it'} too`,
        });
      }
      targets = [...deps, ...targets];
    }
    // Extensions installed by location (-e git+…, .tgz, ./dir): their uninstall steps come from the pinned source.
    const sourced = records.filter((r) => r.source && targets.includes(r.extension));
    if (sourced.length > 0 && opts.reopen) {
      const { recordedLayer } = await import('./sources.js');
      const layers = [];
      for (const r of sourced) layers.push(await recordedLayer(r.source as ExtensionSource, { mirrors: opts.chartMirrors ?? [], signal: env.signal }));
      repo = await opts.reopen(layers);
    }
    const missing = targets.filter((t) => !repo.get(t));
    if (missing.length > 0) {
      throw new FusemlError('NOT_FOUND', `the extension repository ${repo.dir} has no ${missing.join(', ')}: its uninstall steps are unknown`, {
        hint: 'pass --extensions-repository DIR: the repository the extension was installed from',
      });
    }
    if (targets.length === 0) return { summary: { extensions: [], pendingRegistrations: [], namespacesDeleted: [] }, journalDir: env.sink?.journal.dir ?? '', registryUrl: env.sink?.url };
    // Uninstall steps render with what the install used: the recorded values, sensitive ones included.
    const user = await recordedUserValues(conn.cluster, records.filter((r) => targets.includes(r.extension)));
    const recorded = new Map<string, ParamValues>(records.map((r) => [r.extension, { ...r.params, ...(user.get(r.extension) ?? {}) }]));
    const plan = await createPlan(repo, { extensions: targets, assignments: opts.assignments, withDependencies: false, forUninstall: true, recordedParams: recorded, chartMirrors: opts.chartMirrors });
    // What an install made of FuseML's gateways and rolerules goes too.
    const extras = { workloadsNamespace: opts.workloadsNamespace, uninstall: true };
    addFusemlExtras(plan, await probeCluster(plan, tools.kubectl, conn.access, extras), extras);
    if (opts.dryRun) {
      return {
        dryRun: true,
        order: [...plan.levels].reverse().flat(),
        extensions: [...plan.extensions.values()].map((p) => ({
          name: p.name,
          steps: p.uninstall.map((s) => ({ id: s.id, type: s.type, namespace: s.namespace })),
          registration: records.find((r) => r.extension === p.name)?.registration?.id ?? null,
        })),
      };
    }
    const nsList = [...new Set(targets.flatMap((t) => records.find((r) => r.extension === t)?.namespaces ?? []))];
    await opts.confirm?.(targets, nsList, conn.where);
    // helm only when a step needs it (a manifest-only extension uninstalls without it).
    const types = new Set([...plan.extensions.values()].flatMap((p) => p.uninstall.map((s) => s.type)));
    if (types.has('helm')) tools.helm = await resolveTool('helm');
    reporter = await env.reporter(targets);
    reporter.event({ type: 'info', message: `cluster: ${conn.where}` });
    const engine = new InstallerEngine({ cluster: conn.cluster, tools, env: conn.access.env, kube: conn.access, sink: env.sink, reporter, signal: env.signal });
    const summary = await engine.uninstall(targets, plan.extensions, records);
    return { summary, journalDir: env.sink?.journal.dir ?? '', registryUrl: env.sink?.url };
  } finally {
    await reporter?.close?.();
    await lock.release();
  }
}

// ---- diff

export interface Change {
  kind: 'version' | 'parameter' | 'chart' | 'values' | 'registration';
  /** What changed: a parameter name, `RELEASE:path.in.values`, a path in the registry record. */
  path: string;
  /** Absent: added. Sensitive values read `***`. */
  from?: unknown;
  /** Absent: removed. */
  to?: unknown;
}

export interface ExtensionDiff {
  name: string;
  installed: boolean;
  /** The installer revision it would change (the last recorded one). */
  revision?: number | undefined;
  changes: Change[];
}

export interface DiffResult {
  changed: boolean;
  extensions: ExtensionDiff[];
}

/** Leaves of a JSON value as `a.b[0].c` → value. */
function flatten(v: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (Array.isArray(v)) {
    if (v.length === 0 && prefix) out.set(prefix, []);
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, v);
  return out;
}

/** Path-by-path differences of two JSON values; `mask` decides what is shown `***`; `skip` leaves a path out. */
function diffValues(kind: Change['kind'], prefix: string, a: unknown, b: unknown, mask: (path: string, v: unknown) => boolean, skip: (path: string, to: unknown) => boolean = () => false): Change[] {
  const fa = flatten(a);
  const fb = flatten(b);
  const out: Change[] = [];
  for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const from = fa.get(path);
    const to = fb.get(path);
    if (JSON.stringify(from) === JSON.stringify(to) || skip(path, to)) continue;
    const show = (v: unknown): unknown => (v === undefined ? undefined : mask(path, v) ? MASK : v);
    out.push({ kind, path: `${prefix}${path}`, ...(fa.has(path) ? { from: show(from) } : {}), ...(fb.has(path) ? { to: show(to) } : {}) });
  }
  return out;
}

/**
 * What an install / upgrade with these options would change, per extension of the plan: parameters
 * (sensitive ones `***`), the extension version, helm charts and their rendered values (against
 * the release's values, read with helm), and the registration record (against the one last
 * registered; outputs are taken as last read). Changes nothing: no lock, no write.
 */
export async function diffAction(env: ActionEnv, input: PlanInput): Promise<DiffResult> {
  await prevalidate(input);
  const conn = await env.connect(await resolveTool('kubectl'));
  await conn.cluster.ping();
  const records = await conn.cluster.readRecords();
  const recorded = input.resetValues ? new Map<string, ParamValues>() : await recordedUserValues(conn.cluster, records);
  const plan = await planInstall(input, recorded, env.warn);
  const types = new Set([...plan.extensions.values()].flatMap((p) => p.install.map((s) => s.type)));
  const tools = await toolsFor(types);
  const extensions: ExtensionDiff[] = [];
  for (const name of plan.order) {
    const p = plan.extensions.get(name) as ExtensionPlan;
    const rec = records.find((r) => r.extension === name);
    const priv = rec ? await conn.cluster.readPrivate(name) : {};
    const oldSensitive = parseJson<ParamValues>(priv[VALUES_KEY], {});
    const secrets = [...new Set([...plan.secrets, ...Object.values(oldSensitive).map(String)])].filter((s) => s.length > 0);
    const hide = (v: unknown): boolean => typeof v === 'string' && secrets.some((s) => v.includes(s));
    const changes: Change[] = [];
    if (rec?.version !== p.ext.version) changes.push({ kind: 'version', path: 'version', ...(rec ? { from: rec.version } : {}), to: p.ext.version });
    // Parameters: every value the steps get (defaults included), sensitive ones compared but never shown.
    const oldParams: ParamValues = { ...(rec?.params ?? {}), ...oldSensitive };
    const newParams: ParamValues = rec ? p.params : {};
    if (rec) changes.push(...diffValues('parameter', '', oldParams, newParams, (k) => p.sensitiveParams.includes(k) || rec.values?.sensitive.includes(k) === true));
    else for (const [k, v] of Object.entries(p.params)) changes.push({ kind: 'parameter', path: k, to: p.sensitiveParams.includes(k) ? MASK : v });
    const a = helmAccess(tools, conn, secrets, env.signal);
    for (const s of p.install) {
      if (s.type !== 'helm') continue;
      const st = rec ? await helmStatus(a, s.release, s.namespace) : undefined;
      const toChart = `${s.chart?.ref ?? ''}${s.chart?.version ? `@${s.chart.version}` : ''}`;
      if (!st || (s.chart?.version !== undefined && st.chartVersion !== s.chart.version)) {
        changes.push({ kind: 'chart', path: s.release, ...(st ? { from: `${st.chart}@${st.chartVersion}` } : {}), to: toChart });
      }
      const current = st ? ((await helmReleaseValues(a, s.release, s.namespace)) ?? {}) : {};
      changes.push(...diffValues('values', `${s.release}:`, current, s.values, (_p, v) => hide(v)));
    }
    // The registration: against what was registered last, outputs as last read (they are read again by the install).
    const last = rec?.history?.at(-1);
    const before = last ? parseJson<PrivateRevision>(priv[revKey(last.revision)], { values: {} }).registration : undefined;
    const outputs: Record<string, string> = { ...(rec?.outputs ?? {}) };
    let after: ExtensionRecord | undefined;
    try {
      after = renderRegistration(p.ext, p.params, outputs, { id: p.registryId, zone: p.zone, namespace: p.namespace, placeholders: true });
    } catch {
      after = undefined;
    }
    const placeholder = (v: unknown): boolean => typeof v === 'string' && /<outputs\.[^>]+>/.test(v);
    const regMask = (path: string, v: unknown): boolean => /credentials\[\d+\]\.configuration\./.test(path) || hide(v);
    if (before || after) {
      changes.push(...diffValues('registration', '', before ?? {}, after ?? {}, regMask, (path, to) => before !== undefined && placeholder(to) && flatten(before).has(path)));
    }
    extensions.push({ name, installed: rec !== undefined, revision: last?.revision, changes });
  }
  return { changed: extensions.some((e) => e.changes.length > 0), extensions };
}

// ---- rollback, history

export interface RollbackOptions {
  name: string;
  repo?: Repository | undefined;
  /** The installer revision to return to; default the one before the last. */
  revision?: number | undefined;
  timeoutMs?: number | undefined;
}

export interface RollbackResult {
  extension: string;
  from: number;
  to: number;
  /** The new revision the rollback is recorded as. */
  revision: number;
  helm: { release: string; namespace: string; revision: number }[];
  registration: 'registered' | 'pending' | 'none';
  /** Steps that are not helm releases: not rolled back; the next install re-applies them. */
  notRolledBack: string[];
}

function recordOf(records: readonly InstallRecord[], name: string, repo?: Repository): InstallRecord {
  const canonical = repo?.get(name)?.name ?? name;
  const rec = records.find((r) => r.extension === canonical);
  if (!rec) {
    throw new FusemlError('NOT_FOUND', `${name} is not installed by this installer`, {
      hint: records.length ? `installed: ${records.map((r) => r.extension).join(', ')} (fuseml-installer status)` : 'nothing is installed (fuseml-installer status)',
    });
  }
  return rec;
}

/** rollback: helm releases back to the revision's helm revisions, its registration and values re-applied. */
export async function rollbackAction(env: ActionEnv, opts: RollbackOptions): Promise<RollbackResult> {
  const conn = await env.connect(await resolveTool('kubectl'));
  await conn.cluster.ping();
  const lock = await conn.cluster.acquireLock({ holder: conn.holder, timeoutMs: conn.lockTimeoutMs, signal: env.signal });
  try {
    const rec = recordOf(await conn.cluster.readRecords(), opts.name, opts.repo);
    const history = rec.history ?? [];
    const current = history.at(-1);
    const target = opts.revision === undefined ? history.at(-2) : history.find((h) => h.revision === opts.revision);
    if (!current || !target) {
      throw new FusemlError('NOT_FOUND', opts.revision === undefined ? `${rec.extension} has no earlier revision to roll back to` : `${rec.extension} has no revision ${opts.revision}`, {
        hint: `recorded revisions: ${history.map((h) => h.revision).join(', ') || 'none'} (fuseml-installer status -e ${rec.extension} --history)`,
      });
    }
    const priv = await conn.cluster.readPrivate(rec.extension);
    const data = parseJson<PrivateRevision | undefined>(priv[revKey(target.revision)], undefined);
    const secrets = Object.values(data?.values ?? {}).map(String).filter((s) => s.length > 0);
    const helmTool = target.helm.length > 0 ? await resolveTool('helm') : 'helm';
    const a = helmAccess({ helm: helmTool, kubectl: '' }, conn, secrets, env.signal);
    for (const h of target.helm) {
      env.info?.(`helm rollback ${h.release} ${h.revision} (namespace ${h.namespace})`);
      await helmRollback(a, h.release, h.namespace, h.revision, opts.timeoutMs ?? 5 * 60_000);
    }
    let registration: RollbackResult['registration'] = 'none';
    if (data?.registration && env.sink) {
      const d = await env.sink.upsert(data.registration, rec.extension);
      registration = d.state === 'delivered' ? 'registered' : 'pending';
      rec.registration = { id: data.registration.id, registryUrl: env.sink.url, digest: sha(data.registration), state: d.state === 'delivered' ? 'registered' : 'pending' };
    }
    // helm steps are as they were at the target; any other step is not done: the next install re-applies it.
    const helmSteps = new Set(target.helm.map((h) => h.step));
    const notRolledBack = Object.keys(target.steps).filter((id) => !helmSteps.has(id));
    const now = new Date().toISOString();
    rec.steps = Object.fromEntries(Object.entries(target.steps).filter(([id]) => helmSteps.has(id)).map(([id, digest]) => [id, { state: 'done' as const, digest, at: now }]));
    rec.values = target.values;
    rec.version = target.version;
    rec.status = 'installed';
    rec.message = undefined;
    if (Object.keys(data?.values ?? {}).length > 0) priv[VALUES_KEY] = JSON.stringify(data?.values);
    else delete priv[VALUES_KEY];
    const helm: HelmRevision[] = [];
    for (const h of target.helm) helm.push({ ...h, revision: (await helmRevision(a, h.release, h.namespace)) ?? h.revision });
    const entry = addRevision(rec, priv, {
      action: 'rollback',
      version: target.version,
      values: target.values,
      helm,
      steps: target.steps,
      registration: data?.registration?.id,
      description: `rollback to ${target.revision}`,
    }, data ?? { values: {} });
    await conn.cluster.writePrivate(rec.extension, priv);
    rec.updatedAt = now;
    await conn.cluster.writeRecord(rec);
    return { extension: rec.extension, from: current.revision, to: target.revision, revision: entry.revision, helm: helm.map(({ release, namespace, revision }) => ({ release, namespace, revision })), registration, notRolledBack };
  } finally {
    await lock.release();
  }
}

/** The recorded revisions of an extension, oldest first. */
export async function historyAction(env: ActionEnv, name: string, repo?: Repository): Promise<Revision[]> {
  const conn = await env.connect(await resolveTool('kubectl').catch(() => 'kubectl'));
  return recordOf(await conn.cluster.readRecords(), name, repo).history ?? [];
}

export interface StatusResult {
  records: InstallRecord[];
  /** Extensions whose registration is still in the journal. */
  pending: Set<string>;
}

/** status: the install records, and which registrations are still journaled (for the registry each record names). */
export async function statusAction(env: ActionEnv): Promise<StatusResult> {
  const conn = await env.connect(await resolveTool('kubectl').catch(() => 'kubectl'));
  env.info?.(`cluster: ${conn.where}`);
  const records = await conn.cluster.readRecords();
  const journal = new Journal();
  const pending = new Set<string>();
  for (const r of records) {
    const reg = r.registration;
    if (reg?.state === 'pending' && (await journal.get(reg.registryUrl, reg.id))) pending.add(r.extension);
  }
  return { records, pending };
}

/** extensions sync: delivers what the journal holds for the sink's registry. */
export function syncAction(sink: RegistrySink): Promise<SyncResult> {
  return sink.sync();
}


// ---- doctor

export interface DoctorActionOptions {
  repo: Repository;
  /** Requested names; empty: every installed extension. */
  names: readonly string[];
  assignments: readonly Assignment[];
  fix?: boolean | undefined;
  /** Called with the report before any fix is applied (shows it, asks; throws to stop). */
  confirm?: ((report: DoctorReport, where: string) => Promise<void>) | undefined;
}

export interface DoctorResult {
  report: DoctorReport;
  fixed?: FixResult[] | undefined;
  where: string;
}

/**
 * Compares install records, helm releases, the objects installs waited for and the registry (src/installer/doctor.ts);
 * with `fix`, applies the fixes under the cluster lock after `confirm`.
 */
export async function doctorAction(env: ActionEnv, opts: DoctorActionOptions): Promise<DoctorResult> {
  const { repo } = opts;
  const conn = await env.connect(await resolveTool('kubectl'));
  await conn.cluster.ping();
  env.info?.(`cluster: ${conn.where}\nregistry: ${env.sink?.url ?? '-'}`);
  const all = await conn.cluster.readRecords();
  const canonical = (n: string): string => repo.get(n)?.name ?? n;
  const wanted = new Set(opts.names.map(canonical));
  const unknown = [...wanted].filter((n) => !all.some((r) => r.extension === n));
  if (unknown.length > 0) {
    throw new FusemlError('NOT_FOUND', `not installed by this installer: ${unknown.join(', ')}`, {
      hint: all.length ? `installed: ${all.map((r) => r.extension).join(', ')} (fuseml-installer status)` : 'nothing is installed (fuseml-installer status)',
    });
  }
  const records = wanted.size > 0 ? all.filter((r) => wanted.has(r.extension)) : all;
  // Steps, waits and outputs from the repository, rendered with the recorded parameters (and --set / --values).
  const known = records.filter((r) => repo.get(r.extension)).map((r) => r.extension);
  const plans = new Map<string, ExtensionPlan>();
  if (known.length > 0) {
    const user = await recordedUserValues(conn.cluster, records.filter((r) => known.includes(r.extension)));
    const recorded = new Map<string, ParamValues>(records.map((r) => [r.extension, { ...r.params, ...(user.get(r.extension) ?? {}) }]));
    const plan = await createPlan(repo, { extensions: known, assignments: opts.assignments, withDependencies: false, forUninstall: true, recordedParams: recorded });
    for (const [n, p] of plan.extensions) plans.set(n, p);
  }
  const needsHelm = [...plans.values()].some((p) => p.install.some((s) => s.type === 'helm'));
  const helm = needsHelm ? await resolveTool('helm') : 'helm';
  const report = await checkDrift(records, {
    cluster: conn.cluster,
    plans,
    sink: env.sink,
    signal: env.signal,
    releaseStatus: (release, namespace) => helmReleaseStatus(helm, release, namespace, { kube: conn.access.helm, env: conn.access.env, signal: env.signal }),
  });
  if (!opts.fix || report.fixes.length === 0) return { report, where: conn.where };
  await opts.confirm?.(report, conn.where);
  const lock = await conn.cluster.acquireLock({ holder: conn.holder, timeoutMs: conn.lockTimeoutMs, signal: env.signal });
  try {
    return { report, fixed: await applyFixes(report.fixes, { cluster: conn.cluster, sink: env.sink }), where: conn.where };
  } finally {
    await lock.release();
  }
}
