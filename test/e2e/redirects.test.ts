// Redirects through real nginx and real HTTP clients (node's http, and curl following a redirect), checked
// against what ingress-nginx's own e2e suite expected of them (test/e2e/ssl/http_redirect.go,
// settings/tls.go, annotations/forcesslredirect.go, preservetrailingslash.go, fromtowwwredirect.go,
// relativeredirects.go, redirect.go, settings/no_tls_redirect_locations.go): the ssl-redirect target without a trailing "/" or a port, the
// from-to-www target as SCHEME://HOST:PORT, permanent-redirect to a path, and the ConfigMap keys
// http-redirect-code, use-forwarded-headers, use-port-in-redirects, relative-redirects and
// no-tls-redirect-locations.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, configMap, ingress, tlsSecret } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';
import { makeCert } from '../helpers/resources.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const SECURE = 'secure.redir.example.com'; // spec.tls: ssl-redirect by default
const KEEP = 'keep.redir.example.com'; // spec.tls and preserve-trailing-slash
const FORCE = 'force.redir.example.com'; // no spec.tls, force-ssl-redirect
const PORTED = 'ported.redir.example.com'; // force-ssl-redirect with use-port-in-redirects
const APEX = 'apex.redir.example.com'; // from-to-www-redirect: www.APEX answers with APEX
const REL = 'rel.redir.example.com'; // permanent-redirect to a path
const SETTINGS = 'redirect-settings';

const run = promisify(execFile);

