/**
 * Fault isolation, key safety and key rotation on real SQLite files and real `fuseml-registry` processes
 * (issue 10 items 5 and 7):
 * - one corrupted ciphertext: that set reads `status.state: undecryptable`, doctor lists it (exit 3), and
 *   everything else keeps working (writes, admin reveal of intact sets, resolve for other services);
 * - key-path problems are exit 2 with a message naming the path, never a generated key next to a database;
 * - rotate-key is one transaction: killed with SIGKILL midway, every record decrypts with the old key or every
 *   one with the new key, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, test } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { run, type ExecResult } from '../../src/exec/index.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';
import { REGISTRY_BIN, ROOT, randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fuseml-keys-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function registryCli(args: string[], env: Record<string, string | undefined> = {}): Promise<ExecResult> {
  return run(process.execPath, [REGISTRY_BIN, ...args], { cwd: ROOT, env: { FUSEML_REGISTRY_KEY: undefined, ...env }, allowFailure: true, timeoutMs: 120_000 });
}

function writeKey(file: string, key = randomBytes(32)): Buffer {
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
  return key;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: JSON bodies read by path
async function call(reg: RegistryProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${reg.adminToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${reg.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text };
}

const V = randomToken().slice(0, 8);
const EXT1: ExtensionRecord = {
  id: 'ext1',
  product: 'p1',
  services: [
    { id: 'svc-a', resource: 'r-a', endpoints: [{ url: 'http://a', type: 'internal' }], credentials: [{ id: 'c1', scope: 'global', configuration: { K: `c1-${V}` } }] },
    { id: 'svc-b', resource: 'r-b', endpoints: [{ url: 'http://b', type: 'internal' }], credentials: [{ id: 'c2', scope: 'global', configuration: { K: `c2-${V}` } }] },
  ],
};
const EXT2: ExtensionRecord = {
  id: 'ext2',
  product: 'p2',
  services: [{ id: 'svc', resource: 'r-2', endpoints: [{ url: 'http://two', type: 'internal' }], credentials: [{ id: 'c3', scope: 'project', projects: ['A'], configuration: { K: `c3-${V}` } }] }],
};

function resolveBody(resource: string): unknown {
  return { project: 'A', workflow: { name: 'w', steps: [{ name: 's', extensions: [{ name: 'x', service_resource: resource }] }] } };
}

/** The stored ciphertext of one credential set, read straight from the SQLite file. */
function sealedOf(db: string, ext: string, svc: string, cred: string): string {
  const d = new Database(db, { readonly: true });
  try {
    const doc = JSON.parse((d.prepare('SELECT doc FROM extensions WHERE id = ?').get(ext) as { doc: string }).doc);
    return doc.services.find((s: { id: string }) => s.id === svc).credentials.find((c: { id: string }) => c.id === cred).sealed.value;
  } finally {
    d.close();
  }
}

