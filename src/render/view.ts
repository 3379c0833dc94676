// The shape the templates see: the model plus everything derived for nginx's syntax (listen lines,
// prefix locations split in two, file paths). Values stay raw here; the helpers escape them.
import path from 'node:path';
import type { Balance, Certificate, Location, Model, Server } from '../model/index.js';
import { configIn, FAMILIES } from '../model/annotations/index.js';
import type { AnyFamily, HttpItems, LocationAnnotations, ServerAnnotations } from '../model/annotations/index.js';
import type { UpstreamPass } from '../model/annotations/family.js';
import { hstsHeader } from '../model/settings.js';
import { withNonIdempotent } from '../model/annotations/proxy.js';
import { backendHeaders, forwarding, headerList } from '../model/proxy-headers.js';
import type { ConstantHeader, VariableHeader } from '../model/proxy-headers.js';
import { mergeIntoEnclosing } from './merge-locations.js';
import { serverNamesHash } from './names-hash.js';
import { bundledTraits } from './partial-traits.js';
import type { PartialTraits, TraitsOf } from './partial-traits.js';

// without a backend-protocol annotation a location proxies over plain HTTP
const PLAIN_HTTP: UpstreamPass = { directive: 'proxy_pass', scheme: 'http' };

// Replaced by the sha256 of the rendered text; no manifest value can contain '|'.
export const HASH_PLACEHOLDER = '|CONFIG_HASH|';

export interface NginxFeatures {
  tempPaths: string[]; // modules with a *_temp_path directive besides proxy: fastcgi, uwsgi, scgi
  // headers-more: compiled in (module null) or the dynamic module's load_module path; absent when nginx
  // lacks it, and response headers fall back to add_header (which cannot replace or clear a header)
  headersMore?: { module: string | null };
}

/** The load_module lines an nginx with these features needs besides ngx_lua's. */
export function featureModules(features: NginxFeatures): string[] {
  return features.headersMore?.module ? [features.headersMore.module] : [];
}

// Holds every backend's JSON; also the size limit of one push.
export const LUA_SHARED_DICT_SIZE = '64m';

export type BalancerMode = 'lua' | 'static';

export interface RenderOptions {
  // lua: endpoints live in a shared dict fed by the controller, never in the text (no reload when they
  // change); static: endpoints are rendered into upstream blocks (for an nginx without ngx_lua)
  balancer: BalancerMode;
  luaDir: string; // absolute path of nginx/lua
  luaModules: string[]; // load_module paths, empty when ngx_lua is compiled in
  pidFile?: string; // default PREFIX/nginx.pid (sidecar mode: where the external nginx keeps it)
  prefix: string; // absolute directory for config, pid, logs, temp and TLS files
  listenAddress: string; // "*" for all addresses
  httpPort: number;
  httpsPort: number;
  internalPort: number; // loopback-only status server inside nginx
  defaultCertificate: string; // PEM file with certificate and key
  user?: string | null; // nginx "user" directive, only meaningful when started as root
  features: NginxFeatures;
  version: string;
}

/** Where managed files (htpasswd, CA bundles) live. */
export function filesDir(prefix: string): string {
  return path.join(prefix, 'files');
}

export function certificateFile(prefix: string, cert: Certificate): string {
  // the hash in the name makes a changed certificate a changed config, so nginx reloads it; the name
  // ("namespace_secret", both DNS names) can never leave the ssl directory
  if (!/^[a-z0-9][a-z0-9._-]{0,508}$/.test(cert.name) || cert.name.includes('..') || !/^[0-9a-f]{16}/.test(cert.hash)) {
    throw new Error(`refusing certificate file name ${JSON.stringify(cert.name)}`);
  }
  return path.join(prefix, 'ssl', `${cert.name}-${cert.hash.slice(0, 16)}.pem`);
}

