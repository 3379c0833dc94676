// The settings ConfigMap keys of issue 13 through the controller and real nginx, as ingress-nginx's
// test/e2e/settings cases exercised them: TLS protocols, ciphers and session tickets seen by a real TLS
// client, gzip by what the responses carry, block-* by who gets a 403 (an unreadable entry refuses
// everyone), the access log's format by the lines nginx writes, and the client buffers, header timeout,
// retries and worker shutdown time by what nginx does with a request.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { serve, type Recorder } from '../helpers/recorder.js';
import { waitFor } from '../helpers/wait.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const APP = '127.0.86.1';
const DEAD = '127.0.86.2'; // the app's port on an address where nothing listens: connections are refused
const OTHER_CLIENT = '127.0.86.9'; // a client address of its own, for block-cidrs

const XML = `<?xml version="1.0"?><slideshow>${'<slide><title>gzip me</title></slide>'.repeat(20)}</slideshow>`;
const HTML = `<!DOCTYPE html><html><body>${'<p>gzip me</p>'.repeat(40)}</body></html>`;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One plain HTTP request to nginx, from a chosen loopback source address, the raw body kept. */
function get(
  port: number,
  host: string,
  urlPath: string,
  headers: Record<string, string> = {},
  localAddress = '127.0.0.1',
  timeoutMs = 5000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        agent: false,
        localAddress,
        headers: { host, ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${host}${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

interface Handshake {
  protocol: string | null;
  cipher: string;
  ticket: boolean; // the server sent a TLS session ticket
  session: Buffer | undefined; // to resume the session with
  reused: boolean; // the session given was resumed
}

/** A TLS handshake with nginx as a client limited to some protocol versions and ciphers would make it. */
function handshake(
  port: number,
  servername: string,
  options: { min: tls.SecureVersion; max: tls.SecureVersion; ciphers?: string; session?: Buffer | undefined },
): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      minVersion: options.min,
      maxVersion: options.max,
      // the client offers old protocols and ciphers at all only below OpenSSL's default security level
      ciphers: options.ciphers ?? 'DEFAULT@SECLEVEL=0',
      timeout: 5000,
      ...(options.session ? { session: options.session } : {}),
    });
    socket.once('secureConnect', () => {
      // a TLS 1.2 ticket arrives with the handshake; ask for a page so that the answer follows it
      socket.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', () => {});
    socket.once('end', () => {
      resolve({
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().standardName ?? socket.getCipher().name,
        ticket: socket.getTLSTicket() !== undefined,
        session: socket.getSession(),
        reused: socket.isSessionReused(),
      });
    });
    socket.once('timeout', () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('error', reject);
  });
}

/** Rewrite the settings ConfigMap and wait until nginx runs the config made from it and `ready` holds. */
async function reconfigure(
  ctl: RunningController,
  manifests: ManifestDir,
  data: Record<string, string>,
  ready: () => Promise<boolean>,
): Promise<void> {
  const reloads = await ctl.metric('reloads_total');
  manifests.write('settings.yaml', configMap('settings', NS, data));
  await ctl.waitForReload(reloads);
  // an old worker may still accept a connection for a moment after the reload
  await ctl.waitFor(ready, { timeoutMs: 10_000, what: 'the new settings in effect' });
}

/** The app: /xml, /html, /bytes/N (application/octet-stream), /hang (never answers), else JSON. */
async function app(): Promise<Recorder> {
  // with a Content-Length: gzip_min_length reads it (a chunked answer is compressed whatever its size)
  const send = (res: http.ServerResponse, type: string, body: string | Buffer) =>
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body);
  return serve(APP, (req, res) => {
    const bytes = /^\/bytes\/([0-9]+)$/.exec(req.url);
    if (req.url === '/xml') send(res, 'application/xml', XML);
    else if (req.url === '/html') send(res, 'text/html', HTML);
    else if (bytes) send(res, 'application/octet-stream', Buffer.alloc(Number(bytes[1]), 97));
    else if (req.url === '/hang') {
      /* no answer: the request stays in flight */
    } else send(res, 'application/json', '{"app":true}');
  });
}

