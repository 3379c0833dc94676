// Certificates from kubernetes.io/tls Secrets. A Secret is checked here (PEM parses, key matches the
// certificate) so a bad one falls back to the default certificate instead of failing nginx -t.
import crypto from 'node:crypto';
import type { Problem, Secret } from '../resources.js';
import { objectRef } from '../resources.js';
import type { Certificate } from './routing.js';
import { certificateName } from './names.js';

export type CertResult = { ok: true; cert: Certificate; problems: Problem[] } | { ok: false; problems: Problem[] };

export function certificateFromSecret(secret: Secret): CertResult {
  const where = { file: secret.source.file, line: secret.source.line, object: objectRef(secret) };
  const fail = (field: string, message: string): CertResult => ({
    ok: false,
    problems: [{ severity: 'error', ...where, field, message }],
  });
  const crtB64 = secret.data['tls.crt'];
  const keyB64 = secret.data['tls.key'];
  if (crtB64 === undefined) return fail('data["tls.crt"]', 'missing');
  if (keyB64 === undefined) return fail('data["tls.key"]', 'missing');
  const parsed = parse(crtB64, keyB64);
  if (!parsed.ok) return fail(parsed.field, parsed.message);
  const { certBlocks, keyBlock, x509 } = parsed;
  const problems: Problem[] = [];
  if (secret.type !== 'kubernetes.io/tls') {
    problems.push({
      severity: 'warning',
      ...where,
      field: 'type',
      message: `type is ${JSON.stringify(secret.type)}, expected kubernetes.io/tls; used anyway`,
    });
  }
  if (Date.parse(x509.validTo) < Date.now()) {
    problems.push({
      severity: 'warning',
      ...where,
      field: 'data["tls.crt"]',
      message: `certificate expired on ${x509.validTo}`,
    });
  }
  const pem = [...certBlocks, keyBlock].join('');
  const hash = crypto.createHash('sha256').update(pem).digest('hex');
  return {
    ok: true,
    cert: { name: certificateName(secret.meta.namespace, secret.meta.name), pem, hash, notAfter: x509.validTo },
    problems,
  };
}

/** Does the certificate name this host (SAN or CN, with the usual one-label wildcard)? */
export function certCoversHost(pem: string, host: string): boolean {
  try {
    return (
      remember(x509s, pem, () => new crypto.X509Certificate(pem)).checkHost(host.replace(/^\*\./, 'wildcard.')) !==
      undefined
    );
  } catch {
    return false;
  }
}

type Parsed =
  | { ok: true; certBlocks: string[]; keyBlock: string; x509: crypto.X509Certificate }
  | { ok: false; field: string; message: string };

// Parsing a key costs milliseconds and every model build looks at every Secret again: results are kept
// per content (the same input always gives the same answer), in small bounded caches.
const CACHE_LIMIT = 4096;
const parsedSecrets = new Map<string, Parsed>();
const x509s = new Map<string, crypto.X509Certificate>();

function remember<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    value = make();
    cache.set(key, value);
  }
  return value;
}

function parse(crtB64: string, keyB64: string): Parsed {
  return remember(parsedSecrets, `${crtB64}\n${keyB64}`, () => {
    const crt = Buffer.from(crtB64, 'base64').toString('utf8');
    const key = Buffer.from(keyB64, 'base64').toString('utf8');
    // Only PEM blocks go to disk: anything around them (comments, stray text) is dropped.
    const certBlocks = pemBlocks(crt, /^CERTIFICATE$/);
    const keyBlocks = pemBlocks(key, /^(RSA |EC |)PRIVATE KEY$/);
    if (!certBlocks.length) return { ok: false, field: 'data["tls.crt"]', message: 'no PEM CERTIFICATE block' };
    if (keyBlocks.length !== 1)
      return { ok: false, field: 'data["tls.key"]', message: 'expected exactly one PEM PRIVATE KEY block' };
    let x509: crypto.X509Certificate;
    try {
      x509 = new crypto.X509Certificate(certBlocks[0]!);
      for (const block of certBlocks.slice(1)) new crypto.X509Certificate(block);
    } catch (error) {
      return {
        ok: false,
        field: 'data["tls.crt"]',
        message: `certificate does not parse: ${(error as Error).message}`,
      };
    }
    let privateKey: crypto.KeyObject;
    try {
      privateKey = crypto.createPrivateKey(keyBlocks[0]!);
    } catch (failure) {
      return {
        ok: false,
        field: 'data["tls.key"]',
        message: `private key does not parse: ${(failure as Error).message}`,
      };
    }
    if (!x509.checkPrivateKey(privateKey))
      return { ok: false, field: 'data["tls.key"]', message: 'private key does not match the certificate' };
    return { ok: true, certBlocks, keyBlock: keyBlocks[0]!, x509 };
  });
}

function pemBlocks(text: string, label: RegExp): string[] {
  const out: string[] = [];
  const re = /-----BEGIN ([A-Z ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;
  for (const match of text.matchAll(re)) {
    if (label.test(match[1]!))
      out.push(`-----BEGIN ${match[1]}-----\n${match[2]!.replace(/\r/g, '').trim()}\n-----END ${match[1]}-----\n`);
  }
  return out;
}
