/** Fake helm / kubectl executables (shell scripts in a temp dir) and a fake registry for the installer unit tests. */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FusemlError } from '../../src/core/errors.js';
import type { ExtensionRecord } from '../../src/core/records.js';
import type { RegistryWriter } from '../../src/installer/registry-sink.js';
import type { MemoryCluster } from '../helpers/memory-cluster.js';

// Logs one JSON-ish line per call: start/end timestamps (ms), argv, and the values file's mode + content.
const FAKE = `#!/bin/sh
tool=$(basename "$0")
now() { date +%s%3N; }
start=$(now)
vals=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--values" ] || [ "$prev" = "-f" ]; then vals="$a"; fi
  prev="$a"
done
mode=""
content=""
if [ -n "$vals" ] && [ -f "$vals" ]; then mode=$(stat -c %a "$vals"); content=$(tr '\\n' '|' < "$vals"); fi
sleep "\${FAKE_SLEEP:-0}"
echo "$tool start=$start end=$(now) mode=$mode args=$* values=$content" >> "$FAKE_LOG"
case " $* " in *" \${FAKE_FAIL_ON:-@@none@@} "*) echo "Error: planted failure for $FAKE_FAIL_ON" >&2; exit 1;; esac
exit 0
`;

export interface Fakes {
  dir: string;
  helm: string;
  kubectl: string;
  log: string;
  env: Record<string, string>;
  calls(): Promise<{ tool: string; start: number; end: number; mode: string; args: string; values: string }[]>;
  cleanup(): Promise<void>;
}

export async function makeFakes(sleepSeconds = 0): Promise<Fakes> {
  const dir = await mkdtemp(join(tmpdir(), 'fuseml-fakes-'));
  const helm = join(dir, 'helm');
  const kubectl = join(dir, 'kubectl');
  const log = join(dir, 'calls.log');
  await writeFile(log, '');
  for (const f of [helm, kubectl]) {
    await writeFile(f, FAKE);
    await chmod(f, 0o755);
  }
  return {
    dir,
    helm,
    kubectl,
    log,
    env: { FAKE_LOG: log, FAKE_SLEEP: String(sleepSeconds) },
    async calls() {
      const text = await readFile(log, 'utf8');
      return text.split('\n').filter(Boolean).map((l) => {
        const m = /^(\S+) start=(\d+) end=(\d+) mode=(\S*) args=(.*?) values=(.*)$/.exec(l);
        if (!m) throw new Error(`bad log line ${l}`);
        return { tool: m[1] as string, start: Number(m[2]), end: Number(m[3]), mode: m[4] as string, args: m[5] as string, values: m[6] as string };
      });
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A registry in memory; `up = false` makes every call fail as an unreachable one does. */
export class FakeRegistry implements RegistryWriter {
  records = new Map<string, ExtensionRecord>();
  up = true;
  upserts = 0;
  #down(what: string): void {
    if (!this.up) throw new FusemlError('REGISTRY', `registry http://fake: ${what}: cannot connect (ECONNREFUSED)`);
  }
  async upsertExtension(r: ExtensionRecord) {
    this.#down('PUT /extensions');
    this.upserts++;
    this.records.set(r.id, structuredClone(r));
  }
  async getExtension(id: string) {
    this.#down('GET');
    const r = this.records.get(id);
    if (!r) throw Object.assign(new FusemlError('NOT_FOUND', 'no such'), { status: 404 });
    return structuredClone(r);
  }
  async deleteExtension(id: string) {
    this.#down('DELETE');
    if (!this.records.delete(id)) throw Object.assign(new FusemlError('NOT_FOUND', 'no such'), { status: 404 });
  }
}

/**
 * What the cluster holds for the extensions of test/fixtures/installer/repo once installed: the values their
 * outputs read (`password` is the sensitive one) and the Services their charts create (named ports; the cluster
 * gives their numbers).
 */
export function seedFixtureCluster(cluster: MemoryCluster, secretOutput: string): void {
  cluster.values.set('password', secretOutput);
  cluster.values.set('greeting', 'hello');
  cluster.values.set('greeting_path', 'hello');
  cluster.values.set('public_url', 'http://charlie.fx-charlie.example.test');
  cluster.services.set('fx-alpha/alpha', [{ name: 'http', port: 8080 }]);
  cluster.services.set('fx-bravo/bravo', [{ name: 'http', port: 8080 }]);
}
