// The Secrets and ConfigMaps the model will read, named by the Ingresses this controller serves and by its
// settings: a source that cannot hold every Secret of a cluster (the API source: Helm keeps releases in
// Secrets of a megabyte each) fetches these by name. The TLS Secrets of spec.tls are among them; what each
// annotation family names, its references hook says. Pure: the same store gives the same list.
import { isServed } from './annotations/index.js';
import { FAMILIES } from './annotations/families.js';
import type { ObjectReference } from './annotations/family.js';
import type { ClassOptions } from './annotations/index.js';
import type { ModelInput } from './index.js';
import { parseSettings } from './settings.js';

export type { ObjectReference } from './annotations/family.js';

export interface ReferenceOptions extends ClassOptions {
  configMap?: { namespace: string; name: string };
  defaultSslCertificate?: { namespace: string; name: string }; // --default-ssl-certificate's Secret
}

const WITH_REFERENCES = FAMILIES.filter((family) => family.references);
const WITH_SETTINGS_REFERENCES = FAMILIES.filter((family) => family.settingsReferences);

/** Every object named, once each, in a stable order (kind, namespace, name). */
export function referencedObjects(input: ModelInput, options: ReferenceOptions): ObjectReference[] {
  const found = new Map<string, ObjectReference>();
  const add = (ref: ObjectReference) => found.set(`${ref.kind}/${ref.namespace}/${ref.name}`, ref);
  const cm = options.configMap
    ? input.get('ConfigMap', options.configMap.namespace, options.configMap.name)
    : undefined;
  const { settings } = parseSettings(cm);
  if (options.defaultSslCertificate) add({ kind: 'Secret', ...options.defaultSslCertificate });
  for (const family of WITH_SETTINGS_REFERENCES) for (const ref of family.settingsReferences!(settings)) add(ref);
  const classes = input.list('IngressClass');
  for (const ing of input.list('Ingress')) {
    if (!isServed(ing, classes, options)) continue;
    for (const tls of ing.tls) {
      if (tls.secretName) add({ kind: 'Secret', namespace: ing.meta.namespace, name: tls.secretName });
    }
    for (const family of WITH_REFERENCES) for (const ref of family.references!(ing)) add(ref);
  }
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ref]) => ref);
}
