// Free TCP ports on loopback, found by letting the kernel pick (bind port 0); connect checks on this machine's own addresses.
import net from 'node:net';
import os from 'node:os';

function listen(host: string, port: number, onConnection?: (socket: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onConnection);
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

const close = (s: net.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

/** One free port on host (default 127.0.0.1). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return (await freePorts(1, host))[0]!;
}

/** `count` distinct free ports: all are held open until every one is known, so none repeats. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(host, 0));
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** Hold host:port as another process would, accepting and dropping every connection (nginx cannot bind it). */
export function holdPort(port: number, host = '127.0.0.1'): Promise<net.Server> {
  return listen(host, port, (s) => s.destroy());
}

/**
 * Try a TCP connection and close it at once: 'connected', or the error code (ECONNREFUSED...). Only for
 * addresses of this machine: tests never send traffic off it.
 */
export function tryConnect(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done('ETIMEDOUT'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/** A non-loopback IPv4 address of this machine (from its own interfaces), or undefined if it has none. */
export function localNonLoopbackIPv4(): string | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const info of addrs ?? []) {
      if (info.family === 'IPv4' && !info.internal && !info.address.startsWith('127.')) return info.address;
    }
  }
  return undefined;
}
