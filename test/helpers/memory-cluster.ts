/**
 * An in-memory ClusterBackend: for unit tests and the orchestration benchmark (which bundles this file with esbuild;
 * test-only code, so not under src/ and not in dist/): no API server; waits succeed at once; outputs from a fixed table.
 */
import { FusemlError } from '../../src/core/errors.js';
import type { OutputSpec } from '../../src/core/extension.js';
import type { ClusterBackend, InstallRecord, Lock, LockOptions, OutputContext } from '../../src/installer/cluster.js';
import type { PlannedWait } from '../../src/installer/plan.js';

export class MemoryCluster implements ClusterBackend {
  readonly records = new Map<string, InstallRecord>();
  /** Namespace → created by us. */
  readonly namespaces = new Map<string, boolean>();
  readonly waits: PlannedWait[] = [];
  /** Every output read, with its (rendered) source. */
  readonly outputReads: { name: string; spec: OutputSpec }[] = [];
  /** Values for secret/configMap/service/ingress/jsonPath outputs, by output name. */
  readonly values = new Map<string, string>();
  holder: string | undefined;
  writes = 0;

  async ping(): Promise<void> {}

  async acquireLock(opts: LockOptions): Promise<Lock> {
    if (this.holder && this.holder !== opts.holder) throw new FusemlError('LOCKED', `another installer holds the lock on this cluster: ${this.holder}`);
    this.holder = opts.holder;
    return { release: async () => void (this.holder = undefined) };
  }

  async readRecords(): Promise<InstallRecord[]> {
    return [...this.records.values()].map((r) => structuredClone(r));
  }

  async writeRecord(record: InstallRecord): Promise<void> {
    this.writes++;
    this.records.set(record.extension, structuredClone(record));
  }

  async deleteRecord(extension: string): Promise<void> {
    this.records.delete(extension);
  }

  async ensureNamespace(namespace: string): Promise<boolean> {
    if (this.namespaces.has(namespace)) return false;
    this.namespaces.set(namespace, true);
    return true;
  }

  async deleteNamespaceIfOurs(namespace: string): Promise<boolean> {
    if (this.namespaces.get(namespace) !== true) return false;
    this.namespaces.delete(namespace);
    return true;
  }

  async wait(w: PlannedWait): Promise<void> {
    this.waits.push(w);
  }

  async readOutput(name: string, spec: OutputSpec, ctx: OutputContext): Promise<string> {
    this.outputReads.push({ name, spec });
    if (spec.value !== undefined) return ctx.renderValue(spec.value);
    if (spec.script) {
      const v = ctx.scriptOutputs[spec.script.key];
      if (v === undefined) throw new FusemlError('NOT_FOUND', `output ${name}: the install script wrote no "${spec.script.key}"`);
      return v;
    }
    if (spec.service && !this.values.has(name)) return `${spec.service.scheme ?? 'http'}://${spec.service.name}.${spec.service.namespace ?? ctx.namespace}.svc.cluster.local:${spec.service.port ?? 80}`;
    const v = this.values.get(name);
    if (v === undefined) throw new FusemlError('NOT_FOUND', `output ${name}: no value in the memory cluster`);
    return v;
  }
}
