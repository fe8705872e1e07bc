/**
 * The doctor: compares what the installer recorded (install records), what helm says (releases), what the
 * cluster shows (the objects install waited for, the outputs it collected) and what the registry holds, and
 * says where they disagree. Each finding names the extension, the kind of drift and what `--fix` would do;
 * values are never shown (outputs are compared through the registered record's digest). `applyFixes`
 * re-registers (with fresh outputs) or deregisters through the RegistrySink, and updates the install record.
 */
import { FusemlError } from '../core/errors.js';
import type { ExtensionRecord } from '../core/records.js';
import { redact } from '../core/redact.js';
import type { ClusterBackend, InstallRecord } from './cluster.js';
import { collectOutputs, isSensitiveOutput, publicOutputs } from './outputs.js';
import type { ExtensionPlan, PlannedHelm } from './plan.js';
import { registrationDigest, renderRegistration } from './registration.js';
import type { DriftKind } from './drift.js';
import type { RegistrySink } from './registry-sink.js';

export { DRIFT_KINDS, DRIFT_MEANINGS, type DriftKind } from './drift.js';

export interface Finding {
  extension: string;
  kind: DriftKind;
  /** What disagrees; never a value. */
  detail: string;
  /** What `--fix` does about it; undefined: nothing it can do (see hint). */
  fix?: string | undefined;
  hint?: string | undefined;
}

export interface Note {
  extension: string;
  message: string;
}

/** What `--fix` does for one extension (computed by the check, applied by applyFixes). */
export interface FixPlan {
  extension: string;
  /** Deregister this id. */
  deregister?: string | undefined;
  /** Mark the install record failed, these steps not done (install redoes them; uninstall cleans up). */
  markFailed?: { steps: string[]; message: string } | undefined;
  /** Register this record (fresh outputs), recording its digest and the non-sensitive outputs. */
  register?: { record: ExtensionRecord; outputs: Record<string, string> } | undefined;
}

export interface DoctorReport {
  clean: boolean;
  /** The registry compared with (undefined: not checked). */
  registry?: string | undefined;
  /** The registry could not be reached: its records were not compared. */
  registryUnreachable?: boolean | undefined;
  /** Extensions checked (install records). */
  checked: string[];
  findings: Finding[];
  notes: Note[];
  /** Internal: what --fix would do, by extension. */
  fixes: FixPlan[];
}

export type ReleaseLookup = (release: string, namespace: string) => Promise<string | null>;

export interface DoctorOptions {
  cluster: ClusterBackend;
  /** Plans of the recorded extensions (rendered with the recorded parameters); an extension missing here is only partly checked. */
  plans: ReadonlyMap<string, ExtensionPlan>;
  /** A helm release's state (`deployed`, `failed`…), null when it does not exist. */
  releaseStatus: ReleaseLookup;
  /** The registry to compare with; undefined: registry records are not checked. */
  sink?: RegistrySink | undefined;
  signal?: AbortSignal | undefined;
}

const DEFAULT_MESSAGE = (ext: string): string => `installed by fuseml-installer (extension ${ext})`;

/** Sensitive parameters the registration or the outputs use that have no value (not recorded, not given again). */
function unknownSensitiveParams(p: ExtensionPlan): string[] {
  const uses = JSON.stringify([p.ext.registration ?? null, p.ext.outputs]);
  return p.sensitiveParams.filter((k) => (p.params[k] === undefined || p.params[k] === '') && new RegExp(`params\\.${k}\\b`).test(uses));
}

/** A wait checked once: undefined when ready, else why not. CLUSTER errors (unreachable API server) are thrown. */
async function checkWait(cluster: ClusterBackend, w: ExtensionPlan['install'][number]['waitFor'][number], signal?: AbortSignal): Promise<string | undefined> {
  try {
    await cluster.wait({ ...w, timeoutMs: 0 }, signal);
    return undefined;
  } catch (e) {
    if (!(e instanceof FusemlError) || (e.code !== 'TIMEOUT' && e.code !== 'EXEC' && e.code !== 'NOT_FOUND')) throw e;
    return e.message.replace(/^waiting for /, '').replace(/: not ready after \d+s/, ': not ready');
  }
}

