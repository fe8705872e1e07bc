import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configDir, stateDir } from '../../src/core/xdg.js';
import { Journal, journalDir, journalKeyFile } from '../../src/installer/journal.js';
import { readFile } from 'node:fs/promises';
import { RegistrySink } from '../../src/installer/registry-sink.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuseml-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('journal', () => {
  it('keeps the latest operation per registry and id, in 0600 files of a 0700 folder', async () => {
    const j = new Journal(join(dir, 'journal'), join(dir, 'config', 'journal.key'));
    await j.put({ op: 'upsert', registryUrl: 'http://a:1/', id: 'x', record: { id: 'x' } });
    await j.put({ op: 'delete', registryUrl: 'http://a:1', id: 'x' });
    await j.put({ op: 'upsert', registryUrl: 'http://b:2', id: 'x', record: { id: 'x' } });
    expect((await j.list('http://a:1')).map((e) => [e.entry.op, e.entry.id])).toEqual([['delete', 'x']]);
    expect((await j.list()).length).toBe(2);
    expect(((await stat(j.dir)).mode & 0o777).toString(8)).toBe('700');
    for (const f of await readdir(j.dir)) expect(((await stat(join(j.dir, f))).mode & 0o777).toString(8)).toBe('600');
    await writeFile(join(j.dir, 'garbage.json'), '{not json');
    expect((await j.list()).length).toBe(2);
    await j.remove('http://a:1', 'x');
    expect((await j.list('http://a:1')).length).toBe(0);
    expect(await new Journal(join(dir, 'missing'), join(dir, 'config', 'journal.key')).list()).toEqual([]);
  });

  it('lives under FUSEML_STATE_DIR, else XDG_STATE_HOME/fuseml, else ~/.local/state/fuseml', () => {
    expect(journalDir({ FUSEML_STATE_DIR: '/s' })).toBe('/s/journal');
    expect(stateDir({ XDG_STATE_HOME: '/x' })).toBe('/x/fuseml');
    expect(stateDir({ XDG_STATE_HOME: 'relative' })).toMatch(/\.local\/state\/fuseml$/);
  });
});

describe('registry sink', () => {
  it('a deregistration of a record the registry does not have is delivered; other failures are journaled', async () => {
    const missing = Object.assign(new Error('404'), { status: 404 });
    let fail: Error | undefined = missing;
    const sink = new RegistrySink('http://r:1', async () => ({ upsertExtension: async () => { if (fail) throw fail; }, deleteExtension: async () => { if (fail) throw fail; } }), new Journal(join(dir, 'j'), join(dir, 'config', 'journal.key')));
    expect(await sink.remove('x', 'ext')).toEqual({ state: 'delivered' });
    fail = new Error('boom');
    const d = await sink.upsert({ id: 'y' }, 'ext');
    expect(d.state).toBe('journaled');
    expect(d.state === 'journaled' && d.error.code).toBe('REGISTRY');
    expect((await sink.pending()).map((e) => [e.op, e.id, e.attempts])).toEqual([['upsert', 'y', 1]]);
    await sink.upsert({ id: 'y' }, 'ext');
    expect((await sink.pending())[0]?.attempts).toBe(2);
    fail = undefined;
    expect((await sink.sync()).delivered.map((e) => e.id)).toEqual(['y']);
    expect(await sink.pending()).toEqual([]);
  });
});

describe('journal encryption', () => {
  const SECRET = `planted-${Math.random().toString(36).slice(2)}`;
  const rec = { id: 'x', services: [{ id: 's', credentials: [{ id: 'c', configuration: { PASSWORD: SECRET } }] }] } as never;

  it('never writes a credential value in clear; the key lives in the config folder, 0600; the record reads back', async () => {
    const j = new Journal(join(dir, 'state', 'journal'), join(dir, 'config', 'journal.key'));
    await j.put({ op: 'upsert', registryUrl: 'http://r:1', id: 'x', record: rec });
    for (const f of await readdir(j.dir)) {
      const text = await readFile(join(j.dir, f), 'utf8');
      expect(text).not.toContain(SECRET);
      expect(text).toContain('"sealed": "v1:');
    }
    expect(((await stat(join(dir, 'config', 'journal.key'))).mode & 0o777).toString(8)).toBe('600');
    expect((await j.list('http://r:1'))[0]?.entry.record).toEqual(rec);
  });

  it('another key: the entry is reported undecryptable by sync, and kept', async () => {
    await new Journal(join(dir, 'j'), join(dir, 'k1')).put({ op: 'upsert', registryUrl: 'http://r:1', id: 'x', record: rec });
    const sink = new RegistrySink('http://r:1', async () => ({ upsertExtension: async () => undefined, deleteExtension: async () => undefined }), new Journal(join(dir, 'j'), join(dir, 'k2')));
    const r = await sink.sync();
    expect(r.delivered).toEqual([]);
    expect(r.failed[0]?.error.message).toMatch(/journaled registration of x cannot be decrypted/);
    expect((await readdir(join(dir, 'j'))).length).toBe(1);
  });

  it('the key file is under FUSEML_CONFIG_DIR, else XDG_CONFIG_HOME/fuseml, else ~/.config/fuseml', () => {
    expect(journalKeyFile({ FUSEML_CONFIG_DIR: '/c' })).toBe('/c/journal.key');
    expect(configDir({ XDG_CONFIG_HOME: '/x' })).toBe('/x/fuseml');
    expect(configDir({})).toMatch(/\.config\/fuseml$/);
  });
});
