// Forged request headers through real nginx, with backends that echo what they received: the client
// certificate verdicts (ssl-client-*) of an mTLS host, X-Real-IP / X-Forwarded-* and the controller's other
// headers never reach a backend, the default backend of an error page or the auth service with a client's
// value, whatever another tenant's auth-response-headers or the ConfigMap's proxy-set-headers name; error
// pages get none of the client's credentials.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { basicAuth, tlsRequest } from '../helpers/http.js';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { appServices, json, serve, type Recorder as Server, type Seen } from '../helpers/recorder.js';
import { ManifestDir, configMap, ingress } from '../helpers/manifests.js';
import { cleanupPki, issueClient, makeCa } from '../model/annotations/tls-fixtures.js';
import type { Pem } from '../model/annotations/tls-fixtures.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const APP = '127.0.71.1';
const ERRORS = '127.0.71.2';
const AUTH = '127.0.71.3';
const GONE = '127.0.71.4'; // nothing listens: a Service whose only endpoint is not ready

// what a client forges: every header the controller sets itself (not X-Request-ID: as ingress-nginx, a
// client's request ID is kept, a trace begun before us)
const FORGED: Record<string, string> = {
  'ssl-client-verify': 'SUCCESS',
  'ssl-client-subject-dn': 'CN=admin',
  'ssl-client-issuer-dn': 'CN=forged CA',
  'ssl-client-cert': 'forged',
  'x-real-ip': '6.6.6.6',
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-host': 'forged.example.com',
  'x-forwarded-proto': 'gopher',
  'x-forwarded-port': '1',
  'x-original-uri': '/forged',
  'x-original-method': 'FORGED',
  'x-code': '200',
  'x-namespace': 'forged',
};

/** The values of a header as the backend got them, every copy (nginx would send a header twice if set twice). */
function copies(seen: Seen, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2)
    if (seen.rawHeaders[i]!.toLowerCase() === name) out.push(seen.rawHeaders[i + 1]!);
  return out;
}

/** No forged value reached the backend: each controller header is absent or nginx's own. */
function assertNoForged(seen: Seen, where: string, sent: Record<string, string> = FORGED): void {
  for (const [name, forged] of Object.entries(sent)) {
    for (const value of copies(seen, name))
      assert.ok(!value.split(/,\s*/).includes(forged), `${where}: ${name}: ${value} (forged ${forged}) reached it`);
  }
  assert.deepEqual(copies(seen, 'x-real-ip'), ['127.0.0.1'], where);
  assert.deepEqual(copies(seen, 'x-forwarded-for'), ['127.0.0.1'], where);
}

