/**
 * What every one of the three CLIs has, added in one place (runCli): `--version`, `version`,
 * `completion bash|zsh|fish` (and the hidden `__complete` it calls), the exit-code list in the
 * top-level help, a one-line pointer to --help after a usage error, and "did you mean" for
 * unknown subcommands. Light: no heavy import at start-up.
 */
import { readFileSync } from 'node:fs';
import { Command, Help, Option } from 'commander';
import { FusemlError, exitCodesHelp } from '../core/errors.js';
import { suggest } from '../core/suggest.js';

export { suggest };

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

/** This package's version (package.json next to src/ and dist/). */
export function packageVersion(): string {
  try {
    const v = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** "Examples:" block for a command's help; each entry is a command line, or "# comment" lines. */
export function withExamples(cmd: Command, ...lines: string[]): Command {
  const body = lines.map((l) => (l.startsWith('#') || l === '' ? `  ${l}` : `  $ ${l}`)).join('\n');
  return cmd.addHelpText('after', `\nExample${lines.filter((l) => !l.startsWith('#') && l !== '').length > 1 ? 's' : ''}:\n${body}\n`);
}

/** The full command path, e.g. "fuseml-installer extensions list". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/** Shell function name for a program, e.g. _fuseml_installer. */
function fnName(prog: string): string {
  return `_${prog.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/**
 * The completion script for a shell: it asks the program itself (`PROG __complete WORDS…`, the last
 * word being the one under the cursor), so completions follow the installed version's commands.
 */
export function completionScript(prog: string, shell: Shell): string {
  const fn = fnName(prog);
  switch (shell) {
    case 'bash':
      return [
        `# bash completion for ${prog}. Load it with: source <(${prog} completion bash)`,
        `${fn}() {`,
        `  local IFS=$'\\n'`,
        `  COMPREPLY=( $(${prog} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )`,
        `}`,
        `complete -o default -F ${fn} ${prog}`,
        '',
      ].join('\n');
    case 'zsh':
      return [
        `#compdef ${prog}`,
        `# zsh completion for ${prog}. Load it with: source <(${prog} completion zsh)  (after compinit)`,
        `${fn}() {`,
        `  local -a candidates`,
        `  candidates=("\${(@f)$(${prog} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")`,
        `  compadd -- \${candidates[@]}`,
        `}`,
        `compdef ${fn} ${prog}`,
        '',
      ].join('\n');
    case 'fish':
      return [
        `# fish completion for ${prog}. Load it with: ${prog} completion fish | source`,
        `complete -c ${prog} -f -a '(${prog} __complete (commandline -opc)[2..-1] (commandline -ct))'`,
        '',
      ].join('\n');
  }
}

function longFlags(cmd: Command): string[] {
  const out: string[] = [];
  for (const o of cmd.options as readonly Option[]) {
    if (o.hidden) continue;
    if (o.long) out.push(o.long);
  }
  return out;
}

