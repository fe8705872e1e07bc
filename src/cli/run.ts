/**
 * The one exit point. Builds a commander program, runs it, and turns any thrown
 * error into a message on stderr plus an exit code (EXIT_CODES). Stack traces
 * only with --verbose.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, FusemlError, ValidationError, formatIssue } from '../core/errors.js';

export function isVerbose(argv: readonly string[]): boolean {
  return argv.includes('--verbose') || process.env.FUSEML_VERBOSE === '1';
}

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

export async function runCli(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  const verbose = isVerbose(argv);
  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });
  program.option('--verbose', 'print stack traces and debug detail');
  let exitCode = 0;
  try {
    await program.parseAsync([...argv]);
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
  process.exitCode = exitCode;
}
