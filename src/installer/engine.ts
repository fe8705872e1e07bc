/**
 * Runs a plan: extensions in dependency order, independent ones in parallel
 * (at most `concurrency` at a time; an extension starts as soon as what it
 * requires is installed), steps in order with their waits, then outputs, the
 * install record, and the registration. Uninstall runs the other way round.
 * Cluster access goes through a ClusterBackend; processes through src/exec.
 */
import { FusemlError } from '../core/errors.js';
import type { Extension } from '../core/extension.js';
import { dependents as dependentsOf, levels } from '../core/graph.js';
import type { ExtensionRecord } from '../core/records.js';
import { redact } from '../core/redact.js';
import { runStep, stepCommands, type Tools } from '../steps/index.js';
import type { ClusterBackend, InstallRecord } from './cluster.js';
import type { Reporter } from './events.js';
import { paramEnvName } from './params.js';
import type { ExtensionPlan, Plan, PlannedStep } from './plan.js';
import { previewRegistration } from './plan.js';
import { collectOutputs, publicOutputs } from './outputs.js';
import { registrationDigest, renderRegistration } from './registration.js';
import type { Delivery, RegistrySink } from './registry-sink.js';

export { OUTPUT_TIMEOUT_MS, isSensitiveOutput } from './outputs.js';

export interface EngineOptions {
  cluster: ClusterBackend;
  tools: Tools;
  /** Environment for every process (KUBECONFIG, FUSEML_KUBE_CONTEXT…). */
  env: Record<string, string>;
  /** Cluster flags for helm / kubectl (childKubeAccess of the target): every child acts on the same cluster. */
  kube?: { helm: readonly string[]; kubectl: readonly string[] } | undefined;
  /** Undefined: do not register. */
  sink?: RegistrySink | undefined;
  reporter: Reporter;
  signal?: AbortSignal | undefined;
  forceReinstall?: boolean | undefined;
  /** Status message stored with registry records. */
  message?: string | undefined;
  /** Take over registry records this installer did not create (by default install refuses to overwrite them). */
  adopt?: boolean | undefined;
  /** A step running this long gets its namespace diagnosed (and again every 10 s): why is it not progressing? Default 30 s. */
  diagnoseAfterMs?: number | undefined;
  /** Called with each registration record delivered or journaled (the actions keep it for rollback). */
  onRegistered?: ((extension: string, record: ExtensionRecord) => void) | undefined;
}

export type RegistrationOutcome = 'registered' | 'unchanged' | 'pending' | 'deregistered' | 'none';

export interface ExtensionOutcome {
  name: string;
  /** `interrupted`: the run was cancelled (SIGINT / SIGTERM) while this extension ran. */
  state: 'installed' | 'unchanged' | 'uninstalled' | 'failed' | 'skipped' | 'interrupted';
  steps: { id: string; type: string; state: 'done' | 'skipped' | 'failed' | 'interrupted' }[];
  registration: RegistrationOutcome;
  /** Non-sensitive outputs. */
  outputs: Record<string, string>;
  error?: string | undefined;
  /** The FusemlError code of the failure (CANCELLED when the run was interrupted). */
  code?: string | undefined;
  /** Where an interrupted or failed extension stopped, e.g. `install step helm alpha (app)`. */
  stoppedIn?: string | undefined;
}

export interface RunSummary {
  extensions: ExtensionOutcome[];
  pendingRegistrations: { extension: string; id: string; error: string }[];
  namespacesDeleted: string[];
}


export function stepTitle(step: PlannedStep): string {
  switch (step.type) {
    case 'helm':
      return step.action === 'install' ? `helm ${step.release} (${step.id})` : `helm uninstall ${step.release} (${step.id})`;
    case 'manifest':
      return `kubectl ${step.action} manifests (${step.id})`;
    case 'kustomize':
      return `kubectl ${step.action} -k (${step.id})`;
    case 'script':
      return `script ${step.file.split('/').pop() ?? ''} (${step.id})`;
  }
}

