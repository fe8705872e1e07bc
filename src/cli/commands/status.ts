/** `fuseml-installer status` (what is installed, from the install records) and `extensions sync`. */
import { FusemlError } from '../../core/errors.js';
import type { InstallRecord } from '../../installer/cluster.js';
import { parseFormat, printResult } from '../output.js';
import { Journal } from '../../installer/journal.js';
import { clusterFrom, findTool, registryFrom, type CommonFlags } from './install-common.js';

export async function status(flags: CommonFlags): Promise<void> {
  const format = parseFormat(flags.output ?? 'table');
  const kubectl = await findTool('kubectl').catch(() => 'kubectl');
  const { cluster, where } = await clusterFrom(flags, kubectl);
  process.stderr.write(`cluster: ${where}\n`);
  const records = await cluster.readRecords();
  // Each record names the registry it registered with: a journaled registration is pending while the
  // journal still holds it for that registry (whatever --registry-url this command got).
  const journal = new Journal();
  const pending = new Set<string>();
  for (const r of records) {
    const reg = r.registration;
    if (reg?.state === 'pending' && (await journal.get(reg.registryUrl, reg.id))) pending.add(r.extension);
  }
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
  const r = await sink.sync();
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
