// The shapes a manifest value must have before it may reach nginx.conf.
// Both the loader's schemas and the render helpers use these, so there is one definition of "safe".
import net from 'node:net';

// RFC 1123 label: lower case alphanumerics and '-', starting and ending alphanumeric, 1-63 chars.
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// RFC 1123 subdomain: dot-separated labels, at most 253 chars.
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
// Ingress host: a subdomain, optionally with "*." as the whole first label.
export const INGRESS_HOST = /^(\*\.)?(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
// HTTP path of an Ingress rule: absolute, RFC 3986 path characters only. No whitespace, quotes,
// braces, ';', '$', '#', '\\' or control characters: nothing nginx's parser would treat specially.
export const HTTP_PATH = /^\/[A-Za-z0-9\-._~!&()*+,=:@%/]*$/;
export const MAX_PATH_LENGTH = 2048;
// Port name: IANA_SVC_NAME as Kubernetes validates it (we accept the looser DNS label shape).
export const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Secret / ConfigMap data keys.
export const DATA_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

export function isIngressHost(s: string): boolean {
  return INGRESS_HOST.test(s) && net.isIP(s.replace(/^\*\./, '')) === 0;
}

export function isHttpPath(s: string): boolean {
  return s.length <= MAX_PATH_LENGTH && HTTP_PATH.test(s);
}

export function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

export function isIP(s: string): boolean {
  return net.isIP(s) !== 0;
}

// Kubernetes qualified name (annotation and label keys): an optional DNS subdomain prefix and '/',
// then 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric.
export const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function isQualifiedName(s: string): boolean {
  const slash = s.indexOf('/');
  return QUALIFIED_NAME.test(s) && slash <= 253;
}
