// Shared pieces of the benchmarks: a fast backend (nginx answering its pod name), statistics, wrk.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { sleep } from '../test/helpers/wait.js';

export interface Backends {
  port: number;
  addresses: string[];
  stop(): Promise<void>;
}

/** nginx serving "pod-N" on each loopback address: fast enough that the proxy under test is the limit. */
export async function startBackends(addresses: string[], workers = 1): Promise<Backends> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-bench-pods-'));
  const port = await freePort(addresses[0]);
  fs.mkdirSync(path.join(prefix, 'logs'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/${t};`).join(' ');
  const servers = addresses.map((a, i) =>
    `server { listen ${a}:${port} reuseport; keepalive_requests 100000; location / { return 200 "pod-${i + 1}\\n"; } }`).join('\n');
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), `worker_processes ${workers};
pid ${prefix}/nginx.pid; error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http { access_log off; ${temp}
${servers}
}
`);
  const child: ChildProcess = spawn('nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'], { stdio: 'inherit' });
  await sleep(300);
  return {
    port, addresses,
    stop: async () => {
      child.kill('SIGQUIT');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** One wrk run; returns requests per second. */
export function wrk(url: string, o: { seconds: number; connections: number; host?: string }): number {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, ...(o.host ? ['-H', `Host: ${o.host}`] : []), url];
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1];
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (!rps) throw new Error(`wrk printed no rate:\n${out}`);
  if (errors) process.stderr.write(`wrk: ${errors[0]}\n`);
  return Number(rps);
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const nginx = execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || '';
  return `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}${nginx}`;
}
