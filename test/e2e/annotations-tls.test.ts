// e2e: the TLS annotations through real nginx with real TLS. Certificates are made with openssl for the
// run (a CA, a second "wrong" CA, a backend certificate, client certificates); backends are node HTTPS
// and HTTP/2 servers on 127.0.40.x: an HTTPS backend reached with backend-protocol HTTPS and proxy-ssl-*
// (verified, with a client certificate; a wrong CA gives 502), gRPC backends (h2c and TLS) reached with
// backend-protocol GRPC/GRPCS by a real gRPC exchange (HTTP/2, length-prefixed message, grpc-status
// trailer), force-ssl-redirect, HSTS from the ConfigMap, auth-tls client certificates (400 without one,
// 200 with one, optional), and invalid values denied with 503 and reported.
import assert from 'node:assert/strict';
import { tlsRequest, type TlsReply } from '../helpers/http.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type PodAnswer, type Pods } from '../helpers/pods.js';
import { freePort } from '../helpers/ports.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const BACKEND_NAME = 'backend.test'; // the name in the HTTPS backend's certificate
const HTTPS_ADDR = '127.0.40.1';
const GRPC_ADDR = '127.0.40.2';
const GRPCS_ADDR = '127.0.40.3';
const POD_ADDR = '127.0.40.4';
const HTTPS13_ADDR = '127.0.40.5'; // an HTTPS backend that speaks TLS 1.3 only

// ---- certificates ----

interface Pem {
  cert: string;
  key: string;
}

class Pki {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-pki-'));
  private issued = 0;

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  private read(name: string): string {
    return fs.readFileSync(path.join(this.dir, name), 'utf8');
  }

