/**
 * `fuseml-installer extensions register --set-file KEY=PATH` through the built CLI
 * (dry run, no registry needed): the value is the file's content, accepted for a
 * sensitive parameter and masked in what is printed; a missing file exits 4 with
 * the one wording of missing files.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

let dir: string;
const MARK = 'PRIVATE-KEY-MATERIAL-7d1e';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-set-file-'));
  await writeFile(join(dir, 'key.json'), JSON.stringify({ type: 'service_account', private_key: MARK }));
  await chmod(join(dir, 'key.json'), 0o600);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('extensions register --set-file', () => {
  it('reads the value from the file; a sensitive value is masked in the dry-run record', async () => {
    const r = await cli('fuseml-installer', ['extensions', 'register', 'gcs', '--set', 'bucket=b', '--set', 'project=p', '--set-file', `serviceAccountKey=${join(dir, 'key.json')}`, '--dry-run', '--no-check', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout) as { services: { credentials: { configuration: Record<string, string> }[] }[] };
    expect(rec.services[0]?.credentials[0]?.configuration).toEqual({ 'GOOGLE_APPLICATION_CREDENTIALS.json': '***' });
    expect(r.stdout + r.stderr).not.toContain(MARK);
  });

  it('a missing file exits 4, naming the flag and the path', async () => {
    const missing = join(dir, 'nope.json');
    const r = await cli('fuseml-installer', ['extensions', 'register', 'gcs', '--set', 'bucket=b', '--set', 'project=p', '--set-file', `serviceAccountKey=${missing}`, '--dry-run', '--no-check']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(`--set-file ${missing}: no such file or directory`);
  });

  it('a malformed entry is a validation error naming the form', async () => {
    const r = await cli('fuseml-installer', ['extensions', 'register', 'gcs', '--set-file', 'no-equals-sign', '--dry-run', '--no-check']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('is not of the form [params.|outputs.]NAME=PATH');
  });
});
