// mirror-target, mirror-request-body and mirror-host, with ingress-nginx's names and defaults: every
// request to the Ingress's paths is also sent, in the background, to mirror-target (nginx's mirror
// module); the client's answer is the backend's, whatever the mirror answers or however long it takes.
// Each location of the Ingress says `mirror /_mirror-<id>` (ann-mirror.hbs); each server with such
// locations gets the internal location that proxies the copy to the target (srv-mirror.hbs), with the
// backends' request headers except Host, which is mirror-host or the target's host name.
//
// The target is an http(s) URL whose host is written out (a name or an address) and whose path and query
// may use a few nginx variables, as ingress-nginx users write them ("https://mirror.example$request_uri"):
// those of MIRROR_VARIABLES only ($uri is not one: nginx decodes it, so %0d%0a would split the request
// line). The host is reached through an upstream block of its own (http-mirror.hbs), which nginx resolves
// when it loads the config, as it does external-auth's auth-url; with variables in proxy_pass, nginx
// finds that upstream by name, so no `resolver` is needed at request time. The controller resolves the
// name too: one that does not resolve, or names the controller's own listeners, drops the mirror
// (nginx would refuse the whole config, or the mirror would loop), with a warning.
//
// A mirror changes nothing a client sees, so an invalid value is ignored with a warning (the paths are
// served without the mirror), as ingress-nginx ignored it; the Ingress-wide refusal by risk level
// (mirror-target and mirror-host are High) is admission.ts's.
import crypto from 'node:crypto';
import net from 'node:net';
import type { Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import type { Server } from '../routing.js';
import { locationsOf } from '../routing.js';
import { endpointRefusal, NO_PROTECTED } from '../endpoint-policy.js';
import type { EndpointPolicy } from '../endpoint-policy.js';
import type { ConstantHeader } from '../proxy-headers.js';
import { headerList, mirrorHeaders } from '../proxy-headers.js';
import type { HttpItems } from './families.js';
import type { Family } from './family.js';
import { annotationProblem, PREFIX } from './values.js';

export const MIRROR_TARGET = `${PREFIX}mirror-target`;
export const MIRROR_REQUEST_BODY = `${PREFIX}mirror-request-body`;
export const MIRROR_HOST = `${PREFIX}mirror-host`;
export const MIRROR_KEYS = [MIRROR_TARGET, MIRROR_REQUEST_BODY, MIRROR_HOST] as const;

/** The variables a target's path and query may use: none decoded by nginx, none holding a line break. */
export const MIRROR_VARIABLES: readonly string[] = [
  'request_uri',
  'args',
  'query_string',
  'is_args',
  'scheme',
  'host',
  'request_method',
  'remote_addr',
  'server_port',
];

const MAX_URL = 2048;
// a host name as DNS has it (any case)
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
// path and query characters of RFC 3986 without those nginx or a quoted string treat specially
const LITERAL = /^[A-Za-z0-9\-._~!&()*+,;=:@%/?]*$/;
const VARIABLE = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;
// what the internal location proxies to: the target's upstream, then the path and query (variables as ${name})
const UPSTREAM_PREFIX = 'ingress_templater_mirror_';
const PROXY_CHAR = '[A-Za-z0-9\\-._~!&()*+,;=:@%/?]';
const PROXY_VARIABLE = `\\$\\{(?:${MIRROR_VARIABLES.join('|')})\\}`;
const PROXY_URL = new RegExp(`^https?://${UPSTREAM_PREFIX}[0-9a-f]{16}(?:${PROXY_CHAR}|${PROXY_VARIABLE})*$`);

export interface MirrorTarget {
  url: string; // as written (trimmed)
  scheme: 'http' | 'https';
  hostname: string; // DNS name or IP address (no brackets)
  port: number;
  uri: string; // path and query after the host, variables written ${name}; "" sends the subrequest's URI
}

export interface MirrorConfig {
  ingress: string; // namespace/name
  source: { file: string; line: number };
  path: string; // the internal location the mirror directive names
  requestBody: boolean; // mirror_request_body
  target: MirrorTarget;
  host: string; // the Host header the target gets
}

/** mirror-target: an http(s) URL with a literal host; undefined when not acceptable. */
export function parseMirrorTarget(value: string): MirrorTarget | undefined {
  const url = value.trim();
  if (url.length > MAX_URL) return undefined;
  const match = /^(https?):\/\/(\[[^\]/]+\]|[^/:?#[\]$]+)(?::([0-9]{1,5}))?([/?$].*)?$/.exec(url);
  if (!match) return undefined;
  const [, scheme, rawHost, port, rest = ''] = match;
  const bracketed = rawHost!.startsWith('[');
  const hostname = bracketed ? rawHost!.slice(1, -1) : rawHost!;
  const hostOk = bracketed
    ? net.isIPv6(hostname)
    : net.isIPv4(hostname) || (HOSTNAME.test(hostname) && !/^[0-9.]+$/.test(hostname));
  if (!hostOk) return undefined;
  const portNumber = port === undefined ? (scheme === 'https' ? 443 : 80) : Number(port);
  if (portNumber < 1 || portNumber > 65535) return undefined;
  let uri = '';
  let at = 0;
  for (const variable of rest.matchAll(VARIABLE)) {
    const literal = rest.slice(at, variable.index);
    if (!LITERAL.test(literal)) return undefined;
    const name = variable[1] ?? variable[2]!;
    if (!MIRROR_VARIABLES.includes(name)) return undefined;
    uri += `${literal}\${${name}}`;
    at = variable.index! + variable[0].length;
  }
  if (!LITERAL.test(rest.slice(at))) return undefined;
  uri += rest.slice(at);
  return { url, scheme: scheme as 'http' | 'https', hostname, port: portNumber, uri };
}

/** The internal location of an Ingress's mirror: one per Ingress, stable across syncs. */
export function mirrorPathFor(ingress: string): string {
  return `/_mirror-${crypto.createHash('sha256').update(ingress).digest('hex').slice(0, 16)}`;
}

/** The upstream block of a target's host and port (http-mirror.hbs). */
export function upstreamFor(target: Pick<MirrorTarget, 'hostname' | 'port'>): string {
  const key = `${target.hostname.toLowerCase()}:${target.port}`;
  return `${UPSTREAM_PREFIX}${crypto.createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** Is this a URL the internal location may proxy to (escape.ts's mirrorUrl checks it again at render)? */
export function isMirrorProxyUrl(value: string): boolean {
  return value.length <= MAX_URL + 64 && PROXY_URL.test(value);
}

export function parseMirror(ing: Ingress, _ctx: unknown, problems: Problem[]): MirrorConfig | undefined {
  const annotations = ing.meta.annotations;
  const raw = annotations[MIRROR_TARGET];
  if (raw === undefined) {
    const present = MIRROR_KEYS.filter((key) => annotations[key] !== undefined);
    if (present.length)
      problems.push(
        problemAt(
          ing,
          'warning',
          `metadata.annotations["${present[0]}"]`,
          `${present.join(', ')} without ${MIRROR_TARGET} has no effect`,
        ),
      );
    return undefined;
  }
  const target = parseMirrorTarget(raw);
  if (!target) {
    problems.push(
      annotationProblem(
        ing,
        MIRROR_TARGET,
        raw,
        `an http:// or https:// URL with a host name or IP address, optional port, and a path and query of RFC 3986 characters; the only variables allowed are ${MIRROR_VARIABLES.map((name) => `$${name}`).join(', ')}`,
      ),
    );
  }
  // ingress-nginx: anything but "off" is on, an invalid value with a warning
  let requestBody = true;
  const body = annotations[MIRROR_REQUEST_BODY];
  if (body !== undefined) {
    if (body.trim() === 'off') requestBody = false;
    else if (body.trim() !== 'on') problems.push(annotationProblem(ing, MIRROR_REQUEST_BODY, body, '"on" or "off"'));
  }
  let host = target?.hostname ?? '';
  const named = annotations[MIRROR_HOST];
  if (named !== undefined) {
    const value = named.trim();
    if (HOSTNAME.test(value) || net.isIPv4(value)) host = value;
    else problems.push(annotationProblem(ing, MIRROR_HOST, named, 'a host name'));
  }
  if (!target) return undefined;
  const ingress = `${ing.meta.namespace}/${ing.meta.name}`;
  return { ingress, source: { ...ing.source }, path: mirrorPathFor(ingress), requestBody, target, host };
}