  ca(cn: string): Pem & { id: string } {
    const id = `ca${++this.issued}`;
    this.openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/O=e2e/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      `${id}.key`,
      '-out',
      `${id}.crt`,
    ]);
    return { id, cert: this.read(`${id}.crt`), key: this.read(`${id}.key`) };
  }

  /** A certificate signed by ca: for a server (SANs) or a client (CN only). */
  issue(ca: { id: string }, cn: string, options: { dns?: string[]; ips?: string[]; client?: boolean } = {}): Pem {
    const id = `leaf${++this.issued}`;
    this.openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/O=e2e/CN=${cn}`,
      '-keyout',
      `${id}.key`,
      '-out',
      `${id}.csr`,
    ]);
    const san = [...(options.dns ?? []).map((d) => `DNS:${d}`), ...(options.ips ?? []).map((i) => `IP:${i}`)];
    const ext = [
      `extendedKeyUsage=${options.client ? 'clientAuth' : 'serverAuth'}`,
      ...(san.length ? [`subjectAltName=${san.join(',')}`] : []),
    ];
    fs.writeFileSync(path.join(this.dir, `${id}.ext`), `${ext.join('\n')}\n`);
    this.openssl([
      'x509',
      '-req',
      '-in',
      `${id}.csr`,
      '-CA',
      `${ca.id}.crt`,
      '-CAkey',
      `${ca.id}.key`,
      '-set_serial',
      String(1000 + this.issued),
      '-days',
      '2',
      '-extfile',
      `${id}.ext`,
      '-out',
      `${id}.crt`,
    ]);
    return { cert: this.read(`${id}.crt`), key: this.read(`${id}.key`) };
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function secret(name: string, data: Record<string, string>, type = 'Opaque') {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: { name, namespace: NS },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

// ---- backends ----

/** What the HTTPS backend saw: the TLS name nginx sent (SNI) and the client certificate it presented. */
interface HttpsAnswer {
  backend: 'https';
  sni: string | null;
  clientCN: string | null;
  host: string;
  path: string;
}

function listen(
  server: https.Server | http2.Http2Server | http2.Http2SecureServer,
  host: string,
  port: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
}

function close(server: https.Server | http2.Http2Server | http2.Http2SecureServer | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!server?.listening) return resolve();
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}

function httpsBackend(pem: Pem, options: https.ServerOptions = {}): https.Server {
  // asks for a client certificate without requiring one, and reports what it got
  return https.createServer(
    { cert: pem.cert, key: pem.key, requestCert: true, rejectUnauthorized: false, ...options },
    (req, res) => {
      const socket = req.socket as TLSSocket & { servername?: string | false };
      const peer = socket.getPeerCertificate();
      const answer: HttpsAnswer = {
        backend: 'https',
        sni: typeof socket.servername === 'string' ? socket.servername : null,
        clientCN: peer?.subject ? (peer.subject.CN ?? null) : null,
        host: req.headers.host ?? '',
        path: req.url ?? '',
      };
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(answer));
    },
  );
}

/** A gRPC message: compressed flag 0, 4-byte big-endian length, the bytes. */
function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

interface GrpcAnswer {
  backend: string;
  host: string; // the request's host: nginx sends it as a host header (grpc_set_header Host), not :authority
  path: string;
  message: string;
  forwardedProto: string | null;
}

/** A unary gRPC handler: echoes the request message and what it saw, then grpc-status 0 as a trailer. */
function grpcHandler(name: string) {
  return (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const ok =
        headers['content-type'] === 'application/grpc' && body.length >= 5 && body.readUInt32BE(1) === body.length - 5;
      const answer: GrpcAnswer = {
        backend: name,
        host: String(headers.host ?? headers[':authority'] ?? ''),
        path: String(headers[':path'] ?? ''),
        message: ok ? body.subarray(5).toString('utf8') : '(not a gRPC request)',
        forwardedProto: typeof headers['x-forwarded-proto'] === 'string' ? headers['x-forwarded-proto'] : null,
      };
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers(
          ok ? { 'grpc-status': '0', 'grpc-message': 'OK' } : { 'grpc-status': '3', 'grpc-message': 'bad request' },
        ),
      );
      stream.end(grpcFrame(Buffer.from(JSON.stringify(answer))));
    });
  };
}

// ---- clients ----

interface GrpcReply {
  status: number;
  trailers: http2.IncomingHttpHeaders;
  answer: GrpcAnswer | null;
}

/** A unary gRPC call through nginx's HTTPS port (HTTP/2 by ALPN), with SNI and :authority = host. */
async function grpcCall(port: number, host: string, method: string, message: string): Promise<GrpcReply> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { servername: host, rejectUnauthorized: false });
  try {
    return await new Promise<GrpcReply>((resolve, reject) => {
      session.on('error', reject);
      const req = session.request({
        ':method': 'POST',
        ':path': method,
        ':authority': host,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      let status = 0;
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        status = Number(h[':status']);
      });
      req.on('trailers', (t) => {
        trailers = t;
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.setTimeout(5000, () =>
        req.close(http2.constants.NGHTTP2_CANCEL, () => reject(new Error(`gRPC ${host}${method} timed out`))),
      );
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let answer: GrpcAnswer | null = null;
        if (body.length >= 5 && body.readUInt32BE(1) === body.length - 5)
          answer = JSON.parse(body.subarray(5).toString('utf8')) as GrpcAnswer;
        resolve({ status, trailers, answer });
      });
      req.end(grpcFrame(Buffer.from(message)));
    });
  } finally {
    session.close();
  }
}

const pod = (r: TlsReply) => r.json as PodAnswer;

// ---- the suite ----

const HOSTS = {
  https: 'https-backend.tls.test',
  wrongCa: 'wrong-ca.tls.test',
  noVerify: 'no-verify.tls.test',
  grpc: 'grpc.tls.test',
  grpcs: 'grpcs.tls.test',
  emptyHttps: 'empty-https.tls.test', // HTTPS and gRPC backends without endpoints
  emptyGrpc: 'empty-grpc.tls.test',
  force: 'force.tls.test',
  plain: 'plain.tls.test',
  hsts: 'hsts.tls.test',
  mtls: 'mtls.tls.test',
  optional: 'optional.tls.test',
  verifyOff: 'verify-off.tls.test', // auth-tls-secret with auth-tls-verify-client off
  tls12: 'tls12.tls.test', // proxy-ssl-protocols TLSv1.2 to the TLS 1.3-only backend
  tls13: 'tls13.tls.test', // proxy-ssl-protocols TLSv1.3 to it
  bad: 'bad.tls.test',
};

describe('e2e: TLS annotations (backend-protocol, proxy-ssl, auth-tls, force-ssl-redirect, HSTS)', function () {
  let manifests: ManifestDir;
  let pki: Pki;
  let ctl: RunningController | undefined;
  let pods: Pods | undefined;
  let httpsServer: https.Server | undefined;
  let https13Server: https.Server | undefined;
  let grpcServer: http2.Http2Server | undefined;
  let grpcsServer: http2.Http2SecureServer | undefined;
  let httpsPort = 0,
    https13Port = 0,
    grpcPort = 0,
    grpcsPort = 0;
  let client: Pem, strangerClient: Pem, nginxClient: Pem;

  before(async function () {
    this.timeout(60_000);
    pki = new Pki();
    const ca = pki.ca('e2e CA');
    const wrongCa = pki.ca('e2e other CA');
    const backendCert = pki.issue(ca, BACKEND_NAME, { dns: [BACKEND_NAME], ips: [HTTPS_ADDR, GRPCS_ADDR] });
    nginxClient = pki.issue(ca, 'nginx-as-client', { client: true });
    client = pki.issue(ca, 'alice', { client: true });
    strangerClient = pki.issue(wrongCa, 'mallory', { client: true });

    httpsPort = await freePort(HTTPS_ADDR);
    httpsServer = httpsBackend(backendCert);
    await listen(httpsServer, HTTPS_ADDR, httpsPort);
    https13Port = await freePort(HTTPS13_ADDR);
    https13Server = httpsBackend(backendCert, { minVersion: 'TLSv1.3' });
    await listen(https13Server, HTTPS13_ADDR, https13Port);
    grpcPort = await freePort(GRPC_ADDR);
    grpcServer = http2.createServer();
    grpcServer.on('stream', grpcHandler('grpc'));
    await listen(grpcServer, GRPC_ADDR, grpcPort);
    grpcsPort = await freePort(GRPCS_ADDR);
    grpcsServer = http2.createSecureServer({ cert: backendCert.cert, key: backendCert.key });
    grpcsServer.on('stream', grpcHandler('grpcs'));
    await listen(grpcsServer, GRPCS_ADDR, grpcsPort);
    pods = await startPods([{ name: 'tls-pod', address: POD_ADDR }]);

    manifests = new ManifestDir('annotations-tls');
    const svc = (name: string, address: string, port: number) => [
      service(name, { ports: [{ port: 443, targetPort: port }] }),
      endpoints(name, { ready: [address], port }),
    ];
    manifests.write('services.yaml', [
      ...svc('https-svc', HTTPS_ADDR, httpsPort),
      ...svc('https13-svc', HTTPS13_ADDR, https13Port),
      ...svc('grpc-svc', GRPC_ADDR, grpcPort),
      ...svc('grpcs-svc', GRPCS_ADDR, grpcsPort),
      ...backend('pod-svc', pods),
      service('empty-svc', { ports: [{ port: 443, targetPort: 443 }] }),
      endpoints('empty-svc', { ready: [], port: 443 }),
    ]);
    manifests.write('secrets.yaml', [
      // the CA of the backends' certificates, and the client certificate nginx shows them
      secret('backend-ca', { 'ca.crt': ca.cert, 'tls.crt': nginxClient.cert, 'tls.key': nginxClient.key }),
      secret('other-ca', { 'ca.crt': wrongCa.cert }),
      // the CA client certificates must chain to
      secret('client-ca', { 'ca.crt': ca.cert }),
    ]);
    manifests.write('settings.yaml', configMap('tls-settings', NS, {}));
    const ing = (
      name: string,
      host: string,
      annotations: Record<string, string>,
      svcName: string,
      o: { tls?: boolean; path?: string; port?: number } = {},
    ) =>
      ingress(name, {
        host,
        annotations,
        ...(o.tls ? { tls: [{ hosts: [host] }] } : {}),
        paths: [{ path: o.path ?? '/', service: svcName, port: o.port ?? (svcName === 'pod-svc' ? 80 : 443) }],
      });
    const verified = {
      [`${ANNOTATION}backend-protocol`]: 'HTTPS',
      [`${ANNOTATION}proxy-ssl-secret`]: `${NS}/backend-ca`,
      [`${ANNOTATION}proxy-ssl-verify`]: 'on',
      [`${ANNOTATION}proxy-ssl-name`]: BACKEND_NAME,
      [`${ANNOTATION}proxy-ssl-server-name`]: 'on',
    };
    manifests.write(
      'ingresses.yaml',
      [
        ing('https-verified', HOSTS.https, verified, 'https-svc'),
        ing(
          'https-wrong-ca',
          HOSTS.wrongCa,
          { ...verified, [`${ANNOTATION}proxy-ssl-secret`]: `${NS}/other-ca` },
          'https-svc',
        ),
        ing('https-no-verify', HOSTS.noVerify, { [`${ANNOTATION}backend-protocol`]: 'https' }, 'https-svc'),
        ing('grpc', HOSTS.grpc, { [`${ANNOTATION}backend-protocol`]: 'GRPC' }, 'grpc-svc', {
          tls: true,
          path: '/echo.Echo',
        }),
        ing(
          'grpcs',
          HOSTS.grpcs,
          {
            [`${ANNOTATION}backend-protocol`]: 'GRPCS',
            [`${ANNOTATION}proxy-ssl-secret`]: `${NS}/backend-ca`,
            [`${ANNOTATION}proxy-ssl-verify`]: 'on',
            [`${ANNOTATION}proxy-ssl-name`]: BACKEND_NAME,
          },
          'grpcs-svc',
          { tls: true, path: '/echo.Echo' },
        ),
        ing('empty-https', HOSTS.emptyHttps, { [`${ANNOTATION}backend-protocol`]: 'HTTPS' }, 'empty-svc'),
        ing('empty-grpc', HOSTS.emptyGrpc, { [`${ANNOTATION}backend-protocol`]: 'GRPC' }, 'empty-svc', {
          tls: true,
          path: '/echo.Echo',
        }),
        ing('force', HOSTS.force, { [`${ANNOTATION}force-ssl-redirect`]: 'true' }, 'pod-svc'),
        ing('plain', HOSTS.plain, {}, 'pod-svc'),
        ing('hsts', HOSTS.hsts, { [`${ANNOTATION}ssl-redirect`]: 'false' }, 'pod-svc', { tls: true }),
        ing(
          'mtls',
          HOSTS.mtls,
          {
            [`${ANNOTATION}auth-tls-secret`]: `${NS}/client-ca`,
            [`${ANNOTATION}auth-tls-pass-certificate-to-upstream`]: 'true',
          },
          'pod-svc',
          { tls: true },
        ),
        ing(
          'mtls-optional',
          HOSTS.optional,
          { [`${ANNOTATION}auth-tls-secret`]: `${NS}/client-ca`, [`${ANNOTATION}auth-tls-verify-client`]: 'optional' },
          'pod-svc',
          { tls: true },
        ),
        ing(
          'mtls-off',
          HOSTS.verifyOff,
          {
            [`${ANNOTATION}auth-tls-secret`]: `${NS}/client-ca`,
            [`${ANNOTATION}auth-tls-verify-client`]: 'off',
            [`${ANNOTATION}auth-tls-verify-depth`]: '2',
          },
          'pod-svc',
          { tls: true },
        ),
        ing('tls12', HOSTS.tls12, { ...verified, [`${ANNOTATION}proxy-ssl-protocols`]: 'TLSv1.2' }, 'https13-svc'),
        ing('tls13', HOSTS.tls13, { ...verified, [`${ANNOTATION}proxy-ssl-protocols`]: 'TLSv1.3' }, 'https13-svc'),
        ing('bad-ok', HOSTS.bad, {}, 'pod-svc', { path: '/ok' }),
        ing('bad-protocol', HOSTS.bad, { [`${ANNOTATION}backend-protocol`]: 'AJP' }, 'pod-svc', { path: '/protocol' }),
        ing(
          'bad-verify',
          HOSTS.bad,
          { [`${ANNOTATION}proxy-ssl-secret`]: `${NS}/backend-ca`, [`${ANNOTATION}proxy-ssl-verify`]: 'maybe' },
          'pod-svc',
          { path: '/verify' },
        ),
        ing('bad-auth-secret', HOSTS.bad, { [`${ANNOTATION}auth-tls-secret`]: `${NS}/no-such-secret` }, 'pod-svc', {
          path: '/auth',
        }),
        ing('bad-force', HOSTS.bad, { [`${ANNOTATION}force-ssl-redirect`]: 'yes' }, 'pod-svc', { path: '/force' }),
      ].flat(),
    );
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/tls-settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all([
        closeAll(pods),
        close(httpsServer),
        close(https13Server),
        close(grpcServer),
        close(grpcsServer),
      ]);
      manifests?.cleanup();
      pki?.cleanup();
    },
  );

  describe('backend-protocol HTTPS with proxy-ssl-*', function () {
    it('reaches an HTTPS backend, verifying its certificate, sending SNI and a client certificate', async function () {
      const reply = await ctl!.http(HOSTS.https, '/some/path?q=1');
      assert.equal(reply.status, 200, reply.body);
      const answer = JSON.parse(reply.body) as HttpsAnswer;
      assert.equal(answer.backend, 'https');
      assert.equal(answer.path, '/some/path?q=1');
      assert.equal(answer.host, HOSTS.https); // the request's Host header is kept
      assert.equal(answer.sni, BACKEND_NAME); // proxy-ssl-server-name on + proxy-ssl-name
      assert.equal(answer.clientCN, 'nginx-as-client'); // tls.crt/tls.key of proxy-ssl-secret
      assert.match(ctl!.nginxConf(), /proxy_pass https:\/\/upstream_balancer;/);
    });

    it('answers 502 when the backend certificate is not signed by the CA of proxy-ssl-secret', async function () {
      const reply = await ctl!.http(HOSTS.wrongCa, '/');
      assert.equal(reply.status, 502, reply.body);
    });

    it('without proxy-ssl-secret, HTTPS is used without verification (ingress-nginx default proxy-ssl-verify off)', async function () {
      const reply = await ctl!.http(HOSTS.noVerify, '/');
      assert.equal(reply.status, 200, reply.body);
      const answer = JSON.parse(reply.body) as HttpsAnswer;
      assert.equal(answer.backend, 'https');
      assert.equal(answer.clientCN, null); // no client certificate without proxy-ssl-secret
      assert.equal(answer.sni, null); // proxy-ssl-server-name defaults to off
    });

    // ingress-nginx test/e2e/annotations/proxyssl.go "should set valid proxy-ssl-secret, proxy-ssl-protocols"
    it('proxy-ssl-protocols: TLSv1.2 alone cannot reach a TLS 1.3-only backend (502); TLSv1.3 can', async function () {
      assert.equal((await ctl!.http(HOSTS.tls12, '/')).status, 502);
      const reply = await ctl!.http(HOSTS.tls13, '/');
      assert.equal(reply.status, 200, reply.body);
      assert.equal((JSON.parse(reply.body) as HttpsAnswer).backend, 'https');
    });
  });

  describe('backend-protocol GRPC and GRPCS', function () {
    it('proxies a unary gRPC call over HTTP/2 to an h2c backend with grpc_pass', async function () {
      const reply = await grpcCall(ctl!.ports.https, HOSTS.grpc, '/echo.Echo/Say', 'hello grpc');
      assert.equal(reply.status, 200);
      assert.equal(reply.trailers['grpc-status'], '0', JSON.stringify(reply.trailers));
      assert.equal(reply.answer?.backend, 'grpc');
      assert.equal(reply.answer?.message, 'hello grpc');
      assert.equal(reply.answer?.path, '/echo.Echo/Say');
      assert.equal(reply.answer?.host, HOSTS.grpc);
      assert.equal(reply.answer?.forwardedProto, 'https');
      assert.match(ctl!.nginxConf(), /grpc_pass grpc:\/\/upstream_balancer;/);
    });

    it('proxies gRPC to a TLS backend with GRPCS, verified with proxy-ssl-secret (grpc_ssl_*)', async function () {
      const reply = await grpcCall(ctl!.ports.https, HOSTS.grpcs, '/echo.Echo/Say', 'hello grpcs');
      assert.equal(reply.status, 200);
      assert.equal(reply.trailers['grpc-status'], '0', JSON.stringify(reply.trailers));
      assert.equal(reply.answer?.backend, 'grpcs');
      assert.equal(reply.answer?.message, 'hello grpcs');
      assert.match(ctl!.nginxConf(), /grpc_pass grpcs:\/\/upstream_balancer;/);
      assert.match(ctl!.nginxConf(), /grpc_ssl_verify on;/);
    });
  });

  describe('backends without endpoints', function () {
    it("HTTPS and gRPC upstreams answer 503 at once (from the server's named location: the internal server speaks plain HTTP/1)", async function () {
      const reply = await ctl!.http(HOSTS.emptyHttps, '/x');
      assert.equal(reply.status, 503, reply.body);
      assert.equal(reply.headers['x-ingress-templater'], undefined);
      const grpc = await grpcCall(ctl!.ports.https, HOSTS.emptyGrpc, '/echo.Echo/Say', 'hello');
      assert.equal(grpc.status, 503);
      assert.equal(grpc.answer, null);
    });
  });

  describe('force-ssl-redirect', function () {
    it('redirects plain HTTP with 308 on a host without a TLS section', async function () {
      const reply = await ctl!.http(HOSTS.force, '/a/b?c=d');
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `https://${HOSTS.force}/a/b?c=d`);
      const tlsReply = await tlsRequest(ctl!.ports.https, HOSTS.force, '/a/b');
      assert.equal(tlsReply.status, 200);
      assert.equal(pod(tlsReply).pod, 'tls-pod');
    });

    it('leaves a host without TLS and without the annotation on plain HTTP', async function () {
      const reply = await ctl!.http(HOSTS.plain, '/');
      assert.equal(reply.status, 200);
      assert.equal(reply.pod?.pod, 'tls-pod');
    });
  });

  describe('auth-tls', function () {
    it('answers 400 without a client certificate, as nginx does', async function () {
      const reply = await tlsRequest(ctl!.ports.https, HOSTS.mtls, '/');
      assert.equal(reply.status, 400);
      assert.match(reply.body, /No required SSL certificate was sent/);
    });

    it('answers 400 to a client certificate from another CA', async function () {
      const reply = await tlsRequest(ctl!.ports.https, HOSTS.mtls, '/', { client: strangerClient });
      assert.equal(reply.status, 400);
      assert.match(reply.body, /certificate error/i);
    });

    it('passes a request with a client certificate from the CA, telling the upstream who it is', async function () {
      const reply = await tlsRequest(ctl!.ports.https, HOSTS.mtls, '/who', { client });
      assert.equal(reply.status, 200, reply.body);
      const headers = pod(reply).headers;
      assert.equal(headers['ssl-client-verify'], 'SUCCESS');
      assert.match(String(headers['ssl-client-subject-dn']), /CN=alice/);
      assert.match(String(headers['ssl-client-issuer-dn']), /CN=e2e CA/);
      // auth-tls-pass-certificate-to-upstream: the certificate, URL-encoded PEM
      const pem = decodeURIComponent(String(headers['ssl-client-cert']));
      assert.equal(pem.trim(), client.cert.trim());
    });

    it('never serves the host over plain HTTP: redirected to HTTPS', async function () {
      const reply = await ctl!.http(HOSTS.mtls, '/x');
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `https://${HOSTS.mtls}/x`);
    });

    it('with verify-client optional, passes requests with and without a certificate', async function () {
      const without = await tlsRequest(ctl!.ports.https, HOSTS.optional, '/');
      assert.equal(without.status, 200, without.body);
      assert.equal(pod(without).headers['ssl-client-verify'], 'NONE');
      assert.equal(pod(without).headers['ssl-client-cert'], undefined); // pass-certificate defaults to false
      const withCert = await tlsRequest(ctl!.ports.https, HOSTS.optional, '/', { client });
      assert.equal(withCert.status, 200, withCert.body);
      assert.equal(pod(withCert).headers['ssl-client-verify'], 'SUCCESS');
      assert.equal(pod(withCert).headers['ssl-client-cert'], undefined);
    });

    // ingress-nginx test/e2e/annotations/authtls.go "should set valid auth-tls-secret, sslVerify to off, and sslVerifyDepth to 2"
    // ingress-nginx test/e2e/annotations/authtls.go "should validate auth-tls-verify-client"
    it('with verify-client off, no certificate is asked for: requests without one pass', async function () {
      const without = await tlsRequest(ctl!.ports.https, HOSTS.verifyOff, '/');
      assert.equal(without.status, 200, without.body);
      // a certificate from another CA is not asked for either, so it is not refused
      const offered = await tlsRequest(ctl!.ports.https, HOSTS.verifyOff, '/', { client: strangerClient });
      assert.equal(offered.status, 200, offered.body);
      // the same CA with verify-client on (HOSTS.mtls) refuses the request without one
      assert.equal((await tlsRequest(ctl!.ports.https, HOSTS.mtls, '/')).status, 400);
    });

    it('other hosts neither ask for certificates nor forward client-sent ssl-client-* headers', async function () {
      const reply = await tlsRequest(ctl!.ports.https, HOSTS.hsts, '/', {
        headers: { 'ssl-client-verify': 'SUCCESS', 'ssl-client-subject-dn': 'CN=admin' },
      });
      assert.equal(reply.status, 200, reply.body);
      assert.equal(pod(reply).headers['ssl-client-verify'], undefined);
      assert.equal(pod(reply).headers['ssl-client-subject-dn'], undefined);
    });
  });

  describe('invalid values', function () {
    it('TLS verification fails closed (503 for its Ingress); backend-protocol and force-ssl-redirect take their defaults', async function () {
      assert.equal((await ctl!.http(HOSTS.bad, '/ok')).status, 200);
      for (const requestPath of ['/verify', '/auth']) {
        const reply = await ctl!.http(HOSTS.bad, requestPath);
        assert.equal(reply.status, 503, `${requestPath}: ${reply.status} ${reply.body.slice(0, 200)}`);
      }
      // as ingress-nginx: an invalid backend-protocol is HTTP, an invalid force-ssl-redirect is its default
      for (const requestPath of ['/protocol', '/force']) {
        const reply = await ctl!.http(HOSTS.bad, requestPath);
        assert.notEqual(reply.status, 503, `${requestPath}: ${reply.status} ${reply.body.slice(0, 200)}`);
      }
      // and HTTPS on the host works without asking for a client certificate (the invalid auth-tls is not applied)
      assert.equal((await tlsRequest(ctl!.ports.https, HOSTS.bad, '/ok')).status, 200);
    });

    it('are reported naming the Ingress, the annotation and the value', async function () {
      const problems = (await ctl!.status()).problems;
      const has = (ing: string, key: string, value: string, severity = 'error') =>
        assert.ok(
          problems.some(
            (p) =>
              p.startsWith(`${severity}:`) &&
              p.includes(`Ingress ${NS}/${ing}`) &&
              p.includes(`${ANNOTATION}${key}`) &&
              p.includes(value),
          ),
          `${ing} ${key}:\n${problems.join('\n')}`,
        );
      has('bad-protocol', 'backend-protocol', '"AJP"', 'warning');
      has('bad-verify', 'proxy-ssl-verify', '"maybe"');
      has('bad-auth-secret', 'auth-tls-secret', `Secret ${NS}/no-such-secret: not found`);
      has('bad-force', 'force-ssl-redirect', '"yes"', 'warning');
      assert.ok(!/AJP|maybe/.test(ctl!.nginxConf()), 'an invalid value reached nginx.conf');
    });
  });

  // last: changes the ConfigMap
  describe('HSTS from the ConfigMap', function () {
    const HSTS = 'strict-transport-security';

    it('is sent on HTTPS responses of TLS hosts, by default max-age=31536000; includeSubDomains', async function () {
      const reply = await tlsRequest(ctl!.ports.https, HOSTS.hsts, '/');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers[HSTS], 'max-age=31536000; includeSubDomains');
      // also on answers nginx makes itself ("always")
      const missing = await tlsRequest(ctl!.ports.https, HOSTS.mtls, '/');
      assert.equal(missing.status, 400);
      assert.equal(missing.headers[HSTS], 'max-age=31536000; includeSubDomains');
      const notFound = await tlsRequest(ctl!.ports.https, HOSTS.grpc, '/not-a-route');
      assert.equal(notFound.status, 404);
      assert.equal(notFound.headers[HSTS], 'max-age=31536000; includeSubDomains');
    });

    it('is absent on plain HTTP, and on hosts without a TLS section', async function () {
      const reply = await ctl!.http(HOSTS.hsts, '/');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers[HSTS], undefined);
      const noTls = await tlsRequest(ctl!.ports.https, HOSTS.plain, '/');
      assert.equal(noTls.status, 200);
      assert.equal(noTls.headers[HSTS], undefined);
    });

    it('follows hsts-max-age, hsts-include-subdomains and hsts-preload, and hsts: "false" turns it off', async function () {
      let reloads = await ctl!.metric('reloads_total');
      manifests.write(
        'settings.yaml',
        configMap('tls-settings', NS, {
          'hsts-max-age': '600',
          'hsts-include-subdomains': 'false',
          'hsts-preload': 'true',
        }),
      );
      reloads = await ctl!.waitForReload(reloads);
      assert.equal((await tlsRequest(ctl!.ports.https, HOSTS.hsts, '/')).headers[HSTS], 'max-age=600; preload');
      manifests.write('settings.yaml', configMap('tls-settings', NS, { hsts: 'false' }));
      await ctl!.waitForReload(reloads);
      const reply = await tlsRequest(ctl!.ports.https, HOSTS.hsts, '/');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers[HSTS], undefined);
      assert.ok(!ctl!.nginxConf().includes('Strict-Transport-Security'));
    });

    it('nginx logged no warning about the variables of these annotations (HSTS, ssl-client-*), even for its own 400s', function () {
      const log = fs.readFileSync(path.join(ctl!.prefix, 'logs', 'error.log'), 'utf8');
      const bad = log
        .split('\n')
        .filter((l) => /(uninitialized|unknown) "?ingress_templater_(hsts|ssl_client)/.test(l));
      assert.deepEqual(bad, []);
    });
  });
});

