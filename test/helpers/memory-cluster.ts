/**
 * An in-memory ClusterBackend: for unit tests and the orchestration benchmark (which bundles this file with esbuild;
 * test-only code, so not under src/ and not in dist/): no API server; waits succeed at once; outputs from a fixed table.
 */
import { FusemlError } from '../../src/core/errors.js';
import type { OutputSpec } from '../../src/core/extension.js';
import { pickServicePort, type ClusterBackend, type InstallRecord, type Lock, type LockOptions, type OutputContext } from '../../src/installer/cluster.js';
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
  /**
   * Services "in the cluster", by `namespace/name`, with their ports — as a chart would create them. A
   * `service:` output resolves against these the way the real cluster code does (a named or numbered port,
   * else the first; no Service or no such port is NOT_FOUND), so tests see what the cluster would give.
   */
  readonly services = new Map<string, { name?: string; port: number }[]>();
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
    this.private.delete(extension);
  }

  readonly private = new Map<string, Record<string, string>>();

  async readPrivate(extension: string): Promise<Record<string, string>> {
    return { ...(this.private.get(extension) ?? {}) };
  }

  async writePrivate(extension: string, data: Record<string, string>): Promise<void> {
    this.private.set(extension, { ...data });
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
    if (spec.service && !this.values.has(name)) {
      const s = spec.service;
      const ns = s.namespace ?? ctx.namespace;
      const ports = this.services.get(`${ns}/${s.name}`);
      if (!ports) throw new FusemlError('NOT_FOUND', `output ${name}: Service ${ns}/${s.name} not found`);
      const port = pickServicePort(ports, s.port);
      if (!port) throw new FusemlError('NOT_FOUND', `output ${name}: Service ${ns}/${s.name} has no port ${s.port ?? ''}`);
      return `${s.scheme ?? 'http'}://${s.name}.${ns}.svc.cluster.local:${port.port}${s.path ?? ''}`;
    }
    const v = this.values.get(name);
    if (v === undefined) throw new FusemlError('NOT_FOUND', `output ${name}: no value in the memory cluster`);
    return v;
  }
}
