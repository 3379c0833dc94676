// Controller settings from the ConfigMap. Key names follow the best-known nginx ingress controller so
// users can bring their settings; each value is parsed strictly, a bad one is reported and the default kept.
import type { ConfigMap, Problem } from '../resources.js';
import { objectRef } from '../resources.js';
import { parseAlgorithm } from './annotations/balance.js';
import type { Algorithm } from './annotations/balance.js';
import { AUTH_METHODS, parseAuthUrl, parseResponseHeaders, parseSignin } from './annotations/external-auth.js';
import type { AuthHeader, AuthUrl } from './annotations/external-auth.js';
import { parseRiskLevel } from './annotations/risk.js';
import type { RiskLevel } from './annotations/risk.js';
import { parseForwardedForHeader, parseTrustedCidrs } from './proxy-headers.js';
// issue 13's ConfigMap keys, one module per topic
import { toleratedProblem } from './annotations/values.js';
import type { BlockSettings } from './settings-block.js';
import { BLOCK_DEFAULTS, BLOCK_KEYS, blockProblems } from './settings-block.js';
import type { GzipSettings } from './settings-gzip.js';
import { GZIP_DEFAULTS, GZIP_KEYS } from './settings-gzip.js';
import type { HttpSettings } from './settings-http.js';
import { HTTP_DEFAULTS, HTTP_KEYS } from './settings-http.js';
import type { LogSettings } from './settings-log.js';
import { LOG_DEFAULTS, LOG_KEYS } from './settings-log.js';
// ---- issue 13: nginx-level keys (worker, events, http block, listen sockets) ----
import type { NginxSettings } from './settings-nginx.js';
import { NGINX_DEFAULTS, NGINX_KEYS, nginxProblems } from './settings-nginx.js';
// ---- issue 13: the ConfigMap defaults of annotations (model/settings-defaults.ts) ----
import type { DefaultsSettings } from './settings-defaults.js';
import { DEFAULTS_DEFAULTS, DEFAULTS_KEYS, DEFAULTS_SECURITY_KEYS, defaultsProblems } from './settings-defaults.js';
import type { TlsSettings } from './settings-tls.js';
import { TLS_DEFAULTS, TLS_KEYS } from './settings-tls.js';

