// External authentication: auth-url, auth-method, auth-signin and auth-response-headers, with the names,
// value formats and defaults of ingress-nginx. Each protected location runs nginx's auth_request against
// an internal exact location of its server that proxies to auth-url (templates/partials/srv-external-auth.hbs):
// 2xx lets the request through, 401/403 go back to the client, 401 redirects to auth-signin when set.
//
// Request headers from the auth response (auth-response-headers) use the variable technique, because a
// proxy_set_header inside a location would drop every http-level one: the http block sends header H as
// $ingress_templater_auth_<h>, a map defaulting to the client's own H, and a protected location sets that
// variable with auth_request_set to what the auth service answered (empty: the header is not sent, so a
// client cannot forge it). Basic auth (auth.ts) uses the same variable for Authorization.
//
// Like basic auth this fails closed: an invalid value denies the Ingress's paths (503).
//
// The global external auth of the ConfigMap (global-auth-url and its keys, ingress-nginx's) is the same
// config, given to every location of an Ingress without an auth-url of its own and without
// enable-global-auth: "false", except the paths under no-auth-locations; each server with such locations
// gets one internal location for it (GLOBAL_AUTH_PATH). An invalid global key fails closed too: the
// locations it would guard answer 503 (ingress-nginx logged a warning and served them unguarded, so a typo
// in the ConfigMap published every path it was meant to protect).
import crypto from 'node:crypto';
import net from 'node:net';
import type { Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import type { Server } from '../routing.js';
import { locationsOf } from '../routing.js';
import type { HttpItems } from './families.js';
import type { AnnotationContext, Family } from './family.js';
import { parseBool, PREFIX, refused, toleratedProblem } from './values.js';
import { withConfig } from './family.js';
import type { Settings } from '../settings.js';
import { endpointRefusal, NO_PROTECTED } from '../endpoint-policy.js';
import type { EndpointPolicy } from '../endpoint-policy.js';
import { authServiceHeaders, headerList, isProtectedHeader } from '../proxy-headers.js';

export const AUTH_URL = `${PREFIX}auth-url`;
export const AUTH_METHOD = `${PREFIX}auth-method`;
export const AUTH_SIGNIN = `${PREFIX}auth-signin`;
export const AUTH_RESPONSE_HEADERS = `${PREFIX}auth-response-headers`;
export const EXTERNAL_AUTH_KEYS = [AUTH_URL, AUTH_METHOD, AUTH_SIGNIN, AUTH_RESPONSE_HEADERS] as const;
// "false" opts an Ingress out of the ConfigMap's global-auth-url
export const ENABLE_GLOBAL_AUTH = `${PREFIX}enable-global-auth`;
/** The internal location of the global auth's subrequests, in each server that has locations it guards. */
export const GLOBAL_AUTH_PATH = '/_external-auth-global';
// the global auth's key in a server's auth locations and in problems (per-Ingress ones are namespace/name)
const GLOBAL = '(global-auth-url)';
const GLOBAL_DENIED = 'every path the global auth guards answers 503 until it is fixed';

// the methods ingress-nginx accepts for auth-method
export const AUTH_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE'];
const MAX_URL = 2048;
const MAX_HEADERS = 32;

// a host name as DNS has it (any case), an IPv4 address, or an IPv6 address in brackets
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
// RFC 3986 path and query characters without the ones nginx or a quoted string would treat specially
// (quotes, backslash, '$', whitespace, braces) and without '#' (a fragment is never sent)
const PATH_CHARS = /^[A-Za-z0-9\-._~!&()*+,;=:@%/]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!&()*+,;=:@%/?]*$/;
// header names whose variable name ($http_x_user_id) is unambiguous: alphanumeric words joined by '-'
const HEADER_NAME = /^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/;
// variables auth-signin may use, as ingress-nginx documents them, and the nginx variable each becomes
const SIGNIN_VARIABLES: Record<string, string[]> = {
  host: ['host'],
  http_host: ['http', 'host'],
  best_http_host: ['best', 'http', 'host'],
  scheme: ['scheme'],
  pass_access_scheme: ['scheme'],
  request_uri: ['request', 'uri'],
  escaped_request_uri: ['ingress', 'templater', 'escaped', 'request', 'uri'],
};

export interface AuthUrl {
  url: string; // as written, checked
  host: string; // Host header for the auth service: host[:port] as in the URL
  hostname: string; // DNS name or IP literal (no brackets)
}

/** An auth response header to copy: its name and the words of its variable name. */
export interface AuthHeader {
  name: string;
  parts: string[]; // lower-case alphanumeric words: $upstream_http_<parts joined by "_">
}

