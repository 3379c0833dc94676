// backend-protocol: how nginx talks to the backend, with ingress-nginx's name and values (HTTP default,
// HTTPS, GRPC, GRPCS; case-insensitive). The proxy_pass line of templates/partials/server.hbs takes its
// directive and scheme from upstreamPass(); templates/partials/ann-backend-protocol.hbs adds what gRPC
// needs (the request headers the http level sends with proxy_set_header, timeouts, tries).
// The Lua balancer works unchanged: grpc_pass grpc://upstream_balancer goes through the same upstream.
import type { Ingress, Problem } from '../../resources.js';
import type { AnnotationContext, Family, UpstreamPass } from './family.js';
import { annotationProblem, PREFIX } from './values.js';

export const BACKEND_PROTOCOL = `${PREFIX}backend-protocol`;

export type Protocol = 'HTTP' | 'HTTPS' | 'GRPC' | 'GRPCS';
export const PROTOCOLS: readonly Protocol[] = ['HTTP', 'HTTPS', 'GRPC', 'GRPCS'];
// valid for ingress-nginx but not served here: AJP needs a module Debian's nginx lacks, FCGI needs the
// fastcgi annotations, AUTO_HTTP is deprecated upstream
const NOT_SUPPORTED = ['AJP', 'FCGI', 'AUTO_HTTP'];

/** Location config; absent for HTTP, the default. */
export interface BackendProtocolConfig {
  protocol: Exclude<Protocol, 'HTTP'>;
  grpc: boolean; // GRPC or GRPCS: grpc_pass, and the gRPC settings of the partial
}

/** The protocol an Ingress asks for, or undefined when the value is not one of PROTOCOLS. */
export function protocolOf(ing: Ingress): Protocol | undefined {
  const raw = ing.meta.annotations[BACKEND_PROTOCOL];
  if (raw === undefined) return 'HTTP';
  const value = raw.trim().toUpperCase();
  return (PROTOCOLS as readonly string[]).includes(value) ? (value as Protocol) : undefined;
}

export function parseBackendProtocol(
  ing: Ingress,
  ctx: AnnotationContext,
  problems: Problem[],
): BackendProtocolConfig | undefined {
  const raw = ing.meta.annotations[BACKEND_PROTOCOL];
  if (raw === undefined) return undefined;
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
  return { protocol, grpc };
}

export const backendProtocolFamily: Family<'backend-protocol', BackendProtocolConfig> = {
  name: 'backend-protocol',
  keys: [BACKEND_PROTOCOL],
  location: parseBackendProtocol,
  upstream: upstreamPass,
};

/** The directive and URL scheme of a location's proxy_pass line (render/view.ts). */
export function upstreamPass(config: BackendProtocolConfig | undefined): UpstreamPass {
  switch (config?.protocol) {
    case 'HTTPS':
      return { directive: 'proxy_pass', scheme: 'https' };
    case 'GRPC':
      return { directive: 'grpc_pass', scheme: 'grpc' };
    case 'GRPCS':
      return { directive: 'grpc_pass', scheme: 'grpcs' };
    default:
      return { directive: 'proxy_pass', scheme: 'http' };
  }
}
