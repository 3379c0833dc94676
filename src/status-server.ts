// The controller's status server: /healthz, /metrics, /status and /backends (JSON).
//
// /status and /backends show every tenant's problems and endpoints, so only the machine itself and the
// kubelet/Prometheus may ask. The model never lets an endpoint name this server (src/model/endpoint-
// policy.ts); as a second layer, a request that comes through a proxy is refused here: nginx adds
// X-Forwarded-*, X-Real-IP and X-Request-ID to every proxied request (and a location whose snippet
// replaced those still sends the client's Host or "upstream_balancer"). Kubelet probes and Prometheus
// scrapes are plain GETs with Host = the address they connected to (pod IP:port, or localhost), none
// of those headers: they pass.
import http from 'node:http';
import net from 'node:net';
import { canonicalAddress, isLoopback } from './model/endpoint-policy.js';

export interface StatusSource {
  ready(): { ok: boolean; reason: string };
  metrics(): string;
  status(): unknown;
  backends(): Promise<unknown>;
}

export interface StatusServerOptions {
  allowedHosts?: string[]; // Host names accepted besides this server's addresses and localhost (a scraper using a DNS name)
  listenAddress?: string; // the address it listens on (0.0.0.0 too: `describe --status-address 0.0.0.0` sends that Host)
}

const PROXY_HEADERS = ['x-real-ip', 'x-request-id', 'forwarded', 'via', 'x-original-uri', 'x-original-url'];

/** Why this request is refused (403), or null: it comes through a proxy, or names another host. */
export function proxiedRequest(req: http.IncomingMessage, options: StatusServerOptions = {}): string | null {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-forwarded-') || PROXY_HEADERS.includes(name))
      return `a proxied request (${name} header) is refused`;
  }
  const host = req.headers.host;
  if (host === undefined) return null; // HTTP/1.0 without Host: nothing names another server
  const match = /^(?:\[([^\]]+)\]|([^:]*))(?::\d{1,5})?$/.exec(host.trim().toLowerCase());
  const name = match ? (match[1] ?? match[2] ?? '') : '';
  if (name === 'localhost' || options.allowedHosts?.includes(name)) return null;
  if (net.isIP(name)) {
    const address = canonicalAddress(name)!;
    const local = req.socket.localAddress ? canonicalAddress(req.socket.localAddress) : null;
    const own =
      options.listenAddress && net.isIP(options.listenAddress) ? canonicalAddress(options.listenAddress) : null;
    if (isLoopback(address) || address === local || address === own) return null;
  }
  return `Host ${JSON.stringify(host)} is not this server's address`;
}

export function startStatusServer(
  host: string,
  port: number,
  options: StatusServerOptions,
  src: StatusSource,
): Promise<http.Server> {
  const serverOptions = { listenAddress: host, ...options };
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const refused = proxiedRequest(req, serverOptions);
    if (refused) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`${refused}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/healthz') {
      const readiness = src.ready();
      res.writeHead(readiness.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${readiness.reason}\n`);
    } else if (url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(src.metrics());
    } else if (url === '/backends') {
      src.backends().then(
        (b) => res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(b, null, 2)}\n`),
        (e: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
      );
    } else if (url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(src.status(), null, 2)}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
