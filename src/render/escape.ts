// Helpers that turn values into nginx syntax. Handlebars' HTML escaping means nothing to nginx, so the
// templates use only these; each one checks its value and throws rather than emit something unsafe.
import net from 'node:net';
import { isHttpPath, isIngressHost } from '../syntax.js';

import { UnsafeValueError } from '../errors.js';
import { fastCgiValue } from '../model/annotations/backend-protocol.js';
import { isMirrorProxyUrl } from '../model/annotations/mirror.js';
import { SETTINGS_HELPERS } from './escape-settings.js';

export { UnsafeValueError }; // defined with the other errors (src/errors.ts)

// Printable ASCII without the characters that end or alter an nginx string: quote, backslash, '$'.
const QUOTABLE = /^[\x20-\x7e]*$/;
const TOKEN = /^[A-Za-z0-9._:/+@-]+$/;
const COMMENT = /^[\x20-\x7e]*$/;

/** A double-quoted nginx string with no variables in it. */
export function str(value: unknown): string {
  const text = String(value);
  // only strings and numbers: a missing value must fail loudly, not render as "undefined"
  if ((typeof value !== 'string' && typeof value !== 'number') || !QUOTABLE.test(text) || /["\\$]/.test(text))
    throw new UnsafeValueError('str', value);
  return `"${text}"`;
}

/** A bare word: names, sizes, numbers, "auto". */
export function tok(value: unknown): string {
  const text = String(value);
  if ((typeof value !== 'string' && typeof value !== 'number') || !TOKEN.test(text))
    throw new UnsafeValueError('tok', value);
  return text;
}

export function num(value: unknown): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new UnsafeValueError('num', value);
  return String(value);
}

/** An Ingress request path as a quoted location argument. */
export function path(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !(isHttpPath(value) || (value.endsWith('/') && isHttpPath(value.slice(0, -1) || '/')))
  )
    throw new UnsafeValueError('path', value);
  return str(value);
}

/** server_name: exact host, one-label wildcard as an anchored regex, "_" for the catch-all. */
export function serverName(value: unknown): string {
  if (value === '') return '_';
  if (typeof value !== 'string' || !isIngressHost(value)) throw new UnsafeValueError('serverName', value);
  if (!value.startsWith('*.')) return value;
  // nginx's own "*.example.com" matches any depth; the Ingress spec allows exactly one label
  return `"~^[^.]+${value.slice(1).replace(/\./g, '\\.')}$"`;
}

/** Host for comments and markers: "_" for the catch-all. */
export function hostLabel(value: unknown): string {
  if (value === '') return '_';
  if (typeof value !== 'string' || !isIngressHost(value)) throw new UnsafeValueError('hostLabel', value);
  return value;
}

/** ADDRESS:PORT for listen and upstream server directives; IPv6 in brackets. */
export function addr(address: unknown, port: unknown): string {
  const portText = num(port);
  if (address === '' || address === '*') return portText;
  if (typeof address !== 'string' || net.isIP(address) === 0) throw new UnsafeValueError('addr', address);
  return net.isIPv6(address) ? `[${address}]:${portText}` : `${address}:${portText}`;
}

/** A comment's text: one line of printable ASCII. */
export function comment(value: unknown): string {
  const text = String(value);
  if (!COMMENT.test(text)) throw new UnsafeValueError('comment', value);
  return text;
}

/** A managed file (annotations/family.ts) under the files directory, as a quoted absolute path. */
export function fileIn(dir: unknown, name: unknown): string {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,200}$/.test(name))
    throw new UnsafeValueError('fileIn', name);
  return str(`${String(dir)}/${name}`);
}

// A regex for a location or a rewrite: printable ASCII without whitespace, quotes, ';' or '#'. Braces are
// PCRE's repetition ({3}): inside the double-quoted string they are no block to nginx's parser.
const REGEX = /^[\x21-\x7e]{1,4096}$/;

/**
 * A regular expression as a double-quoted nginx string: backslashes doubled, so PCRE sees exactly the
 * regex (nginx turns "\\" into one backslash and "\n" into a newline). Refuses anything that could end
 * the string or the directive, and '$' before a name (nothing here is a variable).
 */
export function regex(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !REGEX.test(value) ||
    /["';#`]/.test(value) ||
    /\$[A-Za-z0-9_{]/.test(value.replace(/\\./g, ''))
  )
    throw new UnsafeValueError('regex', value);
  return `"${value.replace(/\\/g, '\\\\')}"`;
}

// A rewrite replacement: an absolute path (or one starting with a capture) whose only variables are the
// captures $1-$9 of the rewrite's regex; it never starts with a scheme, so nginx never turns it into a redirect.
const REWRITE_TARGET = /^(?:\/|\$[1-9])(?:[A-Za-z0-9\-._~!&()*+,=:@%/?]|\$[1-9])*$/;

/** The replacement of a rewrite directive, quoted; "$1".."$9" are the only variables allowed. */
export function target(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048 || !REWRITE_TARGET.test(value))
    throw new UnsafeValueError('target', value);
  return `"${value}"`;
}

