/** Progress events of the installer; the CLI renders them (listr2 on a TTY, plain lines otherwise). */

export type ExtensionState = 'waiting' | 'running' | 'done' | 'unchanged' | 'failed' | 'skipped';
export type StepEventState = 'running' | 'done' | 'skipped' | 'failed';

export type InstallerEvent =
  | { type: 'extension'; extension: string; state: ExtensionState; message?: string | undefined }
  | { type: 'step'; extension: string; step: string; title: string; state: StepEventState; durationMs?: number | undefined; message?: string | undefined }
  | { type: 'log'; extension: string; line: string }
  | { type: 'info'; message: string };

export interface Reporter {
  event(e: InstallerEvent): void;
  /** Called once at the end (listr2 flushes its tree). */
  close?(): Promise<void> | void;
}

export const silentReporter: Reporter = { event: () => undefined };

/** One line per event on a stream (stderr by default): for CI logs, pipes and -o json. */
export function plainReporter(write: (s: string) => void = (s) => void process.stderr.write(s), verbose = false): Reporter {
  const secs = (ms?: number): string => (ms === undefined ? '' : ` (${(ms / 1000).toFixed(1)}s)`);
  return {
    event(e) {
      switch (e.type) {
        case 'extension':
          if (e.state !== 'waiting') write(`[${e.extension}] ${e.state}${e.message ? `: ${e.message}` : ''}\n`);
          break;
        case 'step':
          if (e.state !== 'running' || verbose || e.message) write(`[${e.extension}] ${e.title}: ${e.state}${secs(e.durationMs)}${e.message ? ` - ${e.message}` : ''}\n`);
          break;
        case 'log':
          if (verbose) write(`[${e.extension}]   ${e.line}\n`);
          break;
        case 'info':
          write(`${e.message}\n`);
          break;
      }
    },
  };
}
