// Value parsers the topic modules of the settings ConfigMap share (settings-tls.ts, settings-gzip.ts...):
// each returns undefined for a value it refuses, which settings.ts reports and replaces by the default.
import type { Settings } from './settings.js';

export type SettingParser = (value: string) => unknown;

/**
 * One key of a topic module: the Settings field it sets, its parser, what a valid value looks like (for
 * the warning). settings.ts tolerates an invalid value of these keys: a warning, and the default applies.
 */
export type TopicKey = [keyof Settings, SettingParser, string];

export const parseBoolSetting: SettingParser = (value) =>
  value === 'true' ? true : value === 'false' ? false : undefined;

export const intSetting =
  (min: number, max: number): SettingParser =>
  (value) => {
    if (!/^[0-9]{1,9}$/.test(value)) return undefined;
    const count = Number(value);
    return count >= min && count <= max ? count : undefined;
  };

/** A buffer size: digits with an optional k or m, not zero (nginx refuses a 'g' and a zero there). */
export const bufferSizeSetting: SettingParser = (value) =>
  /^[0-9]{1,9}[kKmM]?$/.test(value) && !/^0+[kKmM]?$/.test(value) ? value.toLowerCase() : undefined;

/** An nginx size that may be large: digits with an optional k, m or g. */
export const sizeSetting: SettingParser = (value) =>
  /^[0-9]{1,9}[kKmMgG]?$/.test(value) ? value.toLowerCase() : undefined;

/** An nginx time such as 10m, 240s or 1h30m: one or more numbers, each with an optional unit. */
export const timeSetting: SettingParser = (value) =>
  /^(?:[0-9]{1,9}(?:ms|s|m|h|d|w|M|y)?){1,8}$/.test(value) ? value : undefined;

/** Items of a list separated by commas, blanks around each trimmed, empty ones dropped (ingress-nginx's split). */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The bytes of a size sizeSetting accepted (digits with an optional k, m or g). */
export function sizeBytes(size: string): number {
  const unit = size.slice(-1).toLowerCase();
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(/[0-9]$/.test(size) ? size : size.slice(0, -1)) * scale;
}
