/**
 * Extension sources: reading -e words, repository layers and their precedence, safe unpacking
 * (path traversal, links out, limits), and the validate warnings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FusemlError } from '../../src/core/errors.js';
import { checkExtensionDir } from '../../src/descriptor/load.js';
import { descriptorNearMisses, extensionWarnings, nearMisses } from '../../src/descriptor/lint.js';
import { DEFAULT_REPOSITORY, loadLayers } from '../../src/descriptor/repository.js';
import { parseSource, redactUrl, repositoryLayers } from '../../src/descriptor/sources.js';
import { cacheDir, fetchSource } from '../../src/installer/sources.js';
import { safeEntryPath, unpackTar } from '../../src/installer/unpack.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fuseml-sources-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** One tar entry: a ustar header (512 bytes) and its body padded to 512. */
function entry(name: string, body: string | Buffer = '', opts: { type?: string; link?: string; mode?: number } = {}): Buffer {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0);
  h.write((opts.mode ?? 0o644).toString(8).padStart(7, '0') + '\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(opts.type ?? '0', 156);
  if (opts.link) h.write(opts.link, 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  const sum = h.reduce((a, b) => a + b, 0);
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}
const tar = (...entries: Buffer[]): Buffer => Buffer.concat([...entries, Buffer.alloc(1024)]);
const pax = (records: Record<string, string>): Buffer => {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 2;
      if (String(len).length + rest.length !== len) len = String(len + 1).length + rest.length;
      return `${len}${rest}`;
    })
    .join('');
  return entry('PaxHeader', body, { type: 'x' });
};

