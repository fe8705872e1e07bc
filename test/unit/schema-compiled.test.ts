/**
 * The build-time (ajv stand-alone) validators behave exactly like the ones
 * compiled at run time: same verdicts and same errors on every descriptor,
 * registration and workflow fixture, valid and broken.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readFile } from 'node:fs/promises';
import { SCHEMA_NAMES, schemaHash, standaloneValidator, loadSchema, type SchemaName } from '../../src/descriptor/schema.js';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Inside the repo, so the generated code's require("ajv/dist/runtime/…") resolves.
const OUT = join(ROOT, 'node_modules/.cache/fuseml-schema-test');
const require = createRequire(import.meta.url);

async function yamlFiles(dir: string, name: RegExp): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(p, name)));
    else if (name.test(e.name)) out.push(p);
  }
  return out;
}

function runtimeValidator(name: SchemaName): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true });
  (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
  return ajv.compile(loadSchema(name));
}

const samples: Record<SchemaName, RegExp> = {
  extension: /^(extension|description)\.yaml$/,
  registration: /^registration\.yaml$/,
  workflow: /\.ya?ml$/,
};
const roots: Record<SchemaName, string[]> = {
  extension: ['test/fixtures/descriptors', 'extensions'],
  registration: ['test/fixtures/descriptors', 'extensions'],
  workflow: ['test/fixtures/workflows', 'examples'],
};

afterAll(async () => {
  await rm(OUT, { recursive: true, force: true });
});

describe('stand-alone schema validators', () => {
  for (const name of SCHEMA_NAMES) {
    it(`${name}: same verdicts and errors as the run-time compiled validator`, async () => {
      await mkdir(OUT, { recursive: true });
      const file = join(OUT, `${name}.cjs`);
      await writeFile(file, standaloneValidator(name));
      const compiled = require(file) as { validate: ValidateFunction; schemaHash: string };
      expect(compiled.schemaHash).toBe(schemaHash(await readFile(join(ROOT, 'schemas', `${name}.schema.json`), 'utf8')));
      const runtime = runtimeValidator(name);

      let checked = 0;
      let invalid = 0;
      for (const root of roots[name]) {
        for (const f of await yamlFiles(join(ROOT, root), samples[name])) {
          let data: unknown;
          try {
            data = parse(await readFile(f, 'utf8'), { maxAliasCount: 100 });
          } catch {
            continue; // malformed YAML never reaches the schema
          }
          const a = compiled.validate(data);
          const b = runtime(data);
          expect(a, f).toBe(b);
          expect(compiled.validate.errors ?? null, f).toEqual(runtime.errors ?? null);
          checked++;
          if (!b) invalid++;
        }
      }
      expect(checked).toBeGreaterThan(2);
      if (name !== 'workflow') expect(invalid).toBeGreaterThan(0); // the corpus does exercise errors
    });
  }
});
