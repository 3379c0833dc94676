// TLS towards clients: the HTTP -> HTTPS redirect annotations (ssl-redirect, force-ssl-redirect) and the
// shape of their target (preserve-trailing-slash, use-port-in-redirects), as ingress-nginx's Lua wrote it
// (lua_ingress.lua): https://HOST[:https-port]URI, the URI less one trailing '/' unless preserved, the
// port only with use-port-in-redirects. HSTS comes from the settings ConfigMap (settings.ts hstsHeader);
// the Secret helpers of the TLS families are in tls-secrets.ts.
import type { Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';

export const SSL_REDIRECT = `${PREFIX}ssl-redirect`;
export const FORCE_SSL_REDIRECT = `${PREFIX}force-ssl-redirect`;
export const PRESERVE_TRAILING_SLASH = `${PREFIX}preserve-trailing-slash`;
export const USE_PORT_IN_REDIRECTS = `${PREFIX}use-port-in-redirects`;

/**
 * ssl-redirect for a TLS host: the annotation, else the ConfigMap's ssl-redirect. An invalid value keeps
 * the default here; it is reported (and the Ingress's paths denied) by sslFamily.location().
 */
export function sslRedirect(ing: Ingress, fallback: boolean, _problems?: Problem[]): boolean {
  const raw = ing.meta.annotations[SSL_REDIRECT];
  if (raw === undefined) return fallback;
  return parseBool(raw) ?? fallback;
}

/**
 * Location config, present when the Ingress's redirect differs from the ConfigMap's: force (plain HTTP
 * answers the redirect even without a TLS section), the target's shape, and whether the location needs its
 * own port_in_redirect (the annotation differs from the ConfigMap's use-port-in-redirects).
 */
export interface SslRedirectOptions {
  force: boolean;
  preserveTrailingSlash: boolean;
  usePortInRedirects: boolean;
  portDirective: boolean;
}

// ingress-nginx kept the ConfigMap's value for an invalid one of these (they shape a redirect, guard nothing)
function tolerantBool(ing: Ingress, key: string, fallback: boolean, problems: Problem[]): boolean {
  const raw = ing.meta.annotations[key];
  if (raw === undefined) return fallback;
  const parsed = parseBool(raw);
  if (parsed !== undefined) return parsed;
  problems.push(
    problemAt(
      ing,
      'warning',
      `metadata.annotations["${key}"]`,
      `invalid value ${JSON.stringify(raw).slice(0, 80)}: expected "true" or "false"; using ${fallback}, as ingress-nginx did`,
    ),
  );
  return fallback;
}

export function parseSslRedirects(
  ing: Ingress,
  ctx: AnnotationContext,
  problems: Problem[],
): SslRedirectOptions | undefined {
  const annotations = ing.meta.annotations;
  for (const key of [SSL_REDIRECT, FORCE_SSL_REDIRECT]) {
    if (annotations[key] !== undefined && parseBool(annotations[key]) === undefined)
      problems.push(annotationProblem(ing, key, annotations[key], '"true" or "false"'));
  }
  // the ConfigMap's force-ssl-redirect is the default of an Ingress without the annotation (settings-defaults.ts)
  const force =
    annotations[FORCE_SSL_REDIRECT] !== undefined
      ? parseBool(annotations[FORCE_SSL_REDIRECT]) === true
      : ctx.settings.forceSslRedirect;
  const { preserveTrailingSlash: keepDefault, usePortInRedirects: portDefault } = ctx.settings;
  const preserveTrailingSlash = tolerantBool(ing, PRESERVE_TRAILING_SLASH, keepDefault, problems);
  const usePortInRedirects = tolerantBool(ing, USE_PORT_IN_REDIRECTS, portDefault, problems);
  const portDirective = usePortInRedirects !== portDefault;
  return force || preserveTrailingSlash !== keepDefault || portDirective
    ? { force, preserveTrailingSlash, usePortInRedirects, portDirective }
    : undefined;
}

export const sslFamily: Family<'force-ssl-redirect', SslRedirectOptions> = {
  name: 'force-ssl-redirect',
  fallback: 'hosts',
  keys: [SSL_REDIRECT, FORCE_SSL_REDIRECT, PRESERVE_TRAILING_SLASH, USE_PORT_IN_REDIRECTS],
  location: parseSslRedirects,
  redirectsToHttps: (config) => config.force,
  httpsRedirectTarget: (config) => ({
    preserveTrailingSlash: config.preserveTrailingSlash,
    usePort: config.usePortInRedirects,
  }),
};
