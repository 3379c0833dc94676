// TLS towards clients: the HTTP -> HTTPS redirect annotations (ssl-redirect, force-ssl-redirect). HSTS comes
// from the settings ConfigMap (settings.ts hstsHeader); the Secret helpers of the TLS families are in tls-secrets.ts.
import type { Ingress, Problem } from '../../resources.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';

export const SSL_REDIRECT = `${PREFIX}ssl-redirect`;
export const FORCE_SSL_REDIRECT = `${PREFIX}force-ssl-redirect`;

/**
 * ssl-redirect for a TLS host: the annotation, else the ConfigMap's ssl-redirect. An invalid value keeps
 * the default here; it is reported (and the Ingress's paths denied) by sslFamily.location().
 */
export function sslRedirect(ing: Ingress, fallback: boolean, _problems?: Problem[]): boolean {
  const raw = ing.meta.annotations[SSL_REDIRECT];
  if (raw === undefined) return fallback;
  return parseBool(raw) ?? fallback;
}

/** Location config when force-ssl-redirect is "true": plain HTTP answers 308 even without a TLS section. */
export interface ForceSslRedirect {
  force: true;
}

export function parseSslRedirects(
  ing: Ingress,
  _ctx: AnnotationContext,
  problems: Problem[],
): ForceSslRedirect | undefined {
  const annotations = ing.meta.annotations;
  for (const key of [SSL_REDIRECT, FORCE_SSL_REDIRECT]) {
    if (annotations[key] !== undefined && parseBool(annotations[key]) === undefined)
      problems.push(annotationProblem(ing, key, annotations[key], '"true" or "false"'));
  }
  return annotations[FORCE_SSL_REDIRECT] !== undefined && parseBool(annotations[FORCE_SSL_REDIRECT]) === true
    ? { force: true }
    : undefined;
}

export const sslFamily: Family<'force-ssl-redirect', ForceSslRedirect> = {
  name: 'force-ssl-redirect',
  keys: [SSL_REDIRECT, FORCE_SSL_REDIRECT],
  location: parseSslRedirects,
  redirectsToHttps: (config) => config.force === true,
};
