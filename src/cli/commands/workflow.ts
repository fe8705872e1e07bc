/** Implementations of `fuseml workflow …` (loaded only when such a command runs). */
import { FusemlError, ValidationError, type Issue } from '../../core/errors.js';
import { maskResolution, type Resolution } from '../../core/resolve.js';
import type { Workflow } from '../../core/workflow.js';
import type { RegistryClient } from '../../registry/client.js';
import { renderEnv } from '../../workflow/env.js';
import { loadWorkflowFile, type LoadedWorkflow } from '../../workflow/load.js';
import { printResult, renderData, type Column } from '../output.js';

type O = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

async function registryClient(o: O): Promise<RegistryClient> {
  const { RegistryClient } = await import('../../registry/client.js');
  const timeout = Number(o.timeout ?? 10);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new FusemlError('USAGE', `--timeout ${String(o.timeout)}: not a number of seconds`);
  const { registrySettings } = await import('../config.js');
  const r = await registrySettings(o as import('../config.js').RegistryFlags);
  return new RegistryClient({ url: r.url, token: r.token, timeoutMs: timeout * 1000 });
}

/** `fuseml workflow validate FILE` */
export async function validateWorkflow(_o: O, file: string): Promise<void> {
  const { workflow } = await loadWorkflowFile(file);
  const n = workflow.steps.reduce((k, s) => k + (s.extensions?.length ?? 0), 0);
  process.stdout.write(`${file}: valid workflow ${workflow.name} (${workflow.steps.length} steps, ${n} extension requirements)\n`);
}

/** The workflow to send: all steps, or only --step (with the map back to the file's step indexes). */
function selectSteps(loaded: LoadedWorkflow, step: string | undefined): { workflow: Workflow; index: number[] } {
  const all = loaded.workflow.steps.map((s, i) => ({ s, i }));
  if (step === undefined) return { workflow: loaded.workflow, index: all.map((x) => x.i) };
  const picked = all.filter((x) => x.s.name === step);
  if (picked.length === 0) {
    throw new FusemlError('USAGE', `${loaded.file}: no step ${step}`, { hint: `steps: ${loaded.workflow.steps.map((s) => s.name).join(', ')}` });
  }
  return { workflow: { ...loaded.workflow, steps: picked.map((x) => x.s) }, index: picked.map((x) => x.i) };
}

/**
 * The registry's 422 carries every problem, one `POINTER MESSAGE` line each, after
 * the summary; turned back into issues positioned in the file.
 */
function positioned(message: string, loaded: LoadedWorkflow, index: number[]): ValidationError | undefined {
  const [head, ...rest] = message.split('\n');
  const issues: Issue[] = [];
  for (const line of rest) {
    const m = /^(\/\S*) (.*)$/.exec(line);
    if (!m) continue;
    const pointer = (m[1] as string).replace(/^\/steps\/(\d+)/, (_, i: string) => `/steps/${index[Number(i)] ?? i}`);
    const pos = loaded.locate(pointer);
    issues.push({ file: loaded.file, line: pos?.line, col: pos?.col, pointer, message: m[2] as string });
  }
  if (issues.length === 0) return undefined;
  const summary = (head ?? '').replace(/^registry: POST \/workflows\/resolve: 422 /, '').replace(/:$/, '');
  const ambiguous = issues.some((i) => /equally well|none is the default/.test(i.message));
  return new ValidationError(issues, summary, {
    hint: ambiguous ? 'narrow the requirement (extension_id, service_id, zone, version) or mark one service as the default' : undefined,
  });
}

export async function resolveRemote(o: O, file: string): Promise<{ loaded: LoadedWorkflow; resolution: Resolution }> {
  const loaded = await loadWorkflowFile(file);
  const { workflow, index } = selectSteps(loaded, str(o.step));
  const client = await registryClient(o);
  const { RegistryError } = await import('../../registry/client.js');
  try {
    const body = { workflow, project: str(o.project), user: str(o.user), zone: str(o.zone) };
    const res = await client.request<Resolution>('POST', '/workflows/resolve', { body });
    return { loaded, resolution: res.body };
  } catch (err) {
    if (err instanceof RegistryError && err.serverCode === 'RESOLUTION') throw positioned(err.message, loaded, index) ?? err;
    if (err instanceof RegistryError && err.status === 403) {
      throw new FusemlError('FORBIDDEN', err.message, { hint: 'resolving needs an admin token or a resolver token that lists the project (and user)' });
    }
    throw err;
  }
}

interface ChoiceRow {
  step: string;
  requirement: string;
  extension: string;
  service: string;
  url: string;
  credentials: string;
  why: string;
}

const CHOICE_COLUMNS: Column<ChoiceRow>[] = [
  { header: 'step', get: (r) => r.step },
  { header: 'requirement', get: (r) => r.requirement },
  { header: 'extension', get: (r) => r.extension },
  { header: 'service', get: (r) => r.service },
  { header: 'url', get: (r) => r.url },
  { header: 'credentials', get: (r) => r.credentials },
  { header: 'why', get: (r) => r.why },
];

function choiceRows(r: Resolution): ChoiceRow[] {
  return r.steps.flatMap((s) =>
    s.choices.map((c) => ({
      step: s.name,
      requirement: c.requirement,
      extension: c.extension_id,
      service: c.service_id,
      url: c.url,
      credentials: c.credentials_id === undefined ? '' : `${c.credentials_id} (${c.credentials_scope})`,
      why: c.reasons.join('; '),
    })),
  );
}

/** `fuseml workflow resolve FILE --project P [--user U] [--zone Z] [--step S] [-o table|json|yaml|env] [--show-secrets]` */
export async function resolveWorkflowCommand(o: O, file: string): Promise<void> {
  const format = String(o.output ?? 'table');
  const show = o.showSecrets === true;
  const { resolution } = await resolveRemote(o, file);
  if (format === 'env') {
    const secretKeys = resolution.steps.flatMap((s) => s.secret_env.map((k) => `${s.name}: ${k}`));
    if (secretKeys.length > 0 && !show) {
      throw new FusemlError('USAGE', `-o env would print credential values (${secretKeys.join(', ')})`, {
        hint: 'add --show-secrets to confirm, e.g. eval "$(fuseml workflow resolve … -o env --show-secrets)"; or use -o json / -o yaml (values hidden)',
      });
    }
    process.stdout.write(renderEnv(resolution));
    return;
  }
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(await renderData(show ? resolution : maskResolution(resolution), format));
    return;
  }
  await printResult('table', resolution, choiceRows(resolution), CHOICE_COLUMNS, 'No extension requirements.');
}

