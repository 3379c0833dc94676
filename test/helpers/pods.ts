// Fake pods: one HTTP server per (name, loopback address), all on the same port, as the endpoints of a
// Service share their target port. Each answers JSON naming itself and echoing the request it saw.
// startDelayedPod: one such pod that answers only after a delay.
import http from 'node:http';
import { freePort } from './ports.js';

export interface PodSpec {
  name: string;
  address: string; // 127.0.0.x
}

export interface PodAnswer {
  pod: string;
  address: string;
  port: number;
  path: string; // request URI as the pod saw it
  host: string; // Host header as the pod saw it
  headers: http.IncomingHttpHeaders;
}

export interface Pods {
  port: number;
  specs: PodSpec[];
  /** requests answered so far, by pod name */
  hits: Map<string, number>;
  close(): Promise<void>;
}

function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Start the pods on one port free on every address (given, or found by retrying). */
export async function startPods(specs: PodSpec[], port?: number): Promise<Pods> {
  for (const spec of specs) {
    if (!/^127\.\d+\.\d+\.\d+$/.test(spec.address))
      throw new Error(`pods must listen on loopback, not ${spec.address}`);
  }
  const hits = new Map<string, number>();
  for (let attempt = 0; attempt < 20; attempt++) {
    const podPort = port ?? (await freePort(specs[0]?.address ?? '127.0.0.1'));
    const servers = specs.map((spec) =>
      http.createServer((req, res) => {
        hits.set(spec.name, (hits.get(spec.name) ?? 0) + 1);
        const answer: PodAnswer = {
          pod: spec.name,
          address: spec.address,
          port: podPort,
          path: req.url ?? '',
          host: req.headers.host ?? '',
          headers: req.headers,
        };
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json', 'x-pod': spec.name, connection: 'close' });
        res.end(JSON.stringify(answer));
      }),
    );
    try {
      for (let i = 0; i < servers.length; i++) await listenOn(servers[i]!, specs[i]!.address, podPort);
      return {
        port: podPort,
        specs,
        hits,
        close: async () => {
          await Promise.all(servers.map(closeServer));
        },
      };
    } catch (err) {
      await Promise.all(servers.map(closeServer));
      if (port !== undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error('no port free on all pod addresses');
}

/** One pod that answers only after a delay, and can be closed with answers still pending. */
export interface DelayedPod {
  port: number;
  close(): Promise<void>;
}

/**
 * A pod named `name` on address (a free port there) that answers each request as startPods' pods do, but
 * only delayMs(req) milliseconds after it came: a slow backend (proxy timeouts), or one that holds its
 * connections open (limit-connections). close() drops the answers still pending.
 */
export async function startDelayedPod(
  name: string,
  address: string,
  delayMs: (req: http.IncomingMessage) => number,
): Promise<DelayedPod> {
  const port = await freePort(address);
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const delay = delayMs(req);
    req.resume();
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json', 'x-pod': name, connection: 'close' });
      res.end(
        JSON.stringify({ pod: name, address, port, path: req.url, host: req.headers.host, headers: req.headers }),
      );
    }, delay);
    timers.add(timer);
  });
  await listenOn(server, address, port);
  return {
    port,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      return closeServer(server);
    },
  };
}

/** Pods named prefix-1..count on base.1, base.2, ... e.g. pods('tea', '127.0.0.2', 2) -> 127.0.0.21, 127.0.0.22. */
export function podSpecs(prefix: string, base: string, count: number): PodSpec[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i + 1}`, address: `${base}${i + 1}` }));
}

/** Stops every pod group given, ignoring the ones never started. */
export async function closeAll(...groups: (Pods | undefined)[]): Promise<void> {
  await Promise.all(groups.map((g) => g?.close()));
}
