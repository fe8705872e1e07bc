/** `--chart-mirror ORIGINAL=MIRROR`: rewrites chart repository URLs for air-gapped installs. */
import { FusemlError } from '../core/errors.js';

export interface ChartMirror {
  original: string;
  mirror: string;
}

const norm = (u: string): string => u.replace(/\/+$/, '');

function checkUrl(u: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new FusemlError('USAGE', `--chart-mirror: "${u}" is not a URL`, { hint: `${flag} ORIGINAL_REPO_URL=MIRROR_URL, e.g. https://charts.example.com=http://mirror.local/charts` });
  }
  if (!['http:', 'https:', 'oci:', 'file:'].includes(url.protocol)) {
    throw new FusemlError('USAGE', `--chart-mirror: "${u}" must be an http(s), oci or file URL`);
  }
  return norm(u);
}

export function parseChartMirrors(entries: readonly string[] = []): ChartMirror[] {
  return entries.map((e) => {
    const eq = e.indexOf('=');
    if (eq <= 0 || eq === e.length - 1) {
      throw new FusemlError('USAGE', `--chart-mirror "${e}" is not of the form ORIGINAL=MIRROR`, {
        hint: '--chart-mirror https://charts.example.com=http://mirror.local/charts (repeatable)',
      });
    }
    return { original: checkUrl(e.slice(0, eq), '--chart-mirror'), mirror: checkUrl(e.slice(eq + 1), '--chart-mirror') };
  });
}

/**
 * The URL to use for `repo`: the longest matching original is replaced by its
 * mirror (a match is the whole URL or a prefix ending at a `/`).
 */
export function applyMirror(repo: string, mirrors: readonly ChartMirror[]): string {
  const r = norm(repo);
  let best: ChartMirror | undefined;
  for (const m of mirrors) {
    if ((r === m.original || r.startsWith(m.original + '/')) && (!best || m.original.length > best.original.length)) best = m;
  }
  return best ? best.mirror + r.slice(best.original.length) : repo;
}
