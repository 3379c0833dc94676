// How buildModel runs the families' hooks that need more than a call: the order of the finishing passes,
// and the hooks about regular-expression paths (model/index.ts calls these; annotations/family.ts has the hooks).
import type { Ingress } from '../resources.js';
import { configIn, FAMILIES, withConfig } from './annotations/index.js';
import type { AnyFamily, LocationAnnotations } from './annotations/index.js';

/**
 * The families with a finishing pass, in families.ts order except that each comes after the families its
 * finishAfter names. Throws on a cycle or an unknown name: a mistake in a family file, not in manifests.
 */
export function finishingOrder(families: readonly AnyFamily[]): AnyFamily[] {
  const finishing = families.filter((family) => family.finish);
  const names = new Set(finishing.map((family) => family.name));
  const done = new Set<string>();
  const order: AnyFamily[] = [];
  while (order.length < finishing.length) {
    const next = finishing.find(
      (family) => !done.has(family.name) && (family.finishAfter ?? []).every((name) => done.has(name)),
    );
    if (!next) {
      const stuck = finishing.filter((family) => !done.has(family.name));
      const unknown = stuck.flatMap((family) => (family.finishAfter ?? []).filter((name) => !names.has(name)));
      throw new Error(
        unknown.length
          ? `finishAfter names no family with a finishing pass: ${unknown.join(', ')}`
          : `finishAfter makes a cycle: ${stuck.map((family) => family.name).join(', ')}`,
      );
    }
    done.add(next.name);
    order.push(next);
  }
  return order;
}

const WITH_FOR_PATH = FAMILIES.filter((family) => family.forPath);

/** The location config of one path of a regex Ingress, from the Ingress's (rewrite-target's regex). */
export function locationAnnotationsFor(ann: LocationAnnotations, path: string): LocationAnnotations {
  let out = ann;
  for (const family of WITH_FOR_PATH) {
    const config = configIn(out, family);
    if (config !== undefined) out = withConfig(out, family, family.forPath!(config, path));
  }
  return out;
}

/** Why a regex path of the Ingress cannot be used (by the first family that makes its paths regexes), or null. */
export function regexPathProblem(ing: Ingress, path: string): string | null {
  const family = FAMILIES.find((candidate) => candidate.regexPaths?.of(ing));
  return family ? family.regexPaths!.problem(path) : null;
}
