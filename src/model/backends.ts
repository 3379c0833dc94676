// From an Ingress backend reference to a named backend with its ready endpoints, the way kube-proxy
// sees a Service: Endpoints/EndpointSlices list the ready pod addresses; not-ready and terminating
// ones are left out. ExternalName Services use the addresses the controller resolved for the name.
import type { EndpointSlice, Endpoints, IngressBackend, Service, ServicePort } from '../types.js';
import { isIP } from '../syntax.js';
import type { Backend, Endpoint } from './types.js';
import type { Balance } from './annotations/balance.js';
import { backendName } from './names.js';

export interface BackendLookup {
  service(namespace: string, name: string): Service | undefined;
  endpoints(namespace: string, name: string): Endpoints | undefined;
  slices(namespace: string, name: string): EndpointSlice[];
  resolved(hostname: string): string[] | undefined; // addresses of ExternalName targets
}

export type Resolution =
  | { ok: true; backend: Backend; note?: string } // note: a warning worth reporting (the backend still works)
  | { ok: false; reason: string };

// namespace_service_port (names.ts: injective, unlike ingress-nginx's namespace-service-port)
export { backendName } from './names.js';

/**
 * serviceUpstream (the service-upstream annotation): the Service's ClusterIP and port become the single
 * endpoint, so kube-proxy picks the pod; Services without a ClusterIP (headless, ExternalName) keep
 * their endpoints.
 */
export function resolveBackend(
  namespace: string, ref: IngressBackend, lookup: BackendLookup, balance: Balance = { loadBalance: 'round_robin' }, serviceUpstream = false,
): Resolution {
  if (!ref.service) return { ok: false, reason: `resource backends (${ref.resource?.kind ?? 'unknown'}) are not supported` };
  const { name, port } = ref.service;
  const svc = lookup.service(namespace, name);
  if (!svc) return { ok: false, reason: `Service ${namespace}/${name} not found` };
  const svcPort = svc.ports.find((p) => (port.number !== undefined ? p.port === port.number : p.name === port.name));
  if (!svcPort) {
    const want = port.number ?? port.name;
    const have = svc.ports.map((p) => (p.name ? `${p.name}:${p.port}` : String(p.port))).join(', ') || 'none';
    return { ok: false, reason: `Service ${namespace}/${name} has no port ${want} (ports: ${have})` };
  }
  if (svcPort.protocol !== 'TCP') return { ok: false, reason: `Service ${namespace}/${name} port ${svcPort.port} is ${svcPort.protocol}, not TCP` };
  const backend: Backend = {
    name: backendName(namespace, name, svcPort.port), namespace, service: name, port: svcPort.port, endpoints: [], balance,
  };
  if (svc.type === 'ExternalName') {
    const host = svc.externalName!;
    backend.externalName = host;
    // ExternalName has no Endpoints: the port to dial is the targetPort when numeric, else the port.
    const target = typeof svcPort.targetPort === 'number' ? svcPort.targetPort : svcPort.port;
    const addresses = isIP(host) ? [host] : lookup.resolved(host) ?? [];
    backend.endpoints = sortEndpoints(addresses.map((address) => ({ address, port: target })));
    return { ok: true, backend };
  }
  if (serviceUpstream) {
    const ip = svc.clusterIP;
    if (ip && ip !== 'None' && isIP(ip)) {
      backend.serviceUpstream = true;
      backend.endpoints = [{ address: ip, port: svcPort.port }];
      return { ok: true, backend };
    }
    const slices = lookup.slices(namespace, name);
    backend.endpoints = slices.length ? fromSlices(slices, svcPort) : fromEndpoints(lookup.endpoints(namespace, name), svcPort);
    return { ok: true, backend, note: `service-upstream: Service ${namespace}/${name} has no ClusterIP (${ip ?? 'none'}); using its endpoints` };
  }
  const slices = lookup.slices(namespace, name);
  backend.endpoints = slices.length ? fromSlices(slices, svcPort) : fromEndpoints(lookup.endpoints(namespace, name), svcPort);
  return { ok: true, backend };
}

/**
 * A backend's ready endpoints read again (its Endpoints or EndpointSlices changed, nothing else did);
 * undefined when its Service or port is gone, which only a full rebuild can handle.
 */
export function currentEndpoints(b: Backend, lookup: BackendLookup): Endpoint[] | undefined {
  if (b.externalName !== undefined || b.serviceUpstream) return b.endpoints; // not read from Endpoints
  const svc = lookup.service(b.namespace, b.service);
  const svcPort = svc?.ports.find((p) => p.port === b.port);
  if (!svc || !svcPort || svc.type === 'ExternalName') return undefined;
  const slices = lookup.slices(b.namespace, b.service);
  return slices.length ? fromSlices(slices, svcPort) : fromEndpoints(lookup.endpoints(b.namespace, b.service), svcPort);
}

// Endpoints name their ports after the Service port's name; an unnamed single port matches itself.
function pickPort<P extends { name?: string; port?: number }>(ports: P[], svcPort: ServicePort): P | undefined {
  if (svcPort.name) return ports.find((p) => p.name === svcPort.name);
  return ports.length === 1 ? ports[0] : ports.find((p) => !p.name);
}

function fromEndpoints(ep: Endpoints | undefined, svcPort: ServicePort): Endpoint[] {
  if (!ep) return [];
  const out: Endpoint[] = [];
  for (const subset of ep.subsets) {
    const p = pickPort(subset.ports, svcPort);
    if (!p) continue;
    for (const a of subset.addresses) out.push({ address: a.ip, port: p.port });
  }
  return sortEndpoints(out);
}

function fromSlices(slices: EndpointSlice[], svcPort: ServicePort): Endpoint[] {
  const out: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const p = pickPort(slice.ports, svcPort);
    if (!p || p.port === undefined) continue;
    for (const e of slice.endpoints) {
      // kube-proxy routes to ready endpoints; a terminating endpoint is never ready for new traffic
      if (!e.ready || e.terminating) continue;
      for (const address of e.addresses) out.push({ address, port: p.port });
    }
  }
  return sortEndpoints(out);
}

export function sortEndpoints(list: Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const e of list) {
    const key = `${e.address}|${e.port}`;
    if (seen.has(key) || !isIP(e.address)) continue;
    seen.add(key);
    out.push(e);
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}

