// What every annotation family shares: the annotation prefix, the value parsers, and the problems that
// report a refused value. A family imports these from here, never from another family.
import type { ConfigMap, Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../../syntax.js';
import type { AnnotationContext, ObjectReference } from './family.js';

export const PREFIX = 'nginx.ingress.kubernetes.io/';

const DENIED = "the Ingress's paths answer 503 until it is fixed";
const IGNORED = 'ignored, its default applies (as ingress-nginx ignored an invalid value)';

/**
 * The same problem for an annotation whose invalid value does not deny (Family.failClosed): a warning that
 * says the default applies instead.
 */
export function toleratedProblem(problem: Problem): Problem {
  if (problem.severity !== 'error') return problem;
  const message = problem.message.includes(DENIED)
    ? problem.message.replace(DENIED, IGNORED)
    : `${problem.message}; ${IGNORED}`;
  return { ...problem, severity: 'warning', message };
}

/** Is this an annotation value that was refused and ignored (toleratedProblem), rather than a mere warning? */
export function isIgnoredValue(problem: Problem): boolean {
  return problem.severity === 'warning' && problem.message.endsWith(IGNORED);
}

/** "true" or "false" (surrounding blanks allowed); undefined for anything else. */
export function parseBool(value: string): boolean | undefined {
  const trimmed = value.trim();
  return trimmed === 'true' ? true : trimmed === 'false' ? false : undefined;
}

/** An integer written in decimal digits only, within [min, max]; undefined otherwise. */
export function parseIntIn(value: string, min: number, max: number): number | undefined {
  const trimmed = value.trim();
  if (!/^[0-9]{1,9}$/.test(trimmed)) return undefined;
  const parsed = Number(trimmed);
  return parsed >= min && parsed <= max ? parsed : undefined;
}

/** An invalid annotation value: an error naming the annotation, the value and what was expected. */
export function annotationProblem(ing: Ingress, key: string, value: string, expected: string): Problem {
  return problemAt(
    ing,
    'error',
    `metadata.annotations["${key}"]`,
    `invalid value ${JSON.stringify(value).slice(0, 80)}: expected ${expected}; ${DENIED}`,
  );
}

/** An error that denies the Ingress's paths (fail closed), naming the annotation and the value. */
export function refused(ing: Ingress, key: string, value: string, expected: string): Problem {
  return annotationProblem(ing, key, value, expected);
}

/** An error about an annotation that is not about one bad value (a missing Secret, say). */
export function refusedBecause(ing: Ingress, key: string, message: string): Problem {
  return problemAt(ing, 'error', `metadata.annotations["${key}"]`, `${message}; ${DENIED}`);
}

/** "name" (in the given namespace) or "namespace/name" of a Secret or ConfigMap an annotation names. */
export function parseNamespacedName(value: string, namespace: string): { namespace: string; name: string } | undefined {
  const parts = value.trim().split('/');
  if (parts.length === 1 && DNS_SUBDOMAIN.test(parts[0]!)) return { namespace, name: parts[0]! };
  if (parts.length === 2 && DNS_LABEL.test(parts[0]!) && DNS_SUBDOMAIN.test(parts[1]!))
    return { namespace: parts[0]!, name: parts[1]! };
  return undefined;
}

/** The ConfigMap a setting names as "namespace/name" (settings.ts validated it), as a reference to fetch. */
export function settingsConfigMapRef(value: string | null): ObjectReference[] {
  const [namespace, name] = value?.split('/') ?? [];
  return namespace && name ? [{ kind: 'ConfigMap', namespace, name }] : [];
}

/**
 * The ConfigMap a setting names ("namespace/name"); a missing one is a warning saying what is not done
 * (`consequence`), and undefined.
 */
export function settingsConfigMap(
  ref: string | null,
  setting: string,
  consequence: string,
  ctx: Pick<AnnotationContext, 'configMap'>,
  problems: Problem[],
): ConfigMap | undefined {
  if (!ref) return undefined;
  const [namespace, name] = ref.split('/') as [string, string];
  const cm = ctx.configMap(namespace, name);
  if (!cm) {
    problems.push({
      severity: 'warning',
      object: `ConfigMap ${ref}`,
      field: setting,
      message: `ConfigMap ${ref} named by the setting ${setting} not found; ${consequence}`,
    });
  }
  return cm;
}
