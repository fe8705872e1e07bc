/**
 * Implementations of `fuseml workflow render` and `fuseml workflow run` (loaded
 * only when they run; `run` loads the Kubernetes client).
 */
import { randomBytes } from 'node:crypto';
import { splitAssignment } from '../../core/assign.js';
import { FusemlError } from '../../core/errors.js';
import { isDns1123Label } from '../../core/names.js';
import { bindingSecrets, bindingSelector, type BindingSecret } from '../../workflow/binding.js';
import { ENGINES, LABEL_RUN, renderWorkflow, type Engine, type Rendered } from '../../workflow/render/index.js';
import { printResult, renderData, type Column } from '../output.js';
import { resolveRemote } from './workflow.js';

type O = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function engineOf(o: O): Engine {
  const e = String(o.engine);
  if (!(ENGINES as readonly string[]).includes(e)) throw new FusemlError('USAGE', `--engine ${e}: expected one of ${ENGINES.join(', ')}`);
  return e as Engine;
}

function namespaceOf(o: O, required: boolean): string | undefined {
  const ns = str(o.namespace);
  if (ns === undefined) {
    if (required) throw new FusemlError('USAGE', '--namespace is required');
    return undefined;
  }
  if (!isDns1123Label(ns)) throw new FusemlError('USAGE', `--namespace ${JSON.stringify(ns)}: not a Kubernetes namespace name (DNS-1123 label)`);
  return ns;
}

/** `--input NAME=VALUE` (repeatable) → a map; a malformed one is a usage error naming it. */
export function parseInputs(raw: unknown): Record<string, string> {
  const list = Array.isArray(raw) ? (raw as unknown[]) : raw === undefined ? [] : [raw];
  const out: Record<string, string> = {};
  for (const item of list) {
    const s = String(item);
    const split = splitAssignment(s);
    if (!split.ok) throw new FusemlError('USAGE', `--input ${JSON.stringify(split.key)}: expected NAME=VALUE`);
    const name = split.key;
    if (Object.prototype.hasOwnProperty.call(out, name)) throw new FusemlError('USAGE', `--input ${name} is given twice`);
    out[name] = split.value;
  }
  return out;
}

/** A run id: time-ordered, lowercase alphanumerics, usable in names and label values. */
export function newRunId(now = Date.now()): string {
  return `${now.toString(36)}${randomBytes(2).toString('hex')}`;
}

async function printObjects(objects: Record<string, unknown>[], format: string): Promise<void> {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects }, null, 2) + '\n');
    return;
  }
  const { stringify } = await import('yaml');
  process.stdout.write(objects.map((obj) => stringify(obj, { lineWidth: 0 })).join('---\n'));
}

function printNotes(r: Rendered): void {
  for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
}

/** `fuseml workflow render FILE --project P [--user U] [--zone Z] [--step S] --engine job|argo|tekton [-n NS [--bind]] [--input K=V]…` */
export async function renderWorkflowCommand(o: O, file: string): Promise<void> {
  const engine = engineOf(o);
  const namespace = namespaceOf(o, false);
  const inputs = parseInputs(o.input);
  if (o.bind === true && namespace === undefined) throw new FusemlError('USAGE', '--bind needs --namespace (where the binding Secrets go)');
  const { loaded, resolution } = await resolveRemote(o, file);
  const rendered = renderWorkflow(engine, { workflow: loaded.workflow, resolution, namespace, inputs, file: loaded.file, locate: loaded.locate });
  if (o.bind === true) {
    // What `fuseml workflow bind` does, with the same Secrets and cleanup: the manifests reference them by name.
    const { KubeClient } = await import('../../kube/client.js');
    const { applyBindingSecrets } = await import('./workflow-bind.js');
    const k = await KubeClient.connect({ kubeconfig: str(o.kubeconfig) });
    const secrets = bindingSecrets(resolution);
    await applyBindingSecrets(k, namespace as string, secrets, `${bindingSelector(resolution.workflow, str(o.step))},!${LABEL_RUN}`);
    process.stderr.write(`bound: ${secrets.map((s) => s.name).join(', ') || 'nothing (no extension requirements)'} in namespace ${namespace as string}\n`);
  }
  printNotes(rendered);
  await printObjects(rendered.objects, String(o.output ?? 'yaml'));
}

