// Shared value parsers and error shape for annotation modules.
import type { Ingress, Problem } from '../../resources.js';
import { objectRef } from '../../resources.js';

export const PREFIX = 'nginx.ingress.kubernetes.io/';

export function parseBool(v: string): boolean | undefined {
  const t = v.trim();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

export function annotationProblem(ing: Ingress, key: string, value: string, expected: string): Problem {
  return {
    severity: 'error',
    file: ing.source.file,
    line: ing.source.line,
    object: objectRef(ing),
    field: `metadata.annotations["${key}"]`,
    message: `invalid value ${JSON.stringify(value).slice(0, 80)}: expected ${expected}; the Ingress's paths answer 503 until it is fixed`,
  };
}
