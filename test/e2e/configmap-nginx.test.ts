// The nginx-level ConfigMap keys of issue 13 (model/settings-nginx.ts, model/settings-dhparam.ts) through
// the controller and real nginx: what nginx does with a request, a connection or a TLS handshake. The
// defaults first (ingress-nginx's: text/html, reuseport, underscores dropped, no Server header), then the
// keys set, then reuse-port back on, each a reload of the running nginx.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service, tlsSecret } from '../helpers/manifests.js';
import { serve, type Recorder } from '../helpers/recorder.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const APP = '127.0.88.1';
// two workers, so that reuseport shows as two listening sockets on one address and port
const BASE = { 'allow-snippet-annotations': 'true', 'worker-processes': '2' };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(port: number, host: string, urlPath: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, agent: false, headers: { host, ...headers }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${host}${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Three requests pipelined on one connection (the last asks to close): how many answers come back. */
function answersOnOneConnection(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error('the connection stayed open')));
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text.match(/^HTTP\/1\.1 200 /gm)?.length ?? 0));
    socket.on('error', reject);
    const request = (close: boolean) =>
      `GET / HTTP/1.1\r\nHost: ${host}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
    socket.write(request(false) + request(false) + request(true));
  });
}

/** A TLS 1.2 handshake offering only these ciphers: the cipher agreed on. */
function handshake(port: number, servername: string, ciphers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers,
      timeout: 5000,
    });
    socket.once('secureConnect', () => {
      const cipher = socket.getCipher().standardName ?? socket.getCipher().name;
      socket.end();
      resolve(cipher);
    });
    socket.once('timeout', () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('error', reject);
  });
}

/** Listening TCP sockets on 127.0.0.1:port (/proc/net/tcp): one per worker with reuseport, else one. */
function listeningSockets(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1] === local && fields[3] === '0A';
    }).length;
}

/** An RSA certificate for host (DHE_RSA ciphers need one; the test helpers make ECDSA ones). */
function rsaCert(host: string): { crt: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'it-rsa-'));
  try {
    const [keyFile, crtFile] = [path.join(dir, 'key.pem'), path.join(dir, 'crt.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        crtFile,
        '-days',
        '2',
        '-subj',
        `/CN=${host}`,
        '-addext',
        `subjectAltName=DNS:${host}`,
      ],
      { stdio: 'ignore' },
    );
    return { crt: fs.readFileSync(crtFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('e2e: nginx-level ConfigMap keys (default-type, keep-alive-requests, headers, reuse-port, ssl-dh-param)', function () {
  this.timeout(120_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let recorder: Recorder;
  const accessLog = () => fs.readFileSync(path.join(ctl!.prefix, 'logs', 'access.log'), 'utf8');

  /** Rewrite the settings ConfigMap and wait until nginx runs the config made from it and `ready` holds. */
  async function reconfigure(data: Record<string, string>, ready: () => Promise<boolean>): Promise<void> {
    const reloads = await ctl!.metric('reloads_total');
    manifests.write('settings.yaml', configMap('settings', NS, { ...BASE, ...data }));
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(ready, { timeoutMs: 10_000, what: 'the new settings in effect' });
  }

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('configmap-nginx');
    // the app says which request headers reached it, and sends a Server header and two of its own
    recorder = await serve(APP, (req, res) =>
      res
        .writeHead(200, {
          'Content-Type': 'application/json',
          Server: 'backend-app/1.0',
          'X-Powered-By': 'app-framework',
          'X-Version': '7',
        })
        .end(JSON.stringify(req.headers)),
    );
    const cert = rsaCert('site.test');
    const dhparam = execFileSync(
      'openssl',
      ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048'],
      {
        encoding: 'utf8',
      },
    );
    manifests.write('app.yaml', [
      service('app', { ports: [{ port: 80, targetPort: recorder.port }] }),
      endpoints('app', { ready: [APP], port: recorder.port }),
      tlsSecret('site-tls', cert.crt, cert.key),
      // as ingress-nginx's docs/examples/customization/ssl-dh-param: a Secret with the key dhparam.pem
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'lb-dhparam', namespace: NS },
        data: { 'dhparam.pem': Buffer.from(dhparam).toString('base64') },
      },
      ingress('site', {
        host: 'site.test',
        tls: [{ hosts: ['site.test'], secretName: 'site-tls' }],
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}ssl-redirect`]: 'false' },
      }),
      // an answer nginx makes itself: its Content-Type is default_type's
      ingress('made', {
        host: 'made.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}configuration-snippet`]: 'return 200 "made by nginx";' },
      }),
    ]);
    manifests.write('settings.yaml', configMap('settings', NS, BASE));
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await recorder?.close();
      manifests?.cleanup();
    },
  );

  describe("without the keys: ingress-nginx's defaults", () => {
    it('default-type: an answer nginx makes (return 200 "text") is text/html', async () => {
      const reply = await get(ctl!.ports.http, 'made.test', '/');
      assert.equal(reply.body, 'made by nginx');
      assert.equal(reply.headers['content-type'], 'text/html');
    });

    // ingress-nginx test/e2e/settings/reuse-port.go "reuse port should be enabled by default"
    it('reuse-port: each worker has a listening socket of its own on the HTTP and HTTPS ports', () => {
      assert.equal(listeningSockets(ctl!.ports.http), 2);
      assert.equal(listeningSockets(ctl!.ports.https), 2);
    });

    it('keep-alive-requests (1000): three requests on one connection are all answered', async () => {
      assert.equal(await answersOnOneConnection(ctl!.ports.http, 'site.test'), 3);
    });

    it('no Server header, neither nginx nor the backend; the backend headers pass', async () => {
      const reply = await get(ctl!.ports.http, 'site.test', '/');
      assert.equal(reply.headers.server, undefined);
      assert.equal(reply.headers['x-powered-by'], 'app-framework');
      assert.equal(reply.headers['x-version'], '7');
    });

    it('a request header with an underscore does not reach the backend', async () => {
      const reply = await get(ctl!.ports.http, 'site.test', '/', { X_Custom_Header: 'under', 'X-Dashed': 'dash' });
      const seen = JSON.parse(reply.body) as Record<string, string>;
      assert.equal(seen['x-dashed'], 'dash');
      assert.equal(seen.x_custom_header, undefined);
    });

    it('TLS 1.2: no DHE cipher without ssl-dh-param (nginx has no DH parameters)', async () => {
      assert.equal(
        await handshake(ctl!.ports.https, 'site.test', 'ECDHE-RSA-AES128-GCM-SHA256'),
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      );
      await assert.rejects(handshake(ctl!.ports.https, 'site.test', 'DHE-RSA-AES128-GCM-SHA256'), /alert|handshake/i);
    });

    it('a TLS client naming a host no server has gets the default certificate', async () => {
      assert.match(
        await handshake(ctl!.ports.https, 'nobody.test', 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256'),
        /^TLS_ECDHE_/,
      );
    });
  });

  describe('with the keys', () => {
    before(async () => {
      await reconfigure(
        {
          'default-type': 'text/plain',
          'keep-alive-requests': '2',
          'hide-headers': 'X-Powered-By',
          'allow-backend-server-header': 'true',
          'enable-underscores-in-headers': 'true',
          'ssl-dh-param': `${NS}/lb-dhparam`,
          'skip-access-log-urls': '/skipped',
          'reuse-port': 'false',
          'ssl-reject-handshake': 'true',
        },
        async () => (await get(ctl!.ports.http, 'made.test', '/')).headers['content-type'] === 'text/plain',
      );
    });

    it('default-type: the answer nginx makes takes its type', async () => {
      const reply = await get(ctl!.ports.http, 'made.test', '/');
      assert.equal(reply.headers['content-type'], 'text/plain');
      assert.equal(reply.body, 'made by nginx');
    });

    // ingress-nginx test/e2e/settings/keep-alive.go "should set keepalive_requests"
    it('keep-alive-requests "2": nginx closes the connection after two requests', async () => {
      assert.equal(await answersOnOneConnection(ctl!.ports.http, 'site.test'), 2);
    });

    it('hide-headers: X-Powered-By is dropped, the other backend headers pass', async () => {
      const reply = await get(ctl!.ports.http, 'site.test', '/');
      assert.equal(reply.headers['x-powered-by'], undefined);
      assert.equal(reply.headers['x-version'], '7');
    });

    it("allow-backend-server-header: the backend's Server header passes; nginx's own answers have none", async () => {
      assert.equal((await get(ctl!.ports.http, 'site.test', '/')).headers.server, 'backend-app/1.0');
      const own = await get(ctl!.ports.http, 'nobody.test', '/');
      assert.equal(own.status, 404);
      assert.equal(own.headers.server, undefined);
    });

    it('enable-underscores-in-headers: a header with an underscore reaches the backend', async () => {
      const reply = await get(ctl!.ports.http, 'site.test', '/', { X_Custom_Header: 'under' });
      assert.equal((JSON.parse(reply.body) as Record<string, string>).x_custom_header, 'under');
    });

    it('ssl-dh-param: a TLS 1.2 client offering only DHE gets it; the parameters are a 0600 file', async () => {
      assert.equal(
        await handshake(ctl!.ports.https, 'site.test', 'DHE-RSA-AES128-GCM-SHA256'),
        'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
      );
      const files = fs.readdirSync(path.join(ctl!.prefix, 'files')).filter((name) => name.startsWith('dhparam-'));
      assert.equal(files.length, 1);
      assert.equal(fs.statSync(path.join(ctl!.prefix, 'files', files[0]!)).mode & 0o777, 0o600);
    });

    it('ssl-reject-handshake: a TLS client naming a host no server has is refused; site.test is served', async () => {
      await assert.rejects(
        handshake(ctl!.ports.https, 'nobody.test', 'ECDHE-RSA-AES128-GCM-SHA256'),
        /alert|handshake/i,
      );
      assert.equal(
        await handshake(ctl!.ports.https, 'site.test', 'ECDHE-RSA-AES128-GCM-SHA256'),
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      );
    });

    it('skip-access-log-urls: that URI leaves no access log line, another does', async () => {
      await get(ctl!.ports.http, 'site.test', '/skipped');
      await get(ctl!.ports.http, 'site.test', '/logged');
      await ctl!.waitFor(async () => accessLog().includes('/logged'), { timeoutMs: 5000, what: 'the logged line' });
      assert.doesNotMatch(accessLog(), /\/skipped/);
    });

    // ingress-nginx test/e2e/settings/reuse-port.go "reuse port should be disabled"
    it('reuse-port "false": one listening socket, shared by the workers, after a reload', () => {
      assert.equal(listeningSockets(ctl!.ports.http), 1);
      assert.equal(listeningSockets(ctl!.ports.https), 1);
    });
  });

  // after the keys' suite (mocha runs a suite's own cases before its nested suites)
  describe('reuse-port back on', () => {
    // ingress-nginx test/e2e/settings/reuse-port.go "reuse port should be enabled"
    it('reuse-port "true" again: a socket per worker after the reload, and requests are served', async () => {
      await reconfigure({ 'reuse-port': 'true' }, async () => listeningSockets(ctl!.ports.http) === 2);
      assert.equal(listeningSockets(ctl!.ports.https), 2);
      for (let attempt = 0; attempt < 6; attempt++)
        assert.equal((await get(ctl!.ports.http, 'site.test', '/')).status, 200, `request ${attempt}`);
    });
  });
});
