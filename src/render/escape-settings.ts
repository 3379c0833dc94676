// Escaping helpers for the values of the settings ConfigMap's issue-13 keys (model/settings-*.ts): each
// checks its value again, as every helper of escape.ts does, and throws rather than emit something unsafe.
import { UnsafeValueError } from '../errors.js';
import { parseCidr, parseMapPattern } from '../model/settings-block.js';
import { parseUserAgentRegex } from '../model/settings-gzip.js';

// inside a double-quoted nginx string, nginx reads \" and \\ (and \t, \n...) as escapes: write every
// backslash and quote escaped, so that nginx hands the next reader exactly the text
const quoted = (text: string) => `"${text.replace(/["\\]/g, '\\$&')}"`;

/** A block-cidrs entry: an address or a CIDR, bare. */
export function cidr(value: unknown): string {
  if (typeof value !== 'string' || parseCidr(value) !== value) throw new UnsafeValueError('cidr', value);
  return value;
}

// names a map reads as its own parameters, not as a value to match; "\" before one makes it a value
const MAP_KEYWORDS = new Set(['default', 'hostnames', 'include', 'volatile']);

/** A block-user-agents / block-referers entry as a quoted map source value: a string, or a regex after ~. */
export function mapPattern(value: unknown): string {
  if (typeof value !== 'string' || parseMapPattern(value) !== value) throw new UnsafeValueError('mapPattern', value);
  return quoted(MAP_KEYWORDS.has(value) ? `\\${value}` : value);
}

/** gzip_disable's regular expression, quoted. */
export function userAgentRegex(value: unknown): string {
  if (typeof value !== 'string' || parseUserAgentRegex(value) !== value)
    throw new UnsafeValueError('userAgentRegex', value);
  return quoted(value);
}

/** One of gzip_types' MIME types, or "*". */
export function mimeType(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !(value === '*' || /^[A-Za-z0-9][A-Za-z0-9._+-]*\/[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(value))
  )
    throw new UnsafeValueError('mimeType', value);
  return value;
}

/**
 * The access log format (log-format-upstream), quoted: each "$" must begin a variable name ($name or
 * ${name}; model/settings-log.ts checked the names), every other character is text.
 */
export function logFormat(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !/^[\x20-\x7e]{1,4096}$/.test(value) ||
    /\$(?![A-Za-z0-9_]|\{[A-Za-z0-9_]+\})/.test(value)
  )
    throw new UnsafeValueError('logFormat', value);
  return quoted(value);
}

export const SETTINGS_HELPERS = { cidr, mapPattern, userAgentRegex, mimeType, logFormat } as const;
