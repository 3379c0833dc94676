// Certificates from kubernetes.io/tls Secrets. A Secret is checked here (PEM parses, key matches the
// certificate) so a bad one falls back to the default certificate instead of failing nginx -t.
import crypto from 'node:crypto';
import type { Problem, Secret } from '../types.js';
import { objectRef } from '../types.js';
import type { Certificate } from './types.js';

export type CertResult = { ok: true; cert: Certificate; problems: Problem[] } | { ok: false; problems: Problem[] };

export function certificateFromSecret(secret: Secret): CertResult {
  const where = { file: secret.source.file, line: secret.source.line, object: objectRef(secret) };
  const fail = (field: string, message: string): CertResult => ({ ok: false, problems: [{ severity: 'error', ...where, field, message }] });
  const crtB64 = secret.data['tls.crt'];
  const keyB64 = secret.data['tls.key'];
  if (crtB64 === undefined) return fail('data["tls.crt"]', 'missing');
  if (keyB64 === undefined) return fail('data["tls.key"]', 'missing');
  const crt = Buffer.from(crtB64, 'base64').toString('utf8');
  const key = Buffer.from(keyB64, 'base64').toString('utf8');
  // Only PEM blocks go to disk: anything around them (comments, stray text) is dropped.
  const certBlocks = pemBlocks(crt, /^CERTIFICATE$/);
  const keyBlocks = pemBlocks(key, /^(RSA |EC |)PRIVATE KEY$/);
  if (!certBlocks.length) return fail('data["tls.crt"]', 'no PEM CERTIFICATE block');
  if (keyBlocks.length !== 1) return fail('data["tls.key"]', 'expected exactly one PEM PRIVATE KEY block');
  let x509: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(certBlocks[0]!);
    for (const b of certBlocks.slice(1)) new crypto.X509Certificate(b);
  } catch (e) {
    return fail('data["tls.crt"]', `certificate does not parse: ${(e as Error).message}`);
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(keyBlocks[0]!);
  } catch (e) {
    return fail('data["tls.key"]', `private key does not parse: ${(e as Error).message}`);
  }
  if (!x509.checkPrivateKey(privateKey)) return fail('data["tls.key"]', 'private key does not match the certificate');
  const problems: Problem[] = [];
  if (secret.type !== 'kubernetes.io/tls') {
    problems.push({ severity: 'warning', ...where, field: 'type', message: `type is ${JSON.stringify(secret.type)}, expected kubernetes.io/tls; used anyway` });
  }
  if (Date.parse(x509.validTo) < Date.now()) {
    problems.push({ severity: 'warning', ...where, field: 'data["tls.crt"]', message: `certificate expired on ${x509.validTo}` });
  }
  const pem = [...certBlocks, keyBlocks[0]!].join('');
  const hash = crypto.createHash('sha256').update(pem).digest('hex');
  return { ok: true, cert: { name: `${secret.meta.namespace}-${secret.meta.name}`, pem, hash, notAfter: x509.validTo }, problems };
}

/** Does the certificate name this host (SAN or CN, with the usual one-label wildcard)? */
export function certCoversHost(pem: string, host: string): boolean {
  try {
    return new crypto.X509Certificate(pem).checkHost(host.replace(/^\*\./, 'wildcard.')) !== undefined;
  } catch {
    return false;
  }
}

function pemBlocks(text: string, label: RegExp): string[] {
  const out: string[] = [];
  const re = /-----BEGIN ([A-Z ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    if (label.test(m[1]!)) out.push(`-----BEGIN ${m[1]}-----\n${m[2]!.replace(/\r/g, '').trim()}\n-----END ${m[1]}-----\n`);
  }
  return out;
}
