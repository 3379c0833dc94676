// Proxy annotations through the controller, real nginx (Lua balancer) and real pods on loopback:
// proxy-body-size (413 above it), proxy-read-timeout (504 from a slow pod), upstream-vhost (the Host the
// pod sees), x-forwarded-prefix, the ConfigMap's proxy-set-headers, service-upstream (the ClusterIP, not
// the endpoints), and invalid values that deny only their own Ingress's paths (503) and are reported.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startDelayedPod, startPods, type DelayedPod, type Pods } from '../helpers/pods.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';

describe('e2e: proxy annotations', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let echo: Pods; // "echo-1"
  let su: Pods; // "cluster-ip" (the Service's ClusterIP) and "endpoint" (its Endpoints)
  let slow: DelayedPod | undefined; // answers after ?delay=MS milliseconds

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('ann-proxy');
    echo = await startPods([{ name: 'echo-1', address: '127.0.50.1' }]);
    su = await startPods([
      { name: 'cluster-ip', address: '127.0.50.2' },
      { name: 'endpoint', address: '127.0.50.3' },
    ]);
    slow = await startDelayedPod('slow', '127.0.50.4', (req) =>
      Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? '0'),
    );

    manifests.write('settings.yaml', [
      configMap('settings', NS, { 'proxy-set-headers': `${NS}/custom-headers` }),
      // X-Bad is reported and left out; X-Team reaches every backend
      configMap('custom-headers', NS, { 'X-Team': 'payments', 'X-Bad': 'evil\nX-Injected: 1' }),
    ]);
    manifests.write('services.yaml', [
      ...backend('echo', echo),
      // the ClusterIP is a loopback address where a "pod" listens on the Service port (kube-proxy's job)
      service('su-web', { clusterIP: '127.0.50.2', ports: [{ port: su.port, targetPort: su.port }] }),
      endpoints('su-web', { ready: ['127.0.50.3'], port: su.port }),
      service('su-plain', { clusterIP: '127.0.50.2', ports: [{ port: su.port, targetPort: su.port }] }),
      endpoints('su-plain', { ready: ['127.0.50.3'], port: su.port }),
      service('slow', { ports: [{ port: 80, targetPort: slow.port }] }),
      endpoints('slow', { ready: ['127.0.50.4'], port: slow.port }),
    ]);
    manifests.write('ingresses.yaml', [
      ingress('body', {
        host: 'body.test',
        paths: [{ path: '/', service: 'echo' }],
        annotations: { [`${ANNOTATION}proxy-body-size`]: '1k' },
      }),
      ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'echo' }] }),
      ingress('timeout', {
        host: 'slow.test',
        paths: [{ path: '/short', service: 'slow' }],
        annotations: { [`${ANNOTATION}proxy-read-timeout`]: '1' },
      }),
      ingress('no-timeout', { host: 'slow.test', paths: [{ path: '/long', service: 'slow' }] }),
      ingress('vhost', {
        host: 'vhost.test',
        paths: [{ path: '/shop', service: 'echo' }],
        annotations: {
          [`${ANNOTATION}upstream-vhost`]: 'internal.example.svc',
          [`${ANNOTATION}x-forwarded-prefix`]: '/shop',
        },
      }),
      ingress('vhost-plain', { host: 'vhost.test', paths: [{ path: '/', service: 'echo' }] }),
      ingress('su', {
        host: 'su.test',
        paths: [{ path: '/', service: 'su-web', port: su.port }],
        annotations: { [`${ANNOTATION}service-upstream`]: 'true' },
      }),
      ingress('su-plain', { host: 'su-plain.test', paths: [{ path: '/', service: 'su-plain', port: su.port }] }),
    ]);
    manifests.write('invalid.yaml', [
      ingress('bad-size', {
        host: 'bad.test',
        paths: [{ path: '/size', service: 'echo' }],
        annotations: { [`${ANNOTATION}proxy-body-size`]: '1 m' },
      }),
      ingress('bad-prefix', {
        host: 'bad.test',
        paths: [{ path: '/prefix', service: 'echo' }],
        annotations: { [`${ANNOTATION}x-forwarded-prefix`]: '/a\nX-Injected: 1' },
      }),
      ingress('good', { host: 'bad.test', paths: [{ path: '/good', service: 'echo' }] }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(echo, su);
      await slow?.close();
      manifests?.cleanup();
    },
  );

  it('proxy-body-size: a body above it gets 413 from nginx; below it reaches the pod; other Ingresses keep the default', async () => {
    const small = await ctl!.http('body.test', '/', { method: 'POST', body: 'x'.repeat(900) });
    assert.equal(small.status, 200);
    assert.equal(small.pod?.pod, 'echo-1');
    const big = await ctl!.http('body.test', '/', { method: 'POST', body: 'x'.repeat(2000) });
    assert.equal(big.status, 413);
    assert.equal(big.pod, undefined);
    const plain = await ctl!.http('plain.test', '/', { method: 'POST', body: 'x'.repeat(2000) });
    assert.equal(plain.status, 200);
    assert.equal(plain.pod?.pod, 'echo-1');
  });

  it('proxy-read-timeout 1: a pod slower than 1 s gives 504 after about a second; a path without it waits', async () => {
    const fast = await ctl!.http('slow.test', '/short?delay=50');
    assert.equal(fast.status, 200);
    const t0 = Date.now();
    const late = await ctl!.http('slow.test', '/short?delay=2500');
    const took = Date.now() - t0;
    assert.equal(late.status, 504);
    assert.ok(took >= 900 && took < 2400, `504 after ${took} ms`);
    const patient = await ctl!.http('slow.test', '/long?delay=2500', { timeoutMs: 8000 });
    assert.equal(patient.status, 200);
    assert.equal(patient.pod?.pod, 'slow');
  });

  it('upstream-vhost is the Host the pod sees (X-Forwarded-Host keeps the original); x-forwarded-prefix is sent', async () => {
    const reply = await ctl!.http('vhost.test', '/shop/cart');
    assert.equal(reply.status, 200);
    assert.equal(reply.pod?.host, 'internal.example.svc');
    assert.equal(reply.pod?.headers['x-forwarded-host'], 'vhost.test');
    assert.equal(reply.pod?.headers['x-forwarded-prefix'], '/shop');
    assert.equal(reply.pod?.path, '/shop/cart');
    // the same server's other Ingress: the request's Host, no prefix header
    const plain = await ctl!.http('vhost.test', '/other');
    assert.equal(plain.pod?.host, 'vhost.test');
    assert.equal(plain.pod?.headers['x-forwarded-prefix'], undefined);
    // the other standard headers are still sent in the annotated location
    assert.equal(reply.pod?.headers['x-real-ip'], '127.0.0.1');
    assert.equal(reply.pod?.headers['x-forwarded-proto'], 'http');
    assert.ok(reply.pod?.headers['x-request-id']);
  });

  it('proxy-set-headers: every backend gets the ConfigMap headers; an invalid one is reported and not sent', async () => {
    for (const [host, requestPath] of [
      ['plain.test', '/'],
      ['vhost.test', '/shop'],
      ['slow.test', '/long?delay=0'],
    ] as const) {
      const reply = await ctl!.http(host, requestPath);
      assert.equal(reply.pod?.headers['x-team'], 'payments', `${host}${requestPath}`);
      assert.equal(reply.pod?.headers['x-bad'], undefined);
      assert.equal(reply.pod?.headers['x-injected'], undefined);
    }
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some(
        (p) =>
          p.startsWith('error:') &&
          p.includes(`ConfigMap ${NS}/custom-headers`) &&
          p.includes('data.X-Bad') &&
          p.includes('"evil\\nX-Injected: 1"'),
      ),
      problems.join('\n'),
    );
    assert.doesNotMatch(ctl!.nginxConf(), /X-Bad|X-Injected/);
  });

  it('service-upstream: requests go to the Service ClusterIP and port, not to the endpoints', async () => {
    for (let i = 0; i < 4; i++) {
      const reply = await ctl!.http('su.test', '/');
      assert.equal(reply.pod?.pod, 'cluster-ip');
    }
    const plain = await ctl!.http('su-plain.test', '/');
    assert.equal(plain.pod?.pod, 'endpoint');
    const lua = await ctl!.luaBackend(`${NS}_su-web_${su.port}`);
    assert.deepEqual(lua.endpoints, [{ address: '127.0.50.2', port: su.port }]);
  });

  it('invalid values are ignored with their defaults (as ingress-nginx), reported with Ingress, annotation and value, and never reach nginx.conf', async () => {
    // served with the defaults: the http-level body size, no X-Forwarded-Prefix
    const size = await ctl!.http('bad.test', '/size');
    assert.equal(size.pod?.pod, 'echo-1');
    const prefix = await ctl!.http('bad.test', '/prefix');
    assert.equal(prefix.pod?.pod, 'echo-1');
    assert.equal(prefix.pod?.headers['x-forwarded-prefix'], undefined);
    assert.equal(prefix.pod?.headers['x-injected'], undefined);
    const good = await ctl!.http('bad.test', '/good');
    assert.equal(good.status, 200);
    assert.equal(good.pod?.pod, 'echo-1');
    const problems = (await ctl!.status()).problems;
    const has = (ing: string, key: string, value: string) =>
      assert.ok(
        problems.some(
          (p) =>
            p.startsWith('warning:') &&
            p.includes(`Ingress ${NS}/${ing}`) &&
            p.includes(`${ANNOTATION}${key}`) &&
            p.includes(value) &&
            p.includes('ignored, its default applies'),
        ),
        `${ing} ${key} not reported:\n${problems.join('\n')}`,
      );
    has('bad-size', 'proxy-body-size', '"1 m"');
    has('bad-prefix', 'x-forwarded-prefix', '"/a\\nX-Injected: 1"');
    const conf = ctl!.nginxConf();
    assert.doesNotMatch(conf, /X-Injected|1 m;/);
  });

  it('fixing the invalid annotation applies it', async () => {
    const reloads = await ctl!.metric('reloads_total');
    manifests.write('invalid.yaml', [
      ingress('bad-size', {
        host: 'bad.test',
        paths: [{ path: '/size', service: 'echo' }],
        annotations: { [`${ANNOTATION}proxy-body-size`]: '1m' },
      }),
      ingress('good', { host: 'bad.test', paths: [{ path: '/good', service: 'echo' }] }),
    ]);
    await ctl!.waitForReload(reloads);
    const reply = await ctl!.http('bad.test', '/size', { method: 'POST', body: 'x'.repeat(4000) });
    assert.equal(reply.status, 200);
    assert.equal(reply.pod?.pod, 'echo-1');
    const problems = (await ctl!.status()).problems;
    assert.ok(!problems.some((p) => p.includes('Ingress default/bad-')), problems.join('\n'));
  });
});