describe('e2e: protected request headers (forged client headers, credentials on error pages)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let app: Server;
  let errorsPod: Server;
  let auth: Server;
  let client: Pem;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('protected-headers');
    app = await serve(APP, (req, res) => {
      const code = /\/status\/([0-9]{3})/.exec(req.url ?? '')?.[1];
      json(res, code ? Number(code) : 200, { app: true });
    });
    errorsPod = await serve(ERRORS, (req, res) => json(res, Number(req.headers['x-code'] ?? 404), { errorPage: true }));
    // the auth service: allows everything, and names the user
    auth = await serve(AUTH, (_req, res) => json(res, 200, {}, { 'X-User': 'alice' }));
    const ca = makeCa('e2e client CA');
    client = issueClient(ca, 'alice');
    const htpasswd = `alice:${execFileSync('openssl', ['passwd', '-apr1', 's3cret'], { encoding: 'utf8' }).trim()}\n`;

    manifests.write('services.yaml', appServices(app, errorsPod, GONE));
    manifests.write('secrets.yaml', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: 'client-ca', namespace: 'default' },
        data: { 'ca.crt': Buffer.from(ca.cert).toString('base64') },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: 'users', namespace: 'default' },
        data: { auth: Buffer.from(htpasswd).toString('base64') },
      },
    ]);
    // the mTLS host, client certificates optional
    manifests.write(
      'mtls.yaml',
      ingress('mtls', {
        host: 'mtls.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-tls-secret`]: 'default/client-ca',
          [`${ANNOTATION}auth-tls-verify-client`]: 'optional',
        },
      }),
    );
    // another tenant asks for the verdict headers from its auth service: refused
    manifests.write(
      'tenant.yaml',
      ingress('tenant', {
        namespace: 'default',
        host: 'tenant.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-url`]: `http://${AUTH}:${auth.port}/verify`,
          [`${ANNOTATION}auth-response-headers`]: 'Ssl-Client-Subject-Dn,Ssl-Client-Verify',
        },
      }),
    );
    // a tenant with external auth done right
    manifests.write(
      'ext.yaml',
      ingress('ext', {
        host: 'ext.example.com',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${ANNOTATION}auth-url`]: `http://${AUTH}:${auth.port}/verify`,
          [`${ANNOTATION}auth-response-headers`]: 'X-User',
        },
      }),
    );
    // basic auth, error pages from a default backend, a path whose Service has no ready endpoint
    manifests.write(
      'errors.yaml',
      ingress('errors', {
        host: 'errors.example.com',
        paths: [
          { path: '/app', service: 'app' },
          { path: '/gone', service: 'gone' },
        ],
        annotations: {
          [`${ANNOTATION}auth-type`]: 'basic',
          [`${ANNOTATION}auth-secret`]: 'users',
          [`${ANNOTATION}default-backend`]: 'errors',
          [`${ANNOTATION}custom-http-errors`]: '404',
        },
      }),
    );
    manifests.write('open.yaml', ingress('open', { host: 'open.example.com', paths: [{ path: '/', service: 'app' }] }));
    // the ConfigMap's custom headers may not name a protected header either
    manifests.write('config.yaml', [
      configMap('ingress-templater', 'default', { 'proxy-set-headers': 'default/custom-headers' }),
      configMap('custom-headers', 'default', {
        'X-Real-IP': '9.9.9.9',
        'Ssl-Client-Verify': 'SUCCESS',
        'X-Team': 'payments',
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', 'default/ingress-templater'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await Promise.all([app?.close(), errorsPod?.close(), auth?.close()]);
      manifests?.cleanup();
      cleanupPki();
    },
  );

  it("the mTLS backend gets nginx's client certificate verdict only, with and without a certificate, whatever another tenant's auth-response-headers say", async function () {
    const before = app.seen.length;
    const without = await tlsRequest(ctl!.ports.https, 'mtls.example.com', '/who', { headers: FORGED });
    assert.equal(without.status, 200, without.body);
    // (forging what a valid certificate gives would prove nothing)
    const forgedWithCert = { ...FORGED, 'ssl-client-verify': 'FORGED' };
    const withCert = await tlsRequest(ctl!.ports.https, 'mtls.example.com', '/who', {
      headers: forgedWithCert,
      client,
    });
    assert.equal(withCert.status, 200, withCert.body);
    const [seenWithout, seenWith] = app.seen.slice(before);
    assert.ok(seenWithout && seenWith, 'both requests reached the backend');
    assert.deepEqual(copies(seenWithout, 'ssl-client-verify'), ['NONE']);
    assert.deepEqual(copies(seenWithout, 'ssl-client-subject-dn'), []);
    assert.deepEqual(copies(seenWithout, 'ssl-client-issuer-dn'), []);
    assert.deepEqual(copies(seenWithout, 'ssl-client-cert'), [], 'auth-tls-pass-certificate-to-upstream is off');
    assert.deepEqual(copies(seenWith, 'ssl-client-verify'), ['SUCCESS']);
    assert.deepEqual(copies(seenWith, 'ssl-client-subject-dn'), ['CN=alice']);
    assert.deepEqual(copies(seenWith, 'ssl-client-issuer-dn'), ['CN=e2e client CA']);
    assertNoForged(seenWithout, 'mtls without a certificate');
    assertNoForged(seenWith, 'mtls with a certificate', forgedWithCert);
    assert.deepEqual(copies(seenWith, 'x-team'), ['payments'], "the ConfigMap's other custom header is sent");
  });

  it('refuses auth-response-headers and proxy-set-headers naming a protected header, naming the Ingress / ConfigMap and the field', async function () {
    const problems = (await ctl!.status()).problems;
    const tenant = problems.find(
      (p) =>
        p.startsWith('error:') &&
        p.includes('Ingress default/tenant') &&
        p.includes(`${ANNOTATION}auth-response-headers`),
    );
    assert.ok(tenant, problems.join('\n'));
    assert.match(tenant, /Ssl-Client-Subject-Dn, which the controller sets itself/);
    // as for every invalid auth annotation: the Ingress's paths answer 503, other Ingresses are served
    assert.equal((await ctl!.http('tenant.example.com', '/')).status, 503);
    for (const key of ['X-Real-IP', 'Ssl-Client-Verify']) {
      assert.ok(
        problems.some(
          (p) =>
            p.includes('ConfigMap default/custom-headers') &&
            p.includes(`data.${key}`) &&
            p.includes('set by the controller itself'),
        ),
        `${key}\n${problems.join('\n')}`,
      );
    }
    assert.doesNotMatch(ctl!.nginxConf(), /9\.9\.9\.9|auth_ssl_client/);
  });

  it("a plain backend gets nginx's X-Real-IP and X-Forwarded-*, never the client's, and the client's request ID", async function () {
    const before = app.seen.length;
    const reply = await ctl!.http('open.example.com', '/x', {
      headers: { ...FORGED, authorization: 'Bearer abc', 'x-request-id': 'trace-42' },
    });
    assert.equal(reply.status, 200, reply.body);
    const seen = app.seen[before]!;
    assertNoForged(seen, 'open');
    assert.deepEqual(copies(seen, 'x-forwarded-host'), ['open.example.com']);
    assert.deepEqual(copies(seen, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(copies(seen, 'x-forwarded-scheme'), ['http']);
    assert.deepEqual(copies(seen, 'x-request-id'), ['trace-42']);
    // what the client claimed, under the names ingress-nginx gave it
    assert.deepEqual(copies(seen, 'x-original-forwarded-for'), ['6.6.6.6']);
    assert.deepEqual(copies(seen, 'x-original-forwarded-host'), ['forged.example.com']);
    // without one, nginx makes one (32 hex digits)
    const after = app.seen.length;
    await ctl!.http('open.example.com', '/y');
    assert.match(copies(app.seen[after]!, 'x-request-id')[0] ?? '', /^[0-9a-f]{32}$/);
    assert.deepEqual(copies(app.seen[after]!, 'x-original-forwarded-for'), []);
    assert.deepEqual(
      copies(seen, 'authorization'),
      ['Bearer abc'],
      "a host without auth passes the client's credentials to its own backend",
    );
  });

  it('the auth service and the protected backend get no forged verdicts', async function () {
    const appBefore = app.seen.length;
    const authBefore = auth.seen.length;
    const reply = await ctl!.http('ext.example.com', '/page', {
      headers: { ...FORGED, 'x-user': 'mallory', cookie: 'session=1' },
    });
    assert.equal(reply.status, 200, reply.body);
    const sub = auth.seen[authBefore]!;
    assertNoForged(sub, 'auth service');
    assert.deepEqual(copies(sub, 'x-original-uri'), ['/page']);
    assert.deepEqual(copies(sub, 'x-original-method'), ['GET']);
    assert.deepEqual(copies(sub, 'cookie'), ['session=1'], "the auth service decides on the client's credentials");
    const got = app.seen[appBefore]!;
    assertNoForged(got, 'ext backend');
    assert.deepEqual(copies(got, 'x-user'), ['alice'], "the auth service's answer, not the client's");
  });

  it('error pages: the default backend gets no credentials and no forged header (no endpoint, and an intercepted 404)', async function () {
    const headers = {
      ...FORGED,
      authorization: basicAuth('alice', 's3cret'),
      cookie: 'session=secret',
      'x-api-key': 'k',
    };
    for (const [urlPath, code] of [
      ['/gone/x', '503'],
      ['/app/status/404', '404'],
    ] as const) {
      const before = errorsPod.seen.length;
      const reply = await ctl!.http('errors.example.com', urlPath, { headers, timeoutMs: 10_000 });
      assert.equal(reply.status, Number(code), `${urlPath}: ${reply.body}`);
      assert.match(reply.body, /errorPage/);
      const seen = errorsPod.seen[before]!;
      assert.deepEqual(copies(seen, 'x-code'), [code]);
      assert.deepEqual(copies(seen, 'x-namespace'), ['default']);
      assert.deepEqual(copies(seen, 'x-ingress-name'), ['errors']);
      assert.deepEqual(copies(seen, 'x-original-uri'), [urlPath]);
      for (const name of ['authorization', 'cookie', 'x-api-key'])
        assert.deepEqual(copies(seen, name), [], `${urlPath}: ${name} reached the default backend`);
      assertNoForged(seen, `error page ${urlPath}`);
    }
    // the path's own backend did not get the credentials either (basic auth stops them at nginx)
    const last = app.seen[app.seen.length - 1]!;
    assert.equal(last.url, '/app/status/404');
    assert.deepEqual(copies(last, 'authorization'), []);
    assertNoForged(last, 'errors backend');
  });
});