interface LocationView {
  exact: boolean; // "location = PATH" rather than a prefix location
  pattern: string | null; // "location ~* PATTERN": the host has regex paths (use-regex, rewrite-target)
  caseSensitive: boolean; // "location ~ PATTERN" (an Exact path ending in "/", below)
  path: string;
  ingress: string;
  pathType: string;
  backend: string | null;
  upstreamLabel: string; // for $proxy_upstream_name in logs
  redirect: HttpsRedirect | null; // plain HTTP answers a redirect to HTTPS (https-redirect.hbs)
  // proxy_pass http://, https://, $scheme:// (requestScheme), grpc_pass grpc://, grpcs://, fastcgi_pass (no
  // scheme): backend-protocol
  pass: { directive: string; scheme: string | null; requestScheme: boolean };
  affinity: boolean;
  ewma: boolean;
  denied: boolean; // an invalid annotation: answer 503
  // lua: a backend without endpoints answers 503 from the server's named location, not from the internal
  // server (which speaks plain HTTP/1 only): gRPC and HTTPS upstreams
  unavailablePage: boolean;
  families: FamilyView[]; // annotation families with config for this location, rendered by their partials
  // adds response headers itself, so it must repeat the server's add_header lines, HSTS and add-headers
  // (nginx inherits add_header only into a level that has none); never with headers-more, whose
  // more_set_headers every level inherits and adds to
  ownHeaders: boolean;
  servedBy: string | null; // no block: the location of this path serves its requests alike (merge.ts)
}

/** The target of an ssl-redirect: the URI kept whole or less a trailing "/", the HTTPS port or none. */
interface HttpsRedirect {
  keepSlash: boolean;
  port: number | null;
}

const sameRedirect = (left: HttpsRedirect | null, right: HttpsRedirect | null) =>
  left !== null && right !== null && left.keepSlash === right.keepSlash && left.port === right.port;

// one annotation family's config, with the partial that renders it (context: config + partial)
// The family and its partial's traits ride along under symbols: the view's decisions read them, while the
// templates and merge-locations' configKey (the JSON of a whole location) never see them.
const FAMILY = Symbol('family');
const TRAITS = Symbol('traits');

interface FamilyView {
  partial: string;
  [FAMILY]: AnyFamily;
  [TRAITS]: PartialTraits;
  [field: string]: unknown;
}

/** The families with config in a location's or server's map, in families.ts order (rewrite last). */
function familyViews(
  kind: 'ann' | 'srv',
  ann: LocationAnnotations | ServerAnnotations,
  traitsOf: TraitsOf,
  view: (family: AnyFamily, config: unknown) => object = (_family, config) => config as object,
): FamilyView[] {
  const views: FamilyView[] = [];
  for (const family of FAMILIES) {
    const config = configIn(ann, family);
    if (config === undefined) continue;
    const partial = `${kind}-${family.name}`;
    views.push({ ...view(family, config), partial, [FAMILY]: family, [TRAITS]: traitsOf(partial) });
  }
  return views;
}

/** The families' answers to a hook about their http items (the request headers of every backend). */
function fromHttpItems<T>(http: HttpItems, hook: (family: AnyFamily, items: unknown[]) => T[] | undefined): T[] {
  return FAMILIES.flatMap((family) => {
    const items = configIn(http, family) as unknown[] | undefined;
    return items ? (hook(family, items) ?? []) : [];
  });
}

/** The ConfigMap's custom headers, which the headers family keeps in its http items. */
function customHeaders(model: Model): ConstantHeader[] {
  return fromHttpItems(model.http, (family, items) => family.constantHeaders?.(items));
}

/** The ConfigMap's add-headers, which the response-headers family keeps in its http items. */
function addHeadersOf(model: Model): { name: string; value: string }[] {
  return fromHttpItems(model.http, (family, items) => family.responseHeaders?.(items));
}

// the location partial of the custom-headers annotation (model/annotations/response-headers.ts)
const CUSTOM_HEADERS_PARTIAL = 'ann-response-headers';

