// The request headers nginx sends upstream, from one list: every location kind the controller writes gets
// them from here (render/view.ts builds the lists, templates/partials/proxy-headers.hbs renders them).
//
// Protected headers carry what nginx itself knows or decided: the client's address, the request ID, the
// scheme and port, the client certificate verdict (auth-tls), and what the controller tells the auth
// service and the default backend of an error page. A backend, the auth service and a default backend
// must be able to trust them, so each is always either set by nginx from its own variables or set to an
// empty value, which nginx does not send but which still keeps the client's copy of the header from
// passing. No annotation or ConfigMap header may name one (isProtectedHeader).
//
// nginx inherits proxy_set_header (and grpc_set_header) into a level only when that level has none of its
// own. The http level therefore sends the whole list, locations send none, and what varies per location
// comes from variables set with `set`. The two location kinds that must send other values (the auth
// subrequest, error pages) repeat the whole list, built by the functions below.

import net from 'node:net';
import type { Settings } from './settings.js';

/** One header: a value that is nginx text (variables allowed, built here only) or a literal (quoted). */
export interface HeaderRule {
  name: string;
  value: string;
  literal: boolean; // the value came from a manifest: a quoted string, its only variables allowed ones (escape.ts)
  grpc: boolean; // also sent to gRPC backends (hop-by-hop headers have no meaning in HTTP/2)
}

const rule = (name: string, value: string, o: { literal?: boolean; grpc?: boolean } = {}): HeaderRule => ({
  name,
  value,
  literal: o.literal ?? false,
  grpc: o.grpc ?? true,
});

/** What every backend gets (the http level): nginx's own values, or empty for the headers only others get. */
export const PROTECTED_HEADERS: readonly HeaderRule[] = Object.freeze([
  // upstream-vhost / x-forwarded-prefix set these variables in their locations (ann-headers.hbs)
  rule('Host', '$ingress_templater_host'),
  rule('X-Forwarded-Prefix', '$ingress_templater_forwarded_prefix'),
  rule('Upgrade', '$http_upgrade', { grpc: false }),
  rule('Connection', '$connection_upgrade', { grpc: false }),
  // the client's own request ID when it sends one (a trace begun upstream), else nginx's: as ingress-nginx
  rule('X-Request-ID', '$ingress_templater_request_id'),
  rule('X-Real-IP', '$remote_addr'),
  // forwarded headers from clients are not trusted: the chain starts at the client nginx sees, as
  // ingress-nginx does without use-forwarded-headers (forwarding() below gives the values with it)
  rule('X-Forwarded-For', '$remote_addr'),
  rule('X-Forwarded-Host', '$best_http_host'),
  // the HTTPS port nginx listens on counts as 443, as ingress-nginx's $pass_port: behind a Service the
  // clients connected to 443 (http.hbs maps it)
  rule('X-Forwarded-Port', '$ingress_templater_forwarded_port'),
  rule('X-Forwarded-Proto', '$scheme'),
  rule('X-Forwarded-Scheme', '$scheme'),
  rule('X-Scheme', '$scheme'),
  // what the client said, under names that say so (ingress-nginx sends both, empty ones are not sent)
  rule('X-Original-Forwarded-For', '$http_x_forwarded_for'),
  rule('X-Original-Forwarded-Host', '$http_x_forwarded_host'),
  // client certificate verdicts: empty except in servers with auth-tls (srv-auth-tls.hbs sets them)
  rule('ssl-client-verify', '$ingress_templater_ssl_client_verify'),
  rule('ssl-client-subject-dn', '$ingress_templater_ssl_client_s_dn'),
  rule('ssl-client-issuer-dn', '$ingress_templater_ssl_client_i_dn'),
  rule('ssl-client-cert', '$ingress_templater_ssl_client_cert'),
  // what the auth service is told (authServiceHeaders) and the default backend of an error page
  // (errorPageHeaders); nobody else gets them, nor a client's copy
  rule('X-Original-URI', ''),
  rule('X-Original-URL', ''),
  rule('X-Original-Method', ''),
  rule('X-Auth-Request-Redirect', ''),
  rule('X-Sent-From', ''),
  rule('X-Code', ''),
  rule('X-Format', ''),
  rule('X-Namespace', ''),
  rule('X-Ingress-Name', ''),
  rule('X-Service-Name', ''),
  rule('X-Service-Port', ''),
  // httpoxy: a Proxy request header becomes HTTP_PROXY in CGI-style backends
  rule('Proxy', '', { grpc: false }),
]);

