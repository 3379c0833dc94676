// Authentication, error pages and snippets through real nginx: basic auth from an htpasswd Secret, external
// auth against a node auth service (auth-url, auth-response-headers, auth-signin), custom-http-errors and
// default-backend served by a default-backend pod, and snippet annotations (refused by default, applied
// when the ConfigMap allows them, a broken one never reaching nginx).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { basicAuth } from '../helpers/http.js';
import { metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { appServices, json, serve, type Recorder } from '../helpers/recorder.js';
import { ManifestDir, configMap, ingress } from '../helpers/manifests.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const APP = '127.0.5.1';
const ERRORS = '127.0.5.2';
const AUTH = '127.0.5.3';
const GONE = '127.0.5.4'; // an address nothing listens on: a Service whose only endpoint is not ready

type Server = Recorder;

/** The app: echoes what it got; /status/NNN answers NNN. */
const serveApp = () =>
  serve(APP, (req, res) => {
    const code = /\/status\/([0-9]{3})/.exec(req.url)?.[1];
    json(res, code ? Number(code) : 200, { app: true, url: req.url, headers: req.headers }, { 'x-pod': 'app' });
  });

describe('e2e: authentication, error pages and snippet annotations', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Server;
  let errorsPod: Server;
  let auth: Server;
  let htpasswd: string;

  const snippetIngress = (annotations: Record<string, string>) =>
    ingress('snip', {
      host: 'snip.example.com',
      annotations,
      paths: [{ path: '/', service: 'app' }],
    });

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('auth');
    app = await serveApp();
    // the default backend: answers with the status in X-Code (ingress-nginx's custom error pages contract)
    errorsPod = await serve(ERRORS, (req, res) => {
      const code = Number(req.headers['x-code'] ?? 404);
      json(res, code, { errorPage: true, url: req.url, headers: req.headers }, { 'x-pod': 'errors' });
    });
    // the auth service: x-token good -> 200 with identity headers, forbidden -> 403, else 401
    auth = await serve(AUTH, (req, res) => {
      const token = req.headers['x-token'];
      if (token === 'good') json(res, 200, {}, { UserID: '42', 'X-Role': 'admin' });
      else if (token === 'forbidden') json(res, 403, {});
      else json(res, 401, {}, { 'WWW-Authenticate': 'Bearer realm="test"' });
    });
    htpasswd = `alice:${execFileSync('openssl', ['passwd', '-apr1', 's3cret'], { encoding: 'utf8' }).trim()}\n`;

    manifests.write('services.yaml', appServices(app, errorsPod, GONE));
    manifests.write('secret.yaml', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'basic-users', namespace: 'default' },
      data: { auth: Buffer.from(htpasswd).toString('base64') },
    });
    manifests.write(
      'basic.yaml',
      ingress('basic', {
        host: 'basic.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-type`]: 'basic',
          [`${ANNOTATION}auth-secret`]: 'basic-users',
          [`${ANNOTATION}auth-realm`]: 'Staff only',
        },
      }),
    );
    manifests.write(
      'ext.yaml',
      ingress('ext', {
        host: 'ext.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-url`]: `http://${AUTH}:${auth.port}/verify?app=ext`,
          [`${ANNOTATION}auth-response-headers`]: 'UserID, X-Role',
        },
      }),
    );
    manifests.write(
      'signin.yaml',
      ingress('signin', {
        host: 'signin.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-url`]: `http://${AUTH}:${auth.port}/verify`,
          [`${ANNOTATION}auth-signin`]: 'https://login.example.com/start',
        },
      }),
    );
    manifests.write(
      'vhost.yaml',
      ingress('vhost', {
        host: 'vhost.example.com',
        paths: [{ path: '/shop', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-url`]: `http://${AUTH}:${auth.port}/verify`,
          [`${ANNOTATION}upstream-vhost`]: 'internal.example.svc',
          [`${ANNOTATION}x-forwarded-prefix`]: '/shop',
        },
      }),
    );
    manifests.write(
      'errors.yaml',
      ingress('errors', {
        host: 'errors.example.com',
        paths: [
          { path: '/app', service: 'app' },
          { path: '/gone', service: 'gone' },
        ],
        annotations: { [`${ANNOTATION}default-backend`]: 'errors', [`${ANNOTATION}custom-http-errors`]: '404,418' },
      }),
    );
    manifests.write('open.yaml', ingress('open', { host: 'open.example.com', paths: [{ path: '/', service: 'app' }] }));
    manifests.write(
      'snip.yaml',
      snippetIngress({ [`${ANNOTATION}configuration-snippet`]: 'add_header X-Snippet yes;' }),
    );
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', 'default/ingress-templater'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all([app?.close(), errorsPod?.close(), auth?.close()]);
      manifests?.cleanup();
    },
  );

  it('basic auth: 401 with the realm without or with wrong credentials, 200 with them; the credentials stay at nginx', async function () {
    const none = await ctl!.http('basic.example.com', '/x');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="Staff only"');
    assert.equal(
      (await ctl!.http('basic.example.com', '/x', { headers: { authorization: basicAuth('alice', 'wrong') } })).status,
      401,
    );
    assert.equal(
      (await ctl!.http('basic.example.com', '/x', { headers: { authorization: basicAuth('bob', 's3cret') } })).status,
      401,
    );
    const ok = await ctl!.http('basic.example.com', '/x?q=1', {
      headers: { authorization: basicAuth('alice', 's3cret') },
    });
    assert.equal(ok.status, 200, ok.body);
    const seen = JSON.parse(ok.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/x?q=1');
    assert.equal(seen.headers.authorization, undefined, 'the backend must not get the password');
    // the htpasswd file is a managed file nginx workers can read, not world-readable
    const files = fs
      .readdirSync(path.join(ctl!.prefix, 'files'))
      .filter((f) => f.startsWith('htpasswd-file-default_basic-users-'));
    assert.equal(files.length, 1, files.join());
    assert.equal(fs.statSync(path.join(ctl!.prefix, 'files', files[0]!)).mode & 0o777, 0o640);
    assert.equal(fs.readFileSync(path.join(ctl!.prefix, 'files', files[0]!), 'utf8'), htpasswd);
    // a host without auth still passes the client's Authorization through
    const open = await ctl!.http('open.example.com', '/', { headers: { authorization: 'Bearer abc' } });
    assert.equal((JSON.parse(open.body) as { headers: Record<string, string> }).headers.authorization, 'Bearer abc');
  });

  it('external auth: the auth service decides (401, 403, 200) and its response headers reach the pod, replacing forged ones', async function () {
    const before = auth.seen.length;
    const none = await ctl!.http('ext.example.com', '/page?a=1');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="test"');
    assert.equal((await ctl!.http('ext.example.com', '/page', { headers: { 'x-token': 'forbidden' } })).status, 403);
    const appBefore = app.seen.length;
    const ok = await ctl!.http('ext.example.com', '/page?a=1', {
      method: 'POST',
      body: 'payload',
      headers: { 'x-token': 'good', userid: 'forged', 'content-type': 'text/plain' },
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(app.seen.length, appBefore + 1, 'only the allowed request reached the app');
    const got = app.seen[app.seen.length - 1]!;
    assert.equal(got.headers.userid, '42');
    assert.equal(got.headers['x-role'], 'admin');
    assert.equal(got.body, 'payload', 'the app gets the body');
    assert.equal(got.method, 'POST');
    // what the auth service saw: GET (auth-method default), no body, the original request described
    const sub = auth.seen.slice(before);
    assert.equal(sub.length, 3);
    const last = sub[2]!;
    assert.equal(last.method, 'GET');
    assert.equal(last.url, '/verify?app=ext');
    assert.equal(last.body, '');
    assert.equal(last.headers['x-original-url'], 'http://ext.example.com/page?a=1');
    assert.equal(last.headers['x-original-method'], 'POST');
    assert.equal(last.headers['x-token'], 'good');
    assert.equal(last.headers.host, `${AUTH}:${auth.port}`);
    // a host without external auth passes the client's own UserID through unchanged
    const open = await ctl!.http('open.example.com', '/', { headers: { userid: 'client' } });
    assert.equal((JSON.parse(open.body) as { headers: Record<string, string> }).headers.userid, 'client');
  });

  it('external auth keeps upstream-vhost and x-forwarded-prefix (the auth subrequest must not reset them)', async function () {
    const ok = await ctl!.http('vhost.example.com', '/shop/cart', { headers: { 'x-token': 'good' } });
    assert.equal(ok.status, 200, ok.body);
    const seen = JSON.parse(ok.body) as { headers: Record<string, string> };
    assert.equal(seen.headers.host, 'internal.example.svc');
    assert.equal(seen.headers['x-forwarded-prefix'], '/shop');
    assert.equal(seen.headers['x-forwarded-host'], 'vhost.example.com');
    // a host without the annotations still sends the request's Host and no prefix
    const open = JSON.parse((await ctl!.http('open.example.com', '/')).body) as { headers: Record<string, string> };
    assert.equal(open.headers.host, 'open.example.com');
    assert.equal(open.headers['x-forwarded-prefix'], undefined);
  });

  it('auth-signin: a 401 from the auth service redirects to the sign-in URL with rd= the escaped original URL', async function () {
    const reply = await ctl!.http('signin.example.com', '/deep/page?x=1&y=2');
    assert.equal(reply.status, 302);
    assert.equal(
      reply.headers.location,
      'https://login.example.com/start?rd=http://signin.example.com%2Fdeep%2Fpage%3Fx%3D1%26y%3D2',
    );
    assert.equal((await ctl!.http('signin.example.com', '/', { headers: { 'x-token': 'forbidden' } })).status, 403);
    assert.equal((await ctl!.http('signin.example.com', '/', { headers: { 'x-token': 'good' } })).status, 200);
  });

  it("custom-http-errors: listed codes are served by the default-backend pod with X-Code and the request's details", async function () {
    const reply = await ctl!.http('errors.example.com', '/app/status/404?q=1', {
      headers: { accept: 'application/json' },
    });
    assert.equal(reply.status, 404);
    assert.equal(reply.headers['x-pod'], 'errors', reply.body);
    const page = JSON.parse(reply.body) as { url: string; headers: Record<string, string> };
    assert.equal(page.headers['x-code'], '404');
    assert.equal(page.headers['x-original-uri'], '/app/status/404?q=1');
    assert.equal(page.headers['x-format'], 'application/json');
    assert.equal(page.headers['x-namespace'], 'default');
    assert.equal(page.headers['x-ingress-name'], 'errors');
    assert.equal(page.headers['x-service-name'], 'app');
    assert.equal(page.headers['x-service-port'], '80');
    assert.equal(page.url, '/?q=1');
    const teapot = await ctl!.http('errors.example.com', '/app/status/418');
    assert.equal(teapot.status, 418);
    assert.equal(teapot.headers['x-pod'], 'errors');
    // codes not listed come from the app itself, body and all
    const notListed = await ctl!.http('errors.example.com', '/app/status/403');
    assert.equal(notListed.status, 403);
    assert.equal(notListed.headers['x-pod'], 'app');
    // an upstream's own 500 (not listed) keeps its status
    assert.equal((await ctl!.http('errors.example.com', '/app/status/500')).status, 500);
    assert.equal((await ctl!.http('errors.example.com', '/app/fine')).headers['x-pod'], 'app');
  });

  it("default-backend: answers the Ingress's paths whose Service has no endpoint (X-Code 503) and the error page of its unmatched requests", async function () {
    // an unmatched request is not proxied to the default backend (ingress-nginx's root location skipped the
    // annotation): it is a 404, and the unmatched paths carry the Ingress's custom-http-errors, as ingress-nginx's
    // root location, so the default backend answers it as the error page of that 404
    const unmatched = await ctl!.http('errors.example.com', '/nothing/here');
    assert.equal(unmatched.headers['x-pod'], 'errors', unmatched.body);
    const seen = JSON.parse(unmatched.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-code'], '404');
    assert.equal(seen.headers['x-original-uri'], '/nothing/here');
    const gone = await ctl!.http('errors.example.com', '/gone');
    assert.equal(gone.status, 503);
    assert.equal(gone.headers['x-pod'], 'errors', gone.body);
    assert.equal((JSON.parse(gone.body) as { headers: Record<string, string> }).headers['x-code'], '503');
    // another host keeps its plain 404
    assert.equal((await ctl!.http('open.example.com', '/')).headers['x-pod'], 'app');
    assert.equal((await ctl!.http('nobody.example.com', '/')).status, 404);
  });

  it('snippets are refused by default: the Ingress answers 503 and the refusal is reported', async function () {
    const reply = await ctl!.http('snip.example.com', '/');
    assert.equal(reply.status, 503);
    assert.equal(reply.headers['x-snippet'], undefined);
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some(
        (p) =>
          p.includes('Ingress default/snip') &&
          p.includes('configuration-snippet') &&
          p.includes('allow-snippet-annotations'),
      ),
      problems.join('\n'),
    );
    assert.ok(!ctl!.nginxConf().includes('snippet-location-'));
  });

  it('allow-snippet-annotations: "true" applies them (after their own nginx -t)', async function () {
    const reloads = await ctl!.metric('reloads_total');
    manifests.write(
      'settings.yaml',
      configMap('ingress-templater', 'default', { 'allow-snippet-annotations': 'true' }),
    );
    manifests.write(
      'snip.yaml',
      snippetIngress({
        [`${ANNOTATION}configuration-snippet`]: 'add_header X-Snippet yes;',
        [`${ANNOTATION}server-snippet`]: 'location = /snippet-ping {\n    return 200 "pong";\n}\n',
      }),
    );
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(async () => (await ctl!.http('snip.example.com', '/')).headers['x-snippet'] === 'yes', {
      what: 'X-Snippet: yes',
    });
    const reply = await ctl!.http('snip.example.com', '/a');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-pod'], 'app');
    const ping = await ctl!.http('snip.example.com', '/snippet-ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'pong');
  });

  it('a snippet nginx refuses never reaches the live config: reported, that Ingress answers 503, everything else is applied', async function () {
    const before = await ctl!.settle();
    const reloads = before.get(metricKey('reloads_total'))!;
    const failures = before.get(metricKey('reload_failures_total', { reason: 'config_test' }))!;
    // well-formed (so only nginx can tell), wrong: add_header needs a value
    manifests.write(
      'snip.yaml',
      snippetIngress({ [`${ANNOTATION}configuration-snippet`]: 'add_header X-Broken-Snippet;' }),
    );
    // changed in the same sync: must still be applied
    manifests.write(
      'open.yaml',
      ingress('open', {
        host: 'open.example.com',
        paths: [
          { path: '/', service: 'app' },
          { path: '/new', service: 'errors' },
        ],
      }),
    );
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(async () => (await ctl!.http('snip.example.com', '/')).status === 503, {
      what: 'snip.example.com 503',
    });
    await ctl!.waitFor(async () => (await ctl!.http('open.example.com', '/new')).headers['x-pod'] === 'errors', {
      what: 'the other change applied',
    });
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some(
        (p) =>
          p.includes('Ingress default/snip') && p.includes('nginx -t refused the snippet') && p.includes('add_header'),
      ),
      problems.join('\n'),
    );
    const conf = ctl!.nginxConf();
    assert.ok(!conf.includes('snippet-location-default_snip'), 'the refused snippet is not included');
    for (const name of fs.readdirSync(path.join(ctl!.prefix, 'files'))) {
      assert.ok(!fs.readFileSync(path.join(ctl!.prefix, 'files', name), 'utf8').includes('X-Broken-Snippet'), name);
    }
    // nginx never saw it: no candidate was refused, every other Ingress works
    assert.equal(await ctl!.metric('reload_failures_total', { reason: 'config_test' }), failures);
    assert.equal(
      (await ctl!.http('basic.example.com', '/', { headers: { authorization: basicAuth('alice', 's3cret') } })).status,
      200,
    );
    assert.equal((await ctl!.http('ext.example.com', '/', { headers: { 'x-token': 'good' } })).status, 200);
    assert.equal(await ctl!.healthz(), 200);
    // a snippet that would close its block is refused before nginx: reported with the annotation and value
    manifests.write(
      'snip.yaml',
      snippetIngress({ [`${ANNOTATION}configuration-snippet`]: 'return 200; } location /escape { return 200;' }),
    );
    await ctl!.waitFor(
      async () =>
        (await ctl!.status()).problems.some((p) => p.includes('configuration-snippet') && p.includes('closes a block')),
      { what: 'the shape error reported' },
    );
    assert.equal((await ctl!.http('snip.example.com', '/escape')).status, 503);
    assert.ok(!ctl!.nginxConf().includes('/escape'));
  });

  it('an invalid auth value denies only that Ingress (503, reported); fixing it restores the service', async function () {
    const reloads = await ctl!.metric('reloads_total');
    manifests.write(
      'basic.yaml',
      ingress('basic', {
        host: 'basic.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}auth-type`]: 'basic', [`${ANNOTATION}auth-secret`]: 'missing-users' },
      }),
    );
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(
      async () =>
        (await ctl!.http('basic.example.com', '/', { headers: { authorization: basicAuth('alice', 's3cret') } }))
          .status === 503,
      { what: 'basic 503' },
    );
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some(
        (p) =>
          p.includes('Ingress default/basic') &&
          p.includes('auth-secret') &&
          p.includes('Secret default/missing-users not found'),
      ),
      problems.join('\n'),
    );
    assert.equal((await ctl!.http('ext.example.com', '/', { headers: { 'x-token': 'good' } })).status, 200);

    const again = await ctl!.metric('reloads_total');
    manifests.write(
      'ext.yaml',
      ingress('ext', {
        host: 'ext.example.com',
        paths: [{ path: '/', service: 'app' }],
        // ingress-nginx test/e2e/annotations/auth.go "should return 503 (location was denied)": its invalid host
        annotations: { [`${ANNOTATION}auth-url`]: 'https://invalid..auth.url/verify' },
      }),
    );
    await ctl!.waitForReload(again);
    await ctl!.waitFor(
      async () => (await ctl!.http('ext.example.com', '/', { headers: { 'x-token': 'good' } })).status === 503,
      { what: 'ext 503' },
    );
    const later = (await ctl!.status()).problems;
    assert.ok(
      later.some(
        (p) =>
          p.includes('Ingress default/ext') && p.includes('auth-url') && p.includes('https://invalid..auth.url/verify'),
      ),
      later.join('\n'),
    );
    assert.equal((await ctl!.http('open.example.com', '/')).headers['x-pod'], 'app');

    // a host name that does not resolve would make nginx refuse the whole config: only this Ingress is denied
    manifests.write(
      'ext.yaml',
      ingress('ext', {
        host: 'ext.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}auth-url`]: 'http://auth-service.does-not-exist.invalid/verify' },
      }),
    );
    await ctl!.waitFor(
      async () =>
        (await ctl!.status()).problems.some((p) => p.includes('Ingress default/ext') && p.includes('does not resolve')),
      { what: 'unresolvable auth host reported' },
    );
    assert.equal((await ctl!.http('ext.example.com', '/', { headers: { 'x-token': 'good' } })).status, 503);
    assert.equal((await ctl!.http('open.example.com', '/')).headers['x-pod'], 'app');
    assert.equal(await ctl!.metric('reload_failures_total', { reason: 'config_test' }), 0);

    // the Secret appears: basic auth works again
    const third = await ctl!.metric('reloads_total');
    manifests.write('secret2.yaml', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'missing-users', namespace: 'default' },
      data: { auth: Buffer.from(htpasswd).toString('base64') },
    });
    await ctl!.waitForReload(third);
    await ctl!.waitFor(
      async () =>
        (await ctl!.http('basic.example.com', '/', { headers: { authorization: basicAuth('alice', 's3cret') } }))
          .status === 200,
      { what: 'basic 200' },
    );
    assert.equal((await ctl!.http('basic.example.com', '/')).status, 401);
    assert.ok(!(await ctl!.status()).problems.some((p) => p.includes('missing-users')));
  });
});

