// Proxy behaviour per Ingress: body size, timeouts, retries (next upstream) and response buffering, with
// the annotation names, value formats and defaults of ingress-nginx. Only the annotations an Ingress sets
// are rendered (templates/partials/ann-proxy.hbs); everything else keeps the http-level defaults that
// the settings ConfigMap controls.
import type { Ingress, Problem } from '../../resources.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseIntIn, PREFIX } from './values.js';

export const PROXY_BODY_SIZE = `${PREFIX}proxy-body-size`;
export const PROXY_CONNECT_TIMEOUT = `${PREFIX}proxy-connect-timeout`;
export const PROXY_READ_TIMEOUT = `${PREFIX}proxy-read-timeout`;
export const PROXY_SEND_TIMEOUT = `${PREFIX}proxy-send-timeout`;
export const PROXY_NEXT_UPSTREAM = `${PREFIX}proxy-next-upstream`;
export const PROXY_NEXT_UPSTREAM_TRIES = `${PREFIX}proxy-next-upstream-tries`;
export const PROXY_NEXT_UPSTREAM_TIMEOUT = `${PREFIX}proxy-next-upstream-timeout`;
export const PROXY_BUFFERING = `${PREFIX}proxy-buffering`;
export const PROXY_BUFFER_SIZE = `${PREFIX}proxy-buffer-size`;
export const PROXY_BUFFERS_NUMBER = `${PREFIX}proxy-buffers-number`;
export const PROXY_BUSY_BUFFERS_SIZE = `${PREFIX}proxy-busy-buffers-size`;
export const PROXY_MAX_TEMP_FILE_SIZE = `${PREFIX}proxy-max-temp-file-size`;
export const PROXY_REQUEST_BUFFERING = `${PREFIX}proxy-request-buffering`;
export const PROXY_HTTP_VERSION = `${PREFIX}proxy-http-version`;
export const CLIENT_BODY_BUFFER_SIZE = `${PREFIX}client-body-buffer-size`;
export const PROXY_COOKIE_DOMAIN = `${PREFIX}proxy-cookie-domain`;
export const PROXY_COOKIE_PATH = `${PREFIX}proxy-cookie-path`;
export const PROXY_REDIRECT_FROM = `${PREFIX}proxy-redirect-from`;
export const PROXY_REDIRECT_TO = `${PREFIX}proxy-redirect-to`;
export const LIMIT_RATE = `${PREFIX}limit-rate`;
export const LIMIT_RATE_AFTER = `${PREFIX}limit-rate-after`;
export const ENABLE_ACCESS_LOG = `${PREFIX}enable-access-log`;
export const ENABLE_REWRITE_LOG = `${PREFIX}enable-rewrite-log`;

export const PROXY_KEYS = [
  PROXY_BODY_SIZE,
  PROXY_CONNECT_TIMEOUT,
  PROXY_READ_TIMEOUT,
  PROXY_SEND_TIMEOUT,
  PROXY_NEXT_UPSTREAM,
  PROXY_NEXT_UPSTREAM_TRIES,
  PROXY_NEXT_UPSTREAM_TIMEOUT,
  PROXY_BUFFERING,
  PROXY_BUFFER_SIZE,
  PROXY_BUFFERS_NUMBER,
  PROXY_BUSY_BUFFERS_SIZE,
  PROXY_MAX_TEMP_FILE_SIZE,
  PROXY_REQUEST_BUFFERING,
  PROXY_HTTP_VERSION,
  CLIENT_BODY_BUFFER_SIZE,
  PROXY_COOKIE_DOMAIN,
  PROXY_COOKIE_PATH,
  PROXY_REDIRECT_FROM,
  PROXY_REDIRECT_TO,
  LIMIT_RATE,
  LIMIT_RATE_AFTER,
  ENABLE_ACCESS_LOG,
  ENABLE_REWRITE_LOG,
] as const;

// proxy_next_upstream conditions ingress-nginx accepts (its validation regex lists exactly these)
export const NEXT_UPSTREAM_CONDITIONS: readonly string[] = [
  'error',
  'timeout',
  'invalid_header',
  'http_500',
  'http_502',
  'http_503',
  'http_504',
  'http_403',
  'http_404',
  'http_429',
  'non_idempotent',
  'off',
];

