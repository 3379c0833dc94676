// The controller's status server: /healthz, /metrics, /status and /backends (JSON).
import http from 'node:http';

export interface StatusSource {
  ready(): { ok: boolean; reason: string };
  metrics(): string;
  status(): unknown;
  backends(): Promise<unknown>;
}

export function startStatusServer(host: string, port: number, src: StatusSource): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/healthz') {
      const r = src.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${r.reason}\n`);
    } else if (url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(src.metrics());
    } else if (url === '/backends') {
      src.backends().then(
        (b) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(b, null, 2) + '\n'),
        (e: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
      );
    } else if (url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(src.status(), null, 2) + '\n');
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