function writeApp(manifests: ManifestDir, recorder: Recorder, hosts: Record<string, Record<string, string>>): void {
  manifests.write('services.yaml', [
    service('app', { ports: [{ port: 80, targetPort: recorder.port }] }),
    endpoints('app', { ready: [APP], port: recorder.port }),
    // two endpoints, one refusing connections: what a retry to the next upstream hides
    service('flaky', { ports: [{ port: 80, targetPort: recorder.port }] }),
    endpoints('flaky', { ready: [APP, DEAD], port: recorder.port }),
  ]);
  manifests.write(
    'ingresses.yaml',
    Object.entries(hosts).map(([host, annotations]) =>
      ingress(host.split('.')[0]!, {
        host,
        tls: [{ hosts: [host] }],
        paths: [{ path: '/', service: host.startsWith('flaky') ? 'flaky' : 'app' }],
        annotations: { [`${ANNOTATION}ssl-redirect`]: 'false', ...annotations },
      }),
    ),
  );
}

const TLS12 = { min: 'TLSv1.2', max: 'TLSv1.2' } as const;

/** Is a TLS 1.2 session resumed by a second connection? */
async function resumed(port: number, waitMs = 0): Promise<boolean> {
  const first = await handshake(port, 'site.test', TLS12);
  if (waitMs) await new Promise((resolve) => setTimeout(resolve, waitMs));
  return (await handshake(port, 'site.test', { ...TLS12, session: first.session })).reused;
}

