// How much an annotation lets whoever writes an Ingress do to nginx, by ingress-nginx's levels (its
// docs/user-guide/nginx-configuration/annotations-risk.md): Critical for raw nginx configuration (snippets),
// High for what sends requests or identities elsewhere (auth-url, mirror-target, server aliases), Medium
// for what changes access, routing or what a backend is told, Low for tuning. The ConfigMap's
// annotations-risk-level refuses an Ingress with an annotation above it (admission.ts).
//
// The whole table of ingress-nginx is here, not only the annotations served today, so that an annotation
// added later has its level already; test/model/annotations/risk.test.ts checks every supported one has one.
import { PREFIX } from './values.js';

export const RISK_LEVELS = ['Low', 'Medium', 'High', 'Critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

const CRITICAL = ['auth-snippet', 'configuration-snippet', 'modsecurity-snippet', 'server-snippet', 'stream-snippet'];
const HIGH = [
  'auth-signin',
  'auth-tls-error-page',
  'auth-tls-match-cn',
  'auth-url',
  'mirror-host',
  'mirror-target',
  'modsecurity-transaction-id',
  'proxy-ssl-name',
  'server-alias',
  'upstream-hash-by',
];
const MEDIUM = [
  'affinity-mode',
  'allowlist-source-range',
  'whitelist-source-range', // allowlist-source-range's older name, as ingress-nginx aliases it
  'app-root',
  'auth-cache-duration',
  'auth-cache-key',
  'auth-proxy-set-headers',
  'auth-realm',
  'auth-request-redirect',
  'auth-response-headers',
  'auth-secret',
  'auth-signin-redirect-param',
  'auth-tls-secret',
  'auth-tls-verify-client',
  'canary-by-cookie',
  'canary-by-header',
  'canary-by-header-pattern',
  'canary-by-header-value',
  'cors-allow-headers',
  'cors-allow-methods',
  'cors-allow-origin',
  'cors-expose-headers',
  'custom-headers',
  'denylist-source-range',
  'fastcgi-index',
  'fastcgi-params-configmap',
  'force-ssl-redirect',
  'opentelemetry-operation-name',
  'permanent-redirect',
  'preserve-trailing-slash',
  'proxy-body-size',
  'proxy-cookie-domain',
  'proxy-cookie-path',
  'proxy-next-upstream',
  'proxy-redirect-from',
  'proxy-redirect-to',
  'proxy-ssl-ciphers',
  'proxy-ssl-secret',
  'rewrite-target',
  'session-cookie-domain',
  'session-cookie-expires',
  'session-cookie-max-age',
  'session-cookie-name',
  'session-cookie-path',
  'temporal-redirect',
  'x-forwarded-prefix',
];
const LOW = [
  'affinity',
  'affinity-canary-behavior',
  'auth-always-set-cookie',
  'auth-keepalive',
  'auth-keepalive-requests',
  'auth-keepalive-share-vars',
  'auth-keepalive-timeout',
  'auth-method',
  'auth-secret-type',
  'auth-tls-pass-certificate-to-upstream',
  'auth-tls-verify-depth',
  'auth-type',
  'backend-protocol',
  'canary',
  'canary-weight',
  'canary-weight-total',
  'client-body-buffer-size',
  'connection-proxy-header',
  'cors-allow-credentials',
  'cors-max-age',
  'custom-http-errors',
  'default-backend',
  'disable-proxy-intercept-errors',
  'enable-access-log',
  'enable-cors',
  'enable-global-auth',
  'enable-modsecurity',
  'enable-opentelemetry',
  'enable-owasp-core-rules',
  'enable-rewrite-log',
  'from-to-www-redirect',
  'http2-push-preload',
  'limit-allowlist',
  'limit-whitelist', // limit-allowlist's older name
  'limit-burst-multiplier',
  'limit-connections',
  'limit-rate',
  'limit-rate-after',
  'limit-rpm',
  'limit-rps',
  'load-balance',
  'mirror-request-body',
  'opentelemetry-trust-incoming-span',
  'permanent-redirect-code',
  'proxy-buffer-size',
  'proxy-buffering',
  'proxy-buffers-number',
  'proxy-busy-buffers-size',
  'proxy-connect-timeout',
  'proxy-http-version',
  'proxy-max-temp-file-size',
  'proxy-next-upstream-timeout',
  'proxy-next-upstream-tries',
  'proxy-read-timeout',
  'proxy-request-buffering',
  'proxy-send-timeout',
  'proxy-ssl-protocols',
  'proxy-ssl-server-name',
  'proxy-ssl-verify',
  'proxy-ssl-verify-depth',
  'relative-redirects',
  'satisfy',
  'service-upstream',
  'session-cookie-change-on-failure',
  'session-cookie-conditional-samesite-none',
  'session-cookie-samesite',
  'session-cookie-secure',
  'ssl-ciphers',
  'ssl-passthrough',
  'ssl-prefer-server-ciphers',
  'ssl-redirect',
  'temporal-redirect-code',
  'upstream-hash-by-subset',
  'upstream-hash-by-subset-size',
  'upstream-vhost',
  'use-port-in-redirects',
  'use-regex',
];

const LEVEL_OF: ReadonlyMap<string, RiskLevel> = new Map([
  ...CRITICAL.map((name) => [`${PREFIX}${name}`, 'Critical'] as const),
  ...HIGH.map((name) => [`${PREFIX}${name}`, 'High'] as const),
  ...MEDIUM.map((name) => [`${PREFIX}${name}`, 'Medium'] as const),
  ...LOW.map((name) => [`${PREFIX}${name}`, 'Low'] as const),
]);

/** The risk of an annotation (full name), undefined for one ingress-nginx did not have. */
export function riskOf(annotation: string): RiskLevel | undefined {
  return LEVEL_OF.get(annotation);
}

/** Is a level above another (Critical > High > Medium > Low)? */
export function isAbove(level: RiskLevel, limit: RiskLevel): boolean {
  return RISK_LEVELS.indexOf(level) > RISK_LEVELS.indexOf(limit);
}

/** A level as the ConfigMap writes it, in any case (ingress-nginx lowercases it); undefined otherwise. */
export function parseRiskLevel(value: string): RiskLevel | undefined {
  return RISK_LEVELS.find((level) => level.toLowerCase() === value.trim().toLowerCase());
}
