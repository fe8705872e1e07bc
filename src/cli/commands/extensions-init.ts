/** `fuseml-installer extensions init NAME`: writes a new extension folder. */
import { rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { checkExtensionDir } from '../../descriptor/load.js';
import { writeScaffold, type ScaffoldKind } from '../../descriptor/scaffold.js';

export interface InitOptions {
  from?: ScaffoldKind;
  dir?: string;
  chart?: string;
  version?: string;
  schemaBase?: string;
}

export async function initExtension(name: string, opts: InitOptions): Promise<void> {
  const { dir, files } = await writeScaffold({ name, from: opts.from, dir: opts.dir, chart: opts.chart, version: opts.version, schemaBase: opts.schemaBase });
  // What was written must validate as is: a scaffold that does not is a bug, reported as such.
  const check = await checkExtensionDir(dir);
  if (check.issues.length > 0) {
    await rm(dir, { recursive: true, force: true });
    throw new ValidationError(check.issues, `the new folder ${dir} does not validate (a bug of init: please report it)`);
  }
  const shown = relative(process.cwd(), dir) || '.';
  const where = relative(process.cwd(), `${dir}/..`) || '.';
  process.stdout.write(
    [
      `created ${shown}/ (${opts.from ?? 'helm-repo'}):`,
      ...files.map((f) => `  ${f}`),
      'next:',
      `  fuseml-installer extensions validate ${shown}`,
      `  fuseml-installer --extensions-repository ${where} install --extensions ${name}`,
      '',
    ].join('\n'),
  );
}
