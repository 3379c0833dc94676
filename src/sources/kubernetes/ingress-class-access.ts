// Whether the API lets the controller list IngressClasses. IngressClasses are cluster-scoped, and a
// namespace-scoped installation (a Role instead of a ClusterRole) often cannot read them. Without this check
// their list/watch would be refused for ever and the first sync, which waits for every kind, would never
// come: the controller would never serve. ingress-nginx checked the same at start and then went on without
// IngressClasses (a warning; Ingresses are chosen by the class annotation and --watch-ingress-without-class).
import { ApiClient, ApiStatusError } from './api-request.js';
import type { ApiConfig } from './config.js';

export const INGRESS_CLASSES_PATH = '/apis/networking.k8s.io/v1/ingressclasses';

/**
 * false only when the API server answers 403 to a list of one IngressClass. Any other failure (the server
 * away, a timeout) counts as allowed: the kind's own list/watch then retries, as for every other kind.
 */
export async function canListIngressClasses(api: ApiConfig, timeoutMs = 10_000): Promise<boolean> {
  try {
    const response = await new ApiClient(api).get(
      `${INGRESS_CLASSES_PATH}?limit=1`,
      AbortSignal.timeout(timeoutMs),
      timeoutMs,
    );
    response.resume();
    return true;
  } catch (error) {
    return !(error instanceof ApiStatusError && error.statusCode === 403);
  }
}
