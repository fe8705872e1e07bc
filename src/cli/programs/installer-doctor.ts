/** `fuseml-installer doctor`: drift between install records, helm releases, the cluster and the registry. */
import type { Command } from 'commander';
import { exitCodesHelp } from '../../core/errors.js';
import { DRIFT_KINDS, DRIFT_MEANINGS } from '../../installer/drift.js';
import { outputOption } from '../output.js';
import { clusterOptions, paramOptions } from './installer-lifecycle.js';
import { registryConnectionOptions, REGISTRY_SETTINGS_HELP } from './registry-options.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

const DOCTOR_HELP = `
Examples:
  $ fuseml-installer doctor                              # every extension this installer installed
  $ fuseml-installer doctor --extensions mlflow -o json  # one extension, for a script
  $ fuseml-installer doctor --fix                        # asks, then re-registers / deregisters
  $ fuseml-installer doctor --fix --yes                  # no question (scripts, CI)

Drift reported (exit 1 when any is found, 0 when all agree):
${DRIFT_KINDS.map((k) => `  ${k.padEnd(20)} ${DRIFT_MEANINGS[k]}`).join('\n')}
Outputs are recomputed as install collects them and compared by digest with what was registered; no value
is ever shown. --fix deregisters what is gone (marking its install record failed: install redoes it,
uninstall cleans up) and re-registers with fresh outputs; without a terminal it needs --yes.
Exit codes:
${exitCodesHelp()}
${REGISTRY_SETTINGS_HELP}`;

export function addDoctorCommand(program: Command): void {
  const doctor = program
    .command('doctor')
    .description('compare install records, helm releases, the objects install waited for and the registry records; report (and --fix) drift')
    .option('-e, --extensions <names>', 'extensions to check, comma separated (repeatable; default: every one installed)', collect)
    .option('--fix', 're-register (fresh outputs) or deregister what drifted, after confirmation')
    .option('-y, --yes', 'with --fix: do not ask for confirmation (required when there is no terminal to ask on)');
  paramOptions(doctor);
  registryConnectionOptions(doctor, 'a token (a writer token for --fix)');
  clusterOptions(doctor);
  doctor.addOption(outputOption()).addHelpText('after', DOCTOR_HELP).action(async (_o: unknown, cmd: Command) => {
    const { doctor: run } = await import('../commands/doctor.js');
    await run(cmd.optsWithGlobals());
  });
}
