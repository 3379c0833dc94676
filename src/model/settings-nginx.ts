// nginx-level ConfigMap keys (worker, events, http block, upstream keep-alive, listen sockets, TLS extras),
// with ingress-nginx's names and defaults (settings-nginx-*.hbs, nginx.conf.hbs, server.hbs, upstream.hbs,
// lua.hbs). A null value is one ingress-nginx shares with nginx's own default: it is not written, so that
// a config that does not set the key stays as it was.
import type { Problem } from '../resources.js';
import type { TopicKey } from './settings-values.js';
import { commaList, intSetting, parseBoolSetting, timeSetting } from './settings-values.js';

export interface NginxSettings {
  defaultType: string; // default_type: text/html as ingress-nginx (nginx's own answers, files without a type)
  errorLogLevel: string; // error_log's level
  keepAliveRequests: number | null; // keepalive_requests of client connections; null: 1000
  upstreamKeepaliveRequests: number; // keepalive_requests of the upstream block(s)
  upstreamKeepaliveTime: string | null; // keepalive_time of the upstream block(s); null: 1h
  upstreamKeepaliveTimeout: number | null; // seconds; null: 60
  maxWorkerOpenFiles: number | null; // worker_rlimit_nofile; null: the limit nginx was started with
  enableMultiAccept: boolean; // multi_accept
  reusePort: boolean; // reuseport on the listen sockets (once per address and port)
  workerCpuAffinity: string | null; // "auto" or CPU masks
  mapHashBucketSize: number | null; // null: nginx's (the CPU cache line, 64 here as ingress-nginx's)
  proxyHeadersHashBucketSize: number | null; // null: 64
  proxyHeadersHashMaxSize: number | null; // null: 512
  variablesHashBucketSize: number; // ingress-nginx's 256, nginx's 64
  variablesHashMaxSize: number; // ingress-nginx's 2048, nginx's 1024
  http2MaxConcurrentStreams: number | null; // null: 128
  hideHeaders: readonly string[]; // proxy_hide_header for each
  allowBackendServerHeader: boolean; // the backend's Server header reaches the client
  enableUnderscoresInHeaders: boolean; // underscores_in_headers (written when on)
  ignoreInvalidHeaders: boolean; // ignore_invalid_headers (written when off)
  skipAccessLogUrls: readonly string[]; // request URIs ($request_uri, exact) the access log leaves out
  sslDhParam: string | null; // "namespace/name" of a Secret with dhparam.pem (settings-dhparam.ts)
  sslEarlyData: boolean; // ssl_early_data (written when on)
  sslRejectHandshake: boolean; // ssl_reject_handshake on the catch-all server (written when on)
  // http2-max-field-size, -header-size, -requests as given: read only to say that nginx ignores them
  http2MaxFieldSize: string | null;
  http2MaxHeaderSize: string | null;
  http2MaxRequests: string | null;
}

export const NGINX_DEFAULTS: Readonly<NginxSettings> = Object.freeze({
  defaultType: 'text/html',
  errorLogLevel: 'notice',
  keepAliveRequests: null,
  upstreamKeepaliveRequests: 10000,
  upstreamKeepaliveTime: null,
  upstreamKeepaliveTimeout: null,
  maxWorkerOpenFiles: null,
  enableMultiAccept: true,
  reusePort: true,
  workerCpuAffinity: null,
  mapHashBucketSize: null,
  proxyHeadersHashBucketSize: null,
  proxyHeadersHashMaxSize: null,
  variablesHashBucketSize: 256,
  variablesHashMaxSize: 2048,
  http2MaxConcurrentStreams: null,
  hideHeaders: Object.freeze([]),
  allowBackendServerHeader: false,
  enableUnderscoresInHeaders: false,
  ignoreInvalidHeaders: true,
  skipAccessLogUrls: Object.freeze([]),
  sslDhParam: null,
  sslEarlyData: false,
  sslRejectHandshake: false,
  http2MaxFieldSize: null,
  http2MaxHeaderSize: null,
  http2MaxRequests: null,
});

// a MIME type: type/subtype of RFC 6838's name characters, less those nginx would need quoted
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9_.+-]{0,126}$/;
const ERROR_LOG_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'];
// namespace/name: a DNS label, '/', a DNS subdomain (as settings.ts reads other objects' names)
const OBJECT_REF =
  /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** worker_cpu_affinity: "auto", optionally with one mask, or one mask of 0s and 1s per worker. */
export function parseCpuAffinity(value: string): string | undefined {
  const words = value.split(/[ \t]+/);
  const masks = words[0] === 'auto' ? words.slice(1) : words;
  if (words[0] === 'auto' && masks.length > 1) return undefined;
  if (words.length > 1024 || !masks.every((mask) => /^[01]{1,64}$/.test(mask))) return undefined;
  return words.join(' ');
}

/** hide-headers: header names separated by commas (ingress-nginx's split, blanks and empty items dropped). */
export function parseHideHeaders(value: string): readonly string[] | undefined {
  const names = commaList(value);
  return names.every((name) => /^[A-Za-z0-9_-]{1,128}$/.test(name)) ? Object.freeze(names) : undefined;
}

/**
 * skip-access-log-urls: request URIs as $request_uri has them (path and query), compared exactly. A "~"
 * (a regular expression in ingress-nginx's map) is refused: the map here quotes every key.
 */
