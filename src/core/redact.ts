/** Replaces every occurrence of each secret value in `text` with a fixed mask. */
export const MASK = '***';

export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  // Longest first, so a secret containing another is masked whole.
  const values = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const s of values) out = out.split(s).join(MASK);
  return out;
}

/** A URL for messages: no user info, query or fragment (they may carry secrets). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//').replace(/[?#].*$/, '');
  }
}
