/**
 * install, upgrade, diff, rollback, uninstall, status, extensions sync (the installer engine), and
 * FuseML's `extensions --add a,b --remove c --list`. Handlers are imported
 * lazily: `--help` does not load the Kubernetes client, got or listr2.
 */
import { Command, Option } from 'commander';
import { exitCodesHelp } from '../../core/errors.js';
import { outputOption } from '../output.js';
import { registryConnectionOptions, REGISTRY_SETTINGS_HELP } from './registry-options.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function clusterOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig file, used alone as by kubectl (default: the $KUBECONFIG list merged as kubectl does, then ~/.kube/config)'))
    .addOption(new Option('--context <name>', 'kubeconfig context to use (default: the current-context); helm and kubectl get the same'))
    .option('--installer-namespace <ns>', 'namespace holding install records and the lock', 'fuseml-installer')
    .option('--lock-timeout <duration>', 'wait this long for another installer to finish (0s: fail at once, naming the holder)', '0s');
}

function registryOptions(cmd: Command): Command {
  return registryConnectionOptions(cmd, 'a writer token').option('--no-register', 'do not write to the registry');
}

export function paramOptions(cmd: Command): Command {
  return cmd
    .option('--set <[ext.]param=value>', 'set a parameter (repeatable); without "ext." it applies to every extension declaring it', collect)
    .option('--values <file>', 'YAML file of parameters: { EXTENSION: { PARAM: VALUE } } (repeatable; prefer it for secrets)', collect);
}

const INSTALL_HELP = `
Examples:
  # what would happen, without touching anything (commands and records with secrets masked)
  $ fuseml-installer install --extensions mlflow,seldon-core --dry-run

  # install; dependencies (requires) come along, independent extensions install in parallel
  $ fuseml-installer install --extensions mlflow --set mlflow.storageSize=5Gi --values secrets.yaml

  # air-gapped: charts and remote locations (chart .tgz, manifests, scripts) from a local mirror
  $ fuseml-installer install --extensions kserve --mirror https://charts.example.com=http://mirror.local:8080 \
      --mirror https://github.com/=http://mirror.local:8080/github/

  # an extension from elsewhere: a folder, a git tag (commit pinned in the install record), an archive (digest pinned)
  $ fuseml-installer install -e ./my-tool
  $ fuseml-installer install -e git+https://github.com/example-org/fuseml-extensions.git#v1.2.0:tracker
  $ fuseml-installer install -e https://downloads.example.com/tracker-1.2.0.tgz

  # more repository folders on top of the shipped extensions (later wins by name, with a notice)
  $ FUSEML_EXTENSIONS_PATH=/opt/exts:/srv/more fuseml-installer --extensions-repository ./mine install -e tracker

  # machines: JSON result on stdout, progress lines on stderr
  $ fuseml-installer install --extensions s3 -o json

Re-running is safe: finished steps are skipped (--force-reinstall redoes them), a run killed half-way resumes.
Git and archive sources are cached in $FUSEML_CACHE_DIR (default $XDG_CACHE_HOME/fuseml, else ~/.cache/fuseml);
credentials never go in a source URL (use a git credential helper, ssh keys or ~/.netrc).
If the registry is unreachable the install still completes, the registration is journaled, the exit code is 9;
deliver it later with: fuseml-installer extensions sync.
Exit codes:
${exitCodesHelp()}
${REGISTRY_SETTINGS_HELP}`;

const UPGRADE_HELP = `
Examples:
  # what would change, then apply it
  $ fuseml-installer diff -e mlflow --set mlflow.host=mlflow.example.com
  $ fuseml-installer upgrade -e mlflow --set mlflow.host=mlflow.example.com

  # back to the descriptor's defaults, dropping every value set earlier
  $ fuseml-installer upgrade -e mlflow --reset-values

Values persist: the install record keeps the parameters you set (sensitive ones in a Secret of their own,
never in the record); install and upgrade reuse them, --set changes one, --reset-values drops them.
Each upgrade that changes something is a revision (fuseml-installer status -e NAME --history; rollback).
Exit codes:
${exitCodesHelp()}
${REGISTRY_SETTINGS_HELP}`;

const DIFF_HELP = `
Examples:
  $ fuseml-installer diff -e mlflow --set mlflow.host=mlflow.example.com
  $ fuseml-installer diff -e mlflow --reset-values -o json
  $ fuseml-installer diff -e mlflow --exit-code && echo "up to date"

Compares with what is installed: parameters (sensitive ones shown ***), the extension version, helm chart
versions and the rendered helm values (against the release's values, read with helm), and the registration record
(against the one last registered; outputs as last read). Takes no lock and writes nothing.
`;

