// WebSockets through real nginx, as ingress-nginx's documentation promises them ("supported out of the box,
// no special configuration", docs/user-guide/miscellaneous.md; the idle limit is proxy-read-timeout /
// proxy-send-timeout): a real RFC 6455 opening handshake from a raw TCP client, masked frames from the client,
// echoed frames from the backend, over HTTP and over TLS (wss), and an idle connection closed by nginx after the
// Ingress's proxy-read-timeout while a busy one lives on.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, ingress, tlsSecret } from '../helpers/manifests.js';
import { freePort } from '../helpers/ports.js';
import { makeCert } from '../helpers/resources.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const HOST = 'ws.example.com';
const SECURE = 'wss.example.com';
const IDLE = 'idle.ws.example.com'; // proxy-read-timeout: 2
const POD_ADDRESS = '127.0.0.91';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455, section 1.3

const acceptFor = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

/** One WebSocket frame (FIN set, text opcode), masked as a client must send it; payloads under 126 bytes. */
function frame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('short frames only');
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([head, key, masked]);
}

/** The frames in a buffer (unfragmented, short): opcode and unmasked text; null when incomplete. */
function readFrames(buffer: Buffer): { opcode: number; text: string }[] | null {
  const frames: { opcode: number; text: string }[] = [];
  let at = 0;
  while (at < buffer.length) {
    if (buffer.length < at + 2) return null;
    const masked = (buffer[at + 1]! & 0x80) !== 0;
    const length = buffer[at + 1]! & 0x7f;
    const start = at + 2 + (masked ? 4 : 0);
    if (length > 125 || buffer.length < start + length) return null;
    let payload = buffer.subarray(start, start + length);
    if (masked) {
      const key = buffer.subarray(at + 2, at + 6);
      payload = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
    }
    frames.push({ opcode: buffer[at]! & 0x0f, text: payload.toString() });
    at = start + length;
  }
  return frames;
}

/** A WebSocket echo pod: completes the handshake and answers each text frame with "echo: TEXT". */
async function startEchoPod(address: string): Promise<{ port: number; upgrades: number; close(): Promise<void> }> {
  const port = await freePort(address);
  const sockets = new Set<net.Socket>();
  const state = { upgrades: 0 };
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { connection: 'close' });
    res.end('websocket only');
  });
  server.on('upgrade', (req, socket: net.Socket) => {
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    state.upgrades++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
    );
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const frames = readFrames(pending);
      if (frames === null) return;
      pending = Buffer.alloc(0);
      for (const received of frames) {
        if (received.opcode === 0x8) socket.end(Buffer.from([0x88, 0]));
        else socket.write(frame(`echo: ${received.text}`, false));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: address, port }, resolve));
  return {
    port,
    get upgrades() {
      return state.upgrades;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client side of one WebSocket: the handshake's answer, then send/receive of text frames. */
class Client {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  closedAt = 0;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async until<T>(take: () => T | null, what: string, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const taken = take();
      if (taken !== null) return taken;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends the opening handshake for host/path and reads the answer's head. */
  async handshake(host: string, path: string): Promise<{ status: number; headers: Map<string, string> }> {
    const key = randomBytes(16).toString('base64');
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await this.until(() => {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const text = this.buffer.subarray(0, end).toString();
      this.buffer = this.buffer.subarray(end + 4);
      return text;
    }, 'handshake answer');
    const [statusLine, ...lines] = head.split('\r\n');
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const status = Number(statusLine?.split(' ')[1]);
    if (status === 101) assert.equal(headers.get('sec-websocket-accept'), acceptFor(key));
    return { status, headers };
  }

  async exchange(text: string): Promise<string> {
    this.socket.write(frame(text, true));
    const frames = await this.until(() => {
      const read = readFrames(this.buffer);
      if (read === null || read.length === 0) return null;
      this.buffer = Buffer.alloc(0);
      return read;
    }, `echo of "${text}"`);
    return frames.map((received) => received.text).join('|');
  }

  async waitClosed(timeoutMs: number): Promise<void> {
    await this.until(() => null, 'never', timeoutMs).catch((err: Error) => {
      if (!this.closed) throw err;
    });
  }

  end(): void {
    this.socket.destroy();
  }
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new Client(socket)));
    socket.once('error', reject);
  });
}

