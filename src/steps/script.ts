/**
 * script steps: the extension's own executable, run with an argument array,
 * cwd = the extension folder. Context in the environment:
 *   FUSEML_EXTENSION, FUSEML_NAMESPACE, FUSEML_PHASE (install|uninstall),
 *   FUSEML_PARAM_<NAME> (sensitive ones too, masked in all output),
 *   KUBECONFIG, FUSEML_HELM, FUSEML_KUBECTL, and FUSEML_OUTPUTS: a file the
 *   script writes `key=value` lines to (its outputs). PATH starts with the
 *   folders of that helm and kubectl: FuseML's scripts call them by name.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { run } from '../exec/index.js';
import { IDENTIFIER, splitAssignment } from '../core/assign.js';
import { FusemlError } from '../core/errors.js';
import type { PlannedScript } from './planned.js';
import { fetchRemote } from './remote.js';
import { withPrivateDir } from './tempfile.js';
import type { StepContext, StepRunner, Tools } from './types.js';

export const MAX_OUTPUTS_BYTES = 1024 * 1024;

/** Parses `key=value` lines (blank lines and `#` comments ignored; the last value of a key wins). */
export function parseOutputLines(text: string): { values: Record<string, string>; problems: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const split = splitAssignment(line, { key: IDENTIFIER, trimKey: true });
    if (!split.ok) {
      // Never quote the line: it may hold a secret value.
      problems.push(`line ${i + 1}: expected KEY=VALUE with KEY matching ${IDENTIFIER.source}`);
      return;
    }
    values[split.key] = split.value;
  });
  return { values, problems };
}

/** PATH with the folders of the installer's helm and kubectl first. */
function toolPath(ctx: StepContext): string {
  const dirs = [ctx.tools.kubectl, ctx.tools.helm].filter((t) => isAbsolute(t)).map((t) => dirname(t));
  return [...new Set(dirs), ctx.env.PATH ?? process.env.PATH ?? ''].filter((p) => p !== '').join(delimiter);
}

export const scriptRunner: StepRunner<PlannedScript> = {
  commands(step: PlannedScript) {
    return [[step.url ? `<${step.url}>` : step.file, ...step.args]];
  },
  async run(step: PlannedScript, ctx: StepContext) {
    return withPrivateDir(async (dir) => {
      const outputsFile = join(dir, 'outputs');
      let file = step.file;
      if (step.url) {
        // A remote script (FuseML allows a URL): fetched now into the private folder, executable by us only.
        file = join(dir, `script-${step.file.replace(/[^A-Za-z0-9._-]/g, '_')}`);
        await writeFile(file, await fetchRemote(step.url, { signal: ctx.signal }), { mode: 0o700, flag: 'wx' });
      }
      await run(file, step.args, {
        cwd: step.cwd,
        env: {
          ...ctx.env,
          FUSEML_EXTENSION: ctx.extension,
          FUSEML_NAMESPACE: step.namespace,
          FUSEML_PHASE: step.phase,
          FUSEML_OUTPUTS: outputsFile,
          FUSEML_HELM: ctx.tools.helm,
          FUSEML_KUBECTL: ctx.tools.kubectl,
          PATH: toolPath(ctx),
        },
        secretEnv: ctx.secretEnv,
        secrets: ctx.secrets,
        timeoutMs: step.timeoutMs,
        signal: ctx.signal,
        onLine: ctx.onLine && ((l) => ctx.onLine?.(l)),
      });
      let text = '';
      try {
        const st = await stat(outputsFile);
        if (st.size > MAX_OUTPUTS_BYTES) throw new FusemlError('VALIDATION', `${step.url ?? step.file}: the outputs file is ${st.size} bytes (limit ${MAX_OUTPUTS_BYTES})`);
        text = await readFile(outputsFile, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      const { values, problems } = parseOutputLines(text);
      if (problems.length > 0) throw new FusemlError('VALIDATION', `${step.url ?? step.file} wrote a malformed outputs file ($FUSEML_OUTPUTS): ${problems.join('; ')}`);
      return { outputs: values };
    });
  },
};

export type { Tools };
