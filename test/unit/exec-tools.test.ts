import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FusemlError } from '../../src/core/errors.js';
import { resolveTool } from '../../src/exec/tools.js';

let dir: string;
let bin1: string;
let bin2: string;

async function fakeTool(path: string, mode = 0o755): Promise<void> {
  await writeFile(path, '#!/bin/sh\nexit 0\n');
  await chmod(path, mode);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-tools-'));
  bin1 = join(dir, 'bin1');
  bin2 = join(dir, 'bin2');
  await mkdir(bin1);
  await mkdir(bin2);
  await fakeTool(join(bin1, 'kubectl'), 0o644); // not executable: skipped
  await fakeTool(join(bin2, 'kubectl'));
  await fakeTool(join(bin2, 'helm'));
  await mkdir(join(bin1, 'helm')); // a directory named helm: skipped
  await fakeTool(join(dir, 'my-helm'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveTool', () => {
  it('prefers FUSEML_HELM / FUSEML_KUBECTL over PATH', async () => {
    const env = { PATH: `${bin1}:${bin2}`, FUSEML_HELM: join(dir, 'my-helm') };
    expect(await resolveTool('helm', { env })).toBe(join(dir, 'my-helm'));
  });

  it('takes the first executable file on PATH, ignoring relative entries', async () => {
    const env = { PATH: `.:${bin1}:${bin2}` };
    expect(await resolveTool('helm', { env })).toBe(join(bin2, 'helm'));
    expect(await resolveTool('kubectl', { env })).toBe(join(bin2, 'kubectl'));
  });

  it('fails with TOOL_MISSING and a hint when absent', async () => {
    const err = await resolveTool('helm', { env: { PATH: bin1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FusemlError);
    expect(err).toMatchObject({ code: 'TOOL_MISSING', exitCode: 7 });
    expect((err as FusemlError).hint).toMatch(/npm run tools/);
  });

  it('rejects an explicit path that is not executable rather than falling back to PATH', async () => {
    const env = { PATH: bin2, FUSEML_KUBECTL: join(bin1, 'kubectl') };
    await expect(resolveTool('kubectl', { env })).rejects.toMatchObject({ code: 'TOOL_MISSING', message: /FUSEML_KUBECTL=.*not an executable file/ });
  });
});
