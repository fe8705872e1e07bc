/**
 * Merge rules for what persists across a re-run (one place each):
 * - registry fields set by hand survive a re-registration unless the new record sets them;
 * - parameter values set by the user are reused by the next install / upgrade, like helm's --reuse-values.
 */
import type { ExtensionRecord } from './records.js';

/**
 * The record a whole-record write (PUT /extensions/{id}/record) stores, given the stored one: fields
 * an operator sets by hand — the extension's `zone`, a service's or credentials' `default` (e.g. with
 * `fuseml extension service update --default`) — are kept when the new record leaves them out. A
 * record that sets them (even to `false`) wins. Services and credentials are matched by id.
 */
export function keepHandSetFields(prev: ExtensionRecord | undefined, next: ExtensionRecord): ExtensionRecord {
  if (!prev) return next;
  const out: ExtensionRecord = { ...next };
  if (out.zone === undefined && prev.zone !== undefined) out.zone = prev.zone;
  if (next.services) {
    out.services = next.services.map((svc) => {
      const old = prev.services?.find((p) => p.id === svc.id);
      if (!old) return svc;
      const s = { ...svc };
      if (s.default === undefined && old.default !== undefined) s.default = old.default;
      if (svc.credentials) {
        s.credentials = svc.credentials.map((c) => {
          const oc = old.credentials?.find((x) => x.id === c.id);
          return c.default === undefined && oc?.default !== undefined ? { ...c, default: oc.default } : c;
        });
      }
      return s;
    });
  }
  return out;
}

/**
 * Parameter values for a re-run: the values recorded by the last run (what the user set then), with
 * the new ones over them; `reset` drops the recorded ones (helm's --reset-values). Keys the extension
 * no longer declares are dropped (`declared`).
 */
export function reuseValues<V>(recorded: Readonly<Record<string, V>> | undefined, given: Readonly<Record<string, V>>, opts: { reset?: boolean | undefined; declared?: ((key: string) => boolean) | undefined } = {}): Record<string, V> {
  const out: Record<string, V> = {};
  const keep = opts.declared ?? (() => true);
  if (!opts.reset) for (const [k, v] of Object.entries(recorded ?? {})) if (keep(k)) out[k] = v;
  for (const [k, v] of Object.entries(given)) out[k] = v;
  return out;
}