describe('-e words', () => {
  it('names, folders, git and archive URLs', () => {
    expect(parseSource('mlflow')).toEqual({ kind: 'name', name: 'mlflow' });
    expect(parseSource('./ext')).toEqual({ kind: 'dir', path: resolve('ext') });
    expect(parseSource('.hidden')).toEqual({ kind: 'dir', path: resolve('.hidden') });
    expect(parseSource('/abs/ext')).toEqual({ kind: 'dir', path: '/abs/ext' });
    expect(parseSource('exts/one')).toEqual({ kind: 'dir', path: resolve('exts/one') });
    expect(parseSource('git+https://git.example.com/org/exts.git#v1.2.0:extensions/tracker')).toEqual({
      kind: 'git', url: 'https://git.example.com/org/exts.git', ref: 'v1.2.0', subdir: 'extensions/tracker',
    });
    expect(parseSource('git+file:///srv/ext.git#release/1.x')).toEqual({ kind: 'git', url: 'file:///srv/ext.git', ref: 'release/1.x', subdir: undefined });
    expect(parseSource('git+ssh://git@example.com/x.git').kind).toBe('git'); // user name only, no password: fine for ssh
    expect(parseSource('git+https://example.com/x.git')).toMatchObject({ ref: 'HEAD' });
    expect(parseSource('https://dl.example.com/ext-1.0.tgz')).toEqual({ kind: 'archive', url: 'https://dl.example.com/ext-1.0.tgz', subdir: undefined });
    expect(parseSource('http://127.0.0.1:8080/a/ext.tar.gz#ext')).toEqual({ kind: 'archive', url: 'http://127.0.0.1:8080/a/ext.tar.gz', subdir: 'ext' });
  });

  it('refuses credentials, option-like refs, escaping sub-folders and other URLs, naming the word', () => {
    const err = (w: string): FusemlError => {
      try {
        parseSource(w);
      } catch (e) {
        return e as FusemlError;
      }
      throw new Error(`accepted ${w}`);
    };
    const cred = err('git+https://user:s3cret@example.com/x.git#v1');
    expect(cred.code).toBe('USAGE');
    expect(cred.message).toContain('credentials in the URL are refused');
    expect(cred.message).not.toContain('s3cret');
    expect(err('https://u:p@example.com/x.tgz').message).not.toContain('u:p');
    expect(err('git+https://example.com/x.git#--upload-pack=evil').message).toContain('is not a git tag, branch or commit');
    expect(err('git+https://example.com/x.git#a..b').code).toBe('USAGE');
    expect(err('git+https://example.com/x.git#v1:../up').message).toContain('must be a folder inside');
    expect(err('git+ftp://example.com/x.git').message).toContain('git+https://, git+ssh:// or git+file://');
    expect(err('https://example.com/x.zip').message).toContain('a URL source is an archive');
    expect(err('oci://example.com/chart').code).toBe('USAGE');
    expect(redactUrl('https://a:b@h/x')).toBe('https://***@h/x');
  });

  it('repository layers: shipped, then FUSEML_EXTENSIONS_PATH, then --extensions-repository', () => {
    expect(repositoryLayers(undefined, {}).map((l) => l.dir)).toEqual([DEFAULT_REPOSITORY]);
    expect(repositoryLayers(['/f1', '/f2'], { FUSEML_EXTENSIONS_PATH: '/e1::/e2' }).map((l) => l.dir)).toEqual([DEFAULT_REPOSITORY, '/e1', '/e2', '/f1', '/f2']);
    expect(repositoryLayers('/one', {}).map((l) => l.dir)).toEqual([DEFAULT_REPOSITORY, '/one']);
  });

  it('the cache folder: FUSEML_CACHE_DIR, else XDG_CACHE_HOME/fuseml', () => {
    expect(cacheDir({ FUSEML_CACHE_DIR: '/c' })).toBe('/c');
    expect(cacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/fuseml');
    expect(cacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\.cache\/fuseml$/);
  });
});

async function writeExt(dir: string, name: string, extra = ''): Promise<string> {
  await mkdir(join(dir, 'manifests'), { recursive: true });
  await writeFile(join(dir, 'manifests', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n');
  await writeFile(join(dir, 'extension.yaml'), `name: ${name}\nproduct: ${name}\nversion: "1.0.0"\n${extra}install:\n  - type: manifest\n    location: manifests\n`);
  return dir;
}

describe('repository layers', () => {
  it('a later layer wins by name, with a notice naming both folders; requires resolve across layers', async () => {
    const a = join(tmp, 'layers/a');
    const b = join(tmp, 'layers/b');
    await writeExt(join(a, 'tracker'), 'tracker');
    await writeExt(join(a, 'base'), 'base');
    await writeExt(join(b, 'tracker2'), 'tracker', 'requires: [base]\n');
    const repo = await loadLayers([{ dir: a }, { dir: b }]);
    expect(repo.issues).toEqual([]);
    expect([...repo.extensions.keys()]).toEqual(['base', 'tracker']);
    expect(repo.get('tracker')?.dir).toBe(join(b, 'tracker2'));
    expect(repo.notices).toEqual([`extension "tracker" from ${join(b, 'tracker2')} replaces the one from ${join(a, 'tracker')}`]);
    expect(repo.dir).toBe(`${a}, ${b}`);
  });

  it('the same name twice in one layer is still a problem; a single folder layer carries its source', async () => {
    const c = join(tmp, 'layers/c');
    await writeExt(join(c, 'one'), 'same');
    await writeExt(join(c, 'two'), 'same');
    const repo = await loadLayers([{ dir: c }]);
    expect(repo.issues.map((i) => i.message)).toEqual([`extension name "same" is also used by ${join(c, 'one/extension.yaml')}`]);
    const single = await loadLayers([{ dir: join(tmp, 'layers/a') }, { dir: join(c, 'two'), single: true, source: { kind: 'dir', path: join(c, 'two') } }]);
    expect(single.get('same')?.source).toEqual({ kind: 'dir', path: join(c, 'two') });
  });

  it('-e ./dir: a folder without a descriptor, or missing, is refused', async () => {
    await expect(fetchSource({ kind: 'dir', path: join(tmp, 'nope') })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no such file or directory') as string });
    await mkdir(join(tmp, 'empty'), { recursive: true });
    await expect(fetchSource({ kind: 'dir', path: join(tmp, 'empty') })).rejects.toMatchObject({ message: expect.stringContaining('not an extension folder') as string });
    const ok = await writeExt(join(tmp, 'okext'), 'okext');
    expect(await fetchSource({ kind: 'dir', path: ok })).toEqual({ dir: ok, single: true, source: { kind: 'dir', path: ok } });
  });
});

describe('safe unpacking', () => {
  it('unpacks files and folders, keeps the executable bit, reads pax paths', async () => {
    const dest = join(tmp, 'u1');
    const long = `${'d'.repeat(60)}/${'f'.repeat(60)}.yaml`;
    const r = await unpackTar(gzipSync(tar(entry('ext/', '', { type: '5' }), entry('ext/run.sh', '#!/bin/sh\n', { mode: 0o755 }), entry('ext/a.yaml', 'a: 1\n'), pax({ path: `ext/${long}` }), entry('short', 'x'))), dest, 'test.tgz');
    expect(r).toEqual({ files: 3, bytes: 10 + 5 + 1, skipped: [] });
    expect(await readFile(join(dest, 'ext/a.yaml'), 'utf8')).toBe('a: 1\n');
    expect((await stat(join(dest, 'ext/run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, 'ext/a.yaml'))).mode & 0o111).toBe(0);
    expect(await readFile(join(dest, 'ext', long), 'utf8')).toBe('x');
  });

  it('refuses path traversal and absolute paths before writing anything outside', async () => {
    for (const name of ['../evil', 'ext/../../evil', '/tmp/evil', 'C:/evil', 'a\\..\\evil']) {
      await expect(unpackTar(gzipSync(tar(entry(name, 'x'))), join(tmp, 'u2'), 'bad.tgz')).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringContaining('bad.tgz: entry') as string });
    }
    // also through a pax header
    await expect(unpackTar(gzipSync(tar(pax({ path: '../../evil' }), entry('harmless', 'x'))), join(tmp, 'u3'), 'pax.tgz')).rejects.toThrow(/leads outside the archive/);
    await expect(stat(join(tmp, 'evil'))).rejects.toThrow();
    expect(safeEntryPath('./a//b/./c', 'x')).toBe('a/b/c');
    expect(safeEntryPath('./', 'x')).toBeUndefined();
  });

  it('links that could lead out are left out (absolute, ..), links that descend are kept, hard links and devices skipped', async () => {
    const dest = join(tmp, 'u4');
    const r = await unpackTar(
      gzipSync(tar(
        entry('sub/file', 'in'),
        entry('up', '', { type: '2', link: '../../../etc' }),
        entry('abs', '', { type: '2', link: '/etc/passwd' }),
        entry('dotdot', '', { type: '2', link: 'sub/../..' }),
        entry('down', '', { type: '2', link: 'sub/file' }),
        entry('hard', '', { type: '1', link: 'sub/file' }),
        entry('fifo', '', { type: '6' }),
      )),
      dest,
      'links.tgz',
    );
    expect(r.skipped).toEqual([
      'up: a link to "../../../etc" could lead outside the extension',
      'abs: a link to "/etc/passwd" could lead outside the extension',
      'dotdot: a link to "sub/../.." could lead outside the extension',
      'hard: hard links are not unpacked',
      'fifo: not a file, folder or link (tar type "6")',
    ]);
    expect(await readlink(join(dest, 'down'))).toBe('sub/file');
    for (const n of ['up', 'abs', 'dotdot', 'hard', 'fifo']) await expect(lstat(join(dest, n))).rejects.toThrow();
  });

  it('limits: total size, entry count, not gzip, bad checksum', async () => {
    const big = gzipSync(tar(entry('a', Buffer.alloc(4096)), entry('b', Buffer.alloc(4096))));
    await expect(unpackTar(big, join(tmp, 'u5'), 'big.tgz', { limits: { maxBytes: 6000 } })).rejects.toThrow(/big.tgz: unpacks to more than 6000 bytes/);
    const many = gzipSync(tar(...Array.from({ length: 5 }, (_, i) => entry(`f${i}`, 'x'))));
    await expect(unpackTar(many, join(tmp, 'u6'), 'many.tgz', { limits: { maxEntries: 4 } })).rejects.toThrow(/more than 4 entries/);
    await expect(unpackTar(Buffer.from('plain text'), join(tmp, 'u7'), 'x.tgz')).rejects.toThrow(/not a gzip file/);
    const broken = tar(entry('a', 'x'));
    broken[0] = 'z'.charCodeAt(0);
    await expect(unpackTar(broken, join(tmp, 'u8'), 'x.tar', { gzip: false })).rejects.toThrow(/checksum mismatch/);
  });
});

describe('validate warnings', () => {
  it('near-miss file names', async () => {
    expect(nearMisses('registration.yaml', ['registration.yml', 'Registration.yaml', 'registraton.yaml', 'registration.yaml', 'values.yaml'])).toEqual(['registration.yml', 'Registration.yaml', 'registraton.yaml']);
    const dir = join(tmp, 'near');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'extension.yml'), 'name: x\n');
    expect((await descriptorNearMisses(dir)).map((i) => i.message)).toEqual(['"extension.yml" is not read: the descriptor must be named extension.yaml (this folder is not an extension until it is renamed)']);
  });

  it('a misnamed registration.yml, unused and never-valued parameters, an unpinned chart', async () => {
    const dir = join(tmp, 'lint');
    await mkdir(join(dir, 'manifests'), { recursive: true });
    await writeFile(join(dir, 'manifests', 'cm.yaml'), 'kind: ConfigMap\ndata: { host: "{{ params.host }}", port: "{{ params.port }}" }\n');
    await writeFile(join(dir, 'registration.yml'), 'services: []\n');
    await writeFile(
      join(dir, 'extension.yaml'),
      [
        'name: lint', 'product: lint', 'version: "1"',
        'parameters:',
        '  host: { type: string }',
        '  port: { type: integer, default: 80 }',
        '  token: { type: string, required: true }',
        '  unused: { type: string, default: x }',
        'install:',
        '  - type: manifest',
        '    location: manifests',
        '  - type: helm',
        '    repo: https://charts.example.com',
        '    chart: thing',
        '',
      ].join('\n'),
    );
    const r = await checkExtensionDir(dir);
    expect(r.issues).toEqual([]);
    const w = await extensionWarnings(r.extension!);
    expect(w.map((i) => `${i.file === r.extension!.file ? '' : i.file.slice(dir.length + 1) + ' '}${i.pointer} ${i.message}`)).toEqual([
      'registration.yml  "registration.yml" is not read, so lint registers nothing: the registration manifest is registration.yaml (rename it, or set "registration: registration.yml" in extension.yaml)',
      '/parameters/host parameter "host" has no default and is not required: an install without --set lint.host=VALUE fails at plan time ("has no value"); add a default or "required: true"',
      '/parameters/token parameter "token" is used by no template (nor is there a script step to read it from the environment)',
      '/parameters/unused parameter "unused" is used by no template (nor is there a script step to read it from the environment)',
      '/install/1 chart "thing" from https://charts.example.com has no version: each install may get a different chart (pin it with "version:")',
    ]);
    expect(w[1]?.line).toBe(5);
  });

  it('an unknown field suggests the nearest allowed one, also nested', async () => {
    const dir = join(tmp, 'typo');
    await mkdir(join(dir, 'manifests'), { recursive: true });
    await writeFile(join(dir, 'manifests', 'cm.yaml'), 'kind: ConfigMap\n');
    await writeFile(join(dir, 'extension.yaml'), 'name: typo\nproduct: typo\nversoin: "1"\nversion: "1"\ninstall:\n  - type: helm\n    repo: https://c.example.com\n    chart: c\n    vesrion: 1.0.0\n');
    const r = await checkExtensionDir(dir);
    expect(r.issues.map((i) => `${i.pointer} ${i.message}`)).toEqual(expect.arrayContaining([
      ' unknown field "versoin" (did you mean "version"?)',
    ]));
    expect(r.issues.some((i) => /unknown field "vesrion" \(did you mean "version"\?\)/.test(i.message))).toBe(true);
  });
});