// Headers about the connection, which nginx manages itself: never named by configuration either.
const CONNECTION_HEADERS = ['content-length', 'transfer-encoding', 'te', 'keep-alive', 'trailer', 'expect'];

const RESERVED: ReadonlySet<string> = new Set([...PROTECTED_HEADERS.map((h) => normal(h.name)), ...CONNECTION_HEADERS]);

// Many backends (CGI, WSGI, Rack, PHP) read headers as HTTP_X_REAL_IP, so "X_Real_IP" would reach them as
// X-Real-IP; nginx drops such client headers (ignore_invalid_headers), configuration must not add them.
function normal(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

/** Is this header set by the controller itself (or about the connection), so no configuration may set it? */
export function isProtectedHeader(name: string): boolean {
  return RESERVED.has(normal(name));
}

/** A header sent from a variable: auth-response-headers and basic auth's Authorization (http-external-auth.hbs). */
export interface VariableHeader {
  name: string;
  parts: string[]; // the variable is $ingress_templater_auth_<parts joined by "_">
}

/** A constant header for every backend (ConfigMap proxy-set-headers). */
export interface ConstantHeader {
  name: string;
  value: string;
}

function replace(list: readonly HeaderRule[], overrides: HeaderRule[]): HeaderRule[] {
  const by = new Map(overrides.map((o) => [o.name.toLowerCase(), o]));
  const out = list.map((h) => by.get(h.name.toLowerCase()) ?? h);
  for (const override of overrides)
    if (!list.some((h) => h.name.toLowerCase() === override.name.toLowerCase())) out.push(override);
  return out;
}

/** A list of request headers for templates/partials/proxy-headers.hbs (gRPC gets the headers it can carry). */
export function headerList(directive: 'proxy_set_header' | 'grpc_set_header', headers: HeaderRule[]) {
  return { directive, headers: directive === 'grpc_set_header' ? headers.filter((h) => h.grpc) : headers };
}

/**
 * The http level's list, inherited by every location that proxies to a backend: the protected headers,
 * the ConfigMap's custom headers, and the headers an auth step sets (each variable is the client's own
 * header unless the location's auth step set it: http-external-auth.hbs).
 */
export function backendHeaders(custom: readonly ConstantHeader[], variables: readonly VariableHeader[]): HeaderRule[] {
  return [
    ...PROTECTED_HEADERS,
    ...custom.map((c) => rule(c.name, c.value, { literal: true })),
    ...variables.map((v) => rule(v.name, `$ingress_templater_auth_${v.parts.join('_')}`)),
  ];
}

/**
 * The auth subrequest's list (srv-external-auth.hbs): the protected headers with what the auth service
 * is told about the request. The client's other headers (credentials, cookies) reach it, as it needs
 * them to decide; the ConfigMap's custom headers and the auth-response variables are for backends only.
 */
export function authServiceHeaders(host: string): HeaderRule[] {
  return replace(PROTECTED_HEADERS, [
    rule('Host', host, { literal: true }),
    rule('Upgrade', ''),
    rule('Connection', 'close', { literal: true }),
    rule('X-Original-URL', '$scheme://$http_host$request_uri'),
    rule('X-Original-URI', '$request_uri'),
    rule('X-Original-Method', '$request_method'),
    rule('X-Auth-Request-Redirect', '$request_uri'),
    rule('X-Sent-From', 'nginx-ingress-controller', { literal: true }),
    // the subrequest has no body
    rule('Content-Length', ''),
  ]);
}

/**
 * A mirror's list (srv-mirror.hbs, annotations/mirror.ts): what the backend gets, with the Host mirror-host
 * or the target's name, and no Content-Length when the body is not mirrored (the target would wait for it).
 */
export function mirrorHeaders(host: string, requestBody: boolean, custom: readonly ConstantHeader[]): HeaderRule[] {
  return replace(backendHeaders(custom, []), [
    rule('Host', host, { literal: true }),
    rule('Upgrade', ''),
    rule('Connection', 'close', { literal: true }),
    ...(requestBody ? [] : [rule('Content-Length', '')]),
  ]);
}

/**
 * An error page's list (srv-custom-errors.hbs), sent with proxy_pass_request_headers off: the default backend
 * gets ingress-nginx's error-page headers, the protected headers and the ConfigMap's custom headers, and
 * none of the client's own (no Authorization, Cookie or other credential, nothing forged) nor what an
 * auth step added for the Ingress's backend. As no client header passes, the empty entries are left out
 * (each line of each error location costs nginx -t time).
 */
export function errorPageHeaders(
  page: { code: number; namespace: string; name: string },
  custom: readonly ConstantHeader[],
): HeaderRule[] {
  // no client header passes, so an empty entry would only lengthen each error location (nginx -t time)
  return replace(PROTECTED_HEADERS, [
    rule('Host', '$best_http_host'),
    rule('Upgrade', ''),
    rule('Connection', 'close', { literal: true }),
    rule('X-Code', String(page.code), { literal: true }),
    rule('X-Format', '$http_accept'),
    rule('X-Original-URI', '$request_uri'),
    rule('X-Namespace', page.namespace, { literal: true }),
    rule('X-Ingress-Name', page.name, { literal: true }),
    // the location's own Service, set there by ann-custom-errors.hbs
    rule('X-Service-Name', '$ingress_templater_service_name'),
    rule('X-Service-Port', '$ingress_templater_service_port'),
    // the client's forwarding headers are not the error page's business (ingress-nginx sent neither)
    rule('X-Original-Forwarded-For', ''),
    rule('X-Original-Forwarded-Host', ''),
    ...custom.map((c) => rule(c.name, c.value, { literal: true })),
  ]).filter((h) => h.value !== '');
}

// ---- Forwarded headers and the client address: ConfigMap use-forwarded-headers, compute-full-forwarded-for,
// forwarded-for-header, enable-real-ip, proxy-real-ip-cidr and use-proxy-protocol, with ingress-nginx's
// defaults and meaning. With all of them off nothing here is rendered and the list above is sent as it is.
//
// - use-forwarded-headers: the proxy in front is believed about the scheme, host and port it was asked
//   for (X-Forwarded-Proto/-Host/-Port reach the backend as received, the first X-Forwarded-Host is the
//   Host), and the real_ip module takes the client address from forwarded-for-header.
// - compute-full-forwarded-for (with use-forwarded-headers): X-Forwarded-For is the received chain with
//   the peer appended, not the peer alone.
// - enable-real-ip: the real_ip module alone (the address, not the scheme, host or port).
// - use-proxy-protocol: the listen sockets expect the PROXY protocol; the client address is the one it
//   carries, the port the one it was sent to, and the scheme https when that port is 443.
// - proxy-real-ip-cidr: the peers whose word on the client address is taken (set_real_ip_from).
//
// The address decides access lists and rate limits ($remote_addr), so who may set it is what matters:
// the default trusts every IPv4 peer, as ingress-nginx did (it is meant for a controller that only its
// load balancer can reach). A proxy-real-ip-cidr that cannot be read trusts no peer rather than falling
// back to that default (settings.ts): the user meant to narrow the trust, and a typo must not open it to
// everyone. Trusting nobody costs the real client address (backends and logs see the proxy's), and an
// access list then fails closed; trusting everybody would let any client pick its address.

/** The peers trusted to say the client address: IPv4 or IPv6 addresses or CIDR blocks, comma-separated. */
export function parseTrustedCidrs(value: string): readonly string[] | undefined {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0 || items.length > 256) return undefined;
  return items.every(isCidr) ? Object.freeze(items) : undefined;
}

