// service-upstream: proxy to the Service's ClusterIP and port (one endpoint, kube-proxy balances) instead
// of the pod endpoints, as ingress-nginx's annotation of that name. The backend itself is built in
// model/backends.ts (resolveBackend's serviceUpstream option); this family validates the annotation so
// an invalid value denies the Ingress's paths like any other, and renders nothing.
import type { Ingress, Problem } from '../../resources.js';
import type { Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';

export const SERVICE_UPSTREAM = `${PREFIX}service-upstream`;

/** Whether the Ingress asks for its Services' ClusterIPs (false when absent or invalid). */
export function serviceUpstream(ing: Ingress): boolean {
  const raw = ing.meta.annotations[SERVICE_UPSTREAM];
  return raw !== undefined && parseBool(raw) === true;
}

export const serviceUpstreamFamily: Family<'service-upstream'> = {
  name: 'service-upstream',
  keys: [SERVICE_UPSTREAM],
  proxiesToService: serviceUpstream,
  location(ing: Ingress, _ctx, problems: Problem[]) {
    const raw = ing.meta.annotations[SERVICE_UPSTREAM];
    if (raw !== undefined && parseBool(raw) === undefined)
      problems.push(annotationProblem(ing, SERVICE_UPSTREAM, raw, '"true" or "false"'));
    return undefined;
  },
};
