/**
 * Lazy command actions: the module that does the work is imported only when
 * the command runs, so `--help` and other commands do not pay for it.
 */
import type { Command } from 'commander';

export type Opts = Record<string, unknown>;

/**
 * Wraps `fn(impl, optionsWithGlobals, ...positionalArgs)` as a commander action;
 * `load` imports the implementing module.
 */
export function lazyAction<M, A extends unknown[]>(load: () => Promise<M>, fn: (impl: M, opts: Opts, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const impl = await load();
    await fn(impl, cmd.optsWithGlobals(), ...(args.slice(0, -2) as A));
  };
}
