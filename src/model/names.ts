// Names the controller derives from Kubernetes object names: backends (nginx upstream labels, Lua keys,
// $proxy_upstream_name in logs), certificates and the files it manages. Each must be injective: two
// different objects never get one name, or one tenant could take over another's certificate or traffic
// (Secret "team-a/web-tls" and "team/a-web-tls" were both "team-a-web-tls" once).
//
// How: the parts are joined with "_", which no namespace (DNS label), Service (DNS label) or Secret
// (DNS subdomain) name can contain, and which a port number cannot either; the loader's schema refuses
// such names, and joinName refuses them again so that no caller can build an ambiguous name by mistake.
// ingress-nginx joined them with "-" ("namespace-service-port"); this is a deliberate difference (README).
import crypto from 'node:crypto';
import { NameError } from '../errors.js';

export const NAME_SEPARATOR = '_';

export { NameError } from '../errors.js'; // defined with the other errors (src/errors.ts)

/** namespace_name[_port...]: throws on an empty part or one containing the separator. */
export function joinName(...parts: (string | number)[]): string {
  for (const given of parts) {
    const text = String(given);
    if (text === '' || text.includes(NAME_SEPARATOR))
      throw new NameError(
        `cannot derive a name from ${JSON.stringify(parts)}: a part is empty or contains "${NAME_SEPARATOR}"`,
      );
  }
  return parts.join(NAME_SEPARATOR);
}

export function backendName(namespace: string, service: string, port: number): string {
  return joinName(namespace, service, port);
}

export function certificateName(namespace: string, secret: string): string {
  return joinName(namespace, secret);
}

// File names stay under 255 bytes with room for the content hash and a suffix; a longer name keeps a
// readable head and gains a hash of the whole, so shortening it cannot make two names one.
const FILE_BASE_MAX = 150;

/** A managed file's base name (before its content hash): kind_namespace_name, shortened injectively. */
export function fileBaseName(kind: string, ...parts: string[]): string {
  const full = `${kind}-${joinName(...parts)}`;
  if (full.length <= FILE_BASE_MAX) return full;
  const digest = crypto.createHash('sha256').update(full).digest('hex').slice(0, 16);
  return `${full.slice(0, FILE_BASE_MAX - 17)}~${digest}`;
}

/**
 * A table of derived names and who holds each: the first holder keeps a name, a second one is refused
 * (never an overwrite). With injective names only a bug or a hash collision can make a clash.
 */
export class NameTable<V> {
  private readonly held = new Map<string, { owner: string; value: V }>();

  /** The value under name if owner holds it; a clash gives the holder, for the error. */
  claim(name: string, owner: string, value: V): { ok: true; value: V } | { ok: false; holder: string } {
    const held = this.held.get(name);
    if (!held) {
      this.held.set(name, { owner, value });
      return { ok: true, value };
    }
    return held.owner === owner ? { ok: true, value: held.value } : { ok: false, holder: held.owner };
  }

  get(name: string): V | undefined {
    return this.held.get(name)?.value;
  }

  has(name: string): boolean {
    return this.held.has(name);
  }

  values(): V[] {
    return [...this.held.values()].map((h) => h.value);
  }
}