describe('a corrupted ciphertext harms nothing else', () => {
  test('reported on that set and by doctor; writes, reveal and resolve elsewhere keep working', async () => {
    const dir = tempDir();
    let reg = await startRegistry({ dir });
    expect((await call(reg, 'PUT', '/extensions/ext1/record', EXT1)).status).toBe(201);
    expect((await call(reg, 'PUT', '/extensions/ext2/record', EXT2)).status).toBe(201);
    await reg.stop();

    // Flip bytes in the middle of c1's ciphertext, in the real database file.
    const db = new Database(reg.dbPath);
    const row = db.prepare("SELECT doc FROM extensions WHERE id = 'ext1'").get() as { doc: string };
    const doc = JSON.parse(row.doc);
    const sealed: string = doc.services[0].credentials[0].sealed.value;
    const mid = Math.floor(sealed.length / 2);
    const corrupted = sealed.slice(0, mid) + (sealed[mid] === 'A' ? 'B' : 'A') + sealed.slice(mid + 1);
    doc.services[0].credentials[0].sealed.value = corrupted;
    db.prepare("UPDATE extensions SET doc = ? WHERE id = 'ext1'").run(JSON.stringify(doc));
    db.close();

    const doctor = await registryCli(['doctor', '--db', reg.dbPath, '--key-file', reg.keyFile]);
    expect(doctor.exitCode).toBe(3);
    expect(doctor.stdout).toContain('ext1/svc-a/c1: undecryptable');
    expect(doctor.stdout).toMatch(/2 extension\(s\), 1 undecryptable credential set\(s\), integrity ok/);

    reg = await startRegistry({ dir });
    try {
      // admin reveal: the broken set is marked, the intact one is in clear
      const ext = await call(reg, 'GET', '/extensions/ext1?reveal=true');
      expect(ext.status).toBe(200);
      expect(ext.json.services[0].credentials[0]).toMatchObject({ id: 'c1', configuration: { K: '<hidden>' }, status: { state: 'undecryptable' } });
      expect(ext.json.services[1].credentials[0]).toMatchObject({ id: 'c2', configuration: { K: `c2-${V}` } });
      expect((await call(reg, 'GET', '/extensions/ext1/services/svc-b/credentials/c2?reveal=true')).json.configuration.K).toBe(`c2-${V}`);
      expect((await call(reg, 'GET', '/extensions?reveal=true')).status).toBe(200);
      // writes that do not touch it succeed, and leave its ciphertext as it was
      expect((await call(reg, 'PUT', '/extensions/ext1', { description: 'still writable' })).status).toBe(200);
      expect((await call(reg, 'POST', '/extensions/ext1/services', { id: 'svc-new' })).status).toBe(201);
      expect((await call(reg, 'PUT', '/extensions/ext1/services/svc-b/credentials/c2', { configuration: { K: `c2b-${V}` } })).status).toBe(200);
      const masked = (await call(reg, 'GET', '/extensions/ext1')).json;
      masked.zone = 'z';
      expect((await call(reg, 'PUT', '/extensions/ext1/record', masked)).status).toBe(200);
      expect(sealedOf(reg.dbPath, 'ext1', 'svc-a', 'c1')).toBe(corrupted);
      // resolve for other services works; the one that needs c1 fails naming it
      const other = await call(reg, 'POST', '/workflows/resolve', resolveBody('r-2'));
      expect(other.status).toBe(200);
      expect(other.text).toContain(`c3-${V}`);
      expect((await call(reg, 'POST', '/workflows/resolve', resolveBody('r-b'))).text).toContain(`c2b-${V}`);
      const broken = await call(reg, 'POST', '/workflows/resolve', resolveBody('r-a'));
      expect(broken.status).toBe(422);
      expect(broken.json.error.message).toMatch(/ext1\/svc-a: the stored values of credentials c1 cannot be decrypted/);
      // sending new values repairs it
      expect((await call(reg, 'PUT', '/extensions/ext1/services/svc-a/credentials/c1', { configuration: { K: `c1-new-${V}` } })).status).toBe(200);
      expect((await call(reg, 'POST', '/workflows/resolve', resolveBody('r-a'))).text).toContain(`c1-new-${V}`);
    } finally {
      await reg.cleanup();
    }
    const healthy = await registryCli(['doctor', '--db', reg.dbPath, '--key-file', reg.keyFile]);
    expect(healthy.exitCode).toBe(0);
    expect(healthy.stdout).toMatch(/0 undecryptable credential set\(s\), integrity ok/);
  }, 90_000);
});

describe('key safety', () => {
  async function serve(dir: string, keyFile: string): Promise<ExecResult> {
    return registryCli(['serve', '--port', '0', '--db', join(dir, 'registry.db'), '--key-file', keyFile]);
  }

  test('a missing key file next to an existing database: exit 2 naming both, and no key file is created', async () => {
    const dir = tempDir();
    const reg = await startRegistry({ dir });
    await reg.cleanup();
    rmSync(reg.keyFile);
    const r = await serve(dir, reg.keyFile);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`the key file ${reg.keyFile} does not exist, but the database ${reg.dbPath} does`);
    expect(existsSync(reg.keyFile)).toBe(false);
    const d = await registryCli(['doctor', '--db', reg.dbPath, '--key-file', reg.keyFile]);
    expect(d.exitCode).toBe(2);
    expect(existsSync(reg.keyFile)).toBe(false);
  }, 60_000);

  test('a directory, a group-readable file, a wrong length, a path through a file, a wrong key: exit 2 with the reason', async () => {
    const dir = tempDir();
    const reg = await startRegistry({ dir });
    await reg.cleanup();
    const asDir = join(dir, 'key-dir');
    mkdirSync(asDir);
    let r = await serve(dir, asDir);
    expect([r.exitCode, r.stderr]).toEqual([2, expect.stringContaining(`key file ${asDir} is a directory`)]);
    const open = join(dir, 'open.key');
    writeKey(open);
    const { chmodSync } = await import('node:fs');
    chmodSync(open, 0o644);
    r = await serve(dir, open);
    expect([r.exitCode, r.stderr]).toEqual([2, expect.stringContaining('is readable by group or others')]);
    const short = join(dir, 'short.key');
    writeFileSync(short, randomBytes(16).toString('base64'), { mode: 0o600 });
    r = await serve(dir, short);
    expect([r.exitCode, r.stderr]).toEqual([2, expect.stringContaining('not a 256-bit key')]);
    const through = join(short, 'key');
    r = await serve(dir, through);
    expect([r.exitCode, r.stderr]).toEqual([2, expect.stringContaining(`key file ${through} is not reachable (a part of its path is not a directory)`)]);
    const wrong = join(dir, 'wrong.key');
    writeKey(wrong);
    r = await serve(dir, wrong);
    expect([r.exitCode, r.stderr]).toEqual([2, expect.stringContaining('does not match the registry database')]);
    expect(r.stderr).not.toMatch(/internal error/);
  }, 60_000);
});

