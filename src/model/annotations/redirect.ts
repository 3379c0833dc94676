// Redirects: permanent-redirect (+ permanent-redirect-code), temporal-redirect (+ temporal-redirect-code),
// relative-redirects and from-to-www-redirect, with the names, value formats and defaults of ingress-nginx.
//   permanent-redirect / temporal-redirect: every location of the Ingress answers CODE with the URL as
//     Location (temporal wins when both are set, as in ingress-nginx); the URL is a literal absolute
//     http(s) URL, no nginx variables. permanent-redirect also takes a path ("/new-location"), which nginx
//     makes absolute (http://HOST/new-location) unless relative-redirects; ingress-nginx checked only
//     temporal-redirect's scheme, and ignored a temporal-redirect without one (the paths proxied).
//     A code out of range falls back to the default (ingress-nginx's rule), with a warning.
//   relative-redirects: absolute_redirect off in the Ingress's locations (the ConfigMap key of the same
//     name turns it off everywhere).
//   from-to-www-redirect: the other name of each host (www.HOST for HOST, HOST for www.HOST) answers the
//     ConfigMap's http-redirect-code (308) to SCHEME://HOST:PORT and the URI less one trailing '/', as
//     ingress-nginx wrote it (ngx_srv_redirect.lua); it is served by the host's own server (same TLS
//     certificate), unless an Ingress has rules for that name itself.
import type { Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import { isIngressHost } from '../../syntax.js';
import type { Server } from '../routing.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';

export const PERMANENT_REDIRECT = `${PREFIX}permanent-redirect`;
export const PERMANENT_REDIRECT_CODE = `${PREFIX}permanent-redirect-code`;
export const TEMPORAL_REDIRECT = `${PREFIX}temporal-redirect`;
export const TEMPORAL_REDIRECT_CODE = `${PREFIX}temporal-redirect-code`;
export const FROM_TO_WWW = `${PREFIX}from-to-www-redirect`;
export const RELATIVE_REDIRECTS = `${PREFIX}relative-redirects`;
export const REDIRECT_KEYS = [
  PERMANENT_REDIRECT,
  PERMANENT_REDIRECT_CODE,
  TEMPORAL_REDIRECT,
  TEMPORAL_REDIRECT_CODE,
  FROM_TO_WWW,
  RELATIVE_REDIRECTS,
] as const;

// the codes nginx's "return CODE URL" sends with a Location header; any other 3xx needs the header added
const RETURN_WITH_LOCATION = new Set([301, 302, 303, 307, 308]);

/** Location config: what ann-redirect renders. */
export interface RedirectConfig {
  target?: {
    url: string;
    code: number;
    addLocation: boolean; // a 3xx that nginx's return does not give a Location (300, 304, 305, 306)
  };
  relative: boolean; // absolute_redirect off
}

/** Server config (srv-redirect); from/to are set by wwwAliases once every server is known. */
export interface WwwConfig {
  fromToWww: true;
  ingress: string; // namespace/name, for reports
  from?: string; // the name that redirects...
  to?: string; // ...to this host
}

// RFC 3986 characters minus those nginx or a shell would read specially (quotes, backslash, '$', braces,
// '<>^|`' and whitespace), which no sensible redirect target needs
const URL_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!&()*+,;=%]{1,2048}$/;

/** A path-absolute target ("/new-location?x=1"): nginx prefixes scheme and host unless absolute_redirect is off. */
export function isRedirectPath(value: string): boolean {
  return URL_CHARS.test(value) && /^\/(?!\/)/.test(value);
}