/** Location config: null means "not set by this Ingress", so the http-level default applies. */
export interface ProxyConfig {
  bodySize: string | null; // client_max_body_size
  connectTimeout: number | null; // seconds
  readTimeout: number | null;
  sendTimeout: number | null;
  nextUpstream: string[] | null;
  nextUpstreamTries: number | null; // 0: no limit
  nextUpstreamTimeout: number | null; // seconds, 0: no limit
  buffering: 'on' | 'off' | null;
  buffers: { number: number; size: string } | null; // proxy_buffer_size + proxy_buffers, always together
  busyBuffersSize: string | null; // proxy_busy_buffers_size, checked against the buffers in effect
  maxTempFileSize: string | null; // proxy_max_temp_file_size (0: responses are not buffered to disk)
  requestBuffering: 'on' | 'off' | null;
  httpVersion: '1.0' | '1.1' | null;
  clientBodyBufferSize: string | null;
  cookieDomain: Rewrite | null; // proxy_cookie_domain
  cookiePath: Rewrite | null; // proxy_cookie_path
  redirect: Rewrite | null; // proxy_redirect
  limitRate: number | null; // kilobytes per second, as ingress-nginx (0: no limit)
  limitRateAfter: number | null; // kilobytes
  accessLogOff: boolean | null; // enable-access-log: "false"
  rewriteLog: boolean | null; // enable-rewrite-log: "true"
}

/** FROM TO of proxy_cookie_domain, proxy_cookie_path, proxy_redirect, or one of nginx's keywords alone. */
export type Rewrite = { keyword: 'off' } | { from: string; to: string };

// nginx sizes: digits with an optional k/m/g suffix (no space: "1 m" is refused); 0 disables the limit
const BODY_SIZE = /^[0-9]{1,9}[kKmMgG]?$/;
// proxy_buffer_size takes a size_t: no 'g' suffix, not zero
const BUFFER_SIZE = /^[0-9]{1,9}[kKmM]?$/;
const MAX_BUFFER_BYTES = 16 * 1024 * 1024;

function sizeBytes(value: string): number {
  const unit = value.slice(-1).toLowerCase();
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : unit === 'g' ? 1024 * 1024 * 1024 : 1;
  return Number(/[0-9]$/.test(value) ? value : value.slice(0, -1)) * scale;
}