function isCidr(item: string): boolean {
  const match = /^([0-9A-Fa-f:.]{2,45})(?:\/([0-9]{1,3}))?$/.exec(item);
  if (!match) return false;
  const version = net.isIP(match[1]!);
  if (version === 0) return false;
  return match[2] === undefined || Number(match[2]) <= (version === 4 ? 32 : 128);
}

/**
 * The header real_ip_header reads: a header name of letters, digits and "-" (nginx ignores client headers
 * with "_"), never real_ip_header's own keyword proxy_protocol.
 */
export function parseForwardedForHeader(value: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/.test(value) ? value : undefined;
}

type ForwardingSettings = Pick<
  Settings,
  | 'useForwardedHeaders'
  | 'computeFullForwardedFor'
  | 'forwardedForHeader'
  | 'enableRealIp'
  | 'proxyRealIpCidr'
  | 'useProxyProtocol'
>;

/** What templates/partials/forwarded-headers.hbs and the header lists render (null: none of it is on). */
export interface Forwarding {
  trustHeaders: boolean; // use-forwarded-headers
  proxyProtocol: boolean; // use-proxy-protocol
  fullForwardedFor: boolean; // compute-full-forwarded-for, which only counts with use-forwarded-headers
  // the real_ip module: the header it reads (null: the PROXY protocol's address) and the peers it believes;
  // chain: the PROXY protocol's address, or the forwarded-for header when that address is a trusted one
  realIp: { header: string | null; trusted: readonly string[]; chain: HeaderRule | null };
  // the protected headers whose values change, by name (proxy-headers.hbs renders these instead)
  headers: Record<string, HeaderRule>;
}

