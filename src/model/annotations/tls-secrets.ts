// Secrets that TLS annotations name ("namespace/name", as ingress-nginx expects them): the reference, the CA
// bundle and the key pair they hold, shared by auth-tls and proxy-ssl.
import crypto from 'node:crypto';
import type { Ingress, Problem, Secret } from '../../resources.js';
import { problemAt } from '../../resources.js';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../../syntax.js';
import { certificateFromSecret } from '../certificates.js';
import type { AnnotationContext, ObjectReference } from './family.js';
import { annotationProblem, PREFIX } from './values.js';

export interface SecretRef {
  namespace: string;
  name: string;
}

/**
 * The Secret an annotation names as "namespace/name": undefined when the annotation is absent, null when
 * it is invalid (reported). Only the Ingress's own namespace is accepted, as ingress-nginx does by default
 * (allow-cross-namespace-resources false): an Ingress must not borrow another namespace's keys.
 */
export function parseSecretRef(ing: Ingress, key: string, problems: Problem[]): SecretRef | null | undefined {
  const raw = ing.meta.annotations[key];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  const slash = value.indexOf('/');
  const namespace = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (slash < 0 || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    problems.push(annotationProblem(ing, key, raw, 'a Secret as "namespace/name"'));
    return null;
  }
  if (namespace !== ing.meta.namespace) {
    problems.push(
      annotationProblem(
        ing,
        key,
        raw,
        `a Secret in the Ingress's own namespace ${ing.meta.namespace} (Secrets of other namespaces are not allowed)`,
      ),
    );
    return null;
  }
  return { namespace, name };
}

/** The Secret an annotation of this form names, as a reference to fetch (nothing when it is not of that form). */
export function namedSecret(ing: Ingress, key: string): ObjectReference[] {
  const ref = parseSecretRef(ing, key, []);
  return ref ? [{ kind: 'Secret', ...ref }] : [];
}

/** A problem about the Secret an annotation names (missing, or without usable data). */
export function secretProblem(ing: Ingress, key: string, ref: SecretRef, message: string): Problem {
  return problemAt(ing, 'error', `metadata.annotations["${key}"]`, `Secret ${ref.namespace}/${ref.name}: ${message}`);
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/**
 * The CA bundle in a Secret's ca.crt: every PEM CERTIFICATE block, each of which must parse; only the
 * blocks are kept (nothing around them reaches the file nginx reads). A string is the reason it is unusable.
 */
export function caBundle(secret: Secret): { pem: string; count: number } | string {
  const b64 = secret.data['ca.crt'];
  if (b64 === undefined) return 'has no ca.crt';
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const blocks: string[] = [];
  for (const match of text.matchAll(PEM_CERTIFICATE)) {
    const pem = `-----BEGIN CERTIFICATE-----\n${match[1]!.replace(/\r/g, '').trim()}\n-----END CERTIFICATE-----\n`;
    try {
      new crypto.X509Certificate(pem);
    } catch (error) {
      return `ca.crt: certificate ${blocks.length + 1} does not parse: ${(error as Error).message}`;
    }
    blocks.push(pem);
  }
  if (!blocks.length) return 'ca.crt has no PEM CERTIFICATE block';
  return { pem: blocks.join(''), count: blocks.length };
}

/** The Secret a TLS family's annotation names, and the CA bundle in its ca.crt. */
export interface CaSecret {
  ref: SecretRef;
  secret: Secret;
  ca: { pem: string; count: number };
}

/**
 * For auth-tls and proxy-ssl: the Secret their annotation `key` (auth-tls-secret, proxy-ssl-secret) names,
 * with the CA bundle of its ca.crt. undefined, with what went wrong in problems, when the annotation is
 * absent (a warning names the family's other annotations present, of familyKeys: they do nothing without
 * it), invalid, or names a Secret that is not found or has no usable ca.crt (the error says what the CAs
 * are for: caRole).
 */
export function caSecret(
  ing: Ingress,
  ctx: AnnotationContext,
  key: string,
  familyKeys: readonly string[],
  caRole: string,
  problems: Problem[],
): CaSecret | undefined {
  const annotations = ing.meta.annotations;
  const ref = parseSecretRef(ing, key, problems);
  if (ref === undefined) {
    const others = familyKeys.filter((k) => k !== key && annotations[k] !== undefined);
    if (others.length) {
      problems.push({
        ...annotationProblem(ing, others[0]!, annotations[others[0]!]!, ''),
        severity: 'warning',
        message: `${others.map((k) => k.slice(PREFIX.length)).join(', ')} ${others.length > 1 ? 'have' : 'has'} no effect without ${key}, ignored`,
      });
    }
    return undefined;
  }
  if (ref === null) return undefined;
  const secret = ctx.secret(ref.namespace, ref.name);
  if (!secret) {
    problems.push(secretProblem(ing, key, ref, 'not found'));
    return undefined;
  }
  const ca = caBundle(secret);
  if (typeof ca === 'string') {
    problems.push(secretProblem(ing, key, ref, `${ca} (${caRole})`));
    return undefined;
  }
  return { ref, secret, ca };
}

/**
 * The client certificate and key in a Secret's tls.crt/tls.key (chain then key, one PEM file), checked as
 * server certificates are: PEM parses, the key matches. undefined when the Secret has neither key.
 */
export function keyPair(secret: Secret): { pem: string } | string | undefined {
  if (secret.data['tls.crt'] === undefined && secret.data['tls.key'] === undefined) return undefined;
  const parsed = certificateFromSecret(secret);
  if (!parsed.ok) return parsed.problems.map((p) => `${p.field ?? ''} ${p.message}`.trim()).join('; ');
  return { pem: parsed.cert.pem };
}
