// TLS redirect annotations.
import type { Ingress, Problem } from '../../types.js';
import { annotationProblem, parseBool } from './parse.js';

export const SSL_REDIRECT = 'nginx.ingress.kubernetes.io/ssl-redirect';

export function sslRedirect(ing: Ingress, fallback: boolean, problems: Problem[]): boolean {
  const raw = ing.meta.annotations[SSL_REDIRECT];
  if (raw === undefined) return fallback;
  const v = parseBool(raw);
  if (v === undefined) {
    problems.push(annotationProblem(ing, SSL_REDIRECT, raw, '"true" or "false"'));
    return fallback;
  }
  return v;
}
