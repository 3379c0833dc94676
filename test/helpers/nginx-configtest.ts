// `nginx -t` on a rendered config, for the render and annotation unit tests: a temporary prefix with the
// directories the templates name, and the check itself.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** A new temporary nginx prefix (its name starts with `name`) holding the ssl, logs and tmp directories. */
export function tempNginxPrefix(name: string): string {
  const prefix = fs.mkdtempSync(nodePath.join(os.tmpdir(), name));
  for (const dir of ['ssl', 'logs', 'tmp']) fs.mkdirSync(nodePath.join(prefix, dir));
  return prefix;
}

/**
 * Write text as PREFIX/nginx.conf and run `nginx -t -q` on it: null when nginx accepts the config, else
 * what nginx said (stderr, then stdout).
 */
export function nginxConfigTest(prefix: string, text: string): string | null {
  const conf = nodePath.join(prefix, 'nginx.conf');
  fs.writeFileSync(conf, text);
  try {
    execFileSync(NGINX, ['-t', '-q', '-p', prefix, '-c', conf, '-e', 'stderr'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return null;
  } catch (caught) {
    const err = caught as { stderr?: string; stdout?: string };
    return `${err.stderr ?? ''}${err.stdout ?? ''}`;
  }
}

/** The config with its line numbers ("12: ..."), for a failure message. */
export function numberedLines(text: string): string {
  return text
    .split('\n')
    .map((l, i) => `${i + 1}: ${l}`)
    .join('\n');
}
