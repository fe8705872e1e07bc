/** Implementations of `fuseml extension …` (loaded only when such a command runs). */
import { readFile } from 'node:fs/promises';
import { splitAssignment } from '../../core/assign.js';
import { FusemlError, fileError } from '../../core/errors.js';
import { endpointHealthText, healthSummary } from '../../core/health.js';
import type { CredentialsRecord, EndpointRecord, ExtensionRecord, ServiceRecord } from '../../core/records.js';
import type { RegistryClient } from '../../registry/client.js';
import { parseFormat, printResult, type Column } from '../output.js';

type G = Record<string, unknown>;

async function client(g: G): Promise<RegistryClient> {
  const { RegistryClient, SERVER_KINDS } = await import('../../registry/client.js');
  const timeout = Number(g.timeout ?? 10);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new FusemlError('USAGE', `--timeout ${String(g.timeout)}: not a number of seconds`);
  const { registrySettings } = await import('../config.js');
  const r = await registrySettings(g as import('../config.js').RegistryFlags);
  const serverKind = SERVER_KINDS.find((k) => k === g.serverKind);
  return new RegistryClient({ url: r.url, token: r.token, timeoutMs: timeout * 1000, serverKind });
}

async function readRecordFile(path: string): Promise<unknown> {
  let text: string;
  try {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileError('-f', path, err);
  }
  const { parse } = await import('yaml');
  try {
    const doc = parse(text, { uniqueKeys: true, maxAliasCount: 100 }) as unknown;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('expected a mapping');
    return doc;
  } catch (err) {
    throw new FusemlError('VALIDATION', `${path}: not a valid YAML/JSON record: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function base(g: G): Promise<Record<string, unknown>> {
  return typeof g.file === 'string' ? ((await readRecordFile(g.file)) as Record<string, unknown>) : {};
}

function keyValues(list: unknown): Record<string, string> | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const kv of list as string[]) {
    // KEY=VALUE, or KEY:VALUE as fuseml-core's CLI takes it (keys hold neither '=' nor ':').
    const split = splitAssignment(kv, { separators: '=:' });
    if (!split.ok) throw new FusemlError('USAGE', `-c ${split.key}: expected KEY=VALUE or KEY:VALUE`);
    out[split.key] = split.value;
  }
  return out;
}

function revision(g: G): number | undefined {
  if (g.ifMatch === undefined) return undefined;
  const n = Number(g.ifMatch);
  if (!Number.isInteger(n) || n < 1) throw new FusemlError('USAGE', `--if-match ${String(g.ifMatch)}: not a revision`);
  return n;
}

function set(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

/** Repeatable and/or comma-separated values. */
const list = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? (v as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean) : undefined;

const EXT_COLUMNS: Column<ExtensionRecord>[] = [
  { header: 'id', get: (e) => e.id },
  { header: 'product', get: (e) => e.product },
  { header: 'version', get: (e) => e.version },
  { header: 'zone', get: (e) => e.zone },
  { header: 'services', get: (e) => (e.services ?? []).map((s) => s.id) },
  // The registry's last endpoint probes (serve --probe-interval): ok, down, N/M ok, or - (not probed).
  { header: 'health', get: (e) => healthSummary(e) },
  { header: 'revision', get: (e) => e.revision },
];

const SVC_COLUMNS: Column<ServiceRecord>[] = [
  { header: 'id', get: (s) => s.id },
  { header: 'resource', get: (s) => s.resource },
  { header: 'category', get: (s) => s.category },
  { header: 'auth', get: (s) => (s.auth_required ? 'yes' : 'no') },
  { header: 'default', get: (s) => (s.default ? 'yes' : '') },
  { header: 'endpoints', get: (s) => (s.endpoints ?? []).map((e) => e.url) },
  { header: 'credentials', get: (s) => (s.credentials ?? []).map((c) => c.id) },
];

const EP_COLUMNS: Column<EndpointRecord>[] = [
  { header: 'url', get: (e) => e.url },
  { header: 'type', get: (e) => e.type },
  { header: 'health', get: (e) => endpointHealthText(e) },
  { header: 'configuration', get: (e) => Object.entries(e.configuration ?? {}).map(([k, v]) => `${k}=${v}`) },
];

const CRED_COLUMNS: Column<CredentialsRecord>[] = [
  { header: 'id', get: (c) => c.id },
  { header: 'scope', get: (c) => c.scope },
  { header: 'default', get: (c) => (c.default ? 'yes' : '') },
  { header: 'projects', get: (c) => c.projects },
  { header: 'users', get: (c) => c.users },
  { header: 'configuration', get: (c) => Object.entries(c.configuration ?? {}).map(([k, v]) => `${k}=${v}`) },
];

const reveal = (g: G): { reveal: boolean } => ({ reveal: g.showSecrets === true });

export async function listExtensions(g: G): Promise<void> {
  const c = await client(g);
  const q = {
    extension_id: g.id as string | undefined,
    product: g.product as string | undefined,
    version: g.version as string | undefined,
    zone: g.zone as string | undefined,
    service_id: g.serviceId as string | undefined,
    service_resource: g.serviceResource as string | undefined,
    service_category: g.serviceCategory as string | undefined,
  };
  const rows = await c.listExtensions(q, reveal(g));
  await printResult(parseFormat(g.output), rows, rows, EXT_COLUMNS, 'No extensions found.');
}

export async function getExtension(g: G, id: string): Promise<void> {
  const rec = await (await client(g)).getExtension(id, reveal(g));
  const format = parseFormat(g.output);
  if (format !== 'table') return printResult(format, rec, [], []);
  const { renderTable } = await import('../output.js');
  process.stdout.write(renderTable([rec], EXT_COLUMNS));
  if ((rec.services ?? []).length > 0) process.stdout.write('\n' + renderTable(rec.services ?? [], SVC_COLUMNS));
}

export async function registerExtension(g: G): Promise<void> {
  const body = await base(g);
  const c = await client(g);
  let rec: ExtensionRecord;
  if (g.upsert === true) {
    if (typeof body.id !== 'string') throw new FusemlError('USAGE', '--upsert needs an id in the record');
    const r = await c.upsertExtension(body as unknown as ExtensionRecord, { ifMatch: revision(g) });
    rec = r.record;
    if (parseFormat(g.output) === 'table') process.stdout.write(`Extension ${rec.id} ${r.created ? 'registered' : 'updated'} (revision ${rec.revision}).\n`);
  } else {
    if (g.ifMatch !== undefined) throw new FusemlError('USAGE', '--if-match goes with --upsert');
    rec = await c.registerExtension(body as unknown as ExtensionRecord);
    if (parseFormat(g.output) === 'table') process.stdout.write(`Extension ${rec.id} registered (revision ${rec.revision}).\n`);
  }
  if (parseFormat(g.output) !== 'table') await printResult(parseFormat(g.output), rec, [], []);
}

export async function updateExtension(g: G, id: string): Promise<void> {
  const patch = await base(g);
  for (const k of ['product', 'version', 'description', 'zone'] as const) set(patch, k, g[k]);
  set(patch, 'configuration', keyValues(g.configuration));
  if (Object.keys(patch).length === 0) throw new FusemlError('USAGE', 'nothing to update', { hint: 'give -f FILE or --product/--version/--description/--zone/-c' });
  const rec = await (await client(g)).updateExtension(id, patch, { ifMatch: revision(g) });
  await printResult(parseFormat(g.output), rec, [rec], EXT_COLUMNS);
}

export async function addExtension(g: G): Promise<void> {
  const body: Record<string, unknown> = {};
  for (const k of ['id', 'product', 'version', 'description', 'zone'] as const) set(body, k, g[k]);
  set(body, 'configuration', keyValues(g.configuration));
  const rec = await (await client(g)).registerExtension(body as unknown as ExtensionRecord);
  if (parseFormat(g.output) === 'table') process.stdout.write(`Extension ${rec.id} registered (revision ${rec.revision}).\n`);
  else await printResult(parseFormat(g.output), rec, [], []);
}

export async function deleteExtension(g: G, id: string): Promise<void> {
  await (await client(g)).deleteExtension(id, { ifMatch: revision(g) });
  process.stdout.write(`Extension ${id} deleted.\n`);
}

export async function addService(g: G, ext: string): Promise<void> {
  const body = await base(g);
  for (const k of ['id', 'resource', 'category', 'description'] as const) set(body, k, g[k]);
  set(body, 'auth_required', g.authRequired === true ? true : undefined);
  set(body, 'default', g.default === true ? true : undefined);
  set(body, 'configuration', keyValues(g.configuration));
  const svc = await (await client(g)).addService(ext, body as unknown as ServiceRecord);
  await printResult(parseFormat(g.output), svc, [svc], SVC_COLUMNS);
}

export async function updateService(g: G, ext: string, id: string): Promise<void> {
  const patch = await base(g);
  for (const k of ['resource', 'category', 'description'] as const) set(patch, k, g[k]);
  set(patch, 'auth_required', g.authRequired === undefined ? undefined : g.authRequired === 'true');
  set(patch, 'default', g.default === undefined ? undefined : g.default === 'true');
  set(patch, 'configuration', keyValues(g.configuration));
  if (Object.keys(patch).length === 0) throw new FusemlError('USAGE', 'nothing to update');
  const svc = await (await client(g)).updateService(ext, id, patch, { ifMatch: revision(g) });
  await printResult(parseFormat(g.output), svc, [svc], SVC_COLUMNS);
}

export async function listServices(g: G, ext: string): Promise<void> {
  const rows = await (await client(g)).listServices(ext);
  await printResult(parseFormat(g.output), rows, rows, SVC_COLUMNS, 'No services found.');
}

export async function getService(g: G, ext: string, id: string): Promise<void> {
  const svc = await (await client(g)).getService(ext, id, reveal(g));
  await printResult(parseFormat(g.output), svc, [svc], SVC_COLUMNS);
}

export async function deleteService(g: G, ext: string, id: string): Promise<void> {
  await (await client(g)).deleteService(ext, id, { ifMatch: revision(g) });
  process.stdout.write(`Service ${id} deleted from extension ${ext}.\n`);
}

export async function addEndpoint(g: G, ext: string, svc: string, url: string | undefined): Promise<void> {
  const body = await base(g);
  set(body, 'url', url);
  set(body, 'type', g.type);
  set(body, 'configuration', keyValues(g.configuration));
  const ep = await (await client(g)).addEndpoint(ext, svc, body as unknown as EndpointRecord);
  await printResult(parseFormat(g.output), ep, [ep], EP_COLUMNS);
}

export async function updateEndpoint(g: G, ext: string, svc: string, url: string): Promise<void> {
  const patch = await base(g);
  set(patch, 'type', g.type);
  set(patch, 'configuration', keyValues(g.configuration));
  if (Object.keys(patch).length === 0) throw new FusemlError('USAGE', 'nothing to update');
  const ep = await (await client(g)).updateEndpoint(ext, svc, url, patch, { ifMatch: revision(g) });
  await printResult(parseFormat(g.output), ep, [ep], EP_COLUMNS);
}

export async function listEndpoints(g: G, ext: string, svc: string): Promise<void> {
  const rows = await (await client(g)).listEndpoints(ext, svc);
  await printResult(parseFormat(g.output), rows, rows, EP_COLUMNS, 'No endpoints found.');
}

export async function getEndpoint(g: G, ext: string, svc: string, url: string): Promise<void> {
  const ep = await (await client(g)).getEndpoint(ext, svc, url);
  await printResult(parseFormat(g.output), ep, [ep], EP_COLUMNS);
}

export async function deleteEndpoint(g: G, ext: string, svc: string, url: string): Promise<void> {
  await (await client(g)).deleteEndpoint(ext, svc, url, { ifMatch: revision(g) });
  process.stdout.write(`Endpoint ${url} deleted from service ${svc}.\n`);
}

/** Credentials fields from flags; values only from the file or the environment, never from argv. */
function credentialFields(g: G, body: Record<string, unknown>): void {
  set(body, 'scope', g.scope);
  set(body, 'projects', list(g.project));
  set(body, 'users', list(g.user));
  set(body, 'default', g.default === true ? true : undefined);
  if (Array.isArray(g.fromEnv) && g.fromEnv.length > 0) {
    const cfg = { ...((body.configuration as Record<string, string> | undefined) ?? {}) };
    for (const spec of g.fromEnv as string[]) {
      const [key, envName = key] = spec.split('=', 2) as [string, string?];
      const value = process.env[envName];
      if (value === undefined) throw new FusemlError('USAGE', `--from-env ${spec}: environment variable ${envName} is not set`);
      cfg[key] = value;
    }
    body.configuration = cfg;
  }
}

export async function addCredentials(g: G, ext: string, svc: string): Promise<void> {
  const body = await base(g);
  set(body, 'id', g.id);
  credentialFields(g, body);
  if (body.scope === undefined) body.scope = 'global';
  const cr = await (await client(g)).addCredentials(ext, svc, body as unknown as CredentialsRecord);
  await printResult(parseFormat(g.output), cr, [cr], CRED_COLUMNS);
}

export async function updateCredentials(g: G, ext: string, svc: string, id: string): Promise<void> {
  const patch = await base(g);
  const c = await client(g);
  if (Array.isArray(g.fromEnv) && g.fromEnv.length > 0 && patch.configuration === undefined) {
    // Change only the keys given: the others are sent back as <hidden>, which keeps their stored values.
    patch.configuration = (await c.getCredentials(ext, svc, id)).configuration ?? {};
  }
  credentialFields(g, patch);
  if (Object.keys(patch).length === 0) throw new FusemlError('USAGE', 'nothing to update');
  const cr = await c.updateCredentials(ext, svc, id, patch, { ifMatch: revision(g) });
  await printResult(parseFormat(g.output), cr, [cr], CRED_COLUMNS);
}

export async function listCredentials(g: G, ext: string, svc: string): Promise<void> {
  const rows = await (await client(g)).listCredentials(ext, svc, reveal(g));
  await printResult(parseFormat(g.output), rows, rows, CRED_COLUMNS, 'No credentials found.');
}

export async function getCredentials(g: G, ext: string, svc: string, id: string): Promise<void> {
  const cr = await (await client(g)).getCredentials(ext, svc, id, reveal(g));
  await printResult(parseFormat(g.output), cr, [cr], CRED_COLUMNS);
}

export async function deleteCredentials(g: G, ext: string, svc: string, id: string): Promise<void> {
  await (await client(g)).deleteCredentials(ext, svc, id, { ifMatch: revision(g) });
  process.stdout.write(`Credentials ${id} deleted from service ${svc}.\n`);
}
