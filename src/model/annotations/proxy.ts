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
}

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
  out.nextUpstream =
    read(
      PROXY_NEXT_UPSTREAM,
      parseNextUpstream,
      `space-separated conditions among ${NEXT_UPSTREAM_CONDITIONS.join(' ')} ("off" alone)`,
    ) ?? null;
  out.nextUpstreamTries =
    read(PROXY_NEXT_UPSTREAM_TRIES, (v) => parseIntIn(v, 0, 1000), 'an integer 0-1000 (0: no limit)') ?? null;
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
    out.buffers = { number: number ?? 4, size: size ?? ctx.settings.proxyBufferSize };
  }
  return any ? out : undefined;
}

function parseNextUpstream(value: string): string[] | undefined {
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
