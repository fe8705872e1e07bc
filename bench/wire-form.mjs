/**
 * The registry bench's records and fuseml-core's form of them, shared by bench/registry.bench.mjs and the
 * "no duplicated fields" guard (test/integration/registry-wire-bytes.test.ts). Plain ESM so the bench runs it
 * without a build; types in wire-form.d.mts.
 *
 * fuseml-core's form is what its server would send for the same records (facts from fuseml-core's
 * pkg/svc/extension.go, the *ToRest functions): status times formatted with Go's time.RFC3339 (UTC, whole
 * seconds); a service's `auth_required` always (false when unset); a credential set's `default` always;
 * `services`, `endpoints` and `credentials` always (arrays, maybe empty); an endpoint's status `{}`; the nested
 * records carry extension_id / service_id; credential values `<hidden>`; absent optional fields left out.
 */
import { randomBytes } from 'node:crypto';

/** Benchmark extension `i`: 2 services (one with credentials); `products` / `resources` spread the queries. */
export function benchRecord(i, products, resources, id = `ext-${i}`) {
  return {
    id,
    product: `product-${i % products}`,
    version: `1.${i % 10}.${i % 7}`,
    description: `benchmark extension ${i}`,
    zone: `zone-${i % 3}`,
    services: [
      {
        id: 'api',
        resource: `resource-${i % resources}`,
        category: 'prediction-serving',
        endpoints: [{ url: `http://ext-${i}.ns.svc:8080`, type: 'internal', configuration: { API_URL: `http://ext-${i}.ns.svc:8080` } }],
      },
      {
        id: 'store',
        resource: `resource-b-${i % resources}`,
        category: 'model-store',
        endpoints: [{ url: `https://ext-${i}.example.com`, type: 'external' }],
        credentials: [{ id: 'default', scope: 'global', default: true, configuration: { AWS_ACCESS_KEY_ID: `key-${i}`, AWS_SECRET_ACCESS_KEY: randomBytes(16).toString('hex') } }],
      },
    ],
  };
}

/** A time as Go's time.Time.Format(time.RFC3339) writes it: UTC, fractions of a second dropped. */
export function goTime(t) {
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Fields of `o` named in `keys`, in that order (goa's struct order), those that are set. */
function pick(o, keys) {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

/** fuseml-core's serialization of `rec` (one of our extension records, as read back: credential values hidden). */
export function fusemlCoreForm(rec) {
  const st = rec.status ?? {};
  return {
    ...pick(rec, ['id', 'product', 'version', 'description', 'zone', 'configuration']),
    status: { registered: goTime(st.registered), updated: goTime(st.updated) },
    services: (rec.services ?? []).map((s) => ({
      ...pick(s, ['id']),
      extension_id: rec.id,
      ...pick(s, ['resource', 'category', 'description']),
      auth_required: s.auth_required ?? false,
      ...pick(s, ['configuration']),
      status: { registered: goTime(s.status?.registered), updated: goTime(s.status?.updated) },
      endpoints: (s.endpoints ?? []).map((e) => ({
        ...pick(e, ['url']),
        extension_id: rec.id,
        service_id: s.id,
        ...pick(e, ['type', 'configuration']),
        status: {},
      })),
      credentials: (s.credentials ?? []).map((c) => ({
        ...pick(c, ['id']),
        extension_id: rec.id,
        service_id: s.id,
        ...pick(c, ['scope']),
        default: c.default ?? false,
        ...pick(c, ['projects', 'users', 'configuration']),
        status: { created: goTime(c.status?.created), updated: goTime(c.status?.updated) },
      })),
    })),
  };
}

/**
 * The paths (`[0].services[1].revision`) of the fields `ours` carries that `theirs` lacks, objects and arrays
 * walked together; a path's last name in `allowed` (e.g. `revision`, `last_probe`) is not reported.
 */
export function extraFields(ours, theirs, allowed = [], at = '') {
  if (Array.isArray(ours)) {
    return ours.flatMap((x, i) => extraFields(x, Array.isArray(theirs) ? theirs[i] : undefined, allowed, `${at}[${i}]`));
  }
  if (ours === null || typeof ours !== 'object') return [];
  const t = theirs !== null && typeof theirs === 'object' && !Array.isArray(theirs) ? theirs : {};
  return Object.keys(ours).flatMap((k) => {
    if (!(k in t)) return allowed.includes(k) ? [] : [`${at}.${k}`];
    return extraFields(ours[k], t[k], allowed, `${at}.${k}`);
  });
}
