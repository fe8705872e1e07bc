/**
 * The registry server's per-request limits: what one request may cost (bytes, parsed size, keys, nesting,
 * resolve size, time, concurrency). Each has a default, a `serve` flag and an environment variable; see the
 * limits table in docs/registry.md. `LIMIT_SPECS` is the one list both the CLI and the docs test read.
 */
import { FusemlError } from '../../core/errors.js';

export interface ServerLimits {
  /** Largest request body in bytes, as sent (413). */
  bodyLimit: number;
  /** Largest parsed body in bytes after YAML alias expansion, measured as its JSON size (413). */
  parsedLimit: number;
  /** Most map keys plus sequence items in one parsed body, aliases expanded (413). */
  maxKeys: number;
  /** Deepest nesting of maps and sequences in one body (413). */
  maxDepth: number;
  /** Most YAML aliases in one body (413). */
  maxAliases: number;
  /** POST /workflows/resolve: most steps × requirements (413). */
  resolveLimit: number;
  /** Milliseconds a client has to send the request line and headers (408). */
  headersTimeoutMs: number;
  /** Milliseconds a client has to send the whole request, body included (408). */
  requestTimeoutMs: number;
  /** Milliseconds a body may take to parse off the event loop before it is refused (413). */
  parseTimeoutMs: number;
  /** Requests one token (or, without a token, one client address) may have in flight (429). */
  perTokenConcurrency: number;
  /** Largest request header section in bytes (431). */
  maxHeaderBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  bodyLimit: 1024 * 1024,
  parsedLimit: 2 * 1024 * 1024,
  maxKeys: 20_000,
  maxDepth: 64,
  maxAliases: 100,
  resolveLimit: 2_500,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  parseTimeoutMs: 2_000,
  perTokenConcurrency: 16,
  maxHeaderBytes: 16 * 1024,
});

export interface LimitSpec {
  key: keyof ServerLimits;
  /** `serve` flag, without the leading dashes. */
  flag: string;
  env: string;
  min: number;
  max: number;
  status: number;
  /** One line for --help and the docs. */
  help: string;
}

export const LIMIT_SPECS: readonly LimitSpec[] = [
  { key: 'bodyLimit', flag: 'body-limit', env: 'FUSEML_REGISTRY_BODY_LIMIT', min: 1024, max: 100 * 1024 * 1024, status: 413, help: 'largest accepted request body, bytes' },
  { key: 'parsedLimit', flag: 'parsed-limit', env: 'FUSEML_REGISTRY_PARSED_LIMIT', min: 1024, max: 1024 * 1024 * 1024, status: 413, help: 'largest body once parsed (YAML aliases expanded, JSON size), bytes' },
  { key: 'maxKeys', flag: 'max-keys', env: 'FUSEML_REGISTRY_MAX_KEYS', min: 100, max: 10_000_000, status: 413, help: 'most map keys plus sequence items in one body' },
  { key: 'maxDepth', flag: 'max-depth', env: 'FUSEML_REGISTRY_MAX_DEPTH', min: 8, max: 1000, status: 413, help: 'deepest nesting of maps and sequences in one body' },
  { key: 'maxAliases', flag: 'max-aliases', env: 'FUSEML_REGISTRY_MAX_ALIASES', min: 0, max: 10_000, status: 413, help: 'most YAML aliases in one body' },
  { key: 'resolveLimit', flag: 'resolve-limit', env: 'FUSEML_REGISTRY_RESOLVE_LIMIT', min: 1, max: 10_000_000, status: 413, help: 'POST /workflows/resolve: most steps x requirements' },
  { key: 'headersTimeoutMs', flag: 'headers-timeout', env: 'FUSEML_REGISTRY_HEADERS_TIMEOUT', min: 100, max: 3_600_000, status: 408, help: 'time a client has to send the request headers, ms' },
  { key: 'requestTimeoutMs', flag: 'request-timeout', env: 'FUSEML_REGISTRY_REQUEST_TIMEOUT', min: 100, max: 3_600_000, status: 408, help: 'time a client has to send the whole request (body included), ms' },
  { key: 'parseTimeoutMs', flag: 'parse-timeout', env: 'FUSEML_REGISTRY_PARSE_TIMEOUT', min: 10, max: 600_000, status: 413, help: 'time one body may take to parse, ms' },
  { key: 'perTokenConcurrency', flag: 'max-concurrent', env: 'FUSEML_REGISTRY_MAX_CONCURRENT', min: 1, max: 100_000, status: 429, help: 'requests in flight per token (tokenless callers: per address)' },
  { key: 'maxHeaderBytes', flag: 'max-header-bytes', env: 'FUSEML_REGISTRY_MAX_HEADER_BYTES', min: 1024, max: 1024 * 1024, status: 431, help: 'largest request header section, bytes' },
];

/** `--flag <value>` and its help line (default and variable included), for the serve command. */
export function limitOption(spec: LimitSpec): [string, string] {
  return [`--${spec.flag} <n>`, `${spec.help} (default ${DEFAULT_LIMITS[spec.key]}; env ${spec.env})`];
}

/** camelCase option name commander gives a flag (`max-keys` → `maxKeys`). */
export function optionName(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Limits from flags (strings, by option name), then the environment, then `base` (e.g. the config file's
 * body_limit), then the defaults. A value that is not an integer in range is a USAGE error naming the flag or
 * variable.
 */
export function resolveLimits(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, base: Partial<ServerLimits> = {}): ServerLimits {
  const out: ServerLimits = { ...DEFAULT_LIMITS };
  for (const spec of LIMIT_SPECS) {
    const fromFlag = flags[optionName(spec.flag)];
    const fromEnv = env[spec.env];
    let raw: unknown;
    let from: string;
    if (fromFlag !== undefined) [raw, from] = [fromFlag, `--${spec.flag}`];
    else if (fromEnv !== undefined && fromEnv !== '') [raw, from] = [fromEnv, spec.env];
    else if (base[spec.key] !== undefined) [raw, from] = [base[spec.key], 'the config file'];
    else continue;
    const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isInteger(n) || n < spec.min || n > spec.max) {
      throw new FusemlError('USAGE', `${from} ${String(raw)}: must be an integer from ${spec.min} to ${spec.max}`);
    }
    out[spec.key] = n;
  }
  return out;
}
