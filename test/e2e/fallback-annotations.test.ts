// What answers the paths no rule of a host matches, through real nginx: as ingress-nginx's root location of
// the host (controller.go createServers), the location annotations of the host's oldest Ingress guard and
// shape them (basic auth, allow lists, a redirect, proxy buffers for its own spec.defaultBackend), an invalid
// one denies them, and the catch-all's Ingress keeps its auth but not its redirect. Beside it: custom-http-errors
// without any default backend (ingress-nginx's built-in one answered 404), X-Service-Name of a missing
// Service, disable-proxy-intercept-errors, and paths with a resource backend (404).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { basicAuth } from '../helpers/http.js';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { json, serve, type Recorder } from '../helpers/recorder.js';
import { ManifestDir, endpoints, ingress, service } from '../helpers/manifests.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const APP = '127.0.113.1';
const ERRORS = '127.0.113.2';
// a response header longer than nginx's default proxy_buffer_size (4k), shorter than 8k
const BIG_HEADER = 'x'.repeat(6000);

const basic = {
  [`${ANNOTATION}auth-type`]: 'basic',
  [`${ANNOTATION}auth-secret`]: 'basic-users',
  [`${ANNOTATION}auth-realm`]: 'Staff only',
};

describe('e2e: the unmatched paths of a host carry its oldest Ingress annotations; custom errors without a default backend', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Recorder;
  let errorsPod: Recorder;
  const alice = { authorization: basicAuth('alice', 's3cret') };

  /** The pod that answered (x-pod), else the status nginx answered itself. */
  const who = async (host: string, requestPath: string, headers: Record<string, string> = {}) => {
    const reply = await ctl!.http(host, requestPath, { headers });
    return reply.headers['x-pod'] ? `${reply.headers['x-pod']} ${reply.status}` : `nginx ${reply.status}`;
  };
  /** An Ingress whose rule names a host without paths (no http), and spec.defaultBackend: the app. */
  const hostWithDefault = (name: string, annotations: Record<string, string>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      defaultBackend: { service: { name: 'app', port: { number: 80 } } },
      rules: [{ host: `${name}.example.com` }],
    },
  });
  const seenBy = (body: string) => JSON.parse(body) as { url: string; headers: Record<string, string> };

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('fallback-annotations');
    // the app: echoes what it got; /status/NNN answers NNN; /big sends a 6 kB response header
    app = await serve(APP, (req, res) => {
      const code = /\/status\/([0-9]{3})/.exec(req.url)?.[1];
      const big: Record<string, string> = req.url.startsWith('/big') ? { 'x-big': BIG_HEADER } : {};
      json(res, code ? Number(code) : 200, { url: req.url, headers: req.headers }, { 'x-pod': 'app', ...big });
    });
    // a default backend like ingress-nginx's e2e echo: 200 with what it was told
    errorsPod = await serve(ERRORS, (req, res) =>
      json(res, 200, { url: req.url, headers: req.headers }, { 'x-pod': 'errors' }),
    );
    const htpasswd = `alice:${execFileSync('openssl', ['passwd', '-apr1', 's3cret'], { encoding: 'utf8' }).trim()}\n`;
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: app.port }] }),
      endpoints('app', { ready: [app.address], port: app.port }),
      service('errors', { ports: [{ port: 80, targetPort: errorsPod.port }] }),
      endpoints('errors', { ready: [errorsPod.address], port: errorsPod.port }),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: 'basic-users', namespace: 'default' },
        data: { auth: Buffer.from(htpasswd).toString('base64') },
      },
    ]);
    manifests.write('guarded.yaml', [
      // the oldest Ingress of the host (by namespace/name, without timestamps) has basic auth...
      ingress('guarded-a', {
        host: 'guarded.example.com',
        annotations: basic,
        paths: [{ path: '/app', service: 'app' }],
      }),
      // ...a younger one none: its own path is open, the unmatched ones are the oldest's
      ingress('guarded-b', { host: 'guarded.example.com', paths: [{ path: '/open', service: 'app' }] }),
      // the other way round: the younger one's auth guards only its own path
      ingress('open-a', { host: 'open.example.com', paths: [{ path: '/open', service: 'app' }] }),
      ingress('open-b', { host: 'open.example.com', annotations: basic, paths: [{ path: '/app', service: 'app' }] }),
    ]);
    manifests.write('others.yaml', [
      ingress('allow', {
        host: 'allow.example.com',
        annotations: { [`${ANNOTATION}allowlist-source-range`]: '10.0.0.0/8' },
        paths: [{ path: '/x', service: 'app' }],
      }),
      ingress('moved', {
        host: 'moved.example.com',
        annotations: { [`${ANNOTATION}permanent-redirect`]: 'https://new.example.com/' },
        paths: [{ path: '/old', service: 'app' }],
      }),
      // an auth annotation nothing can read: the Ingress's paths and the host's unmatched ones answer 503
      ingress('broken', {
        host: 'broken.example.com',
        annotations: { ...basic, [`${ANNOTATION}auth-secret`]: 'no-such-secret' },
        paths: [{ path: '/x', service: 'app' }],
      }),
      // spec.defaultBackend of the host's Ingress (a rule naming the host, without paths), with and without a
      // larger proxy buffer
      hostWithDefault('buffered', { [`${ANNOTATION}proxy-buffer-size`]: '8k' }),
      hostWithDefault('small', {}),
      // the catch-all: its Ingress's auth guards requests for unknown hosts, its redirect does not apply there
      ingress('catch-all', {
        defaultBackend: { service: 'app', port: 80 },
        annotations: { ...basic, [`${ANNOTATION}permanent-redirect`]: 'https://elsewhere.example.com/' },
      }),
    ]);
    manifests.write('errors.yaml', [
      ingress('invalid', {
        host: 'invalid.example.com',
        annotations: { [`${ANNOTATION}default-backend`]: 'errors' },
        paths: [{ path: '/', service: 'invalid' }],
      }),
      ingress('pie-off', {
        host: 'pie-off.example.com',
        annotations: {
          [`${ANNOTATION}custom-http-errors`]: '404',
          [`${ANNOTATION}disable-proxy-intercept-errors`]: 'true',
          [`${ANNOTATION}default-backend`]: 'errors',
        },
        paths: [{ path: '/', service: 'app' }],
      }),
      ingress('pie-on', {
        host: 'pie-on.example.com',
        annotations: {
          [`${ANNOTATION}custom-http-errors`]: '404',
          [`${ANNOTATION}disable-proxy-intercept-errors`]: 'false',
          [`${ANNOTATION}default-backend`]: 'errors',
        },
        paths: [{ path: '/', service: 'app' }],
      }),
      ingress('builtin', {
        host: 'builtin.example.com',
        annotations: { [`${ANNOTATION}custom-http-errors`]: '418,503' },
        paths: [
          { path: '/app', service: 'app' },
          { path: '/missing', service: 'no-such-service' },
        ],
      }),
    ]);
    // a path whose backend is a resource, not a Service (the manifests helper writes Services only)
    const resourcePath = (host: string) => ({
      host,
      http: {
        paths: [
          {
            path: '/',
            pathType: 'Prefix',
            backend: { resource: { apiGroup: 'otherobj.testingress.com', kind: 'Anything', name: 'mytest' } },
          },
        ],
      },
    });
    manifests.write('resource.yaml', [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'nilbackend', namespace: 'default' },
        spec: { rules: [resourcePath('nilbackend.example.com')] },
      },
      ingress('valid', { host: 'valid.example.com', paths: [{ path: '/', service: 'app' }] }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all([app?.close(), errorsPod?.close()]);
      manifests?.cleanup();
    },
  );

  it("basic auth of the host's oldest Ingress guards its unmatched paths: 401 without credentials, 404 with them", async function () {
    const none = await ctl!.http('guarded.example.com', '/unmatched');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="Staff only"');
    assert.equal(await who('guarded.example.com', '/unmatched', alice), 'nginx 404');
    assert.equal(await who('guarded.example.com', '/', alice), 'nginx 404');
    assert.equal(
      await who('guarded.example.com', '/unmatched', { authorization: basicAuth('alice', 'wrong') }),
      'nginx 401',
    );
    // other methods too: the 404 comes after the access phase, whatever the method
    const post = await ctl!.http('guarded.example.com', '/unmatched', { method: 'POST', body: 'x' });
    assert.equal(post.status, 401);
    const put = await ctl!.http('guarded.example.com', '/unmatched', { method: 'PUT', body: 'x', headers: alice });
    assert.equal(put.status, 404);
    // the paths of each Ingress keep their own annotations
    assert.equal(await who('guarded.example.com', '/app'), 'nginx 401');
    assert.equal(await who('guarded.example.com', '/app', alice), 'app 200');
    assert.equal(await who('guarded.example.com', '/open'), 'app 200');
    // the oldest Ingress decides: here it has no auth, so the unmatched paths are open
    assert.equal(await who('open.example.com', '/unmatched'), 'nginx 404');
    assert.equal(await who('open.example.com', '/app'), 'nginx 401');
  });

  it("an allow list of the host's oldest Ingress applies to its unmatched paths (403 from outside it)", async function () {
    assert.equal(await who('allow.example.com', '/unmatched'), 'nginx 403');
    assert.equal(await who('allow.example.com', '/x'), 'nginx 403');
  });

  it("the host's oldest Ingress's permanent-redirect answers its unmatched paths too, as ingress-nginx's root location", async function () {
    for (const requestPath of ['/old', '/anything/else']) {
      const reply = await ctl!.http('moved.example.com', requestPath);
      assert.equal(reply.status, 301, requestPath);
      assert.equal(reply.headers.location, 'https://new.example.com/', requestPath);
    }
  });

  it("an invalid auth annotation of the host's oldest Ingress denies its unmatched paths as well (503)", async function () {
    assert.equal(await who('broken.example.com', '/x'), 'nginx 503');
    assert.equal(await who('broken.example.com', '/unmatched'), 'nginx 503');
  });

  // ingress-nginx test/e2e/defaultbackend/with_hosts.go "should apply the annotation to the default backend"
  it("the annotations apply to the Ingress's own spec.defaultBackend answering the unmatched paths (proxy-buffer-size)", async function () {
    assert.equal(await who('buffered.example.com', '/'), 'app 200');
    const big = await ctl!.http('buffered.example.com', '/big');
    assert.equal(big.status, 200, 'an 8k buffer holds the 6 kB header');
    assert.equal(big.headers['x-big'], BIG_HEADER);
    // without the annotation nginx's 4k buffer cannot hold it: the proof that the annotation made the difference
    assert.equal((await ctl!.http('small.example.com', '/big')).status, 502);
    assert.equal(await who('small.example.com', '/'), 'app 200');
  });

  it("the catch-all keeps its Ingress's auth but not its redirect (ingress-nginx kept the catch-all's redirects)", async function () {
    assert.equal(await who('unknown.example.org', '/x'), 'nginx 401');
    assert.equal(await who('unknown.example.org', '/x', alice), 'app 200');
  });

  // ingress-nginx test/e2e/annotations/default_backend.go "should use a custom default backend as upstream"
  it("default-backend: a missing Service's path goes to it with X-Code 503, the Service's name and the client's X-Request-ID", async function () {
    const reply = await ctl!.http('invalid.example.com', '/alma/armud', {
      headers: { 'x-request-id': 'something-unique' },
    });
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.headers['x-pod'], 'errors');
    const told = seenBy(reply.body).headers;
    assert.equal(told['x-code'], '503');
    assert.equal(told['x-ingress-name'], 'invalid');
    assert.equal(told['x-namespace'], 'default');
    assert.equal(told['x-service-name'], 'invalid');
    assert.equal(told['x-service-port'], '80');
    assert.equal(told['x-request-id'], 'something-unique');
    assert.equal(told['x-original-uri'], '/alma/armud');
  });

  // ingress-nginx test/e2e/annotations/disableproxyintercepterrors.go "configures Nginx correctly"
  it("disable-proxy-intercept-errors: the upstream's 404 reaches the client; without it the default backend answers", async function () {
    const passed = await ctl!.http('pie-off.example.com', '/status/404', {
      headers: { 'x-request-id': 'proxy_intercept_errors' },
    });
    assert.equal(passed.status, 404);
    assert.equal(passed.headers['x-pod'], 'app');
    const intercepted = await ctl!.http('pie-on.example.com', '/status/404', {
      headers: { 'x-request-id': 'proxy_intercept_errors' },
    });
    assert.equal(intercepted.status, 200, intercepted.body);
    assert.equal(intercepted.headers['x-pod'], 'errors');
    const told = seenBy(intercepted.body).headers;
    assert.equal(told['x-code'], '404');
    assert.equal(told['x-ingress-name'], 'pie-on');
    assert.equal(told['x-service-name'], 'app');
    assert.equal(told['x-request-id'], 'proxy_intercept_errors');
  });

  // ingress-nginx test/e2e/annotations/customhttperrors.go "configures Nginx correctly" (its error pages without
  // a default-backend annotation went to the built-in default backend, which answers 404)
  it('custom-http-errors without any default backend: the listed codes are intercepted and answer 404', async function () {
    const teapot = await ctl!.http('builtin.example.com', '/app/status/418');
    assert.equal(teapot.status, 404);
    assert.equal(teapot.headers['x-pod'], undefined, 'not the app');
    assert.equal(await who('builtin.example.com', '/app/status/503'), 'nginx 404');
    // codes not listed pass
    assert.equal(await who('builtin.example.com', '/app/status/500'), 'app 500');
    assert.equal(await who('builtin.example.com', '/app/status/404'), 'app 404');
    // a missing Service answers 503, which is listed: as in ingress-nginx, the built-in backend's 404
    assert.equal(await who('builtin.example.com', '/missing'), 'nginx 404');
  });

  // ingress-nginx test/e2e/servicebackend/service_nil_backend.go "should return 404 when backend service is nil"
  it('a path with a resource backend is not routed: its host answers 404, the other hosts as before', async function () {
    assert.equal(await who('valid.example.com', '/'), 'app 200');
    assert.equal(await who('nilbackend.example.com', '/'), 'nginx 404');
    assert.equal(await who('nilbackend.example.com', '/x'), 'nginx 404');
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some((problem) => /nilbackend.*resource backend \(Anything\)/.test(problem)),
      problems.join('\n'),
    );
  });
});
