/** `fuseml-installer extensions register|unregister`: manual registration of externally installed tools. */
import { readFile } from 'node:fs/promises';
import { FusemlError, ValidationError, fileError, type Issue } from '../../core/errors.js';
import type { Extension } from '../../core/extension.js';
import type { ExtensionRecord } from '../../core/records.js';
import { loadRegistrationFile } from '../../descriptor/load.js';
import { requireExtension } from '../../descriptor/repository.js';
import { readValuesFile } from './install-common.js';
import { openRepository } from './repository.js';
import { maskRecord } from '../../installer/registration.js';
import { fileExtension, manualRegistration, parseAssignments, valuesInputs, type Input } from '../../registration/manual.js';
import { probeRecord, type ProbeResult } from '../../registration/probe.js';
import { parseFormat, renderData, renderTable } from '../output.js';

export interface RegistryOptions {
  registryUrl?: string | undefined;
  registryToken?: string | undefined;
}

export interface RegisterOptions extends RegistryOptions {
  file?: string | undefined;
  set: string[];
  setEnv: string[];
  setFile?: string[] | undefined;
  values: string[];
  id?: string | undefined;
  zone?: string | undefined;
  namespace?: string | undefined;
  endpointType?: 'internal' | 'external' | undefined;
  check: boolean;
  dryRun?: boolean | undefined;
  output: string;
  extensionsRepository?: string | string[] | undefined;
}

async function readValues(files: readonly string[]): Promise<{ inputs: Input[]; issues: Issue[] }> {
  const inputs: Input[] = [];
  const issues: Issue[] = [];
  for (const file of files) {
    const read = await readValuesFile(file);
    if ('issue' in read) {
      issues.push(read.issue);
      continue;
    }
    const r = valuesInputs(read.doc, file);
    inputs.push(...r.inputs);
    issues.push(...r.issues);
  }
  return { inputs, issues };
}

async function registryClient(o: RegistryOptions) {
  const { RegistryClient } = await import('../../registry/client.js');
  const { registrySettings } = await import('../config.js');
  const r = await registrySettings(o);
  return new RegistryClient({ url: r.url, token: r.token });
}

function printChecks(results: readonly ProbeResult[]): void {
  if (results.length === 0) return;
  process.stderr.write(renderTable(results, [
    { header: 'check', get: (r) => r.state },
    { header: 'service', get: (r) => r.service },
    { header: 'url', get: (r) => r.url },
    { header: 'probe', get: (r) => r.check },
    { header: 'detail', get: (r) => r.detail },
  ]));
}

export async function register(name: string | undefined, o: RegisterOptions): Promise<void> {
  const format = parseFormat(o.output);
  if ((name === undefined) === (o.file === undefined)) {
    throw new FusemlError('USAGE', name === undefined ? 'give an extension NAME or -f FILE' : 'give either an extension NAME or -f FILE, not both', {
      hint: 'fuseml-installer extensions register mlflow --set trackingUrl=http://mlflow.example.com … | -f registration.yaml',
    });
  }
  const set = parseAssignments(o.set, '--set');
  const env = parseAssignments(o.setEnv, '--set-env');
  const files = parseAssignments(o.setFile ?? [], '--set-file');
  const values = await readValues(o.values);
  const parseIssues = [...set.issues, ...env.issues, ...files.issues, ...values.issues];
  if (parseIssues.length > 0) throw new ValidationError(parseIssues);
  // --set-file KEY=PATH: the value is the file's content (a key file never passes through argv).
  for (const f of files.inputs) {
    const path = String(f.value);
    try {
      f.value = await readFile(path, 'utf8');
    } catch (e) {
      throw fileError('--set-file', path, e);
    }
  }
  // Later sources win: --values files, then --set-env, then --set-file, then --set.
  const inputs = [...values.inputs, ...env.inputs, ...files.inputs, ...set.inputs];

  let ext: Extension;
  if (o.file !== undefined) {
    const { manifest } = await loadRegistrationFile(o.file);
    if (!manifest.product) throw new ValidationError([{ file: o.file, pointer: '/product', message: 'a registration file needs a product' }]);
    if (!o.id && !manifest.id) throw new ValidationError([{ file: o.file, pointer: '/id', message: 'a registration file needs an id (or pass --id ID)' }]);
    ext = fileExtension(manifest, o.file, inputs, o.id);
  } else {
    const repo = await openRepository(o.extensionsRepository);
    ext = requireExtension(repo, name as string);
    const own = repo.issues.filter((i) => i.file === ext.file || i.file === ext.registrationFile);
    if (own.length > 0) throw new ValidationError(own, `extension ${ext.name} is invalid`);
  }

  const { record, secrets } = manualRegistration(ext, inputs, { id: o.id, zone: o.zone, endpointType: o.endpointType, namespace: o.namespace });

  if (o.check) {
    const results = await probeRecord(record);
    printChecks(results);
    const failed = results.filter((r) => r.state === 'failed');
    if (failed.length > 0) {
      throw new FusemlError('VALIDATION', `connectivity check failed for ${failed.map((f) => `${f.service} ${f.url}: ${f.detail}`).join('; ')}`, {
        hint: 'fix the URL or start the service; pass --no-check to register it anyway',
      });
    }
  }

  const shown = maskRecord(record, secrets);
  if (o.dryRun) {
    process.stdout.write(await renderData(shown, format === 'json' ? 'json' : 'yaml'));
    return;
  }
  const client = await registryClient(o);
  const { created } = await client.upsertExtension(record);
  if (format === 'table') {
    const svc = (record.services ?? []).map((s) => `${s.id} (${s.resource ?? '-'}, ${s.category ?? '-'})`).join(', ');
    process.stdout.write(`${created ? 'registered' : 'updated'} ${record.id}: ${svc || 'no services'}\n`);
  } else {
    process.stdout.write(await renderData(shown satisfies ExtensionRecord, format));
  }
}

export async function unregister(id: string, o: RegistryOptions & { ignoreMissing?: boolean }): Promise<void> {
  const client = await registryClient(o);
  try {
    await client.deleteExtension(id);
  } catch (e) {
    if ((e as { status?: number }).status === 404) {
      if (o.ignoreMissing) {
        process.stdout.write(`${id} is not registered\n`);
        return;
      }
      throw new FusemlError('NOT_FOUND', `extension "${id}" is not registered in ${client.url}`, { hint: 'list the registered ones with: fuseml extension list' });
    }
    throw e;
  }
  process.stdout.write(`unregistered ${id}\n`);
}
