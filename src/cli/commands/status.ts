/** `fuseml-installer status` (what is installed, from the install records) and `extensions sync`. */
import { FusemlError } from '../../core/errors.js';
import { MASK } from '../../core/redact.js';
import type { InstallRecord } from '../../installer/cluster.js';
import { historyAction, statusAction, syncAction } from '../../installer/actions.js';
import { parseFormat, printResult } from '../output.js';
import { actionEnv, registryFrom, splitList, type CommonFlags } from './install-common.js';

export async function status(flags: CommonFlags & { history?: boolean | undefined }): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const env = await actionEnv({ ...flags, register: false }, format);
  if (flags.history) {
    const names = splitList(flags.extensions);
    if (names.length !== 1) throw new FusemlError('USAGE', '--history needs one extension: --extensions NAME', { hint: 'fuseml-installer status -e mlflow --history' });
    const history = await historyAction(env, names[0] as string);
    await printResult(format, history, history, [
      { header: 'revision', get: (h) => String(h.revision) },
      { header: 'updated', get: (h) => h.at },
      { header: 'action', get: (h) => h.action },
      { header: 'version', get: (h) => h.version },
      // Sensitive values by name only: their values are never shown.
      { header: 'values', get: (h) => [...Object.entries(h.values.set).map(([k, v]) => `${k}=${String(v)}`), ...h.values.sensitive.map((k) => `${k}=${MASK}`)].join(' ') || '-' },
      { header: 'helm', get: (h) => h.helm.map((x) => `${x.release}:${x.revision}`).join(' ') || '-' },
      { header: 'description', get: (h) => h.description ?? '' },
    ], 'No revisions recorded.');
    return;
  }
  const { records, pending } = await statusAction(env);
  const registration = (r: InstallRecord): string => {
    if (!r.registration) return 'none';
    if (r.registration.state === 'pending' && !pending.has(r.extension)) return `registered (${r.registration.id})`;
    return `${r.registration.state} (${r.registration.id})`;
  };
  const data = records.map((r) => ({ ...r, registration: r.registration ? { ...r.registration, state: registration(r).split(' ')[0] } : undefined }));
  await printResult(format, data, records, [
    { header: 'extension', get: (r) => r.extension },
    { header: 'version', get: (r) => r.version },
    { header: 'namespace', get: (r) => r.namespace },
    { header: 'status', get: (r) => r.status },
    { header: 'steps', get: (r) => Object.entries(r.steps).map(([k, s]) => `${k}:${s.state}`).join(' ') },
    { header: 'registration', get: registration },
    { header: 'registry', get: (r) => r.registration?.registryUrl ?? '-' },
    { header: 'updated', get: (r) => r.updatedAt },
  ], 'No extensions installed by fuseml-installer.');
}

export async function sync(flags: CommonFlags): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const sink = await registryFrom({ ...flags, register: true });
  if (!sink) return;
  const r = await syncAction(sink);
  const rows = [
    ...r.delivered.map((e) => ({ id: e.id, op: e.op, extension: e.extension ?? '', result: 'delivered' })),
    ...r.failed.map((f) => ({ id: f.entry.id, op: f.entry.op, extension: f.entry.extension ?? '', result: `failed: ${f.error.message.split('\n')[0]}` })),
  ];
  await printResult(format, { registry: sink.url, journal: sink.journal.dir, results: rows }, rows, [
    { header: 'id', get: (x) => x.id },
    { header: 'operation', get: (x) => x.op },
    { header: 'extension', get: (x) => x.extension },
    { header: 'result', get: (x) => x.result },
  ], `Nothing pending for ${sink.url}.`);
  if (r.failed.length > 0) {
    throw new FusemlError('REGISTRY', `${r.failed.length} journaled registration change(s) could not be delivered to ${sink.url}; they stay in ${sink.journal.dir}`, {
      hint: 'check --registry-url / FUSEML_SERVER_URL, --registry-token / FUSEML_TOKEN, and that fuseml-registry is running; then run extensions sync again',
    });
  }
}