export function parseProxy(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): ProxyConfig | undefined {
  const annotations = ing.meta.annotations;
  const out: ProxyConfig = {
    bodySize: null,
    connectTimeout: null,
    readTimeout: null,
    sendTimeout: null,
    nextUpstream: null,
    nextUpstreamTries: null,
    nextUpstreamTimeout: null,
    buffering: null,
    buffers: null,
    busyBuffersSize: null,
    maxTempFileSize: null,
    requestBuffering: null,
    httpVersion: null,
    clientBodyBufferSize: null,
    cookieDomain: null,
    cookiePath: null,
    redirect: null,
    limitRate: null,
    limitRateAfter: null,
    accessLogOff: null,
    rewriteLog: null,
  };
  let any = false;
  const read = <T>(key: string, parse: (value: string) => T | undefined, expected: string): T | undefined => {
    const raw = annotations[key];
    if (raw === undefined) return undefined;
    const parsed = parse(raw);
    if (parsed === undefined) problems.push(annotationProblem(ing, key, raw, expected));
    else any = true;
    return parsed;
  };
  const seconds = (max: number) => (v: string) => parseIntIn(v, 1, max);

  out.bodySize =
    read(
      PROXY_BODY_SIZE,
      (v) => (BODY_SIZE.test(v.trim()) ? v.trim().toLowerCase() : undefined),
      'an nginx size such as 8m, 512k or 0 (digits with an optional k, m or g suffix)',
    ) ?? null;
  out.connectTimeout = read(PROXY_CONNECT_TIMEOUT, seconds(3600), 'seconds as an integer, 1-3600') ?? null;
  out.readTimeout = read(PROXY_READ_TIMEOUT, seconds(86400), 'seconds as an integer, 1-86400') ?? null;
  out.sendTimeout = read(PROXY_SEND_TIMEOUT, seconds(86400), 'seconds as an integer, 1-86400') ?? null;
  const nextUpstream = read(
    PROXY_NEXT_UPSTREAM,
    parseNextUpstream,
    `space-separated conditions among ${NEXT_UPSTREAM_CONDITIONS.join(' ')} ("off" alone)`,
  );
  // the ConfigMap's retry-non-idempotent applies to an Ingress's own conditions too, as in ingress-nginx
  out.nextUpstream = nextUpstream ? [...withNonIdempotent(nextUpstream, ctx.settings.retryNonIdempotent)] : null;
  out.nextUpstreamTries =
    read(PROXY_NEXT_UPSTREAM_TRIES, (v) => parseIntIn(v, 0, 999_999_999), 'a whole number (0: no limit)') ?? null;
  out.nextUpstreamTimeout =
    read(PROXY_NEXT_UPSTREAM_TIMEOUT, (v) => parseIntIn(v, 0, 86400), 'seconds as an integer, 0-86400 (0: no limit)') ??
    null;
  out.buffering =
    read(
      PROXY_BUFFERING,
      (value) => {
        const trimmed = value.trim().toLowerCase();
        return trimmed === 'on' || trimmed === 'off' ? trimmed : undefined;
      },
      '"on" or "off"',
    ) ?? null;
  const size = read(
    PROXY_BUFFER_SIZE,
    (value) => {
      const trimmed = value.trim();
      if (!BUFFER_SIZE.test(trimmed)) return undefined;
      const bytes = sizeBytes(trimmed);
      return bytes >= 1 && bytes <= MAX_BUFFER_BYTES ? trimmed.toLowerCase() : undefined;
    },
    'a non-zero nginx size up to 16m in bytes, k or m, such as 8k',
  );
  // nginx refuses fewer than 4 buffers of proxy_buffer_size: its default busy size (two buffers) must stay
  // below all buffers but one
  const number = read(PROXY_BUFFERS_NUMBER, (v) => parseIntIn(v, 4, 1024), 'an integer 4-1024');
  if (size !== undefined || number !== undefined) {
    out.buffers = { number: number ?? ctx.settings.proxyBuffersNumber, size: size ?? ctx.settings.proxyBufferSize };
  }
  // what nginx -t checks: busy buffers at least one buffer and below all buffers but one; a temp file at
  // least one buffer (or 0), with the buffers this location ends up with
  const bufferBytes = sizeBytes(out.buffers?.size ?? ctx.settings.proxyBufferSize);
  const bufferCount = out.buffers?.number ?? ctx.settings.proxyBuffersNumber;
  const busyMax = (bufferCount - 1) * bufferBytes;
  out.busyBuffersSize =
    read(
      PROXY_BUSY_BUFFERS_SIZE,
      (value) => {
        const trimmed = value.trim();
        if (!BUFFER_SIZE.test(trimmed)) return undefined;
        const bytes = sizeBytes(trimmed);
        return bytes >= bufferBytes && bytes < busyMax ? trimmed.toLowerCase() : undefined;
      },
      `an nginx size of at least one proxy buffer (${bufferBytes} bytes) and below ${bufferCount - 1} of them (${busyMax} bytes), such as 16k`,
    ) ?? null;
  // the ConfigMap's proxy-busy-buffers-size, inherited from http {}, may not fit this location's own
  // buffers: nginx -t would refuse it, so the location takes nginx's default (two buffers) instead
  const inheritedBusy = ctx.settings.proxyBusyBuffersSize;
  if (out.busyBuffersSize === null && out.buffers && inheritedBusy !== null) {
    const bytes = sizeBytes(inheritedBusy);
    if (bytes < bufferBytes || bytes >= busyMax) out.busyBuffersSize = String(2 * bufferBytes);
  }
  out.maxTempFileSize =
    read(
      PROXY_MAX_TEMP_FILE_SIZE,
      (value) => {
        const trimmed = value.trim();
        if (!BODY_SIZE.test(trimmed)) return undefined;
        const bytes = sizeBytes(trimmed);
        return bytes === 0 || bytes >= Math.max(bufferBytes, sizeBytes(out.busyBuffersSize ?? '0'))
          ? trimmed.toLowerCase()
          : undefined;
      },
      `0 or an nginx size of at least one proxy buffer (${bufferBytes} bytes), such as 1024m`,
    ) ?? null;
  out.requestBuffering = read(PROXY_REQUEST_BUFFERING, onOff, '"on" or "off"') ?? null;
  out.httpVersion =
    read(
      PROXY_HTTP_VERSION,
      (value) => (value.trim() === '1.0' || value.trim() === '1.1' ? (value.trim() as '1.0' | '1.1') : undefined),
      '"1.0" or "1.1"',
    ) ?? null;
  out.clientBodyBufferSize =
    read(
      CLIENT_BODY_BUFFER_SIZE,
      (value) =>
        BUFFER_SIZE.test(value.trim()) && sizeBytes(value.trim()) > 0 ? value.trim().toLowerCase() : undefined,
      'a non-zero nginx size in bytes, k or m, such as 16k',
    ) ?? null;
  out.cookieDomain = read(PROXY_COOKIE_DOMAIN, cookieRewrite, '"off", or FROM and TO separated by a space') ?? null;
  out.cookiePath = read(PROXY_COOKIE_PATH, cookieRewrite, '"off", or FROM and TO separated by a space') ?? null;
  out.redirect = parseRedirect(ing, problems) ?? null;
  if (out.redirect) any = true;
  out.limitRate = read(LIMIT_RATE, (v) => parseIntIn(v, 0, 10_000_000), 'kilobytes per second as an integer') ?? null;
  out.limitRateAfter = read(LIMIT_RATE_AFTER, (v) => parseIntIn(v, 0, 10_000_000), 'kilobytes as an integer') ?? null;
  // nginx limits only buffered answers, as ingress-nginx's docs warn: say so where it would silently do nothing
  if (out.limitRate && (out.buffering ?? ctx.settings.proxyBuffering) !== 'on')
    problems.push({
      ...annotationProblem(ing, LIMIT_RATE, annotations[LIMIT_RATE]!, ''),
      severity: 'warning',
      message: `has no effect while proxy-buffering is off (nginx does not limit unbuffered answers; ingress-nginx's docs say the same): set ${PROXY_BUFFERING}: "on" on this Ingress, or proxy-buffering in the settings ConfigMap`,
    });
  const accessLog = read(ENABLE_ACCESS_LOG, parseBoolean, '"true" or "false"');
  out.accessLogOff = accessLog === undefined ? null : !accessLog;
  out.rewriteLog = read(ENABLE_REWRITE_LOG, parseBoolean, '"true" or "false"') ?? null;
  return any ? out : undefined;
}

