/** Implementations of `fuseml workflow bind / unbind` (loaded only when they run). */
import { existsSync } from 'node:fs';
import { FusemlError } from '../../core/errors.js';
import { isDns1123Label } from '../../core/names.js';
import { HIDDEN } from '../../core/records.js';
import { secretValues, type Resolution } from '../../core/resolve.js';
import { bindingSecrets, bindingSelector, type BindingSecret } from '../../workflow/binding.js';
import { loadWorkflowFile } from '../../workflow/load.js';
import { LABEL_RUN } from '../../workflow/render/plan.js';
import { printResult, renderData, renderTable, type Column } from '../output.js';
import { resolveRemote } from './workflow.js';

type O = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);


function namespaceOf(o: O): string {
  const ns = String(o.namespace);
  if (!isDns1123Label(ns)) throw new FusemlError('USAGE', `--namespace ${JSON.stringify(ns)}: not a Kubernetes namespace name (DNS-1123 label)`);
  return ns;
}

/** A copy of the Secrets with every credential value (and every password) hidden, for --dry-run and output. */
function maskSecrets(secrets: BindingSecret[], resolution: Resolution): BindingSecret[] {
  const values = new Set(secretValues(resolution));
  return secrets.map((s) => ({
    ...s,
    stringData: Object.fromEntries(Object.entries(s.stringData).map(([k, v]) => [k, values.has(v) || k === 'password' ? HIDDEN : v])),
  }));
}

interface SecretRow {
  name: string;
  type: string;
  step: string;
  requirement: string;
  keys: string;
}

const SECRET_COLUMNS: Column<SecretRow>[] = [
  { header: 'secret', get: (r) => r.name },
  { header: 'type', get: (r) => r.type },
  { header: 'step', get: (r) => r.step },
  { header: 'requirement', get: (r) => r.requirement },
  { header: 'keys', get: (r) => r.keys },
];

async function kube(o: O): Promise<import('../../kube/client.js').KubeClient> {
  const { KubeClient } = await import('../../kube/client.js');
  return KubeClient.connect({ kubeconfig: str(o.kubeconfig), context: str(o.context) });
}

/**
 * Creates or replaces the Secrets, then deletes the workflow's binding Secrets
 * (matching `selector`) that are not among them. Returns the names removed.
 */
export async function applyBindingSecrets(k: import('../../kube/client.js').KubeClient, namespace: string, secrets: BindingSecret[], selector: string): Promise<string[]> {
  for (const s of secrets) {
    await k.applySecret(namespace, { name: s.name, type: s.type, labels: s.labels, annotations: s.annotations, stringData: s.stringData });
  }
  const keep = new Set(secrets.map((s) => s.name));
  const stale = (await k.listSecretNames(namespace, selector)).filter((n) => !keep.has(n));
  for (const name of stale) await k.deleteSecret(namespace, name);
  return stale;
}

/** `fuseml workflow bind FILE -n NS --project P [--user U] [--zone Z] [--step S] [--dry-run]` */
export async function bindWorkflow(o: O, file: string): Promise<void> {
  const namespace = namespaceOf(o);
  const { resolution } = await resolveRemote(o, file);
  const secrets = bindingSecrets(resolution);
  const masked = maskSecrets(secrets, resolution);
  const format = String(o.output ?? 'table') as 'table' | 'json' | 'yaml';
  const rows = masked.map((s) => ({ name: s.name, type: s.type, step: s.step, requirement: s.requirement, keys: Object.keys(s.stringData).join(',') }));
  if (o.dryRun === true) {
    await printResult(format, masked.map(({ skipped: _s, ...s }) => ({ namespace, ...s })), rows, SECRET_COLUMNS, 'No extension requirements: nothing to bind.');
    return;
  }
  const k = await kube(o);
  // The Secrets of `workflow run` (labelled with their run) are not bind's to sweep.
  const removed = await applyBindingSecrets(k, namespace, secrets, `${bindingSelector(resolution.workflow, str(o.step))},!${LABEL_RUN}`);
  if (format === 'table') {
    process.stdout.write(rows.length === 0 ? 'No extension requirements: nothing to bind.\n' : renderTable(rows, SECRET_COLUMNS));
    if (removed.length > 0) process.stdout.write(`Removed stale bindings: ${removed.join(', ')}\n`);
  } else {
    process.stdout.write(await renderData({ namespace, created: masked.map(({ skipped: _s, ...s }) => s), removed }, format));
  }
}

/** `fuseml workflow unbind WORKFLOW -n NS [--step S]` */
export async function unbindWorkflow(o: O, workflow: string): Promise<void> {
  const namespace = namespaceOf(o);
  const name = existsSync(workflow) ? (await loadWorkflowFile(workflow)).workflow.name : workflow;
  const k = await kube(o);
  const removed = await k.listSecretNames(namespace, bindingSelector(name, str(o.step)));
  for (const n of removed) await k.deleteSecret(namespace, n);
  process.stdout.write(removed.length === 0 ? `No bindings of workflow ${name} in namespace ${namespace}.\n` : `Deleted ${removed.length} binding Secret(s): ${removed.join(', ')}\n`);
}
