// Which Ingresses this controller serves: spec.ingressClassName, the legacy kubernetes.io/ingress.class
// annotation, and IngressClass objects (by controller value, and the one marked default).
import type { Ingress, IngressClass } from '../../resources.js';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface ClassOptions {
  ingressClass: string; // e.g. "nginx"
  controllerClass: string; // IngressClass spec.controller value we answer to
  watchWithoutClass: boolean; // serve Ingresses without any class
}

export function isServed(ing: Ingress, classes: IngressClass[], opts: ClassOptions): boolean {
  const ours = (c: IngressClass) => c.meta.name === opts.ingressClass || c.controller === opts.controllerClass;
  const cls = ing.className ?? ing.meta.annotations[LEGACY_CLASS_ANNOTATION];
  if (cls !== undefined) {
    if (cls === opts.ingressClass) return true;
    const named = classes.find((c) => c.meta.name === cls);
    return named !== undefined && named.controller === opts.controllerClass;
  }
  // Kubernetes assigns the default class to class-less Ingresses; if another controller's class is the
  // default, the Ingress is theirs.
  const defaults = classes.filter((c) => c.isDefault);
  if (defaults.length) return defaults.some(ours);
  return opts.watchWithoutClass;
}
