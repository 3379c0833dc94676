// default-backend, custom-http-errors and disable-proxy-intercept-errors, with the names and value formats
// of ingress-nginx.
//
// default-backend names a Service in the Ingress's namespace (its first port). It answers the requests
// no rule of the Ingress's hosts matches, the requests of paths whose Service has no ready endpoint (or
// does not exist), with X-Code 503, and the error pages below.
// custom-http-errors lists status codes (400-599): a location of the Ingress intercepts them
// (proxy_intercept_errors on; error_page N = @custom_<namespace>_<name>_N) and the named location proxies
// to the default backend (the annotation's, else --default-backend-service's, as ingress-nginx's
// upstream-default-backend) with the headers ingress-nginx sends: X-Code, X-Format, X-Original-URI,
// X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port, X-Request-ID. Without either, the named
// location answers 404, as ingress-nginx's built-in default backend answered every error page.
// disable-proxy-intercept-errors "true" leaves the upstream's own answers alone (no proxy_intercept_errors)
// while nginx's own errors still go to the error pages, as in ingress-nginx.
// The named locations live at server level (srv-custom-errors.hbs), one set per Ingress routing on the
// host, made by finishErrors once every Ingress is placed.
import type { Ingress, Problem } from '../../resources.js';
import { DNS_LABEL } from '../../syntax.js';
import type { Backend, Location, Server } from '../routing.js';
import { locationsOf } from '../routing.js';
import { errorPageHeaders, headerList } from '../proxy-headers.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseBool, PREFIX, refused } from './values.js';

export const DEFAULT_BACKEND = `${PREFIX}default-backend`;
export const CUSTOM_HTTP_ERRORS = `${PREFIX}custom-http-errors`;
export const DISABLE_INTERCEPT = `${PREFIX}disable-proxy-intercept-errors`;
export const ERRORS_KEYS = [DEFAULT_BACKEND, CUSTOM_HTTP_ERRORS, DISABLE_INTERCEPT] as const;

const MAX_CODES = 50;

export interface ErrorsConfig {
  ingress: string; // namespace/name
  namespace: string;
  name: string;
  source: { file: string; line: number };
  codes: number[]; // sorted, distinct
  intercept: boolean; // the upstream's answers with those codes too (not disable-proxy-intercept-errors)
  service: string | null; // the default-backend annotation's Service
  backend: string | null; // its backend once buildModel resolved it (setDefaultBackend)
}

/** What a location renders (ann-custom-errors.hbs), completed by finishErrors. */
export interface LocationErrors extends ErrorsConfig {
  pagesBackend: string | null; // the backend serving error pages and unavailable answers (null: none, 404)
  serviceName: string; // of the location's own backend, for X-Service-Name
  servicePort: string;
  has500: boolean;
  has503: boolean;
  missing: boolean; // the location has no backend at all (it answers 503)
  deadStatic: boolean; // static mode answers 503: no backend, or no ready endpoint
}

/** A named location of srv-custom-errors.hbs. */
export interface ErrorPage {
  namespace: string;
  name: string;
  label: string; // the status code, or "unavailable"
  code: number; // X-Code
  unavailable: boolean;
  // null: no default backend; the page answers 404 as ingress-nginx's built-in one did (never unavailable)
  backend: string | null;
  live: boolean; // has endpoints (static mode renders an upstream block only then)
  catchAll?: true; // the catch-all's, for the ConfigMap's custom-http-errors (CATCH_ALL_PAGES)
}

/** "404, 503" -> [404, 503]; undefined when any entry is not a status code 400-599. */
export function parseErrorCodes(value: string): number[] | undefined {
  const codes = new Set<number>();
  for (const raw of value.split(',')) {
    const trimmed = raw.trim();
    if (!/^[45][0-9]{2}$/.test(trimmed)) return undefined;
    codes.add(Number(trimmed));
  }
  if (codes.size === 0 || codes.size > MAX_CODES) return undefined;
  return [...codes].sort((a, b) => a - b);
}