/** One internal location of srv-mirror.hbs. */
export interface MirrorLocation {
  ingress: string;
  path: string;
  url: string; // what proxy_pass names: the upstream, then the target's path and query
  host: string;
  requestBody: boolean;
  tlsName: string | null; // https targets: the name to verify and send as SNI
  addresses: string;
}

/** Server config (srv-mirror.hbs). */
export interface MirrorServer {
  locations: MirrorLocation[];
}

/** One upstream block of http-mirror.hbs: a target's host and port. */
export interface MirrorUpstream {
  name: string;
  hostname: string; // DNS name, or an IP address (rendered with addr)
  ip: boolean;
  port: number;
  addresses: string; // what the name resolved to, so that a change is a reload
}

export const mirrorFamily: Family<'mirror', MirrorConfig, MirrorServer, MirrorUpstream> = {
  name: 'mirror',
  keys: MIRROR_KEYS,
  location: parseMirror,
  finish: (placed) => finishMirrors(placed.servers, placed.http, placed.resolved, placed.policy),
  serverView: (config, custom: readonly ConstantHeader[]) => ({
    locations: config.locations.map((location) => ({
      ...location,
      headers: headerList('proxy_set_header', mirrorHeaders(location.host, location.requestBody, custom)),
    })),
  }),
};

