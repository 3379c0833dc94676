// The ConfigMap keys that are the default of an annotation (model/settings-defaults.ts) through the
// controller and real nginx: what reaches the backend and the client with the keys set, and an
// Ingress's own annotation overriding them. Retries first without retry-non-idempotent, then with it.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { serve, type Recorder } from '../helpers/recorder.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const APP = '127.0.89.1';
const BROKEN = '127.0.89.2'; // closes every connection: a backend that fails each request
const BIG = 'x'.repeat(160 * 1024);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

function send(port: number, host: string, urlPath: string, method = 'GET'): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method, agent: false, headers: { host }, timeout: 15_000 },
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
    broken = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => broken.listen({ host: BROKEN, port: recorder.port }, resolve));
    manifests.write('app.yaml', [
      service('app', { ports: [{ port: 80, targetPort: recorder.port }] }),
      endpoints('app', { ready: [APP], port: recorder.port }),
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
        },
      }),
      ingress('flaky', { host: 'flaky.test', paths: [{ path: '/', service: 'flaky' }] }),
    ]);
    manifests.write('settings.yaml', configMap('settings', NS, {}));
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await recorder?.close();
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
      // two POSTs: one reaches the failing pod and is not sent on to the other (nginx's non_idempotent rule)
      const statuses = [];
      for (let round = 0; round < 2; round++)
        statuses.push((await send(ctl!.ports.http, 'flaky.test', '/', 'POST')).status);
      assert.deepEqual(statuses.sort(), [200, 502]);
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
        'grpc-buffer-size-kb': '8',
        'proxy-buffers-number': '8',
        'proxy-busy-buffers-size': '8k',
      });
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
});
