// Self-signed certificates made with the openssl CLI for the duration of a test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface KeyPair {
  cert: string; // PEM
  key: string; // PEM
}

/** A certificate for host (CN the first host, subjectAltName DNS: each host), valid two days. */
export function makeCert(hosts: string | string[]): KeyPair {
  const names = typeof hosts === 'string' ? [hosts] : hosts;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-cert-'));
  try {
    const key = path.join(dir, 'key.pem');
    const crt = path.join(dir, 'crt.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/O=e2e/CN=${names[0]}`,
        '-addext',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
        '-keyout',
        key,
        '-out',
        crt,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { cert: fs.readFileSync(crt, 'utf8'), key: fs.readFileSync(key, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
