// From an Ingress backend reference to a named backend with its ready endpoints, the way kube-proxy
// sees a Service: Endpoints/EndpointSlices list the ready pod addresses; not-ready and terminating
// ones are left out. ExternalName Services use the addresses the controller resolved for the name.
import type { EndpointSlice, Endpoints, IngressBackend, Service, ServicePort } from '../resources.js';
import { objectRef, problemAt } from '../resources.js';
import { isIP } from '../syntax.js';
import type { Backend, Endpoint } from './routing.js';
import type { Balance } from './annotations/balance.js';
import { backendName } from './names.js';
import { endpointRefusal, maxEndpoints, NO_PROTECTED, NOT_AN_IP, screen } from './endpoint-policy.js';
import type { EndpointIssue, EndpointPolicy } from './endpoint-policy.js';

export interface BackendLookup {
  service(namespace: string, name: string): Service | undefined;
  endpoints(namespace: string, name: string): Endpoints | undefined;
  slices(namespace: string, name: string): EndpointSlice[];
  resolved(hostname: string): string[] | undefined; // addresses of ExternalName targets
  policy?: EndpointPolicy; // addresses refused, endpoints per backend (endpoint-policy.ts); default NO_PROTECTED
  previous?(backend: string): Endpoint[] | undefined; // last good endpoints, kept when a new list is over the limit
}

export type Resolution =
  // note: a warning worth reporting (the backend still works); issues: endpoints left out, a list over the limit
  { ok: true; backend: Backend; note?: string; issues?: EndpointIssue[] } | { ok: false; reason: string };

// namespace_service_port (names.ts: injective, unlike ingress-nginx's namespace-service-port)
export { backendName } from './names.js';

/**
 * serviceUpstream (the service-upstream annotation): the Service's ClusterIP and port become the single
 * endpoint, so kube-proxy picks the pod; Services without a ClusterIP (headless, ExternalName) keep
 * their endpoints.
 */
export function resolveBackend(
  namespace: string,
  ref: IngressBackend,
  lookup: BackendLookup,
  balance: Balance = { loadBalance: 'round_robin' },
  serviceUpstream = false,
): Resolution {
  if (!ref.service)
    return { ok: false, reason: `resource backends (${ref.resource?.kind ?? 'unknown'}) are not supported` };
  const { name, port } = ref.service;
  const svc = lookup.service(namespace, name);
  if (!svc) return { ok: false, reason: `Service ${namespace}/${name} not found` };
  // an ExternalName Service need not declare ports (the walkthrough's do not): as ingress-nginx, a numeric
  // port of the Ingress that the Service does not list is dialled as it is
  const svcPort =
    svc.ports.find((p) => (port.number !== undefined ? p.port === port.number : p.name === port.name)) ??
    (svc.type === 'ExternalName' && port.number !== undefined
      ? { port: port.number, targetPort: port.number, protocol: 'TCP' as const }
      : undefined);
  if (!svcPort) {
    const want = port.number ?? port.name;
    const have = svc.ports.map((p) => (p.name ? `${p.name}:${p.port}` : String(p.port))).join(', ') || 'none';
    return { ok: false, reason: `Service ${namespace}/${name} has no port ${want} (ports: ${have})` };
  }
  if (svcPort.protocol !== 'TCP')
    return { ok: false, reason: `Service ${namespace}/${name} port ${svcPort.port} is ${svcPort.protocol}, not TCP` };
  const backend: Backend = {
    name: backendName(namespace, name, svcPort.port),
    namespace,
    service: name,
    port: svcPort.port,
    endpoints: [],
    balance,
  };
  const policy = lookup.policy ?? NO_PROTECTED;
  const issues: EndpointIssue[] = [];
  const svcWhere = (field: string) => ({ file: svc.source.file, line: svc.source.line, object: objectRef(svc), field });
  let note: string | undefined;
  if (svc.type === 'ExternalName') {
    const host = svc.externalName!;
    backend.externalName = host;
    // ExternalName has no Endpoints: the port to dial is the targetPort when numeric, else the port.
    const target = typeof svcPort.targetPort === 'number' ? svcPort.targetPort : svcPort.port;
    const addresses = isIP(host) ? [host] : (lookup.resolved(host) ?? []);
    // looked up and found nothing: the path answers 503 (ingress-nginx's 502 came from its failed lookup)
    if (!isIP(host) && lookup.resolved(host)?.length === 0)
      note = `Service ${namespace}/${name} spec.externalName ${JSON.stringify(host)} does not resolve; answering 503 until it does`;
    const result = screen(
      addresses,
      (address) => ({ address, port: target }),
      () => svcWhere('spec.externalName'),
      policy,
    );
    issues.push(
      ...result.issues.map((i) => (isIP(host) ? i : { ...i, message: `${i.message} (${host} resolves to it)` })),
    );
    backend.endpoints = sortEndpoints(result.endpoints);
  } else if (serviceUpstream && svc.clusterIP && svc.clusterIP !== 'None' && isIP(svc.clusterIP)) {
    const parsed = screen(
      [svc.clusterIP],
      (address) => ({ address, port: svcPort.port }),
      () => svcWhere('spec.clusterIP'),
      policy,
    );
    issues.push(...parsed.issues);
    backend.serviceUpstream = true;
    backend.endpoints = parsed.endpoints;
  } else {
    if (serviceUpstream)
      note = `service-upstream: Service ${namespace}/${name} has no ClusterIP (${svc.clusterIP ?? 'none'}); using its endpoints`;
    backend.endpoints = readyEndpoints(namespace, name, svcPort, lookup, issues);
  }
  limitEndpoints(backend, svc, issues, lookup);
  return { ok: true, backend, ...(note ? { note } : {}), ...(issues.length ? { issues } : {}) };
}

