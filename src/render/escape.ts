// Helpers that turn values into nginx syntax. Handlebars' HTML escaping means nothing to nginx, so the
// templates use only these; each one checks its value and throws rather than emit something unsafe.
import net from 'node:net';
import { isHttpPath, isIngressHost } from '../syntax.js';

import { UnsafeValueError } from '../errors.js';

export { UnsafeValueError }; // defined with the other errors (src/errors.ts)

// Printable ASCII without the characters that end or alter an nginx string: quote, backslash, '$'.
const QUOTABLE = /^[\x20-\x7e]*$/;
const TOKEN = /^[A-Za-z0-9._:/+@-]+$/;
const COMMENT = /^[\x20-\x7e]*$/;

/** A double-quoted nginx string with no variables in it. */
export function str(v: unknown): string {
  const s = String(v);
  // only strings and numbers: a missing value must fail loudly, not render as "undefined"
  if ((typeof v !== 'string' && typeof v !== 'number') || !QUOTABLE.test(s) || /["\\$]/.test(s))
    throw new UnsafeValueError('str', v);
  return `"${s}"`;
}

/** A bare word: names, sizes, numbers, "auto". */
export function tok(v: unknown): string {
  const s = String(v);
  if ((typeof v !== 'string' && typeof v !== 'number') || !TOKEN.test(s)) throw new UnsafeValueError('tok', v);
  return s;
}

export function num(v: unknown): string {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new UnsafeValueError('num', v);
  return String(v);
}

/** An Ingress request path as a quoted location argument. */
export function path(v: unknown): string {
  if (typeof v !== 'string' || !(isHttpPath(v) || (v.endsWith('/') && isHttpPath(v.slice(0, -1) || '/'))))
    throw new UnsafeValueError('path', v);
  return str(v);
}

/** server_name: exact host, one-label wildcard as an anchored regex, "_" for the catch-all. */
export function serverName(v: unknown): string {
  if (v === '') return '_';
  if (typeof v !== 'string' || !isIngressHost(v)) throw new UnsafeValueError('serverName', v);
  if (!v.startsWith('*.')) return v;
  // nginx's own "*.example.com" matches any depth; the Ingress spec allows exactly one label
  return `"~^[^.]+${v.slice(1).replace(/\./g, '\\.')}$"`;
}

/** Host for comments and markers: "_" for the catch-all. */
export function hostLabel(v: unknown): string {
  if (v === '') return '_';
  if (typeof v !== 'string' || !isIngressHost(v)) throw new UnsafeValueError('hostLabel', v);
  return v;
}

/** ADDRESS:PORT for listen and upstream server directives; IPv6 in brackets. */
export function addr(address: unknown, port: unknown): string {
  const p = num(port);
  if (address === '' || address === '*') return p;
  if (typeof address !== 'string' || net.isIP(address) === 0) throw new UnsafeValueError('addr', address);
  return net.isIPv6(address) ? `[${address}]:${p}` : `${address}:${p}`;
}

/** A comment's text: one line of printable ASCII. */
export function comment(v: unknown): string {
  const s = String(v);
  if (!COMMENT.test(s)) throw new UnsafeValueError('comment', v);
  return s;
}

/** A managed file (annotations/family.ts) under the files directory, as a quoted absolute path. */
export function fileIn(dir: unknown, name: unknown): string {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,200}$/.test(name))
    throw new UnsafeValueError('fileIn', name);
  return str(`${String(dir)}/${name}`);
}

// A regex for a location or a rewrite: printable ASCII without whitespace, quotes, braces, ';' or '#'.
const REGEX = /^[\x21-\x7e]{1,4096}$/;

/**
 * A regular expression as a double-quoted nginx string: backslashes doubled, so PCRE sees exactly the
 * regex (nginx turns "\\" into one backslash and "\n" into a newline). Refuses anything that could end
 * the string or the directive, and '$' before a name (nothing here is a variable).
 */
export function regex(v: unknown): string {
  if (typeof v !== 'string' || !REGEX.test(v) || /["'{};#`]/.test(v) || /\$[A-Za-z0-9_{]/.test(v.replace(/\\./g, '')))
    throw new UnsafeValueError('regex', v);
  return `"${v.replace(/\\/g, '\\\\')}"`;
}

// A rewrite replacement: an absolute path (or one starting with a capture) whose only variables are the
// captures $1-$9 of the rewrite's regex; it never starts with a scheme, so nginx never turns it into a redirect.
const REWRITE_TARGET = /^(?:\/|\$[1-9])(?:[A-Za-z0-9\-._~!&()*+,=:@%/?]|\$[1-9])*$/;

/** The replacement of a rewrite directive, quoted; "$1".."$9" are the only variables allowed. */
export function target(v: unknown): string {
  if (typeof v !== 'string' || v.length > 2048 || !REWRITE_TARGET.test(v)) throw new UnsafeValueError('target', v);
  return `"${v}"`;
}

// nginx text the controller writes itself (model/proxy-headers.ts): variables and URL characters only
const HEADER_TEXT = /^(?:\$[a-z_][a-z0-9_]*|[A-Za-z0-9:/._-])*$/;

/**
 * The value of a proxy_set_header line (a HeaderRule of model/proxy-headers.ts): a literal from a
 * manifest as a quoted string without variables, else the controller's own text; empty as "".
 */
export function headerValue(v: unknown): string {
  const h = v as { value?: unknown; literal?: unknown } | null;
  if (h === null || typeof h !== 'object' || typeof h.value !== 'string') throw new UnsafeValueError('headerValue', v);
  if (h.literal === true) return str(h.value);
  if (h.literal !== false || !HEADER_TEXT.test(h.value)) throw new UnsafeValueError('headerValue', h.value);
  return h.value === '' ? '""' : h.value;
}

/** A request header's name: bare (letters, digits, '-', '_', '.'), as nginx reads it without quotes. */
export function headerName(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(v))
    throw new UnsafeValueError('headerName', v);
  return v;
}

export const HELPERS = {
  str,
  tok,
  num,
  path,
  serverName,
  hostLabel,
  addr,
  comment,
  fileIn,
  regex,
  target,
  headerName,
  headerValue,
} as const;
