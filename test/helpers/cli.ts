/** Runs one of the built CLIs (dist/) as a real process and returns what it printed. */
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/index.js';

export type Bin = 'fuseml-installer' | 'fuseml' | 'fuseml-registry';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function binPath(bin: Bin): string {
  return fileURLToPath(new URL(`../../dist/cli/bin/${bin}.js`, import.meta.url));
}

export async function cli(bin: Bin, args: readonly string[], options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  const r = await run(process.execPath, [binPath(bin), ...args], {
    env: { FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
    cwd: options.cwd,
    timeoutMs: options.timeoutMs ?? 120_000,
    input: options.input,
    allowFailure: true,
  });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}