describe('e2e: proxy-redirect, proxy-cookie-path/-domain, proxy-http-version, enable-access-log', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: http.Server;
  const seenVersions: string[] = [];

  before(async function () {
    manifests = new ManifestDir('ann-proxy-rewrites');
    // a backend that redirects to its own internal name and sets a cookie for its own domain and path
    app = http.createServer((req, res) => {
      seenVersions.push(req.httpVersion);
      res.writeHead(302, {
        location: 'http://app.internal:8080/login?next=/x',
        'set-cookie': 'session=1; Domain=app.internal; Path=/internal/',
        connection: 'close',
      });
      res.end();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.50.11', resolve));
    const port = (app.address() as AddressInfo).port;
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: port }] }),
      endpoints('app', { ready: ['127.0.50.11'], port }),
    ]);
    manifests.write('ingresses.yaml', [
      ingress('rewriting', {
        host: 'rewrite.example.com',
        annotations: {
          [`${ANNOTATION}proxy-redirect-from`]: 'http://app.internal:8080/',
          [`${ANNOTATION}proxy-redirect-to`]: 'https://rewrite.example.com/app/',
          [`${ANNOTATION}proxy-cookie-domain`]: 'app.internal rewrite.example.com',
          [`${ANNOTATION}proxy-cookie-path`]: '/internal/ /app/',
          [`${ANNOTATION}proxy-http-version`]: '1.0',
          [`${ANNOTATION}enable-access-log`]: 'false',
        },
        paths: [{ path: '/', service: 'app' }],
      }),
      ingress('plain', { host: 'plain.example.com', paths: [{ path: '/', service: 'app' }] }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });
  stopAfter(
    () => ctl,
    async () => {
      await new Promise<void>((resolve) => app?.close(() => resolve()));
      manifests?.cleanup();
    },
  );

  it("rewrites the backend's Location and Set-Cookie as the annotations say; another Ingress's pass unchanged", async () => {
    const rewritten = await ctl!.http('rewrite.example.com', '/x');
    assert.equal(rewritten.status, 302);
    assert.equal(rewritten.headers.location, 'https://rewrite.example.com/app/login?next=/x');
    assert.deepEqual(rewritten.headers['set-cookie'], ['session=1; Domain=rewrite.example.com; Path=/app/']);
    const plain = await ctl!.http('plain.example.com', '/x');
    assert.equal(plain.headers.location, 'http://app.internal:8080/login?next=/x');
    assert.deepEqual(plain.headers['set-cookie'], ['session=1; Domain=app.internal; Path=/internal/']);
  });

  it('proxy-http-version 1.0 reaches the backend as HTTP/1.0; the access log leaves that Ingress out', async () => {
    seenVersions.length = 0;
    await ctl!.http('rewrite.example.com', '/v');
    await ctl!.http('plain.example.com', '/v');
    assert.deepEqual(seenVersions, ['1.0', '1.1']);
    // nginx writes the access log line at the end of each request: both are in it, or neither
    const log = await waitForLog(path.join(ctl!.prefix, 'logs', 'access.log'), /default_app_80/);
    const lines = log.split('\n').filter((line) => line.includes('"GET /v '));
    assert.equal(lines.length, 1, log);
  });
});

async function waitForLog(file: string, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (pattern.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}
