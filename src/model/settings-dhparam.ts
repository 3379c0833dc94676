// ssl-dh-param: the Diffie-Hellman parameters of the DHE ciphers, from the dhparam.pem key of a Secret the
// ConfigMap names ("namespace/name"), as ingress-nginx's docs/examples/customization/ssl-dh-param. A
// family only for its hooks: the Secret is fetched by name (settingsReferences), its text becomes a file
// under PREFIX/files (fromSettings), and templates/partials/http-ssl-dh-param.hbs writes ssl_dhparam.
// Without it nginx has no DH parameters and never picks a DHE cipher (ECDHE ones still work), so any
// problem is a warning and the key is left out.
import type { Problem } from '../resources.js';
import type { Family } from './annotations/family.js';

export interface DhParamItem {
  file: string; // a managed file's name (ManagedFile.name)
}

const PEM =
  /^-----BEGIN DH PARAMETERS-----\r?\n((?:[A-Za-z0-9+/=]{1,76}\r?\n){1,200})-----END DH PARAMETERS-----\r?\n?$/;
const MIN_PRIME_BITS = 1024; // what OpenSSL accepts at its lowest security level with a certificate

/** The length of a DER element at offset (after its tag), or undefined when it runs past the end. */
function derLength(der: Buffer, offset: number): { length: number; start: number } | undefined {
  const first = der[offset];
  if (first === undefined) return undefined;
  if (first < 0x80) return { length: first, start: offset + 1 };
  const bytes = first & 0x7f;
  if (bytes === 0 || bytes > 3 || offset + 1 + bytes > der.length) return undefined;
  let length = 0;
  for (let index = 0; index < bytes; index++) length = length * 256 + der[offset + 1 + index]!;
  return { length, start: offset + 1 + bytes };
}

/**
 * Why a dhparam.pem text cannot be used, or null: one PEM block of PKCS#3 DHparams (a DER SEQUENCE of the
 * prime, the generator and optionally the private value length), with a prime of at least 1024 bits.
 */
export function dhParamProblem(text: string): string | null {
  const match = PEM.exec(text);
  if (!match) return 'it is not one PEM block "BEGIN DH PARAMETERS" (openssl dhparam writes one)';
  const der = Buffer.from(match[1]!.replace(/\r?\n/g, ''), 'base64');
  const sequence = der[0] === 0x30 ? derLength(der, 1) : undefined;
  if (!sequence || sequence.start + sequence.length !== der.length) return 'its content is not a DER sequence';
  const integers: Buffer[] = [];
  for (let offset = sequence.start; offset < der.length; ) {
    const element = der[offset] === 0x02 ? derLength(der, offset + 1) : undefined;
    if (!element || element.start + element.length > der.length) return 'its content is not DH parameters';
    integers.push(der.subarray(element.start, element.start + element.length));
    offset = element.start + element.length;
  }
  if (integers.length < 2 || integers.length > 3) return 'its content is not DH parameters (a prime and a generator)';
  const prime = integers[0]!;
  const significant = prime[0] === 0 ? prime.subarray(1) : prime;
  const bits = significant.length * 8 - Math.clz32(significant[0] ?? 0) + 24;
  if (bits < MIN_PRIME_BITS) return `its prime has ${bits} bits, fewer than ${MIN_PRIME_BITS}`;
  return null;
}

export const dhParamFamily: Family<'ssl-dh-param', never, never, DhParamItem> = {
  name: 'ssl-dh-param',
  keys: Object.freeze([]), // no annotation: the ConfigMap key only
  settingsReferences(settings) {
    if (!settings.sslDhParam) return [];
    const [namespace, name] = settings.sslDhParam.split('/') as [string, string];
    return [{ kind: 'Secret', namespace, name }];
  },
  fromSettings(ctx, problems) {
    const ref = ctx.settings.sslDhParam;
    if (!ref) return [];
    const [namespace, name] = ref.split('/') as [string, string];
    const refused = (message: string): DhParamItem[] => {
      const problem: Problem = { severity: 'warning', object: `Secret ${ref}`, field: 'ssl-dh-param', message };
      problems.push(problem);
      return [];
    };
    const secret = ctx.secret(namespace, name);
    if (!secret)
      return refused(`Secret ${ref} named by the setting ssl-dh-param not found; no DH parameters (no DHE cipher)`);
    const encoded = secret.data['dhparam.pem'];
    if (encoded === undefined) return refused(`Secret ${ref} has no key dhparam.pem; no DH parameters (no DHE cipher)`);
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const why = dhParamProblem(text);
    if (why) return refused(`dhparam.pem of Secret ${ref}: ${why}; no DH parameters (no DHE cipher)`);
    return [{ file: ctx.file('dhparam', text.endsWith('\n') ? text : `${text}\n`, 0o600) }];
  },
};
