/** `fuseml-registry serve`: starts the registry over the embedded SQLite store. */
import { FusemlError } from '../../core/errors.js';

export interface ServeOptions {
  port: string;
  host: string;
  db?: string;
  config?: string;
  keyFile?: string;
  anonymous?: string;
  bodyLimit?: string;
  log?: boolean;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new FusemlError('USAGE', `--port ${v}: not a port number`);
  return n;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const [{ loadConfig }, { ROLES, tokenEntry }, { loadOrCreateKey }, paths, { SqliteStore }, { createRegistryApp }] = await Promise.all([
    import('../../registry/config.js'),
    import('../../registry/auth.js'),
    import('../../registry/crypto.js'),
    import('../../registry/paths.js'),
    import('../../registry/store/sqlite.js'),
    import('../../registry/server/app.js'),
  ]);
  const port = parsePort(opts.port);
  const config = opts.config ? await loadConfig(opts.config) : { tokens: [] as import('../../registry/auth.js').TokenEntry[], db: undefined, key_file: undefined, anonymous: undefined, body_limit: undefined };
  const tokens = [...config.tokens];
  const adminToken = process.env.FUSEML_REGISTRY_ADMIN_TOKEN;
  if (adminToken) tokens.push(tokenEntry({ name: 'env-admin', role: 'admin' }, adminToken));

  const anonymous = opts.anonymous ?? config.anonymous ?? 'none';
  if (anonymous !== 'none' && !(ROLES as readonly string[]).includes(anonymous)) {
    throw new FusemlError('USAGE', `--anonymous ${anonymous}: not a role`, { hint: `use one of none, ${ROLES.join(', ')}` });
  }
  const bodyLimit = opts.bodyLimit === undefined ? config.body_limit : Number(opts.bodyLimit);
  if (bodyLimit !== undefined && (!Number.isInteger(bodyLimit) || bodyLimit < 1024)) throw new FusemlError('USAGE', `--body-limit ${opts.bodyLimit}: at least 1024 bytes`);

  const dbPath = opts.db ?? config.db ?? paths.defaultDbPath();
  const keyFile = opts.keyFile ?? config.key_file ?? paths.defaultKeyFile(dbPath);
  const key = await loadOrCreateKey({ keyFile });
  if (key.generated) process.stderr.write(`fuseml-registry: generated a new encryption key in ${keyFile} (keep it with the database)\n`);
  const store = new SqliteStore({ path: dbPath, key: key.key });
  if (tokens.length === 0 && anonymous === 'none') {
    process.stderr.write('fuseml-registry: warning: no tokens configured and --anonymous none: every request will be refused (401)\n');
  }

  const app = await createRegistryApp({
    store,
    auth: { tokens, anonymous: anonymous === 'none' ? undefined : (anonymous as (typeof ROLES)[number]) },
    bodyLimit,
    logger: opts.log === true,
  });
  try {
    await app.listen({ port, host: opts.host });
  } catch (err) {
    await store.close();
    throw new FusemlError('USAGE', `cannot listen on ${opts.host}:${port}: ${(err as Error).message}`, { cause: err });
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  process.stdout.write(`fuseml-registry listening on http://${host}:${actualPort} (pid ${process.pid}, db ${dbPath})\n`);

  await new Promise<void>((resolve, reject) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.stderr.write(`fuseml-registry: ${signal}: shutting down\n`);
      app
        .close()
        .then(() => store.close())
        .then(resolve, reject);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** `fuseml-registry hash-token`: reads a token on stdin, prints its SHA-256 for `token_sha256` in the config file. */
export async function hashToken(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const token = Buffer.concat(chunks).toString('utf8').split('\n')[0]?.trim() ?? '';
  const { digest, MIN_TOKEN_LENGTH } = await import('../../registry/auth.js');
  if (token.length < MIN_TOKEN_LENGTH) throw new FusemlError('USAGE', `the token on stdin is shorter than ${MIN_TOKEN_LENGTH} characters`);
  process.stdout.write(digest(token).toString('hex') + '\n');
}
