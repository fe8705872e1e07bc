/**
 * The one way this project starts a process: an argument array (never a shell
 * string), a timeout, cancellation through an AbortSignal, secrets passed only
 * in the environment and masked in every message. execa is loaded lazily so
 * commands that never spawn do not pay for it.
 */
import { FusemlError } from '../core/errors.js';
import { redact } from '../core/redact.js';

export interface ExecOptions {
  cwd?: string | undefined;
  /** Extra environment, merged over process.env. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Environment entries whose values are secret: passed to the child, masked everywhere else. */
  secretEnv?: Readonly<Record<string, string>> | undefined;
  /** Further values to mask in messages (e.g. secrets inside a values file). */
  secrets?: Iterable<string> | undefined;
  /** Milliseconds; default 10 minutes. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  input?: string | undefined;
  /** Called with each complete line of stdout / stderr, already redacted. */
  onLine?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
  /** Do not throw on a non-zero exit; the caller inspects exitCode. */
  allowFailure?: boolean | undefined;
  /**
   * Called once the process started, with its pid and a writer to its stdin (kept open until the
   * process ends; e.g. keys typed on a pty made by `script`). Not with `input`.
   */
  onSpawn?: ((handle: { pid: number | undefined; write(data: string): void }) => void) | undefined;
}

export interface ExecResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
/** A cancelled or timed-out child gets SIGTERM, then SIGKILL this much later (an interrupted run must end promptly). */
export const FORCE_KILL_AFTER_MS = 2_000;
const STDERR_TAIL_LINES = 12;

/** `file arg…` for messages, with secrets masked and odd arguments quoted. */
export function describeCommand(file: string, args: readonly string[], secrets: Iterable<string> = []): string {
  const quoted = [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)));
  return redact(quoted.join(' '), secrets);
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** Process groups still running: stopped if we exit first (detached children are not cleaned up by execa). */
const running = new Set<number>();
let exitHook = false;
function track(pid: number | undefined): void {
  if (pid === undefined || process.platform === 'win32') return;
  running.add(pid);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const p of running) {
        try {
          process.kill(-p, 'SIGTERM');
        } catch {
          // gone
        }
      }
    });
  }
}

export async function run(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const secrets = [...(options.secrets ?? []), ...Object.values(options.secretEnv ?? {})].filter((s) => s.length > 0);
  for (const a of [file, ...args]) {
    if (secrets.some((s) => a.includes(s))) {
      // A programming error: secrets go through env or files, never argv (visible in ps).
      throw new FusemlError('INTERNAL', `refusing to pass a secret value in the arguments of ${describeCommand(file, [], secrets)}`);
    }
  }
  const command = describeCommand(file, args, secrets);
  if (options.signal?.aborted) throw new FusemlError('CANCELLED', `${command}: cancelled before start`);

  const { execa } = await import('execa');
  const started = Date.now();
  const child = execa(file, [...args], {
    cwd: options.cwd,
    env: { ...options.env, ...options.secretEnv },
    extendEnv: true,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    cancelSignal: options.signal,
    forceKillAfterDelay: FORCE_KILL_AFTER_MS,
    input: options.input,
    stdin: options.input === undefined && !options.onSpawn ? 'ignore' : 'pipe',
    reject: false,
    stripFinalNewline: false,
    lines: false,
    maxBuffer: 64 * 1024 * 1024,
    // Its own process group: a Ctrl-C on the terminal reaches only us, and cancellation stops the
    // whole group (a wrapper script's children too), whether or not a terminal is attached.
    detached: process.platform !== 'win32',
  });
  const killGroup = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined || process.platform === 'win32') return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  track(child.pid);
  options.onSpawn?.({ pid: child.pid, write: (data) => void child.stdin?.write(data) });
  const onAbort = (): void => {
    killGroup('SIGTERM');
    setTimeout(() => {
      if (child.pid !== undefined && running.has(child.pid)) killGroup('SIGKILL');
    }, FORCE_KILL_AFTER_MS).unref();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // Killed by a signal (cancelled, timed out): what is left of its group goes too, or it would hold the pipes open.
  child.on('exit', (_code, sig) => {
    if (child.pid !== undefined) running.delete(child.pid);
    if (sig !== null) killGroup('SIGKILL');
  });

  if (options.onLine) {
    const onLine = options.onLine;
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = '';
      child[stream]?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) onLine(redact(line, secrets), stream);
      });
      child[stream]?.on('end', () => {
        if (pending) onLine(redact(pending, secrets), stream);
      });
    }
  }

  const r = await child.finally(() => options.signal?.removeEventListener('abort', onAbort));
  const result: ExecResult = {
    command,
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    durationMs: Date.now() - started,
  };

  const code = (r as { code?: string }).code;
  if (code === 'ENOENT' || (r.failed && /ENOENT/.test(String(r.originalMessage ?? '')))) {
    throw new FusemlError('TOOL_MISSING', `${file}: command not found`, {
      hint: `install ${file} or put it on PATH`,
    });
  }
  if (r.isCanceled) throw new FusemlError('CANCELLED', `${command}: cancelled`);
  if (r.timedOut) {
    throw new FusemlError('TIMEOUT', `${command}: timed out after ${Math.round((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)}s`);
  }
  if (r.failed && !options.allowFailure) {
    const why = r.signal ? `killed by ${r.signal}` : `exit code ${result.exitCode}`;
    const errTail = redact(tail(result.stderr || result.stdout, STDERR_TAIL_LINES), secrets);
    throw new FusemlError('EXEC', `${command} failed (${why})${errTail ? `:\n${errTail}` : ''}`);
  }
  return result;
}
