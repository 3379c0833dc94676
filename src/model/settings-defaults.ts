// ConfigMap keys that are the controller-wide default of an annotation, with ingress-nginx's names:
// written once in http {} (settings-defaults.hbs), so that a location whose Ingress sets the annotation
// overrides them there (annotations/proxy.ts). A null or zero value is nginx's own default and is not
// written, so that a config that does not set the key stays as it was.
import type { Problem } from '../resources.js';
import { CIDR_LIST_EXPECTED, parseCidrList } from './annotations/access.js';
import { parseErrorCodes } from './annotations/custom-errors.js';
import type { Rewrite } from './annotations/proxy.js';
import { cookieRewrite, parseRedirectUrl } from './annotations/proxy.js';
import { toleratedProblem } from './annotations/values.js';
import type { Settings } from './settings.js';
import type { TopicKey } from './settings-values.js';
import { bufferSizeSetting, intSetting, parseBoolSetting, sizeBytes } from './settings-values.js';

export interface DefaultsSettings {
  // null: nginx's "on". ingress-nginx's default was "off": kept as it is here (a deliberate difference)
  proxyBuffering: 'on' | 'off' | null;
  proxyBuffersNumber: number; // the N of proxy_buffers N proxy-buffer-size
  proxyBusyBuffersSize: string | null; // null: nginx's two buffers
  proxyCookieDomain: Rewrite | null; // null: off
  proxyCookiePath: Rewrite | null;
  // proxy_redirect FROM TO at the http level; null: off (both keys are needed, checked by defaultsProblems)
  proxyRedirectFrom: string | null;
  proxyRedirectTo: string | null;
  limitRate: number; // kilobytes per second, 0: no limit
  limitRateAfter: number; // kilobytes
  retryNonIdempotent: boolean; // non_idempotent in every proxy_next_upstream that retries
  proxyAddOriginalUriHeader: boolean; // X-Original-URI: $request_uri to backends
  grpcBufferSizeKb: number; // grpc_buffer_size in kilobytes, 0: nginx's default
  forceSslRedirect: boolean; // the force-ssl-redirect annotation's default
  // the status codes every Ingress without its own custom-http-errors sends to the default backend
  customHttpErrors: readonly number[];
  // the catch-all's answers from its default backend (no Ingress's) are logged; off, as ingress-nginx
  enableAccessLogForDefaultBackend: boolean;
  // the allow and deny lists of every Ingress without its own annotation (annotations/access.ts); false:
  // the key could not be read, and those Ingresses' clients are all refused (fails closed)
  whitelistSourceRange: readonly string[] | false;
  denylistSourceRange: readonly string[] | false;
}

export const DEFAULTS_DEFAULTS: Readonly<DefaultsSettings> = Object.freeze({
  // ingress-nginx's default: answers stream to the client as they come (server-sent events, long polls)
  proxyBuffering: 'off',
  proxyBuffersNumber: 4,
  proxyBusyBuffersSize: null,
  proxyCookieDomain: null,
  proxyCookiePath: null,
  proxyRedirectFrom: null,
  proxyRedirectTo: null,
  limitRate: 0,
  limitRateAfter: 0,
  retryNonIdempotent: false,
  proxyAddOriginalUriHeader: false,
  grpcBufferSizeKb: 0,
  forceSslRedirect: false,
  customHttpErrors: Object.freeze([]),
  enableAccessLogForDefaultBackend: false,
  whitelistSourceRange: Object.freeze([]),
  denylistSourceRange: Object.freeze([]),
});

// "off" is nginx's default for the cookie rewrites and proxy_redirect: the key's absence
const rewriteOrOff = (value: string) => {
  const parsed = cookieRewrite(value);
  return parsed === undefined ? undefined : 'keyword' in parsed ? null : Object.freeze(parsed);
};
const redirectPart = (value: string) => (value === 'off' ? null : parseRedirectUrl(value));

// an empty value is the key's absence; any entry that cannot be read refuses the whole list
const sourceRanges = (value: string) => {
  if (value.trim() === '') return Object.freeze([]);
  const ranges = parseCidrList(value);
  return ranges ? Object.freeze(ranges) : undefined;
};

/** What an invalid value of a security key stands for (settings.ts InvalidStandsFor): they fail closed. */
const REFUSES_ALL = {
  value: false,
  says: 'every client of the Ingresses without their own list gets 403 until it is fixed',
};