export function parseErrors(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): ErrorsConfig | undefined {
  const annotations = ing.meta.annotations;
  // the ConfigMap's custom-http-errors: the codes of every Ingress without its own list (settings-defaults.ts)
  const globalCodes = ctx?.settings?.customHttpErrors ?? [];
  if (
    annotations[DEFAULT_BACKEND] === undefined &&
    annotations[CUSTOM_HTTP_ERRORS] === undefined &&
    globalCodes.length === 0
  )
    return undefined;
  const before = problems.length;
  let service: string | null = null;
  if (annotations[DEFAULT_BACKEND] !== undefined) {
    const value = annotations[DEFAULT_BACKEND].trim();
    if (DNS_LABEL.test(value)) service = value;
    else
      problems.push(
        refused(ing, DEFAULT_BACKEND, annotations[DEFAULT_BACKEND], "the name of a Service in the Ingress's namespace"),
      );
  }
  let codes: number[] = [...globalCodes];
  if (annotations[CUSTOM_HTTP_ERRORS] !== undefined) {
    const parsed = parseErrorCodes(annotations[CUSTOM_HTTP_ERRORS]);
    if (parsed) codes = parsed;
    else
      problems.push(
        refused(
          ing,
          CUSTOM_HTTP_ERRORS,
          annotations[CUSTOM_HTTP_ERRORS],
          `HTTP status codes 400-599 separated by commas (at most ${MAX_CODES}), such as "404,503"`,
        ),
      );
  }
  if (problems.length > before) return undefined;
  // not about security: an invalid value is reported and ignored (parseAnnotations tolerates it)
  let intercept = true;
  if (annotations[DISABLE_INTERCEPT] !== undefined) {
    const disable = parseBool(annotations[DISABLE_INTERCEPT]);
    if (disable === undefined)
      problems.push(annotationProblem(ing, DISABLE_INTERCEPT, annotations[DISABLE_INTERCEPT], '"true" or "false"'));
    else intercept = !disable;
  }
  return {
    ingress: `${ing.meta.namespace}/${ing.meta.name}`,
    namespace: ing.meta.namespace,
    name: ing.meta.name,
    source: { ...ing.source },
    codes,
    intercept,
    service,
    backend: null,
  };
}

/** Server config (srv-custom-errors.hbs): the named locations of every Ingress routing on the host. */
export interface ErrorPagesConfig {
  pages: ErrorPage[];
}

export const customErrorsFamily: Family<'custom-errors', ErrorsConfig | LocationErrors, ErrorPagesConfig> = {
  name: 'custom-errors',
  keys: ERRORS_KEYS,
  location: parseErrors,
  // the default-backend annotation: a backend like a path's, for this Ingress's unmatched requests (after
  // spec.defaultBackend), error pages and paths without endpoints; the Service's first port, as ingress-nginx
  extraBackend(config, service) {
    if (!config.service) return undefined;
    const port = service(config.namespace, config.service)?.ports[0]?.port ?? 80;
    return {
      ref: { service: { name: config.service, port: { number: port } } },
      field: `metadata.annotations["${DEFAULT_BACKEND}"]`,
      resolved: (backend) => {
        config.backend = backend;
      },
    };
  },
  finish: (placed) =>
    finishErrors(
      placed.servers,
      placed.backends,
      placed.defaultBackend,
      placed.settings?.customHttpErrors ?? [],
      placed.settings?.sslRedirect ?? true,
    ),
  // a location with a default backend sends a backend without endpoints to it itself; without one it
  // answers 503 as any location does (ingress-nginx's balancer answered it)
  answersUnavailable: (config) => 'pagesBackend' in config && config.pagesBackend !== null,
  // each error page sends its own list of request headers (model/proxy-headers.ts)
  serverView: (config, customHeaders) => ({
    pages: config.pages.map((page) => ({
      ...page,
      // the catch-all's pages are no Ingress's: no X-Namespace nor X-Ingress-Name, as ingress-nginx's
      headers: headerList(
        'proxy_set_header',
        errorPageHeaders(page.catchAll ? { ...page, namespace: '', name: '' } : page, customHeaders),
      ),
    })),
  }),
};