function connectTls(port: number, servername: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    // the test's own self-signed certificate: the handshake's name check is what matters here, not the chain
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      assert.equal(socket.getPeerCertificate().subject?.CN, servername);
      resolve(new Client(socket));
    });
    socket.once('error', reject);
  });
}

describe('e2e: WebSockets through nginx as ingress-nginx passed them', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pod: Awaited<ReturnType<typeof startEchoPod>>;
  const clients: Client[] = [];

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('websocket');
    pod = await startEchoPod(POD_ADDRESS);
    const cert = makeCert([SECURE]);
    manifests.write(
      'service.yaml',
      backend('echo', { port: pod.port, specs: [{ name: 'echo', address: POD_ADDRESS }] }),
    );
    manifests.write('secret.yaml', tlsSecret('wss-tls', cert.crt, cert.key));
    manifests.write('ingresses.yaml', [
      // no annotation at all: the documentation's promise
      ingress('ws', { host: HOST, paths: [{ path: '/', service: 'echo' }] }),
      ingress('wss', {
        host: SECURE,
        tls: [{ hosts: [SECURE], secretName: 'wss-tls' }],
        paths: [{ path: '/', service: 'echo' }],
      }),
      ingress('idle', {
        host: IDLE,
        annotations: { [`${ANNOTATION}proxy-read-timeout`]: '2', [`${ANNOTATION}proxy-send-timeout`]: '2' },
        paths: [{ path: '/', service: 'echo' }],
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.end();
  });

  stopAfter(
    () => ctl,
    async () => {
      await pod?.close();
      manifests?.cleanup();
    },
  );

  const open = async (connector: () => Promise<Client>) => {
    const client = await connector();
    clients.push(client);
    return client;
  };

  it('upgrades a plain HTTP connection and carries frames both ways, without any annotation', async function () {
    const before = pod.upgrades;
    const client = await open(() => connect(ctl!.ports.http));
    const answer = await client.handshake(HOST, '/chat?room=1');
    assert.equal(answer.status, 101);
    assert.equal(answer.headers.get('upgrade')?.toLowerCase(), 'websocket');
    assert.equal(pod.upgrades, before + 1);
    assert.equal(await client.exchange('hello'), 'echo: hello');
    assert.equal(await client.exchange('again'), 'echo: again');
  });

  it('upgrades over TLS (wss) on the HTTPS port with the host certificate', async function () {
    const client = await open(() => connectTls(ctl!.ports.https, SECURE));
    assert.equal((await client.handshake(SECURE, '/')).status, 101);
    assert.equal(await client.exchange('secure'), 'echo: secure');
  });

  it('a plain request to the same location is an ordinary request (the backend says 426)', async function () {
    const reply = await ctl!.http(HOST, '/chat');
    assert.equal(reply.status, 426);
  });

  it('proxy-read-timeout bounds an idle WebSocket; traffic keeps it open', async function () {
    this.timeout(30_000);
    const busy = await open(() => connect(ctl!.ports.http));
    const idle = await open(() => connect(ctl!.ports.http));
    assert.equal((await busy.handshake(IDLE, '/')).status, 101);
    assert.equal((await idle.handshake(IDLE, '/')).status, 101);
    const opened = Date.now();
    // the busy one talks every 0.5 s for longer than the timeout
    for (let i = 0; i < 8; i++) {
      assert.equal(await busy.exchange(`tick ${i}`), `echo: tick ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(busy.closed, false, 'a WebSocket with traffic stays open past proxy-read-timeout');
    await idle.waitClosed(10_000);
    assert.ok(idle.closed, 'the idle WebSocket is closed by nginx');
    // closed after the 2 s timeout, not at once (and the default, 60 s, would not have closed it by now)
    assert.ok(idle.closedAt - opened >= 1500, `closed after ${idle.closedAt - opened} ms`);
    // the default host's connection has the default timeout: still usable
    const lasting = await open(() => connect(ctl!.ports.http));
    assert.equal((await lasting.handshake(HOST, '/')).status, 101);
    assert.equal(await lasting.exchange('still here'), 'echo: still here');
  });
});