/** The security keys: an invalid value stands for refusing every client, not for the default's none. */
export const DEFAULTS_SECURITY_KEYS: Record<string, [...TopicKey, typeof REFUSES_ALL]> = {
  'whitelist-source-range': ['whitelistSourceRange', sourceRanges, CIDR_LIST_EXPECTED, REFUSES_ALL],
  'denylist-source-range': ['denylistSourceRange', sourceRanges, CIDR_LIST_EXPECTED, REFUSES_ALL],
};

export const DEFAULTS_KEYS: Record<string, TopicKey> = {
  'force-ssl-redirect': ['forceSslRedirect', parseBoolSetting, '"true" or "false"'],
  'enable-access-log-for-default-backend': ['enableAccessLogForDefaultBackend', parseBoolSetting, '"true" or "false"'],
  'custom-http-errors': [
    'customHttpErrors',
    (value) => {
      if (value === '') return Object.freeze([]);
      const codes = parseErrorCodes(value);
      return codes ? Object.freeze(codes) : undefined;
    },
    'HTTP status codes 400-599 separated by commas, such as "404,503"',
  ],
  'proxy-buffering': [
    'proxyBuffering',
    (value) => (value === 'on' || value === 'off' ? value : undefined),
    '"on" or "off"',
  ],
  // nginx refuses fewer than 4 buffers of proxy_buffer_size (its default busy size is two of them)
  'proxy-buffers-number': ['proxyBuffersNumber', intSetting(4, 1024), 'an integer 4-1024'],
  'proxy-busy-buffers-size': ['proxyBusyBuffersSize', bufferSizeSetting, 'a non-zero size such as 16k'],
  'proxy-cookie-domain': ['proxyCookieDomain', rewriteOrOff, '"off", or FROM and TO separated by a space'],
  'proxy-cookie-path': ['proxyCookiePath', rewriteOrOff, '"off", or FROM and TO separated by a space'],
  'proxy-redirect-from': ['proxyRedirectFrom', redirectPart, '"off" or a URL or path without variables'],
  'proxy-redirect-to': ['proxyRedirectTo', redirectPart, '"off" or a URL or path without variables'],
  'limit-rate': ['limitRate', intSetting(0, 10_000_000), 'kilobytes per second as an integer'],
  'limit-rate-after': ['limitRateAfter', intSetting(0, 10_000_000), 'kilobytes as an integer'],
  'retry-non-idempotent': ['retryNonIdempotent', parseBoolSetting, '"true" or "false"'],
  'proxy-add-original-uri-header': ['proxyAddOriginalUriHeader', parseBoolSetting, '"true" or "false"'],
  'grpc-buffer-size-kb': ['grpcBufferSizeKb', intSetting(0, 1_048_576), 'kilobytes as an integer'],
};

/**
 * What nginx -t would refuse in the keys taken together: a busy size outside one buffer to all buffers
 * but one, proxy-redirect-from without -to (or the reverse). Each is tolerated: a warning, and the
 * default of the key at fault applies.
 */
export function defaultsProblems(settings: Settings, where: Pick<Problem, 'file' | 'line' | 'object'>): Problem[] {
  const problems: Problem[] = [];
  const warn = (key: string, message: string) =>
    problems.push(toleratedProblem({ severity: 'error', ...where, field: `data.${key}`, message }));
  if (settings.proxyBusyBuffersSize !== null) {
    const buffer = sizeBytes(settings.proxyBufferSize);
    const busyMax = (settings.proxyBuffersNumber - 1) * buffer;
    const busy = sizeBytes(settings.proxyBusyBuffersSize);
    if (busy < buffer || busy >= busyMax) {
      warn(
        'proxy-busy-buffers-size',
        `invalid value ${JSON.stringify(settings.proxyBusyBuffersSize)}: expected a size of at least one proxy buffer (${buffer} bytes) and below ${settings.proxyBuffersNumber - 1} of them (${busyMax} bytes)`,
      );
      settings.proxyBusyBuffersSize = null;
    }
  }
  if ((settings.proxyRedirectFrom === null) !== (settings.proxyRedirectTo === null)) {
    const [key, other] =
      settings.proxyRedirectFrom === null
        ? ['proxy-redirect-to', 'proxy-redirect-from']
        : ['proxy-redirect-from', 'proxy-redirect-to'];
    warn(key, `expected ${other} beside it`);
    settings.proxyRedirectFrom = null;
    settings.proxyRedirectTo = null;
  }
  return problems;
}
