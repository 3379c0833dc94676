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
  for (const config of changes) {
    if (!ENDPOINT_KINDS.has(config.kind)) return null;
    for (const resource of [config.before, config.after]) {
      if (!resource) continue;
      if (resource.kind === 'Endpoints') services.add(`${resource.meta.namespace}/${resource.meta.name}`);
      else if (resource.kind === 'EndpointSlice' && resource.serviceName)
        services.add(`${resource.meta.namespace}/${resource.serviceName}`);
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
  const backends = model.backends.map((upstream) => {
    if (!services.has(`${upstream.namespace}/${upstream.service}`)) return upstream;
    // a backend with refused endpoints or over the limit: its problems and kept endpoints need the full build
    if (upstream.withheld) return null;
    const endpoints = currentEndpoints(upstream, lookup);
    if (endpoints === undefined) return null;
    if (sameEndpoints(endpoints, upstream.endpoints)) return upstream;
    if (canaries.has(upstream.name)) return null;
    const next = { ...upstream, endpoints };
    changed.push(next);
    return next;
  });
  if (backends.includes(null)) return null;
  return { model: { ...model, backends: backends as Backend[] }, changed };
}

function sameEndpoints(left: Backend['endpoints'], right: Backend['endpoints']): boolean {
  return (
    left.length === right.length && left.every((e, i) => e.address === right[i]!.address && e.port === right[i]!.port)
  );
}
