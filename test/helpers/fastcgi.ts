// A FastCGI responder for the tests, written from the FastCGI 1.0 specification: it answers every request
// with a JSON document of the parameters nginx sent (and the request body's length), so a test reads what a
// PHP-FPM behind backend-protocol FCGI would have been given. Listens on loopback only.
import net from 'node:net';

const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;

export interface FastCgiServer {
  port: number;
  /** the parameters of every request answered, oldest first */
  seen: Record<string, string>[];
  close(): Promise<void>;
}

function record(type: number, requestId: number, content: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(1, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(requestId, 2);
  header.writeUInt16BE(content.length, 4);
  return Buffer.concat([header, content]);
}

/** Name-value pairs: each length in one byte below 128, else four with the high bit set. */
function readPairs(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  const length = () => {
    const first = data.readUInt8(at);
    if (first < 128) {
      at += 1;
      return first;
    }
    const long = data.readUInt32BE(at) & 0x7fffffff;
    at += 4;
    return long;
  };
  while (at < data.length) {
    const nameLength = length();
    const valueLength = length();
    const name = data.subarray(at, at + nameLength).toString('latin1');
    at += nameLength;
    out[name] = data.subarray(at, at + valueLength).toString('latin1');
    at += valueLength;
  }
  return out;
}

export async function startFastCgi(address: string): Promise<FastCgiServer> {
  if (!address.startsWith('127.')) throw new Error(`FastCGI test server stays on loopback, not ${address}`);
  const seen: Record<string, string>[] = [];
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let params = Buffer.alloc(0);
    let bodyLength = 0;
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 8) {
        const type = buffer.readUInt8(1);
        const requestId = buffer.readUInt16BE(2);
        const contentLength = buffer.readUInt16BE(4);
        const padding = buffer.readUInt8(6);
        if (buffer.length < 8 + contentLength + padding) return;
        const content = buffer.subarray(8, 8 + contentLength);
        buffer = buffer.subarray(8 + contentLength + padding);
        if (type === BEGIN_REQUEST) continue;
        if (type === PARAMS) params = Buffer.concat([params, content]);
        if (type === STDIN && contentLength > 0) bodyLength += contentLength;
        if (type === STDIN && contentLength === 0) {
          const received = readPairs(params);
          seen.push(received);
          const body = JSON.stringify({ params: received, bodyLength });
          const head = 'Status: 200 OK\r\nContent-Type: application/json\r\nX-Answered-By: fastcgi\r\n\r\n';
          const end = Buffer.alloc(8); // application status 0, request complete
          socket.end(
            Buffer.concat([
              record(STDOUT, requestId, Buffer.from(head + body)),
              record(STDOUT, requestId, Buffer.alloc(0)),
              record(END_REQUEST, requestId, end),
            ]),
          );
        }
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
