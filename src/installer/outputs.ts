/**
 * Reading an extension's declared outputs from the cluster, the one way install collects them and the
 * doctor recomputes them (to tell whether what was registered is still true).
 */
import type { OutputSpec } from '../core/extension.js';
import { render } from '../core/template.js';
import type { ClusterBackend } from './cluster.js';
import type { ExtensionPlan } from './plan.js';
import { extensionLookup, renderDeep } from './registration.js';

export const OUTPUT_TIMEOUT_MS = 2 * 60_000;

export function isSensitiveOutput(spec: OutputSpec): boolean {
  return spec.sensitive === true || spec.secret !== undefined;
}

/**
 * Every output of `p`, read through the cluster backend. `scriptOutputs` are what a script step wrote in this
 * run, `recorded` the (non-sensitive) outputs an earlier run recorded. Sensitive values read are added to
 * `secrets` (masked in everything shown).
 */
export async function collectOutputs(
  cluster: ClusterBackend,
  p: ExtensionPlan,
  scriptOutputs: Readonly<Record<string, string>>,
  recorded: Readonly<Record<string, string>>,
  opts: { signal?: AbortSignal | undefined; secrets?: Set<string> | undefined } = {},
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  const lookup = extensionLookup(p.ext, p.params, undefined, { namespace: p.namespace });
  const deadline = Date.now() + OUTPUT_TIMEOUT_MS;
  await Promise.all(
    Object.entries(p.ext.outputs).map(async ([name, raw]) => {
      // Output sources may use {{ params.x }} (e.g. a Secret's name); `value` is rendered by readOutput.
      const { value, ...rest } = raw;
      const spec: OutputSpec = { ...renderDeep(rest, lookup), ...(value !== undefined ? { value } : {}) };
      const v = await cluster.readOutput(name, spec, {
        namespace: p.namespace,
        scriptOutputs: { ...recorded, ...scriptOutputs },
        renderValue: (t) => render(t, lookup),
        deadline,
        signal: opts.signal,
      });
      values[name] = v;
      if (isSensitiveOutput(spec) && v.length > 0) opts.secrets?.add(v);
    }),
  );
  return values;
}

/** Only the outputs that may be recorded and shown (sensitive ones dropped). */
export function publicOutputs(p: ExtensionPlan, outputs: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(outputs).filter(([k]) => !isSensitiveOutput(p.ext.outputs[k] as OutputSpec)));
}