/** Runs fn over names in dependency order with at most `limit` at once; a failure skips what depends on it. */
export async function schedule<T>(
  order: readonly string[],
  deps: (n: string) => readonly string[],
  limit: number,
  fn: (n: string) => Promise<T>,
  onSkip: (n: string, failedDep: string) => T,
): Promise<Map<string, { ok: boolean; value: T }>> {
  const results = new Map<string, Promise<{ ok: boolean; value: T }>>();
  let active = 0;
  const queue: (() => void)[] = [];
  const acquire = (): Promise<void> =>
    new Promise((res) => {
      if (active < limit) {
        active++;
        res();
      } else queue.push(() => { active++; res(); });
    });
  const release = (): void => {
    active--;
    queue.shift()?.();
  };
  for (const n of order) {
    const mine = (async () => {
      for (const d of deps(n)) {
        const r = results.get(d);
        if (r && !(await r).ok) return { ok: false, value: onSkip(n, d) };
      }
      await acquire();
      try {
        return { ok: true, value: await fn(n) };
      } catch (e) {
        return { ok: false, value: e as T };
      } finally {
        release();
      }
    })();
    results.set(n, mine);
  }
  const out = new Map<string, { ok: boolean; value: T }>();
  for (const [n, p] of results) out.set(n, await p);
  return out;
}

function failure(e: unknown, secrets: Iterable<string>): { message: string; code: string } {
  const err = e instanceof FusemlError ? e : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  return { message: redact(msg, secrets), code: err?.code ?? 'INTERNAL' };
}

export class InstallerEngine {
  readonly #o: EngineOptions;
  /** Every secret seen so far (parameters, sensitive outputs): masked in everything shown. */
  readonly secrets = new Set<string>();
  /** Extension → the step it stopped in (failed or interrupted). */
  readonly #stoppedIn = new Map<string, string>();

  constructor(options: EngineOptions) {
    this.#o = options;
  }