const ROLLBACK_HELP = `
Examples:
  $ fuseml-installer rollback -e mlflow          # to the revision before the last
  $ fuseml-installer rollback -e mlflow 2        # to revision 2 (status -e mlflow --history lists them)

helm steps are rolled back with helm rollback to the helm revision recorded with that revision; the registration
recorded with it is registered again; its parameter values become the recorded ones. Other steps (manifests,
kustomize, scripts) are not rolled back: the next install re-applies them. A rollback is itself a new revision.
`;

const UNINSTALL_HELP = `
Examples:
  $ fuseml-installer uninstall --extensions seldon-core                # asks for confirmation on a terminal
  $ fuseml-installer uninstall --extensions mlflow --with-dependents   # also what requires mlflow
  $ fuseml-installer uninstall --all --yes                             # everything this installer installed, no question
  $ fuseml-installer uninstall --all --dry-run                         # what --all would remove

Without a terminal (scripts, CI) uninstall needs --yes, else it exits 2 and changes nothing.

Extensions go in reverse dependency order; their registry records are deleted (journaled when the registry is
unreachable); namespaces are deleted only when the installer created them (label
app.kubernetes.io/managed-by=fuseml-installer) and no remaining extension uses them.
`;

/** Where charts and remote files come from, registry id and zone: install, upgrade and diff share them. */
function planOptions(cmd: Command): Command {
  return cmd
    .option('--mirror <original=mirror>', 'fetch URLs starting with ORIGINAL (chart repositories, remote locations) from MIRROR instead; longest prefix wins (repeatable)', collect)
    .option('--chart-mirror <original=mirror>', 'older name of --mirror (repeatable)', collect)
    .option('--gateway-domain <domain>', "FuseML descriptors' gateways: with Istio on the cluster, create them for <name>.<domain> (FuseML's system_domain)")
    .option('--workloads-namespace <ns>', "FuseML descriptors' rolerules: the namespace whose service accounts get them (default: fuseml-workloads)")
    .option('--id <id>', 'registry id of the extension (one extension only; default: the extension name)')
    .option('--zone <zone>', 'zone recorded in the registry')
    .option('--reset-values', 'forget the parameter values earlier runs recorded (by default they are reused; --set changes one)');
}