/**
 * Once every Ingress is placed: each server gets the internal locations of the mirrors its locations
 * name, the http block one upstream per target host and port. A target whose name does not resolve, or
 * which is the controller's own listener, is dropped from the Ingress's locations with a warning.
 * `resolved` answers undefined when resolution is not known (render, validate): nothing is dropped then.
 */
export function finishMirrors(
  servers: Iterable<Server>,
  http: HttpItems,
  resolved: (host: string) => string[] | undefined,
  policy: EndpointPolicy = NO_PROTECTED,
): Problem[] {
  const dropped = new Map<string, { config: MirrorConfig; why: string }>();
  const upstreams = new Map<string, MirrorUpstream>();
  const list = [...servers];
  for (const server of list) {
    const locations = new Map<string, MirrorLocation>();
    for (const location of locationsOf(server)) {
      const config = location.ann.mirror;
      if (!config || dropped.has(config.ingress)) continue;
      const { target } = config;
      const ip = net.isIP(target.hostname) !== 0;
      const addresses = ip ? [target.hostname] : resolved(target.hostname);
      const why =
        addresses !== undefined && addresses.length === 0
          ? `the host ${target.hostname} does not resolve`
          : (addresses ?? []).map((address) => endpointRefusal(address, target.port, policy)).find((w) => w !== null);
      if (why) {
        dropped.set(config.ingress, { config, why });
        continue;
      }
      const upstream = upstreamFor(target);
      const listed = addresses ? [...addresses].sort().join(' ') : 'unknown';
      if (!upstreams.has(upstream))
        upstreams.set(upstream, {
          name: upstream,
          hostname: target.hostname,
          ip,
          port: target.port,
          addresses: listed,
        });
      if (!locations.has(config.path)) {
        locations.set(config.path, {
          ingress: config.ingress,
          path: config.path,
          url: `${target.scheme}://${upstream}${target.uri}`,
          host: config.host,
          requestBody: config.requestBody,
          tlsName: target.scheme === 'https' ? target.hostname : null,
          addresses: listed,
        });
      }
    }
    if (locations.size) {
      server.ann.mirror = { locations: [...locations.values()].sort((x, y) => (x.path < y.path ? -1 : 1)) };
    }
  }
  // a dropped mirror leaves its Ingress's locations without the mirror directive
  for (const server of list) {
    for (const location of locationsOf(server)) {
      const config = location.ann.mirror;
      if (config && dropped.has(config.ingress)) {
        const { mirror: _drop, ...rest } = location.ann;
        location.ann = rest;
      }
    }
  }
  if (upstreams.size) http.mirror = [...upstreams.values()].sort((x, y) => (x.name < y.name ? -1 : 1));
  return [...dropped.values()].map(({ config, why }) => ({
    severity: 'warning',
    file: config.source.file,
    line: config.source.line,
    object: `Ingress ${config.ingress}`,
    field: `metadata.annotations["${MIRROR_TARGET}"]`,
    message: `the mirror target ${config.target.url}: ${why}; requests are not mirrored (the paths are served)`,
  }));
}