describe('e2e: TLS annotations without the Lua balancer (--balancer static)', function () {
  let manifests: ManifestDir;
  let pki: Pki;
  let ctl: RunningController | undefined;
  let httpsServer: https.Server | undefined;
  let grpcServer: http2.Http2Server | undefined;

  before(async function () {
    this.timeout(60_000);
    pki = new Pki();
    const ca = pki.ca('e2e static CA');
    const backendCert = pki.issue(ca, BACKEND_NAME, { dns: [BACKEND_NAME] });
    const httpsPort = await freePort(HTTPS_ADDR);
    httpsServer = httpsBackend(backendCert);
    await listen(httpsServer, HTTPS_ADDR, httpsPort);
    const grpcPort = await freePort(GRPC_ADDR);
    grpcServer = http2.createServer();
    grpcServer.on('stream', grpcHandler('grpc-static'));
    await listen(grpcServer, GRPC_ADDR, grpcPort);
    manifests = new ManifestDir('annotations-tls-static');
    manifests.write('all.yaml', [
      service('https-svc', { ports: [{ port: 443, targetPort: httpsPort }] }),
      endpoints('https-svc', { ready: [HTTPS_ADDR], port: httpsPort }),
      service('grpc-svc', { ports: [{ port: 443, targetPort: grpcPort }] }),
      endpoints('grpc-svc', { ready: [GRPC_ADDR], port: grpcPort }),
      secret('backend-ca', { 'ca.crt': ca.cert }),
      ingress('https', {
        host: HOSTS.https,
        paths: [{ path: '/', service: 'https-svc', port: 443 }],
        annotations: {
          [`${ANNOTATION}backend-protocol`]: 'HTTPS',
          [`${ANNOTATION}proxy-ssl-secret`]: `${NS}/backend-ca`,
          [`${ANNOTATION}proxy-ssl-verify`]: 'on',
          [`${ANNOTATION}proxy-ssl-name`]: BACKEND_NAME,
        },
      }),
      ingress('grpc', {
        host: HOSTS.grpc,
        tls: [{ hosts: [HOSTS.grpc] }],
        paths: [{ path: '/', service: 'grpc-svc', port: 443 }],
        annotations: { [`${ANNOTATION}backend-protocol`]: 'GRPC' },
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--balancer', 'static'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all([close(httpsServer), close(grpcServer)]);
      manifests?.cleanup();
      pki?.cleanup();
    },
  );

  it('proxies to the HTTPS backend through its upstream block, verified', async function () {
    const reply = await ctl!.http(HOSTS.https, '/static');
    assert.equal(reply.status, 200, reply.body);
    assert.equal((JSON.parse(reply.body) as HttpsAnswer).path, '/static');
    assert.match(ctl!.nginxConf(), /proxy_pass https:\/\/default_https-svc_443;/);
  });

  it('proxies gRPC through its upstream block', async function () {
    const reply = await grpcCall(ctl!.ports.https, HOSTS.grpc, '/echo.Echo/Say', 'static');
    assert.equal(reply.trailers['grpc-status'], '0');
    assert.equal(reply.answer?.backend, 'grpc-static');
    assert.equal(reply.answer?.message, 'static');
    assert.match(ctl!.nginxConf(), /grpc_pass grpc:\/\/default_grpc-svc_443;/);
  });
});
