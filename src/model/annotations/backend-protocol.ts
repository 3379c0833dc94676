// backend-protocol: how nginx talks to the backend, with ingress-nginx's name and values (HTTP default,
// HTTPS, AUTO_HTTP, GRPC, GRPCS, FCGI; case-insensitive). The proxy_pass line of templates/partials/server.hbs
// takes its directive and scheme from upstreamPass(); templates/partials/ann-backend-protocol.hbs adds what
// gRPC needs (the request headers the http level sends with proxy_set_header, timeouts, tries) and what
// FastCGI needs (the CGI parameters, fastcgi-index, the parameters of fastcgi-params-configmap).
// The Lua balancer works unchanged: grpc_pass grpc://upstream_balancer and fastcgi_pass upstream_balancer go
// through the same upstream.
import type { ConfigMap, Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import type { AnnotationContext, Family, ObjectReference, UpstreamPass } from './family.js';
import { annotationProblem, parseNamespacedName, PREFIX } from './values.js';

export const BACKEND_PROTOCOL = `${PREFIX}backend-protocol`;
export const FASTCGI_INDEX = `${PREFIX}fastcgi-index`;
export const FASTCGI_PARAMS = `${PREFIX}fastcgi-params-configmap`;

export type Protocol = 'HTTP' | 'HTTPS' | 'AUTO_HTTP' | 'GRPC' | 'GRPCS' | 'FCGI';
export const PROTOCOLS: readonly Protocol[] = ['HTTP', 'HTTPS', 'AUTO_HTTP', 'GRPC', 'GRPCS', 'FCGI'];
// valid for ingress-nginx but not served here: AJP needs a module Debian's nginx lacks
const NOT_SUPPORTED = ['AJP'];

// ingress-nginx's shapes: an index file name and a parameter name; a parameter value of path characters and
// variables. The variables are those a FastCGI application reads (CGI's own), nothing of the controller's.
const INDEX_OR_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const FASTCGI_VARIABLES = new Set([
  'document_root',
  'document_uri',
  'fastcgi_path_info',
  'fastcgi_script_name',
  'host',
  'https',
  'query_string',
  'remote_addr',
  'remote_port',
  'request_filename',
  'request_method',
  'request_scheme',
  'request_uri',
  'scheme',
  'server_addr',
  'server_name',
  'server_port',
  'server_protocol',
  'uri',
  'content_length',
  'content_type',
  'args',
]);
const VALUE_PIECE = /\$\{([a-z_]+)\}|\$([a-z_]+)|[A-Za-z0-9._/-]+/gy;

/** Location config; absent for HTTP, the default. */
export interface BackendProtocolConfig {
  protocol: Exclude<Protocol, 'HTTP'>;
  grpc: boolean; // GRPC or GRPCS: grpc_pass, and the gRPC settings of the partial
  fastcgi?: FastCgiConfig; // FCGI
}

export interface FastCgiConfig {
  index: string | null;
  params: { name: string; value: string }[]; // value: path characters and allowed variables only
}

/** The protocol an Ingress asks for, or undefined when the value is not one of PROTOCOLS. */
export function protocolOf(ing: Ingress): Protocol | undefined {
  const raw = ing.meta.annotations[BACKEND_PROTOCOL];
  if (raw === undefined) return 'HTTP';
  const value = raw.trim().toUpperCase();
  return (PROTOCOLS as readonly string[]).includes(value) ? (value as Protocol) : undefined;
}

/** A FastCGI parameter value ingress-nginx accepted, with only CGI variables: null when it is not one. */
export function fastCgiValue(value: string): string | null {
  if (value.length > 1024) return null;
  VALUE_PIECE.lastIndex = 0;
  let at = 0;
  while (at < value.length) {
    VALUE_PIECE.lastIndex = at;
    const piece = VALUE_PIECE.exec(value);
    if (!piece) return null;
    const variable = piece[1] ?? piece[2];
    if (variable !== undefined && !FASTCGI_VARIABLES.has(variable)) return null;
    at = VALUE_PIECE.lastIndex;
  }
  return value;
}

function parseFastCgi(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): FastCgiConfig | 'denied' {
  const annotations = ing.meta.annotations;
  let index: string | null = null;
  const rawIndex = annotations[FASTCGI_INDEX];
  if (rawIndex !== undefined) {
    if (INDEX_OR_NAME.test(rawIndex.trim())) index = rawIndex.trim();
    else problems.push(warned(ing, FASTCGI_INDEX, rawIndex, 'a file name (letters, digits, ".", "_", "-")'));
  }
  const params: FastCgiConfig['params'] = [];
  const ref = paramsConfigMap(ing);
  if (ref === null) {
    problems.push(
      annotationProblem(
        ing,
        FASTCGI_PARAMS,
        annotations[FASTCGI_PARAMS]!,
        `a ConfigMap of the Ingress's namespace ${ing.meta.namespace}, as "name" or "${ing.meta.namespace}/name"`,
      ),
    );
    return 'denied';
  }
  if (ref) {
    const cm: ConfigMap | undefined = ctx.configMap(ref.namespace, ref.name);
    if (!cm) {
      // as ingress-nginx: the parameters cannot be read, the location is denied
      problems.push(
        problemAt(
          ing,
          'error',
          `metadata.annotations["${FASTCGI_PARAMS}"]`,
          `ConfigMap ${ref.namespace}/${ref.name} not found; the Ingress's paths answer 503`,
        ),
      );
      return 'denied';
    }
    const entries = Object.entries(cm.data).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    const bad = entries.find(([name, value]) => !INDEX_OR_NAME.test(name) || fastCgiValue(value) === null);
    if (bad) {
      // as ingress-nginx: one invalid entry and none of the parameters are used
      problems.push(
        problemAt(
          ing,
          'warning',
          `metadata.annotations["${FASTCGI_PARAMS}"]`,
          `ConfigMap ${ref.namespace}/${ref.name} key ${JSON.stringify(bad[0]).slice(0, 80)}: a parameter name of letters, digits, ".", "_", "-" with a value of path characters and the variables ${[...FASTCGI_VARIABLES].sort().join(', ')}; its parameters are ignored`,
        ),
      );
    } else {
      for (const [name, value] of entries) params.push({ name, value });
    }
  }
  return { index, params };
}

/** The ConfigMap of fastcgi-params-configmap: undefined when absent, null when not of the Ingress's namespace. */
function paramsConfigMap(ing: Ingress): ObjectReference | null | undefined {
  const raw = ing.meta.annotations[FASTCGI_PARAMS];
  if (raw === undefined) return undefined;
  const ref = parseNamespacedName(raw, ing.meta.namespace);
  return ref && ref.namespace === ing.meta.namespace ? { kind: 'ConfigMap', ...ref } : null;
}

function warned(ing: Ingress, key: string, value: string, expected: string): Problem {
  return {
    ...annotationProblem(ing, key, value, expected),
    severity: 'warning',
    message: `invalid value ${JSON.stringify(value).slice(0, 80)}: expected ${expected}; ignored`,
  };
}

export function parseBackendProtocol(
  ing: Ingress,
  ctx: AnnotationContext,
  problems: Problem[],
): BackendProtocolConfig | undefined {
  const raw = ing.meta.annotations[BACKEND_PROTOCOL];
  if (raw === undefined) {
    for (const key of [FASTCGI_INDEX, FASTCGI_PARAMS]) {
      if (ing.meta.annotations[key] !== undefined)
        problems.push(warned(ing, key, ing.meta.annotations[key]!, `${BACKEND_PROTOCOL}: "FCGI" beside it`));
    }
    return undefined;
  }
  const protocol = protocolOf(ing);
  if (protocol === undefined) {
    const unsupported = NOT_SUPPORTED.includes(raw.trim().toUpperCase());
    problems.push(
      annotationProblem(
        ing,
        BACKEND_PROTOCOL,
        raw,
        `${PROTOCOLS.join(', ')}${unsupported ? ` (${raw.trim().toUpperCase()} is not supported by ingress-templater)` : ''}`,
      ),
    );
    return undefined;
  }
  if (protocol === 'HTTP') return undefined;
  const grpc = protocol === 'GRPC' || protocol === 'GRPCS';
  if (grpc && !ctx.settings.useHttp2) {
    problems.push({
      ...annotationProblem(ing, BACKEND_PROTOCOL, raw, ''),
      severity: 'warning',
      message: `${protocol} needs HTTP/2 from clients, but the ConfigMap sets use-http2 to false: gRPC clients cannot reach this backend`,
    });
  }
  if (protocol === 'FCGI') {
    const fastcgi = parseFastCgi(ing, ctx, problems);
    return fastcgi === 'denied' ? undefined : { protocol, grpc, fastcgi };
  }
  return { protocol, grpc };
}

export const backendProtocolFamily: Family<'backend-protocol', BackendProtocolConfig> = {
  name: 'backend-protocol',
  fallback: 'ownBackend',
  keys: [BACKEND_PROTOCOL, FASTCGI_INDEX, FASTCGI_PARAMS],
  // FastCGI parameters that cannot be read deny, as ingress-nginx; an invalid protocol is ignored (HTTP)
  failClosed: [FASTCGI_PARAMS],
  location: parseBackendProtocol,
  upstream: upstreamPass,
  references(ing) {
    if (protocolOf(ing) !== 'FCGI') return [];
    const ref = paramsConfigMap(ing);
    return ref ? [ref] : [];
  },
};

/** The directive and URL scheme of a location's proxy_pass line (render/view.ts). */
export function upstreamPass(config: BackendProtocolConfig | undefined): UpstreamPass {
  switch (config?.protocol) {
    case 'HTTPS':
      return { directive: 'proxy_pass', scheme: 'https' };
    case 'AUTO_HTTP':
      return { directive: 'proxy_pass', scheme: '$scheme' };
    case 'GRPC':
      return { directive: 'grpc_pass', scheme: 'grpc' };
    case 'GRPCS':
      return { directive: 'grpc_pass', scheme: 'grpcs' };
    case 'FCGI':
      return { directive: 'fastcgi_pass', scheme: null };
    default:
      return { directive: 'proxy_pass', scheme: 'http' };
  }
}
