// The ConfigMap's global external auth through real nginx and a real auth service: every path without an
// auth-url of its own asks the global-auth-url, except those under no-auth-locations and those of Ingresses
// with enable-global-auth: "false"; the other global-auth-* keys; an invalid key denies (503) what it guards.
// Reproduces the cases of ingress-nginx test/e2e/settings/global_external_auth.go, named at each test.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { basicAuth } from '../helpers/http.js';
import { appServices, json, serve, type Recorder } from '../helpers/recorder.js';
import { ManifestDir, configMap, ingress } from '../helpers/manifests.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const APP = '127.0.13.1';
const ERRORS = '127.0.13.2';
const AUTH = '127.0.13.3';
const GONE = '127.0.13.4';
const HOST = 'global-external-auth.example.com';
const ACME = '/.well-known/acme-challenge/token-1';

type Body = { url: string; headers: Record<string, string> };

describe('e2e: global external auth (ConfigMap global-auth-url)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Recorder;
  let errorsPod: Recorder;
  let auth: Recorder;
  let globalUrl: string;

  const settings = (data: Record<string, string> = {}) =>
    manifests.write(
      'configmap.yaml',
      configMap('ingress-templater', 'default', { 'global-auth-url': globalUrl, ...data }),
    );
  const bar = (annotations: Record<string, string> = {}) =>
    manifests.write(
      'bar.yaml',
      ingress('bar-ingress', { host: HOST, annotations, paths: [{ path: '/bar', service: 'app' }] }),
    );
  const status = async (urlPath: string, token?: string) =>
    (await ctl!.http(HOST, urlPath, token ? { headers: { 'x-token': token } } : {})).status;
  // after a change: the controller idle again, then the check true 20 times in a row (an old nginx worker
  // may take a connection for a moment after a reload, and two files written one after the other may be
  // applied in two syncs)
  const until = async (what: string, check: () => Promise<boolean>) => {
    await ctl!.settle();
    await ctl!.waitFor(
      async () => {
        for (let round = 0; round < 20; round++) if (!(await check())) return false;
        return true;
      },
      { what: `${what}, 20 times in a row`, timeoutMs: 15_000 },
    );
  };

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('global-auth');
    app = await serve(APP, (req, res) => json(res, 200, { url: req.url, headers: req.headers }));
    errorsPod = await serve(ERRORS, (_req, res) => json(res, 404, {}));
    // /verify: the global auth (token "good"); /own: an Ingress's own auth-url (token "own"); else 401
    auth = await serve(AUTH, (req, res) => {
      const token = req.headers['x-token'];
      const wanted = req.url.startsWith('/own') ? 'own' : 'good';
      if (token === wanted) json(res, 200, {}, { 'X-User': 'alice' });
      else json(res, 401, {});
    });
    globalUrl = `http://${AUTH}:${auth.port}/verify`;
    manifests.write('services.yaml', appServices(app, errorsPod, GONE));
    manifests.write('foo.yaml', ingress('foo-ingress', { host: HOST, paths: [{ path: '/foo', service: 'app' }] }));
    bar();
    manifests.write(
      'own.yaml',
      ingress('own-ingress', {
        host: HOST,
        annotations: { [`${ANNOTATION}auth-url`]: `http://${AUTH}:${auth.port}/own` },
        paths: [{ path: '/own', service: 'app' }],
      }),
    );
    // what cert-manager's HTTP-01 solver makes: a path under the default no-auth-locations
    manifests.write('solver.yaml', ingress('solver', { host: HOST, paths: [{ path: ACME, service: 'app' }] }));
    settings();
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', 'default/ingress-templater'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all([app?.close(), errorsPod?.close(), auth?.close()]);
      manifests?.cleanup();
    },
  );

  // ingress-nginx test/e2e/settings/global_external_auth.go "should return status code 401 when request any protected service"
  it('every path without an auth-url of its own asks the global auth: 401 without, 200 with the token', async function () {
    const before = auth.seen.length;
    assert.equal(await status('/foo'), 401);
    assert.equal(await status('/bar'), 401);
    assert.equal(await status('/foo', 'good'), 200);
    assert.equal(await status('/bar/deeper', 'good'), 200);
    const asked = auth.seen.slice(before);
    assert.equal(asked.length, 4, 'each request asked the auth service');
    assert.equal(asked[0]!.url, '/verify');
    assert.equal(asked[0]!.method, 'GET');
    assert.equal(asked[0]!.headers['x-original-url'], `http://${HOST}/foo`);
    assert.equal(asked[0]!.headers['x-auth-request-redirect'], '/foo', 'ingress-nginx sends the request URI');
  });

  it('the ACME challenge path (default no-auth-locations) is not guarded', async function () {
    const before = auth.seen.length;
    assert.equal(await status(ACME), 200);
    assert.equal(auth.seen.length, before, 'the auth service was not asked');
  });

  it("an Ingress's own auth-url wins over the global one", async function () {
    assert.equal(await status('/own', 'own'), 200);
    assert.equal(await status('/own', 'good'), 401, 'the global token does not open it');
    assert.equal(await status('/foo', 'own'), 401);
  });

  // ingress-nginx test/e2e/settings/global_external_auth.go "should return status code 200 when request whitelisted (via no-auth-locations) service and 401 when request protected service"
  it('no-auth-locations: the listed paths are served without asking; the others still are guarded', async function () {
    settings({ 'no-auth-locations': '/bar' });
    await until('/bar served without auth', async () => (await status('/bar')) === 200);
    assert.equal(await status('/foo'), 401);
    // listing /bar replaced the default: the ACME path is guarded now, as in ingress-nginx
    assert.equal(await status(ACME), 401);
    settings();
    await until('/bar guarded again', async () => (await status('/bar')) === 401);
  });

  // ingress-nginx test/e2e/settings/no_auth_locations.go "should return status code 401 when accessing '/' unauthentication"
  // ingress-nginx test/e2e/settings/no_auth_locations.go "should return status code 200 when accessing '/'  authentication"
  // ingress-nginx test/e2e/settings/no_auth_locations.go "should return status code 200 when accessing '/noauth' unauthenticated"
  it("no-auth-locations beside an Ingress's basic auth: / asks for credentials, /noauth with them is served", async function () {
    const host = 'no-auth-locations.example.com';
    const users = `alice:${execFileSync('openssl', ['passwd', '-apr1', 's3cret'], { encoding: 'utf8' }).trim()}\n`;
    manifests.write('basic.yaml', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'basic-users', namespace: 'default' },
        data: { auth: Buffer.from(users).toString('base64') },
      },
      ingress('basic-auth', {
        host,
        annotations: {
          [`${ANNOTATION}auth-type`]: 'basic',
          [`${ANNOTATION}auth-secret`]: 'basic-users',
          [`${ANNOTATION}auth-realm`]: 'test auth',
          // the case has no global auth: this Ingress opts out of ours
          [`${ANNOTATION}enable-global-auth`]: 'false',
        },
        paths: [
          { path: '/', service: 'app' },
          { path: '/noauth', service: 'app' },
        ],
      }),
    ]);
    settings({ 'no-auth-locations': '/noauth' });
    const credentials = { authorization: basicAuth('alice', 's3cret') };
    await until(
      'the basic-auth host served',
      async () => (await ctl!.http(host, '/', { headers: credentials })).status === 200,
    );
    const refused = await ctl!.http(host, '/');
    assert.equal(refused.status, 401);
    assert.match(refused.body, /401 Authorization Required/);
    assert.equal((await ctl!.http(host, '/noauth', { headers: credentials })).status, 200);
    // a deliberate difference: ingress-nginx also skipped an Ingress's own auth under no-auth-locations; here
    // only the global auth is skipped there, so /noauth without credentials is still refused
    assert.equal((await ctl!.http(host, '/noauth')).status, 401);
    manifests.remove('basic.yaml');
    settings();
    await until(
      'the basic-auth host gone',
      async () => (await ctl!.http(host, '/', { headers: credentials })).status === 404,
    );
  });

  // ingress-nginx test/e2e/settings/global_external_auth.go "should return status code 200 when request whitelisted (via ingress annotation) service and 401 when request protected service"
  it('enable-global-auth: "false" opts an Ingress out', async function () {
    bar({ [`${ANNOTATION}enable-global-auth`]: 'false' });
    await until('/bar served without auth', async () => (await status('/bar')) === 200);
    assert.equal(await status('/foo'), 401);
    bar();
    await until('/bar guarded again', async () => (await status('/bar')) === 401);
  });

  // three cases that looked for directives in the config; here what the auth service and the pod receive:
  // ingress-nginx test/e2e/settings/global_external_auth.go "should proxy_method method when global-auth-method is configured"
  // ingress-nginx test/e2e/settings/global_external_auth.go "should add auth headers when global-auth-response-headers is configured"
  // ingress-nginx test/e2e/settings/global_external_auth.go "should set request-redirect when global-auth-request-redirect is configured"
  it('global-auth-method, -response-headers and -request-redirect: what the auth service and the pod get', async function () {
    settings({
      'global-auth-method': 'POST',
      'global-auth-response-headers': 'X-User',
      'global-auth-request-redirect': 'https://app.example.com/after',
    });
    await until('the auth service asked with POST', async () => {
      const before = auth.seen.length;
      await status('/foo', 'good');
      return auth.seen.slice(before).some((seen) => seen.method === 'POST');
    });
    const before = auth.seen.length;
    const reply = await ctl!.http(HOST, '/foo/page', { headers: { 'x-token': 'good', 'x-user': 'forged' } });
    assert.equal(reply.status, 200);
    assert.equal(
      (JSON.parse(reply.body) as Body).headers['x-user'],
      'alice',
      "the auth service's answer, not the client's",
    );
    const asked = auth.seen[before]!;
    assert.equal(asked.method, 'POST');
    assert.equal(asked.headers['x-auth-request-redirect'], 'https://app.example.com/after');
    // a path the global auth does not guard passes the client's own header through
    bar({ [`${ANNOTATION}enable-global-auth`]: 'false' });
    await until('/bar served without auth', async () => (await status('/bar')) === 200);
    const open = await ctl!.http(HOST, '/bar', { headers: { 'x-user': 'client' } });
    assert.equal((JSON.parse(open.body) as Body).headers['x-user'], 'client');
    bar();
    settings();
    await until('/bar guarded again', async () => (await status('/bar')) === 401);
  });

  // ingress-nginx test/e2e/settings/global_external_auth.go "should add custom error page when global-auth-signin url is configured"
  it('global-auth-signin and -signin-redirect-param: a 401 redirects to the sign-in page', async function () {
    settings({ 'global-auth-signin': 'https://login.example.com/start', 'global-auth-signin-redirect-param': 'back' });
    await until('the sign-in redirect', async () => (await status('/foo/x?a=1')) === 302);
    const reply = await ctl!.http(HOST, '/foo/x?a=1');
    assert.equal(reply.headers.location, `https://login.example.com/start?back=http://${HOST}%2Ffoo%2Fx%3Fa%3D1`);
    assert.equal(await status('/foo/x', 'good'), 200);
    settings();
    await until('401 again', async () => (await status('/foo')) === 401);
  });

  it('fails closed: an invalid global-auth-url denies (503) what it would guard, and nothing else', async function () {
    settings({ 'global-auth-url': 'http://$host/verify' });
    await until('503 on a guarded path', async () => (await status('/foo', 'good')) === 503);
    assert.equal(await status('/bar', 'good'), 503);
    assert.equal(await status(ACME), 200, 'no-auth-locations are not guarded, so not denied');
    assert.equal(await status('/own', 'own'), 200, 'an Ingress with its own auth-url is not concerned');
    assert.match(ctl!.log(), /global-auth-url[^\n]*every path the global auth guards answers 503/);
    settings();
    await until('the global auth again', async () => (await status('/foo', 'good')) === 200);
    assert.equal(await status('/foo'), 401);
  });
});