export interface Settings {
  sslRedirect: boolean;
  // redirects (annotations/ssl.ts, annotations/redirect.ts), with ingress-nginx's names and defaults
  httpRedirectCode: number; // ssl-redirect, force-ssl-redirect and from-to-www-redirect
  preserveTrailingSlash: boolean; // ssl-redirect keeps a trailing '/' of the URI (ingress-nginx strips one)
  usePortInRedirects: boolean; // port_in_redirect, and the HTTPS port in ssl-redirect's target
  relativeRedirects: boolean; // absolute_redirect off
  // paths (prefixes of an Ingress path) that never redirect to HTTPS: ACME HTTP-01 challenges by default
  noTlsRedirectLocations: readonly string[];
  // trust X-Forwarded-Proto/-Host/-Port from a proxy in front (so far: the redirects honour them)
  useForwardedHeaders: boolean;
  // ---- forwarded headers and the client address (model/proxy-headers.ts), ingress-nginx's names and defaults
  computeFullForwardedFor: boolean; // with use-forwarded-headers: X-Forwarded-For is the received one plus the peer
  forwardedForHeader: string; // the header the real_ip module reads the client address from
  enableRealIp: boolean; // the real_ip module without use-forwarded-headers
  proxyRealIpCidr: readonly string[]; // the peers trusted to say the client address (set_real_ip_from)
  useProxyProtocol: boolean; // the listen sockets expect the PROXY protocol
  // ---- end of the forwarded headers block
  loadBalance: Algorithm;
  workerProcesses: number | 'auto';
  maxWorkerConnections: number;
  proxyConnectTimeout: number; // seconds
  proxyReadTimeout: number;
  proxySendTimeout: number;
  proxyBodySize: string; // nginx size, e.g. 1m
  proxyBufferSize: string;
  keepAlive: number;
  upstreamKeepaliveConnections: number;
  useHttp2: boolean;
  serverTokens: boolean;
  accessLog: boolean;
  serverNameHashBucketSize: number | null; // null: computed from the longest host
  serverNameHashMaxSize: number;
  hsts: boolean; // Strict-Transport-Security on HTTPS responses of TLS servers
  hstsMaxAge: number; // seconds
  hstsIncludeSubdomains: boolean;
  hstsPreload: boolean;
  proxySetHeaders: string | null; // "namespace/name" of a ConfigMap of headers for every backend
  addHeaders: string | null; // "namespace/name" of a ConfigMap of response headers for every client
  // header names the custom-headers annotation may set (none by default, as ingress-nginx)
  globalAllowedResponseHeaders: readonly string[];
  limitReqStatusCode: number; // answer when limit-rps / limit-rpm is exceeded
  limitConnStatusCode: number; // answer when limit-connections is exceeded
  // ---- service-upstream default; Ingresses refused for an annotation value or risk (issue 13) ----
  serviceUpstream: boolean; // default of the service-upstream annotation (annotations/service-upstream.ts)
  // an Ingress with one of these words in a nginx.ingress.kubernetes.io/ value is not served (annotations/admission.ts)
  annotationValueWordBlocklist: readonly string[];
  // an Ingress with an annotation riskier than this is not served (annotations/risk.ts, annotations/admission.ts)
  annotationsRiskLevel: RiskLevel;
  allowSnippetAnnotations: boolean; // configuration-snippet / server-snippet (annotations/snippets.ts); off by default
  // a canary Ingress may split the traffic of a main Ingress in another namespace (ingress-nginx allowed
  // it, so any tenant could take over another's host); off by default (model/canary-pass.ts)
  allowCrossNamespaceCanary: boolean;
  // ---- global external auth (model/annotations/external-auth.ts), with ingress-nginx's keys. An invalid
  // value is false: every location the global auth would guard answers 503 rather than being served unguarded
  globalAuthUrl: AuthUrl | false | null;
  globalAuthMethod: string | false;
  globalAuthSignin: string | false | null; // checked with parseSignin; the redirect parameter is added later
  globalAuthSigninRedirectParam: string;
  globalAuthResponseHeaders: readonly AuthHeader[] | false;
  globalAuthRequestRedirect: string | false | null; // X-Auth-Request-Redirect to the auth service
  // not supported: when set, it denies like an invalid key (external-auth.ts globalSnippetProblem)
  globalAuthSnippet: string | null;
  // Ingress paths (prefixes of a path) the global auth never guards: ACME HTTP-01 challenges by default
  noAuthLocations: readonly string[];
  // ---- end of global external auth
}