describe('e2e: redirects as ingress-nginx wrote them', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;

  const writeSettings = (data: Record<string, string>) =>
    manifests.write('settings.yaml', configMap(SETTINGS, 'default', data));

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('redirects');
    pods = await startPods([{ name: 'redirect-pod', address: '127.0.0.71' }]);
    const cert = makeCert([SECURE, KEEP]);
    manifests.write('services.yaml', backend('web', pods));
    manifests.write('secret.yaml', tlsSecret('redir-tls', cert.crt, cert.key));
    writeSettings({});
    manifests.write('ingresses.yaml', [
      ingress('secure', {
        host: SECURE,
        tls: [{ hosts: [SECURE], secretName: 'redir-tls' }],
        paths: [{ path: '/', service: 'web' }],
      }),
      // what cert-manager writes for an HTTP-01 challenge
      ingress('acme', {
        host: SECURE,
        tls: [{ hosts: [SECURE], secretName: 'redir-tls' }],
        paths: [{ path: '/.well-known/acme-challenge/token-1', pathType: 'Exact', service: 'web' }],
      }),
      ingress('keep', {
        host: KEEP,
        annotations: { [`${ANNOTATION}preserve-trailing-slash`]: 'true' },
        tls: [{ hosts: [KEEP], secretName: 'redir-tls' }],
        paths: [{ path: '/', service: 'web' }],
      }),
      ingress('force', {
        host: FORCE,
        annotations: { [`${ANNOTATION}force-ssl-redirect`]: 'true' },
        paths: [{ path: '/', service: 'web' }],
      }),
      ingress('ported', {
        host: PORTED,
        annotations: {
          [`${ANNOTATION}force-ssl-redirect`]: 'true',
          [`${ANNOTATION}use-port-in-redirects`]: 'true',
        },
        paths: [{ path: '/', service: 'web' }],
      }),
      ingress('apex', {
        host: APEX,
        annotations: { [`${ANNOTATION}from-to-www-redirect`]: 'true' },
        paths: [{ path: '/', service: 'web' }],
      }),
      ingress('rel-absolute', {
        host: REL,
        annotations: { [`${ANNOTATION}permanent-redirect`]: '/new-location' },
        paths: [{ path: '/something', service: 'web' }],
      }),
      ingress('rel-relative', {
        host: REL,
        annotations: {
          [`${ANNOTATION}permanent-redirect`]: '/new-location',
          [`${ANNOTATION}relative-redirects`]: 'true',
        },
        paths: [{ path: '/relative', service: 'web' }],
      }),
      ingress('rel-temporal', {
        host: REL,
        annotations: { [`${ANNOTATION}temporal-redirect`]: '/maintenance' },
        paths: [{ path: '/temporal', service: 'web' }],
      }),
      ingress('rel-served', { host: REL, paths: [{ path: '/new-location', service: 'web' }] }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `default/${SETTINGS}`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  describe("with ingress-nginx's defaults", () => {
    it('ssl-redirect: 308 to https://HOST and the URI less one trailing "/", without a port', async function () {
      for (const [sent, location] of [
        ['/', `https://${SECURE}`],
        ['/a/b/', `https://${SECURE}/a/b`],
        ['/a/b', `https://${SECURE}/a/b`],
        ['/a/b/?q=1', `https://${SECURE}/a/b/?q=1`], // the URI ends with the query, which keeps its slash
        ['/a?next=/', `https://${SECURE}/a?next=`], // one "/" off the end, query or not: as ingress-nginx's Lua
        ['//', `https://${SECURE}/`],
      ]) {
        const reply = await ctl!.http(SECURE, sent!);
        assert.equal(reply.status, 308, sent);
        assert.equal(reply.headers.location, location, sent);
        assert.equal(reply.pod, undefined);
      }
      // the Host header's port is not the HTTPS port: no port at all
      const withPort = await ctl!.http(SECURE, '/x/', { headers: { host: `${SECURE}:${ctl!.ports.http}` } });
      assert.equal(withPort.headers.location, `https://${SECURE}/x`);
      // over HTTPS the host is served
      const secure = await ctl!.https(SECURE, '/a/b/');
      assert.equal(secure.status, 200);
      assert.equal(secure.pod?.path, '/a/b/');
    });

    it('no-tls-redirect-locations: an ACME challenge on the TLS host is served over plain HTTP', async function () {
      const reply = await ctl!.http(SECURE, '/.well-known/acme-challenge/token-1');
      assert.equal(reply.status, 200);
      assert.equal(reply.pod?.path, '/.well-known/acme-challenge/token-1');
      assert.equal((await ctl!.http(SECURE, '/.well-known/other')).status, 308);
    });

    it('X-Forwarded-Proto and X-Forwarded-Host from a client are not trusted (use-forwarded-headers is off)', async function () {
      const reply = await ctl!.http(SECURE, '/p', {
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example.org' },
      });
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `https://${SECURE}/p`);
    });

    it('preserve-trailing-slash "true" keeps the URI whole', async function () {
      for (const [sent, location] of [
        ['/', `https://${KEEP}/`],
        ['/a/', `https://${KEEP}/a/`],
        ['/a', `https://${KEEP}/a`],
      ]) {
        const reply = await ctl!.http(KEEP, sent!);
        assert.equal(reply.status, 308, sent);
        assert.equal(reply.headers.location, location, sent);
      }
    });

    it('force-ssl-redirect on a host without spec.tls: 308 to https://HOST', async function () {
      const reply = await ctl!.http(FORCE, '/');
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `https://${FORCE}`);
      assert.equal((await ctl!.http(FORCE, '/deep/er/')).headers.location, `https://${FORCE}/deep/er`);
    });

    it('use-port-in-redirects "true": the HTTPS port nginx listens on, which curl follows to the pod', async function () {
      const reply = await ctl!.http(PORTED, '/x/');
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `https://${PORTED}:${ctl!.ports.https}/x`);
      const { stdout } = await run('curl', [
        '--silent',
        '--show-error',
        '--insecure',
        '--location',
        '--max-redirs',
        '2',
        '--resolve',
        `${PORTED}:${ctl!.ports.http}:127.0.0.1`,
        '--resolve',
        `${PORTED}:${ctl!.ports.https}:127.0.0.1`,
        '--write-out',
        '\n%{http_code} %{num_redirects} %{url_effective}',
        `http://${PORTED}:${ctl!.ports.http}/x/?y=1`,
      ]);
      const lines = stdout.trimEnd().split('\n');
      assert.equal(lines.at(-1), `200 1 https://${PORTED}:${ctl!.ports.https}/x/?y=1`);
      assert.equal(JSON.parse(lines.slice(0, -1).join('\n')).path, '/x/?y=1');
    });

    it('from-to-www-redirect: 308 to http://HOST:PORT and the URI less a trailing "/", PORT from the Host header or the scheme', async function () {
      const reply = await ctl!.http(`www.${APEX}`, '/foo');
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `http://${APEX}:80/foo`);
      assert.equal((await ctl!.http(`www.${APEX}`, '/')).headers.location, `http://${APEX}:80`);
      assert.equal((await ctl!.http(`www.${APEX}`, '/a/?b=c/')).headers.location, `http://${APEX}:80/a/?b=c`);
      const withPort = await ctl!.http(`www.${APEX}`, '/foo/', {
        headers: { host: `www.${APEX}:${ctl!.ports.http}` },
      });
      assert.equal(withPort.headers.location, `http://${APEX}:${ctl!.ports.http}/foo`);
      // over HTTPS (the default certificate here): the scheme's port
      const secure = await ctl!.https(`www.${APEX}`, '/');
      assert.equal(secure.status, 308);
      assert.equal(secure.headers.location, `https://${APEX}:443`);
      assert.equal((await ctl!.http(APEX, '/foo')).pod?.path, '/foo');
    });

    it('permanent-redirect to a path: 301 to http://HOST/path (no port), or the path alone with relative-redirects', async function () {
      const absolute = await ctl!.http(REL, '/something', { headers: { host: `${REL}:${ctl!.ports.http}` } });
      assert.equal(absolute.status, 301);
      assert.equal(absolute.headers.location, `http://${REL}/new-location`);
      assert.equal(absolute.pod, undefined);
      const relative = await ctl!.http(REL, '/relative/x');
      assert.equal(relative.status, 301);
      assert.equal(relative.headers.location, '/new-location');
      assert.equal((await ctl!.http(REL, '/new-location')).pod?.path, '/new-location');
    });

    it('temporal-redirect to a path is ignored, as ingress-nginx did: the paths proxy, with a warning', async function () {
      const reply = await ctl!.http(REL, '/temporal');
      assert.equal(reply.status, 200);
      assert.equal(reply.pod?.path, '/temporal');
      const problems = (await ctl!.status()).problems;
      assert.ok(
        problems.some((p) => /rel-temporal.*temporal-redirect.*ignored: "\/maintenance" has no http/.test(p)),
        problems.join('\n'),
      );
    });
  });

  describe('with the ConfigMap: use-forwarded-headers, http-redirect-code, use-port-in-redirects, relative-redirects', () => {
    before(async function () {
      this.timeout(20_000);
      const reloads = await ctl!.metric('reloads_total');
      writeSettings({
        'use-forwarded-headers': 'true',
        'http-redirect-code': '301',
        'use-port-in-redirects': 'true',
        'relative-redirects': 'true',
      });
      await ctl!.waitForReload(reloads);
      assert.match(ctl!.nginxConf(), /\n {4}port_in_redirect on;\n {4}absolute_redirect off;\n/);
    });

    it('a request that was HTTPS at the proxy in front (X-Forwarded-Proto: https) is served over plain HTTP', async function () {
      const reply = await ctl!.http(SECURE, '/served/', { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(reply.status, 200);
      assert.equal(reply.pod?.path, '/served/');
    });

    it('the redirect answers http-redirect-code, to X-Forwarded-Host without its port, with the HTTPS port', async function () {
      const https = ctl!.ports.https;
      const plain = await ctl!.http(SECURE, '/a/');
      assert.equal(plain.status, 301);
      assert.equal(plain.headers.location, `https://${SECURE}:${https}/a`);
      // settings/tls.go: X-Forwarded-Host "example.com:80" gives https://example.com (plus the port asked for)
      const forwarded = await ctl!.http(SECURE, '/', {
        headers: { 'x-forwarded-host': 'example.com:80', 'x-forwarded-proto': 'http' },
      });
      assert.equal(forwarded.status, 301);
      assert.equal(forwarded.headers.location, `https://example.com:${https}`);
      // the first of a list
      const list = await ctl!.http(SECURE, '/l', {
        headers: { 'x-forwarded-host': 'one.example.com, two.example.com' },
      });
      assert.equal(list.headers.location, `https://one.example.com:${https}/l`);
      // HTTPS that was plain HTTP at the proxy in front redirects too, as in ingress-nginx
      const downgraded = await ctl!.https(SECURE, '/d', { headers: { 'x-forwarded-proto': 'http' } });
      assert.equal(downgraded.status, 301);
      assert.equal(downgraded.headers.location, `https://${SECURE}:${https}/d`);
    });

    it('from-to-www-redirect takes the scheme and port from X-Forwarded-Proto and -Port, and http-redirect-code', async function () {
      const forwarded = await ctl!.http(`www.${APEX}`, '/foo/', {
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-port': '8443' },
      });
      assert.equal(forwarded.status, 301);
      assert.equal(forwarded.headers.location, `https://${APEX}:8443/foo`);
      const proto = await ctl!.http(`www.${APEX}`, '/foo', { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(proto.headers.location, `https://${APEX}:443/foo`);
      const plain = await ctl!.http(`www.${APEX}`, '/foo');
      assert.equal(plain.headers.location, `http://${APEX}:80/foo`);
    });

    it('relative-redirects in the ConfigMap: every permanent-redirect to a path answers with the path alone', async function () {
      const reply = await ctl!.http(REL, '/something');
      assert.equal(reply.status, 301);
      assert.equal(reply.headers.location, '/new-location');
    });
  });
});