function onOff(value: string): 'on' | 'off' | undefined {
  const trimmed = value.trim().toLowerCase();
  return trimmed === 'on' || trimmed === 'off' ? trimmed : undefined;
}

function parseBoolean(value: string): boolean | undefined {
  const trimmed = value.trim().toLowerCase();
  return trimmed === 'true' ? true : trimmed === 'false' ? false : undefined;
}

// ingress-nginx's characters for a cookie domain or path rewrite: no variables, no quotes, no spaces inside
const COOKIE_PART = /^[-._~a-zA-Z0-9/:]{1,253}$/;

export function cookieRewrite(value: string): Rewrite | undefined {
  const trimmed = value.trim();
  if (trimmed === 'off') return { keyword: 'off' };
  const parts = trimmed.split(/\s+/);
  return parts.length === 2 && parts.every((part) => COOKIE_PART.test(part))
    ? { from: parts[0]!, to: parts[1]! }
    : undefined;
}

// a URL or path of proxy_redirect: nginx's own words "default" and "off" come from proxy-redirect-from alone
const REDIRECT_URL = /^(https?:\/\/[-a-zA-Z0-9.:[\]]+)?\/?[-a-zA-Z0-9._~!&()*+,=:@%/]*$/;

/** A FROM or TO of proxy_redirect: a URL or path without variables (the settings' keys read it too). */
export function parseRedirectUrl(url: string): string | undefined {
  return url.length > 0 && url.length <= 2048 && REDIRECT_URL.test(url) ? url : undefined;
}

/** proxy-redirect-from (and -to): "off", "default", or FROM and TO URLs; undefined when neither is set. */
function parseRedirect(ing: Ingress, problems: Problem[]): Rewrite | undefined {
  const from = ing.meta.annotations[PROXY_REDIRECT_FROM]?.trim();
  const to = ing.meta.annotations[PROXY_REDIRECT_TO]?.trim();
  if (from === undefined) {
    if (to !== undefined)
      problems.push(annotationProblem(ing, PROXY_REDIRECT_TO, to, `${PROXY_REDIRECT_FROM} beside it`));
    return undefined;
  }
  if (from === 'off') return { keyword: from };
  if (from === 'default') {
    // nginx accepts "proxy_redirect default" only after proxy_pass, and the families render before it
    problems.push({
      ...annotationProblem(ing, PROXY_REDIRECT_FROM, from, ''),
      severity: 'warning',
      message: `"default" is not supported by ingress-templater (ingress-nginx's proxy_redirect default); ignored, Location headers pass unchanged as with "off"`,
    });
    return undefined;
  }
  const valid = (url: string) => parseRedirectUrl(url) !== undefined;
  if (!valid(from)) {
    problems.push(
      annotationProblem(ing, PROXY_REDIRECT_FROM, from, '"off", "default" or a URL or path without variables'),
    );
    return undefined;
  }
  if (to === undefined || !valid(to)) {
    problems.push(
      annotationProblem(ing, PROXY_REDIRECT_TO, to ?? '', 'a URL or path without variables (with proxy-redirect-from)'),
    );
    return undefined;
  }
  return { from, to };
}

export function parseNextUpstream(value: string): string[] | undefined {
  const words = value.trim().split(/[ \t]+/);
  if (!words.length || words.some((w) => !NEXT_UPSTREAM_CONDITIONS.includes(w))) return undefined;
  const unique = [...new Set(words)];
  if (unique.includes('off') && unique.length > 1) return undefined;
  return unique;
}

export const proxyFamily: Family<'proxy', ProxyConfig> = {
  name: 'proxy',
  keys: PROXY_KEYS,
  location: parseProxy,
};

/** proxy_next_upstream's conditions with retry-non-idempotent: non_idempotent added unless it is "off". */
export function withNonIdempotent(conditions: readonly string[], retry: boolean): readonly string[] {
  return retry && !conditions.includes('off') && !conditions.includes('non_idempotent')
    ? [...conditions, 'non_idempotent']
    : conditions;
}
