/**
 * Name rules shared by every part: Kubernetes DNS-1123 labels (namespaces, extension names, release names).
 * One pattern, one length limit, one wording.
 */

/** The JSON-Schema form of a DNS-1123 label (without the 63-character limit, which schemas state as maxLength). */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS1123_LABEL = new RegExp(DNS1123_LABEL_PATTERN);
export const DNS1123_LABEL_MAX = 63;

/** True when `s` is a DNS-1123 label: lowercase letters, digits and "-", starting and ending alphanumeric, ≤ 63 characters. */
export function isDns1123Label(s: string): boolean {
  return s.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(s);
}

/** The words messages use for a name that is not a DNS-1123 label (schemas state the length as maxLength). */
export const DNS1123_LABEL_WORDS = 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit';

/** Extension names become helm release names, which helm limits to 53 characters. */
export const EXTENSION_NAME_MAX = 53;

/** An extension name: a DNS-1123 label of at most 53 characters. */
export function isExtensionName(s: string): boolean {
  return s.length <= EXTENSION_NAME_MAX && isDns1123Label(s);
}