  /** The run was interrupted (SIGINT / SIGTERM): whatever error a child reported is a cancellation. */
  #cancelled(e?: unknown): boolean {
    return this.#o.signal?.aborted === true || (e instanceof FusemlError && e.code === 'CANCELLED');
  }

  #notStartedIfCancelled(): void {
    if (this.#o.signal?.aborted) throw new FusemlError('CANCELLED', 'not started: the run was cancelled');
  }

  /** Marks a record after a failure: `interrupted` (with the step) when the run was cancelled, else `failed`. */
  async #markStopped(record: InstallRecord, e: unknown): Promise<void> {
    const where = this.#stoppedIn.get(record.extension);
    if (this.#cancelled(e)) {
      record.status = 'interrupted';
      record.message = `interrupted${where ? ` during ${where}` : ''}`;
    } else {
      record.status = 'failed';
      record.message = failure(e, this.secrets).message.split('\n')[0];
    }
    record.updatedAt = new Date().toISOString();
    await this.#o.cluster.writeRecord(record).catch(() => undefined);
  }

  #outcomeOf(n: string, e: unknown, steps: ExtensionOutcome['steps']): ExtensionOutcome {
    const f = failure(e, this.secrets);
    const code = this.#cancelled(e) ? 'CANCELLED' : f.code;
    const stoppedIn = this.#stoppedIn.get(n);
    // A failed tool's message is its command line, then its stderr: the last line is usually the reason.
    const lines = f.message.split('\n').filter((l) => l.trim() !== '');
    const message = code === 'CANCELLED' ? `interrupted${stoppedIn ? ` during ${stoppedIn}` : ''}` : lines.length > 1 ? `${lines[0]} ${(lines.at(-1) as string).trim()}` : (lines[0] ?? '');
    this.#o.reporter.event({ type: 'extension', extension: n, state: 'failed', message });
    return { name: n, state: code === 'CANCELLED' ? 'interrupted' : 'failed', steps, registration: 'none', outputs: {}, error: code === 'CANCELLED' ? message : f.message, code, stoppedIn };
  }

  #emitStep(ext: string, step: PlannedStep, state: 'running' | 'done' | 'skipped' | 'failed', durationMs?: number, message?: string): void {
    this.#o.reporter.event({ type: 'step', extension: ext, step: step.id, title: stepTitle(step), state, durationMs, message });
  }

  /** While a step runs: after diagnoseAfterMs, and every 10 s, report what keeps its namespace from progressing. */
  #watchStall(extension: string, step: PlannedStep): { stop: () => string[] } {
    const diagnose = this.#o.cluster.diagnose?.bind(this.#o.cluster);
    let last: string[] = [];
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      if (stopped || !diagnose) return;
      try {
        const problems = await diagnose(step.namespace);
        if (stopped) return;
        if (problems.join('\n') !== last.join('\n') && problems.length > 0) this.#emitStep(extension, step, 'running', undefined, `not progressing: ${problems.join('; ')}`);
        last = problems;
      } catch {
        // a diagnosis is best effort
      }
      if (!stopped) timer = setTimeout(() => void tick(), 10_000);
    };
    if (diagnose) timer = setTimeout(() => void tick(), this.#o.diagnoseAfterMs ?? 30_000);
    return {
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        return last;
      },
    };
  }

  #stepCtx(p: ExtensionPlan) {
    const secretEnv: Record<string, string> = {};
    const env: Record<string, string> = { ...this.#o.env };
    for (const [k, v] of Object.entries(p.params)) {
      if (p.sensitiveParams.includes(k)) secretEnv[paramEnvName(k)] = String(v);
      else env[paramEnvName(k)] = String(v);
    }
    return {
      tools: this.#o.tools,
      extension: p.name,
      env,
      kube: this.#o.kube,
      secretEnv,
      secrets: [...this.secrets],
      signal: this.#o.signal,
      onLine: (line: string) => this.#o.reporter.event({ type: 'log', extension: p.name, line }),
    };
  }

  async #runSteps(p: ExtensionPlan, steps: readonly PlannedStep[], record: InstallRecord | undefined, outcome: ExtensionOutcome, scriptOutputs: Record<string, string>, save: (() => Promise<void>) | undefined, force = this.#o.forceReinstall === true): Promise<void> {
    const c = this.#o.cluster;
    for (const step of steps) {
      const prev = record?.steps[step.id];
      if (step.phase === 'install' && !force && prev?.state === 'done' && prev.digest === step.digest) {
        this.#emitStep(p.name, step, 'skipped', undefined, 'already done');
        outcome.steps.push({ id: step.id, type: step.type, state: 'skipped' });
        continue;
      }
      if (record && step.phase === 'install' && prev?.state === 'done') {
        // Redone (forced or changed): no longer `done` until it finishes, so a run killed in it redoes it.
        record.steps[step.id] = { state: 'running', digest: step.digest, at: new Date().toISOString() };
        await save?.();
      }
      this.#emitStep(p.name, step, 'running');
      const t0 = Date.now();
      const watch = this.#watchStall(p.name, step);
      try {
        const result = await runStep(step, this.#stepCtx(p));
        Object.assign(scriptOutputs, result.outputs ?? {});
        for (const w of step.waitFor) await c.wait(w, this.#o.signal);
      } catch (err) {
        const problems = watch.stop();
        // A wait or helm --wait that timed out says why, from the objects' status.
        const e = problems.length > 0 && err instanceof FusemlError && !this.#cancelled(err)
          ? new FusemlError(err.code, `${err.message}\n  not progressing: ${problems.join('; ')}`, { cause: err, hint: err.hint })
          : err;
        const state = this.#cancelled(e) ? 'interrupted' : 'failed';
        this.#emitStep(p.name, step, 'failed', Date.now() - t0, state === 'interrupted' ? 'interrupted' : undefined);
        outcome.steps.push({ id: step.id, type: step.type, state });
        if (record && step.phase === 'install') record.steps[step.id] = { state, digest: step.digest, at: new Date().toISOString() };
        this.#stoppedIn.set(p.name, `${step.phase} step ${stepTitle(step)}`);
        throw e;
      }
      watch.stop();
      this.#emitStep(p.name, step, 'done', Date.now() - t0);
      outcome.steps.push({ id: step.id, type: step.type, state: 'done' });
      if (record && step.phase === 'install') {
        record.steps[step.id] = { state: 'done', digest: step.digest, at: new Date().toISOString() };
        await save?.();
      }
    }
  }

  #collectOutputs(p: ExtensionPlan, scriptOutputs: Record<string, string>, recorded: Record<string, string>): Promise<Record<string, string>> {
    return collectOutputs(this.#o.cluster, p, scriptOutputs, recorded, { signal: this.#o.signal, secrets: this.secrets });
  }

  async #register(p: ExtensionPlan, outputs: Record<string, string>, record: InstallRecord, outcome: ExtensionOutcome, pending: RunSummary['pendingRegistrations']): Promise<void> {
    const sink = this.#o.sink;
    const rec: ExtensionRecord | undefined = renderRegistration(p.ext, p.params, outputs, { id: p.registryId, zone: p.zone, namespace: p.namespace, message: this.#o.message });
    if (!rec || !sink) {
      outcome.registration = 'none';
      return;
    }
    const digest = registrationDigest(rec);
    const prev = record.registration;
    if (!this.#o.forceReinstall && prev?.state === 'registered' && prev.digest === digest && prev.registryUrl === sink.url && prev.id === rec.id) {
      outcome.registration = 'unchanged';
      return;
    }
    // The id changed: the old record goes.
    if (prev && prev.id !== rec.id && prev.registryUrl === sink.url) await sink.remove(prev.id, p.name);
    const d: Delivery = await sink.upsert(rec, p.name);
    this.#o.onRegistered?.(p.name, rec);
    record.registration = { id: rec.id, registryUrl: sink.url, digest, state: d.state === 'delivered' ? 'registered' : 'pending' };
    if (d.state === 'delivered') outcome.registration = 'registered';
    else {
      outcome.registration = 'pending';
      pending.push({ extension: p.name, id: rec.id, error: redact(d.error.message, this.secrets) });
    }
  }

  async #installOne(p: ExtensionPlan, existing: InstallRecord | undefined, pending: RunSummary['pendingRegistrations'], outcome: ExtensionOutcome): Promise<ExtensionOutcome> {
    const c = this.#o.cluster;
    const r = this.#o.reporter;
    this.#notStartedIfCancelled();
    r.event({ type: 'extension', extension: p.name, state: 'running' });
    const now = new Date().toISOString();
    const record: InstallRecord = {
      extension: p.name,
      product: p.ext.product,
      version: p.ext.version,
      namespace: p.namespace,
      namespaces: p.namespaces,
      requires: p.requires,
      params: Object.fromEntries(Object.entries(p.params).filter(([k]) => !p.sensitiveParams.includes(k))),
      outputs: existing?.outputs ?? {},
      steps: existing?.steps ?? {},
      status: 'installing',
      registration: existing?.registration,
      installedAt: existing?.installedAt,
      updatedAt: now,
      ...(p.ext.source ? { source: p.ext.source } : {}),
      // Kept as they are: the actions (src/installer/actions.ts) update them after the run.
      values: existing?.values,
      history: existing?.history,
    };
    // Nothing to do when every step is done with the same definition (checked again per step below).
    const allDone = !this.#o.forceReinstall && existing?.status === 'installed' && p.install.every((s) => existing.steps[s.id]?.state === 'done' && existing.steps[s.id]?.digest === s.digest);
    const save = async (): Promise<void> => {
      record.updatedAt = new Date().toISOString();
      await c.writeRecord(record);
    };
    if (!allDone) await save();
    try {
      return await this.#installSteps(p, existing, record, allDone, pending, outcome, save);
    } catch (e) {
      await this.#markStopped(record, e);
      throw e;
    }
  }

  async #installSteps(p: ExtensionPlan, existing: InstallRecord | undefined, record: InstallRecord, allDone: boolean, pending: RunSummary['pendingRegistrations'], outcome: ExtensionOutcome, save: () => Promise<void>): Promise<ExtensionOutcome> {
    const c = this.#o.cluster;
    const r = this.#o.reporter;
    for (const ns of p.namespaces) await c.ensureNamespace(ns, p.name, this.#o.signal);
    const scriptOutputs: Record<string, string> = {};
    await this.#runSteps(p, p.install, record, outcome, scriptOutputs, save);
    // Sensitive script outputs are never recorded: a re-run that skipped the script does not have them.
    const recordedOutputs = existing?.outputs ?? {};
    const scriptKeys = Object.values(p.ext.outputs).flatMap((o) => (o.script ? [o.script.key] : []));
    const missing = scriptKeys.filter((k) => scriptOutputs[k] === undefined && recordedOutputs[k] === undefined);
    const nothingRan = outcome.steps.every((s) => s.state === 'skipped');
    const reg = existing?.registration;
    if (missing.length > 0 && nothingRan && allDone && reg?.state === 'registered' && reg.registryUrl === this.#o.sink?.url) {
      // Nothing changed since the registration was delivered: keep it as it is.
      outcome.outputs = recordedOutputs;
      outcome.registration = 'unchanged';
      outcome.state = 'unchanged';
      r.event({ type: 'extension', extension: p.name, state: 'unchanged' });
      return outcome;
    }
    if (missing.length > 0) {
      const scripts = p.install.filter((s) => s.type === 'script');
      await this.#runSteps(p, scripts, record, { ...outcome, steps: [] }, scriptOutputs, save, true);
    }
    this.#stoppedIn.set(p.name, 'reading outputs');
    const outputs = await this.#collectOutputs(p, scriptOutputs, recordedOutputs);
    this.#stoppedIn.set(p.name, 'registration');
    record.outputs = publicOutputs(p, outputs);
    outcome.outputs = record.outputs;
    await this.#register(p, outputs, record, outcome, pending);
    const changed = outcome.steps.some((s) => s.state === 'done') || outcome.registration === 'registered' || outcome.registration === 'pending';
    outcome.state = changed || !allDone ? 'installed' : 'unchanged';
    record.status = 'installed';
    record.message = undefined;
    record.installedAt ??= new Date().toISOString();
    if (changed || !allDone || JSON.stringify(existing?.outputs) !== JSON.stringify(record.outputs) || JSON.stringify(existing?.source) !== JSON.stringify(record.source)) await save();
    r.event({ type: 'extension', extension: p.name, state: outcome.state === 'unchanged' ? 'unchanged' : 'done', message: outcome.registration === 'pending' ? 'registration journaled (registry unreachable)' : undefined });
    return outcome;
  }

  /**
   * Registry records of the plan that exist but were not created by this installer (on this cluster: its
   * install record names the id and registry). Installing over them would overwrite someone's manual
   * registration (and a later uninstall delete it): refused unless `adopt`.
   */
  async #foreignRecords(plan: Plan, records: ReadonlyMap<string, InstallRecord>): Promise<{ extension: string; id: string; message: string }[]> {
    const sink = this.#o.sink;
    if (!sink || this.#o.adopt) return [];
    const out: { extension: string; id: string; message: string }[] = [];
    for (const n of plan.order) {
      const p = plan.extensions.get(n) as ExtensionPlan;
      const id = (previewRegistration(p) as { id?: string } | null)?.id;
      if (!id) continue;
      const reg = records.get(n)?.registration;
      if (reg && reg.id === id && reg.registryUrl === sink.url) continue; // ours
      const existing = await sink.find(id);
      if (existing) out.push({ extension: n, id, message: existing.status?.message ?? '' });
    }
    return out;
  }

  /** Installs the plan. Never throws for a failed extension: see the summary (the CLI turns it into an exit code). */
  async install(plan: Plan): Promise<RunSummary> {
    for (const s of plan.secrets) this.secrets.add(s);
    const c = this.#o.cluster;
    const records = new Map((await c.readRecords()).map((x) => [x.extension, x]));
    const foreign = await this.#foreignRecords(plan, records);
    if (foreign.length > 0) {
      const list = foreign.map((f) => `${f.id} (for ${f.extension}${f.message ? `: "${f.message}"` : ''})`).join(', ');
      throw new FusemlError('CONFLICT', `the registry ${this.#o.sink?.url ?? ''} already holds ${list}, not created by this installer; nothing was installed`, {
        hint: `pass --adopt to take ${foreign.length > 1 ? 'them' : 'it'} over, --id NEW to register under another id, or --no-register`,
      });
    }
    const pending: RunSummary['pendingRegistrations'] = [];
    for (const n of plan.order) this.#o.reporter.event({ type: 'extension', extension: n, state: 'waiting' });
    const deps = (n: string): string[] => (plan.extensions.get(n) as ExtensionPlan).requires;
    // Outcomes filled in as the work goes, so a failure still reports the steps that ran.
    const partial = new Map(plan.order.map((n) => [n, { name: n, state: 'installed', steps: [], registration: 'none', outputs: {} } as ExtensionOutcome]));
    const results = await schedule<ExtensionOutcome>(
      plan.order,
      deps,
      plan.concurrency,
      (n) => this.#installOne(plan.extensions.get(n) as ExtensionPlan, records.get(n), pending, partial.get(n) as ExtensionOutcome),
      (n, d) => {
        this.#o.reporter.event({ type: 'extension', extension: n, state: 'skipped', message: `requires ${d}, which failed` });
        return { name: n, state: 'skipped', steps: [], registration: 'none', outputs: {}, error: `not installed: requires ${d}, which failed`, code: 'EXEC' };
      },
    );
    const extensions: ExtensionOutcome[] = plan.order.map((n) => {
      const r = results.get(n) as { ok: boolean; value: ExtensionOutcome | unknown };
      if (r.ok || (r.value as ExtensionOutcome)?.state === 'skipped') return r.value as ExtensionOutcome;
      return this.#outcomeOf(n, r.value, partial.get(n)?.steps ?? []);
    });
    return { extensions, pendingRegistrations: pending, namespacesDeleted: [] };
  }

  /**
   * Uninstalls `targets` (canonical names, each with a record) in reverse
   * dependency order. `plans` give the steps (rendered with recorded params).
   */
  async uninstall(targets: readonly string[], plans: ReadonlyMap<string, ExtensionPlan>, records: readonly InstallRecord[]): Promise<RunSummary> {
    for (const p of plans.values()) for (const s of p.secrets) this.secrets.add(s);
    const c = this.#o.cluster;
    const byName = new Map(records.map((r) => [r.extension, r]));
    const deps = (n: string): string[] => byName.get(n)?.requires ?? plans.get(n)?.requires ?? [];
    const lv = levels(targets, (n) => deps(n).filter((d) => targets.includes(d)));
    const order = lv.flat().reverse();
    // Reverse dependencies: an extension goes once everything requiring it has gone.
    const reverseDeps = (n: string): string[] => targets.filter((t) => deps(t).includes(n));
    const pending: RunSummary['pendingRegistrations'] = [];
    const remaining = new Set(records.map((r) => r.extension));
    const results = await schedule<ExtensionOutcome>(
      order,
      reverseDeps,
      Math.max(1, plans.size),
      async (n) => {
        const p = plans.get(n);
        const rec = byName.get(n) as InstallRecord;
        const outcome: ExtensionOutcome = { name: n, state: 'uninstalled', steps: [], registration: 'none', outputs: {} };
        this.#notStartedIfCancelled();
        this.#o.reporter.event({ type: 'extension', extension: n, state: 'running' });
        rec.status = 'uninstalling';
        // Once undoing starts, nothing counts as installed: a later install redoes every step.
        rec.steps = {};
        rec.updatedAt = new Date().toISOString();
        await c.writeRecord(rec);
        try {
          if (p) await this.#runSteps(p, p.uninstall, undefined, outcome, {}, undefined);
        } catch (e) {
          await this.#markStopped(rec, e);
          throw e;
        }
        if (rec.registration && this.#o.sink) {
          const d = await this.#o.sink.remove(rec.registration.id, n);
          outcome.registration = d.state === 'delivered' ? 'deregistered' : 'pending';
          if (d.state === 'journaled') pending.push({ extension: n, id: rec.registration.id, error: redact(d.error.message, this.secrets) });
        }
        await c.deleteRecord(n);
        remaining.delete(n);
        this.#o.reporter.event({ type: 'extension', extension: n, state: 'done' });
        return outcome;
      },
      (n, d) => ({ name: n, state: 'skipped', steps: [], registration: 'none', outputs: {}, error: `not uninstalled: ${d}, which requires it, failed to uninstall`, code: 'EXEC' }),
    );
    // Namespaces: ours (labelled) and used by no remaining install.
    const stillUsed = new Set([...remaining].flatMap((n) => byName.get(n)?.namespaces ?? []));
    const candidates = new Set(order.filter((n) => !remaining.has(n)).flatMap((n) => byName.get(n)?.namespaces ?? []));
    const namespacesDeleted: string[] = [];
    for (const ns of candidates) {
      if (stillUsed.has(ns)) continue;
      if (await c.deleteNamespaceIfOurs(ns)) namespacesDeleted.push(ns);
    }
    const extensions = order.map((n) => {
      const r = results.get(n) as { ok: boolean; value: unknown };
      if (r.ok || (r.value as ExtensionOutcome)?.state === 'skipped') return r.value as ExtensionOutcome;
      return this.#outcomeOf(n, r.value, []);
    });
    return { extensions, pendingRegistrations: pending, namespacesDeleted };
  }
}

/** Installed extensions that require one of `targets` (directly or not), with the records' requires. */
export function installedDependents(targets: readonly string[], records: readonly InstallRecord[]): string[] {
  const byName = new Map(records.map((r) => [r.extension, r]));
  return dependentsOf(targets, [...byName.keys()], (n) => byName.get(n)?.requires ?? []);
}

/** The commands of a plan's steps, for --dry-run. */
export function planCommands(p: ExtensionPlan, tools: Tools, secrets: Iterable<string>): { id: string; type: string; namespace: string; commands: string[][]; waitFor: unknown[] }[] {
  const s = [...secrets];
  return p.install.map((step) => ({
    id: step.id,
    type: step.type,
    namespace: step.namespace,
    commands: stepCommands(step, tools).map((argv) => argv.map((a) => redact(a, s))),
    waitFor: step.waitFor,
  }));
}

export type { Extension };
