/**
 * `--mirror ORIGINAL=MIRROR` (and its older name `--chart-mirror`): rewrites
 * the URLs an install fetches — chart repositories, and remote `location` /
 * `values` URLs (a chart .tgz, a manifest, a kustomization, a script) — for
 * air-gapped installs. The longest matching original wins.
 */
import { splitAssignment } from '../core/assign.js';
import { FusemlError } from '../core/errors.js';

export interface Mirror {
  original: string;
  mirror: string;
}
/** The older name, kept for callers of --chart-mirror. */
export type ChartMirror = Mirror;

const norm = (u: string): string => u.replace(/\/+$/, '');

function checkUrl(u: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new FusemlError('USAGE', `${flag}: "${u}" is not a URL`, { hint: `${flag} ORIGINAL_URL=MIRROR_URL, e.g. https://charts.example.com=http://mirror.local/charts` });
  }
  if (!['http:', 'https:', 'oci:', 'file:'].includes(url.protocol)) {
    throw new FusemlError('USAGE', `${flag}: "${u}" must be an http(s), oci or file URL`);
  }
  return norm(u);
}

/** Parses `ORIGINAL=MIRROR` entries; `flag` names the option in messages. */
export function parseMirrors(entries: readonly string[] = [], flag = '--mirror'): Mirror[] {
  return entries.map((e) => {
    const split = splitAssignment(e);
    if (!split.ok || split.value === '') {
      throw new FusemlError('USAGE', `${flag} "${e}" is not of the form ORIGINAL=MIRROR`, {
        hint: `${flag} https://charts.example.com=http://mirror.local/charts (repeatable)`,
      });
    }
    return { original: checkUrl(split.key, flag), mirror: checkUrl(split.value, flag) };
  });
}

/** `--chart-mirror` entries (the older flag; same meaning as --mirror). */
export function parseChartMirrors(entries: readonly string[] = []): Mirror[] {
  return parseMirrors(entries, '--chart-mirror');
}

/**
 * The URL to use for `url`: the longest matching original is replaced by its
 * mirror (a match is the whole URL or a prefix ending at a `/`).
 */
export function applyMirror(url: string, mirrors: readonly Mirror[]): string {
  const r = norm(url);
  let best: Mirror | undefined;
  for (const m of mirrors) {
    if ((r === m.original || r.startsWith(m.original + '/')) && (!best || m.original.length > best.original.length)) best = m;
  }
  return best ? best.mirror + r.slice(best.original.length) : url;
}
