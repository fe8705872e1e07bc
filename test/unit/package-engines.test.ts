/**
 * `engines` is true to the dependency tree (package-lock.json): every production dependency accepts the
 * oldest Node our `engines` allows and the current LTS majors, and every package (dev ones too) accepts the
 * Node running the tests — what `npm ci` checks before it prints EBADENGINE. (fastify's light-my-request
 * ≥ 6.8 pulls cookie 2, which wants Node ≥ 22: the package pins light-my-request ~6.6.0, cookie 1.x.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/registry.js';

interface LockPackage {
  dev?: boolean;
  engines?: { node?: string } | string[];
}

const read = async <T>(f: string): Promise<T> => JSON.parse(await readFile(join(ROOT, f), 'utf8')) as T;

describe('package engines', () => {
  it('every production dependency runs on the oldest Node of engines.node, and on Node 22 and 24', async () => {
    const pkg = await read<{ engines: { node: string } }>('package.json');
    const oldest = semver.minVersion(pkg.engines.node)?.version as string;
    expect(semver.major(oldest)).toBe(20);
    const lock = await read<{ packages: Record<string, LockPackage> }>('package-lock.json');
    const bad: string[] = [];
    let checked = 0;
    for (const [path, p] of Object.entries(lock.packages)) {
      const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
      if (!path || p.dev || !range) continue;
      checked++;
      for (const v of [oldest, '22.0.0', '24.0.0']) if (!semver.satisfies(v, range)) bad.push(`${path} wants node ${range}, not ${v}`);
    }
    expect(checked).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });

  it('every package of the lockfile accepts the running Node (npm ci prints no EBADENGINE)', async () => {
    const lock = await read<{ packages: Record<string, LockPackage> }>('package-lock.json');
    const bad = Object.entries(lock.packages)
      .filter(([path, p]) => path && !Array.isArray(p.engines) && p.engines?.node && !semver.satisfies(process.version, p.engines.node))
      .map(([path, p]) => `${path}: ${(p.engines as { node: string }).node}`);
    expect(bad).toEqual([]);
  });
});
