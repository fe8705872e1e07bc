/** The kinds of drift `fuseml-installer doctor` reports, with what each means (help, docs, reports). */
export const DRIFT_KINDS = ['release-missing', 'release-failed', 'registered-but-gone', 'not-ready', 'unregistered', 'stale-outputs'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export const DRIFT_MEANINGS: Readonly<Record<DriftKind, string>> = {
  'release-missing': 'the install record says installed, but a helm release of it is gone',
  'release-failed': 'a helm release of it is not deployed (failed, pending…)',
  'registered-but-gone': 'the registry still lists it, but its release is gone or broken',
  'not-ready': 'an object install waited for is not ready now',
  unregistered: 'installed, but the registry does not hold its record',
  'stale-outputs': 'outputs changed since registration (e.g. a collected Secret: a stale credential)',
};
