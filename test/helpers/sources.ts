/**
 * Real extension sources for tests: a bare git repository with an extension pushed at a tag (the
 * git binary), a .tgz made by the tar binary, and a loopback HTTP server serving files.
 */
import { createServer, type Server } from 'node:http';
import { cp, mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { run } from '../../src/exec/index.js';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
  GIT_COMMITTER_NAME: 'fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

const git = (args: string[], cwd?: string) => run('git', args, { cwd, env: GIT_ENV, timeoutMs: 60_000 });

export interface GitFixture {
  bare: string;
  /** `git+file://…bare.git` */
  url: string;
  /** Commit ids by tag. */
  commits: Record<string, string>;
  /** Pushes the working copy with `change` applied, tagged `tag`; returns the commit. */
  push(tag: string, change?: (work: string) => Promise<void>): Promise<string>;
}

/** `git init --bare` in `root`, then the extension folder `ext` copied to `subdir` (or the top) and pushed at `tag`. */
export async function gitFixture(root: string, ext: string, tag: string, subdir = ''): Promise<GitFixture> {
  const bare = join(root, 'ext.git');
  const work = join(root, 'work');
  await git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  await git(['init', '--quiet', '--initial-branch=main', work]);
  await cp(ext, join(work, subdir), { recursive: true });
  const commits: Record<string, string> = {};
  const push = async (t: string, change?: (w: string) => Promise<void>): Promise<string> => {
    if (change) await change(work);
    await git(['add', '-A'], work);
    await git(['commit', '--quiet', '--allow-empty', '-m', t], work);
    await git(['tag', t], work);
    await git(['push', '--quiet', '--tags', bare, 'main'], work);
    const c = (await git(['rev-parse', 'HEAD'], work)).stdout.trim();
    commits[t] = c;
    return c;
  };
  await push(tag);
  return { bare, url: `git+file://${bare}`, commits, push };
}

/** `tar czf out -C parent name`: the folder `dir` under its own name. */
export async function tgz(dir: string, out: string): Promise<Buffer> {
  await mkdir(dirname(out), { recursive: true });
  await run('tar', ['czf', out, '-C', dirname(dir), basename(dir)], { timeoutMs: 60_000 });
  return readFile(out);
}

export interface FileServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** A loopback HTTP server answering GET path → bytes (404 otherwise). */
export async function serveFiles(files: Record<string, Buffer>): Promise<FileServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
