import { Command, Option } from 'commander';
import { LIMIT_SPECS, limitOption } from '../../registry/server/limits.js';
import { DEFAULT_REGISTRY_HOST, DEFAULT_REGISTRY_PORT } from '../../registry/defaults.js';
import { PROBE_FLAGS } from '../commands/registry-serve.js';

/** `fuseml-registry`: the extension registry REST service. */
export function buildRegistryProgram(): Command {
  const program = new Command('fuseml-registry')
    .description('FuseML extension registry: stores extensions, services, endpoints and credentials behind a REST API.')
    .showHelpAfterError();

  const serve = program
    .command('serve')
    .description('serve the registry REST API (prints "fuseml-registry listening on URL"; stops on SIGTERM/SIGINT)')
    .option('-p, --port <port>', 'TCP port (0: any free port)', String(DEFAULT_REGISTRY_PORT))
    .option('--host <host>', 'address to listen on', DEFAULT_REGISTRY_HOST)
    .option('--store <kind>', 'where records live: sqlite (embedded, one process) or kubernetes (CRD + Secrets, for replicas)', 'sqlite')
    .option('--db <path>', 'SQLite database file (default: $XDG_DATA_HOME/fuseml/registry.db)')
    .option('--kubeconfig <file>', 'kubernetes store: kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--store-namespace <ns>', "kubernetes store: namespace of the records (default: the context's, else default)")
    .option('--install-crd', 'kubernetes store: create or update the FusemlExtension CRD before serving')
    .option('-c, --config <file>', 'YAML config file: tokens and roles, db, key_file, anonymous, body_limit')
    .option('--key-file <file>', 'credential encryption key file (default: registry.key next to the db; env FUSEML_REGISTRY_KEY wins)')
    .addOption(new Option('--anonymous <role>', 'role of callers that send no token').choices(['none', 'reader', 'resolver', 'writer', 'admin']))
    .option('--anonymous-reveal', 'allow an --anonymous role that can read credential values (resolver, admin); prints a warning')
    .option('--log', 'log requests to stderr (never headers, bodies or query values)')
    .action(async (opts: import('../commands/registry-serve.js').ServeOptions) => {
      const { serve } = await import('../commands/registry-serve.js');
      await serve(opts);
    });
  for (const spec of LIMIT_SPECS) serve.option(...limitOption(spec));
  for (const p of PROBE_FLAGS) serve.option(`--${p.flag} <${p.key === 'probeConcurrency' ? 'n' : 'duration'}>`, `${p.help}; env ${p.env}${p.key === 'probeInterval' ? '. Probes send no credentials (docs/registry.md, Endpoint probes)' : ''}`);

  const storeOptions = (c: Command): Command =>
    c
      .option('--store <kind>', 'sqlite or kubernetes', 'sqlite')
      .option('--db <path>', 'SQLite database file (default: $XDG_DATA_HOME/fuseml/registry.db)')
      .option('--kubeconfig <file>', 'kubernetes store: kubeconfig')
      .option('--store-namespace <ns>', 'kubernetes store: namespace of the records')
      .option('-c, --config <file>', 'the YAML config file of serve (db, key_file)')
      .option('--key-file <file>', 'the current encryption key file (default: registry.key next to the db; env FUSEML_REGISTRY_KEY wins)');

  storeOptions(
    program
      .command('doctor')
      .description(
        'check the stored data: list every credential set whose stored values do not decrypt ("EXT/SERVICE/ID: undecryptable") and, for SQLite, run the integrity check. Exit 0 when all is well, 3 when anything is listed',
      ),
  ).action(async (opts: import('../commands/registry-admin.js').StoreOptions) => {
    const { doctor } = await import('../commands/registry-admin.js');
    await doctor(opts);
  });

  storeOptions(
    program
      .command('rotate-key')
      .description(
        're-encrypt every credential value of the SQLite database with a new key, in one transaction (all or nothing, also when killed); stop the server first, then start it with the new key. The Kubernetes store is refused (docs/registry.md)',
      )
      .requiredOption('--new-key-file <file>', 'the new key (base64 or hex, mode 0600); generated there when the file does not exist'),
  ).action(async (opts: import('../commands/registry-admin.js').RotateOptions) => {
    const { rotateKey } = await import('../commands/registry-admin.js');
    await rotateKey(opts);
  });

  program
    .command('hash-token')
    .description('read a token on stdin and print its SHA-256, for token_sha256 in the config file')
    .action(async () => {
      const { hashToken } = await import('../commands/registry-serve.js');
      await hashToken();
    });

  return program;
}