/** Compares the install records with helm, the cluster and the registry. Never changes anything. */
export async function checkDrift(records: readonly InstallRecord[], o: DoctorOptions): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const notes: Note[] = [];
  const fixes: FixPlan[] = [];
  let registryUnreachable = false;
  const secrets = new Set<string>();
  for (const rec of records) {
    const n = rec.extension;
    if (rec.status !== 'installed') {
      notes.push({ extension: n, message: `status ${rec.status}${rec.message ? ` (${rec.message})` : ''}: not checked; fuseml-installer install (or uninstall) finishes it` });
      continue;
    }
    const p = o.plans.get(n);
    if (!p) {
      notes.push({ extension: n, message: 'not in the extension repository: its releases, waits and outputs are unknown, not checked (pass --extensions-repository)' });
      continue;
    }
    for (const s of p.secrets) secrets.add(s);
    const fix: FixPlan = { extension: n };
    // Helm releases.
    const broken: { step: PlannedHelm; state: string | null }[] = [];
    for (const step of p.install) {
      if (step.type !== 'helm') continue;
      const state = await o.releaseStatus(step.release, step.namespace);
      if (state === 'deployed') continue;
      broken.push({ step, state });
      findings.push(
        state === null
          ? { extension: n, kind: 'release-missing', detail: `helm release ${step.release} in ${step.namespace} (step ${step.id}) does not exist`, fix: 'mark the install record failed (install redoes the step; uninstall cleans up)' }
          : { extension: n, kind: 'release-failed', detail: `helm release ${step.release} in ${step.namespace} (step ${step.id}) is ${state}`, fix: 'mark the install record failed (install redoes the step; uninstall cleans up)' },
      );
    }
    if (broken.length > 0) {
      fix.markFailed = { steps: broken.map((b) => b.step.id), message: `found by doctor: ${broken.map((b) => `helm release ${b.step.release} ${b.state ?? 'missing'}`).join(', ')}` };
    }
    // What install waited for (not for a release already reported).
    for (const step of p.install) {
      if (broken.some((b) => b.step === step)) continue;
      for (const w of step.waitFor) {
        const why = await checkWait(o.cluster, w, o.signal);
        if (why !== undefined) {
          const problems = o.cluster.diagnose ? await o.cluster.diagnose(w.namespace).catch(() => []) : [];
          findings.push({ extension: n, kind: 'not-ready', detail: `${why}${problems.length ? `; ${problems.join('; ')}` : ''}`, hint: 'see kubectl describe; fuseml-installer install --force-reinstall redoes the steps' });
        }
      }
    }
    // The registry.
    const sink = o.sink;
    const reg = rec.registration;
    if (!sink || !p.ext.registration) {
      if (fix.markFailed) fixes.push(fix);
      continue;
    }
    if (reg && reg.registryUrl !== sink.url) {
      notes.push({ extension: n, message: `registered with ${reg.registryUrl}, not the registry checked (${sink.url}): its record is not compared` });
      if (fix.markFailed) fixes.push(fix);
      continue;
    }
    let id = reg?.id;
    try {
      id ??= renderRegistration(p.ext, p.params, {}, { id: p.registryId, namespace: p.namespace, placeholders: true })?.id ?? n;
    } catch {
      id = p.registryId ?? n;
    }
    const held = await sink.find(id);
    if (held === undefined) {
      registryUnreachable = true;
      if (fix.markFailed) fixes.push(fix);
      continue;
    }
    if (broken.length > 0) {
      if (held && reg) {
        findings.push({ extension: n, kind: 'registered-but-gone', detail: `the registry holds ${id}, but ${broken.map((b) => `release ${b.step.release} is ${b.state ?? 'missing'}`).join(', ')}`, fix: `deregister ${id}` });
        fix.deregister = id;
      }
      fixes.push(fix);
      continue;
    }
    const missing = unknownSensitiveParams(p);
    if (missing.length > 0) {
      notes.push({ extension: n, message: `its registration uses sensitive parameter(s) ${missing.join(', ')} (not recorded): outputs not compared; pass them with --values to compare` });
      if (!held && reg) findings.push({ extension: n, kind: 'unregistered', detail: `the registry has no record ${id}`, hint: 'fuseml-installer install (with the same parameters) registers it again' });
      continue;
    }
    let outputs: Record<string, string>;
    try {
      outputs = await collectOutputs(o.cluster, p, {}, rec.outputs, { signal: o.signal, secrets });
    } catch (e) {
      if (e instanceof FusemlError && e.code === 'CLUSTER') throw e;
      const why = redact((e as Error).message, secrets).split('\n')[0];
      findings.push({ extension: n, kind: 'stale-outputs', detail: `outputs cannot be read now: ${why}`, hint: 'fuseml-installer install --force-reinstall recreates what the outputs come from' });
      continue;
    }
    let fresh: ExtensionRecord | undefined;
    try {
      fresh = renderRegistration(p.ext, p.params, outputs, {
        id,
        zone: held?.zone ?? p.zone,
        namespace: p.namespace,
        message: held?.status?.message ?? DEFAULT_MESSAGE(n),
      });
    } catch (e) {
      notes.push({ extension: n, message: `its registration cannot be rendered now: ${redact((e as Error).message, secrets).split('\n')[0]}` });
      continue;
    }
    if (!fresh) continue;
    const register = { record: fresh, outputs: publicOutputs(p, outputs) };
    if (!held) {
      if (reg) {
        findings.push({ extension: n, kind: 'unregistered', detail: `installed, but the registry has no record ${id}${reg.state === 'pending' ? ' (its registration is journaled, not delivered)' : ''}`, fix: `register ${id} (fresh outputs)` });
        fix.register = register;
      } else {
        findings.push({ extension: n, kind: 'unregistered', detail: `installed without registering (--no-register): the registry has no record ${id}`, fix: `register ${id} (fresh outputs)` });
        fix.register = register;
      }
      fixes.push(fix);
      continue;
    }
    if (!reg) {
      findings.push({ extension: n, kind: 'unregistered', detail: `installed without registering; the registry holds a record ${id} this installer did not create`, hint: `fuseml-installer install --extensions ${n} --adopt takes it over` });
      continue;
    }
    if (reg.state === 'pending') {
      findings.push({ extension: n, kind: 'unregistered', detail: `its registration of ${id} is journaled, not delivered; the registry holds an older record`, fix: `register ${id} (fresh outputs)` });
      fix.register = register;
      fixes.push(fix);
      continue;
    }
    if (registrationDigest(fresh) !== reg.digest) {
      findings.push({ extension: n, kind: 'stale-outputs', detail: `the record registered as ${id} no longer matches: ${whatChanged(p, rec.outputs, outputs)}`, fix: `register ${id} again (fresh outputs)` });
      fix.register = register;
      fixes.push(fix);
    }
  }
  return {
    clean: findings.length === 0,
    registry: o.sink?.url,
    ...(registryUnreachable ? { registryUnreachable: true } : {}),
    checked: records.map((r) => r.extension),
    findings,
    notes,
    fixes,
  };
}

