// The endpoint fast path: when only Endpoints and EndpointSlices changed, the routing model stays what it
// was except for the endpoints of the backends of those Services. Pure: it reads the store, returns a
// new model and the backends that changed, or null when a full rebuild is needed.
import type { EndpointSlice, Resource } from '../resources.js';
import type { ModelInput } from './index.js';
import { currentEndpoints, type BackendLookup } from './backends.js';
import type { Backend, Model } from './routing.js';
import type { EndpointPolicy } from './endpoint-policy.js';

export interface EndpointUpdate {
  model: Model;
  changed: Backend[];
}

const ENDPOINT_KINDS = new Set(['Endpoints', 'EndpointSlice']);

/** The Services ("namespace/name") whose endpoints these changed objects describe; null if others changed too. */
export function servicesOf(changes: { kind: string; before?: Resource; after?: Resource }[]): Set<string> | null {
  const services = new Set<string>();
  for (const c of changes) {
    if (!ENDPOINT_KINDS.has(c.kind)) return null;
    for (const r of [c.before, c.after]) {
      if (!r) continue;
      if (r.kind === 'Endpoints') services.add(`${r.meta.namespace}/${r.meta.name}`);
      else if (r.kind === 'EndpointSlice' && r.serviceName) services.add(`${r.meta.namespace}/${r.serviceName}`);
    }
  }
  return services;
}

/**
 * New endpoints for the backends of `services`. Returns null when the change reaches beyond endpoints:
 * a backend whose Service or port disappeared, or one some canary depends on (the model reports a
 * canary without endpoints, so that needs the full build).
 */
export function updateEndpoints(
  model: Model,
  input: ModelInput & { slicesOf?(ns: string, service: string): EndpointSlice[] },
  services: Set<string>,
  policy?: EndpointPolicy,
): EndpointUpdate | null {
  const lookup: BackendLookup = {
    policy,
    service: (ns, name) => input.get('Service', ns, name),
    endpoints: (ns, name) => input.get('Endpoints', ns, name),
    // the store indexes slices by Service; any other input is searched
    slices: (ns, name) =>
      input.slicesOf?.(ns, name) ??
      input.list('EndpointSlice').filter((s: EndpointSlice) => s.meta.namespace === ns && s.serviceName === name),
    resolved: () => undefined,
  };
  const canaries = new Set(model.backends.map((b) => b.canary?.backend).filter((n): n is string => n !== undefined));
  const changed: Backend[] = [];
  const backends = model.backends.map((b) => {
    if (!services.has(`${b.namespace}/${b.service}`)) return b;
    // a backend with refused endpoints or over the limit: its problems and kept endpoints need the full build
    if (b.withheld) return null;
    const endpoints = currentEndpoints(b, lookup);
    if (endpoints === undefined) return null;
    if (sameEndpoints(endpoints, b.endpoints)) return b;
    if (canaries.has(b.name)) return null;
    const next = { ...b, endpoints };
    changed.push(next);
    return next;
  });
  if (backends.includes(null)) return null;
  return { model: { ...model, backends: backends as Backend[] }, changed };
}

function sameEndpoints(a: Backend['endpoints'], b: Backend['endpoints']): boolean {
  return a.length === b.length && a.every((e, i) => e.address === b[i]!.address && e.port === b[i]!.port);
}
