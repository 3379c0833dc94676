// TLS keys of the settings ConfigMap, with ingress-nginx's defaults (its config.go) and its rendering
// (nginx.tmpl's http block): templates/partials/settings-tls.hbs.
import type { TopicKey } from './settings-values.js';
import { bufferSizeSetting, parseBoolSetting, sizeBytes, sizeSetting, timeSetting } from './settings-values.js';

export const SSL_PROTOCOLS: readonly string[] = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

// ingress-nginx's default list: forward-secret AEAD suites only (TLSv1.3's suites are not set by ssl_ciphers)
export const DEFAULT_SSL_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:' +
  'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:' +
  'DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256';

export interface TlsSettings {
  sslProtocols: readonly string[];
  sslCiphers: string; // an OpenSSL cipher string
  sslPreferServerCiphers: boolean;
  sslSessionCache: boolean; // false: neither ssl_session_cache nor ssl_session_timeout
  sslSessionCacheSize: string;
  sslSessionTickets: boolean;
  sslSessionTimeout: string; // nginx time
  sslEcdhCurve: string | null; // null: not written, nginx's own default ("auto") applies, as ingress-nginx's
  sslBufferSize: string;
}

export const TLS_DEFAULTS: Readonly<TlsSettings> = Object.freeze({
  sslProtocols: Object.freeze(['TLSv1.2', 'TLSv1.3']),
  sslCiphers: DEFAULT_SSL_CIPHERS,
  sslPreferServerCiphers: true,
  sslSessionCache: true,
  sslSessionCacheSize: '10m',
  sslSessionTickets: false,
  sslSessionTimeout: '10m',
  sslEcdhCurve: null,
  sslBufferSize: '4k',
});

/** ssl-protocols: protocol names separated by blanks, each one nginx knows, in nginx's order, once each. */
export function parseSslProtocols(value: string): readonly string[] | undefined {
  const words = value.split(/[ \t]+/).filter((word) => word !== '');
  if (words.length === 0 || words.some((word) => !SSL_PROTOCOLS.includes(word))) return undefined;
  return Object.freeze(SSL_PROTOCOLS.filter((protocol) => words.includes(protocol)));
}

// OpenSSL's cipher string syntax: names, aliases, '!' '-' '+' prefixes, ':' or ',' separators, @STRENGTH,
// @SECLEVEL=n; nothing that could end an nginx string
const CIPHER_STRING = /^[A-Za-z0-9!+@=:,._-]{1,2048}$/;
// curve names such as X25519, prime256v1, secp384r1, separated by ':', or "auto"
const CURVES = /^[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9_-]{1,64}){0,31}$/;

export const TLS_KEYS: Record<string, TopicKey> = {
  'ssl-protocols': [
    'sslProtocols',
    parseSslProtocols,
    `protocols among ${SSL_PROTOCOLS.join(' ')}, separated by spaces`,
  ],
  'ssl-ciphers': [
    'sslCiphers',
    (value) => (CIPHER_STRING.test(value) ? value : undefined),
    'an OpenSSL cipher list such as ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384',
  ],
  'ssl-prefer-server-ciphers': ['sslPreferServerCiphers', parseBoolSetting, '"true" or "false"'],
  'ssl-session-cache': ['sslSessionCache', parseBoolSetting, '"true" or "false"'],
  'ssl-session-cache-size': [
    'sslSessionCacheSize',
    (value) => {
      const parsed = sizeSetting(value) as string | undefined;
      // nginx refuses a shared zone smaller than 8 pages (32k): say so here rather than in nginx -t
      return parsed !== undefined && sizeBytes(parsed) >= 32 * 1024 ? parsed : undefined;
    },
    'a size of at least 32k, such as 10m',
  ],
  'ssl-session-tickets': ['sslSessionTickets', parseBoolSetting, '"true" or "false"'],
  'ssl-session-timeout': ['sslSessionTimeout', timeSetting, 'an nginx time such as 10m or 1h'],
  'ssl-ecdh-curve': [
    'sslEcdhCurve',
    (value) => (CURVES.test(value) ? value : undefined),
    'a curve name or names separated by ":" (such as X25519:prime256v1), or auto',
  ],
  'ssl-buffer-size': ['sslBufferSize', bufferSizeSetting, 'a non-zero size in bytes, k or m, such as 4k'],
};
