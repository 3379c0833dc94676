// gzip keys of the settings ConfigMap, with ingress-nginx's defaults and rendering (templates/partials/settings-gzip.hbs).
// Brotli (enable-brotli, brotli-level, brotli-types) needs a module this nginx does not have: those keys
// stay unknown, and a warning says so.
import type { TopicKey } from './settings-values.js';
import { intSetting, parseBoolSetting } from './settings-values.js';

// ingress-nginx's list; text/html is always compressed by nginx and so is not in it
export const DEFAULT_GZIP_TYPES: readonly string[] = Object.freeze(
  (
    'application/atom+xml application/javascript application/x-javascript application/json application/rss+xml ' +
    'application/vnd.ms-fontobject application/x-font-ttf application/x-web-app-manifest+json ' +
    'application/xhtml+xml application/xml font/opentype image/svg+xml image/x-icon text/css text/javascript ' +
    'text/plain text/x-component'
  ).split(' '),
);

export interface GzipSettings {
  useGzip: boolean;
  gzipLevel: number;
  gzipMinLength: number;
  gzipTypes: readonly string[]; // MIME types, or ["*"]
  gzipDisable: string | null; // a regular expression over User-Agent, or nginx's mask "msie6"
}

export const GZIP_DEFAULTS: Readonly<GzipSettings> = Object.freeze({
  useGzip: false,
  gzipLevel: 1,
  gzipMinLength: 256,
  gzipTypes: DEFAULT_GZIP_TYPES,
  gzipDisable: null,
});

// type/subtype with the characters media types use in practice (RFC 6838 names), all safe bare in nginx.conf
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9._+-]{0,126}$/;

/** gzip-types: MIME types separated by blanks, or "*" alone for every type. */
export function parseGzipTypes(value: string): readonly string[] | undefined {
  const words = value.split(/[ \t]+/).filter((word) => word !== '');
  if (words.length === 1 && words[0] === '*') return Object.freeze(['*']);
  if (words.length === 0 || words.length > 256 || !words.every((word) => MIME_TYPE.test(word))) return undefined;
  return Object.freeze([...new Set(words)]);
}

/**
 * gzip-disable: one regular expression nginx matches against User-Agent, case-insensitively (or its mask
 * "msie6"). Printable ASCII only, and it must compile: a broken one would fail nginx -t and hold back
 * every other change. JavaScript's syntax stands in for PCRE's here: they agree on what Ingress users write.
 */
export function parseUserAgentRegex(value: string): string | undefined {
  if (!/^[\x20-\x7e]{1,1024}$/.test(value)) return undefined;
  try {
    new RegExp(value, 'i');
  } catch {
    return undefined;
  }
  return value;
}

export const GZIP_KEYS: Record<string, TopicKey> = {
  'use-gzip': ['useGzip', parseBoolSetting, '"true" or "false"'],
  'gzip-level': ['gzipLevel', intSetting(1, 9), 'an integer 1-9'],
  'gzip-min-length': ['gzipMinLength', intSetting(0, 999_999_999), 'a length in bytes'],
  'gzip-types': ['gzipTypes', parseGzipTypes, 'MIME types such as text/css application/json separated by spaces, or *'],
  'gzip-disable': ['gzipDisable', parseUserAgentRegex, 'a regular expression (printable characters) such as msie6'],
};
