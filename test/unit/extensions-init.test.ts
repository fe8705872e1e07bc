/**
 * Authoring: `extensions init` scaffolds (every kind validates with the
 * installer's own loader; an existing folder is refused and left untouched),
 * the schema modeline resolved from a temp folder outside this repository (the
 * file it points at is read and the scaffold validated against it with a fresh
 * ajv, as an editor would), and every node of the descriptor schemas described.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExtensionDir } from '../../src/descriptor/load.js';
import { loadSchema, SCHEMA_DIR } from '../../src/descriptor/schema.js';
import { localSchemaBase, modeline, PUBLISHED_SCHEMA_BASE, SCAFFOLD_KINDS, scaffoldFiles, splitChart, writeScaffold } from '../../src/descriptor/scaffold.js';

const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fuseml-init-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Schema nodes (under properties, $defs, items, additionalProperties, …) with no description. */
function undescribed(schema: unknown): string[] {
  const missing: string[] = [];
  const walk = (n: unknown, p: string, selector: boolean): void => {
    if (n === null || typeof n !== 'object' || Array.isArray(n)) return;
    const node = n as Record<string, unknown>;
    const typed = ['type', '$ref', 'oneOf', 'anyOf', 'enum', 'const'].some((k) => k in node);
    if (typed && !selector && typeof node.description !== 'string') missing.push(p || '/');
    for (const k of ['properties', '$defs', 'patternProperties']) {
      const m = node[k] as Record<string, unknown> | undefined;
      if (m) for (const [name, v] of Object.entries(m)) walk(v, `${p}/${k}/${name}`, selector);
    }
    for (const k of ['items', 'additionalProperties', 'unevaluatedProperties']) walk(node[k], `${p}/${k}`, selector);
    // Branch selectors (if, the arms of oneOf/anyOf/allOf, propertyNames) are constraints, not fields.
    for (const k of ['if', 'then', 'else', 'not', 'propertyNames', 'contains']) walk(node[k], `${p}/${k}`, true);
    for (const k of ['oneOf', 'anyOf', 'allOf', 'prefixItems']) {
      const arms = node[k];
      if (Array.isArray(arms)) arms.forEach((v, i) => walk(v, `${p}/${k}/${i}`, true));
    }
  };
  walk(schema, '', false);
  return missing;
}

describe('extensions init', () => {
  for (const from of SCAFFOLD_KINDS) {
    it(`--from ${from}: the folder validates as written`, async () => {
      const dir = join(tmp, `v-${from}`);
      const { files } = await writeScaffold({ name: `my-${from}`, from, dir });
      expect(files).toEqual(expect.arrayContaining(['extension.yaml', 'registration.yaml', 'README.md']));
      const written = await readdir(dir, { recursive: true });
      expect(written).toEqual(expect.arrayContaining(files.map((f) => f.split('/').join('/'))));
      const r = await checkExtensionDir(dir);
      expect(r.issues).toEqual([]);
      expect(r.extension?.name).toBe(`my-${from}`);
      expect(r.extension?.registration?.services?.[0]?.id).toBe(`my-${from}`);
    });
  }

  it('helm-repo pins the chart given as REPO_URL/CHART and --version', async () => {
    const dir = join(tmp, 'pinned');
    await writeScaffold({ name: 'tool', dir, chart: 'oci://ghcr.io/example/charts/tool-chart', version: '2.3.4' });
    const ext = (await checkExtensionDir(dir)).extension;
    expect(ext?.install[0]).toMatchObject({ type: 'helm', repo: 'oci://ghcr.io/example/charts', chart: 'tool-chart', version: '2.3.4' });
    expect(ext?.version).toBe('2.3.4');
    expect(splitChart('https://charts.example.com/sub/path/x')).toEqual({ repo: 'https://charts.example.com/sub/path', chart: 'x' });
    expect(() => splitChart('just-a-name')).toThrow(/expected REPO_URL\/CHART/);
  });

  it('refuses bad names, flags of another kind, and an existing folder (named, untouched)', async () => {
    expect(() => scaffoldFiles({ name: 'My_Tool' })).toThrow(/DNS-1123 label/);
    expect(() => scaffoldFiles({ name: 'x'.repeat(54) })).toThrow(/at most 53/);
    expect(() => scaffoldFiles({ name: 'x', from: 'manifests', version: '1' })).toThrow(/--from helm-repo/);
    const dir = join(tmp, 'exists');
    await mkdir(dir);
    await writeFile(join(dir, 'keep.txt'), 'mine');
    await expect(writeScaffold({ name: 'exists', dir })).rejects.toMatchObject({ code: 'CONFLICT', message: `${dir} already exists: not overwriting it` });
    expect(await readdir(dir)).toEqual(['keep.txt']);
    expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
  });
});

describe('schema modeline', () => {
  it('works from a folder outside the repository: the file URL it names is read and the scaffold validates against it', async () => {
    expect(relative(REPO, tmp).startsWith('..')).toBe(true);
    const dir = join(tmp, 'outside');
    await writeScaffold({ name: 'outside', from: 'chart-dir', dir });
    for (const [file, schema] of [['extension.yaml', 'extension'], ['registration.yaml', 'registration']] as const) {
      const text = await readFile(join(dir, file), 'utf8');
      const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      expect(m, `${file} starts with the modeline`).not.toBeNull();
      const url = new URL(m?.[1] as string);
      expect(url.protocol).toBe('file:');
      // What an editor does: read the schema the URL names, compile it, check the document.
      const json = JSON.parse(await readFile(fileURLToPath(url), 'utf8')) as Record<string, unknown>;
      expect(json.$id).toBe(`${PUBLISHED_SCHEMA_BASE}${schema}.schema.json`);
      const ajv = new Ajv2020({ allErrors: true, strict: false });
      addFormats(ajv);
      const validate = ajv.compile(json);
      expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
      // The same check rejects a wrong document (the schema is really applied).
      expect(validate({ ...(parse(text) as object), unknownField: 1 })).toBe(false);
    }
  });

  it('points at the schemas shipped with the installer by default; --schema-base writes another base', () => {
    expect(fileURLToPath(localSchemaBase())).toBe(SCHEMA_DIR);
    expect(modeline('extension')).toBe(`# yaml-language-server: $schema=${localSchemaBase()}extension.schema.json`);
    const files = scaffoldFiles({ name: 'pub', schemaBase: PUBLISHED_SCHEMA_BASE });
    expect(files.find((f) => f.path === 'extension.yaml')?.content.split('\n')[0]).toBe(`# yaml-language-server: $schema=${PUBLISHED_SCHEMA_BASE}extension.schema.json`);
  });
});

describe('descriptor schemas', () => {
  for (const name of ['extension', 'registration', 'workflow'] as const) {
    it(`${name}.schema.json: every node has a description, and a published $id`, () => {
      const schema = loadSchema(name);
      expect(undescribed(schema)).toEqual([]);
      expect(schema.$id).toBe(`${PUBLISHED_SCHEMA_BASE}${name}.schema.json`);
    });
  }

  it('extension-record.schema.json (the registry wire format): every node has a description', async () => {
    const schema = JSON.parse(await readFile(join(SCHEMA_DIR, 'extension-record.schema.json'), 'utf8')) as unknown;
    expect(undescribed(schema)).toEqual([]);
  });

  it('the count can fail: a node without a description is found', () => {
    const schema = structuredClone(loadSchema('registration')) as { $defs: { endpoint: { properties: { url: { description?: string } } } } };
    delete schema.$defs.endpoint.properties.url.description;
    expect(undescribed(schema)).toEqual(['/$defs/endpoint/properties/url']);
  });
});
