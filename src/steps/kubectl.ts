/**
 * manifest and kustomize steps: `kubectl apply` (rendered manifests through a
 * 0600 temp file), and `kubectl delete --ignore-not-found` to undo them.
 */
import { run } from '../exec/index.js';
import type { PlannedKustomize, PlannedManifest } from './planned.js';
import { fetchRemote } from './remote.js';
import { withPrivateFile } from './tempfile.js';
import type { StepContext, StepRunner, Tools } from './types.js';

export const MANIFEST_PLACEHOLDER = '<manifest.yaml>';

/** `--namespace NS`, unless the step's objects keep their own namespaces (FuseML descriptors without one). */
const nsArgs = (step: PlannedManifest | PlannedKustomize): string[] => (step.namespaceFlag === false ? [] : ['--namespace', step.namespace]);

export function manifestArgs(step: PlannedManifest, file: string): string[] {
  const timeout = `${Math.ceil(step.timeoutMs / 1000)}s`;
  return step.action === 'apply'
    ? ['apply', ...nsArgs(step), '-f', file]
    : ['delete', '--ignore-not-found', '--wait', `--timeout=${timeout}`, ...nsArgs(step), '-f', file];
}

export function kustomizeArgs(step: PlannedKustomize): string[] {
  const timeout = `${Math.ceil(step.timeoutMs / 1000)}s`;
  return step.action === 'apply'
    ? ['apply', ...nsArgs(step), '-k', step.dir]
    : ['delete', '--ignore-not-found', '--wait', `--timeout=${timeout}`, ...nsArgs(step), '-k', step.dir];
}

const kubectl = (ctx: StepContext, args: string[], timeoutMs: number) =>
  run(ctx.tools.kubectl, [...(ctx.kube?.kubectl ?? []), ...args], { env: ctx.env, secrets: ctx.secrets, timeoutMs: timeoutMs + 30_000, signal: ctx.signal, onLine: ctx.onLine && ((l) => ctx.onLine?.(l)) });

/** The rendered documents of a manifest step as one multi-document YAML stream. */
export function joinDocuments(step: PlannedManifest): string {
  return step.files.map((f) => `# source: ${f.source}\n${f.content.replace(/\n*$/, '\n')}`).join('---\n');
}

export const manifestRunner: StepRunner<PlannedManifest> = {
  commands(step: PlannedManifest, tools: Tools) {
    // A remote manifest is fetched by the installer, then given to kubectl through the same temp file.
    return [[tools.kubectl, ...manifestArgs(step, step.url ? `<${step.url}>` : MANIFEST_PLACEHOLDER)]];
  },
  async run(step: PlannedManifest, ctx: StepContext) {
    const content = step.url ? (await fetchRemote(step.url, { signal: ctx.signal })).toString('utf8') : joinDocuments(step);
    await withPrivateFile('manifest.yaml', content, (file) => kubectl(ctx, manifestArgs(step, file), step.timeoutMs));
    return {};
  },
};

export const kustomizeRunner: StepRunner<PlannedKustomize> = {
  commands(step: PlannedKustomize, tools: Tools) {
    return [[tools.kubectl, ...kustomizeArgs(step)]];
  },
  async run(step: PlannedKustomize, ctx: StepContext) {
    await kubectl(ctx, kustomizeArgs(step), step.timeoutMs);
    return {};
  },
};