export function parseSkipUrls(value: string): readonly string[] | undefined {
  const urls = commaList(value);
  return urls.every((url) => /^\/[\x21-\x7e]{0,2047}$/.test(url) && !/["\\]/.test(url))
    ? Object.freeze(urls)
    : undefined;
}

/**
 * http2-max-field-size, http2-max-header-size, http2-max-requests: nginx made them obsolete in 1.19.7
 * (large_client_header_buffers and keepalive_requests apply to HTTP/2 too) and only warns when it reads
 * them, so they are never written; nginxProblems says so when one is set.
 */
// key, field, what applies instead
const OBSOLETE_HTTP2: readonly [string, keyof NginxSettings, string][] = [
  ['http2-max-field-size', 'http2MaxFieldSize', 'large-client-header-buffers'],
  ['http2-max-header-size', 'http2MaxHeaderSize', 'large-client-header-buffers'],
  ['http2-max-requests', 'http2MaxRequests', 'keep-alive-requests'],
];

/** Warnings for the keys read only to be refused (the http2-max-* ones). */
export function nginxProblems(
  settings: NginxSettings,
  where: Omit<Problem, 'severity' | 'message' | 'field'>,
): Problem[] {
  return OBSOLETE_HTTP2.filter(([, field]) => settings[field] !== null).map(([key, , instead]) => ({
    severity: 'warning' as const,
    ...where,
    field: `data.${key}`,
    message: `ignored: nginx no longer reads it (obsolete since nginx 1.19.7; ${instead} applies to HTTP/2 as well)`,
  }));
}

export const NGINX_KEYS: Record<string, TopicKey> = {
  'default-type': [
    'defaultType',
    (value) => (MIME_TYPE.test(value) ? value : undefined),
    'a MIME type such as text/html',
  ],
  'error-log-level': [
    'errorLogLevel',
    (value) => (ERROR_LOG_LEVELS.includes(value) ? value : undefined),
    ERROR_LOG_LEVELS.join(', '),
  ],
  'keep-alive-requests': ['keepAliveRequests', intSetting(1, 999_999_999), 'a whole number of requests, at least 1'],
  'upstream-keepalive-requests': [
    'upstreamKeepaliveRequests',
    intSetting(1, 999_999_999),
    'a whole number of requests, at least 1',
  ],
  'upstream-keepalive-time': ['upstreamKeepaliveTime', timeSetting, 'an nginx time such as 1h or 75s'],
  'upstream-keepalive-timeout': ['upstreamKeepaliveTimeout', intSetting(1, 86400), 'seconds, 1-86400'],
  // 0 is ingress-nginx's "compute it", which here is "leave nginx's limit" (see NginxSettings)
  'max-worker-open-files': [
    'maxWorkerOpenFiles',
    (value) => (value === '0' ? null : intSetting(1, 999_999_999)(value)),
    'a whole number of files (0: the limit nginx starts with)',
  ],
  'enable-multi-accept': ['enableMultiAccept', parseBoolSetting, '"true" or "false"'],
  'reuse-port': ['reusePort', parseBoolSetting, '"true" or "false"'],
  'worker-cpu-affinity': [
    'workerCpuAffinity',
    (value) => (value === '' ? null : parseCpuAffinity(value)),
    '"auto", "auto" and one CPU mask, or one mask of 0s and 1s per worker',
  ],
  'map-hash-bucket-size': ['mapHashBucketSize', intSetting(32, 65536), 'an integer 32-65536'],
  'proxy-headers-hash-bucket-size': ['proxyHeadersHashBucketSize', intSetting(32, 65536), 'an integer 32-65536'],
  'proxy-headers-hash-max-size': ['proxyHeadersHashMaxSize', intSetting(64, 1048576), 'an integer 64-1048576'],
  'variables-hash-bucket-size': ['variablesHashBucketSize', intSetting(32, 65536), 'an integer 32-65536'],
  'variables-hash-max-size': ['variablesHashMaxSize', intSetting(64, 1048576), 'an integer 64-1048576'],
  'http2-max-concurrent-streams': ['http2MaxConcurrentStreams', intSetting(1, 1_000_000), 'an integer 1-1000000'],
  // kept as given, for nginxProblems' warning: read only to be refused (the coverage doc says deliberately not)
  ...Object.fromEntries(
    OBSOLETE_HTTP2.map(([key, field]) => [
      key,
      [field, (value: string) => (value === '' ? null : value), 'any value'] as TopicKey,
    ]),
  ),
  'hide-headers': ['hideHeaders', parseHideHeaders, 'header names (letters, digits, "-" and "_") separated by commas'],
  'allow-backend-server-header': ['allowBackendServerHeader', parseBoolSetting, '"true" or "false"'],
  'enable-underscores-in-headers': ['enableUnderscoresInHeaders', parseBoolSetting, '"true" or "false"'],
  'ignore-invalid-headers': ['ignoreInvalidHeaders', parseBoolSetting, '"true" or "false"'],
  'skip-access-log-urls': [
    'skipAccessLogUrls',
    parseSkipUrls,
    'request URIs starting with "/" separated by commas, without blanks, quotes or backslashes',
  ],
  'ssl-dh-param': [
    'sslDhParam',
    (value) => (value === '' ? null : OBJECT_REF.test(value) ? value : undefined),
    'the Secret with dhparam.pem as namespace/name',
  ],
  'ssl-early-data': ['sslEarlyData', parseBoolSetting, '"true" or "false"'],
  'ssl-reject-handshake': ['sslRejectHandshake', parseBoolSetting, '"true" or "false"'],
};
