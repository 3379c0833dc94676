// Backends that record what reached them: HTTP servers on a loopback address, for tests that check which
// requests and headers nginx sent (auth services, error-page backends, apps echoing headers).
import http from 'node:http';
import { freePort } from './ports.js';
import { endpoints, service, type Obj } from './manifests.js';

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[]; // name, value, name, value... as received (every copy of a repeated header)
  body: string;
}

export interface Recorder {
  address: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

/** An HTTP server on a loopback address that records each request and answers as `answer` says. */
export async function serve(address: string, answer: (req: Seen, res: http.ServerResponse) => void): Promise<Recorder> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      };
      seen.push(recorded);
      answer(recorded, res);
    });
  });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort(address);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: address, port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return {
        address,
        port,
        seen,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      };
    } catch (err) {
      // another test took the port between freePort and listen: try another
      if (attempt > 10 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

/** Answers with a JSON body; the connection closes, so each test request is a request of its own. */
export function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * Services app and errors (port 80) for those recorders, and gone, whose only endpoint (an address
 * nothing listens on) is not ready: the setting of the error-page and auth tests.
 */
export function appServices(app: Recorder, errors: Recorder, goneAddress: string): Obj[] {
  return [
    service('app', { ports: [{ port: 80, targetPort: app.port }] }),
    endpoints('app', { ready: [app.address], port: app.port }),
    service('errors', { ports: [{ port: 80, targetPort: errors.port }] }),
    endpoints('errors', { ready: [errors.address], port: errors.port }),
    service('gone', { ports: [{ port: 80, targetPort: app.port }] }),
    endpoints('gone', { ready: [], notReady: [goneAddress], port: app.port }),
  ];
}
