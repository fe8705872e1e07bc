/**
 * `fuseml-installer extensions list|describe|validate` as a real process
 * (built dist/), on the fixture corpus: output formats, exit codes, messages.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { parse } from 'yaml';
import { EXIT_CODES } from '../../src/core/errors.js';
import { cli } from '../helpers/cli.js';

const FIX = fileURLToPath(new URL('../fixtures/descriptors/', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../extensions/', import.meta.url));
const repo = (name: string) => ['--extensions-repository', join(FIX, name)];

describe('fuseml-installer extensions (real process)', () => {
  it('list: a table by default, JSON and YAML on request', async () => {
    const table = await cli('fuseml-installer', [...repo('valid'), 'extensions', 'list']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+PRODUCT\s+VERSION\s+REQUIRES\s+DESCRIPTION$/);
    expect(table.stdout).toMatch(/^beta\s+beta\s+0\.3\.0\s+alpha\s+Plain manifests, after alpha\.$/m);

    const json = await cli('fuseml-installer', [...repo('fuseml'), 'extensions', 'list', '-o', 'json']);
    expect(json.exitCode).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<{ name: string; requires: string[]; description: string }>;
    // Added to the shipped set; the folder's mlflow and seldon-core replace the shipped ones, with a notice.
    expect(rows.map((r) => r.name)).toEqual(['combo', 'fuseml-registry', 'gcs', 'kserve', 'mlflow', 's3', 'seldon-core']);
    expect(rows[0]?.requires).toEqual(['mlflow', 'seldon-core']);
    expect(json.stderr).toContain(`notice: extension "mlflow" from ${join(FIX, 'fuseml/mlflow')} replaces the one from ${join(SHIPPED, 'mlflow')}`);
    expect(json.stderr).toContain(`notice: extension "seldon-core" from ${join(FIX, 'fuseml/seldon')} replaces the one from ${join(SHIPPED, 'seldon-core')}`);

    const yaml = await cli('fuseml-installer', [...repo('valid'), 'extensions', 'list', '-o', 'yaml']);
    expect((parse(yaml.stdout) as Array<{ name: string }>).map((r) => r.name)).toEqual(['alpha', 'beta', 'fuseml-registry', 'gamma', 'gcs', 'kserve', 'mlflow', 's3', 'seldon-core']);
    expect(yaml.stderr).toBe('');
  });

  it('describe: the normalized model, and a clear error for an unknown name', async () => {
    const r = await cli('fuseml-installer', [...repo('fuseml'), 'extensions', 'describe', 'mlflow', '-o', 'json']);
    expect(r.exitCode).toBe(0);
    const view = JSON.parse(r.stdout) as { format: string; registration: { services: Array<{ id: string }> } };
    expect(view.format).toBe('description.yaml');
    expect(view.registration.services.map((s) => s.id)).toEqual(['mlflow-tracking', 'mlflow-store']);
    expect(r.stdout).not.toContain(FIX); // no machine paths in the view

    const text = await cli('fuseml-installer', [...repo('valid'), 'extensions', 'describe', 'alpha', '-o', 'table']);
    expect(text.stdout).toContain('adminPassword (string, sensitive)');

    const missing = await cli('fuseml-installer', [...repo('valid'), 'extensions', 'describe', 'nosuch']);
    expect(missing.exitCode).toBe(EXIT_CODES.NOT_FOUND);
    expect(missing.stderr).toBe(`Error: unknown extension "nosuch"\nHint: available in ${SHIPPED.replace(/\/$/, '')}, ${join(FIX, 'valid')}: alpha, beta, fuseml-registry, gamma, gcs, kserve, mlflow, s3, seldon-core\n`);
  });

  it('validate: every shipped fixture folder passes', async () => {
    const r = await cli('fuseml-installer', ['extensions', 'validate', join(FIX, 'valid'), join(FIX, 'fuseml/mlflow')]);
    // alpha's sensitive adminPassword is used by values.yaml but has no default and is not required.
    expect(r.stderr).toBe(
      `warning: ${join(FIX, 'valid/alpha/extension.yaml')}:15:5 /parameters/adminPassword parameter "adminPassword" has no default and is not required: an install without --set alpha.adminPassword=VALUE fails at plan time ("has no value"); add a default or "required: true"\n`,
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      `valid: alpha (${join(FIX, 'valid/alpha')})`,
      `valid: beta (${join(FIX, 'valid/beta')})`,
      `valid: gamma (${join(FIX, 'valid/gamma')})`,
      `valid: mlflow (${join(FIX, 'fuseml/mlflow')})`,
    ]);
  });

  it('validate: every FuseML-format fixture passes; remote locations are noted, not fetched', async () => {
    const forms = join(FIX, 'fuseml-forms');
    const names = ['certs', 'legacy', 'operator', 'roles', 'seldonish', 'serving', 'tracker'];
    // As a repository (requires checked against the siblings) and folder by folder.
    for (const args of [[forms], names.map((n) => join(forms, n))]) {
      const r = await cli('fuseml-installer', ['extensions', 'validate', ...args]);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.filter((l) => l.startsWith('valid: '))).toEqual(names.map((n) => `valid: ${n} (${join(forms, n)})`));
      expect(lines).toContain('note: tracker install[0].location: https://github.com/example-org/tracker-extension/raw/main/charts/tracker-0.1.0.tgz is remote, fetched at install (map it with --mirror ORIGINAL=MIRROR)');
      expect(lines).toContain('note: legacy install[0].values: https://github.com/example-org/legacy/raw/main/charts/legacy-values.yaml is remote, fetched at install (map it with --mirror ORIGINAL=MIRROR)');
      expect(lines.filter((l) => l.startsWith('note: ')).length).toBe(16);
    }
  });

  it('validate: the broken corpus fails with every issue, exit code 3, no stack trace', async () => {
    const cases = (await readdir(join(FIX, 'broken'))).map((c) => join(FIX, 'broken', c));
    expect(cases.length).toBeGreaterThanOrEqual(14);
    const r = await cli('fuseml-installer', ['extensions', 'validate', ...cases]);
    expect(r.exitCode).toBe(EXIT_CODES.VALIDATION);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^Error: \d+ problems found$/);
    expect(lines.length).toBeGreaterThanOrEqual(30);
    for (const expected of [
      'broken/cycle/one/extension.yaml:4:12 /requires/0 dependency cycle: one -> two -> three -> one',
      'broken/path-escape/ext/extension.yaml:6:15 /install/0/location "../../etc/passwd" leads outside the extension folder',
      'broken/unknown-field/ext/extension.yaml:4:1 unknown field "instal" (did you mean "install"?)',
      'broken/alias-bomb/ext/extension.yaml invalid YAML:',
    ]) {
      expect(r.stderr).toContain(FIX + expected);
    }
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('validate: one extension folder is checked against its siblings (requires, cycles)', async () => {
    const r = await cli('fuseml-installer', ['extensions', 'validate', join(FIX, 'broken/cycle/two')]);
    expect(r.exitCode).toBe(EXIT_CODES.VALIDATION);
    expect(r.stderr).toContain('/requires/0 dependency cycle: one -> two -> three -> one');
    expect(r.stderr).not.toContain('cycle/one/extension.yaml');
  });

  it('bad usage: unknown format, missing path, unknown command', async () => {
    const fmt = await cli('fuseml-installer', [...repo('valid'), 'extensions', 'list', '-o', 'xml']);
    expect(fmt.exitCode).toBe(EXIT_CODES.USAGE);
    expect(fmt.stderr).toContain("error: option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are table, json, yaml.");

    const nopath = await cli('fuseml-installer', ['extensions', 'validate', '/nonexistent/ext']);
    expect(nopath.exitCode).toBe(EXIT_CODES.NOT_FOUND);
    expect(nopath.stderr).toContain('Error: extension folder /nonexistent/ext: no such file or directory');

    const norepo = await cli('fuseml-installer', ['--extensions-repository', '/nonexistent', 'extensions', 'list']);
    expect(norepo.exitCode).toBe(EXIT_CODES.NOT_FOUND);
    expect(norepo.stderr).toContain('Hint: pass --extensions-repository DIR');
  });

  it('--verbose adds the stack trace', async () => {
    const r = await cli('fuseml-installer', ['--extensions-repository', '/nonexistent', 'extensions', 'list', '--verbose']);
    expect(r.stderr).toMatch(/^\s+at /m);
  });
});
