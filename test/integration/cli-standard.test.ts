/**
 * The three built CLIs as real processes: --version and `version`, `completion bash` sourced in a
 * real bash, a typo'd sub-command or flag (one line and a pointer, not the whole help), and a missing
 * file named on any command: exit 4 with one wording.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { binPath, cli, type Bin } from '../helpers/cli.js';

const BINS: Bin[] = ['fuseml-installer', 'fuseml', 'fuseml-registry'];
let version: string;
let tmp: string;

beforeAll(async () => {
  version = (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  tmp = await mkdtemp(join(tmpdir(), 'fuseml-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('--version and version', () => {
  for (const bin of BINS) {
    it(`${bin} --version and version -o json`, async () => {
      const v = await cli(bin, ['--version']);
      expect([v.exitCode, v.stdout.trim()]).toEqual([0, version]);
      const j = await cli(bin, ['version', '-o', 'json']);
      expect(j.exitCode).toBe(0);
      const parsed = JSON.parse(j.stdout) as Record<string, string>;
      expect(parsed[bin]).toBe(version);
      expect(parsed.node).toBe(process.version);
      if (bin === 'fuseml-installer') {
        expect(Object.keys(parsed)).toEqual(expect.arrayContaining(['helm', 'kubectl']));
      }
    });
  }
});

describe('completion bash, in a real bash', () => {
  /** COMPREPLY for the words typed so far (the last one is under the cursor). */
  async function complete(bin: Bin, words: string[]): Promise<string[]> {
    // The completion script calls the program by name: a wrapper on PATH stands for the installed bin.
    const dir = join(tmp, 'bin');
    await run('mkdir', ['-p', dir]);
    const wrapper = join(dir, bin);
    await writeFile(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${binPath(bin)}" "$@"\n`);
    await chmod(wrapper, 0o755);
    const script = (await cli(bin, ['completion', 'bash'])).stdout;
    const fn = `_${bin.replace(/[^A-Za-z0-9]/g, '_')}`;
    const driver = [
      script,
      `COMP_WORDS=(${[bin, ...words].map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length}`,
      `${fn}`,
      `printf '%s\\n' "\${COMPREPLY[@]}"`,
    ].join('\n');
    const r = await run('bash', ['--norc', '--noprofile', '-c', driver], { env: { PATH: `${dir}:${process.env.PATH ?? ''}` }, timeoutMs: 30_000 });
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  it('completes sub-commands, nested sub-commands, flags and flag values', async () => {
    expect(await complete('fuseml-installer', ['ext'])).toEqual(['extensions']);
    expect(await complete('fuseml-installer', ['extensions', 'de'])).toEqual(['describe']);
    expect(await complete('fuseml', ['extension', 'credentials', ''])).toEqual(['add', 'delete', 'get', 'list', 'update']);
    expect(await complete('fuseml-registry', ['serve', '--st'])).toEqual(['--store', '--store-namespace']);
    expect(await complete('fuseml', ['extension', 'list', '-o', 'y'])).toEqual(['yaml']);
  });

  it('zsh and fish scripts are printed; an unknown shell is a usage error', async () => {
    expect((await cli('fuseml', ['completion', 'zsh'])).stdout).toContain('compdef _fuseml fuseml');
    expect((await cli('fuseml', ['completion', 'fish'])).stdout).toContain("complete -c fuseml -f -a '(fuseml __complete");
    const bad = await cli('fuseml', ['completion', 'tcsh']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('unknown shell "tcsh"');
  });
});

describe('usage errors: one line and a pointer', () => {
  it('a typo in a sub-command suggests the right one (also under a command with its own action)', async () => {
    const r = await cli('fuseml-installer', ['extensions', 'lst']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown command 'lst'");
    expect(r.stderr).toContain('Did you mean list?');
    expect(r.stderr).toContain("(run 'fuseml-installer extensions --help' for usage)");
    expect(r.stderr).not.toContain('Usage:');
    const top = await cli('fuseml', ['extenson', 'list']);
    expect(top.exitCode).toBe(2);
    expect(top.stderr).toContain('Did you mean extension?');
  });

  it('an unknown flag prints the error and the pointer, not the whole help', async () => {
    const r = await cli('fuseml-installer', ['install', '--extension', 'mlflow']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '--extension'");
    expect(r.stderr).toContain("(run 'fuseml-installer install --help' for usage)");
    expect(r.stderr).not.toContain('Usage:');
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
  });
});

describe('a missing file: exit 4, one wording, on every command that reads one', () => {
  const missing = '/nonexistent/fuseml-missing.yaml';
  const cases: Array<{ bin: Bin; args: string[]; what: string }> = [
    { bin: 'fuseml', args: ['workflow', 'validate', missing], what: 'workflow file' },
    { bin: 'fuseml', args: ['workflow', 'resolve', missing, '--project', 'p'], what: 'workflow file' },
    { bin: 'fuseml', args: ['extension', 'register', '-f', missing], what: '-f' },
    { bin: 'fuseml-installer', args: ['install', '-e', 'mlflow', '--values', missing, '--dry-run'], what: '--values' },
    { bin: 'fuseml-installer', args: ['extensions', 'validate', missing], what: 'extension folder' },
    { bin: 'fuseml-installer', args: ['extensions', 'register', '-f', missing, '--dry-run'], what: 'registration manifest' },
    { bin: 'fuseml-installer', args: ['extensions', 'register', 'mlflow', '--values', missing, '--dry-run'], what: '--values' },
    { bin: 'fuseml-installer', args: ['--extensions-repository', '/nonexistent/repo', 'extensions', 'list'], what: 'extensions repository' },
    { bin: 'fuseml-registry', args: ['serve', '--config', missing, '--port', '0'], what: 'config file' },
  ];
  for (const c of cases) {
    it(`${c.bin} ${c.args.join(' ')}`, async () => {
      const r = await cli(c.bin, c.args, { env: { FUSEML_SERVER_URL: 'http://127.0.0.1:9' } });
      expect(r.exitCode, r.stderr).toBe(4);
      expect(r.stderr).toMatch(new RegExp(`^Error: ${c.what.replace(/[-]/g, '\\-')} /nonexistent/\\S+: no such file or directory$`, 'm'));
    });
  }
});

describe('a closed pipe', () => {
  it('output to a reader that went away ends quietly (no EPIPE stack trace)', async () => {
    // `… | head -1`: the reader closes after the first line.
    const r = await run('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${binPath('fuseml-installer')}" install -e mlflow,seldon-core --dry-run -o yaml | head -1`], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    expect(r.stdout.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.exitCode).toBe(0);
  });
});

