// Ingresses the ConfigMap refuses whole, before any annotation is parsed, as ingress-nginx drops them
// from its store: one with a word of annotation-value-word-blocklist in the value of any of its
// nginx.ingress.kubernetes.io/ annotations (the CVE-2021-25742 mitigation: "load_module", "lua", "{"...),
// and one with an annotation riskier than annotations-risk-level (risk.ts). Such an Ingress is not served
// at all (its hosts and paths answer as if it did not exist, 404 unless another Ingress routes them);
// every other Ingress is. Each refusal is an error naming the Ingress, the annotation and the reason.
import type { Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import type { Settings } from '../settings.js';
import { isAbove, riskOf } from './risk.js';
import { PREFIX } from './values.js';

const NOT_SERVED = 'the Ingress is not served until it is fixed';

/** Is this problem a refusal of a whole Ingress by the ConfigMap (refusals)? */
export function isRefusal(problem: Problem): boolean {
  return problem.severity === 'error' && problem.message.endsWith(NOT_SERVED);
}

/** Why the ConfigMap refuses this Ingress: one error per offending annotation; empty when it is served. */
export function refusals(
  ing: Ingress,
  settings: Pick<Settings, 'annotationValueWordBlocklist' | 'annotationsRiskLevel'>,
): Problem[] {
  const problems: Problem[] = [];
  const words = settings.annotationValueWordBlocklist;
  for (const key of Object.keys(ing.meta.annotations).sort()) {
    if (!key.startsWith(PREFIX)) continue;
    const field = `metadata.annotations["${key}"]`;
    const word = words.find((blocked) => ing.meta.annotations[key]!.includes(blocked));
    if (word !== undefined) {
      problems.push(
        problemAt(
          ing,
          'error',
          field,
          `the value contains ${JSON.stringify(word)}, a word of the ConfigMap's annotation-value-word-blocklist; ${NOT_SERVED}`,
        ),
      );
      continue;
    }
    const risk = riskOf(key);
    if (risk !== undefined && isAbove(risk, settings.annotationsRiskLevel)) {
      problems.push(
        problemAt(
          ing,
          'error',
          field,
          `the annotation's risk is ${risk}, above the ConfigMap's annotations-risk-level ${settings.annotationsRiskLevel}; ${NOT_SERVED}`,
        ),
      );
    }
  }
  return problems;
}
