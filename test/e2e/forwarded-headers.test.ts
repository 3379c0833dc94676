// Forwarded headers and the client address through the controller and real nginx, with a backend that
// records the request headers it gets: by default the client's X-Forwarded-* are replaced (kept only as
// X-Original-Forwarded-*), and the ConfigMap keys use-forwarded-headers, compute-full-forwarded-for,
// forwarded-for-header, enable-real-ip, proxy-real-ip-cidr and use-proxy-protocol change that as
// ingress-nginx did: its test/e2e/settings/forwarded_headers.go and proxy_protocol.go, with real PROXY
// protocol v1 headers written on raw TCP sockets. Then the connection-proxy-header annotation
// (ingress-nginx test/e2e/annotations/connection.go).
//
// Requests come from chosen loopback source addresses (127.0.0.0/8 is all local), so that one nginx can be
// asked by a trusted peer and by an untrusted one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service, tlsSecret } from '../helpers/manifests.js';
import { json, serve, type Recorder } from '../helpers/recorder.js';
import { makeCert } from '../helpers/resources.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const APP = '127.0.74.1';
const HOST = 'forwarded-headers'; // ingress-nginx's host name in forwarded_headers.go
const PP_HOST = 'proxy-protocol'; // and in proxy_protocol.go
const KEEP_ALIVE = 'connection.foo.com'; // and in connection.go
const BAD_CONNECTION = 'bad-connection.test';
const SECURE = 'secure.proxy-protocol'; // spec.tls: plain HTTP is redirected to HTTPS
const SECURE_AUTH = 'auth.proxy-protocol'; // spec.tls and an external auth (its service: the app, saying yes)
const SETTINGS = 'forwarded-settings';
const TRUSTED_PEER = '127.0.0.2';
const OTHER_PEER = '127.0.0.3';

interface RawReply {
  status: number;
  headers: Record<string, string>; // lower-case names
}

/**
 * One request written as bytes on a socket from `from`, after a PROXY protocol v1 line when `proxy` is
 * given, over TLS when `tlsName` is; resolves with the status and headers, or rejects when nginx closes
 * the connection without an answer.
 */
function rawRequest(
  port: number,
  options: { from?: string; proxy?: string; tlsName?: string; host: string; headers?: Record<string, string> },
): Promise<RawReply> {
  const head = [
    'GET / HTTP/1.1',
    `Host: ${options.host}`,
    ...Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: options.from ?? '127.0.0.1' });
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('error', reject);
    let text = '';
    const collect = (stream: net.Socket | tls.TLSSocket) => {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        text += chunk;
      });
      stream.on('end', () => {
        const match = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(text);
        if (!match) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
        const headers: Record<string, string> = {};
        for (const line of match[2]!.split('\r\n')) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({ status: Number(match[1]), headers });
      });
    };
    socket.on('connect', () => {
      if (options.proxy !== undefined) socket.write(`${options.proxy}\r\n`);
      if (options.tlsName === undefined) {
        socket.write(head);
        collect(socket);
        return;
      }
      const secure = tls.connect({ socket, servername: options.tlsName, rejectUnauthorized: false }, () =>
        secure.write(head),
      );
      secure.on('error', reject);
      collect(secure);
    });
  });
}

// what ingress-nginx's e2e clients send to see whether forwarded headers are trusted
const CLIENT_FORWARDED = {
  'X-Forwarded-Port': '1234',
  'X-Forwarded-Proto': 'myproto',
  'X-Forwarded-Scheme': 'myproto',
  'X-Forwarded-For': '1.2.3.4',
  'X-Forwarded-Host': 'myhost',
};

