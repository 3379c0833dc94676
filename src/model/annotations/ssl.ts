// TLS towards clients: the HTTP -> HTTPS redirect annotations (ssl-redirect, force-ssl-redirect), HSTS
// from the settings ConfigMap (the Secret helpers of the TLS families are in tls-secrets.ts).
import type { Ingress, Problem } from '../../resources.js';
import type { Settings } from '../settings.js';
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
  const a = ing.meta.annotations;
  for (const key of [SSL_REDIRECT, FORCE_SSL_REDIRECT]) {
    if (a[key] !== undefined && parseBool(a[key]) === undefined)
      problems.push(annotationProblem(ing, key, a[key], '"true" or "false"'));
  }
  return a[FORCE_SSL_REDIRECT] !== undefined && parseBool(a[FORCE_SSL_REDIRECT]) === true ? { force: true } : undefined;
}

export const sslFamily: Family<'force-ssl-redirect', ForceSslRedirect> = {
  name: 'force-ssl-redirect',
  keys: [SSL_REDIRECT, FORCE_SSL_REDIRECT],
  location: parseSslRedirects,
  redirectsToHttps: (config) => config.force === true,
};

/** The Strict-Transport-Security value for TLS servers, or null when the ConfigMap turns HSTS off. */
export function hstsHeader(
  s: Pick<Settings, 'hsts' | 'hstsMaxAge' | 'hstsIncludeSubdomains' | 'hstsPreload'>,
): string | null {
  if (!s.hsts) return null;
  return `max-age=${s.hstsMaxAge}${s.hstsIncludeSubdomains ? '; includeSubDomains' : ''}${s.hstsPreload ? '; preload' : ''}`;
}
