// What answers when nothing routes: spec.defaultBackend, 404 without one, 503 for backends without pods.
import assert from 'node:assert/strict';
import { metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

const SHOP = 'shop.example.com';
const MERGED = 'merged.example.com';
const SLASHED = 'slashed.example.com'; // Exact paths ending in "/"
const SLASHED_ROOT = 'slashed-root.example.com'; // the same, with a Prefix "/" beside them

describe('e2e: default backend, 404 and 503', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;

  const answer = async (host: string, requestPath: string) => {
    const reply = await ctl!.http(host, requestPath);
    return reply.pod ? reply.pod.pod : `status ${reply.status}`;
  };

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('fallback');
    pods = await startPods([
      { name: 'api-pod', address: '127.0.0.101' },
      { name: 'default-pod', address: '127.0.0.102' },
      { name: 'late-pod', address: '127.0.0.104' },
    ]);
    manifests.write('services.yaml', [
      service('api-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('api-svc', { ready: ['127.0.0.101'], port: pods.port }),
      service('empty-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      service('default-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('default-svc', { ready: ['127.0.0.102'], port: pods.port }),
    ]);
    // the only address of empty-svc is not ready
    manifests.write(
      'empty-endpoints.yaml',
      endpoints('empty-svc', { ready: [], notReady: ['127.0.0.104'], port: pods.port }),
    );
    manifests.write(
      'shop.yaml',
      ingress('shop', {
        host: SHOP,
        paths: [
          { path: '/api', service: 'api-svc' },
          { path: '/empty', service: 'empty-svc' },
          { path: '/missing', service: 'missing-svc' },
        ],
      }),
    );
    // paths routed exactly as "/" or "/api" would route them get no location block of their own (render/merge-locations.ts)
    manifests.write(
      'merged.yaml',
      ingress('merged', {
        host: MERGED,
        paths: [
          { path: '/api', service: 'api-svc' },
          { path: '/api/v2', service: 'api-svc' },
          { path: '/same', service: 'default-svc' },
          { path: '/', service: 'default-svc' },
          { path: '/keep', service: 'default-svc', pathType: 'Exact' },
          { path: '/keep', service: 'api-svc' },
        ],
      }),
    );
    manifests.write('slashed.yaml', [
      ingress('slashed', {
        host: SLASHED,
        paths: [
          { path: '/foo/', service: 'api-svc', pathType: 'Exact' },
          { path: '/both/', service: 'api-svc', pathType: 'Exact' },
          { path: '/both', service: 'default-svc', pathType: 'Prefix' },
        ],
      }),
      ingress('slashed-root', {
        host: SLASHED_ROOT,
        paths: [
          { path: '/foo/', service: 'api-svc', pathType: 'Exact' },
          { path: '/', service: 'default-svc' },
        ],
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  it('without a default backend an unmatched host or path answers 404', async function () {
    assert.equal(await answer('unknown.example.org', '/'), 'status 404');
    assert.equal(await answer('unknown.example.org', '/api'), 'status 404');
    assert.equal(await answer(SHOP, '/'), 'status 404');
    assert.equal(await answer(SHOP, '/nothing'), 'status 404');
  });

  it('paths left to an enclosing location answer as their own would', async function () {
    const conf = ctl!.nginxConf();
    const server = conf.slice(conf.indexOf(`## start server ${MERGED}`), conf.indexOf(`## end server ${MERGED}`));
    assert.match(server, /# ingress default\/merged Prefix \/api\/v2\/: same as location "\/api\/"/);
    assert.match(server, /# ingress default\/merged Prefix \/same: same as location "\/"/);
    for (const [requestPath, who] of [
      ['/api', 'api-pod'],
      ['/api/', 'api-pod'],
      ['/api/v2', 'api-pod'],
      ['/api/v2/x', 'api-pod'],
      ['/apix', 'default-pod'],
      ['/same', 'default-pod'],
      ['/same/x', 'default-pod'],
      ['/', 'default-pod'],
      ['/sam', 'default-pod'],
      // "= /keep" keeps its block: without it nginx would answer /keep with a 301 to the "/keep/" location
      ['/keep', 'default-pod'],
      ['/keep/', 'api-pod'],
      ['/keep/x', 'api-pod'],
    ]) {
      assert.equal(await answer(MERGED, requestPath!), who, requestPath);
    }
  });

  it('an Exact path ending in "/" matches only itself: no 301 from "/foo" (nginx\'s auto_redirect), case-sensitive', async function () {
    for (const [host, requestPath, who] of [
      [SLASHED, '/foo/', 'api-pod'],
      [SLASHED, '/foo', 'status 404'],
      [SLASHED, '/FOO/', 'status 404'],
      [SLASHED, '/foo/x', 'status 404'],
      // Exact beats Prefix for "/both/"; the Prefix "/both" has the rest
      [SLASHED, '/both/', 'api-pod'],
      [SLASHED, '/both', 'default-pod'],
      [SLASHED, '/both/x', 'default-pod'],
      [SLASHED_ROOT, '/foo/', 'api-pod'],
      [SLASHED_ROOT, '/foo', 'default-pod'],
    ]) {
      assert.equal(await answer(host!, requestPath!), who, `${host}${requestPath}`);
    }
  });

  it('a Service without ready endpoints or a missing Service answers 503; other paths keep working', async function () {
    assert.equal(await answer(SHOP, '/empty'), 'status 503');
    assert.equal(await answer(SHOP, '/empty/x'), 'status 503');
    assert.equal(await answer(SHOP, '/missing'), 'status 503');
    assert.equal(await answer(SHOP, '/api'), 'api-pod');
    assert.equal(await answer(SHOP, '/api/v1'), 'api-pod');
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some((p) => p.includes('shop.yaml') && p.includes('Service default/missing-svc not found')),
      problems.join('\n'),
    );
  });

  it('a 503 path starts answering once its Service has a ready endpoint (pushed, no reload)', async function () {
    const before = await ctl!.settle();
    manifests.write('empty-endpoints.yaml', endpoints('empty-svc', { ready: ['127.0.0.104'], port: pods.port }));
    await ctl!.waitForPush(before.get(metricKey('endpoint_pushes_total'))!);
    await ctl!.waitFor(async () => (await answer(SHOP, '/empty')) === 'late-pod', { what: '/empty -> late-pod' });
    assert.equal(await answer(SHOP, '/missing'), 'status 503');
    assert.equal(
      (await ctl!.settle()).get(metricKey('reloads_total')),
      before.get(metricKey('reloads_total')),
      'an endpoint-only change must not reload',
    );
  });

  it('spec.defaultBackend of an Ingress without rules answers hosts no Ingress names; named hosts keep their 404', async function () {
    const reloads = await ctl!.metric('reloads_total');
    manifests.write('fallback.yaml', ingress('fallback', { defaultBackend: { service: 'default-svc' } }));
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(async () => (await answer('unknown.example.org', '/')) === 'default-pod', {
      what: 'the default backend',
    });
    const reply = await ctl!.http('unknown.example.org', '/deep/path?x=1');
    assert.equal(reply.pod?.pod, 'default-pod');
    assert.equal(reply.pod?.path, '/deep/path?x=1');
    assert.equal(reply.pod?.host, 'unknown.example.org');
    // as ingress-nginx: a host some Ingress names answers its unmatched paths from that Ingress's own default
    // backend, and shop's has none: the controller's default backend (404, no --default-backend-service)
    assert.equal(await answer(SHOP, '/nothing'), 'status 404');
    assert.equal(await answer(SHOP, '/'), 'status 404');
    // matched rules are not affected: their own backend, or 503 when it has no pods
    assert.equal(await answer(SHOP, '/api'), 'api-pod');
    assert.equal(await answer(SHOP, '/missing'), 'status 503');
  });

  it('a default backend without ready endpoints answers 503 (pushed, no reload); removing it (an Ingress change) reloads and brings back 404', async function () {
    const before = await ctl!.settle();
    const reloads = before.get(metricKey('reloads_total'))!;
    manifests.write('services.yaml', [
      service('api-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('api-svc', { ready: ['127.0.0.101'], port: pods.port }),
      service('empty-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      service('default-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('default-svc', { ready: [], notReady: ['127.0.0.102'], port: pods.port }),
    ]);
    await ctl!.waitForPush(before.get(metricKey('endpoint_pushes_total'))!);
    await ctl!.waitFor(async () => (await answer('unknown.example.org', '/')) === 'status 503', {
      what: '503 from the default backend',
    });
    assert.equal(await answer(SHOP, '/nothing'), 'status 404');
    assert.equal(await answer(SHOP, '/api'), 'api-pod');
    assert.equal(
      (await ctl!.settle()).get(metricKey('reloads_total')),
      reloads,
      'an endpoint-only change must not reload',
    );

    manifests.remove('fallback.yaml');
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(async () => (await answer('unknown.example.org', '/')) === 'status 404', {
      what: '404 without a default backend',
    });
    assert.equal(await answer(SHOP, '/nothing'), 'status 404');
  });
});

describe('e2e: --default-backend-service and an Ingress default backend with rules (as ingress-nginx)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;
  const answer = async (host: string, requestPath: string) => {
    const reply = await ctl!.http(host, requestPath);
    return reply.pod ? reply.pod.pod : `status ${reply.status}`;
  };

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('default-service');
    pods = await startPods([
      { name: 'app-pod', address: '127.0.0.111' },
      { name: 'own-default-pod', address: '127.0.0.112' },
      { name: 'controller-default-pod', address: '127.0.0.113' },
    ]);
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('app', { ready: ['127.0.0.111'], port: pods.port }),
      service('own-default', { ports: [{ port: 80, targetPort: pods.port }] }),
      endpoints('own-default', { ready: ['127.0.0.112'], port: pods.port }),
      // the controller's default backend, in its own namespace, on its first port
      service('fallback', { namespace: 'infra', ports: [{ port: 8080, targetPort: pods.port }] }),
      endpoints('fallback', { namespace: 'infra', ready: ['127.0.0.113'], port: pods.port }),
    ]);
    manifests.write('ingresses.yaml', [
      ingress('owned', {
        host: 'owned.example.com',
        defaultBackend: { service: 'own-default' },
        paths: [{ path: '/app', service: 'app' }],
      }),
      ingress('bare', { host: 'bare.example.com', paths: [{ path: '/app', service: 'app' }] }),
      // custom-http-errors without a default-backend annotation: its pages are the controller's default
      // backend's, never the Ingress's spec.defaultBackend (which answers its host's unmatched paths)
      ingress('paged', {
        host: 'paged.example.com',
        defaultBackend: { service: 'own-default' },
        annotations: { 'nginx.ingress.kubernetes.io/custom-http-errors': '503' },
        paths: [{ path: '/gone', service: 'no-such-svc' }],
      }),
    ]);
    ctl = await startController({
      manifests: manifests.dir,
      extraArgs: ['--default-backend-service', 'infra/fallback'],
    });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  it("an Ingress's own default backend answers its host's unmatched paths, and no other host", async function () {
    assert.equal(await answer('owned.example.com', '/app'), 'app-pod');
    assert.equal(await answer('owned.example.com', '/elsewhere'), 'own-default-pod');
    assert.equal(await answer('bare.example.com', '/elsewhere'), 'controller-default-pod');
  });

  // ingress-nginx test/e2e/annotations/customhttperrors.go "configures Nginx correctly": its error pages went to
  // upstream-default-backend, which is --default-backend-service when set
  it("custom-http-errors: the error page comes from --default-backend-service, not the Ingress's spec.defaultBackend", async function () {
    const reply = await ctl!.http('paged.example.com', '/gone/x', { headers: { 'x-request-id': 'trace-1' } });
    assert.equal(reply.pod?.pod, 'controller-default-pod', reply.body);
    assert.equal(reply.pod?.headers['x-code'], '503');
    assert.equal(reply.pod?.headers['x-service-name'], 'no-such-svc', 'the missing Service, by name');
    assert.equal(reply.pod?.headers['x-ingress-name'], 'paged');
    assert.equal(reply.pod?.headers['x-request-id'], 'trace-1', "the client's request ID");
    assert.equal(await answer('paged.example.com', '/elsewhere'), 'own-default-pod');
  });

  it('--default-backend-service answers hosts no Ingress names and paths no default covers', async function () {
    assert.equal(await answer('unknown.example.org', '/x'), 'controller-default-pod');
    assert.equal(await answer('bare.example.com', '/'), 'controller-default-pod');
  });
});