/** The templates' view of the model; traitsOf tells what the loaded partials do (default: the bundled ones). */
export function buildView(model: Model, options: RenderOptions, traitsOf: TraitsOf = bundledTraits()) {
  const certs = new Map(model.certificates.map((c) => [c.name, certificateFile(options.prefix, c)]));
  // ingress-nginx's redirect target: no port unless use-port-in-redirects, then the port nginx listens on
  const defaultRedirect: HttpsRedirect = {
    keepSlash: model.settings.preserveTrailingSlash,
    port: model.settings.usePortInRedirects ? options.httpsPort : null,
  };
  const lua = options.balancer === 'lua';
  const upstreams = lua ? [] : model.backends.filter((b) => b.endpoints.length > 0);
  // in lua mode every known backend is proxied: its endpoints may arrive later without a reload
  const live = new Set((lua ? model.backends : upstreams).map((b) => b.name));
  const balances = new Map(model.backends.map((b) => [b.name, b.balance]));
  const canaryOf = new Map(model.backends.map((b) => [b.name, b.canary?.backend ?? '']));
  const hsts = hstsHeader(model.settings);
  // nginx's default server of the listen sockets: the catch-all, else the first
  const defaultServer = model.servers.find((s) => s.host === '') ?? model.servers[0];
  // --default-ssl-certificate: its Secret's file stands wherever the generated certificate would
  const serverOptions = model.defaultCertificate
    ? { ...options, defaultCertificate: certs.get(model.defaultCertificate)! }
    : options;
  const servers = model.servers.map((s) =>
    serverView(
      s,
      model,
      serverOptions,
      certs,
      live,
      balances,
      canaryOf,
      defaultRedirect,
      s === defaultServer,
      traitsOf,
    ),
  );
  const redirected = servers.filter((s) => s.redirectedElsewhere);
  const variableHeaders: VariableHeader[] = fromHttpItems(model.http, (family, items) =>
    family.variableHeaders?.(items),
  );
  // ---- issue 13: proxy-add-original-uri-header sends the request URI to backends (settings-defaults.ts)
  const backendList = backendHeaders(customHeaders(model), variableHeaders).map((header) =>
    header.name === 'X-Original-URI' && model.settings.proxyAddOriginalUriHeader
      ? { ...header, value: '$request_uri' }
      : header,
  );
  const forwardingView = forwarding(model.settings, options.features.headersMore !== undefined);
  const headersMore = options.features.headersMore !== undefined;
  // header values from ConfigMaps, whose "$" that is not an allowed variable is ${ingress_templater_dollar}
  const literalDollar =
    addHeadersOf(model).length > 0 ||
    customHeaders(model).some((header) => header.value.includes('$')) ||
    servers.some((server) =>
      withFallback(server).some((location) =>
        location.families.some((view) => view.partial === CUSTOM_HEADERS_PARTIAL),
      ),
    );
  const namesHash = serverNamesHash(
    serverNames(model.servers),
    model.settings.serverNameHashBucketSize,
    model.settings.serverNameHashMaxSize,
  );
  return {
    lua,
    luaPackagePath: `${options.luaDir}/?.lua;;`,
    luaSharedDictSize: LUA_SHARED_DICT_SIZE,
    luaModules: lua ? options.luaModules : [],
    featureModules: featureModules(options.features),
    headersMore,
    // with headers-more: ingress-nginx's "more_clear_headers Server" unless server-tokens; the literal "$"
    // of header values (render/escape.ts)
    responseHeaders:
      (headersMore && !model.settings.serverTokens) || literalDollar
        ? { clearServer: headersMore && !model.settings.serverTokens, literalDollar }
        : null,
    version: options.version,
    user: options.user ?? null,
    httpsListenPort: options.httpsPort,
    settings: model.settings,
    // ---- issue 13: retry-non-idempotent adds its condition to the http level's proxy_next_upstream
    addNonIdempotent:
      withNonIdempotent(model.settings.proxyNextUpstream, model.settings.retryNonIdempotent) !==
      model.settings.proxyNextUpstream,
    paths: {
      pid: options.pidFile ?? path.join(options.prefix, 'nginx.pid'),
      errorLog: path.join(options.prefix, 'logs', 'error.log'),
      accessLog: path.join(options.prefix, 'logs', 'access.log'),
      clientBodyTemp: path.join(options.prefix, 'tmp', 'client_body'),
      proxyTemp: path.join(options.prefix, 'tmp', 'proxy'),
    },
    tempPaths: options.features.tempPaths.map((name) => ({ name, path: path.join(options.prefix, 'tmp', name) })),
    filesDir: filesDir(options.prefix),
    proxyHeaders: headerList('proxy_set_header', backendList),
    grpcHeaders: servers.some((s) => withFallback(s).some((l) => l.pass.directive === 'grpc_pass'))
      ? headerList('grpc_set_header', backendList)
      : null,
    httpFamilies: [
      // items that are constant request headers are in proxyHeaders, not a partial of their own
      ...FAMILIES.filter((family) => !family.constantHeaders).flatMap((family) => {
        const items = configIn(model.http, family) as unknown[] | undefined;
        return items?.length ? [{ partial: `http-${family.name}`, items }] : [];
      }),
      // the HSTS value for TLS servers' add_header, empty (no header) on plain HTTP (srv-hsts.hbs)
      ...(hsts && model.servers.some((s) => s.tls !== null)
        ? [{ partial: 'http-hsts', items: [{ value: hsts }] }]
        : []),
    ],
    // from-to-www-redirect's maps (redirect-maps.hbs), for the names a server answers besides its host
    wwwRedirects: model.servers.some((server) =>
      FAMILIES.some((family) => {
        const config = configIn(server.ann, family);
        return config !== undefined && (family.serverNames?.(config).length ?? 0) > 0;
      }),
    ),
    serverNamesHashBucketSize: namesHash.bucket,
    serverNamesHashMaxSize: namesHash.max,
    upstreams,
    servers,
    // plain HTTP to the servers that listen for HTTPS only: one server redirects them all
    httpsRedirect: redirected.length
      ? { hosts: redirected.map((s) => s.host), listen: redirected[0]!.listen, target: defaultRedirect }
      : null,
    internalPort: options.internalPort,
    // forwarded headers and the client address (forwarded-headers.hbs), and the header values they change
    // in every list of request headers (proxy-headers.hbs); null when none of their settings is on
    forwarding: forwardingView,
    forwardedHeaders: forwardingView?.headers ?? null,
    forwardedHost: forwardingView?.trustHeaders ?? false, // X-Forwarded-Host is the host (http.hbs)
    forwardedChain: forwardingView !== null && forwardingView.realIp.chain !== null, // proxy-headers.hbs
    // the redirects to HTTPS test the scheme the proxy in front was asked for (server.hbs)
    schemeFromProxy: model.settings.useForwardedHeaders || model.settings.useProxyProtocol,
  };
}

