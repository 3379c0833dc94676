// Annotation families. Each module parses and validates its own keys; this file knows which keys exist
// so that unsupported ones are reported instead of silently ignored.
import type { Ingress, Problem } from '../../types.js';
import { objectRef } from '../../types.js';
import { PREFIX } from './parse.js';
import { SSL_REDIRECT, sslRedirect } from './ssl.js';

export { isServed, LEGACY_CLASS_ANNOTATION } from './class.js';
export type { ClassOptions } from './class.js';

const SUPPORTED = new Set([SSL_REDIRECT]);

export interface IngressAnnotations {
  sslRedirect: boolean;
}

export function parseAnnotations(ing: Ingress, defaults: { sslRedirect: boolean }, problems: Problem[]): IngressAnnotations {
  for (const key of Object.keys(ing.meta.annotations).sort()) {
    if (key.startsWith(PREFIX) && !SUPPORTED.has(key)) {
      problems.push({
        severity: 'warning', file: ing.source.file, line: ing.source.line, object: objectRef(ing),
        field: `metadata.annotations["${key}"]`, message: 'annotation not supported by ingress-templater, ignored',
      });
    }
  }
  return { sslRedirect: sslRedirect(ing, defaults.sslRedirect, problems) };
}
