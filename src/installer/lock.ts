/**
 * The installer's cluster-wide lock: a coordination.k8s.io Lease in the
 * installer's namespace, taken when free or expired, renewed at a third of its
 * duration, released by a delete guarded by its resourceVersion.
 */
import { hostname, userInfo } from 'node:os';
import { FusemlError } from '../core/errors.js';
import { sleep } from '../core/sleep.js';
import { httpStatus } from '../kube/errors.js';
import { resourceType, type KubeObject, type ResourceClient } from '../kube/resources.js';
import { LEASE_NAME, type Lock, type LockOptions } from './cluster.js';

const LEASES = resourceType('coordination.k8s.io/v1', 'Lease');

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
}
type Lease = KubeObject & { spec?: LeaseSpec };

/** A Lease's MicroTime: RFC 3339 with microseconds. */
const microTime = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** Takes the lock (waiting up to opts.timeoutMs while another live holder has it) and renews it until released. */
export async function acquireLock(client: ResourceClient, namespace: string, durationSeconds: number, opts: LockOptions): Promise<Lock> {
  const deadline = Date.now() + opts.timeoutMs;
  const meta = { name: LEASE_NAME, namespace };
  const spec = (): LeaseSpec => ({ holderIdentity: opts.holder, leaseDurationSeconds: durationSeconds, acquireTime: microTime(), renewTime: microTime() });
  const body = (resourceVersion?: string): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...meta, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: spec(),
  });
  let told = false;
  for (;;) {
    const lease = await client.get<Lease>(LEASES, LEASE_NAME, namespace);
    if (!lease) {
      try {
        await client.create(LEASES, body());
        break;
      } catch (e) {
        if (httpStatus(e) !== 409) throw e;
        continue;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const expired = !holder || Date.now() > renewed + (lease.spec?.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (expired || holder === opts.holder) {
      try {
        await client.replace(LEASES, body(lease.metadata?.resourceVersion));
        break;
      } catch (e) {
        if (httpStatus(e) !== 409) throw e;
        continue;
      }
    }
    if (Date.now() >= deadline) {
      const since = lease.spec?.acquireTime ? ` since ${new Date(lease.spec.acquireTime).toISOString()}` : '';
      throw new FusemlError('LOCKED', `another installer holds the lock on this cluster: ${holder}${since}`, {
        hint: `wait for it to finish, or pass --lock-timeout 10m to wait; a killed installer's lock expires after ${durationSeconds}s`,
      });
    }
    if (!told) {
      opts.onWait?.(holder);
      told = true;
    }
    await sleep(Math.min(1000, Math.max(50, deadline - Date.now())), opts.signal);
  }
  // Renew until released.
  let stopped = false;
  const timer = setInterval(() => {
    void (async () => {
      try {
        const l = await client.get<Lease>(LEASES, LEASE_NAME, namespace);
        if (!l || stopped || l.spec?.holderIdentity !== opts.holder) return;
        await client.replace(LEASES, { ...l, spec: { ...l.spec, renewTime: microTime() } });
      } catch {
        // The next renewal tries again; the lease outlives a missed one.
      }
    })();
  }, Math.max(1000, (durationSeconds * 1000) / 3));
  timer.unref();
  return {
    release: async () => {
      stopped = true;
      clearInterval(timer);
      try {
        const l = await client.get<Lease>(LEASES, LEASE_NAME, namespace);
        if (l?.spec?.holderIdentity === opts.holder) await client.delete(LEASES, LEASE_NAME, namespace, { resourceVersion: l.metadata?.resourceVersion });
      } catch {
        // Gone already, or taken over after expiry.
      }
    },
  };
}

/** `user@host pid N`: who holds the lock, for the message a second installer prints. */
export function lockHolder(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return `${user}@${hostname()} pid ${process.pid}`;
}
