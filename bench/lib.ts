// Shared pieces of the benchmarks: a fast backend (nginx answering its pod name), statistics, wrk, a
// repeatable random generator, manifests as YAML, one HTTP GET, /proc memory figures.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { cleanEnv, CLI, REPO, RunningController } from '../test/helpers/controller.js';
import { freePort, freePorts } from '../test/helpers/ports.js';
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
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${prefix}/${t};`)
    .join(' ');
  const servers = addresses
    .map(
      (a, i) =>
        `server { listen ${a}:${port} reuseport; keepalive_requests 100000; location / { return 200 "pod-${i + 1}\\n"; } }`,
    )
    .join('\n');
  fs.writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `worker_processes ${workers};
pid ${prefix}/nginx.pid; error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http { access_log off; ${temp}
${servers}
}
`,
  );
  const child: ChildProcess = spawn(
    'nginx',
    ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'],
    { stdio: 'inherit' },
  );
  await sleep(300);
  return {
    port,
    addresses,
    stop: async () => {
      child.kill('SIGQUIT');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], percent: number): number {
  if (!sorted.length) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** One wrk run; returns requests per second. */
export function wrk(url: string, options: { seconds: number; connections: number; host?: string }): number {
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    ...(options.host ? ['-H', `Host: ${options.host}`] : []),
    url,
  ];
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

/** A small deterministic generator (mulberry32): the same seed gives the same sequence, run after run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** Manifests as one multi-document YAML file, long lines kept whole. */
export function yamlDocs(docs: object[]): string {
  return docs.map((d) => YAML.stringify(d, { lineWidth: 0 })).join('---\n');
}

/** An Ingress in namespace bench sending host's "/" to service port 80. */
export function ingressDoc(name: string, host: string, service: string): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'bench' },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host,
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }],
          },
        },
      ],
    },
  };
}

/** GET / with this Host on 127.0.0.1:port, a fresh connection each time; status 0 when nothing answered. */
export function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/', agent: false, headers: { host }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

/** A memory figure of a process from /proc/PID/status, in KiB (NaN when absent). */
export function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : NaN;
}

/**
 * `run` with every listener on fresh loopback ports and the shipped defaults otherwise; `args` choose the
 * source (--manifests DIR, --kubeconfig FILE) and anything else a bench changes.
 */
export async function spawnLoopbackRun(args: string[], prefix: string): Promise<RunningController> {
  const [httpPort, httpsPort, statusPort, internalPort] = await freePorts(4);
  const ports = { http: httpPort!, https: httpsPort!, status: statusPort!, internal: internalPort! };
  const argv = [
    CLI,
    'run',
    ...args,
    '--nginx-prefix',
    prefix,
    '--listen-address',
    '127.0.0.1',
    '--status-address',
    '127.0.0.1',
    '--http-port',
    String(ports.http),
    '--https-port',
    String(ports.https),
    '--status-port',
    String(ports.status),
    '--internal-port',
    String(ports.internal),
  ];
  const child = spawn(process.execPath, argv, { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const manifests = args.indexOf('--manifests');
  return new RunningController(child, ports, prefix, manifests >= 0 ? args[manifests + 1]! : '');
}
