// The shapes a manifest value must have before it may reach nginx.conf.
// Both the loader's schemas and the render helpers use these, so there is one definition of "safe".
import net from 'node:net';

// RFC 1123 label: lower case alphanumerics and '-', starting and ending alphanumeric, 1-63 chars.
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// RFC 1123 subdomain: dot-separated labels, at most 253 chars.
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
// Ingress host: a subdomain, optionally with "*." as the whole first label.
export const INGRESS_HOST =
  /^(\*\.)?(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
// HTTP path of an Ingress rule: absolute, RFC 3986 path characters only. No whitespace, quotes,
// braces, ';', '$', '#', '\\' or control characters: nothing nginx's parser would treat specially.
export const HTTP_PATH = /^\/[A-Za-z0-9\-._~!&()*+,=:@%/]*$/;
export const MAX_PATH_LENGTH = 2048;
// A regular-expression path (use-regex / rewrite-target): the path characters plus the regex
// metacharacters ^ $ . * + ? ( ) [ ] { } | and backslash. Never whitespace, quotes, ';' or '#', so it
// cannot leave the quoted string it is rendered in (where a brace is no block); further rules in isRegexPath.
export const REGEX_PATH = /^\/[A-Za-z0-9\-._~!&()*+,=:@%/^$?[\]{}|\\]*$/;
// a counted repetition, as PCRE and a JS RegExp both read it: {n}, {n,} or {n,m}
const QUANTIFIER = /\{\d{1,4}(,\d{0,4})?\}/g;
// Port name: IANA_SVC_NAME as Kubernetes validates it (we accept the looser DNS label shape).
export const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Secret / ConfigMap data keys.
export const DATA_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

export function isIngressHost(host: string): boolean {
  return INGRESS_HOST.test(host) && net.isIP(host.replace(/^\*\./, '')) === 0;
}

export function isHttpPath(path: string): boolean {
  return path.length <= MAX_PATH_LENGTH && HTTP_PATH.test(path);
}

/**
 * A regex path as nginx (PCRE) and a JS RegExp both read it the same way: '$' only as an anchor (at the
 * end, or before ')' or '|', so nothing looks like an nginx variable), a backslash only before a
 * metacharacter, '/', '-' or a class letter (\d \w \s \b and their negations), no empty class, and braces
 * only as a counted repetition after something to repeat ({3}, {2,}, {1,3}) or escaped.
 */
export function isRegexPath(path: string): boolean {
  if (path.length > MAX_PATH_LENGTH || !REGEX_PATH.test(path)) return false;
  if (/\$(?![)|]|$)/.test(path.replace(/\\./g, ''))) return false;
  if (/\\(?![\\^$.*+?()[\]{}|/dDwWsSbB-])/.test(path.replace(/\\\\/g, ''))) return false;
  const unescaped = path.replace(/\\./g, 'x');
  if (/[{}]/.test(unescaped.replace(QUANTIFIER, ''))) return false;
  // something to repeat: not after "(", "|", "^", "$" or another repetition ("a*{2}" is an error in PCRE)
  for (const found of unescaped.matchAll(QUANTIFIER)) if (/[(|^$*+?}]/.test(unescaped[found.index - 1]!)) return false;
  if (/(^|[^\\])\[\^?\]/.test(path)) return false;
  return true;
}

/** An Ingress rule path: a plain HTTP path, or a regex path (which only a regex Ingress may use). */
export function isIngressPath(path: string): boolean {
  return isHttpPath(path) || isRegexPath(path);
}

export function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

export function isIP(address: string): boolean {
  return net.isIP(address) !== 0;
}

// Kubernetes qualified name (annotation and label keys): an optional DNS subdomain prefix and '/',
// then 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric.
export const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function isQualifiedName(name: string): boolean {
  const slash = name.indexOf('/');
  return QUALIFIED_NAME.test(name) && slash <= 253;
}
