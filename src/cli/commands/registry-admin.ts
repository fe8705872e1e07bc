/**
 * `fuseml-registry doctor` and `fuseml-registry rotate-key`: maintenance of the registry's stored data,
 * run against the database (or the Kubernetes store, doctor only) while no server writes to it.
 */
import { existsSync } from 'node:fs';
import { FusemlError } from '../../core/errors.js';

export interface StoreOptions {
  db?: string;
  config?: string;
  keyFile?: string;
  store?: string;
  kubeconfig?: string;
  storeNamespace?: string;
}

export interface RotateOptions extends StoreOptions {
  newKeyFile: string;
}

async function locate(opts: StoreOptions): Promise<{ dbPath: string; keyFile: string }> {
  const [{ loadConfig }, paths] = await Promise.all([import('../../registry/config.js'), import('../../registry/paths.js')]);
  const config = opts.config ? await loadConfig(opts.config) : undefined;
  const dbPath = opts.db ?? config?.db ?? paths.defaultDbPath();
  return { dbPath, keyFile: opts.keyFile ?? config?.key_file ?? paths.defaultKeyFile(dbPath) };
}

function storeKind(opts: StoreOptions): 'sqlite' | 'kubernetes' {
  const kind = opts.store ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'kubernetes') throw new FusemlError('USAGE', `--store ${kind}: not a store`, { hint: 'use sqlite or kubernetes' });
  if (kind === 'sqlite' && (opts.kubeconfig !== undefined || opts.storeNamespace !== undefined)) {
    throw new FusemlError('USAGE', '--kubeconfig and --store-namespace need --store kubernetes');
  }
  return kind;
}

/** Opens the existing SQLite database with its key; never creates either. */
async function openSqlite(dbPath: string, keyFile: string): Promise<import('../../registry/store/sqlite.js').SqliteStore> {
  if (!existsSync(dbPath)) throw new FusemlError('NOT_FOUND', `the registry database ${dbPath} does not exist`, { hint: 'give it with --db or db in --config' });
  const [{ loadOrCreateKey }, { SqliteStore }] = await Promise.all([import('../../registry/crypto.js'), import('../../registry/store/sqlite.js')]);
  const key = await loadOrCreateKey({ keyFile, database: dbPath, create: false });
  return new SqliteStore({ path: dbPath, key: key.key });
}

/**
 * Lists every credential set whose stored values do not decrypt (and, for SQLite, the integrity check).
 * Exit 0 when all is well; VALIDATION (3) when anything is listed.
 */
export async function doctor(opts: StoreOptions): Promise<void> {
  const kind = storeKind(opts);
  const { dbPath, keyFile } = await locate(opts);
  const broken: string[] = [];
  const problems: string[] = [];
  let where: string;
  let extensions: number;
  if (kind === 'kubernetes') {
    const [{ loadOrCreateKey }, { KubernetesStore }] = await Promise.all([import('../../registry/crypto.js'), import('../../registry/store/kubernetes/store.js')]);
    const key = await loadOrCreateKey({ keyFile, create: false });
    const store = await KubernetesStore.open({ kubeconfig: opts.kubeconfig, namespace: opts.storeNamespace, key: key.key });
    try {
      const all = await store.list({}, { reveal: true });
      extensions = all.length;
      for (const e of all) {
        for (const s of e.services ?? []) {
          for (const c of s.credentials ?? []) if (c.status?.state === 'undecryptable') broken.push(`${e.id}/${s.id}/${c.id}`);
        }
      }
      where = `store kubernetes ${store.api.server} namespace ${store.api.namespace}`;
    } finally {
      await store.close();
    }
  } else {
    const store = await openSqlite(dbPath, keyFile);
    try {
      for (const b of store.undecryptable()) broken.push(`${b.extension_id}/${b.service_id}/${b.credentials_id}`);
      const integrity = store.integrityCheck();
      if (integrity.join() !== 'ok') problems.push(...integrity.map((l) => `integrity: ${l}`));
      extensions = await store.count();
      where = `db ${dbPath}`;
    } finally {
      await store.close();
    }
  }
  for (const b of broken) process.stdout.write(`${b}: undecryptable\n`);
  for (const p of problems) process.stdout.write(`${p}\n`);
  process.stdout.write(`${where}: ${extensions} extension(s), ${broken.length} undecryptable credential set(s)${kind === 'sqlite' ? `, integrity ${problems.length === 0 ? 'ok' : 'FAILED'}` : ''}\n`);
  if (broken.length > 0 || problems.length > 0) {
    throw new FusemlError('VALIDATION', `${broken.length} undecryptable credential set(s)${problems.length > 0 ? ' and a failed integrity check' : ''}`, {
      hint: broken.length > 0 ? 'restore them from a backup with the right key, or send their values again (PUT …/credentials/ID with every value) or delete them' : undefined,
    });
  }
}

/** Re-encrypts every credential value of the SQLite database with a new key, in one transaction. */
export async function rotateKey(opts: RotateOptions): Promise<void> {
  if (storeKind(opts) === 'kubernetes') {
    throw new FusemlError('USAGE', 'rotate-key supports the SQLite store only', {
      hint: 'the Kubernetes store has no multi-object transaction; see docs/registry.md ("Key rotation") for the procedure',
    });
  }
  const { dbPath, keyFile } = await locate(opts);
  const { resolve } = await import('node:path');
  if (resolve(opts.newKeyFile) === resolve(keyFile)) throw new FusemlError('USAGE', `--new-key-file ${opts.newKeyFile} is the current key file`);
  const { loadOrCreateKey, keyFingerprint } = await import('../../registry/crypto.js');
  const store = await openSqlite(dbPath, keyFile);
  let generated = false;
  try {
    // The new key: read from the file, or generated into it when it does not exist yet.
    const next = await loadOrCreateKey({ keyFile: opts.newKeyFile, env: {} });
    generated = next.generated;
    process.stderr.write(`fuseml-registry: rotate-key (pid ${process.pid}): re-encrypting ${dbPath} to key ${keyFingerprint(next.key)}${generated ? ` (generated in ${opts.newKeyFile})` : ''}\n`);
    const r = store.rotateKey(next.key, (n) => process.stderr.write(`fuseml-registry: rotate-key: ${n} credential set(s) re-encrypted (not committed yet)\n`));
    generated = false;
    process.stdout.write(`re-encrypted ${r.credentials} credential set(s) in ${r.extensions} extension(s); the database now needs the key in ${opts.newKeyFile}\n`);
    process.stderr.write(`fuseml-registry: rotate-key: committed. Start the registry with --key-file ${opts.newKeyFile} (or put that key where the old one was); keep the old key only for old backups.\n`);
  } finally {
    await store.close();
    if (generated) (await import('node:fs')).rmSync(opts.newKeyFile, { force: true });
  }
}