function findOption(cmd: Command | null, flag: string): Option | undefined {
  for (let c = cmd; c; c = c.parent) {
    const o = (c.options as readonly Option[]).find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

/**
 * Candidates for the last word of `words` (the words after the program name): subcommands, then
 * flags of the command reached (and its parents'), or the choices of the flag before the cursor.
 */
export function completeWords(program: Command, words: readonly string[]): string[] {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  let cmd = program;
  let expectValue: Option | undefined;
  for (const w of before) {
    if (expectValue) {
      expectValue = undefined;
      continue;
    }
    if (w.startsWith('-')) {
      if (w.includes('=')) continue;
      const o = findOption(cmd, w);
      if (o && (o.required || o.optional) && !o.negate) expectValue = o;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) cmd = sub;
  }
  let candidates: string[];
  if (expectValue) candidates = expectValue.argChoices ? [...expectValue.argChoices] : [];
  else if (current.startsWith('-')) {
    const flags: string[] = [];
    for (let c: Command | null = cmd; c; c = c.parent) flags.push(...longFlags(c));
    candidates = [...new Set([...flags, '--help'])];
  } else {
    candidates = cmd.createHelp().visibleCommands(cmd).map((c) => c.name()).filter((n) => n !== 'help');
  }
  return candidates.filter((c) => c.startsWith(current)).sort();
}

/** Adds --version, `version`, `completion` and `__complete` to a program. */
export function addStandardCommands(program: Command, extraVersions?: () => Promise<Record<string, string>>): void {
  const prog = program.name();
  // `--version` is handled by runCli when it is the only argument: a commander option of the root
  // would also swallow the sub-commands' own --version flags (e.g. `fuseml extension list --version
  // 1.19`), since root options are recognised anywhere on the line. It is listed in the root help.
  const versionFlag = new Option('--version', 'print the version and exit');
  program.configureHelp({
    visibleOptions(cmd) {
      const shown = Help.prototype.visibleOptions.call(this, cmd);
      return cmd === program ? [versionFlag, ...shown] : shown;
    },
  });

  const version = program
    .command('version')
    .description('print the version of this command and of what it uses (node; helm and kubectl where used)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { output: string }) => {
      const versions: Record<string, string> = { [prog]: packageVersion(), node: process.version };
      if (extraVersions) Object.assign(versions, await extraVersions());
      if (opts.output === 'json') process.stdout.write(JSON.stringify(versions, null, 2) + '\n');
      else for (const [k, v] of Object.entries(versions)) process.stdout.write(`${k}: ${v}\n`);
    });
  withExamples(version, `${prog} version`, `${prog} version -o json`, `${prog} --version`);

  const completion = program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', `one of ${SHELLS.join(', ')}`)
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw new FusemlError('USAGE', `unknown shell "${shell}"`, { hint: `use one of: ${SHELLS.join(', ')}` });
      }
      process.stdout.write(completionScript(prog, shell as Shell));
    });
  withExamples(
    completion,
    '# bash, this shell only',
    `source <(${prog} completion bash)`,
    '# bash, every new shell',
    `${prog} completion bash > ~/.local/share/bash-completion/completions/${prog}`,
    '# zsh (after compinit)',
    `source <(${prog} completion zsh)`,
    '# fish',
    `${prog} completion fish > ~/.config/fish/completions/${prog}.fish`,
  );

  program
    .command('__complete', { hidden: true })
    .description('print completion candidates for the given words (used by the completion scripts)')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action((words: string[]) => {
      const out = completeWords(program, words.length === 0 ? [''] : words);
      if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
    });

  program.addHelpText('after', `\nExit codes:\n${exitCodesHelp()}\n`);
}

/**
 * Usage-error behaviour for a whole command tree: after an error, one line pointing at the right
 * --help (not the whole help); a command that has both an action and subcommands reports an
 * unknown subcommand with suggestions instead of "too many arguments".
 */
export function configureUsageErrors(cmd: Command): void {
  cmd.showHelpAfterError(`(run '${commandPath(cmd)} --help' for usage)`);
  cmd.showSuggestionAfterError(true);
  const declaresArgs = cmd.registeredArguments.length > 0;
  const hasAction = (cmd as Command & { _actionHandler?: unknown })._actionHandler != null;
  if (cmd.commands.length > 0 && hasAction && !declaresArgs) {
    cmd.allowExcessArguments(true);
    cmd.hook('preAction', (_self, action) => {
      if (action !== cmd || cmd.args.length === 0) return;
      // Reported through commander so that the --help pointer and exit code 2 apply.
      const name = String(cmd.args[0]);
      const names = cmd.createHelp().visibleCommands(cmd).flatMap((c) => [c.name(), ...c.aliases()]).filter((n) => n !== 'help');
      const near = suggest(name, names);
      cmd.error(`error: unknown command '${name}' for '${commandPath(cmd)}'${near.length > 0 ? `\n(Did you mean ${near.join(' or ')}?)` : ''}`, {
        code: 'commander.unknownCommand',
      });
    });
  }
  for (const sub of cmd.commands) configureUsageErrors(sub);
}