/** One piece of the sign-in URL: literal text, or an nginx variable given as words joined by "_". */
export interface SigninPart {
  text: string | null;
  var: string[] | null;
}

export interface ExternalAuthConfig {
  ingress: string; // namespace/name
  source: { file: string; line: number }; // the Ingress's manifest, for problems found later
  authPath: string; // the internal location auth_request calls
  url: string;
  host: string;
  hostname: string;
  method: string;
  headers: AuthHeader[];
  signin: SigninPart[] | null;
  requestRedirect?: string; // X-Auth-Request-Redirect sent to the auth service (global-auth-request-redirect)
  // the ConfigMap's global auth: the path prefixes it does not guard, and whether a key of it is invalid
  // (then url and the rest are empty, and the locations it guards are denied)
  global?: { exempt: readonly string[]; refused: boolean };
}

export function parseAuthUrl(value: string): AuthUrl | undefined {
  const text = value.trim();
  if (text.length > MAX_URL) return undefined;
  const match = /^(https?):\/\/(\[[^\]/]+\]|[^/:?#[\]]+)(?::([0-9]{1,5}))?(\/[^?#]*)?(\?[^#]*)?$/.exec(text);
  if (!match) return undefined;
  const [, , rawHost, port, path = '', query = ''] = match;
  const bracketed = rawHost!.startsWith('[');
  const hostname = bracketed ? rawHost!.slice(1, -1) : rawHost!;
  if (
    bracketed
      ? !net.isIPv6(hostname)
      : !(net.isIPv4(hostname) || (HOSTNAME.test(hostname) && !/^[0-9.]+$/.test(hostname)))
  )
    return undefined;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  if (!PATH_CHARS.test(path) || !QUERY_CHARS.test(query.slice(1))) return undefined;
  return { url: text, host: port !== undefined ? `${rawHost}:${port}` : rawHost!, hostname };
}

export function parseResponseHeaders(
  value: string,
): { ok: true; headers: AuthHeader[] } | { ok: false; reason: string } {
  const names = value.split(',').map((n) => n.trim());
  const out: AuthHeader[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (!HEADER_NAME.test(name) || name.length > 64)
      return {
        ok: false,
        reason: 'header names (letters and digits, words joined by "-", at most 64 characters) separated by commas',
      };
    const lower = name.toLowerCase();
    // a verdict nginx gives (ssl-client-verify, X-Real-IP...) must not come from an auth service either: an
    // Ingress could make it reach every backend its locations proxy to
    if (isProtectedHeader(lower))
      return {
        ok: false,
        reason: `header names other than ${name}, which the controller sets itself (model/proxy-headers.ts)`,
      };
    if (seen.has(lower)) continue;
    seen.add(lower);
    out.push({ name, parts: lower.split('-') });
  }
  if (out.length > MAX_HEADERS) return { ok: false, reason: `at most ${MAX_HEADERS} header names` };
  return { ok: true, headers: out };
}

/**
 * auth-signin: an http(s) URL, optionally with the variables ingress-nginx users write ($host,
 * $escaped_request_uri...). Unless its query has an rd parameter (redirectParam: global-auth-signin-redirect-param),
 * rd=$scheme://$http_host$escaped_request_uri is appended (the URL to come back to), as ingress-nginx does.
 */
export function parseSignin(value: string, redirectParam = 'rd'): SigninPart[] | undefined {
  const signin = value.trim();
  if (signin.length > MAX_URL || !/^https?:\/\/./.test(signin)) return undefined;
  const parts: SigninPart[] = [];
  const text = (literalText: string) => {
    const last = parts[parts.length - 1];
    if (last?.text != null) last.text += literalText;
    else parts.push({ text: literalText, var: null });
  };
  const re = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;
  let at = 0;
  let literal = '';
  for (const match of signin.matchAll(re)) {
    const chunk = signin.slice(at, match.index);
    if (!QUERY_CHARS.test(chunk.replace(/[[\]]/g, ''))) return undefined;
    if (chunk) text(chunk);
    literal += chunk;
    const name = match[1] ?? match[2]!;
    const nginxVar = Object.hasOwn(SIGNIN_VARIABLES, name) ? SIGNIN_VARIABLES[name] : undefined;
    if (!nginxVar) return undefined;
    parts.push({ text: null, var: nginxVar });
    literal += 'X';
    at = match.index! + match[0].length;
  }
  const rest = signin.slice(at);
  if (!QUERY_CHARS.test(rest.replace(/[[\]]/g, ''))) return undefined;
  if (rest) text(rest);
  literal += rest;
  // the scheme and the start of the host must be literal: a variable cannot turn it into another kind of URL
  if (!/^https?:\/\/[A-Za-z0-9[]/.test(literal) && !/^https?:\/\/X/.test(literal)) return undefined;
  const query = literal.includes('?') ? literal.slice(literal.indexOf('?') + 1) : null;
  const hasRd = query
    ?.split('&')
    .some((kv) => kv.startsWith(`${redirectParam}=`) && kv.length > redirectParam.length + 1);
  if (!hasRd) {
    const param = `${redirectParam}=`;
    text(query === null ? `?${param}` : query === '' || query.endsWith('&') ? param : `&${param}`);
    parts.push({ text: null, var: SIGNIN_VARIABLES.scheme! });
    text('://');
    parts.push({ text: null, var: SIGNIN_VARIABLES.http_host! });
    parts.push({ text: null, var: SIGNIN_VARIABLES.escaped_request_uri! });
  }
  return parts;
}

/** The internal location for an Ingress's auth subrequests: one per Ingress, stable across syncs. */
export function authPathFor(ingress: string): string {
  return `/_external-auth-${crypto.createHash('sha256').update(ingress).digest('hex').slice(0, 16)}`;
}

export function parseExternalAuth(
  ing: Ingress,
  ctx: AnnotationContext,
  problems: Problem[],
): ExternalAuthConfig | undefined {
  const annotations = ing.meta.annotations;
  const present = EXTERNAL_AUTH_KEYS.filter((k) => annotations[k] !== undefined);
  if (present.length === 0) return globalAuthFor(ing, ctx, problems);
  if (annotations[AUTH_URL] === undefined) {
    problems.push(
      problemAt(
        ing,
        'warning',
        `metadata.annotations["${present[0]}"]`,
        `${present.join(', ')} without ${AUTH_URL} has no effect`,
      ),
    );
    return undefined;
  }
  const before = problems.length;
  const url = parseAuthUrl(annotations[AUTH_URL]);
  if (!url)
    problems.push(
      refused(
        ing,
        AUTH_URL,
        annotations[AUTH_URL],
        'an http:// or https:// URL: host name or IP address, optional port, path and query of RFC 3986 characters, without nginx variables',
      ),
    );
  let method = 'GET';
  if (annotations[AUTH_METHOD] !== undefined) {
    const value = annotations[AUTH_METHOD].trim();
    if (AUTH_METHODS.includes(value)) method = value;
    else problems.push(refused(ing, AUTH_METHOD, annotations[AUTH_METHOD], AUTH_METHODS.join(', ')));
  }
  let headers: AuthHeader[] = [];
  if (annotations[AUTH_RESPONSE_HEADERS] !== undefined) {
    const result = parseResponseHeaders(annotations[AUTH_RESPONSE_HEADERS]);
    if (result.ok) headers = result.headers;
    else problems.push(refused(ing, AUTH_RESPONSE_HEADERS, annotations[AUTH_RESPONSE_HEADERS], result.reason));
  }
  let signin: SigninPart[] | null = null;
  if (annotations[AUTH_SIGNIN] !== undefined) {
    const parts = parseSignin(annotations[AUTH_SIGNIN]);
    if (parts) signin = parts;
    else {
      problems.push(
        refused(
          ing,
          AUTH_SIGNIN,
          annotations[AUTH_SIGNIN],
          `an http:// or https:// URL of RFC 3986 characters; the only variables allowed are ${Object.keys(
            SIGNIN_VARIABLES,
          )
            .map((n) => `$${n}`)
            .join(', ')}`,
        ),
      );
    }
  }
  if (problems.length > before || !url) return undefined;
  const ingress = `${ing.meta.namespace}/${ing.meta.name}`;
  return { ingress, source: { ...ing.source }, authPath: authPathFor(ingress), ...url, method, headers, signin };
}

/**
 * The ConfigMap's global auth for an Ingress without an auth-url of its own: undefined when there is none
 * or the Ingress opts out (enable-global-auth: "false"). An invalid enable-global-auth is ignored: the
 * global auth applies, as in ingress-nginx.
 */
export function globalAuthFor(
  ing: Ingress,
  ctx: Pick<AnnotationContext, 'settings'>,
  problems: Problem[],
): ExternalAuthConfig | undefined {
  const settings = ctx.settings;
  const optOut = ing.meta.annotations[ENABLE_GLOBAL_AUTH];
  const enabled = optOut === undefined ? true : parseBool(optOut);
  if (enabled === undefined)
    problems.push(toleratedProblem(refused(ing, ENABLE_GLOBAL_AUTH, optOut!, '"true" or "false"')));
  if (settings.globalAuthUrl === null || enabled === false) return undefined;
  const base = { ingress: GLOBAL, source: { ...ing.source }, authPath: GLOBAL_AUTH_PATH };
  const exempt = settings.noAuthLocations;
  const { globalAuthUrl: url, globalAuthMethod: method, globalAuthResponseHeaders: headers } = settings;
  const signin = settings.globalAuthSignin
    ? parseSignin(settings.globalAuthSignin, settings.globalAuthSigninRedirectParam)
    : null;
  const redirect = settings.globalAuthRequestRedirect;
  // the settings reported the invalid key once (parseSettings, or fromSettings for the snippet); here its
  // locations are only marked for denial
  if (
    url === false ||
    method === false ||
    headers === false ||
    signin === undefined ||
    redirect === false ||
    globalSnippetProblem(settings) !== null
  )
    return {
      ...base,
      url: '',
      host: '',
      hostname: '',
      method: 'GET',
      headers: [],
      signin: null,
      global: { exempt, refused: true },
    };
  return {
    ...base,
    ...url,
    method,
    headers: [...headers],
    signin,
    ...(redirect !== null ? { requestRedirect: redirect } : {}),
    global: { exempt, refused: false },
  };
}

/**
 * Why the ConfigMap's global-auth-snippet cannot be used, or null (none). It is not supported: the auth
 * subrequest's location is rendered by srv-external-auth.hbs, and an include there would make that partial
 * opaque (render/partial-traits.ts) for every server with external auth, changing their config. Ignoring it
 * could serve more than asked (a snippet may refuse subrequests), so, like an invalid key, it denies.
 */
export function globalSnippetProblem(settings: Settings): string | null {
  if (settings.globalAuthSnippet === null) return null;
  return 'global-auth-snippet is not supported; remove it, or let the auth service do what it did';
}

/** One internal location of srv-external-auth.hbs: the subrequests of one Ingress, proxied to its auth-url. */
export interface AuthLocation {
  ingress: string;
  global: boolean; // the ConfigMap's global auth
  requestRedirect: string | null;
  path: string;
  url: string;
  host: string;
  method: string;
  addresses: string; // what the host name resolved to, for the comment that makes a change a reload
}

/** Server config (srv-external-auth.hbs). */
export interface ExternalAuthServer {
  locations: AuthLocation[];
}

export const externalAuthFamily: Family<'external-auth', ExternalAuthConfig, ExternalAuthServer, AuthHeader> = {
  name: 'external-auth',
  keys: [...EXTERNAL_AUTH_KEYS, ENABLE_GLOBAL_AUTH],
  // an unreadable authentication must not serve the paths unauthenticated
  failClosed: true,
  location: parseExternalAuth,
  // the global auth's snippet, refused once here (the other global keys are checked by parseSettings)
  fromSettings(ctx, problems) {
    const why = ctx.settings.globalAuthUrl === null ? null : globalSnippetProblem(ctx.settings);
    if (why)
      problems.push({
        severity: 'error',
        object: 'ConfigMap (settings)',
        field: 'data.global-auth-snippet',
        message: `${why}; ${GLOBAL_DENIED}`,
      });
    return [];
  },
  // its problems follow custom-errors' in a build's report, as they always have
  finishAfter: ['custom-errors'],
  finish: (placed) => finishExternalAuth(placed.servers, placed.http, placed.resolved, placed.policy),
  // each auth subrequest sends its own list of request headers (model/proxy-headers.ts)
  serverView: (config) => ({
    locations: config.locations.map((location) => ({
      ...location,
      headers: headerList(
        'proxy_set_header',
        authServiceHeaders(location.host).map((header) =>
          location.requestRedirect !== null && header.name === 'X-Auth-Request-Redirect'
            ? { ...header, value: location.requestRedirect, literal: true }
            : header,
        ),
      ),
    })),
  }),
  // the http level sends each header from its variable, which a protected location sets (http-external-auth.hbs)
  variableHeaders: (items) => [...items],
};

/**
 * After all Ingresses are placed and after finishErrors (called by buildModel): each server gets the
 * internal auth locations of the Ingresses that protect its paths (several Ingresses may share a host,
 * so this cannot be the oldest Ingress's server config), the http block gets one variable per request header set from an auth
 * response or cleared by basic auth, and an auth-url whose host name does not resolve denies the
 * Ingress's paths instead of failing the whole configuration when nginx resolves it at load time.
 * `resolved` answers undefined when resolution is not known (render, validate): nothing is denied then.
 * An auth URL whose address and port are the controller's own (policy, src/model/endpoint-policy.ts:
 * its status server, nginx's internal API) denies the Ingress's paths too, as such an endpoint would.
 * The addresses a name resolves to are rendered as a comment, so a change reloads nginx, which resolves
 * proxy_pass names when it loads the config.
 */
export function finishExternalAuth(
  servers: Iterable<Server>,
  http: HttpItems,
  resolved: (host: string) => string[] | undefined,
  policy: EndpointPolicy = NO_PROTECTED,
): Problem[] {
  const problems: Problem[] = [];
  const headers = new Map<string, AuthHeader>();
  const unresolved = new Map<string, ExternalAuthConfig>(); // ingress -> its config
  // ingress -> why: an auth URL naming the controller's own listeners (endpoint-policy.ts), as an endpoint may not
  const toSelf = new Map<string, { ext: ExternalAuthConfig; why: string }>();
  const list = [...servers];
  for (const server of list) {
    for (const loc of locationsOf(server)) {
      const global = loc.ann['external-auth']?.global;
      if (!global) continue;
      // ingress-nginx's no-auth-locations: an Ingress path under one of these prefixes is not guarded
      const exempt = global.exempt.some((prefix) => loc.path.startsWith(prefix));
      if (exempt || global.refused) loc.ann = withConfig(loc.ann, externalAuthFamily, undefined);
      if (!exempt && global.refused && !loc.denied) loc.denied = 'invalid global external auth setting';
    }
  }
  for (const server of list) {
    const locations = new Map<string, ExternalAuthConfig & { addresses: string }>();
    for (const loc of locationsOf(server)) {
      const ext = loc.ann['external-auth'];
      if (ext) {
        const addrs = net.isIP(ext.hostname) ? [ext.hostname] : resolved(ext.hostname);
        const port = Number(/:(\d+)$/.exec(ext.host)?.[1] ?? (ext.url.startsWith('https:') ? 443 : 80));
        const why = (addrs ?? []).map((a) => endpointRefusal(a, port, policy)).find((w) => w !== null);
        if (why) toSelf.set(ext.ingress, { ext, why });
        // no internal location for a name that does not resolve: nginx would refuse the whole config
        else if (addrs !== undefined && addrs.length === 0) unresolved.set(ext.ingress, ext);
        else if (!locations.has(ext.ingress))
          locations.set(ext.ingress, { ...ext, addresses: addrs ? [...addrs].sort().join(' ') : 'unknown' });
        for (const header of ext.headers)
          if (!headers.has(header.parts.join('_'))) headers.set(header.parts.join('_'), header);
      }
      if (loc.ann.auth && !headers.has('authorization'))
        headers.set('authorization', { name: 'Authorization', parts: ['authorization'] });
    }
    if (locations.size) {
      server.ann['external-auth'] = {
        locations: [...locations.values()]
          .sort((x, y) => (x.authPath < y.authPath ? -1 : 1))
          .map((c) => ({
            ingress: c.ingress,
            global: c.global !== undefined,
            requestRedirect: c.requestRedirect ?? null,
            path: c.authPath,
            url: c.url,
            host: c.host,
            method: c.method,
            addresses: c.addresses,
          })),
      };
    }
  }
  for (const server of list) {
    for (const each of locationsOf(server)) {
      const ext = each.ann['external-auth'];
      if (ext && unresolved.has(ext.ingress) && !each.denied)
        each.denied = `auth-url host ${ext.hostname} does not resolve`;
      if (ext && toSelf.has(ext.ingress) && !each.denied) each.denied = 'auth-url names the controller itself';
    }
  }
  // the global auth's are the ConfigMap's problems, once, not those of the Ingress that met them first
  const problemOf = (ingress: string, ext: ExternalAuthConfig, message: string): Problem =>
    ext.global
      ? {
          severity: 'error',
          object: 'ConfigMap (settings)',
          field: 'data.global-auth-url',
          message: `${message}; ${GLOBAL_DENIED}`,
        }
      : {
          severity: 'error',
          file: ext.source.file,
          line: ext.source.line,
          object: `Ingress ${ingress}`,
          field: `metadata.annotations["${AUTH_URL}"]`,
          message: `${message}; the Ingress's paths answer 503 until it is fixed`,
        };
  for (const [ingress, { ext, why }] of toSelf)
    problems.push(problemOf(ingress, ext, `the auth URL ${ext.url}: ${why}`));
  for (const [ingress, ext] of unresolved)
    problems.push(problemOf(ingress, ext, `the host ${ext.hostname} of the auth URL does not resolve`));
  if (headers.size)
    http['external-auth'] = [...headers.values()].sort((x, y) =>
      x.name.toLowerCase() < y.name.toLowerCase() ? -1 : 1,
    );
  return problems;
}
