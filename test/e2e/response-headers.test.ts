// Response headers through the controller and real nginx with headers-more, as ingress-nginx sent them:
// no Server header, one HSTS header when the backend sends its own, the ConfigMap's add-headers on every
// response, the custom-headers annotation (values with variables, a missing ConfigMap or a header outside
// global-allowed-response-headers denies the paths), and a value that tries to break out of its string.
// Then the same nginx seen without the module (a sidecar's nginx, say): add_header, and the log says so.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import type { Reply } from '../helpers/http.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { NGINX } from '../helpers/nginx-configtest.js';
import { json, serve, type Recorder } from '../helpers/recorder.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const APP = '127.0.73.1';
const HSTS = 'max-age=31536000; includeSubDomains'; // the ConfigMap defaults
const INJECTION = 'x"; return 200 "pwned"; add_header X-Injected "1';

/** every copy of a header in the reply: node joins repeated headers with ", " */
const copies = (reply: Reply, name: string) => {
  const value = reply.headers[name];
  return value === undefined ? [] : String(value).split(/, (?=max-age)/);
};

describe('e2e: response headers (headers-more)', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Recorder;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('response-headers');
    // a backend that sends its own HSTS, Server and X-Team headers
    app = await serve(APP, (_req, res) =>
      json(res, 200, { app: true }, { 'Strict-Transport-Security': 'max-age=5', Server: 'backend/1', 'X-Team': 'app' }),
    );
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: app.port }] }),
      endpoints('app', { ready: [APP], port: app.port }),
    ]);
    manifests.write('settings.yaml', [
      configMap('settings', NS, {
        'add-headers': `${NS}/add`,
        // the docs example names the same ConfigMap for the backends' request headers
        'proxy-set-headers': `${NS}/add`,
        'global-allowed-response-headers': 'X-Team, X-Start,X-Literal,X-Inject',
      }),
      // ingress-nginx's docs example (docs/examples/customization/custom-headers)
      configMap('add', NS, { 'X-Request-Start': 't=${msec}', 'X-Using-Nginx-Controller': 'true' }),
      configMap('custom', NS, {
        'X-Team': 'ours',
        'X-Start': '${time_iso8601}',
        // ingress-nginx's e2e: a variable it does not allow reaches the client as written
        'X-Literal': '$remote_addr',
        'X-Inject': INJECTION,
      }),
      configMap('not-allowed', NS, { 'X-Team': 'ours', 'X-Secret': 'no' }),
    ]);
    manifests.write('ingresses.yaml', [
      ingress('plain', {
        host: 'plain.test',
        tls: [{ hosts: ['plain.test'] }],
        paths: [{ path: '/', service: 'app' }],
        // plain HTTP proxied too, not redirected: where HSTS is not sent
        annotations: { [`${ANNOTATION}ssl-redirect`]: 'false' },
      }),
      ingress('custom', {
        host: 'custom.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}custom-headers`]: 'custom' },
      }),
      ingress('missing', {
        host: 'missing.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}custom-headers`]: `${NS}/nowhere` },
      }),
      ingress('refused', {
        host: 'refused.test',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}custom-headers`]: 'not-allowed' },
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await app?.close();
      manifests?.cleanup();
    },
  );

  it('no Server header, neither nginx nor the backend, on proxied answers and nginx 404s alike', async () => {
    for (const reply of [
      await ctl!.http('plain.test', '/'),
      await ctl!.https('plain.test', '/'),
      await ctl!.http('unknown.test', '/'),
    ]) {
      assert.equal(reply.headers.server, undefined, JSON.stringify(reply.headers));
    }
    assert.equal((await ctl!.http('unknown.test', '/')).status, 404);
    assert.doesNotMatch(ctl!.log(), /no headers-more module/);
  });

  it('HSTS replaces the backend own header over HTTPS; plain HTTP passes the backend header as it was', async () => {
    const secure = await ctl!.https('plain.test', '/');
    assert.equal(secure.status, 200);
    assert.deepEqual(copies(secure, 'strict-transport-security'), [HSTS]);
    const plain = await ctl!.http('plain.test', '/');
    assert.deepEqual(copies(plain, 'strict-transport-security'), ['max-age=5']);
  });

  it('add-headers: on every response, ${msec} as the time', async () => {
    for (const reply of [await ctl!.http('plain.test', '/'), await ctl!.http('unknown.test', '/')]) {
      assert.match(String(reply.headers['x-request-start']), /^t=\d{10}\.\d{3}$/);
      assert.equal(reply.headers['x-using-nginx-controller'], 'true');
    }
  });

  it('proxy-set-headers with the same ConfigMap: the backend gets ${msec} as the time', async () => {
    await ctl!.http('plain.test', '/');
    const seen = app.seen.at(-1)!;
    assert.match(String(seen.headers['x-request-start']), /^t=\d{10}\.\d{3}$/);
    assert.equal(seen.headers['x-using-nginx-controller'], 'true');
  });

  it('custom-headers: replace the backend header, allowed variables expand, others stay literal', async () => {
    const reply = await ctl!.http('custom.test', '/');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-team'], 'ours', 'one X-Team, ours, not "app, ours"');
    assert.match(String(reply.headers['x-start']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.equal(reply.headers['x-literal'], '$remote_addr');
    assert.match(String(reply.headers['x-request-start']), /^t=\d+\.\d{3}$/, 'add-headers too');
    // the other hosts do not get them
    assert.equal((await ctl!.http('plain.test', '/')).headers['x-team'], 'app');
  });

  it('a value that tries to leave its string is sent as written and does nothing else', async () => {
    const reply = await ctl!.http('custom.test', '/');
    assert.equal(reply.headers['x-inject'], INJECTION);
    assert.equal(reply.headers['x-injected'], undefined);
    assert.deepEqual(JSON.parse(reply.body), { app: true });
  });

  it('a missing ConfigMap, or a header outside global-allowed-response-headers, denies the paths (503)', async () => {
    const before = app.seen.length;
    for (const host of ['missing.test', 'refused.test']) {
      const reply = await ctl!.http(host, '/');
      assert.equal(reply.status, 503, host);
      assert.equal(reply.headers['x-team'], undefined, host);
    }
    assert.equal(app.seen.length, before, 'the backend saw none of them');
    const { problems } = await ctl!.status();
    assert.ok(
      problems.some((problem) => /ConfigMap default\/nowhere not found/.test(problem)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((problem) => /X-Secret not in the settings' global-allowed-response-headers/.test(problem)),
      problems.join('\n'),
    );
  });
});

describe('e2e: response headers from an nginx without headers-more', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Recorder;
  let dir: string;

  before(async function () {
    this.timeout(60_000);
    // the real nginx, whose -V names a modules directory holding ngx_lua but not headers-more
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-plain-nginx-'));
    const version = execFileSync('sh', ['-c', `${NGINX} -V 2>&1`], { encoding: 'utf8' });
    const real = /--modules-path=(\S+)/.exec(version)?.[1] ?? '/usr/lib/nginx/modules';
    fs.mkdirSync(path.join(dir, 'modules'));
    for (const module of ['ndk_http_module.so', 'ngx_http_lua_module.so'])
      fs.symlinkSync(path.join(real, module), path.join(dir, 'modules', module));
    const wrapper = path.join(dir, 'nginx');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ "$1" = -V ]; then ${NGINX} -V 2>&1 | sed 's#--modules-path=[^ ]*#--modules-path=${dir}/modules#' >&2; exit 0; fi\nexec ${NGINX} "$@"\n`,
      { mode: 0o755 },
    );
    manifests = new ManifestDir('response-headers-plain');
    app = await serve('127.0.73.2', (_req, res) =>
      json(res, 200, { app: true }, { 'Strict-Transport-Security': 'max-age=5', 'X-Team': 'app' }),
    );
    manifests.write('services.yaml', [
      service('app', { ports: [{ port: 80, targetPort: app.port }] }),
      endpoints('app', { ready: ['127.0.73.2'], port: app.port }),
    ]);
    manifests.write('settings.yaml', [
      configMap('settings', NS, { 'add-headers': `${NS}/add`, 'global-allowed-response-headers': 'X-Team' }),
      configMap('add', NS, { 'X-Request-Start': 't=${msec}' }),
      configMap('custom', NS, { 'X-Team': 'ours' }),
    ]);
    manifests.write('ingresses.yaml', [
      ingress('custom', {
        host: 'custom.test',
        tls: [{ hosts: ['custom.test'] }],
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${ANNOTATION}custom-headers`]: 'custom' },
      }),
    ]);
    ctl = await startController({
      manifests: manifests.dir,
      extraArgs: ['--configmap', `${NS}/settings`, '--nginx-binary', wrapper],
    });
  });

  stopAfter(
    () => ctl,
    async () => {
      await app?.close();
      manifests?.cleanup();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  );

  it('falls back to add_header: headers added beside the backend own, Server sent, and the log says why', async () => {
    const reply = await ctl!.https('custom.test', '/');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.server, 'nginx', 'plain nginx cannot clear its Server header');
    assert.deepEqual(copies(reply, 'strict-transport-security'), ['max-age=5', HSTS]);
    assert.equal(reply.headers['x-team'], 'app, ours');
    // add-headers repeated in the location, which has add_header lines of its own
    assert.match(String(reply.headers['x-request-start']), /^t=\d+\.\d{3}$/);
    assert.match(ctl!.log(), /no headers-more module \(Debian: libnginx-mod-http-headers-more-filter\)/);
  });
});