/**
 * What the forwarding settings render, or null when none is on. headersMore: nginx has the headers-more
 * module, which the PROXY protocol with use-forwarded-headers needs (more_set_input_headers).
 */
export function forwarding(settings: ForwardingSettings, headersMore: boolean): Forwarding | null {
  const trustHeaders = settings.useForwardedHeaders;
  const proxyProtocol = settings.useProxyProtocol;
  if (!trustHeaders && !proxyProtocol && !settings.enableRealIp) return null;
  const fullForwardedFor = trustHeaders && settings.computeFullForwardedFor;
  const headers: Record<string, HeaderRule> = {};
  const set = (name: string, value: string) => {
    headers[name] = { ...PROTECTED_HEADERS.find((header) => header.name === name)!, value };
  };
  if (trustHeaders || proxyProtocol) {
    // the scheme and port the client asked the proxy in front for; the Host's comes from $best_http_host
    for (const name of ['X-Forwarded-Proto', 'X-Forwarded-Scheme', 'X-Scheme'])
      set(name, '$ingress_templater_pass_scheme');
    set('X-Forwarded-Port', trustHeaders ? '$ingress_templater_pass_port' : '$ingress_templater_server_port');
  }
  if (fullForwardedFor) set('X-Forwarded-For', '$ingress_templater_full_forwarded_for');
  // what the client said under the name the address is read from, as ingress-nginx's buildForwardedFor
  const received = `$http_${settings.forwardedForHeader.toLowerCase().replace(/-/g, '_')}`;
  if (received !== '$http_x_forwarded_for') set('X-Original-Forwarded-For', received);
  return {
    trustHeaders,
    proxyProtocol,
    fullForwardedFor,
    realIp: {
      header: proxyProtocol ? null : settings.forwardedForHeader,
      trusted: settings.proxyRealIpCidr,
      chain: proxyProtocol && trustHeaders && headersMore ? rule('X-Forwarded-For', received) : null,
    },
    headers,
  };
}
