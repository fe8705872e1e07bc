/**
 * The one exit point. Builds a commander program, runs it, and turns any thrown
 * error into a message on stderr plus an exit code (EXIT_CODES). Stack traces
 * only with --verbose.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, FusemlError, ValidationError, formatIssue } from '../core/errors.js';
import { EXAMPLES } from './examples.js';
import { isVerbose } from './startup.js';
import { addStandardCommands, commandPath, configureUsageErrors, packageVersion, withExamples } from './standard.js';

export { isVerbose };

export function renderError(err: unknown, verbose: boolean): { text: string; exitCode: number } {
  const lines: string[] = [];
  let exitCode = EXIT_CODES.INTERNAL;
  if (err instanceof ValidationError) {
    for (const issue of err.issues) lines.push(formatIssue(issue));
    lines.push(`Error: ${err.message}`);
    exitCode = err.exitCode;
  } else if (err instanceof FusemlError) {
    lines.push(`Error: ${err.message}`);
    exitCode = err.exitCode;
  } else if (err instanceof Error) {
    lines.push(`Error: internal error: ${err.message}`);
  } else {
    lines.push(`Error: internal error: ${String(err)}`);
  }
  if (err instanceof FusemlError && err.hint) lines.push(`Hint: ${err.hint}`);
  if (verbose && err instanceof Error && err.stack) {
    lines.push(err.stack);
    let cause = err.cause;
    while (cause instanceof Error) {
      lines.push(`Caused by: ${cause.stack ?? cause.message}`);
      cause = cause.cause;
    }
  } else if (!(err instanceof FusemlError)) {
    lines.push('(run again with --verbose for details)');
  }
  return { text: lines.join('\n'), exitCode };
}

function configure(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ outputError: (str, write) => write(str) });
  for (const sub of cmd.commands) configure(sub);
}

function addExamples(cmd: Command): void {
  const lines = EXAMPLES[commandPath(cmd)];
  if (lines) withExamples(cmd, ...lines);
  for (const sub of cmd.commands) addExamples(sub);
}

export interface RunOptions {
  /** Versions of the tools the command uses, for `version` (e.g. helm, kubectl). */
  toolVersions?: () => Promise<Record<string, string>>;
}

/** The program as the user gets it: the standard commands (version, completion) and error behaviour added. */
export function finishProgram(program: Command, options: RunOptions = {}): Command {
  addStandardCommands(program, options.toolVersions);
  addExamples(program);
  configureUsageErrors(program);
  configure(program);
  // --verbose is global: accepted anywhere on the line, shown in the top-level help.
  program.option('--verbose', 'print stack traces and debug detail (anywhere on the command line)');
  return program;
}

/**
 * A reader that went away (`fuseml-installer install --dry-run | head`): stop quietly, as other
 * command-line tools do, instead of an unhandled EPIPE with a stack trace. Exit 0 like them: the
 * reader asked for no more.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

export async function runCli(program: Command, argv: readonly string[] = process.argv, options: RunOptions = {}): Promise<void> {
  quietOnClosedPipe();
  const verbose = isVerbose(argv);
  if (argv.length === 3 && argv[2] === '--version') {
    process.stdout.write(packageVersion() + '\n');
    return;
  }
  finishProgram(program, options);
  let exitCode = 0;
  try {
    await program.parseAsync(argv.filter((a, i) => i < 2 || a !== '--verbose'));
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version come through here with exitCode 0.
      exitCode = err.exitCode === 0 ? 0 : EXIT_CODES.USAGE;
    } else {
      const r = renderError(err, verbose);
      process.stderr.write(r.text + '\n');
      exitCode = r.exitCode;
    }
  }
  // A command may end with a non-zero code of its own without an error (diff --exit-code: 1 = changes).
  process.exitCode = exitCode === 0 && typeof process.exitCode === 'number' ? process.exitCode : exitCode;
}