function serverView(
  server: Server,
  model: Model,
  options: RenderOptions,
  certs: Map<string, string>,
  live: Set<string>,
  balances: Map<string, Balance>,
  canaryOf: Map<string, string>,
  defaultRedirect: HttpsRedirect,
  socketDefault: boolean,
  traitsOf: TraitsOf,
) {
  const tls = server.tls !== null;
  // TLS servers send HSTS; a server checking client certificates serves HTTPS only (auth-tls.ts)
  const hsts = tls ? hstsHeader(model.settings) : null;
  const headersMore = options.features.headersMore !== undefined;
  const serverConfigs = familyViews('srv', server.ann, traitsOf);
  const httpsOnly = serverConfigs.some((view) => view[FAMILY].httpsOnly?.(configIn(server.ann, view[FAMILY])));
  const backendOrNull = (b: string | null) => (b && live.has(b) ? b : null);
  const lua = options.balancer === 'lua';
  // only backends that need them pay for extra Lua phases; a backend's canary (model/canary-pass.ts) takes
  // some of its requests, so its needs count too
  const luaHooks = (backend: string | null) => {
    const own = backend === null ? [] : [balances.get(backend), balances.get(canaryOf.get(backend) ?? '')];
    return {
      affinity: lua && own.some((x) => x?.affinity !== undefined),
      ewma: lua && own.some((x) => x?.loadBalance === 'ewma'),
    };
  };
  const exact = new Set(server.locations.filter((l) => l.match === 'exact').map((l) => l.path));
  const locations: LocationView[] = [];
  const viewOf = (
    location: Location,
    exactMatch: boolean,
    locationPath: string,
    pattern: string | null = null,
  ): LocationView => {
    const backend = backendOrNull(location.backend);
    const families = familyViews('ann', location.ann, traitsOf);
    const configOf = (family: AnyFamily) => configIn(location.ann, family);
    // backend-protocol: proxy_pass https://, grpc_pass grpc:// or grpcs://
    const protocol = families.find((view) => view[FAMILY].upstream);
    const upstream = protocol ? protocol[FAMILY].upstream!(configOf(protocol[FAMILY])) : PLAIN_HTTP;
    const requestScheme = upstream.scheme === '$scheme';
    const pass = { directive: upstream.directive, scheme: requestScheme ? null : upstream.scheme, requestScheme };
    const shape = families
      .map((view) => view[FAMILY].httpsRedirectTarget?.(configOf(view[FAMILY])))
      .find((target) => target !== undefined);
    // ingress-nginx's no-tls-redirect-locations: these paths never redirect, force-ssl-redirect or not;
    // a host checking client certificates still serves none of them over plain HTTP
    const exempt = model.settings.noTlsRedirectLocations.some((prefix) => location.path.startsWith(prefix));
    const redirects =
      location.denied === null &&
      (httpsOnly ||
        (!exempt &&
          ((tls && location.sslRedirect) ||
            families.some((view) => view[FAMILY].redirectsToHttps?.(configOf(view[FAMILY]))))));
    return {
      exact: exactMatch,
      pattern,
      caseSensitive: false,
      path: locationPath,
      ingress: location.ingress,
      pathType: location.pathType,
      backend,
      upstreamLabel: location.backend ?? '-',
      redirect: !redirects
        ? null
        : shape
          ? { keepSlash: shape.preserveTrailingSlash, port: shape.usePort ? options.httpsPort : null }
          : defaultRedirect,
      pass,
      ...luaHooks(backend),
      denied: location.denied !== null,
      families,
      ownHeaders: !headersMore && families.some((view) => view[TRAITS].addsHeaders),
      servedBy: null,
      // custom error pages (custom-errors.ts) take the balancer's 500 themselves
      unavailablePage:
        lua &&
        location.denied === null &&
        backend !== null &&
        pass.scheme !== 'http' &&
        !families.some((view) => view[FAMILY].answersUnavailable?.(configOf(view[FAMILY]))),
    };
  };
  const add = (location: Location, exactMatch: boolean, locationPath: string, pattern: string | null = null) => {
    locations.push(viewOf(location, exactMatch, locationPath, pattern));
  };
  // use-regex / rewrite-target on any Ingress of the host: as in ingress-nginx, every path of the host
  // becomes a case-insensitive regex location, and nginx tries them in order, longest path first
  const regexHost = server.locations.some((l) => l.match === 'regex');
  for (const loc of server.locations) {
    if (regexHost) {
      const literal = escapeRegex(loc.path);
      if (loc.match === 'regex')
        add(loc, false, loc.path, loc.pathType === 'Exact' ? `^(?:${loc.path})$` : `^${loc.path}`);
      else if (loc.match === 'exact') add(loc, false, loc.path, `^${literal}$`);
      else if (loc.path === '/') add(loc, false, '/', '^/');
      else {
        // a Prefix path of a plain Ingress keeps its element-wise meaning: /foo and /foo/...
        if (!exact.has(loc.path)) add(loc, false, loc.path, `^${literal}$`);
        add(loc, false, `${loc.path}/`, `^${literal}/`);
      }
    } else if (loc.match === 'exact') add(loc, true, loc.path);
    else if (loc.path === '/') add(loc, false, '/');
    else {
      // Prefix /foo matches /foo and /foo/...: an exact location plus a prefix location ending in '/'
      if (!exact.has(loc.path)) add(loc, true, loc.path);
      add(loc, false, `${loc.path}/`);
    }
  }
  // Regex locations are tried in the written order: longest path first. Prefix and exact locations go in
  // nginx's own order, which changes nothing in how nginx matches them (longest prefix, exact name) but
  // is what nginx sorts them into at every nginx -t and reload, by insertion sort (ngx_queue_sort, nginx
  // 1.22): in any other order that costs a comparison per pair of locations (50,000 paths on one host:
  // nginx -t 40 s instead of 14 s).
  locations.sort(regexHost ? longestFirst : nginxLocationOrder);
  const hasRoot = server.locations.some((l) => l.match === 'prefix' && l.path === '/');
  // ---- the location "/" of unmatched paths (issue 13): the model's, with the annotations of the host's
  // oldest Ingress (model/index.ts fallbackLocation), else one without annotations
  const fallback = hasRoot
    ? null
    : viewOf(
        server.fallbackLocation ?? {
          path: '/',
          match: 'prefix',
          pathType: 'Prefix',
          backend: server.fallback.backend,
          ingress: server.fallback.ingress ?? '',
          sslRedirect: model.settings.sslRedirect,
          ann: {},
          denied: null,
        },
        false,
        '/',
      );
  // One "if" block for the server instead of one per location (each costs nginx -t and a reload time
  // and memory): only when every location redirects alike, and no snippet may add locations of its own.
  const snippets =
    serverConfigs.some((view) => view[TRAITS].opaque) ||
    [...locations, ...(fallback ? [fallback] : [])].some((l) => l.families.some((view) => view[TRAITS].opaque));
  // alike: the same target too, the fallback's when it is covered as well
  const first = hasRoot ? (locations[0]?.redirect ?? null) : fallback!.redirect;
  const redirect =
    !snippets && locations.every((l) => sameRedirect(l.redirect, first)) && first !== null ? first : null;
  if (redirect) {
    for (const location of locations) location.redirect = null;
    if (fallback) fallback.redirect = null;
  }
  if (!regexHost && !snippets) mergeIntoEnclosing(locations);
  // nginx answers "/foo" with a 301 to "/foo/" when a location named "/foo/" proxies, exact ones included
  // (its auto_redirect); the Kubernetes path table says an Exact "/foo/" does not match "/foo", which the
  // host's other paths answer, or its 404. A regex location has no such redirect: "~ ^/foo/$" matches what
  // "= /foo/" did, case-sensitive, and beats every prefix location as an exact one does (none is "^~").
  if (!regexHost) {
    for (const location of locations) {
      if (!location.exact || location.servedBy || location.path === '/' || !location.path.endsWith('/')) continue;
      location.pattern = `^${escapeRegex(location.path)}$`;
      location.caseSensitive = true;
    }
  }
  // Nor that "if" when nothing at server level runs before it (from-to-www, app-root): plain HTTP for the
  // host goes to one server that redirects all such hosts (nginx.conf.hbs); this one listens for HTTPS only.
  // the server partials' contexts: error pages and auth subrequests get their lists of request headers
  const custom = customHeaders(model);
  const families = familyViews('srv', server.ann, traitsOf, (family, config) =>
    family.serverView ? family.serverView(config, custom) : (config as object),
  );
  // ...and not when the scheme is the proxy's in front (use-forwarded-headers, use-proxy-protocol): plain
  // HTTP that was HTTPS there must reach this server; nor for a target other than the shared server's
  const redirectedElsewhere =
    redirect !== null &&
    sameRedirect(redirect, defaultRedirect) &&
    !model.settings.useForwardedHeaders &&
    !model.settings.useProxyProtocol &&
    server.host !== '' &&
    !families.some((view) => view[TRAITS].answersBeforeRedirect);
  return {
    lua,
    families,
    host: server.host,
    isDefault: server.host === '',
    listen: {
      http: options.listenAddress,
      https: options.listenAddress,
      httpPort: options.httpPort,
      httpsPort: options.httpsPort,
    },
    http2: model.settings.useHttp2,
    // Only servers that need a TLS context of their own name a certificate: the sockets' default server, a
    // server with a Secret's certificate, one checking client certificates. SNI leaves the clients of the
    // others on the default server's context, with the same (default) certificate and settings; nginx then
    // skips loading the certificate once per server.
    certificate:
      server.tls && server.tls !== 'default'
        ? certs.get(server.tls)!
        : socketDefault || families.some((view) => view[TRAITS].tlsContext)
          ? options.defaultCertificate
          : null,
    redirect: redirectedElsewhere ? null : redirect,
    redirectedElsewhere,
    unavailablePage: locations.some((l) => l.unavailablePage) || fallback?.unavailablePage === true,
    hsts,
    // without headers-more the ConfigMap's add-headers are add_header lines of every server (an http-level
    // add_header would be lost in the servers that send HSTS); with it, more_set_headers in http {}
    addHeaders: headersMore ? [] : addHeadersOf(model),
    locations,
    fallback: fallback && {
      ...fallback,
      // a default backend that exists but cannot be reached answers 503, no default backend at all 404
      status: server.fallback.backend === null && server.fallback.ingress === null ? 404 : 503,
      ingress: server.fallback.ingress ?? '',
      // whose annotations it carries, when they render anything
      annotatedBy: fallback.families.length > 0 || fallback.denied ? fallback.ingress : null,
      // ---- issue 13: the catch-all's own default backend is not logged unless enable-access-log-for-default-backend
      defaultBackendLogOff:
        server.host === '' && server.fallback.ingress === null && !model.settings.enableAccessLogForDefaultBackend,
    },
  };
}

