// Paths, rewrites and redirects through real nginx: rewrite-target with regex captures, use-regex,
// app-root, permanent/temporal redirects, from-to-www-redirect (HTTP and HTTPS), and invalid values that
// deny only their own Ingress's paths (503) while everything else keeps answering.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, ingress, tlsSecret } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';
import { makeCert } from '../helpers/resources.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const RW = 'rw.example.com';
const RX = 'rx.example.com';
const ROOT = 'root.example.com';
const MOVED = 'moved.example.com';
const SITE = 'site.example.com'; // from-to-www: www.site.example.com -> site.example.com, with TLS
const WWW = 'www.other.example.com'; // from-to-www: other.example.com -> www.other.example.com
const BAD = 'bad.example.com';
const ORDER = 'order.example.com'; // a rewrite on "/" beside a plain longer path
const SHADOW = 'shadow.example.com'; // a longer regex shadows a plain path it matches
const INSPECT = 'inspection.example.com'; // a path that tries to end its location and open another

describe('e2e: annotations for paths, rewrites and redirects', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods, otherPods: Pods;
  let siteCert: { crt: string; key: string };

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('ann-paths');
    pods = await startPods([{ name: 'web-pod', address: '127.0.0.61' }]);
    otherPods = await startPods([{ name: 'other-pod', address: '127.0.0.62' }]);
    siteCert = makeCert([SITE, `www.${SITE}`]);
    manifests.write('services.yaml', [backend('web', pods), backend('other', otherPods)].flat());
    manifests.write('site-secret.yaml', tlsSecret('site-tls', siteCert.crt, siteCert.key));
    manifests.write(
      'rewrite.yaml',
      ingress('rewrite', {
        host: RW,
        annotations: { [`${ANNOTATION}rewrite-target`]: '/$2' },
        paths: [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'web' }],
      }),
    );
    manifests.write(
      'regex.yaml',
      ingress('regex', {
        host: RX,
        annotations: { [`${ANNOTATION}use-regex`]: 'true' },
        paths: [
          { path: '/api/v[0-9]+/', pathType: 'ImplementationSpecific', service: 'web' },
          { path: '/exact/[a-z]+', pathType: 'Exact', service: 'web' },
          // counted repetitions, braces included (quoted, they are no nginx block)
          { path: '/code/[a-z]{3}$', pathType: 'ImplementationSpecific', service: 'web' },
          { path: '/v[0-9]{1,2}/items', pathType: 'ImplementationSpecific', service: 'other' },
        ],
      }),
    );
    // a plain Ingress on the regex host: its Prefix path becomes a regex but keeps element-wise matching
    manifests.write(
      'regex-plain.yaml',
      ingress('regex-plain', { host: RX, paths: [{ path: '/plain', service: 'other' }] }),
    );
    manifests.write('order.yaml', [
      ingress('kube-lego', { host: ORDER, paths: [{ path: '/.well-known/acme/challenge', service: 'other' }] }),
      ingress('rewrite-index', {
        host: ORDER,
        annotations: { [`${ANNOTATION}rewrite-target`]: '/new/backend' },
        paths: [{ path: '/', service: 'web' }],
      }),
      ingress('shadowed', { host: SHADOW, paths: [{ path: '/foo/bar/bar', service: 'other' }] }),
      ingress('shadowing', {
        host: SHADOW,
        annotations: { [`${ANNOTATION}use-regex`]: 'true', [`${ANNOTATION}rewrite-target`]: '/new/backend' },
        paths: [{ path: '/foo/bar/[a-z]{3}', pathType: 'ImplementationSpecific', service: 'web' }],
      }),
    ]);
    manifests.write(
      'inspect-invalid.yaml',
      ingress('invalidregex', {
        host: INSPECT,
        paths: [{ path: '/bla{alias /var/run/secrets/;}location ~* ^/abcd', service: 'web' }],
      }),
    );
    manifests.write(
      'inspect-valid.yaml',
      ingress('valid', { host: INSPECT, paths: [{ path: '/valid', service: 'web' }] }),
    );
    manifests.write(
      'root.yaml',
      ingress('root', {
        host: ROOT,
        annotations: { [`${ANNOTATION}app-root`]: '/app1' },
        paths: [{ path: '/', service: 'web' }],
      }),
    );
    manifests.write('moved.yaml', [
      ingress('permanent', {
        host: MOVED,
        annotations: { [`${ANNOTATION}permanent-redirect`]: 'https://new.example.org/landing?from=old' },
        paths: [{ path: '/perm', service: 'web' }],
      }),
      ingress('permanent-308', {
        host: MOVED,
        annotations: {
          [`${ANNOTATION}permanent-redirect`]: 'https://new.example.org/308',
          [`${ANNOTATION}permanent-redirect-code`]: '308',
        },
        paths: [{ path: '/perm308', service: 'web' }],
      }),
      ingress('temporal', {
        host: MOVED,
        annotations: { [`${ANNOTATION}temporal-redirect`]: 'http://maintenance.example.org/' },
        paths: [{ path: '/tmp', service: 'web' }],
      }),
      ingress('stays', { host: MOVED, paths: [{ path: '/stays', service: 'other' }] }),
    ]);
    manifests.write(
      'site.yaml',
      ingress('site', {
        host: SITE,
        annotations: { [`${ANNOTATION}from-to-www-redirect`]: 'true', [`${ANNOTATION}ssl-redirect`]: 'false' },
        tls: [{ hosts: [SITE], secretName: 'site-tls' }],
        paths: [{ path: '/', service: 'web' }],
      }),
    );
    manifests.write(
      'www.yaml',
      ingress('www', {
        host: WWW,
        annotations: { [`${ANNOTATION}from-to-www-redirect`]: 'true' },
        paths: [{ path: '/', service: 'other' }],
      }),
    );
    manifests.write('bad.yaml', [
      ingress('bad-rewrite', {
        host: BAD,
        annotations: { [`${ANNOTATION}rewrite-target`]: '/x; return 200 "owned"' },
        paths: [{ path: '/rw(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'web' }],
      }),
      ingress('bad-newline', {
        host: BAD,
        annotations: { [`${ANNOTATION}rewrite-target`]: '/x\nreturn 200;' },
        paths: [{ path: '/nl', service: 'web' }],
      }),
      ingress('bad-code', {
        host: BAD,
        annotations: {
          [`${ANNOTATION}permanent-redirect`]: 'https://new.example.org/',
          [`${ANNOTATION}permanent-redirect-code`]: '30x',
        },
        paths: [{ path: '/code', service: 'web' }],
      }),
      ingress('good', { host: BAD, paths: [{ path: '/good', service: 'other' }] }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods, otherPods);
      manifests?.cleanup();
    },
  );

  describe('rewrite-target and use-regex', () => {
    it('rewrite-target /$2 with path /something(/|$)(.*) reaches the pod with the rewritten URI', async function () {
      for (const [sent, seen] of [
        ['/something/new/path?x=1', '/new/path?x=1'],
        ['/something', '/'],
        ['/something/', '/'],
        ['/SOMETHING/Case', '/Case'], // the regex is case-insensitive, as in ingress-nginx
      ]) {
        const reply = await ctl!.http(RW, sent!);
        assert.equal(reply.status, 200, `${sent}: ${reply.status} ${reply.body}`);
        assert.equal(reply.pod?.pod, 'web-pod');
        assert.equal(reply.pod?.path, seen, sent);
      }
    });

    it('the regex decides what matches: /somethingelse is not /something(/|$)', async function () {
      const reply = await ctl!.http(RW, '/somethingelse');
      assert.equal(reply.status, 404);
      assert.equal(reply.pod, undefined);
    });

    it('use-regex matches paths as regular expressions and passes the URI unchanged', async function () {
      const ok = await ctl!.http(RX, '/api/v2/users?id=7');
      assert.equal(ok.status, 200);
      assert.equal(ok.pod?.pod, 'web-pod');
      assert.equal(ok.pod?.path, '/api/v2/users?id=7');
      assert.equal((await ctl!.http(RX, '/api/v42/')).pod?.path, '/api/v42/');
      assert.equal((await ctl!.http(RX, '/api/vX/users')).status, 404);
      // Exact on a regex path: anchored at both ends
      assert.equal((await ctl!.http(RX, '/exact/abc')).pod?.pod, 'web-pod');
      assert.equal((await ctl!.http(RX, '/exact/abc/more')).status, 404);
      assert.equal((await ctl!.http(RX, '/code/abc')).pod?.pod, 'web-pod');
      assert.equal((await ctl!.http(RX, '/code/abcd')).status, 404);
      assert.equal((await ctl!.http(RX, '/code/ab')).status, 404);
      assert.equal((await ctl!.http(RX, '/v12/items')).pod?.pod, 'other-pod');
      assert.equal((await ctl!.http(RX, '/v123/items')).status, 404);
    });

    it('a plain Prefix path on a regex host keeps element-wise matching', async function () {
      for (const requestPath of ['/plain', '/plain/', '/plain/deeper/x']) {
        const reply = await ctl!.http(RX, requestPath);
        assert.equal(reply.status, 200, requestPath);
        assert.equal(reply.pod?.pod, 'other-pod', requestPath);
        assert.equal(reply.pod?.path, requestPath);
      }
      assert.equal((await ctl!.http(RX, '/plainer')).status, 404);
      assert.match(ctl!.nginxConf(), /location ~\* "\^\/plain\/" \{/);
    });

    // ingress-nginx test/e2e/annotations/rewrite.go "should use correct longest path match"
    it('a rewrite on "/" leaves a longer plain path of the host alone', async function () {
      const challenge = await ctl!.http(ORDER, '/.well-known/acme/challenge');
      assert.equal(challenge.pod?.pod, 'other-pod');
      assert.equal(challenge.pod?.path, '/.well-known/acme/challenge');
      const index = await ctl!.http(ORDER, '/anything');
      assert.equal(index.pod?.pod, 'web-pod');
      assert.equal(index.pod?.path, '/new/backend');
    });

    // ingress-nginx test/e2e/annotations/rewrite.go "should fail to use longest match for documented warning"
    it('a longer regex path wins over a plain path it matches, as ingress-nginx documents', async function () {
      const reply = await ctl!.http(SHADOW, '/foo/bar/bar');
      assert.equal(reply.pod?.pod, 'web-pod');
      assert.equal(reply.pod?.path, '/new/backend');
    });
  });

  describe('redirects', () => {
    it('app-root: / answers 302 to the application root; other paths reach the pod', async function () {
      const reply = await ctl!.http(ROOT, '/');
      assert.equal(reply.status, 302);
      assert.equal(reply.headers.location, `http://${ROOT}/app1`);
      assert.equal(reply.pod, undefined);
      const withPort = await ctl!.http(ROOT, '/', { headers: { host: `${ROOT}:${ctl!.ports.http}` } });
      assert.equal(
        withPort.headers.location,
        `http://${ROOT}:${ctl!.ports.http}/app1`,
        'the Host header (with its port) is kept',
      );
      const app = await ctl!.http(ROOT, '/app1');
      assert.equal(app.status, 200);
      assert.equal(app.pod?.path, '/app1');
    });

    it('permanent-redirect answers 301 (or permanent-redirect-code) with the URL as Location', async function () {
      for (const requestPath of ['/perm', '/perm/x?y=1']) {
        const reply = await ctl!.http(MOVED, requestPath);
        assert.equal(reply.status, 301, requestPath);
        assert.equal(reply.headers.location, 'https://new.example.org/landing?from=old');
        assert.equal(reply.pod, undefined);
      }
      const r308 = await ctl!.http(MOVED, '/perm308');
      assert.equal(r308.status, 308);
      assert.equal(r308.headers.location, 'https://new.example.org/308');
    });

    it('temporal-redirect answers 302; a plain Ingress of the same host still reaches its pod', async function () {
      const reply = await ctl!.http(MOVED, '/tmp/a');
      assert.equal(reply.status, 302);
      assert.equal(reply.headers.location, 'http://maintenance.example.org/');
      const stays = await ctl!.http(MOVED, '/stays');
      assert.equal(stays.status, 200);
      assert.equal(stays.pod?.pod, 'other-pod');
    });

    it('from-to-www-redirect: www.HOST answers 308 to SCHEME://HOST:PORT and the URI; HOST itself is served', async function () {
      const reply = await ctl!.http(`www.${SITE}`, '/some/path?q=1');
      assert.equal(reply.status, 308);
      // as ingress-nginx: the port always, the scheme's when the Host header has none
      assert.equal(reply.headers.location, `http://${SITE}:80/some/path?q=1`);
      const withPort = await ctl!.http(`www.${SITE}`, '/p', { headers: { host: `www.${SITE}:${ctl!.ports.http}` } });
      assert.equal(withPort.headers.location, `http://${SITE}:${ctl!.ports.http}/p`);
      const site = await ctl!.http(SITE, '/some/path');
      assert.equal(site.status, 200);
      assert.equal(site.pod?.pod, 'web-pod');
    });

    it("from-to-www-redirect over HTTPS: the host's certificate is presented for www.HOST, and the redirect stays https", async function () {
      const reply = await ctl!.https(`www.${SITE}`, '/secure?a=b', {
        headers: { host: `www.${SITE}:${ctl!.ports.https}` },
      });
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `https://${SITE}:${ctl!.ports.https}/secure?a=b`);
      assert.equal(reply.cert?.fingerprint256, new crypto.X509Certificate(siteCert.crt).fingerprint256);
      const site = await ctl!.https(SITE, '/x');
      assert.equal(site.status, 200);
      assert.equal(site.pod?.pod, 'web-pod');
    });

    it('from-to-www-redirect on a www host: the bare name redirects to www', async function () {
      const reply = await ctl!.http('other.example.com', '/a/b');
      assert.equal(reply.status, 308);
      assert.equal(reply.headers.location, `http://${WWW}:80/a/b`);
      assert.equal((await ctl!.http(WWW, '/a/b')).pod?.pod, 'other-pod');
    });
  });

  describe('invalid values', () => {
    // ingress-nginx test/e2e/ingress/deep_inspection.go "should drop whole ingress if one path matches invalid regex"
    it('a path that tries to close its location is refused with its Ingress; the host keeps its other paths', async function () {
      assert.equal((await ctl!.http(INSPECT, '/valid')).pod?.pod, 'web-pod');
      assert.equal((await ctl!.http(INSPECT, '/bla')).status, 404);
      assert.equal((await ctl!.http(INSPECT, '/abcd/')).status, 404);
      assert.ok(!ctl!.nginxConf().includes('/var/run/secrets'));
      const problems = (await ctl!.status()).problems;
      assert.ok(
        problems.some((problem) => problem.includes('Ingress default/invalidregex') && problem.includes('path')),
        problems.join('\n'),
      );
    });

    it('are ignored with their defaults, as ingress-nginx: no rewrite, redirect code 301; the host keeps answering', async function () {
      // an invalid rewrite-target: the paths are proxied as they came
      for (const requestPath of ['/rw/x', '/nl', '/nl/x']) {
        const reply = await ctl!.http(BAD, requestPath);
        assert.equal(reply.pod?.pod, 'web-pod', `${requestPath}: ${reply.status}`);
        assert.equal(reply.pod?.path, requestPath);
      }
      // an invalid permanent-redirect-code: the redirect with its default code
      const code = await ctl!.http(BAD, '/code');
      assert.equal(code.status, 301);
      assert.equal(code.headers.location, 'https://new.example.org/');
      const good = await ctl!.http(BAD, '/good');
      assert.equal(good.status, 200);
      assert.equal(good.pod?.pod, 'other-pod');
      // and the rest of the controller is unaffected
      assert.equal((await ctl!.http(RW, '/something/ok')).pod?.path, '/ok');
    });

    it('nothing of the invalid values reaches nginx.conf', async function () {
      const conf = ctl!.nginxConf();
      assert.doesNotMatch(conf, /owned/);
      assert.doesNotMatch(conf, /return 30x/);
      assert.doesNotMatch(conf, /"\/x/);
    });

    it('/status names the Ingress, the annotation and the value', async function () {
      const problems = (await ctl!.status()).problems;
      const find = (re: RegExp) =>
        assert.ok(
          problems.some((p) => re.test(p)),
          `${re} not in:\n${problems.join('\n')}`,
        );
      find(
        /bad\.yaml.*Ingress default\/bad-rewrite.*nginx\.ingress\.kubernetes\.io\/rewrite-target.*invalid value "\/x; return 200 \\"owned\\""/,
      );
      find(
        /Ingress default\/bad-newline.*nginx\.ingress\.kubernetes\.io\/rewrite-target.*invalid value "\/x\\nreturn 200;"/,
      );
      find(
        /Ingress default\/bad-code.*nginx\.ingress\.kubernetes\.io\/permanent-redirect-code.*invalid value "30x".*300-308/,
      );
    });

    it('fixing the value serves the Ingress again after a reload', async function () {
      const reloads = await ctl!.metric('reloads_total');
      manifests.write('bad.yaml', [
        ingress('bad-code', {
          host: BAD,
          annotations: {
            [`${ANNOTATION}permanent-redirect`]: 'https://new.example.org/',
            [`${ANNOTATION}permanent-redirect-code`]: '307',
          },
          paths: [{ path: '/code', service: 'web' }],
        }),
        ingress('good', { host: BAD, paths: [{ path: '/good', service: 'other' }] }),
      ]);
      await ctl!.waitForReload(reloads);
      const reply = await ctl!.http(BAD, '/code');
      assert.equal(reply.status, 307);
      assert.equal(reply.headers.location, 'https://new.example.org/');
      const problems = (await ctl!.status()).problems;
      assert.ok(!problems.some((p) => /permanent-redirect-code/.test(p)), problems.join('\n'));
    });
  });
});
