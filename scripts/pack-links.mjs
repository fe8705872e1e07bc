#!/usr/bin/env node
/**
 * npm pack leaves symbolic links out of the tarball, so a packaged installer
 * would lose the links inside extensions/ (mlflow's chart/charts/minio points at
 * the s3 extension's MinIO chart). `prepack` replaces each link with a copy of
 * what it points to and records it; `postpack` puts the links back.
 *
 *   node scripts/pack-links.mjs prepack|postpack [ROOT]
 */
import { cp, lstat, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

const [mode, rootArg] = process.argv.slice(2);
const root = resolve(rootArg ?? process.cwd());
const record = join(root, '.pack-links.json');

async function links(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isSymbolicLink()) out.push(p);
    else if (entry.isDirectory()) out.push(...(await links(p)));
  }
  return out;
}

if (mode === 'prepack') {
  const found = [];
  for (const link of await links(join(root, 'extensions'))) {
    const target = await readlink(link);
    const inside = relative(root, resolve(link, '..', target));
    if (inside.startsWith('..')) throw new Error(`${relative(root, link)} points outside the package (${target})`);
    await rm(link);
    await cp(resolve(link, '..', target), link, { recursive: true, dereference: true });
    found.push({ path: relative(root, link), target });
  }
  await writeFile(record, JSON.stringify(found, null, 2) + '\n');
  console.error(`pack-links: ${found.length} link(s) replaced by copies for packing`);
} else if (mode === 'postpack') {
  let found = [];
  try {
    found = JSON.parse(await readFile(record, 'utf8'));
  } catch {
    process.exit(0); // nothing was replaced
  }
  for (const { path, target } of found) {
    const p = join(root, path);
    if ((await lstat(p).catch(() => undefined))?.isSymbolicLink()) continue;
    await rm(p, { recursive: true, force: true });
    await symlink(target, p);
  }
  await rm(record, { force: true });
  console.error(`pack-links: ${found.length} link(s) restored`);
} else {
  console.error('usage: node scripts/pack-links.mjs prepack|postpack [ROOT]');
  process.exit(2);
}
