// Request headers sent to the backend: upstream-vhost (the Host header), x-forwarded-prefix, and the
// ConfigMap's proxy-set-headers (custom headers for every backend), as ingress-nginx names them.
//
// A proxy_set_header inside a location would drop every http-level one (nginx inherits the array only
// when a level defines none), so locations never set headers: the http level sends Host and
// X-Forwarded-Prefix from variables that each server sets to the default and a location with these
// annotations overrides with `set` (templates/partials/ann-headers.hbs). Custom headers are rendered
// once at http level, in the one list of request headers (model/proxy-headers.ts).
import net from 'node:net';
import type { Ingress, Problem } from '../../resources.js';
import { objectRef } from '../../resources.js';
import { isHttpPath } from '../../syntax.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, PREFIX, settingsConfigMapRef, settingsConfigMap } from './values.js';
import { isProtectedHeader } from '../proxy-headers.js';

export const UPSTREAM_VHOST = `${PREFIX}upstream-vhost`;
export const X_FORWARDED_PREFIX = `${PREFIX}x-forwarded-prefix`;
export const CONNECTION_PROXY_HEADER = `${PREFIX}connection-proxy-header`;
export const HEADERS_KEYS = [UPSTREAM_VHOST, X_FORWARDED_PREFIX, CONNECTION_PROXY_HEADER] as const;

export interface HeadersConfig {
  host: string | null; // Host header sent to the backend instead of the request's
  prefix: string | null; // X-Forwarded-Prefix value
  // connection-proxy-header: the Connection header instead of $connection_upgrade's (model/proxy-headers.ts)
  connection?: string;
}

/** One custom header for every backend (ConfigMap proxy-set-headers). */
export interface ProxyHeader {
  name: string;
  value: string;
}

// A host name (RFC 1123 labels, any case) or an IPv4 address; IPv6 in brackets; optionally with :port.
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
// Header names: letters, digits, '-', '_' and '.' (RFC 7230 token characters; ConfigMap keys allow no others).
export const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// Header values: printable ASCII; quotes and backslashes are escaped, and only the variables of
// RESPONSE_HEADER_VARIABLES stay variables (render/escape.ts), so ingress-nginx's X-Request-Start: t=${msec} works
export const HEADER_VALUE = /^[\x20-\x7e]{0,1024}$/;
export function isVhost(value: string): boolean {
  const match = /^(\[([0-9A-Fa-f:.]+)\]|[^:[\]]+)(?::([0-9]{1,5}))?$/.exec(value);
  if (!match) return false;
  if (match[3] !== undefined && (Number(match[3]) < 1 || Number(match[3]) > 65535)) return false;
  return match[2] !== undefined ? net.isIPv6(match[2]) : HOSTNAME.test(match[1]!);
}

export function parseHeaders(ing: Ingress, _ctx: AnnotationContext, problems: Problem[]): HeadersConfig | undefined {
  const annotations = ing.meta.annotations;
  const out: HeadersConfig = { host: null, prefix: null };
  if (annotations[UPSTREAM_VHOST] !== undefined) {
    const value = annotations[UPSTREAM_VHOST].trim();
    if (isVhost(value)) out.host = value;
    else
      problems.push(
        annotationProblem(
          ing,
          UPSTREAM_VHOST,
          annotations[UPSTREAM_VHOST],
          'a host name or IP address, optionally with :port',
        ),
      );
  }
  if (annotations[X_FORWARDED_PREFIX] !== undefined) {
    const raw = annotations[X_FORWARDED_PREFIX].trim();
    // a path as an Ingress path may be (no whitespace, quotes, '$', ';', braces), or empty for no header
    if (raw === '' || isHttpPath(raw)) out.prefix = raw;
    else
      problems.push(
        annotationProblem(
          ing,
          X_FORWARDED_PREFIX,
          annotations[X_FORWARDED_PREFIX],
          'an absolute path such as /app (RFC 3986 path characters)',
        ),
      );
  }
  const connection = parseConnection(ing, problems);
  if (connection !== undefined) out.connection = connection;
  return out.host !== null || out.prefix || out.connection !== undefined ? out : undefined;
}

// connection-proxy-header: Connection options (tokens such as close, keep-alive, upgrade), comma-separated.
// ingress-nginx took close or keep-alive only; a list of tokens is as safe (no quote, blank inside a token
// or control character can reach nginx.conf or the header). It is sent through the $connection_upgrade
// variable, which the location sets (ann-headers.hbs), so that the http level keeps the one list of
// request headers (model/proxy-headers.ts).
const CONNECTION_VALUE = /^[A-Za-z0-9-]{1,64}(?:\s*,\s*[A-Za-z0-9-]{1,64}){0,7}$/;

function parseConnection(ing: Ingress, problems: Problem[]): string | undefined {
  const raw = ing.meta.annotations[CONNECTION_PROXY_HEADER];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (CONNECTION_VALUE.test(value)) return value;
  problems.push(
    annotationProblem(
      ing,
      CONNECTION_PROXY_HEADER,
      raw,
      'Connection options such as close or keep-alive (letters, digits and "-", comma-separated)',
    ),
  );
  return undefined;
}

/** The ConfigMap's custom headers, one http item (rendered in the one list of request headers, no partial). */
export interface CustomHeaders {
  headers: ProxyHeader[];
}

export const headersFamily: Family<'headers', HeadersConfig, never, CustomHeaders> = {
  name: 'headers',
  keys: HEADERS_KEYS,
  location: parseHeaders,
  fromSettings(ctx, problems) {
    const headers = proxySetHeaders(ctx.settings.proxySetHeaders, ctx, problems);
    return headers.length ? [{ headers }] : [];
  },
  settingsReferences: (settings) => settingsConfigMapRef(settings.proxySetHeaders),
  constantHeaders: (items) => items.flatMap((item) => item.headers),
};

/**
 * The custom headers of the ConfigMap named by the settings' proxy-set-headers ("namespace/name"), for
 * the http block. A missing ConfigMap is a warning; an unusable header is reported and left out.
 */
export function proxySetHeaders(
  ref: string | null,
  ctx: Pick<AnnotationContext, 'configMap'>,
  problems: Problem[],
): ProxyHeader[] {
  const cm = settingsConfigMap(ref, 'proxy-set-headers', 'no custom headers are sent', ctx, problems);
  if (!cm) return [];
  const where = { file: cm.source.file, line: cm.source.line, object: objectRef(cm) };
  const out: ProxyHeader[] = [];
  const seen = new Set<string>();
  for (const key of Object.keys(cm.data).sort()) {
    const value = cm.data[key]!;
    const field = `data.${key}`;
    if (!HEADER_NAME.test(key)) {
      problems.push({
        severity: 'error',
        ...where,
        field,
        message: 'not a header name (letters, digits, "-", "_" and "."); header not sent',
      });
    } else if (isProtectedHeader(key)) {
      problems.push({
        severity: 'error',
        ...where,
        field,
        message: `header ${key} is set by the controller itself (model/proxy-headers.ts); not sent`,
      });
    } else if (seen.has(key.toLowerCase())) {
      problems.push({
        severity: 'error',
        ...where,
        field,
        message: `header ${key} appears twice (header names are case-insensitive); sent once`,
      });
    } else if (!HEADER_VALUE.test(value)) {
      problems.push({
        severity: 'error',
        ...where,
        field,
        message: `invalid value ${JSON.stringify(value).slice(0, 80)}: expected printable ASCII (at most 1024 characters); header not sent`,
      });
    } else {
      seen.add(key.toLowerCase());
      out.push({ name: key, value });
    }
  }
  return out;
}