describe('rotate-key', () => {
  test('re-encrypts everything; the old key is then refused with a note, the new one reads every value', async () => {
    const dir = tempDir();
    let reg = await startRegistry({ dir });
    expect((await call(reg, 'PUT', '/extensions/ext1/record', EXT1)).status).toBe(201);
    await reg.cleanup();
    const newKey = join(dir, 'new.key');
    const r = await registryCli(['rotate-key', '--db', reg.dbPath, '--key-file', reg.keyFile, '--new-key-file', newKey]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('re-encrypted 2 credential set(s) in 1 extension(s)');
    expect(existsSync(newKey)).toBe(true);
    const old = await registryCli(['serve', '--port', '0', '--db', reg.dbPath, '--key-file', reg.keyFile]);
    expect(old.exitCode).toBe(2);
    expect(old.stderr).toMatch(/re-encrypted by rotate-key .*use the new key/);
    reg = await startRegistry({ dir, args: ['--key-file', newKey] });
    try {
      expect((await call(reg, 'GET', '/extensions/ext1?reveal=true')).text).toContain(`c1-${V}`);
    } finally {
      await reg.cleanup();
    }
    const k8s = await registryCli(['rotate-key', '--store', 'kubernetes', '--new-key-file', join(dir, 'x.key')]);
    expect(k8s.exitCode).toBe(2);
    expect(k8s.stderr).toContain('rotate-key supports the SQLite store only');
  }, 60_000);

  test('killed with SIGKILL midway: every record under the old key or every one under the new, never a mix', async () => {
    const dir = tempDir();
    const template = join(dir, 'template.db');
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const store = new SqliteStore({ path: template, key: oldKey });
    const EXTENSIONS = 600;
    const PER = 10;
    for (let i = 0; i < EXTENSIONS; i++) {
      await store.put(
        {
          id: `e${i}`,
          revision: 1,
          services: [{ id: 's', credentials: Array.from({ length: PER }, (_, j) => ({ id: `c${j}`, scope: 'global' as const, configuration: { K: `v-${i}-${j}`, L: 'x'.repeat(200) } })) }],
        },
        null,
      );
    }
    await store.close();
    const total = EXTENSIONS * PER;

    /** Kills rotate-key at its n-th progress line (every 100 sets, inside the transaction); undefined: never. */
    async function trial(killAt: number | undefined): Promise<'old' | 'new'> {
      const t = mkdtempSync(join(dir, 'trial-'));
      const db = join(t, 'registry.db');
      copyFileSync(template, db);
      const oldFile = join(t, 'old.key');
      const newFile = join(t, 'new.key');
      writeKey(oldFile, oldKey);
      writeKey(newFile, newKey);
      let pid = 0;
      let seen = 0;
      const r = await run(process.execPath, [REGISTRY_BIN, 'rotate-key', '--db', db, '--key-file', oldFile, '--new-key-file', newFile], {
        cwd: ROOT,
        env: { FUSEML_REGISTRY_KEY: undefined },
        allowFailure: true,
        timeoutMs: 120_000,
        onLine: (line, stream) => {
          if (stream !== 'stderr') return;
          const m = /rotate-key \(pid (\d+)\)/.exec(line);
          if (m) pid = Number(m[1]);
          if (/credential set\(s\) re-encrypted \(not committed yet\)/.test(line) && ++seen === killAt) process.kill(pid, 'SIGKILL');
        },
      });
      if (killAt !== undefined && seen >= killAt) {
        // killed: no exit code 0, no final report
        expect(r.exitCode).not.toBe(0);
        expect(r.stdout).not.toContain('re-encrypted');
      }
      // Which key opens it, and does every value decrypt with it?
      const outcomes: ('old' | 'new')[] = [];
      for (const [name, key] of [['old', oldKey], ['new', newKey]] as const) {
        let s: SqliteStore;
        try {
          s = new SqliteStore({ path: db, key });
        } catch (err) {
          expect((err as Error).message).toMatch(/does not match/);
          continue;
        }
        try {
          expect(s.undecryptable()).toEqual([]);
          const all = await s.list({}, { reveal: true });
          const values = all.flatMap((e) => e.services![0]!.credentials!.map((c) => c.configuration!.K));
          expect(values.length).toBe(total);
          const want = new Set(Array.from({ length: total }, (_, k) => `v-${Math.floor(k / PER)}-${k % PER}`));
          expect(values.filter((v) => !want.delete(v as string))).toEqual([]);
          expect(want.size).toBe(0);
          expect(s.integrityCheck()).toEqual(['ok']);
          outcomes.push(name);
        } finally {
          await s.close();
        }
      }
      expect(outcomes).toHaveLength(1);
      return outcomes[0]!;
    }

    // Killed at the first progress line: certainly inside the transaction → still entirely under the old key.
    expect(await trial(1)).toBe('old');
    expect(await trial(20)).toBe('old');
    // Later kills may land before or after the commit; either way, one key for everything.
    for (const at of [40, 55, 59]) expect(['old', 'new']).toContain(await trial(at));
    // Not killed: everything under the new key.
    expect(await trial(undefined)).toBe('new');
  }, 300_000);
});