describe('e2e: forwarded headers, the real client address and the PROXY protocol', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Recorder;

  /** The request headers the backend got for the last request. */
  const received = () => app.seen.at(-1)!.headers;

  const applySettings = async (data: Record<string, string>) => {
    const reloads = await ctl!.metric('reloads_total');
    manifests.write('settings.yaml', configMap(SETTINGS, NS, data));
    await ctl!.waitForReload(reloads);
  };

  /** A plain HTTP request (no PROXY protocol) from `from`; the backend's view of it. */
  const ask = async (host: string, headers: Record<string, string>, from = '127.0.0.1') => {
    const reply = await rawRequest(ctl!.ports.http, { host, headers, from });
    assert.equal(reply.status, 200);
    return received();
  };

  const accessLog = () => fs.readFileSync(path.join(ctl!.prefix, 'logs', 'access.log'), 'utf8');

  before(async function () {
    manifests = new ManifestDir('forwarded-headers');
    app = await serve(APP, (_req, res) => json(res, 200, { app: true }));
    const cert = makeCert([PP_HOST, SECURE]);
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: app.port }] }),
      endpoints('app', { ready: [APP], port: app.port }),
    ]);
    manifests.write('secret.yaml', tlsSecret('pp-tls', cert.crt, cert.key));
    manifests.write('settings.yaml', configMap(SETTINGS, NS, {}));
    manifests.write('ingresses.yaml', [
      ingress('forwarded', { host: HOST, paths: [{ path: '/', service: 'app' }] }),
      ingress('proxy-protocol', {
        host: PP_HOST,
        tls: [{ hosts: [PP_HOST], secretName: 'pp-tls' }],
        paths: [{ path: '/', service: 'app' }],
        // plain HTTP is proxied too, as in proxy_protocol.go
        annotations: { [`${ANNOTATION}ssl-redirect`]: 'false' },
      }),
      ingress('secure', {
        host: SECURE,
        tls: [{ hosts: [SECURE], secretName: 'pp-tls' }],
        paths: [{ path: '/', service: 'app' }],
      }),
      ingress('secure-auth', {
        host: SECURE_AUTH,
        tls: [{ hosts: [SECURE_AUTH], secretName: 'pp-tls' }],
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}auth-url`]: `http://${APP}:${app.port}/auth` },
      }),
      ingress('keep-alive', {
        host: KEEP_ALIVE,
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}connection-proxy-header`]: 'keep-alive' },
      }),
      ingress('bad-connection', {
        host: BAD_CONNECTION,
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}connection-proxy-header`]: 'close\r\nX-Injected: 1' },
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/${SETTINGS}`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await app?.close();
      manifests?.cleanup();
    },
  );

  describe('defaults: nothing the client says about forwarding is trusted', () => {
    // ingress-nginx test/e2e/settings/forwarded_headers.go "should not trust X-Forwarded headers when setting is false"
    // ingress-nginx test/e2e/settings/enable_real_ip.go "should not trust X-Forwarded-For header when setting is false"
    it('X-Forwarded-* are nginx own values, the client copies reach the backend as X-Original-Forwarded-*', async () => {
      const headers = await ask(HOST, CLIENT_FORWARDED);
      assert.equal(headers.host, HOST);
      assert.equal(headers['x-forwarded-port'], String(ctl!.ports.http));
      assert.equal(headers['x-forwarded-proto'], 'http');
      assert.equal(headers['x-forwarded-scheme'], 'http');
      assert.equal(headers['x-forwarded-host'], HOST);
      assert.equal(headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(headers['x-real-ip'], '127.0.0.1');
      assert.equal(headers['x-original-forwarded-for'], '1.2.3.4');
      assert.equal(headers['x-original-forwarded-host'], 'myhost');
      assert.doesNotMatch(ctl!.nginxConf(), /real_ip|proxy_protocol/);
    });

    // ingress-nginx test/e2e/settings/listen_nondefault_ports.go "should set X-Forwarded-Port headers accordingly when listening on a non-default HTTP port"
    // ingress-nginx test/e2e/settings/listen_nondefault_ports.go "should set X-Forwarded-Port header to 443"
    // ingress-nginx test/e2e/settings/listen_nondefault_ports.go "should set the X-Forwarded-Port header to 443"
    it('X-Forwarded-Port: the plain HTTP port nginx listens on; its HTTPS port as 443, external auth or not', async () => {
      assert.notEqual(ctl!.ports.https, 443);
      assert.equal((await ask(HOST, {}))['x-forwarded-port'], String(ctl!.ports.http));
      for (const host of [SECURE, SECURE_AUTH]) {
        const reply = await rawRequest(ctl!.ports.https, { host, tlsName: host });
        assert.equal(reply.status, 200, host);
        assert.equal(received()['x-forwarded-port'], '443', host);
      }
      // the auth service was asked (the last request before the backend's)
      assert.equal(app.seen.at(-2)!.url, '/auth');
    });

    it('a PROXY protocol line is not read: the request is refused as malformed', async () => {
      const reply = await rawRequest(ctl!.ports.http, {
        host: HOST,
        proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 1234',
      });
      assert.equal(reply.status, 400);
    });
  });

  describe('connection-proxy-header', () => {
    // ingress-nginx test/e2e/annotations/connection.go "set connection header to keep-alive"
    it('sets the Connection header the backend gets for that Ingress only', async () => {
      assert.equal((await ask(KEEP_ALIVE, {}))['connection'], 'keep-alive');
      assert.match(ctl!.nginxConf(), /set \$connection_upgrade "keep-alive";/);
      // another Ingress keeps the websocket map, empty without Upgrade: no Connection header at all
      assert.equal((await ask(HOST, {}))['connection'], undefined);
    });

    it('a value that is not a list of Connection options is ignored with a warning, the default applies', async () => {
      const headers = await ask(BAD_CONNECTION, {});
      assert.equal(headers['connection'], undefined);
      assert.equal(headers['x-injected'], undefined);
      assert.match(ctl!.log(), /connection-proxy-header[^\n]*ignored/);
    });
  });

  describe('use-forwarded-headers', () => {
    before(() => applySettings({ 'use-forwarded-headers': 'true' }));

    // ingress-nginx test/e2e/settings/forwarded_headers.go "should trust X-Forwarded headers when setting is true"
    it('passes the client X-Forwarded-* on, the first X-Forwarded-Host as the host', async () => {
      let headers = await ask(HOST, CLIENT_FORWARDED);
      assert.equal(headers.host, 'myhost');
      assert.equal(headers['x-forwarded-host'], 'myhost');
      assert.equal(headers['x-forwarded-proto'], 'myproto');
      assert.equal(headers['x-forwarded-scheme'], 'myproto');
      assert.equal(headers['x-scheme'], 'myproto');
      assert.equal(headers['x-forwarded-port'], '1234');
      assert.equal(headers['x-forwarded-for'], '1.2.3.4');
      // "ensuring that first entry in X-Forwarded-Host is used as the best host"
      headers = await ask(HOST, { ...CLIENT_FORWARDED, 'X-Forwarded-Host': 'myhost.com, another.host,example.net' });
      assert.equal(headers.host, 'myhost.com');
      assert.equal(headers['x-forwarded-host'], 'myhost.com');
    });

    it('without forwarded headers the values are nginx own, as before', async () => {
      const headers = await ask(HOST, {});
      assert.equal(headers.host, HOST);
      assert.equal(headers['x-forwarded-host'], HOST);
      assert.equal(headers['x-forwarded-proto'], 'http');
      assert.equal(headers['x-forwarded-port'], String(ctl!.ports.http));
      assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    });

    it('the client address from X-Forwarded-For, its first as every IPv4 peer is trusted by default: backend and access log', async () => {
      const headers = await ask(HOST, { 'X-Forwarded-For': '10.9.8.7, 5.6.7.8' });
      assert.equal(headers['x-real-ip'], '10.9.8.7', 'real_ip_recursive: each trusted address is skipped');
      assert.equal(headers['x-forwarded-for'], '10.9.8.7');
      assert.equal(headers['x-original-forwarded-for'], '10.9.8.7, 5.6.7.8');
      await ctl!.waitFor(() => /^10\.9\.8\.7 - /m.test(accessLog()), { what: 'the access log line of 10.9.8.7' });
    });

    it('compute-full-forwarded-for: the peer is appended to the X-Forwarded-For received', async () => {
      await applySettings({ 'use-forwarded-headers': 'true', 'compute-full-forwarded-for': 'true' });
      let headers = await ask(HOST, { 'X-Forwarded-For': '1.2.3.4' }, TRUSTED_PEER);
      assert.equal(headers['x-forwarded-for'], `1.2.3.4, ${TRUSTED_PEER}`);
      assert.equal(headers['x-real-ip'], '1.2.3.4');
      headers = await ask(HOST, {}, TRUSTED_PEER);
      assert.equal(headers['x-forwarded-for'], TRUSTED_PEER);
    });

    it('proxy-real-ip-cidr: only a trusted peer says the client address; the other forwarded headers stay trusted', async () => {
      await applySettings({
        'use-forwarded-headers': 'true',
        'proxy-real-ip-cidr': `10.0.0.0/8, ${TRUSTED_PEER}/32, ::1`,
      });
      let headers = await ask(HOST, CLIENT_FORWARDED, TRUSTED_PEER);
      assert.equal(headers['x-real-ip'], '1.2.3.4');
      headers = await ask(HOST, CLIENT_FORWARDED, OTHER_PEER);
      assert.equal(headers['x-real-ip'], OTHER_PEER);
      assert.equal(headers['x-forwarded-for'], OTHER_PEER);
      assert.equal(
        headers['x-forwarded-proto'],
        'myproto',
        'as ingress-nginx: the scheme is not tied to the address list',
      );
    });

    it('forwarded-for-header: the address comes from the header named', async () => {
      await applySettings({ 'use-forwarded-headers': 'true', 'forwarded-for-header': 'X-Client-Address' });
      const headers = await ask(HOST, { 'X-Client-Address': '4.3.2.1', 'X-Forwarded-For': '1.2.3.4' });
      assert.equal(headers['x-real-ip'], '4.3.2.1');
      assert.equal(headers['x-forwarded-for'], '4.3.2.1');
      assert.equal(headers['x-original-forwarded-for'], '4.3.2.1', 'as ingress-nginx: the header named');
    });

    it('a proxy-real-ip-cidr that cannot be read trusts no peer (not the default every IPv4 peer), and says so', async () => {
      await applySettings({ 'use-forwarded-headers': 'true', 'proxy-real-ip-cidr': '10.0.0.0/8, 127.0.0.1/33' });
      const headers = await ask(HOST, CLIENT_FORWARDED);
      assert.equal(headers['x-real-ip'], '127.0.0.1');
      assert.equal(headers['x-forwarded-for'], '127.0.0.1');
      assert.match(ctl!.log(), /proxy-real-ip-cidr[^\n]*no peer is trusted to give the client address/);
      assert.doesNotMatch(ctl!.nginxConf(), /set_real_ip_from/);
    });
  });

  describe('enable-real-ip without use-forwarded-headers', () => {
    before(() => applySettings({ 'enable-real-ip': 'true' }));

    // ingress-nginx test/e2e/settings/enable_real_ip.go "trusts X-Forwarded-For header only when setting is true"
    it('the address from X-Forwarded-For; scheme, host and port stay nginx own', async () => {
      const headers = await ask(HOST, CLIENT_FORWARDED);
      assert.equal(headers.host, HOST);
      assert.equal(headers['x-forwarded-host'], HOST);
      assert.equal(headers['x-forwarded-proto'], 'http');
      assert.equal(headers['x-forwarded-port'], String(ctl!.ports.http));
      assert.equal(headers['x-forwarded-for'], '1.2.3.4');
      assert.equal(headers['x-real-ip'], '1.2.3.4');
    });

    it('with proxy-real-ip-cidr, from a trusted peer only', async () => {
      await applySettings({ 'enable-real-ip': 'true', 'proxy-real-ip-cidr': `${TRUSTED_PEER}/32` });
      let headers = await ask(HOST, CLIENT_FORWARDED, TRUSTED_PEER);
      assert.equal(headers['x-real-ip'], '1.2.3.4');
      assert.equal(headers['x-forwarded-for'], '1.2.3.4');
      headers = await ask(HOST, CLIENT_FORWARDED, OTHER_PEER);
      assert.equal(headers['x-real-ip'], OTHER_PEER);
      assert.equal(headers['x-forwarded-for'], OTHER_PEER);
    });
  });

  describe('use-proxy-protocol', () => {
    before(() => applySettings({ 'use-proxy-protocol': 'true' }));

    // ingress-nginx test/e2e/settings/proxy_protocol.go "should respect port passed by the PROXY Protocol"
    it('the client address and port are the PROXY protocol ones', async () => {
      const reply = await rawRequest(ctl!.ports.http, {
        host: PP_HOST,
        proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 1234',
      });
      assert.equal(reply.status, 200);
      const headers = received();
      assert.equal(headers.host, PP_HOST);
      assert.equal(headers['x-forwarded-port'], '1234');
      assert.equal(headers['x-forwarded-proto'], 'http');
      assert.equal(headers['x-forwarded-for'], '192.168.0.1');
      assert.equal(headers['x-real-ip'], '192.168.0.1');
      await ctl!.waitFor(() => /^192\.168\.0\.1 - /m.test(accessLog()), { what: 'the access log line of 192.168.0.1' });
    });

    // ingress-nginx test/e2e/settings/proxy_protocol.go "should respect proto passed by the PROXY Protocol server port"
    it('a connection to port 443 of the proxy in front is https', async () => {
      const reply = await rawRequest(ctl!.ports.http, {
        host: PP_HOST,
        proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443',
      });
      assert.equal(reply.status, 200);
      const headers = received();
      assert.equal(headers['x-forwarded-port'], '443');
      assert.equal(headers['x-forwarded-proto'], 'https');
      assert.equal(headers['x-forwarded-for'], '192.168.0.1');
    });

    // ingress-nginx test/e2e/settings/proxy_protocol.go "should enable PROXY Protocol for HTTPS"
    it('the HTTPS listener reads it too, before the TLS handshake', async () => {
      const reply = await rawRequest(ctl!.ports.https, {
        host: PP_HOST,
        tlsName: PP_HOST,
        proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 1234',
      });
      assert.equal(reply.status, 200);
      const headers = received();
      assert.equal(headers['x-forwarded-port'], '1234');
      assert.equal(headers['x-forwarded-proto'], 'https');
      assert.equal(headers['x-scheme'], 'https');
      assert.equal(headers['x-forwarded-for'], '192.168.0.1');
    });

    // ingress-nginx redirected when $pass_access_scheme was http: a TLS-terminating load balancer's port 443
    it('ssl-redirect: a request the proxy in front got on port 443 is served, one it got on port 80 is redirected', async () => {
      let reply = await rawRequest(ctl!.ports.http, {
        host: SECURE,
        proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443',
      });
      assert.equal(reply.status, 200);
      assert.equal(received()['x-forwarded-proto'], 'https');
      reply = await rawRequest(ctl!.ports.http, {
        host: SECURE,
        proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 80',
      });
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `https://${SECURE}`);
    });

    it('a connection without the PROXY protocol line gets no answer', async () => {
      await assert.rejects(rawRequest(ctl!.ports.http, { host: PP_HOST }), /no HTTP answer|ECONNRESET/);
    });

    it('proxy-real-ip-cidr: the address of an untrusted load balancer is kept', async () => {
      await applySettings({ 'use-proxy-protocol': 'true', 'proxy-real-ip-cidr': `${TRUSTED_PEER}/32` });
      const proxy = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 1234';
      await rawRequest(ctl!.ports.http, { host: PP_HOST, proxy, from: TRUSTED_PEER });
      assert.equal(received()['x-real-ip'], '192.168.0.1');
      await rawRequest(ctl!.ports.http, { host: PP_HOST, proxy, from: OTHER_PEER });
      assert.equal(received()['x-real-ip'], OTHER_PEER);
    });

    describe('with use-forwarded-headers', () => {
      const PP_CLIENT = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 1234';
      // the load balancer is the TCP peer (127.0.0.1 here); the PROXY protocol's address is its client
      const withList = (list: string) =>
        applySettings({ 'use-proxy-protocol': 'true', 'use-forwarded-headers': 'true', 'proxy-real-ip-cidr': list });
      before(() => withList('127.0.0.1/32'));

      // ingress-nginx test/e2e/settings/proxy_protocol.go "should not trust X-Forwarded headers when the client IP address is not trusted"
      // (ingress-nginx ran it with the default list, which by its own template trusts every IPv4 address the
      // PROXY protocol gives; here the list trusts the load balancer and not its client, as the title says)
      it('an untrusted PROXY protocol address is the client, whatever X-Forwarded-For says', async () => {
        await rawRequest(ctl!.ports.http, {
          host: PP_HOST,
          proxy: PP_CLIENT,
          headers: { 'X-Forwarded-For': '192.168.0.111' },
        });
        const headers = received();
        assert.equal(headers.host, PP_HOST);
        assert.equal(headers['x-forwarded-port'], '1234');
        assert.equal(headers['x-forwarded-proto'], 'http');
        assert.equal(headers['x-forwarded-for'], '192.168.0.1');
        assert.equal(headers['x-real-ip'], '192.168.0.1');
      });

      // ingress-nginx's own header for this (X-Forwarded-For-Proxy-Protocol) is also read by the real_ip
      // module before nginx sets it, so a client's copy was believed; ours has a name no client can send
      it('no header a client sends can give the address instead', async () => {
        await rawRequest(ctl!.ports.http, {
          host: PP_HOST,
          proxy: PP_CLIENT,
          headers: {
            'X-Forwarded-For-Proxy-Protocol': '6.6.6.6',
            X_Ingress_Templater_Client: '6.6.6.7',
            'X-Ingress-Templater-Client': '6.6.6.8',
          },
        });
        assert.equal(received()['x-real-ip'], '192.168.0.1');
        // nor does the header of ours reach the backend
        assert.deepEqual(
          app.seen.at(-1)!.rawHeaders.filter((_value, index, raw) => index % 2 === 0 && /templater/i.test(raw[index]!)),
          ['X-Ingress-Templater-Client'],
          'only the client header with "-", which is not ours',
        );
      });

      // ingress-nginx test/e2e/settings/proxy_protocol.go "should trust X-Forwarded headers when the client IP address is trusted"
      it('a trusted PROXY protocol address hands the client address to X-Forwarded-For', async () => {
        // as ingress-nginx's case: "10.0.0.0/8,192.168.0.1/32", and the load balancer
        await withList('10.0.0.0/8,192.168.0.1/32,127.0.0.1/32');
        await rawRequest(ctl!.ports.http, {
          host: PP_HOST,
          proxy: PP_CLIENT,
          headers: { 'X-Forwarded-For': '192.168.0.111' },
        });
        let headers = received();
        assert.equal(headers.host, PP_HOST);
        assert.equal(headers['x-forwarded-port'], '1234');
        assert.equal(headers['x-forwarded-proto'], 'http');
        assert.equal(headers['x-forwarded-for'], '192.168.0.111');
        assert.equal(headers['x-real-ip'], '192.168.0.111');
        // without X-Forwarded-For, the PROXY protocol's address
        await rawRequest(ctl!.ports.http, { host: PP_HOST, proxy: PP_CLIENT });
        assert.equal(received()['x-real-ip'], '192.168.0.1');
        // a load balancer not in the list is not believed at all
        await rawRequest(ctl!.ports.http, {
          host: PP_HOST,
          proxy: PP_CLIENT,
          from: OTHER_PEER,
          headers: { 'X-Forwarded-For': '192.168.0.111' },
        });
        assert.equal(received()['x-real-ip'], OTHER_PEER);
        await ctl!.waitFor(() => /^192\.168\.0\.111 - /m.test(accessLog()), {
          what: 'the access log line of 192.168.0.111',
        });
      });

      it('forwarded scheme and port from the client are passed on; port 443 of the proxy in front is https', async () => {
        const proxy = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 1234';
        await rawRequest(ctl!.ports.http, { host: PP_HOST, proxy, headers: CLIENT_FORWARDED });
        let headers = received();
        assert.equal(headers['x-forwarded-proto'], 'myproto');
        assert.equal(headers['x-forwarded-port'], '1234');
        assert.equal(headers['x-forwarded-host'], 'myhost');
        await rawRequest(ctl!.ports.http, {
          host: PP_HOST,
          proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443',
          headers: { 'X-Forwarded-Proto': 'http' },
        });
        headers = received();
        assert.equal(headers['x-forwarded-proto'], 'https');
        assert.equal(headers['x-forwarded-port'], '443');
      });

      it('ssl-redirect: port 443 of the proxy in front counts before X-Forwarded-Proto', async () => {
        const proxy443 = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443';
        const proxy80 = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 80';
        const statusOf = async (proxy: string, headers: Record<string, string>) =>
          (await rawRequest(ctl!.ports.http, { host: SECURE, proxy, headers })).status;
        assert.equal(await statusOf(proxy443, { 'X-Forwarded-Proto': 'http' }), 200);
        assert.equal(await statusOf(proxy80, { 'X-Forwarded-Proto': 'https' }), 200);
        assert.equal(await statusOf(proxy80, { 'X-Forwarded-Proto': 'http' }), 308);
        assert.equal(await statusOf(proxy80, {}), 308);
      });

      it('compute-full-forwarded-for appends the PROXY protocol address', async () => {
        await applySettings({
          'use-proxy-protocol': 'true',
          'use-forwarded-headers': 'true',
          'compute-full-forwarded-for': 'true',
        });
        await rawRequest(ctl!.ports.http, {
          host: PP_HOST,
          proxy: 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 1234',
          headers: { 'X-Forwarded-For': '192.168.0.111' },
        });
        assert.equal(received()['x-forwarded-for'], '192.168.0.111, 192.168.0.1');
      });
    });
  });
});
