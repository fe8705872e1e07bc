import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildInstallerProgram } from '../../src/cli/programs/installer.js';

function help(args: string[]): string {
  const program: Command = buildInstallerProgram();
  let out = '';
  program.exitOverride();
  const capture = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
    c.commands.forEach(capture);
  };
  capture(program);
  try {
    program.parse(['node', 'fuseml-installer', ...args, '--help']);
  } catch {
    // commander's help exit
  }
  return out;
}

describe('fuseml-installer help teaches', () => {
  it('install: flags, examples, exit codes', () => {
    const h = help(['install']);
    for (const s of ['--extensions', '--dry-run', '--set', '--values', '--chart-mirror', '--concurrency', '--force-reinstall', '--lock-timeout', 'Examples:', '$ fuseml-installer install --extensions', 'extensions sync', 'Exit codes:']) expect(h).toContain(s);
  });
  it('uninstall, status, extensions sync and the FuseML form have examples', () => {
    expect(help(['uninstall'])).toContain('--with-dependents');
    expect(help(['uninstall'])).toContain('$ fuseml-installer uninstall');
    expect(help(['status'])).toContain('$ fuseml-installer status');
    expect(help(['extensions', 'sync'])).toContain('fuseml-installer extensions sync');
    expect(help(['extensions'])).toContain('$ fuseml-installer extensions --add');
  });
});