/**
 * A backend over the endpoint limit (the Lua side would refuse it) keeps its previous endpoints: it is
 * reported, and no other backend's push waits for it.
 */
function limitEndpoints(backend: Backend, svc: Service, issues: EndpointIssue[], lookup: BackendLookup): void {
  const refused = issues.filter((i) => i.severity === 'error').length;
  const max = maxEndpoints(lookup.policy ?? NO_PROTECTED);
  const count = backend.endpoints.length;
  if (count > max) {
    const previous = lookup.previous?.(backend.name) ?? [];
    backend.endpoints = previous;
    backend.withheld = { refused, overLimit: count };
    issues.push(
      problemAt(
        svc,
        'error',
        'spec.ports',
        `port ${backend.port} has ${count} ready endpoints, more than the limit of ${max}; backend ${backend.name} keeps its previous ${previous.length} endpoint(s)`,
      ),
    );
  } else if (refused) backend.withheld = { refused };
}

function readyEndpoints(
  namespace: string,
  name: string,
  svcPort: ServicePort,
  lookup: BackendLookup,
  issues: EndpointIssue[],
): Endpoint[] {
  const policy = lookup.policy ?? NO_PROTECTED;
  const slices = lookup.slices(namespace, name);
  return slices.length
    ? fromSlices(slices, svcPort, policy, issues)
    : fromEndpoints(lookup.endpoints(namespace, name), svcPort, policy, issues);
}

/**
 * A backend's ready endpoints read again (its Endpoints or EndpointSlices changed, nothing else did);
 * undefined when its Service or port is gone, or when an endpoint is refused or the list is over the
 * limit, which only a full rebuild can handle (and report).
 */
export function currentEndpoints(backend: Backend, lookup: BackendLookup): Endpoint[] | undefined {
  if (backend.externalName !== undefined || backend.serviceUpstream) return backend.endpoints; // not read from Endpoints
  const svc = lookup.service(backend.namespace, backend.service);
  const svcPort = svc?.ports.find((p) => p.port === backend.port);
  if (!svc || !svcPort || svc.type === 'ExternalName') return undefined;
  const issues: EndpointIssue[] = [];
  const endpoints = readyEndpoints(backend.namespace, backend.service, svcPort, lookup, issues);
  if (issues.length || endpoints.length > maxEndpoints(lookup.policy ?? NO_PROTECTED)) return undefined;
  return endpoints;
}

// Endpoints name their ports after the Service port's name; an unnamed single port matches itself.
function pickPort<P extends { name?: string; port?: number }>(ports: P[], svcPort: ServicePort): P | undefined {
  if (svcPort.name) return ports.find((p) => p.name === svcPort.name);
  return ports.length === 1 ? ports[0] : ports.find((p) => !p.name);
}

// A refused endpoint's problem names the object and field it came from; built only for those.
function refuse(issues: EndpointIssue[], why: string, from: Endpoints | EndpointSlice, field: string): void {
  issues.push(problemAt(from, 'error', field, `${why}; this endpoint is left out`));
}

function fromEndpoints(
  ep: Endpoints | undefined,
  svcPort: ServicePort,
  policy: EndpointPolicy,
  issues: EndpointIssue[],
): Endpoint[] {
  if (!ep) return [];
  const out: Endpoint[] = [];
  ep.subsets.forEach((subset, index) => {
    const endpointPort = pickPort(subset.ports, svcPort);
    if (!endpointPort) return;
    subset.addresses.forEach((subsetAddress, addressIndex) => {
      const why = endpointRefusal(subsetAddress.ip, endpointPort.port, policy);
      if (!why) out.push({ address: subsetAddress.ip, port: endpointPort.port });
      else if (why !== NOT_AN_IP) refuse(issues, why, ep, `subsets[${index}].addresses[${addressIndex}].ip`);
    });
  });
  return sortEndpoints(out, true);
}

function fromSlices(
  slices: EndpointSlice[],
  svcPort: ServicePort,
  policy: EndpointPolicy,
  issues: EndpointIssue[],
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const endpointPort = pickPort(slice.ports, svcPort);
    if (!endpointPort || endpointPort.port === undefined) continue;
    const port = endpointPort.port;
    slice.endpoints.forEach((sliceEndpoint, index) => {
      // kube-proxy routes to ready endpoints; a terminating endpoint is never ready for new traffic
      if (!sliceEndpoint.ready || sliceEndpoint.terminating) return;
      sliceEndpoint.addresses.forEach((address, addressIndex) => {
        const why = endpointRefusal(address, port, policy);
        if (!why) out.push({ address, port });
        else if (why !== NOT_AN_IP) refuse(issues, why, slice, `endpoints[${index}].addresses[${addressIndex}]`);
      });
    });
  }
  return sortEndpoints(out, true);
}

// checked: every address already passed endpointRefusal, which parses it
export function sortEndpoints(list: Endpoint[], checked = false): Endpoint[] {
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const endpoint of list) {
    const key = `${endpoint.address}|${endpoint.port}`;
    if (seen.has(key) || (!checked && !isIP(endpoint.address))) continue;
    seen.add(key);
    out.push(endpoint);
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}
