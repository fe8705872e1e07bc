/**
 * Confirmation of destructive commands: on a terminal, ask (default no); without one, refuse unless
 * --yes was given — a script never deletes by accident.
 */
import { FusemlError } from '../core/errors.js';

export interface ConfirmOptions {
  /** --yes was given. */
  yes: boolean;
  /** The flags that would make the command run without asking, for the hint, e.g. `--yes`. */
  flag?: string | undefined;
}

/** stdin and stderr are terminals (the question goes to stderr, the answer comes from stdin). */
export function canAsk(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** Refuses early (before anything is touched) when there is neither --yes nor a terminal to ask on. */
export function requireConfirmable(what: string, o: ConfirmOptions): void {
  if (o.yes || canAsk()) return;
  throw new FusemlError('USAGE', `refusing to ${what} without confirmation: no terminal to ask on`, { hint: `pass ${o.flag ?? '--yes'} to confirm` });
}

/** Asks `question [y/N]` on the terminal; anything but y/yes is a no (CANCELLED, exit 130, nothing done). */
export async function confirm(question: string, o: ConfirmOptions): Promise<void> {
  if (o.yes) return;
  requireConfirmable(question, o);
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  rl.on('SIGINT', onSigint);
  let answer = '';
  try {
    answer = await rl.question(`${question} [y/N] `, { signal: ac.signal });
  } catch {
    answer = '';
  } finally {
    rl.close();
  }
  if (!/^(y|yes)$/i.test(answer.trim())) {
    throw new FusemlError('CANCELLED', 'not confirmed: nothing was changed', { hint: `pass ${o.flag ?? '--yes'} to skip the question` });
  }
}