// Static mode renders error pages and unavailable backends differently (upstream blocks, "return 503"):
// the same contracts through it.
describe('e2e: authentication and error pages with --balancer static', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Server;
  let errorsPod: Server;
  let auth: Server;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('auth-static');
    app = await serveApp();
    errorsPod = await serve(ERRORS, (req, res) =>
      json(res, Number(req.headers['x-code'] ?? 404), { url: req.url, headers: req.headers }, { 'x-pod': 'errors' }),
    );
    auth = await serve(AUTH, (req, res) => {
      if (req.headers['x-token'] === 'good') json(res, 200, {}, { UserID: '7' });
      else json(res, 401, {});
    });
    manifests.write('services.yaml', appServices(app, errorsPod, GONE));
    manifests.write(
      'errors.yaml',
      ingress('errors', {
        host: 'errors.example.com',
        paths: [
          { path: '/app', service: 'app' },
          { path: '/gone', service: 'gone' },
          { path: '/missing', service: 'no-such-service' },
        ],
        annotations: { [`${ANNOTATION}default-backend`]: 'errors', [`${ANNOTATION}custom-http-errors`]: '404' },
      }),
    );
    manifests.write(
      'signin.yaml',
      ingress('signin', {
        host: 'signin.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-url`]: `http://${AUTH}:${auth.port}/verify`,
          [`${ANNOTATION}auth-signin`]: 'https://login.example.com/start?from=$host',
          [`${ANNOTATION}auth-response-headers`]: 'UserID',
        },
      }),
    );
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--balancer', 'static'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all([app?.close(), errorsPod?.close(), auth?.close()]);
      manifests?.cleanup();
    },
  );

  it('error pages, unmatched requests and paths without endpoints go to the default backend', async function () {
    assert.ok(ctl!.nginxConf().includes('upstream default_errors_80'), 'static mode');
    const reply = await ctl!.http('errors.example.com', '/app/status/404');
    assert.equal(reply.status, 404);
    assert.equal(reply.headers['x-pod'], 'errors');
    assert.equal((JSON.parse(reply.body) as { headers: Record<string, string> }).headers['x-code'], '404');
    assert.equal(
      (await ctl!.http('errors.example.com', '/app/status/500')).headers['x-pod'],
      'app',
      'not listed: the app answers',
    );
    for (const requestPath of ['/gone', '/missing/x']) {
      const answer = await ctl!.http('errors.example.com', requestPath);
      assert.equal(answer.status, 503, requestPath);
      assert.equal(answer.headers['x-pod'], 'errors', requestPath);
      assert.equal(
        (JSON.parse(answer.body) as { headers: Record<string, string> }).headers['x-code'],
        '503',
        requestPath,
      );
    }
    assert.equal((await ctl!.http('errors.example.com', '/elsewhere')).headers['x-pod'], 'errors');
  });

  it('external auth with auth-signin and response headers', async function () {
    const reply = await ctl!.http('signin.example.com', '/p?x=1');
    assert.equal(reply.status, 302);
    // without ngx_lua nginx cannot escape the URI: it goes as it is
    assert.equal(
      reply.headers.location,
      'https://login.example.com/start?from=signin.example.com&rd=http://signin.example.com/p?x=1',
    );
    const ok = await ctl!.http('signin.example.com', '/p', { headers: { 'x-token': 'good', userid: 'forged' } });
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { headers: Record<string, string> }).headers.userid, '7');
  });
});