describe('e2e: settings ConfigMap keys (TLS, gzip, block-*, log format, buffers, retries)', function () {
  this.timeout(120_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let recorder: Recorder;
  const accessLog = () => fs.readFileSync(path.join(ctl!.prefix, 'logs', 'access.log'), 'utf8');

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('configmap-settings');
    recorder = await app();
    writeApp(manifests, recorder, {
      'site.test': {},
      'flaky.test': {},
      // the annotation overrides the ConfigMap's default for its own locations
      'flaky-retried.test': { [`${ANNOTATION}proxy-next-upstream`]: 'error timeout' },
      // a location's own allow/deny cannot let a blocked client in
      'allowed.test': { [`${ANNOTATION}whitelist-source-range`]: '127.0.0.0/8' },
    });
    manifests.write('settings.yaml', configMap('settings', NS, {}));
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await recorder?.close();
      manifests?.cleanup();
    },
  );

  describe('without the keys: ingress-nginx defaults', () => {
    it('TLS: TLSv1.1 is refused, TLSv1.2 and TLSv1.3 are served', async () => {
      await assert.rejects(handshake(ctl!.ports.https, 'site.test', { min: 'TLSv1', max: 'TLSv1.1' }), (err: Error) =>
        /alert protocol version/i.test(err.message),
      );
      assert.equal(
        (await handshake(ctl!.ports.https, 'site.test', { min: 'TLSv1.2', max: 'TLSv1.2' })).protocol,
        'TLSv1.2',
      );
      assert.equal(
        (await handshake(ctl!.ports.https, 'site.test', { min: 'TLSv1.3', max: 'TLSv1.3' })).protocol,
        'TLSv1.3',
      );
    });

    it("TLS 1.2: ingress-nginx's cipher list in the server's order, no CBC suite, no session ticket", async () => {
      // the client prefers AES256, the server's list puts AES128 first and the server's order wins
      const chosen = await handshake(ctl!.ports.https, 'site.test', {
        min: 'TLSv1.2',
        max: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256',
      });
      assert.equal(chosen.cipher, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
      assert.equal(chosen.ticket, false, 'ssl_session_tickets off');
      // in nginx's own default (HIGH:!aNULL:!MD5), not in ingress-nginx's list
      await assert.rejects(
        handshake(ctl!.ports.https, 'site.test', { min: 'TLSv1.2', max: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }),
        /handshake failure|no shared cipher|alert/i,
      );
    });

    // ingress-nginx test/e2e/settings/ssl_session_cache.go "should have default ssl_session_cache and ssl_session_timeout values"
    // ingress-nginx test/e2e/settings/ssl_session_tickets.go "should have default ssl_session_tickets value"
    it('TLS 1.2: a session is resumed from the shared cache, without a ticket', async () => {
      const first = await handshake(ctl!.ports.https, 'site.test', TLS12);
      assert.equal(first.ticket, false);
      const again = await handshake(ctl!.ports.https, 'site.test', { ...TLS12, session: first.session });
      assert.equal(again.reused, true);
    });

    // ingress-nginx test/e2e/settings/gzip.go "should be disabled by default"
    it('gzip is off', async () => {
      const reply = await get(ctl!.ports.http, 'site.test', '/xml', { 'Accept-Encoding': 'gzip' });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-encoding'], undefined);
      assert.equal(reply.body.toString(), XML);
    });

    it('a 2k header fits the default large_client_header_buffers (4 8k)', async () => {
      const reply = await get(ctl!.ports.http, 'site.test', '/', { 'X-Big': 'b'.repeat(2048) });
      assert.equal(reply.status, 200);
    });

    it("a refused connection to one endpoint is retried on the next (proxy-next-upstream's error timeout)", async () => {
      for (let attempt = 0; attempt < 8; attempt++)
        assert.equal((await get(ctl!.ports.http, 'flaky.test', '/')).status, 200, `request ${attempt}`);
    });

    // ingress-nginx test/e2e/settings/log-format.go "should not configure log-format escape by default"
    it("the access log has the controller's format, the client's X-Request-ID in it", async () => {
      assert.doesNotMatch(ctl!.nginxConf(), /log_format upstreaminfo escape/);
      await get(ctl!.ports.http, 'site.test', '/logged', {
        'X-Request-ID': 'trace-default-format',
        'User-Agent': 'say "hi"',
      });
      // nginx's default escaping: a quote of a value is written \x22
      await waitFor(
        () => /"GET \/logged HTTP\/1\.1" 200 .*"say \\x22hi\\x22".* trace-default-format\n/.test(accessLog()),
        {
          timeoutMs: 5000,
          what: 'the access log line',
        },
      );
    });
  });

  describe('gzip keys', () => {
    // ingress-nginx test/e2e/settings/gzip.go "should be enabled with default settings"
    it('use-gzip: application/xml is compressed with the default types', async () => {
      await reconfigure(ctl!, manifests, { 'use-gzip': 'true' }, async () =>
        Boolean(
          (await get(ctl!.ports.http, 'site.test', '/xml', { 'Accept-Encoding': 'gzip' })).headers['content-encoding'],
        ),
      );
      const reply = await get(ctl!.ports.http, 'site.test', '/xml', { 'Accept-Encoding': 'gzip' });
      assert.equal(reply.headers['content-encoding'], 'gzip');
      assert.equal(reply.headers.vary, 'Accept-Encoding');
      assert.equal(zlib.gunzipSync(reply.body).toString(), XML);
      // 12 bytes of JSON are under gzip_min_length 256
      const small = await get(ctl!.ports.http, 'site.test', '/', { 'Accept-Encoding': 'gzip' });
      assert.equal(small.headers['content-encoding'], undefined);
    });

    // ingress-nginx test/e2e/settings/gzip.go "should set gzip_comp_level to 4"
    // ingress-nginx test/e2e/settings/gzip.go "should set gzip_disable to msie6"
    // ingress-nginx test/e2e/settings/gzip.go "should set gzip_min_length to 100"
    // ingress-nginx test/e2e/settings/gzip.go "should set gzip_types to text/html"
    it('gzip-level, gzip-disable, gzip-min-length and gzip-types', async () => {
      await reconfigure(
        ctl!,
        manifests,
        {
          'use-gzip': 'true',
          'gzip-level': '4',
          'gzip-disable': 'msie6',
          'gzip-min-length': '100',
          'gzip-types': 'text/html application/octet-stream',
        },
        async () =>
          !(await get(ctl!.ports.http, 'site.test', '/xml', { 'Accept-Encoding': 'gzip' })).headers['content-encoding'],
      );
      assert.match(ctl!.nginxConf(), /\n {4}gzip_comp_level 4;\n/);
      const encoding = async (urlPath: string, agent = 'Mozilla/4.8 [en] (Windows NT 5.1; U)') =>
        (await get(ctl!.ports.http, 'site.test', urlPath, { 'Accept-Encoding': 'gzip', 'User-Agent': agent })).headers[
          'content-encoding'
        ];
      assert.equal(await encoding('/html'), 'gzip');
      assert.equal(await encoding('/xml'), undefined, 'application/xml is no longer in gzip_types');
      assert.equal(await encoding('/bytes/99'), undefined, 'under gzip_min_length');
      assert.equal(await encoding('/bytes/100'), 'gzip');
      assert.equal(await encoding('/html', 'Mozilla/45.0 (compatible; MSIE 6.0; Windows NT 5.1)'), undefined, 'msie6');
    });
  });

  describe('TLS keys', () => {
    // ingress-nginx test/e2e/settings/tls.go "setting cipher suite"
    // ingress-nginx test/e2e/settings/ssl_ciphers.go "Add ssl ciphers"
    // ingress-nginx test/e2e/settings/ssl_session_tickets.go "should set ssl_session_tickets value"
    // (with ECDSA suites: the default certificate here is an EC key)
    it('ssl-protocols, ssl-ciphers, ssl-session-tickets: TLSv1.3 refused, the server picks its first cipher', async () => {
      const ciphers = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256';
      await reconfigure(
        ctl!,
        manifests,
        { 'ssl-protocols': 'TLSv1.2', 'ssl-ciphers': ciphers, 'ssl-session-tickets': 'true' },
        () =>
          handshake(ctl!.ports.https, 'site.test', { min: 'TLSv1.3', max: 'TLSv1.3' }).then(
            () => false,
            () => true,
          ),
      );
      const offered = {
        min: 'TLSv1.2',
        max: 'TLSv1.3',
        ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
      } as const;
      const chosen = await handshake(ctl!.ports.https, 'site.test', offered);
      assert.equal(chosen.protocol, 'TLSv1.2');
      assert.equal(chosen.cipher, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
      assert.equal(chosen.ticket, true);
    });

    it("ssl-prefer-server-ciphers false: the client's order wins", async () => {
      const offered = {
        min: 'TLSv1.2',
        max: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
      } as const;
      await reconfigure(
        ctl!,
        manifests,
        {
          'ssl-protocols': 'TLSv1.2',
          'ssl-ciphers': 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256',
          'ssl-prefer-server-ciphers': 'false',
        },
        async () => (await handshake(ctl!.ports.https, 'site.test', offered)).cipher.includes('AES_128'),
      );
      assert.equal((await handshake(ctl!.ports.https, 'site.test', offered)).ticket, false);
    });

    // ingress-nginx test/e2e/settings/ssl_session_cache.go "should disable ssl_session_cache"
    it('ssl-session-cache false: no session is resumed', async () => {
      await reconfigure(
        ctl!,
        manifests,
        { 'ssl-session-cache': 'false' },
        async () => !(await resumed(ctl!.ports.https)),
      );
      assert.equal(await resumed(ctl!.ports.https), false);
    });

    // ingress-nginx test/e2e/settings/ssl_session_cache.go "should set ssl_session_cache value"
    // ingress-nginx test/e2e/settings/ssl_session_cache.go "should set ssl_session_timeout value"
    it('ssl-session-cache-size and ssl-session-timeout: resumed at once, not once the timeout has passed', async () => {
      await reconfigure(
        ctl!,
        manifests,
        { 'ssl-session-cache-size': '20m', 'ssl-session-timeout': '2s' },
        async () => /shared:SSL:20m;/.test(ctl!.nginxConf()) && (await resumed(ctl!.ports.https)),
      );
      assert.equal(await resumed(ctl!.ports.https, 3000), false, 'expired after 2 s');
    });

    it('an invalid value is a warning, and the default applies', async () => {
      await reconfigure(ctl!, manifests, { 'ssl-protocols': 'TLSv1.2; ssl_protocols SSLv3' }, () =>
        handshake(ctl!.ports.https, 'site.test', { min: 'TLSv1.3', max: 'TLSv1.3' }).then(
          () => true,
          () => false,
        ),
      );
      const { problems } = await ctl!.status();
      assert.ok(
        problems.some((problem) => /data\.ssl-protocols.*ignored, its default applies/.test(problem)),
        problems.join('\n'),
      );
      assert.doesNotMatch(ctl!.nginxConf(), /SSLv3/);
      assert.match(ctl!.nginxConf(), /\n {4}ssl_protocols TLSv1\.2 TLSv1\.3;\n/);
    });
  });

  describe('block-* keys', () => {
    const status = async (host: string, headers: Record<string, string> = {}, from = '127.0.0.1') =>
      (await get(ctl!.ports.http, host, '/', headers, from)).status;

    // ingress-nginx test/e2e/settings/global_access_block.go "should block CIDRs defined in the ConfigMap"
    // ingress-nginx test/e2e/settings/global_access_block.go "should block User-Agents defined in the ConfigMap"
    // ingress-nginx test/e2e/settings/global_access_block.go "should block Referers defined in the ConfigMap"
    it('CIDRs, user agents (a ~* regex and a string) and referers get 403; others pass', async () => {
      await reconfigure(
        ctl!,
        manifests,
        {
          'block-cidrs': `172.16.0.0/12,192.168.0.0/16,10.0.0.0/8,${OTHER_CLIENT}`,
          'block-user-agents': '~*chrome\\/68\\.0\\.3440\\.106\\ safari\\/537\\.36,AlphaBot',
          'block-referers': '~*example\\.com,qwerty',
        },
        async () => (await status('site.test', {}, OTHER_CLIENT)) === 403,
      );
      assert.equal(await status('site.test'), 200);
      assert.equal(await status('site.test', {}, OTHER_CLIENT), 403);
      const chrome =
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.106 Safari/537.36';
      assert.equal(await status('site.test', { 'User-Agent': chrome }), 403);
      assert.equal(await status('site.test', { 'User-Agent': 'AlphaBot' }), 403);
      const iphone =
        'Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/11.0 Mobile/15E148 Safari/604.1';
      assert.equal(await status('site.test', { 'User-Agent': iphone }), 200);
      assert.equal(await status('site.test', { Referer: 'example.com' }), 403);
      assert.equal(await status('site.test', { Referer: 'qwerty' }), 403);
      assert.equal(await status('site.test', { Referer: 'qwerty123' }), 200);
    });

    it("everywhere: a host nobody serves, HTTPS, a location's own allow list", async () => {
      assert.equal(await status('unknown.test', {}, OTHER_CLIENT), 403);
      assert.equal(await status('unknown.test'), 404);
      assert.equal(await status('allowed.test'), 200);
      assert.equal(
        await status('allowed.test', {}, OTHER_CLIENT),
        403,
        'whitelist-source-range 127.0.0.0/8 does not unblock',
      );
      const secure = await ctl!.https('site.test', '/', { headers: { 'User-Agent': 'AlphaBot' } });
      assert.equal(secure.status, 403);
    });

    it('an unreadable entry refuses every request (403) with an error, never a silent unblock; fixed, all pass again', async () => {
      await reconfigure(
        ctl!,
        manifests,
        { 'block-cidrs': `${OTHER_CLIENT},10.0.0.0/33` },
        async () => (await status('site.test')) === 403,
      );
      assert.equal(await status('site.test', {}, OTHER_CLIENT), 403);
      assert.equal(await status('unknown.test'), 403);
      const { problems, ready } = await ctl!.status();
      assert.ok(
        problems.some((problem) =>
          /data\.block-cidrs.*"10\.0\.0\.0\/33".*every request is refused \(403\)/.test(problem),
        ),
        problems.join('\n'),
      );
      assert.equal(ready.ok, true, 'the controller keeps serving its config: the refusal is the config');
      await reconfigure(
        ctl!,
        manifests,
        { 'block-cidrs': OTHER_CLIENT },
        async () => (await status('site.test')) === 200,
      );
      assert.equal(await status('site.test', {}, OTHER_CLIENT), 403);
    });
  });

  describe('log-format keys', () => {
    /** The log line of a request whose header `name` is `value`. */
    async function logged(name: string, value: string, expected: string): Promise<void> {
      await get(ctl!.ports.http, 'site.test', '/', { [name]: value });
      await waitFor(() => accessLog().includes(expected), {
        timeoutMs: 5000,
        what: `${expected} in the access log:\n${accessLog().slice(-1000)}`,
      });
    }

    // ingress-nginx test/e2e/settings/log-format.go "log-format-escape-json enabled"
    // ingress-nginx test/e2e/settings/log-format.go "should enable the log-format-escape-json"
    it('log-format-escape-json with a format of header variables', async () => {
      await reconfigure(
        ctl!,
        manifests,
        {
          'log-format-escape-json': 'true',
          'log-format-upstream': '"{"my_header1":"$http_header1", "my_header2":"$http_header2"}"',
        },
        async () => /log_format upstreaminfo escape=json/.test(ctl!.nginxConf()),
      );
      await logged(
        'header1',
        'Here is "header1" with json escape',
        '{"my_header1":"Here is \\"header1\\" with json escape", "my_header2":""}',
      );
    });

    // ingress-nginx test/e2e/settings/log-format.go "log-format default escape"
    // ingress-nginx test/e2e/settings/log-format.go "should disable the log-format-escape-json"
    // ingress-nginx test/e2e/settings/log-format.go "should disable the log-format-escape-none"
    it('the default escape writes a quote as \\x22 and a missing header as -', async () => {
      await reconfigure(
        ctl!,
        manifests,
        {
          'log-format-escape-json': 'false',
          'log-format-escape-none': 'false',
          'log-format-upstream': '"{"my_header3":"$http_header3", "my_header4":"$http_header4"}"',
        },
        async () => /my_header3/.test(ctl!.nginxConf()),
      );
      assert.doesNotMatch(ctl!.nginxConf(), /log_format upstreaminfo escape/);
      await logged(
        'header3',
        'Here is "header3" with default escape',
        '{"my_header3":"Here is \\x22header3\\x22 with default escape", "my_header4":"-"}',
      );
    });

    // ingress-nginx test/e2e/settings/log-format.go "log-format-escape-none enabled"
    // ingress-nginx test/e2e/settings/log-format.go "should enable the log-format-escape-none"
    it('log-format-escape-none writes the value as it came', async () => {
      await reconfigure(
        ctl!,
        manifests,
        {
          'log-format-escape-none': 'true',
          'log-format-upstream': '"{"my_header5":"$http_header5", "my_header6":"$http_header6"}"',
        },
        async () => /log_format upstreaminfo escape=none/.test(ctl!.nginxConf()),
      );
      await logged(
        'header5',
        'Here is "header5" with none escape',
        '{"my_header5":"Here is "header5" with none escape", "my_header6":""}',
      );
    });

    it("a format that tries to end its directive is logged as text; ingress-nginx's $req_id is the request id", async () => {
      await reconfigure(
        ctl!,
        manifests,
        { 'log-format-upstream': 'id=$req_id \'; access_log off; \\" h=$http_header7' },
        async () => /header7/.test(ctl!.nginxConf()),
      );
      await get(ctl!.ports.http, 'site.test', '/', { 'X-Request-ID': 'trace-7', header7: 'seven' });
      await waitFor(() => accessLog().includes(`id=trace-7 '; access_log off; \\" h=seven\n`), {
        timeoutMs: 5000,
        what: `the literal format in the access log:\n${accessLog().slice(-1000)}`,
      });
    });

    it('a format naming a variable nginx does not have is ignored with a warning', async () => {
      await reconfigure(ctl!, manifests, { 'log-format-upstream': '$namespace $ingress_name' }, async () =>
        /\$ingress_templater_request_id';\n/.test(ctl!.nginxConf()),
      );
      const { problems } = await ctl!.status();
      assert.ok(
        problems.some((problem) => /data\.log-format-upstream.*ignored, its default applies/.test(problem)),
        problems.join('\n'),
      );
    });
  });

  describe('buffers, timeouts, retries, worker shutdown', () => {
    it('large-client-header-buffers: a header longer than a buffer is refused (400)', async () => {
      await reconfigure(
        ctl!,
        manifests,
        { 'large-client-header-buffers': '2 1k' },
        async () => (await get(ctl!.ports.http, 'site.test', '/', { 'X-Big': 'b'.repeat(2048) })).status === 400,
      );
      assert.equal((await get(ctl!.ports.http, 'site.test', '/', { 'X-Small': 'b'.repeat(512) })).status, 200);
    });

    it('client-header-timeout: a client that stops sending its headers is dropped after it', async () => {
      await reconfigure(ctl!, manifests, { 'client-header-timeout': '1' }, async () =>
        /client_header_timeout 1s;/.test(ctl!.nginxConf()),
      );
      const started = Date.now();
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(ctl!.ports.http, '127.0.0.1', () =>
          socket.write('GET / HTTP/1.1\r\nHost: site.test\r\n'),
        );
        socket.on('data', () => {});
        socket.once('close', () => resolve());
        socket.once('error', reject);
        socket.setTimeout(10_000, () => socket.destroy(new Error('nginx kept the connection for 10 s')));
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900 && elapsed < 5000, `closed after ${elapsed} ms`);
    });

    // ingress-nginx test/e2e/settings/proxy_next_upstream.go "should build proxy next upstream using configmap values"
    // (by what the requests get, not the config text)
    it('proxy-next-upstream off: a refused endpoint is a 502; the annotation still retries its own locations', async () => {
      await reconfigure(ctl!, manifests, { 'proxy-next-upstream': 'off' }, async () =>
        /\n {4}proxy_next_upstream off;\n/.test(ctl!.nginxConf()),
      );
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 10; attempt++)
        statuses.push((await get(ctl!.ports.http, 'flaky.test', '/')).status);
      assert.ok(statuses.includes(502) && statuses.includes(200), statuses.join(' '));
      for (let attempt = 0; attempt < 10; attempt++)
        assert.equal((await get(ctl!.ports.http, 'flaky-retried.test', '/')).status, 200, `request ${attempt}`);
    });

    it('worker-shutdown-timeout: a reload ends the old workers within it, a request in flight with them', async () => {
      await reconfigure(ctl!, manifests, { 'worker-shutdown-timeout': '2s' }, async () =>
        /\nworker_shutdown_timeout 2s;\n/.test(ctl!.nginxConf()),
      );
      // a request the app never answers (proxy_read_timeout is 60 s); a reload then retires its worker
      const inFlight = get(ctl!.ports.http, 'site.test', '/hang', {}, '127.0.0.1', 30_000).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      await waitFor(() => recorder.seen.some((seen) => seen.url === '/hang'), {
        timeoutMs: 5000,
        what: 'the app saw /hang',
      });
      await reconfigure(ctl!, manifests, { 'worker-shutdown-timeout': '2s', 'client-header-timeout': '30' }, async () =>
        /client_header_timeout 30s;/.test(ctl!.nginxConf()),
      );
      const reloaded = Date.now();
      const outcome = await inFlight;
      const elapsed = Date.now() - reloaded;
      // without the timeout the old worker would wait for the app for proxy_read_timeout (60 s)
      assert.match(outcome, /socket hang up|ECONNRESET/);
      assert.ok(elapsed < 3500, `the connection ended ${elapsed} ms after the reload`);
    });
  });
});