/** Which outputs changed, by name only: non-sensitive ones compared with the record, sensitive ones only suspected. */
function whatChanged(p: ExtensionPlan, recorded: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string {
  const plain = Object.keys(now).filter((k) => !isSensitiveOutput(p.ext.outputs[k] ?? {}) && recorded[k] !== undefined && recorded[k] !== now[k]).sort();
  if (plain.length > 0) return `output(s) ${plain.join(', ')} changed`;
  const sensitive = Object.keys(p.ext.outputs).filter((k) => isSensitiveOutput(p.ext.outputs[k] ?? {})).sort();
  if (sensitive.length > 0) return `sensitive output(s) ${sensitive.join(', ')} changed (stale credential), or the registration manifest did`;
  return 'the registration manifest or its parameters changed';
}

export interface FixResult {
  extension: string;
  action: string;
  result: 'done' | 'journaled' | 'failed';
  error?: string | undefined;
}

/**
 * Applies fix plans (the caller holds the cluster lock and has confirmed): deregisters, marks records failed,
 * re-registers; each step reported. A registry that cannot be reached journals the change (as install does).
 */
export async function applyFixes(fixes: readonly FixPlan[], o: { cluster: ClusterBackend; sink?: RegistrySink | undefined }): Promise<FixResult[]> {
  const out: FixResult[] = [];
  // Credential values of the records delivered: masked in any error shown.
  const secrets = fixes.flatMap((f) => (f.register?.record.services ?? []).flatMap((s) => (s.credentials ?? []).flatMap((c) => Object.values(c.configuration ?? {}))));
  const why = (m: string): string => redact(m, secrets).split('\n')[0] ?? '';
  const records = new Map((await o.cluster.readRecords()).map((r) => [r.extension, r]));
  for (const f of fixes) {
    const rec = records.get(f.extension);
    if (!rec) {
      out.push({ extension: f.extension, action: 'update the install record', result: 'failed', error: 'the install record is gone (uninstalled meanwhile?)' });
      continue;
    }
    try {
      if (f.deregister && o.sink) {
        const d = await o.sink.remove(f.deregister, f.extension);
        out.push({ extension: f.extension, action: `deregister ${f.deregister}`, result: d.state === 'delivered' ? 'done' : 'journaled', error: d.state === 'journaled' ? why(d.error.message) : undefined });
        rec.registration = undefined;
      }
      if (f.markFailed) {
        rec.status = 'failed';
        rec.message = f.markFailed.message;
        const at = new Date().toISOString();
        for (const s of f.markFailed.steps) rec.steps[s] = { state: 'failed', digest: rec.steps[s]?.digest ?? '', at };
        out.push({ extension: f.extension, action: `mark the install record failed (steps ${f.markFailed.steps.join(', ')})`, result: 'done' });
      }
      if (f.register && o.sink) {
        const r = f.register.record;
        const d = await o.sink.upsert(r, f.extension);
        rec.registration = { id: r.id, registryUrl: o.sink.url, digest: registrationDigest(r), state: d.state === 'delivered' ? 'registered' : 'pending' };
        rec.outputs = f.register.outputs;
        out.push({ extension: f.extension, action: `register ${r.id}`, result: d.state === 'delivered' ? 'done' : 'journaled', error: d.state === 'journaled' ? why(d.error.message) : undefined });
      }
      rec.updatedAt = new Date().toISOString();
      await o.cluster.writeRecord(rec);
    } catch (e) {
      out.push({ extension: f.extension, action: 'fix', result: 'failed', error: why((e as Error).message) });
    }
  }
  return out;
}