export function addLifecycleCommands(program: Command, extensions: Command): void {
  const install = program
    .command('install')
    .description('install extensions (and what they require) on the cluster, and register them')
    .option('-e, --extensions <names>', 'extensions to install, comma separated (repeatable): names, or one extension by location: a folder (./dir, /abs/dir), git+https://host/repo.git#REF[:SUBDIR] (also git+ssh://, git+file://), https://host/ext.tgz[#SUBDIR]', collect)
    .option('--concurrency <n>', 'extensions installed at the same time', '4')
    .option('--dry-run', 'print the plan (steps, commands, namespaces, registry records; secrets masked) and exit')
    .option('--force-reinstall', 'redo every step, even those an earlier run finished');
  planOptions(install).option('--adopt', 'take over registry records this installer did not create (e.g. registered by hand); without it install refuses to overwrite them');
  paramOptions(install);
  registryOptions(install);
  clusterOptions(install);
  install.addOption(outputOption()).addHelpText('after', INSTALL_HELP).action(async (_o: unknown, cmd: Command) => {
    const { install: run } = await import('../commands/install.js');
    await run(cmd.optsWithGlobals());
  });

  const upgrade = program
    .command('upgrade')
    .description('change installed extensions: the values earlier runs recorded, with --set / --values over them (see diff first)')
    .option('-e, --extensions <names>', 'installed extensions to upgrade, comma separated (repeatable)', collect)
    .option('--concurrency <n>', 'extensions upgraded at the same time', '4')
    .option('--force-reinstall', 'redo every step, even those unchanged');
  planOptions(upgrade);
  paramOptions(upgrade);
  registryOptions(upgrade);
  clusterOptions(upgrade);
  upgrade.addOption(outputOption()).addHelpText('after', UPGRADE_HELP).action(async (_o: unknown, cmd: Command) => {
    const { upgrade: run } = await import('../commands/lifecycle.js');
    await run(cmd.optsWithGlobals());
  });

  const diff = program
    .command('diff')
    .description('show what install / upgrade with these flags would change (parameters, chart versions, helm values, registration); changes nothing')
    .option('-e, --extensions <names>', 'extensions to compare, comma separated (repeatable)', collect)
    .option('--exit-code', 'exit 1 when there are changes (as git diff --exit-code), 0 when none');
  planOptions(diff);
  paramOptions(diff);
  clusterOptions(diff);
  diff.addOption(outputOption()).addHelpText('after', DIFF_HELP).action(async (_o: unknown, cmd: Command) => {
    const { diff: run } = await import('../commands/lifecycle.js');
    await run(cmd.optsWithGlobals());
  });

  const rollback = program
    .command('rollback')
    .description('return an extension to a recorded revision: helm rollback of its releases, the registration and values of that revision')
    .argument('[revision]', 'the revision to return to (fuseml-installer status -e NAME --history; default: the one before the last)')
    .option('-e, --extensions <name>', 'the extension to roll back', collect)
    .option('--timeout <duration>', 'how long each helm rollback may wait for the release to be ready', '5m');
  registryOptions(rollback);
  clusterOptions(rollback);
  rollback.addOption(outputOption()).addHelpText('after', ROLLBACK_HELP).action(async (revision: string | undefined, _o: unknown, cmd: Command) => {
    const { rollback: run } = await import('../commands/lifecycle.js');
    await run(revision, cmd.optsWithGlobals());
  });

  const uninstall = program
    .command('uninstall')
    .description('uninstall extensions (--extensions a,b, or --all: every extension this installer installed) and deregister them')
    .option('-e, --extensions <names>', 'extensions to uninstall, comma separated (repeatable)', collect)
    .option('--all', 'uninstall every extension this installer installed (required when --extensions is not given)')
    .option('--with-dependents', 'also uninstall installed extensions that require them')
    .option('--mirror <original=mirror>', 'as for install: where remote manifests and scripts of uninstall steps are fetched from (repeatable)', collect)
    .option('--workloads-namespace <ns>', 'as for install: where the roles made from FuseML rolerules live (default: fuseml-workloads)')
    .option('-y, --yes', 'do not ask for confirmation (required when there is no terminal to ask on)')
    .option('--dry-run', 'print what would be uninstalled and exit');
  paramOptions(uninstall);
  registryOptions(uninstall);
  clusterOptions(uninstall);
  uninstall.addOption(outputOption()).addHelpText('after', UNINSTALL_HELP).action(async (_o: unknown, cmd: Command) => {
    const { uninstall: run } = await import('../commands/uninstall.js');
    await run(cmd.optsWithGlobals());
  });

  const status = program
    .command('status')
    .description('what this installer installed on the cluster (from its install records)')
    .option('-e, --extensions <name>', 'with --history: the extension', collect)
    .option('--history', "the extension's recorded revisions (install, upgrade, rollback), newest last");
  clusterOptions(status);
  status.addOption(outputOption()).addHelpText('after', '\nExamples:\n  $ fuseml-installer status -o json\n  $ fuseml-installer status -e mlflow --history\n').action(async (_o: unknown, cmd: Command) => {
    const { status: run } = await import('../commands/status.js');
    await run(cmd.optsWithGlobals());
  });

  const sync = extensions
    .command('sync')
    .description('deliver registrations journaled while the registry was unreachable');
  registryOptions(sync);
  sync.addOption(outputOption()).addHelpText('after', '\nExample:\n  $ FUSEML_TOKEN=… fuseml-installer extensions sync --registry-url http://127.0.0.1:8000\n').action(async (_o: unknown, cmd: Command) => {
    const { sync: run } = await import('../commands/status.js');
    await run(cmd.optsWithGlobals());
  });

  // FuseML's installer flags: `fuseml-installer extensions --add a,b --remove c --list`.
  extensions
    .option('--add <names>', 'install these extensions (FuseML compatible; same as install --extensions)', collect)
    .option('--remove <names>', 'uninstall these extensions (FuseML compatible; same as uninstall --extensions)', collect)
    .option('--list', 'list installed extensions (FuseML compatible; same as status)')
    .option('-y, --yes', 'with --remove: do not ask for confirmation');
  paramOptions(extensions);
  registryOptions(extensions);
  clusterOptions(extensions);
  extensions
    .addHelpText('after', '\nFuseML-compatible form:\n  $ fuseml-installer extensions --add mlflow,seldon-core --remove kserve --list\n')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as Record<string, unknown> & { add?: string[]; remove?: string[]; list?: boolean };
      if (!o.add && !o.remove && !o.list) {
        cmd.help();
        return;
      }
      if (o.remove) {
        const { uninstall: run } = await import('../commands/uninstall.js');
        await run({ ...o, extensions: o.remove });
      }
      if (o.add) {
        const { install: run } = await import('../commands/install.js');
        await run({ ...o, extensions: o.add });
      }
      if (o.list) {
        const { status: run } = await import('../commands/status.js');
        await run(o as Parameters<typeof run>[0]);
      }
    });
}
