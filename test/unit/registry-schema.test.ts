/**
 * schemas/extension-record.schema.json and src/core/records.ts must not drift:
 * one fully-populated object per record type, typed with Required<…> (so the
 * compiler insists on every field of the type and refuses any other), must
 * validate against the schema (additionalProperties: false catches fields the
 * schema lacks), and each schema $def must list exactly those fields.
 */
import { describe, expect, test } from 'vitest';
import {
  CREDENTIAL_SCOPES,
  ENDPOINT_TYPES,
  ID_MAX,
  LEGACY_TIME_FIELDS,
  ID_PATTERN,
  type CredentialsRecord,
  type CredentialsStatus,
  type EndpointStatus,
  type ProbeStatus,
  type ServiceStatus,
  type EndpointRecord,
  type ExtensionRecord,
  type ExtensionStatus,
  type ServiceRecord,
} from '../../src/core/records.js';
import { extensionRecordSchema, validateRecord } from '../../src/registry/validate.js';

const now = '2026-01-01T00:00:00Z';
const serviceStatus: Required<ServiceStatus> = { registered: now, updated: now };
const credentialsStatus: Required<CredentialsStatus> = { created: now, updated: now, state: 'undecryptable' };
const probeStatus: Required<ProbeStatus> = { ok: false, at: now, error: 'connection refused (nothing listens on that port)' };
const endpointStatus: Required<EndpointStatus> = { last_probe: probeStatus };
const endpoint: Required<EndpointRecord> = {
  url: 'http://mlflow.mlflow.svc:5000',
  extension_id: 'mlflow',
  service_id: 'mlflow-tracking',
  type: 'internal',
  configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.mlflow.svc:5000' },
  status: endpointStatus,
  revision: 1,
};
const credentials: Required<CredentialsRecord> = {
  id: 'default-s3',
  extension_id: 'mlflow',
  service_id: 'mlflow-store',
  default: true,
  scope: 'project',
  projects: ['team-a'],
  users: ['alice'],
  configuration: { AWS_ACCESS_KEY_ID: 'key', AWS_SECRET_ACCESS_KEY: 'secret' },
  status: credentialsStatus,
  revision: 1,
};
const service: Required<ServiceRecord> = {
  id: 'mlflow-store',
  extension_id: 'mlflow',
  resource: 's3',
  category: 'model-store',
  description: 'MLflow artifact store',
  auth_required: true,
  default: true,
  configuration: { MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' },
  status: serviceStatus,
  endpoints: [endpoint],
  credentials: [credentials],
  revision: 1,
};
const status: Required<ExtensionStatus> = { registered: now, updated: now, installed: true, message: 'installed by fuseml-installer' };
const extension: Required<ExtensionRecord> = {
  id: 'mlflow',
  product: 'mlflow',
  version: '1.20.2',
  description: 'MLflow',
  zone: 'dev',
  configuration: {},
  status,
  services: [service],
  revision: 1,
};

const defs = extensionRecordSchema.$defs as Record<string, { properties?: Record<string, { enum?: unknown[] }> }>;
const keys = (o: object): string[] => Object.keys(o).sort();

describe('extension record type vs JSON schema', () => {
  test.each([
    ['extension', extension],
    ['service', service],
    ['endpoint', endpoint],
    ['credentials', credentials],
    ['status', status],
    ['serviceStatus', serviceStatus],
    ['credentialsStatus', credentialsStatus],
    ['endpointStatus', endpointStatus],
    ['probeStatus', probeStatus],
  ] as const)('%s: schema properties are exactly the type fields (records: plus the legacy top-level times)', (def, sample) => {
    const legacy = ['extension', 'service', 'endpoint', 'credentials'].includes(def) ? [...LEGACY_TIME_FIELDS] : [];
    expect(keys(defs[def]?.properties ?? {})).toEqual([...keys(sample), ...legacy].sort());
  });

  test('the legacy top-level times are input only: accepted, deprecated, write-only (never in a response)', () => {
    const legacy = defs.legacyTime as unknown as { writeOnly?: boolean; deprecated?: boolean };
    expect(legacy).toMatchObject({ writeOnly: true, deprecated: true });
    for (const def of ['extension', 'service', 'endpoint', 'credentials']) {
      for (const f of LEGACY_TIME_FIELDS) expect((defs[def]?.properties?.[f] as { $ref?: string } | undefined)?.$ref, `${def}.${f}`).toBe('#/$defs/legacyTime');
    }
    const old = '2026-01-01T00:00:00.123Z';
    const withLegacy = { ...extension, created: old, updated: old, services: [{ ...service, created: old, updated: old, endpoints: [{ ...endpoint, created: old, updated: old }], credentials: [{ ...credentials, created: old, updated: old }] }] };
    expect(() => validateRecord('extension', withLegacy)).not.toThrow();
  });

  test('a fully populated record validates', () => {
    expect(() => validateRecord('extension', extension)).not.toThrow();
  });

  test('enums and id rules agree', () => {
    expect(defs.endpoint?.properties?.type?.enum).toEqual([...ENDPOINT_TYPES]);
    expect(defs.credentials?.properties?.scope?.enum).toEqual([...CREDENTIAL_SCOPES]);
    const id = defs.id as unknown as { pattern: string; maxLength: number };
    expect(id.pattern).toBe(ID_PATTERN);
    expect(id.maxLength).toBe(ID_MAX);
  });

  test('a project- or user-scoped set without projects or users validates (fuseml-core accepts it; usable by nobody)', () => {
    expect(() => validateRecord('credentials', { id: 'c', scope: 'project' })).not.toThrow();
    expect(() => validateRecord('credentials', { id: 'c', scope: 'user', users: [] })).not.toThrow();
  });

  test('unknown fields, bad ids and bad enums are rejected, all reported at once', () => {
    const bad = { ...extension, extra: 1, id: 'a/b', services: [{ ...service, endpoints: [{ ...endpoint, type: 'public' }], credentials: [{ ...credentials, projects: [] }] }] };
    let message = '';
    try {
      validateRecord('extension', bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/unknown field "extra"/);
    expect(message).toMatch(/\/id: "a\/b" must be an id: letters, digits/);
    expect(message).toMatch(/type: must be one of: "internal", "external"/);
  });

  test('duplicate ids within one body are rejected', () => {
    expect(() => validateRecord('extension', { id: 'x', services: [{ id: 's' }, { id: 's' }] })).toThrow(/service s given twice/);
    expect(() => validateRecord('extension', { id: 'x', services: [{ id: 's', credentials: [{ id: 'c', scope: 'global' }, { id: 'c', scope: 'global' }] }] })).toThrow(/given twice/);
    expect(() => validateRecord('extension', { id: 'x', services: [{ id: 's', endpoints: [{ url: 'http://a', type: 'internal' }, { url: 'http://a', type: 'external' }] }] })).toThrow(/given twice/);
  });
});
