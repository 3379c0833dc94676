// The ConfigMap keys that are the default of an annotation (model/settings-defaults.ts) through the
// controller and real nginx: what reaches the backend and the client with the keys set, and an
// Ingress's own annotation overriding them. Retries first without retry-non-idempotent, then with it.
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { serve, type Recorder } from '../helpers/recorder.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const APP = '127.0.89.1';
const BROKEN = '127.0.89.2'; // closes every connection: a backend that fails each request
const ERRORS = '127.0.89.3'; // --default-backend-service: answers 404 and says what it was told
const BIG = 'x'.repeat(160 * 1024);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

function send(
  port: number,
  host: string,
  urlPath: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method, agent: false, headers: { host, ...headers }, timeout: 15_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: Date.now() - started }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${host}${urlPath} timed out`)));
    req.on('error', reject);
    req.end(method === 'POST' ? 'form=1' : undefined);
  });
}

describe('e2e: ConfigMap defaults of annotations (proxy-cookie-*, proxy-redirect-*, limit-rate, retries...)', function () {
  this.timeout(120_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let recorder: Recorder;
  let broken: net.Server;
  let errors: Recorder;
  const accessLog = () => fs.readFileSync(path.join(ctl!.prefix, 'logs', 'access.log'), 'utf8');
  /** Has nginx logged `marker` (a request to site.test sent after the others, logged after theirs)? */
  async function loggedUpTo(marker: string): Promise<string> {
    await send(ctl!.ports.http, 'site.test', marker);
    await ctl!.waitFor(() => accessLog().includes(marker), { timeoutMs: 5000, what: `${marker} in the access log` });
    return accessLog();
  }

  async function reconfigure(data: Record<string, string>): Promise<void> {
    const reloads = await ctl!.metric('reloads_total');
    manifests.write('settings.yaml', configMap('settings', NS, data));
    await ctl!.waitForReload(reloads);
  }

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('configmap-defaults');
    // the app echoes the request headers, sets a cookie for its own domain and path, redirects to itself
    recorder = await serve(APP, (req, res) => {
      if (req.url === '/unavailable') {
        res.writeHead(503, { 'Content-Type': 'text/plain' }).end('the app is down');
        return;
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(BIG);
        return;
      }
      res
        .writeHead(req.url === '/moved' ? 302 : 200, {
          'Content-Type': 'application/json',
          'Set-Cookie': 'session=1; Domain=backend.internal; Path=/',
          Location: 'http://backend.internal/login',
        })
        .end(JSON.stringify(req.headers));
    });
    // as ingress-nginx's custom-error-pages example: the status it is told in X-Code (404 without one)
    errors = await serve(ERRORS, (req, res) => {
      const told = {
        code: req.headers['x-code'] ?? null,
        format: req.headers['x-format'] ?? null,
        namespace: req.headers['x-namespace'] ?? null,
        ingress: req.headers['x-ingress-name'] ?? null,
        uri: req.headers['x-original-uri'] ?? null,
      };
      res.writeHead(Number(told.code ?? 404), { 'Content-Type': 'application/json' }).end(JSON.stringify(told));
    });
    broken = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => broken.listen({ host: BROKEN, port: recorder.port }, resolve));
    manifests.write('app.yaml', [
      service('app', { ports: [{ port: 80, targetPort: recorder.port }] }),
      endpoints('app', { ready: [APP], port: recorder.port }),
      service('errors', { ports: [{ port: 80, targetPort: errors.port }] }),
      endpoints('errors', { ready: [ERRORS], port: errors.port }),
      // one good and one failing pod: round robin sends every other request to the failing one
      service('flaky', { ports: [{ port: 80, targetPort: recorder.port }] }),
      endpoints('flaky', { ready: [APP, BROKEN], port: recorder.port }),
      ingress('site', { host: 'site.test', paths: [{ path: '/', service: 'app' }] }),
      // its own annotations win over the keys
      ingress('own', {
        host: 'own.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}proxy-cookie-path`]: '/ /own/',
          [`${ANNOTATION}proxy-redirect-from`]: 'off',
          [`${ANNOTATION}limit-rate`]: '0',
          [`${ANNOTATION}whitelist-source-range`]: '127.0.0.0/8',
          [`${ANNOTATION}force-ssl-redirect`]: 'false',
        },
      }),
      ingress('flaky', { host: 'flaky.test', paths: [{ path: '/', service: 'flaky' }] }),
    ]);
    manifests.write('settings.yaml', configMap('settings', NS, {}));
    ctl = await startController({
      manifests: manifests.dir,
      extraArgs: ['--configmap', `${NS}/settings`, '--default-backend-service', `${NS}/errors`],
    });
  });

  stopAfter(
    () => ctl,
    async () => {
      await recorder?.close();
      await errors?.close();
      await new Promise((resolve) => broken?.close(resolve));
      manifests?.cleanup();
    },
  );

  describe('without the keys', () => {
    it('cookies, Location and X-Original-URI pass as the backend sent them; a POST is not retried', async () => {
      const reply = await send(ctl!.ports.http, 'site.test', '/page?x=1');
      assert.equal(reply.headers['set-cookie']?.[0], 'session=1; Domain=backend.internal; Path=/');
      assert.equal(reply.headers.location, 'http://backend.internal/login');
      const seen = JSON.parse(reply.body) as Record<string, string>;
      assert.equal(seen['x-original-uri'], undefined);
      // a POST that reaches the failing pod is not sent on to the other (nginx's non_idempotent rule); which
      // pod a request meets depends on the worker that takes it (each balances on its own), so ask until
      // both have been met
      const statuses = new Set<number>();
      for (let round = 0; round < 20 && statuses.size < 2; round++)
        statuses.add((await send(ctl!.ports.http, 'flaky.test', '/', 'POST')).status);
      assert.deepEqual([...statuses].sort(), [200, 502]);
    });

    it("the catch-all proxies to --default-backend-service as it is; an app's 503 reaches the client", async () => {
      const unknown = await send(ctl!.ports.http, 'unknown.test', '/missing', 'GET', { Accept: 'application/json' });
      assert.equal(unknown.status, 404);
      assert.equal((JSON.parse(unknown.body) as { code: string | null }).code, null);
      const down = await send(ctl!.ports.http, 'site.test', '/unavailable');
      assert.equal(down.status, 503);
      assert.equal(down.body, 'the app is down');
    });

    // ingress-nginx test/e2e/defaultbackend/default_backend.go "disables access logging for default backend"
    it("the catch-all's default backend leaves no access log line (enable-access-log-for-default-backend)", async () => {
      await send(ctl!.ports.http, 'unknown.test', '/somethingTwo');
      assert.doesNotMatch(await loggedUpTo('/marker-one'), /somethingTwo/);
    });
  });

  describe('with the keys set', () => {
    before(async () => {
      await reconfigure({
        'proxy-cookie-domain': 'backend.internal site.test',
        'proxy-cookie-path': '/ /app/',
        'proxy-redirect-from': 'http://backend.internal/',
        'proxy-redirect-to': 'http://site.test/',
        'proxy-add-original-uri-header': 'true',
        'retry-non-idempotent': 'true',
        'limit-rate': '40',
        // limit_rate needs buffered answers (ingress-nginx's docs say so; its default, and ours, is off)
        'proxy-buffering': 'on',
        'grpc-buffer-size-kb': '8',
        'proxy-buffers-number': '8',
        'proxy-busy-buffers-size': '8k',
        'custom-http-errors': '404,503',
        'enable-access-log-for-default-backend': 'true',
      });
    });

    // ingress-nginx docs/examples/customization/custom-errors: --default-backend-service and custom-http-errors
    // "404,503": the catch-all's 404 and an app's 503 are answered by the error backend, told the code and format
    it('custom-http-errors: the catch-all and every Ingress send those codes to the default backend', async () => {
      const unknown = await send(ctl!.ports.http, 'unknown.test', '/missing', 'GET', { Accept: 'application/json' });
      assert.equal(unknown.status, 404);
      assert.deepEqual(JSON.parse(unknown.body), {
        code: '404',
        format: 'application/json',
        namespace: null,
        ingress: null,
        uri: '/missing',
      });
      const down = await send(ctl!.ports.http, 'site.test', '/unavailable', 'GET', { Accept: 'text/html' });
      assert.equal(down.status, 503);
      assert.deepEqual(JSON.parse(down.body), {
        code: '503',
        format: 'text/html',
        namespace: NS,
        ingress: 'site',
        uri: '/unavailable',
      });
    });

    // ingress-nginx test/e2e/defaultbackend/default_backend.go "enables access logging for default backend"
    it('enable-access-log-for-default-backend: the catch-all is logged', async () => {
      await send(ctl!.ports.http, 'unknown.test', '/somethingOne');
      assert.match(await loggedUpTo('/marker-two'), /somethingOne/);
    });

    it('proxy-cookie-domain, proxy-cookie-path: the Set-Cookie of every location is rewritten', async () => {
      const reply = await send(ctl!.ports.http, 'site.test', '/');
      assert.equal(reply.headers['set-cookie']?.[0], 'session=1; Domain=site.test; Path=/app/');
    });

    it('proxy-redirect-from, proxy-redirect-to: the Location header is rewritten', async () => {
      const reply = await send(ctl!.ports.http, 'site.test', '/moved');
      assert.equal(reply.status, 302);
      assert.equal(reply.headers.location, 'http://site.test/login');
    });

    it("an Ingress's own annotations replace the keys in its locations", async () => {
      const reply = await send(ctl!.ports.http, 'own.test', '/moved');
      assert.equal(reply.headers.location, 'http://backend.internal/login', 'proxy-redirect-from: off');
      assert.equal(reply.headers['set-cookie']?.[0], 'session=1; Domain=site.test; Path=/own/');
      const big = await send(ctl!.ports.http, 'own.test', '/big');
      assert.equal(big.body.length, BIG.length);
      assert.ok(big.ms < 2000, `limit-rate 0: ${big.ms} ms`);
    });

    it('proxy-add-original-uri-header: the backend gets X-Original-URI with the request URI', async () => {
      const reply = await send(ctl!.ports.http, 'site.test', '/page?x=1');
      const seen = JSON.parse(reply.body) as Record<string, string>;
      assert.equal(seen['x-original-uri'], '/page?x=1');
    });

    // ingress-nginx test/e2e/settings/limit_rate.go "Check limit-rate config" (there the config text; here the speed)
    it('limit-rate: 160 KB at 40 KB/s takes seconds to arrive', async () => {
      const reply = await send(ctl!.ports.http, 'site.test', '/big');
      assert.equal(reply.body.length, BIG.length);
      assert.ok(reply.ms >= 2000, `${reply.ms} ms`);
    });

    it('retry-non-idempotent: a POST that fails on one pod is sent on to the other', async () => {
      for (let round = 0; round < 4; round++) {
        assert.equal((await send(ctl!.ports.http, 'flaky.test', '/', 'POST')).status, 200);
      }
    });

    // ingress-nginx test/e2e/settings/grpc.go "should set the correct GRPC Buffer Size" (the config text, as there)
    it('grpc-buffer-size-kb, proxy-buffers-number, proxy-busy-buffers-size reach nginx.conf, which nginx runs', () => {
      const conf = ctl!.nginxConf();
      assert.match(conf, /\n {4}grpc_buffer_size 8k;\n/);
      assert.match(conf, /\n {4}proxy_buffers 8 4k;\n/);
      assert.match(conf, /\n {4}proxy_busy_buffers_size 8k;\n/);
      assert.match(conf, /\n {4}proxy_next_upstream error timeout non_idempotent;\n/);
    });
  });

  describe('the global access lists and force-ssl-redirect', () => {
    // ingress-nginx test/e2e/settings/configmap_change.go "should reload after an update in the configuration"
    // (it adds a whitelist-source-range and looks for the allow line; here a client outside it gets 403)
    it("whitelist-source-range: a client outside it gets 403; an Ingress's own list replaces it", async () => {
      await reconfigure({ 'whitelist-source-range': '10.0.0.0/8' });
      await ctl!.waitFor(async () => (await send(ctl!.ports.http, 'site.test', '/')).status === 403, {
        timeoutMs: 10_000,
        what: 'the global allow list in effect',
      });
      assert.equal((await send(ctl!.ports.http, 'own.test', '/')).status, 200);
    });

    it('denylist-source-range with an entry that cannot be read refuses every client (fails closed)', async () => {
      await reconfigure({ 'denylist-source-range': '192.0.2.1, not-an-address', 'force-ssl-redirect': 'true' });
      await ctl!.waitFor(async () => (await send(ctl!.ports.http, 'own.test', '/')).status === 403, {
        timeoutMs: 10_000,
        what: 'the refused deny list in effect',
      });
      assert.match(ctl!.log(), /denylist-source-range[^\n]*403/);
    });

    it('force-ssl-redirect: plain HTTP to a host without TLS is redirected, unless its Ingress says "false"', async () => {
      const reply = await send(ctl!.ports.http, 'site.test', '/page?x=1');
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, 'https://site.test/page?x=1');
      // own.test's "false": its deny list answers (403) rather than a redirect
      assert.equal((await send(ctl!.ports.http, 'own.test', '/')).status, 403);
    });
  });
});
