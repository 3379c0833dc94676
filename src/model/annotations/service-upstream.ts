// service-upstream: proxy to the Service's ClusterIP and port (one endpoint, kube-proxy balances) instead
// of the pod endpoints, as ingress-nginx's annotation of that name; the ConfigMap's service-upstream is its
// default for every Ingress. The backend itself is built in model/backends.ts (resolveBackend's
// serviceUpstream option); this family reports an invalid value (ignored: the default applies, as
// ingress-nginx did) and renders nothing.
import type { Ingress, Problem } from '../../resources.js';
import type { Settings } from '../settings.js';
import type { Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';

export const SERVICE_UPSTREAM = `${PREFIX}service-upstream`;

/** Whether the Ingress's backends are its Services' ClusterIPs: the annotation, else the default. */
export function serviceUpstream(ing: Ingress, byDefault = false): boolean {
  const raw = ing.meta.annotations[SERVICE_UPSTREAM];
  return (raw === undefined ? undefined : parseBool(raw)) ?? byDefault;
}

export const serviceUpstreamFamily: Family<'service-upstream'> = {
  name: 'service-upstream',
  keys: [SERVICE_UPSTREAM],
  proxiesToService: (ing: Ingress, settings: Settings) => serviceUpstream(ing, settings.serviceUpstream),
  location(ing: Ingress, _ctx, problems: Problem[]) {
    const raw = ing.meta.annotations[SERVICE_UPSTREAM];
    if (raw !== undefined && parseBool(raw) === undefined)
      problems.push(annotationProblem(ing, SERVICE_UPSTREAM, raw, '"true" or "false"'));
    return undefined;
  },
};