/** A server view's location views, the one of its unmatched paths included. */
function withFallback(server: { locations: LocationView[]; fallback: LocationView | null }): LocationView[] {
  return server.fallback ? [...server.locations, server.fallback] : server.locations;
}

function longestFirst(left: { path: string }, right: { path: string }): number {
  return right.path.length - left.path.length || (left.path < right.path ? 1 : left.path > right.path ? -1 : 0);
}

const SLASH = 0x2f;

/**
 * The order nginx puts prefix and exact locations in (ngx_http_cmp_locations): by name, byte by byte,
 * with '/' below every other character and a name before the longer names it begins; an exact location
 * before the prefix location of the same name. Paths are ASCII (syntax.ts HTTP_PATH), so UTF-16 code
 * units are the bytes nginx compares.
 */
export function nginxLocationOrder(
  left: { path: string; exact: boolean },
  right: { path: string; exact: boolean },
): number {
  const count = Math.min(left.path.length, right.path.length);
  for (let i = 0; i < count; i++) {
    const leftCode = left.path.charCodeAt(i);
    const rightCode = right.path.charCodeAt(i);
    if (leftCode !== rightCode) return (leftCode === SLASH ? 0 : leftCode) - (rightCode === SLASH ? 0 : rightCode);
  }
  return left.path.length - right.path.length || (left.exact === right.exact ? 0 : left.exact ? -1 : 1);
}

/** A literal path inside a regex: the path characters that are regex metacharacters, escaped. */
export function escapeRegex(literal: string): string {
  return literal.replace(/[.*+?^$()[\]{}|\\]/g, '\\$&');
}

/** The names nginx hashes: exact hosts, "_" for the catch-all, from-to-www aliases (wildcards are regexes). */
function serverNames(servers: Server[]): string[] {
  const names: string[] = [];
  for (const server of servers) {
    if (!server.host.startsWith('*.')) names.push(server.host || '_');
    for (const family of FAMILIES) {
      const config = configIn(server.ann, family);
      if (config !== undefined && family.serverNames) names.push(...family.serverNames(config));
    }
  }
  return names;
}
