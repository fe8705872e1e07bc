/**
 * Install records on the cluster: one labelled Secret per extension in the
 * installer's namespace (key record.json), over src/kube's generic resource
 * client.
 */
import { httpStatus } from '../kube/errors.js';
import { resourceType, type KubeObject, type ResourceClient } from '../kube/resources.js';
import { EXTENSION_LABEL, MANAGED_BY, MANAGED_BY_LABEL, RECORD_LABEL, type InstallRecord } from './cluster.js';

const SECRETS = resourceType('v1', 'Secret');
const RECORD_KEY = 'record.json';
const recordName = (ext: string): string => `fuseml-ext-${ext}`;
/** Sensitive user-set values and rendered registrations of an install record: never in the record itself. */
const privateName = (ext: string): string => `fuseml-ext-${ext}-private`;

/** Every readable record in `namespace`, sorted by extension; a damaged one is skipped (the next install overwrites it). */
export async function readRecords(client: ResourceClient, namespace: string): Promise<InstallRecord[]> {
  let items: (KubeObject & { data?: Record<string, string> })[];
  try {
    items = (await client.list<KubeObject & { data?: Record<string, string> }>(SECRETS, { namespace, labelSelector: `${RECORD_LABEL}=true` })).items;
  } catch (e) {
    if (httpStatus(e) === 404) return [];
    throw e;
  }
  const out: InstallRecord[] = [];
  for (const s of items) {
    const raw = s.data?.[RECORD_KEY];
    if (!raw) continue;
    try {
      out.push(JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as InstallRecord);
    } catch {
      // A damaged record is ignored (and overwritten by the next install).
    }
  }
  return out.sort((a, b) => a.extension.localeCompare(b.extension));
}

/** Writes (replaces or creates) the record of `record.extension`. */
export async function writeRecord(client: ResourceClient, namespace: string, record: InstallRecord): Promise<void> {
  const name = recordName(record.extension);
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [RECORD_LABEL]: 'true', [EXTENSION_LABEL]: record.extension },
    },
    type: 'fuseml.io/install-record',
    data: { [RECORD_KEY]: Buffer.from(JSON.stringify(record)).toString('base64') },
  };
  try {
    await client.replace(SECRETS, body);
  } catch (e) {
    if (httpStatus(e) !== 404) throw e;
    await client.create(SECRETS, body);
  }
}

/** Deletes the record of `extension` and its private data; absent is fine. */
export async function deleteRecord(client: ResourceClient, namespace: string, extension: string): Promise<void> {
  await client.delete(SECRETS, recordName(extension), namespace);
  await client.delete(SECRETS, privateName(extension), namespace);
}

/** The record's private data: a Secret of its own (not labelled as a record), one data key per entry; {} when absent. */
export async function readPrivate(client: ResourceClient, namespace: string, extension: string): Promise<Record<string, string>> {
  const s = await client.get<KubeObject & { data?: Record<string, string> }>(SECRETS, privateName(extension), namespace);
  return Object.fromEntries(Object.entries(s?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** Writes (replaces or creates) the record's private data. */
export async function writePrivate(client: ResourceClient, namespace: string, extension: string, data: Record<string, string>): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: privateName(extension), namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [EXTENSION_LABEL]: extension } },
    type: 'fuseml.io/install-private',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  try {
    await client.replace(SECRETS, body);
  } catch (e) {
    if (httpStatus(e) !== 404) throw e;
    await client.create(SECRETS, body);
  }
}
