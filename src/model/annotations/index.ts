// Annotation families. Each module parses and validates its own keys; this file knows which keys exist
// so that unsupported ones are reported instead of silently ignored.
import type { Ingress, Problem } from '../../types.js';
import { objectRef } from '../../types.js';
import { PREFIX } from './parse.js';
import { SSL_REDIRECT, sslRedirect } from './ssl.js';
import { BALANCE_KEYS, parseBalance } from './balance.js';
import type { Algorithm, Balance } from './balance.js';

export { isServed, LEGACY_CLASS_ANNOTATION } from './class.js';
export type { ClassOptions } from './class.js';
export type { Algorithm, Affinity, Balance } from './balance.js';
export { parseAlgorithm, sameBalance } from './balance.js';

const SUPPORTED = new Set([SSL_REDIRECT, ...BALANCE_KEYS]);

export interface IngressAnnotations {
  sslRedirect: boolean;
  balance: Balance;
}

export function parseAnnotations(ing: Ingress, defaults: { sslRedirect: boolean; loadBalance: Algorithm }, problems: Problem[]): IngressAnnotations {
  for (const key of Object.keys(ing.meta.annotations).sort()) {
    if (key.startsWith(PREFIX) && !SUPPORTED.has(key)) {
      problems.push({
        severity: 'warning', file: ing.source.file, line: ing.source.line, object: objectRef(ing),
        field: `metadata.annotations["${key}"]`, message: 'annotation not supported by ingress-templater, ignored',
      });
    }
  }
  return {
    sslRedirect: sslRedirect(ing, defaults.sslRedirect, problems),
    balance: parseBalance(ing, defaults.loadBalance, problems),
  };
}