// issue 13's ConfigMap keys (TLS, gzip, client buffers and timeouts, retries, block lists, log format),
// declared by their topic modules: this declaration merges with the one above
export interface Settings extends TlsSettings, GzipSettings, HttpSettings, BlockSettings, LogSettings {}
// ---- issue 13: nginx-level keys (model/settings-nginx.ts) ----
export interface Settings extends NginxSettings {}
// ---- issue 13: the ConfigMap defaults of annotations (model/settings-defaults.ts) ----
export interface Settings extends DefaultsSettings {}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  sslRedirect: true,
  httpRedirectCode: 308,
  preserveTrailingSlash: false,
  usePortInRedirects: false,
  relativeRedirects: false,
  noTlsRedirectLocations: Object.freeze(['/.well-known/acme-challenge']),
  useForwardedHeaders: false,
  // ---- forwarded headers and the client address
  computeFullForwardedFor: false,
  forwardedForHeader: 'X-Forwarded-For',
  enableRealIp: false,
  proxyRealIpCidr: Object.freeze(['0.0.0.0/0']),
  useProxyProtocol: false,
  // ---- end of the forwarded headers block
  loadBalance: 'round_robin',
  workerProcesses: 'auto',
  maxWorkerConnections: 16384,
  proxyConnectTimeout: 5,
  proxyReadTimeout: 60,
  proxySendTimeout: 60,
  proxyBodySize: '1m',
  proxyBufferSize: '4k',
  keepAlive: 75,
  upstreamKeepaliveConnections: 320,
  useHttp2: true,
  serverTokens: false,
  accessLog: true,
  serverNameHashBucketSize: null,
  serverNameHashMaxSize: 1024,
  hsts: true,
  hstsMaxAge: 31536000,
  hstsIncludeSubdomains: true,
  hstsPreload: false,
  proxySetHeaders: null,
  addHeaders: null,
  globalAllowedResponseHeaders: [],
  limitReqStatusCode: 503,
  limitConnStatusCode: 503,
  // ---- service-upstream, annotation-value-word-blocklist, annotations-risk-level (issue 13) ----
  serviceUpstream: false,
  annotationValueWordBlocklist: Object.freeze([]),
  annotationsRiskLevel: 'Critical',
  allowSnippetAnnotations: false,
  allowCrossNamespaceCanary: false,
  // ---- global external auth
  globalAuthUrl: null,
  globalAuthMethod: 'GET',
  globalAuthSignin: null,
  globalAuthSigninRedirectParam: 'rd',
  globalAuthResponseHeaders: Object.freeze([]),
  globalAuthRequestRedirect: null,
  globalAuthSnippet: null,
  noAuthLocations: Object.freeze(['/.well-known/acme-challenge']),
  // ---- end of global external auth
  // issue 13's ConfigMap keys
  ...TLS_DEFAULTS,
  ...GZIP_DEFAULTS,
  ...HTTP_DEFAULTS,
  ...BLOCK_DEFAULTS,
  ...LOG_DEFAULTS,
  // ---- issue 13: nginx-level keys ----
  ...NGINX_DEFAULTS,
  // ---- issue 13: the ConfigMap defaults of annotations ----
  ...DEFAULTS_DEFAULTS,
});

type Parser = (value: string) => unknown; // returns undefined when invalid

const bool: Parser = (v) => (v === 'true' ? true : v === 'false' ? false : undefined);
const int =
  (min: number, max: number): Parser =>
  (value) => {
    if (!/^[0-9]{1,9}$/.test(value)) return undefined;
    const count = Number(value);
    return count >= min && count <= max ? count : undefined;
  };
// nginx size: digits with an optional k/m/g suffix
export const size: Parser = (v) => (/^[0-9]{1,9}[kKmMgG]?$/.test(v) ? v.toLowerCase() : undefined);
// namespace/name of another object: a DNS label, '/', a DNS subdomain
const OBJECT_REF =
  /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
// a comma-separated list of header names, blanks around them ignored (ingress-nginx's splitAndTrimSpace)
const headerNames: Parser = (value) => {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return names.every((name) => /^[A-Za-z0-9_-]{1,128}$/.test(name)) ? Object.freeze(names) : undefined;
};
// proxy_buffer_size and proxy_buffers take a size_t: nginx refuses a 'g' suffix there, and zero buffers
const bufferSize: Parser = (v) =>
  /^[0-9]{1,9}[kKmM]?$/.test(v) && !/^0+[kKmM]?$/.test(v) ? v.toLowerCase() : undefined;

// comma-separated path prefixes (no-tls-redirect-locations, no-auth-locations)
const pathPrefixes: Parser = (value) => {
  const prefixes = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return prefixes.every((item) => /^\/[\x21-\x7e]{0,1023}$/.test(item)) ? prefixes : undefined;
};

/**
 * What an invalid value of a security setting stands for instead of the default, and how the problem says
 * it: such a setting fails closed (a default could open what the operator meant to close).
 */
interface InvalidStandsFor {
  value: unknown;
  says: string;
}

// the global auth keys: false marks the setting refused, and external-auth.ts denies what it would guard
const GLOBAL_AUTH_DENIES: InvalidStandsFor = {
  value: false,
  says: 'every path the global auth guards answers 503 until it is fixed',
};

