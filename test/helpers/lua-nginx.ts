// A real nginx (2 workers) running the Lua data plane of nginx/lua with a hand-written config that
// follows the contract in nginx/lua/README.md, plus real HTTP backends on 127.0.0.x that answer their
// own name. Everything listens on loopback; stop() ends what start*() began and removes the prefix.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';
import { isAlive } from './processes.js';
import { sleep, waitFor } from './wait.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const LUA_DIR = path.join(REPO, 'nginx', 'lua');
const MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];

export interface LuaLocation {
  path: string; // prefix location, e.g. "/rr/"
  backend: string; // $proxy_upstream_name
  affinity?: boolean; // rewrite_by_lua (cookie affinity backends)
  ewma?: boolean; // log_by_lua (ewma backends)
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface BackendSpec {
  name: string;
  endpoints: Endpoint[];
  loadBalance?: 'round_robin' | 'random' | 'ewma' | 'chash';
  hashBy?: string;
  affinity?: { name: string; maxAge?: number; path?: string };
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  ms: number;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: http.Agent | false; // default false: a fresh connection, so either worker may take it
  timeoutMs?: number;
}

export function send(port: number, urlPath: string, options: SendOptions = {}): Promise<Reply> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${urlPath} on ${port} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface LuaNginx {
  port: number; // the proxy server
  internalPort: number; // /configuration/backends
  prefix: string;
  master: number;
  /** GET on the proxy server */
  get(urlPath: string, options?: SendOptions): Promise<Reply>;
  /** POST a body (object: JSON-encoded) to /configuration/backends */
  post(body: unknown, options?: SendOptions): Promise<Reply>;
  /** POST {"backends": list} and insist on 201 */
  push(backends: BackendSpec[]): Promise<{ version: number; changed: number; removed: number }>;
  /** GET /configuration/backends, parsed */
  current(): Promise<{ version: number; backends: (BackendSpec & { version: number })[] }>;
  workers(): Promise<number[]>;
  errorLog(): string;
  stop(): Promise<void>;
}

export interface LuaNginxOptions {
  workers?: number; // worker_processes, default 2
  dictSize?: string; // lua_shared_dict size, default the contract's 64m (tests of a full dict)
  extraHttp?: string; // raw lines for http {} (benchmarks: a static upstream to compare with)
  extraServer?: string; // raw lines for the proxy server {}
  luaDir?: string; // the Lua code to run (benchmarks comparing two versions), default nginx/lua of this checkout
}

function config(
  prefix: string,
  port: number,
  internalPort: number,
  locations: LuaLocation[],
  options: LuaNginxOptions,
): string {
  const quoted = (s: string) => JSON.stringify(s); // the values here are test constants, quoted for nginx
  const locs = locations
    .map((l) =>
      [
        `        location ${l.path} {`,
        `            set $proxy_upstream_name ${quoted(l.backend)};`,
        ...(l.affinity ? ['            rewrite_by_lua_block { require("ingress_templater.balancer").rewrite() }'] : []),
        ...(l.ewma ? ['            log_by_lua_block { require("ingress_templater.balancer").log() }'] : []),
        '            proxy_pass http://upstream_balancer;',
        '        }',
      ].join('\n'),
    )
    .join('\n');
  return `${MODULES.map((m) => `load_module ${m};`).join('\n')}
worker_processes ${options.workers ?? 2};
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log info;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path ${prefix}/tmp/client_body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;

    lua_package_path "${options.luaDir ?? LUA_DIR}/?.lua;;";
    lua_shared_dict ingress_templater ${options.dictSize ?? '64m'};
    init_by_lua_block { require("ingress_templater.balancer") require("ingress_templater.configuration") }
    init_worker_by_lua_block { require("ingress_templater.balancer").init_worker() }
    upstream upstream_balancer {
        server 0.0.0.1; # placeholder, never used
        balancer_by_lua_block { require("ingress_templater.balancer").balance() }
        keepalive 320;
    }
    proxy_next_upstream error timeout;
    proxy_next_upstream_tries 3;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_connect_timeout 2s;

    server {
        # reuseport: the kernel spreads fresh connections over both workers
        listen 127.0.0.1:${port} reuseport;
        add_header X-Worker $pid always;
        error_page 500 =503 @ingress_templater_unavailable;
        location @ingress_templater_unavailable { return 503; }
${locs}
${options.extraServer ?? ''}
    }
${options.extraHttp ?? ''}

    server {
        listen 127.0.0.1:${internalPort};
        location = /configuration/backends {
            client_max_body_size 64m;
            client_body_buffer_size 64m;
            content_by_lua_block { require("ingress_templater.configuration").backends() }
        }
        location / { return 404; }
    }
}
`;
}

function childPids(pid: number): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('ps', ['--ppid', String(pid), '-o', 'pid='], (_err, stdout) => {
      resolve(
        stdout
          .split('\n')
          .map((s) => Number(s.trim()))
          .filter((n) => n > 0)
          .sort((a, b) => a - b),
      );
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

export async function startLuaNginx(locations: LuaLocation[], options: LuaNginxOptions = {}): Promise<LuaNginx> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'it-lua-'));
  fs.chmodSync(prefix, 0o755); // workers may run as nobody
  for (const dir of ['logs', 'tmp']) fs.mkdirSync(path.join(prefix, dir));
  const [port, internalPort] = (await freePorts(2)) as [number, number];
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(conf, config(prefix, port, internalPort, locations, options));