interface RunRow {
  kind: string;
  name: string;
  step: string;
}

const RUN_COLUMNS: Column<RunRow>[] = [
  { header: 'kind', get: (r) => r.kind },
  { header: 'name', get: (r) => r.name },
  { header: 'step', get: (r) => r.step },
];

/** The run's copy of a binding Secret: its own name and the run label, so no run reuses another's. */
export function runSecret(s: BindingSecret, runId: string): BindingSecret {
  return { ...s, name: `${s.name}-${runId}`, labels: { ...s.labels, [LABEL_RUN]: runId } };
}

/**
 * `fuseml workflow run FILE -n NS --project P … --engine job`: resolves now, creates
 * this run's binding Secrets and the Jobs (server-side apply), all labelled with
 * the workflow and the run id. On failure, what this run applied is deleted.
 */
export async function runWorkflowCommand(o: O, file: string): Promise<void> {
  const engine = engineOf(o);
  if (engine !== 'job') {
    throw new FusemlError('USAGE', `--engine ${engine}: workflow run applies plain Jobs only (--engine job)`, {
      hint: `render it with \`fuseml workflow render … --engine ${engine}\`, bind with \`fuseml workflow bind\`, and submit it with your ${engine} tooling`,
    });
  }
  const namespace = namespaceOf(o, true) as string;
  const inputs = parseInputs(o.input);
  const { loaded, resolution } = await resolveRemote(o, file);
  const runId = newRunId();
  const secrets = bindingSecrets(resolution).map((s) => runSecret(s, runId));
  const byStepReq = new Map(secrets.map((s) => [`${s.step}\u0000${s.requirement}`, s.name]));
  // Everything is rendered (and checked) before anything is applied.
  const rendered = renderWorkflow(engine, {
    workflow: loaded.workflow,
    resolution,
    namespace,
    inputs,
    runId,
    secretName: (step, req) => byStepReq.get(`${step}\u0000${req}`) as string,
    file: loaded.file,
    locate: loaded.locate,
  });
  const secretObjects = secrets.map((s) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: s.name, namespace, labels: s.labels, annotations: s.annotations },
    type: s.type,
    stringData: s.stringData,
  }));
  const { KubeClient } = await import('../../kube/client.js');
  const { serverSideApply, deleteObjects } = await import('../../kube/apply.js');
  const k = await KubeClient.connect({ kubeconfig: str(o.kubeconfig) });
  const all = [...secretObjects, ...rendered.objects];
  try {
    await serverSideApply(k, all);
  } catch (err) {
    await deleteObjects(k, all).catch(() => undefined);
    throw err;
  }
  printNotes(rendered);
  const rows: RunRow[] = [
    ...secrets.map((s) => ({ kind: 'Secret', name: s.name, step: s.step })),
    ...rendered.objects.map((j) => {
      const meta = j.metadata as { name: string; labels: Record<string, string> };
      return { kind: String(j.kind), name: meta.name, step: meta.labels['fuseml.io/step'] ?? '' };
    }),
  ];
  const format = String(o.output ?? 'table');
  if (format === 'table') {
    process.stdout.write(`Run ${runId} of workflow ${loaded.workflow.name} in namespace ${namespace}:\n`);
    await printResult('table', rows, rows, RUN_COLUMNS, 'Nothing to run.');
    process.stdout.write(`Pods: kubectl get pods -n ${namespace} -l ${LABEL_RUN}=${runId}\n`);
  } else {
    process.stdout.write(await renderData({ run: runId, workflow: loaded.workflow.name, namespace, objects: rows }, format as 'json' | 'yaml'));
  }
}