// global external auth: an empty value is the key's absence, as in ingress-nginx
const globalAuthKeys: Record<string, [keyof Settings, Parser, string, InvalidStandsFor?]> = {
  'global-auth-url': [
    'globalAuthUrl',
    (v) => (v === '' ? null : parseAuthUrl(v)),
    'an http:// or https:// URL: host name or IP address, optional port, path and query of RFC 3986 characters, without nginx variables',
    GLOBAL_AUTH_DENIES,
  ],
  'global-auth-method': [
    'globalAuthMethod',
    (v) => (v === '' ? 'GET' : AUTH_METHODS.includes(v) ? v : undefined),
    AUTH_METHODS.join(', '),
    GLOBAL_AUTH_DENIES,
  ],
  'global-auth-signin': [
    'globalAuthSignin',
    (v) => (v === '' ? null : parseSignin(v) ? v : undefined),
    'an http:// or https:// URL of RFC 3986 characters; the only variables allowed are $host, $http_host, $best_http_host, $scheme, $pass_access_scheme, $request_uri, $escaped_request_uri',
    GLOBAL_AUTH_DENIES,
  ],
  'global-auth-signin-redirect-param': [
    'globalAuthSigninRedirectParam',
    (v) => (v === '' ? 'rd' : /^[A-Za-z0-9_.~-]{1,64}$/.test(v) ? v : undefined),
    'a query parameter name (letters, digits, "_", ".", "~", "-")',
  ],
  'global-auth-response-headers': [
    'globalAuthResponseHeaders',
    (value) => {
      if (value === '') return Object.freeze([]);
      const parsed = parseResponseHeaders(value);
      return parsed.ok ? Object.freeze(parsed.headers) : undefined;
    },
    'header names (letters and digits, words joined by "-", at most 64 characters, none the controller sets itself) separated by commas',
    GLOBAL_AUTH_DENIES,
  ],
  'global-auth-request-redirect': [
    'globalAuthRequestRedirect',
    (v) => (v === '' ? null : /^[A-Za-z0-9\-._~!&()*+,;=:@%/?#]{1,2048}$/.test(v) ? v : undefined),
    'a URL or path of RFC 3986 characters, without nginx variables',
    GLOBAL_AUTH_DENIES,
  ],
  'no-auth-locations': ['noAuthLocations', pathPrefixes, 'comma-separated paths, each starting with "/"'],
};

// Not honoured, but read so that it can deny: global-auth-snippet (its text is kept; external-auth.ts
// globalSnippetProblem refuses it and reports it once, and the paths the global auth guards answer 503)
const refusedGlobalAuthKeys: Record<string, [keyof Settings, Parser, string]> = Object.fromEntries([
  ['global-auth-snippet', ['globalAuthSnippet', (value: string) => (value === '' ? null : value), 'nginx directives']],
]);

// the key's field, its parser, what it expects, and (a security setting) what an invalid value stands for
const KEYS: Record<string, [keyof Settings, Parser, string, InvalidStandsFor?]> = {
  'ssl-redirect': ['sslRedirect', bool, '"true" or "false"'],
  'http-redirect-code': [
    'httpRedirectCode',
    (v) => (['301', '302', '307', '308'].includes(v) ? Number(v) : undefined),
    '301, 302, 307 or 308',
  ],
  'preserve-trailing-slash': ['preserveTrailingSlash', bool, '"true" or "false"'],
  'use-port-in-redirects': ['usePortInRedirects', bool, '"true" or "false"'],
  'relative-redirects': ['relativeRedirects', bool, '"true" or "false"'],
  'no-tls-redirect-locations': [
    'noTlsRedirectLocations',
    pathPrefixes,
    'comma-separated paths, each starting with "/"',
  ],
  'use-forwarded-headers': ['useForwardedHeaders', bool, '"true" or "false"'],
  // ---- forwarded headers and the client address (parsers in model/proxy-headers.ts)
  'compute-full-forwarded-for': ['computeFullForwardedFor', bool, '"true" or "false"'],
  'forwarded-for-header': ['forwardedForHeader', parseForwardedForHeader, 'a header name such as X-Forwarded-For'],
  'enable-real-ip': ['enableRealIp', bool, '"true" or "false"'],
  'proxy-real-ip-cidr': [
    'proxyRealIpCidr',
    parseTrustedCidrs,
    'IPv4 or IPv6 addresses or CIDR blocks separated by commas',
    // the default (0.0.0.0/0) trusts every IPv4 peer: falling back to it would widen the trust the value
    // meant to narrow, so a value that cannot be read trusts no peer (model/proxy-headers.ts says why)
    { value: Object.freeze([]), says: 'no peer is trusted to give the client address' },
  ],
  'use-proxy-protocol': ['useProxyProtocol', bool, '"true" or "false"'],
  // ---- end of the forwarded headers block
  'load-balance': ['loadBalance', (v) => parseAlgorithm(v), 'round_robin, random or ewma'],
  'worker-processes': ['workerProcesses', (v) => (v === 'auto' ? 'auto' : int(1, 1024)(v)), '"auto" or 1-1024'],
  'max-worker-connections': ['maxWorkerConnections', int(16, 1048576), 'an integer 16-1048576'],
  'proxy-connect-timeout': ['proxyConnectTimeout', int(1, 3600), 'seconds, 1-3600'],
  'proxy-read-timeout': ['proxyReadTimeout', int(1, 86400), 'seconds, 1-86400'],
  'proxy-send-timeout': ['proxySendTimeout', int(1, 86400), 'seconds, 1-86400'],
  'proxy-body-size': ['proxyBodySize', size, 'an nginx size such as 1m'],
  'proxy-buffer-size': ['proxyBufferSize', bufferSize, 'a non-zero nginx size in bytes, k or m, such as 4k'],
  'keep-alive': ['keepAlive', int(0, 86400), 'seconds, 0-86400'],
  'upstream-keepalive-connections': ['upstreamKeepaliveConnections', int(0, 100000), 'an integer 0-100000'],
  'use-http2': ['useHttp2', bool, '"true" or "false"'],
  'server-tokens': ['serverTokens', bool, '"true" or "false"'],
  'disable-access-log': [
    'accessLog',
    (value) => {
      const parsed = bool(value);
      return parsed === undefined ? undefined : !parsed;
    },
    '"true" or "false"',
  ],
  'server-name-hash-bucket-size': ['serverNameHashBucketSize', int(32, 65536), 'an integer 32-65536'],
  'server-name-hash-max-size': ['serverNameHashMaxSize', int(64, 1048576), 'an integer 64-1048576'],
  hsts: ['hsts', bool, '"true" or "false"'],
  'hsts-max-age': ['hstsMaxAge', int(0, 999999999), 'seconds, 0-999999999'],
  'hsts-include-subdomains': ['hstsIncludeSubdomains', bool, '"true" or "false"'],
  'hsts-preload': ['hstsPreload', bool, '"true" or "false"'],
  'proxy-set-headers': [
    'proxySetHeaders',
    (v) => (OBJECT_REF.test(v) ? v : undefined),
    'the ConfigMap of headers as namespace/name',
  ],
  'add-headers': [
    'addHeaders',
    (v) => (OBJECT_REF.test(v) ? v : undefined),
    'the ConfigMap of headers as namespace/name',
  ],
  'global-allowed-response-headers': [
    'globalAllowedResponseHeaders',
    headerNames,
    'header names (letters, digits, "-" and "_") separated by commas',
  ],
  'limit-req-status-code': ['limitReqStatusCode', int(400, 599), 'an HTTP status 400-599'],
  'limit-conn-status-code': ['limitConnStatusCode', int(400, 599), 'an HTTP status 400-599'],
  // ---- service-upstream, annotation-value-word-blocklist, annotations-risk-level (issue 13) ----
  'service-upstream': ['serviceUpstream', bool, '"true" or "false"'],
  // words as ingress-nginx splits them (on ","), blanks around each and empty ones dropped: an empty word
  // would be in every value and refuse every Ingress
  'annotation-value-word-blocklist': [
    'annotationValueWordBlocklist',
    (value) =>
      Object.freeze(
        value
          .split(',')
          .map((word) => word.trim())
          .filter((word) => word !== ''),
      ),
    'words separated by commas',
  ],
  // any case, as ingress-nginx; an unknown level stands for Low, the strictest, as there (fails closed)
  'annotations-risk-level': [
    'annotationsRiskLevel',
    parseRiskLevel,
    'Critical, High, Medium or Low',
    { value: 'Low', says: 'using Low' },
  ],
  'allow-snippet-annotations': ['allowSnippetAnnotations', bool, '"true" or "false"'],
  'allow-cross-namespace-canary': ['allowCrossNamespaceCanary', bool, '"true" or "false"'],
  ...globalAuthKeys,
  ...refusedGlobalAuthKeys,
  // the block lists' parsers never fail: an entry they cannot read blocks every request (settings-block.ts)
  ...TLS_KEYS,
  ...GZIP_KEYS,
  ...HTTP_KEYS,
  ...LOG_KEYS,
  ...BLOCK_KEYS,
  // ---- issue 13: nginx-level keys ----
  ...NGINX_KEYS,
  // ---- issue 13: the ConfigMap defaults of annotations ----
  ...DEFAULTS_KEYS,
  ...DEFAULTS_SECURITY_KEYS, // whitelist-source-range, denylist-source-range: fail closed
};

export function parseSettings(cm: ConfigMap | undefined): { settings: Settings; problems: Problem[] } {
  const settings: Settings = { ...DEFAULT_SETTINGS };
  const problems: Problem[] = [];
  if (!cm) return { settings, problems };
  const where = { file: cm.source.file, line: cm.source.line, object: objectRef(cm) };
  for (const key of Object.keys(cm.data).sort()) {
    // own keys only: a data key such as "constructor" must not find Object.prototype's
    const entry = Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
    const value = cm.data[key]!;
    if (!entry) {
      problems.push({
        severity: 'warning',
        ...where,
        field: `data.${key}`,
        message: 'unknown or unsupported setting, ignored',
      });
      continue;
    }
    const [name, parse, expected, invalid] = entry;
    const parsed = parse(value.trim());
    if (parsed === undefined) {
      const refused = `invalid value ${JSON.stringify(value).slice(0, 80)}: expected ${expected}`;
      // ingress-nginx's rule, as for annotations: a security setting fails closed (what its invalid value
      // stands for, an error); any other is a warning and its default applies
      problems.push(
        invalid
          ? { severity: 'error', ...where, field: `data.${key}`, message: `${refused}; ${invalid.says}` }
          : toleratedProblem({ severity: 'error', ...where, field: `data.${key}`, message: refused }),
      );
      if (invalid) (settings as unknown as Record<string, unknown>)[name] = invalid.value;
      continue;
    }
    (settings as unknown as Record<string, unknown>)[name] = parsed;
  }
  problems.push(...blockProblems(settings, where));
  problems.push(...nginxProblems(settings, where)); // issue 13: http2-max-* keys nginx no longer reads
  problems.push(...defaultsProblems(settings, where)); // issue 13: busy buffers, proxy-redirect-from and -to
  return { settings, problems };
}

/** The Strict-Transport-Security value for TLS servers, or null when the ConfigMap turns HSTS off. */
export function hstsHeader(
  settings: Pick<Settings, 'hsts' | 'hstsMaxAge' | 'hstsIncludeSubdomains' | 'hstsPreload'>,
): string | null {
  if (!settings.hsts) return null;
  return `max-age=${settings.hstsMaxAge}${settings.hstsIncludeSubdomains ? '; includeSubDomains' : ''}${settings.hstsPreload ? '; preload' : ''}`;
}
