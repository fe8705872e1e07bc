/**
 * The three CLIs as a user meets them: every command's help teaches with an example, --version,
 * `completion` (bash run for real), one-line usage errors, "did you mean", exit codes generated
 * from EXIT_CODES and the README table in step with them.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, EXIT_CODE_MEANINGS, TERMINATED_EXIT_CODE, TERMINATED_MEANING, fileError, type ErrorCode } from '../../src/core/errors.js';
import { buildFusemlProgram } from '../../src/cli/programs/fuseml.js';
import { buildInstallerProgram } from '../../src/cli/programs/installer.js';
import { buildRegistryProgram } from '../../src/cli/programs/registry.js';
import { finishProgram } from '../../src/cli/run.js';
import { commandPath, completeWords, suggest } from '../../src/cli/standard.js';

const PROGRAMS: Record<string, () => Command> = {
  'fuseml-installer': buildInstallerProgram,
  fuseml: buildFusemlProgram,
  'fuseml-registry': buildRegistryProgram,
};

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
  cmd.outputHelp();
  return out;
}

function walk(cmd: Command, visit: (c: Command) => void): void {
  visit(cmd);
  for (const sub of cmd.commands) {
    if (sub.name() === '__complete') continue;
    walk(sub, visit);
  }
}

describe('every command of the three CLIs', () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(`${name}: each command's help has an example of that command`, () => {
      const program = finishProgram(build());
      const missing: string[] = [];
      let count = 0;
      walk(program, (c) => {
        count++;
        const help = helpOf(c);
        // The root's example may be of any of its commands; a sub-command's must run it.
        // (env assignments or a pipe may come first on the line).
        const wanted = new RegExp(`^\\s+\\$ .*\\b${commandPath(c).replace(/[-]/g, '\\-')}(\\s|$)`, 'm');
        if (!/^Examples?:$/m.test(help) || !wanted.test(help)) missing.push(commandPath(c));
      });
      expect(count).toBeGreaterThan(3);
      expect(missing).toEqual([]);
    });
  }
});

describe('exit codes', () => {
  it('the README table lists exactly EXIT_CODES with their meanings', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), (m[2] as string).replace(/`/g, '')]);
    const expected = [[0, 'success'], ...(Object.keys(EXIT_CODES) as ErrorCode[]).sort((a, b) => EXIT_CODES[a] - EXIT_CODES[b]).map((c) => [EXIT_CODES[c], EXIT_CODE_MEANINGS[c]]), [TERMINATED_EXIT_CODE, TERMINATED_MEANING]];
    expect(rows).toEqual(expected);
  });
  it('each program lists every exit code in its help, 1 and 12 included', () => {
    for (const build of Object.values(PROGRAMS)) {
      const help = helpOf(finishProgram(build()));
      for (const code of [0, ...Object.values(EXIT_CODES), TERMINATED_EXIT_CODE]) expect(help).toMatch(new RegExp(`^  ${code}\\s+\\S`, 'm'));
    }
  });
  it('a missing file is not-found (4) with one wording; a directory is a usage error', () => {
    const enoent = Object.assign(new Error('x'), { code: 'ENOENT' });
    const e = fileError('--values', 'nope.yaml', enoent);
    expect([e.code, e.exitCode, e.message]).toEqual(['NOT_FOUND', 4, '--values nope.yaml: no such file or directory']);
    expect(fileError('workflow file', 'd', Object.assign(new Error('x'), { code: 'EISDIR' })).exitCode).toBe(2);
  });
});

describe('completion', () => {
  const program = (): Command => finishProgram(buildInstallerProgram());
  it('completes sub-commands, flags and flag choices', () => {
    expect(completeWords(program(), ['ext'])).toEqual(['extensions']);
    expect(completeWords(program(), ['extensions', 'v'])).toEqual(['validate']);
    expect(completeWords(program(), ['install', '--dry'])).toEqual(['--dry-run']);
    expect(completeWords(program(), ['install', '-o', ''])).toEqual(['json', 'table', 'yaml']);
    expect(completeWords(program(), ['completion', ''])).toEqual([]);
    // hidden commands are not offered
    expect(completeWords(program(), ['__'])).toEqual([]);
  });
  it('suggests near names', () => {
    expect(suggest('lst', ['list', 'describe', 'validate'])).toEqual(['list']);
    expect(suggest('instlal', ['install', 'uninstall', 'status'])).toEqual(['install']);
    expect(suggest('zzz', ['install'])).toEqual([]);
  });
});