  const child = spawn('nginx', ['-p', prefix, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const errorLog = () => {
    try {
      return fs.readFileSync(path.join(prefix, 'logs', 'error.log'), 'utf8');
    } catch {
      return stderr;
    }
  };

  const stop = async () => {
    if (child.pid && isAlive(child.pid)) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(killer);
    }
    fs.rmSync(prefix, { recursive: true, force: true });
  };

  const post = (body: unknown, o: SendOptions = {}) =>
    send(internalPort, '/configuration/backends', {
      method: 'POST',
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      ...o,
      headers: { host: `127.0.0.1:${internalPort}`, 'content-type': 'application/json', ...o.headers },
    });

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}\n${errorLog()}`);
        const reply = await send(internalPort, '/configuration/backends', { headers: { host: 'localhost' } });
        return reply.status === 200 && (await childPids(child.pid!)).length === (options.workers ?? 2);
      },
      { timeoutMs: 10_000, what: 'nginx and its workers' },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    port,
    internalPort,
    prefix,
    master: child.pid!,
    get: (urlPath, o) => send(port, urlPath, o),
    post,
    push: async (backends) => {
      const reply = await post({ backends });
      if (reply.status !== 201) throw new Error(`push answered ${reply.status}: ${reply.body}`);
      return JSON.parse(reply.body);
    },
    current: async () => {
      const reply = await send(internalPort, '/configuration/backends', { headers: { host: 'localhost' } });
      if (reply.status !== 200) throw new Error(`GET answered ${reply.status}: ${reply.body}`);
      return JSON.parse(reply.body);
    },
    workers: () => childPids(child.pid!),
    errorLog,
    stop,
  };
}

export interface EchoServer {
  name: string;
  address: string;
  port: number;
  endpoint: Endpoint;
  hits: number;
  delayMs: number;
}

export interface EchoGroup {
  servers: EchoServer[];
  endpoints: Endpoint[];
  byName: Map<string, EchoServer>;
  close(): Promise<void>;
}

/** One HTTP server per spec on its own free port; each answers its name (body and X-Pod header). */
export async function startEchoServers(
  specs: { name: string; address: string; delayMs?: number }[],
): Promise<EchoGroup> {
  const servers: EchoServer[] = [];
  const started: http.Server[] = [];
  try {
    for (const spec of specs) {
      if (!/^(127\.\d+\.\d+\.\d+|::1)$/.test(spec.address))
        throw new Error(`backends stay on loopback, not ${spec.address}`);
      const info: EchoServer = {
        name: spec.name,
        address: spec.address,
        port: 0,
        endpoint: { address: spec.address, port: 0 },
        hits: 0,
        delayMs: spec.delayMs ?? 0,
      };
      const server = http.createServer((req, res) => {
        info.hits++;
        req.resume();
        const answer = () => {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-pod': spec.name });
          res.end(spec.name);
        };
        if (info.delayMs > 0) setTimeout(answer, info.delayMs);
        else answer();
      });
      server.keepAliveTimeout = 120_000; // longer than any test: nginx never reuses a closing connection
      started.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: spec.address, port: 0 }, () => resolve());
      });
      info.port = (server.address() as net.AddressInfo).port;
      info.endpoint = { address: spec.address, port: info.port };
      servers.push(info);
    }
  } catch (err) {
    await Promise.all(started.map(closeServer));
    throw err;
  }
  return {
    servers,
    endpoints: servers.map((s) => s.endpoint),
    byName: new Map(servers.map((s) => [s.name, s])),
    close: async () => {
      await Promise.all(started.map(closeServer));
    },
  };
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A loopback port with nothing listening (found free, then released): connections are refused. */
export async function refusedEndpoint(address = '127.0.0.1'): Promise<Endpoint> {
  const [port] = await freePorts(1, address);
  return { address, port: port! };
}

/** `count` requests, at most `parallel` at a time; the replies in order. */
export async function many(count: number, one: (index: number) => Promise<Reply>, parallel = 1): Promise<Reply[]> {
  const out: Reply[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      out[index] = await one(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return out;
}

export function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

export { sleep };

export interface PatchBody {
  backends?: unknown[];
  removed?: string[];
}

/** PATCH a body (object: JSON-encoded) to /configuration/backends */
export function patchBackends(nginx: LuaNginx, body: unknown, options: SendOptions = {}): Promise<Reply> {
  return nginx.post(body, { ...options, method: 'PATCH' });
}

/** PATCH and insist on 201 */
export async function applyPatch(
  nginx: LuaNginx,
  body: PatchBody,
): Promise<{ version: number; changed: number; removed: number }> {
  const reply = await patchBackends(nginx, body);
  if (reply.status !== 201) throw new Error(`patch answered ${reply.status}: ${reply.body}`);
  return JSON.parse(reply.body);
}

/** `count` backends of 10 endpoints each (127.0.x.y, ports 1-10): enough to fill a 1m shared dict */
export function bigBackends(count: number): { name: string; endpoints: { address: string; port: number }[] }[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `big-${i}`,
    endpoints: Array.from({ length: 10 }, (_, j) => ({ address: `127.0.${i >> 8}.${i & 255}`, port: j + 1 })),
  }));
}
