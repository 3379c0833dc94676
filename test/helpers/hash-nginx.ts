// The smallest nginx config the apply path can confirm: one loopback server answering /configuration/hash
// with a chosen hash (as the rendered config's internal server does), with every path inside the prefix.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** nginx.conf text for prefix: /configuration/hash on 127.0.0.1:port answers hash; extra goes in the server block. */
export function hashConfig(prefix: string, port: number, hash: string, extra = ''): string {
  const tmp = path.join(prefix, 'tmp');
  return [
    `pid ${prefix}/nginx.pid;`,
    'error_log stderr notice;',
    'worker_processes 1;',
    'events {}',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${tmp}; proxy_temp_path ${tmp}; fastcgi_temp_path ${tmp}; uwsgi_temp_path ${tmp}; scgi_temp_path ${tmp};`,
    `  server { listen 127.0.0.1:${port}; location = /configuration/hash { return 200 "${hash}\\n"; } ${extra} }`,
    '}',
    '',
  ].join('\n');
}

/** Kill what is left of an nginx process group (master and workers), ignoring a group already gone. */
export function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: gone
  }
}

/** true while any process has prefix on its command line (an nginx master started with -p prefix). */
export function nginxOnPrefix(prefix: string): boolean {
  try {
    return execFileSync('pgrep', ['-f', prefix], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

export function removePrefix(prefix: string): void {
  fs.rmSync(prefix, { recursive: true, force: true });
}