// nginx text the controller writes itself (model/proxy-headers.ts): variables and URL characters only
const HEADER_TEXT = /^(?:\$[a-z_][a-z0-9_]*|[A-Za-z0-9:/._-])*$/;

/**
 * The value of a proxy_set_header line (a HeaderRule of model/proxy-headers.ts): a literal from a
 * manifest as a quoted string in which only RESPONSE_HEADER_VARIABLES are variables (responseText), else
 * the controller's own text; empty as "".
 */
export function headerValue(value: unknown): string {
  const rule = value as { value?: unknown; literal?: unknown } | null;
  if (rule === null || typeof rule !== 'object' || typeof rule.value !== 'string')
    throw new UnsafeValueError('headerValue', value);
  if (rule.literal === true) return rule.value === '' ? '""' : `"${responseText(rule.value, 'headerValue')}"`;
  if (rule.literal !== false || !HEADER_TEXT.test(rule.value)) throw new UnsafeValueError('headerValue', rule.value);
  return rule.value === '' ? '""' : rule.value;
}

/** A request header's name: bare (letters, digits, '-', '_', '.'), as nginx reads it without quotes. */
export function headerName(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(value))
    throw new UnsafeValueError('headerName', value);
  return value;
}

/**
 * What a mirror's internal location proxies to (model/annotations/mirror.ts): the target's upstream, then a
 * path and query whose only variables are the mirror's allowed ones, written ${name}; quoted.
 */
export function mirrorUrl(value: unknown): string {
  if (typeof value !== 'string' || !isMirrorProxyUrl(value)) throw new UnsafeValueError('mirrorUrl', value);
  return `"${value}"`;
}

/**
 * A FastCGI parameter value (fastcgi-params-configmap): path characters and the CGI variables that
 * model/annotations/backend-protocol.ts allows, quoted; anything else is refused here again.
 */
export function cgiValue(value: unknown): string {
  if (typeof value !== 'string' || fastCgiValue(value) === null) throw new UnsafeValueError('cgiValue', value);
  return `"${value}"`;
}

/**
 * The nginx variables a response header's value may use (ConfigMap add-headers, annotation
 * custom-headers), as $name or ${name}: what nginx computes itself about the time and the request (the
 * docs of ingress-nginx write X-Request-Start: t=${msec}), none of them a client's header passed through
 * verbatim. Every other "$" is a literal dollar sign: no value can read another variable (a cookie, a
 * client header, an auth result) into a response.
 */
export const RESPONSE_HEADER_VARIABLES: ReadonlySet<string> = new Set([
  'msec',
  'time_iso8601',
  'time_local',
  'request_id',
  'host',
  'scheme',
]);

// defined in http {} whenever response headers are rendered (nginx.conf.hbs): nginx has no escape for "$"
const LITERAL_DOLLAR = '${ingress_templater_dollar}';

/** A response header's value as the inside of a quoted nginx string: allowed variables, everything else literal. */
function responseText(value: unknown, helper: string): string {
  if (typeof value !== 'string' || !/^[\x20-\x7e]{1,4096}$/.test(value)) throw new UnsafeValueError(helper, value);
  return (
    value
      // a variable is always written ${name}, so that no letter after it can lengthen its name
      .replace(/\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))?/g, (match, braced?: string, bare?: string) => {
        const name = braced ?? bare;
        return name !== undefined && RESPONSE_HEADER_VARIABLES.has(name)
          ? `\${${name}}`
          : `${LITERAL_DOLLAR}${match.slice(1)}`;
      })
      // nginx unescapes \" and \\ (and \n, \t...) in a quoted string: a backslash stays a backslash
      .replace(/["\\]/g, '\\$&')
  );
}

/** more_set_headers' argument: "Name: value" quoted, the value as responseText. */
export function responseHeader(name: unknown, value: unknown): string {
  return `"${headerName(name)}: ${responseText(value, 'responseHeader')}"`;
}

/** add_header's value (nginx without headers-more): quoted, as responseText. */
export function responseValue(value: unknown): string {
  return `"${responseText(value, 'responseValue')}"`;
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
  cgiValue,
  mirrorUrl,
  responseHeader,
  responseValue,
  // issue 13's ConfigMap keys
  ...SETTINGS_HELPERS,
} as const;
