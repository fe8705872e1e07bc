import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadSchema } from '../../src/descriptor/schema.js';
import { driftBetween } from '../helpers/schema-drift.js';

const modelFile = fileURLToPath(new URL('../../src/core/extension.ts', import.meta.url));

describe('descriptor schemas and TypeScript types stay in step', () => {
  it('extension.schema.json matches ExtensionDescriptor', () => {
    expect(driftBetween(modelFile, 'ExtensionDescriptor', loadSchema('extension'))).toEqual([]);
  });

  it('registration.schema.json matches RegistrationManifest', () => {
    expect(driftBetween(modelFile, 'RegistrationManifest', loadSchema('registration'))).toEqual([]);
  });

  it('detects a drift (the check can fail)', () => {
    const schema = structuredClone(loadSchema('registration')) as { properties: Record<string, unknown> };
    delete schema.properties.zone;
    schema.properties.extra = { type: 'string' };
    const problems = driftBetween(modelFile, 'RegistrationManifest', schema);
    expect(problems).toContain('RegistrationManifest.zone: in the TS type, not in the schema');
    expect(problems).toContain('RegistrationManifest.extra: in the schema, not in the TS type');
  });

  it('detects nested drift: a step field, a map value, an optional/required mismatch', () => {
    const schema = structuredClone(loadSchema('extension')) as { $defs: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
    delete schema.$defs.helmStep!.properties.chart;
    schema.$defs.parameter!.properties.sensitive = { type: 'string' };
    schema.$defs.waitFor!.required = ['kind', 'name'];
    const problems = driftBetween(modelFile, 'ExtensionDescriptor', schema);
    expect(problems).toContain('ExtensionDescriptor.install[]<helm>.chart: in the TS type, not in the schema');
    expect(problems).toContain('ExtensionDescriptor.parameters{}.sensitive: TS allows boolean, schema allows string');
    expect(problems).toContain('ExtensionDescriptor.install[]<helm>.waitFor[].name: optional in TS, required in the schema');
  });
});