/**
 * After all Ingresses are placed (called by buildModel): completes each location's config (its own
 * Service for X-Service-Name, whether it can answer at all) and gives each server the named locations of
 * the Ingresses routing on it, the location of its unmatched paths included. `controllerDefault` is the
 * backend of --default-backend-service, null without one.
 */
export function finishErrors(
  servers: Iterable<Server>,
  backends: ReadonlyMap<string, Backend>,
  controllerDefault: string | null = null,
  globalCodes: readonly number[] = [],
  sslRedirect = true,
): Problem[] {
  for (const server of servers) {
    if (server.host === '' && !server.fallbackLocation && globalCodes.length) {
      const routesRoot = server.locations.some((location) => location.match === 'prefix' && location.path === '/');
      if (!routesRoot) server.fallbackLocation = catchAllErrors(server, globalCodes, sslRedirect);
    }
    const pages = new Map<string, ErrorPage[]>();
    for (const location of locationsOf(server)) {
      const cfg = location.ann['custom-errors'];
      if (!cfg) continue;
      const { 'custom-errors': _drop, ...rest } = location.ann;
      // the annotation's backend (one that cannot be used was reported by buildModel); else, for error
      // pages, ingress-nginx's upstream-default-backend: --default-backend-service, or none (pages answer 404)
      const pagesBackend = cfg.backend ?? (cfg.codes.length ? controllerDefault : null);
      if (!pagesBackend && cfg.codes.length === 0) {
        location.ann = rest;
        continue;
      }
      const own = location.backend ? backends.get(location.backend) : undefined;
      const loc: LocationErrors = {
        ...cfg,
        pagesBackend,
        // the Service the path names, as ingress-nginx told the default backend, even when it is missing
        serviceName: location.service?.name ?? own?.service ?? '',
        servicePort: location.service?.port ?? (own ? String(own.port) : ''),
        ...(cfg.ingress === CATCH_ALL_PAGES.ingress ? { catchAll: true as const } : {}),
        has500: cfg.codes.includes(500),
        has503: cfg.codes.includes(503),
        missing: location.backend === null,
        deadStatic: !own || own.endpoints.length === 0,
      };
      location.ann = { ...rest, 'custom-errors': loc };
      if (pages.has(cfg.ingress)) continue;
      const live = pagesBackend !== null && (backends.get(pagesBackend)?.endpoints.length ?? 0) > 0;
      const page = (code: number, unavailable: boolean): ErrorPage => ({
        namespace: cfg.namespace,
        name: cfg.name,
        label: unavailable ? 'unavailable' : String(code),
        code,
        unavailable,
        backend: pagesBackend,
        live,
        ...(cfg.ingress === CATCH_ALL_PAGES.ingress ? { catchAll: true as const } : {}),
      });
      const unavailable = pagesBackend === null ? [] : [page(503, true)];
      pages.set(cfg.ingress, [...cfg.codes.map((code) => page(code, false)), ...unavailable]);
    }
    if (pages.size) server.ann['custom-errors'] = { pages: [...pages.keys()].sort().flatMap((k) => pages.get(k)!) };
  }
  return [];
}

// The catch-all's error pages, @custom_upstream_default_backend_N after ingress-nginx's
// @custom_upstream-default-backend_N: an Ingress's are @custom_NAMESPACE_NAME_N, and neither a namespace
// nor a name has a "_", so no Ingress's can have this one
const CATCH_ALL_PAGES = { namespace: 'upstream_default', name: 'backend', ingress: 'upstream_default_backend' };

/**
 * The catch-all's location "/" when the ConfigMap lists custom-http-errors, as ingress-nginx's http-level
 * error_page lines: the default backend's answers (and nginx's own) with those codes go to its error pages.
 */
function catchAllErrors(server: Server, codes: readonly number[], sslRedirect: boolean): Location {
  const config: ErrorsConfig = {
    ...CATCH_ALL_PAGES,
    source: { file: '', line: 0 },
    codes: [...codes],
    intercept: true,
    service: null,
    backend: null,
  };
  return {
    path: '/',
    match: 'prefix',
    pathType: 'Prefix',
    backend: server.fallback.backend,
    ingress: server.fallback.ingress ?? '',
    sslRedirect,
    ann: { 'custom-errors': config },
    denied: null,
  };
}
