/**
 * One configuration for the CLIs: fuseml and fuseml-installer reach the same registry from one config
 * file context, and from the same env vars (FUSEML_SERVER_URL / FUSEML_TOKEN, old names as aliases);
 * flag > env > file. Plus the uninstall guard, which needs no cluster (it refuses before touching one).
 */
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';

let reg: RegistryProcess;
let dir: string;
const readerToken = randomToken();

/** A clean environment: no registry settings but those given. */
const env = (extra: Record<string, string | undefined> = {}) => ({
  FUSEML_CONFIG_DIR: join(dir, 'cfg'),
  FUSEML_STATE_DIR: join(dir, 'state'),
  FUSEML_SERVER_URL: undefined,
  FUSEML_TOKEN: undefined,
  FUSEML_REGISTRY_URL: undefined,
  FUSEML_REGISTRY_TOKEN: undefined,
  FUSEML_CONTEXT: undefined,
  KUBECONFIG: join(dir, 'no-such-kubeconfig'),
  ...extra,
});
// A registry write (deleting an id nobody has) and a read, by each CLI.
const installerWrite = (e: Record<string, string | undefined>, args: string[] = []) => cli('fuseml-installer', ['extensions', 'unregister', 'nobody-has-this', '--ignore-missing', ...args], { env: env(e) });
const clientRead = (e: Record<string, string | undefined>, args: string[] = []) => cli('fuseml', [...args, 'extension', 'list', '-o', 'json'], { env: env(e) });

beforeAll(async () => {
  reg = await startRegistry({ config: `tokens:\n  - { name: viewer, role: reader, token: ${readerToken} }\n` });
  dir = await mkdtemp(join(tmpdir(), 'fuseml-config-'));
});
afterAll(async () => {
  await reg?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('one registry configuration for fuseml and fuseml-installer', () => {
  it('a config file context (written by fuseml config, 0600, token never printed) serves both CLIs', async () => {
    const set = await cli('fuseml', ['config', 'set-context', 'dev', '--registry-url', reg.url, '--registry-token-env', 'DEV_TOKEN'], { env: env({ DEV_TOKEN: reg.adminToken }) });
    expect(set.exitCode, set.stderr).toBe(0);
    const file = join(dir, 'cfg', 'config.yaml');
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(await readFile(file, 'utf8')).toContain('current-context: dev');

    expect((await installerWrite({})).exitCode).toBe(0);
    expect((await clientRead({})).exitCode).toBe(0);

    const view = await cli('fuseml', ['config', 'view'], { env: env() });
    expect(view.exitCode).toBe(0);
    expect(view.stdout).not.toContain(reg.adminToken as string);
    expect(view.stdout).toContain(`registry-url: ${reg.url} (config context dev)`);
    expect(view.stdout).toMatch(/registry-token: "?\*+ \(config context dev\)/);
    const contexts = await cli('fuseml', ['config', 'get-contexts'], { env: env() });
    expect(contexts.stdout).toMatch(/^\*\s+dev\s+http:\/\/127\.0\.0\.1:\d+\s+yes$/m);
  });

  it('precedence flag > env > file: env FUSEML_TOKEN overrides the file for both CLIs, --registry-token overrides env', async () => {
    // A reader token in env: reads pass, the installer's write is refused with exit 12 naming its flags.
    const w = await installerWrite({ FUSEML_TOKEN: readerToken });
    expect(w.exitCode).toBe(12);
    expect(w.stderr).toMatch(/^Hint: .*--registry-token \/ FUSEML_TOKEN/m);
    expect((await clientRead({ FUSEML_TOKEN: readerToken })).exitCode).toBe(0);
    // The flag beats the env.
    expect((await installerWrite({ FUSEML_TOKEN: readerToken }, ['--registry-token', reg.adminToken as string])).exitCode).toBe(0);
    // The old names still work, and the new ones win over them.
    expect((await installerWrite({ FUSEML_REGISTRY_TOKEN: readerToken })).exitCode).toBe(12);
    expect((await installerWrite({ FUSEML_REGISTRY_TOKEN: readerToken, FUSEML_TOKEN: reg.adminToken })).exitCode).toBe(0);
    const bad = await clientRead({ FUSEML_SERVER_URL: 'http://127.0.0.1:9' });
    expect(bad.exitCode).toBe(9);
    expect(bad.stderr).toMatch(/^Hint: check --registry-url \/ FUSEML_SERVER_URL/m);
    expect((await clientRead({ FUSEML_SERVER_URL: 'http://127.0.0.1:9' }, ['--url', reg.url])).exitCode).toBe(0);
  });

  it('a config file holding a token that others may read is refused; FUSEML_CONTEXT picks an unknown context: clear error', async () => {
    const file = join(dir, 'cfg', 'config.yaml');
    await chmod(file, 0o644);
    const r = await clientRead({});
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/holds a registry token but others may read it \(mode 644\)/);
    await chmod(file, 0o600);
    const u = await clientRead({ FUSEML_CONTEXT: 'nope' });
    expect(u.exitCode).toBe(2);
    expect(u.stderr).toMatch(/no context "nope" in the config file \(FUSEML_CONTEXT\)/);
  });
});

describe('uninstall guardrails (before any cluster access: the kubeconfig here does not exist)', () => {
  it('neither --extensions nor --all: exit 2; no terminal and no --yes: exit 2 with a hint', async () => {
    const none = await cli('fuseml-installer', ['uninstall'], { env: env() });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/^Error: uninstall: say what to uninstall$/m);
    expect(none.stderr).toMatch(/^Hint: pass --extensions NAME\[,NAME…\], or --all/m);
    const noYes = await cli('fuseml-installer', ['uninstall', '--all'], { env: env() });
    expect(noYes.exitCode).toBe(2);
    expect(noYes.stderr).toMatch(/^Error: refusing to uninstall without confirmation: no terminal to ask on$/m);
    expect(noYes.stderr).toMatch(/^Hint: pass --yes to confirm$/m);
    // With both it goes on, to the (missing) cluster: exit 8, proving the guards came first.
    expect((await cli('fuseml-installer', ['uninstall', '--all', '--yes', '--no-register'], { env: env() })).exitCode).toBe(8);
  });
});
