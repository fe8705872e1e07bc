/** Private temp files (0600 in a 0700 folder), removed after use: how secrets reach helm and kubectl. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function withPrivateFile<T>(name: string, content: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fuseml-'));
  try {
    const file = join(dir, name);
    await writeFile(file, content, { mode: 0o600, flag: 'wx' });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A private temp folder for the duration of fn. */
export async function withPrivateDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fuseml-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
