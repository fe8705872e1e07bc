/**
 * The image definition, without a container engine (there is none here): the Dockerfile passes hadolint
 * (scripts/hadolint.sh, hadolint from its PyPI wheel), every file it copies from the build context exists and
 * passes .dockerignore, its entrypoint is the package's fuseml-registry bin, and the runtime stage's file set —
 * assembled from what its COPY lines name — starts the registry and satisfies the HEALTHCHECK command.
 */
import { mkdir, mkdtemp, readFile, rm, stat, symlink, cp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import semver from 'semver';
import { run } from '../../src/exec/index.js';
import { ROOT, startServing } from '../helpers/registry.js';

interface Instruction {
  op: string;
  args: string;
  stage: string;
}

/** Instructions of a Dockerfile (continuation lines joined, comments dropped), each with its stage name. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = '';
  const joined = text.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = (m[1] as string).toUpperCase();
    const args = (m[2] as string).trim();
    if (op === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? '';
    out.push({ op, args, stage });
  }
  return out;
}

/** COPY sources and destination; `from` is the --from stage, if any. */
function copyOf(i: Instruction): { from?: string; sources: string[]; dest: string } {
  const words = i.args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const rest = words.filter((w) => !w.startsWith('--'));
  return { from, sources: rest.slice(0, -1), dest: rest[rest.length - 1] as string };
}

/** .dockerignore as this project writes it: `*`, then `!path` re-includes a file or a whole folder. */
function allowedByDockerignore(ignore: string, path: string): boolean {
  const lines = ignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  expect(lines[0], '.dockerignore starts by excluding everything').toBe('*');
  const p = normalize(path).replace(/\/$/, '');
  return lines.slice(1).some((l) => {
    expect(l.startsWith('!'), `.dockerignore line ${l}: only re-includes after *`).toBe(true);
    const allowed = normalize(l.slice(1)).replace(/\/$/, '');
    return p === allowed || p.startsWith(`${allowed}/`);
  });
}

let dockerfile: Instruction[];
let dir: string;

beforeAll(async () => {
  dockerfile = parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
  dir = await mkdtemp(join(tmpdir(), 'fuseml-dockerfile-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  it('passes hadolint (and hadolint does report a bad Dockerfile)', async () => {
    const ok = await run('bash', [join(ROOT, 'scripts/hadolint.sh'), join(ROOT, 'Dockerfile')], { allowFailure: true, timeoutMs: 5 * 60_000 });
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toBe('');
    const bad = join(dir, 'Dockerfile.bad');
    await (await import('node:fs/promises')).writeFile(bad, 'FROM node\nUSER root\nRUN cd /app && apt-get install curl\n');
    const r = await run('bash', [join(ROOT, 'scripts/hadolint.sh'), bad], { allowFailure: true, timeoutMs: 5 * 60_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/DL3006/); // untagged base image
    expect(r.stdout).toMatch(/DL3003/); // cd instead of WORKDIR
  }, 6 * 60_000);

  it('copies from the build context only files that exist and that .dockerignore lets through', async () => {
    const ignore = await readFile(join(ROOT, '.dockerignore'), 'utf8');
    const copies = dockerfile.filter((i) => i.op === 'COPY' || i.op === 'ADD').map(copyOf).filter((c) => c.from === undefined);
    expect(copies.length).toBeGreaterThan(3);
    for (const c of copies) {
      for (const src of c.sources) {
        expect(existsSync(join(ROOT, src)), `COPY ${src}: missing in the repository`).toBe(true);
        expect(allowedByDockerignore(ignore, src), `COPY ${src}: excluded by .dockerignore`).toBe(true);
      }
    }
    expect(dockerfile.filter((i) => i.op === 'ADD')).toEqual([]); // COPY only: no remote fetches
  });

  it('builds in one stage and runs as a non-root user in a slim node 20 runtime stage, entrypoint fuseml-registry', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
    const froms = dockerfile.filter((i) => i.op === 'FROM');
    expect(froms.map((f) => f.stage)).toEqual(['deps', 'build', 'runtime']);
    const arg = dockerfile.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(arg?.args).toBe('NODE_IMAGE=node:20-slim');
    expect(semver.major(semver.minVersion(pkg.engines.node) ?? '0.0.0')).toBe(20);
    const runtime = dockerfile.filter((i) => i.stage === 'runtime');
    expect(dockerfile.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n')).toMatch(/npm ci --omit=dev/);
    expect(runtime.filter((i) => i.op === 'RUN')).toEqual([]); // nothing built or installed in the runtime stage
    const user = runtime.find((i) => i.op === 'USER')?.args ?? '';
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/); // numeric: Kubernetes can check runAsNonRoot
    const entry = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]') as string[];
    const workdir = runtime.find((i) => i.op === 'WORKDIR')?.args as string;
    expect(entry[0]).toBe('node');
    expect(entry[1]).toBe(`${workdir}/${pkg.bin['fuseml-registry']}`);
    expect(existsSync(join(ROOT, 'src/cli/bin/fuseml-registry.ts'))).toBe(true);
    const health = runtime.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    expect(health).toMatch(/CMD \["node", "-e"/);
    expect(health).not.toMatch(/curl|wget/);
  });

  it("the runtime stage's files start the registry, and its HEALTHCHECK command passes against it", async () => {
    // Assemble /app as the runtime stage would: build-context copies from the repository, stage copies from
    // their local equivalents (deps' node_modules → the repository's, build's dist → the built dist).
    const app = join(dir, 'app');
    await mkdir(app);
    const runtime = dockerfile.filter((i) => i.stage === 'runtime');
    for (const c of runtime.filter((i) => i.op === 'COPY').map(copyOf)) {
      for (const src of c.sources) {
        const base = src.split('/').pop() as string;
        const target = c.dest.endsWith('/') || c.sources.length > 1 || c.dest === './' ? join(app, c.dest, base) : join(app, c.dest);
        const local = c.from === undefined ? join(ROOT, src) : join(ROOT, src.replace(/^\/src\//, ''));
        if (base === 'node_modules') await symlink(local, target);
        else await cp(local, target, { recursive: true });
      }
    }
    expect((await stat(join(app, 'dist/cli/bin/fuseml-registry.js'))).isFile()).toBe(true);
    const entry = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]') as string[];
    const cmd = JSON.parse(runtime.find((i) => i.op === 'CMD')?.args ?? '[]') as string[];
    expect(cmd.slice(0, 1)).toEqual(['serve']);
    // The image's command on a free loopback port, the entrypoint path re-rooted at the assembled /app.
    const args = [(entry[1] as string).replace(/^\/app/, app), ...cmd.map((a, i) => (cmd[i - 1] === '--port' ? '0' : cmd[i - 1] === '--host' ? '127.0.0.1' : a))];
    const server = await startServing(process.execPath, args, { cwd: app, env: { HOME: dir, XDG_DATA_HOME: join(dir, 'data') }, startTimeoutMs: 60_000 });
    try {
      const port = new URL(server.url).port;
      const health = runtime.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
      const check = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[];
      const script = (check[2] as string).replace('127.0.0.1:8000', `127.0.0.1:${port}`);
      expect(script).toContain(`:${port}/healthz`);
      const ok = await run(check[0] === 'node' ? process.execPath : (check[0] as string), [check[1] as string, script], { allowFailure: true, timeoutMs: 30_000 });
      expect(ok.exitCode).toBe(0);
      // And it fails when nothing answers.
      const down = await run(process.execPath, ['-e', script.replace(`:${port}/`, ':1/')], { allowFailure: true, timeoutMs: 30_000 });
      expect(down.exitCode).toBe(1);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
