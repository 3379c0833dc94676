// An Ingress's backend with endpoints refused or over the limit (endpoint-policy.ts, backends.ts): the
// problems that say so, on the Endpoints, EndpointSlice or Service the endpoints come from, naming the
// Ingress that uses it; a list over the limit is also reported on the Ingress itself.
import type { Ingress, Problem } from '../resources.js';
import { problemAt } from '../resources.js';
import type { EndpointIssue } from './endpoint-policy.js';
import type { Backend } from './routing.js';

export function endpointProblems(issues: EndpointIssue[], backend: Backend, ing: Ingress, field: string): Problem[] {
  const user = `Ingress ${ing.meta.namespace}/${ing.meta.name} ${field}`;
  const out: Problem[] = issues.map((i) => ({ ...i, message: `${i.message} (backend ${backend.name} of ${user})` }));
  const over = backend.withheld?.overLimit;
  if (over !== undefined) {
    out.push(
      problemAt(
        ing,
        'error',
        field,
        `Service ${backend.namespace}/${backend.service} port ${backend.port} has ${over} ready endpoints, more than the limit; backend ${backend.name} keeps its previous ${backend.endpoints.length} endpoint(s)`,
      ),
    );
  }
  return out;
}