export function isRedirectURL(value: string): boolean {
  if (!URL_CHARS.test(value) || !/^https?:\/\/[^/?#]/i.test(value)) return false;
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '';
  } catch {
    return false;
  }
}

function parseCode(ing: Ingress, key: string, fallback: number, max: number, problems: Problem[]): number {
  const raw = ing.meta.annotations[key];
  if (raw === undefined) return fallback;
  const value = raw.trim();
  const count = Number(value);
  if (!/^[0-9]{1,9}$/.test(value)) {
    problems.push(annotationProblem(ing, key, raw, `an HTTP redirect status code, 300-${max}`));
    return fallback;
  }
  if (count >= 300 && count <= max) return count;
  // ingress-nginx used the default for any integer out of range
  problems.push(
    problemAt(
      ing,
      'warning',
      `metadata.annotations["${key}"]`,
      `${count} is not a redirect status code 300-${max}; using ${fallback}, as ingress-nginx did`,
    ),
  );
  return fallback;
}

function parseURL(ing: Ingress, key: string, problems: Problem[]): string | undefined {
  const raw = ing.meta.annotations[key];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (isRedirectURL(value)) return value;
  if (isRedirectPath(value)) {
    if (key === PERMANENT_REDIRECT) return value;
    problems.push(
      problemAt(
        ing,
        'warning',
        `metadata.annotations["${key}"]`,
        `ignored: ${JSON.stringify(value).slice(0, 80)} has no http:// or https:// scheme, which ingress-nginx required of ${TEMPORAL_REDIRECT} (it ignored this one and proxied the paths); use an absolute URL, or ${PERMANENT_REDIRECT} for a path`,
      ),
    );
    return undefined;
  }
  problems.push(
    annotationProblem(
      ing,
      key,
      raw,
      key === PERMANENT_REDIRECT
        ? 'an absolute http:// or https:// URL, or a path starting with one "/" (no spaces, quotes, "$", braces or backslashes)'
        : 'an absolute http:// or https:// URL (no spaces, quotes, "$", braces or backslashes)',
    ),
  );
  return undefined;
}

function parseRedirect(ing: Ingress, problems: Problem[]): RedirectConfig | undefined {
  const annotations = ing.meta.annotations;
  const temporal = parseURL(ing, TEMPORAL_REDIRECT, problems);
  const temporalCode = parseCode(ing, TEMPORAL_REDIRECT_CODE, 302, 307, problems);
  const permanent = parseURL(ing, PERMANENT_REDIRECT, problems);
  const permanentCode = parseCode(ing, PERMANENT_REDIRECT_CODE, 301, 308, problems);
  for (const key of [FROM_TO_WWW, RELATIVE_REDIRECTS]) {
    const value = annotations[key];
    if (value !== undefined && parseBool(value) === undefined)
      problems.push(annotationProblem(ing, key, value, '"true" or "false"'));
  }
  const relative = annotations[RELATIVE_REDIRECTS] !== undefined && parseBool(annotations[RELATIVE_REDIRECTS]) === true;
  if (annotations[TEMPORAL_REDIRECT] !== undefined && annotations[PERMANENT_REDIRECT] !== undefined) {
    problems.push({
      ...annotationProblem(ing, PERMANENT_REDIRECT, annotations[PERMANENT_REDIRECT], ''),
      severity: 'warning',
      message: `ignored: ${TEMPORAL_REDIRECT} is set too and takes precedence, as in ingress-nginx`,
    });
  }
  const pick =
    annotations[TEMPORAL_REDIRECT] !== undefined
      ? temporal === undefined
        ? undefined
        : { url: temporal, code: temporalCode }
      : permanent === undefined
        ? undefined
        : { url: permanent, code: permanentCode };
  if (!pick && !relative) return undefined;
  return {
    ...(pick ? { target: { ...pick, addLocation: !RETURN_WITH_LOCATION.has(pick.code) } } : {}),
    relative,
  };
}

export const redirectFamily: Family<'redirect', RedirectConfig, WwwConfig> = {
  name: 'redirect',
  fallback: 'hosts',
  keys: REDIRECT_KEYS,
  // every value is checked here, from-to-www-redirect included, so an invalid one denies the paths
  location(ing: Ingress, _ctx: AnnotationContext, problems: Problem[]): RedirectConfig | undefined {
    return parseRedirect(ing, problems);
  },
  server(ing: Ingress): WwwConfig | undefined {
    const value = ing.meta.annotations[FROM_TO_WWW];
    return value !== undefined && parseBool(value) === true
      ? { fromToWww: true, ingress: `${ing.meta.namespace}/${ing.meta.name}` }
      : undefined;
  },
  finish: (placed) => wwwAliases(placed.servers, placed.certificateCovers),
  serverNames: (config) => (config.from ? [config.from] : []),
};

/** The other name of a host for from-to-www-redirect, or null (catch-all, wildcard, or not a valid name). */
export function wwwAlias(host: string): string | null {
  if (!host || host.startsWith('*.')) return null;
  const alias = host.startsWith('www.') ? host.slice(4) : `www.${host}`;
  return alias.includes('.') && isIngressHost(alias) ? alias : null;
}

/**
 * Resolves from-to-www-redirect once every server is known: each server asking for it gets the other name
 * of its host (from) unless an Ingress routes that name itself or another server took it first, as
 * ingress-nginx skips it. `covers` says whether the server's certificate names the alias.
 */
export function wwwAliases(servers: Iterable<Server>, covers: (server: Server, name: string) => boolean): Problem[] {
  const list = [...servers].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const hosts = new Set(list.map((s) => s.host));
  const taken = new Set<string>();
  const problems: Problem[] = [];
  for (const server of list) {
    const cfg = server.ann.redirect;
    if (!cfg?.fromToWww) continue;
    const warn = (message: string) =>
      problems.push({
        severity: 'warning',
        object: `Ingress ${cfg.ingress}`,
        field: `metadata.annotations["${FROM_TO_WWW}"]`,
        message,
      });
    const alias = wwwAlias(server.host);
    const { redirect: _, ...rest } = server.ann;
    server.ann = rest;
    if (alias === null) {
      warn(`host ${server.host || '(any host)'} has no www/non-www counterpart; no redirect`);
    } else if (hosts.has(alias) || taken.has(alias)) {
      warn(`${alias} is served by its own rules; it does not redirect to ${server.host}`);
    } else {
      taken.add(alias);
      server.ann = { ...server.ann, redirect: { ...cfg, from: alias, to: server.host } };
      if (server.tls !== null && !covers(server, alias))
        warn(
          `the certificate of ${server.host} does not name ${alias}; HTTPS clients of ${alias} will warn before the redirect`,
        );
    }
  }
  return problems;
}
