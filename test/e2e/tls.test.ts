// TLS: certificates per host by SNI, the default certificate, HTTP -> HTTPS redirects and their opt-out.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeCert, type KeyPair } from '../helpers/certs.js';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, ingress, tlsSecret } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

const ALPHA = 'alpha.example.com';
const BETA = 'beta.example.com';
const NOSECRET = 'nosecret.example.com';
const OPEN = 'open.example.com';
const MIXED = 'mixed.example.com'; // two Ingresses, one with ssl-redirect "false"
const FAKE_CN = 'Ingress Templater Fake Certificate';

const fingerprint = (pem: string) => new crypto.X509Certificate(pem).fingerprint256;

describe('e2e: TLS', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let alphaPods: Pods, betaPods: Pods, otherPods: Pods;
  let alpha: KeyPair, beta: KeyPair, open: KeyPair;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('tls');
    alpha = makeCert(ALPHA);
    beta = makeCert(BETA);
    open = makeCert(OPEN);
    alphaPods = await startPods([{ name: 'alpha-pod', address: '127.0.0.91' }]);
    betaPods = await startPods([{ name: 'beta-pod', address: '127.0.0.92' }]);
    otherPods = await startPods([{ name: 'other-pod', address: '127.0.0.93' }]);
    manifests.write(
      'services.yaml',
      [backend('alpha-svc', alphaPods), backend('beta-svc', betaPods), backend('other-svc', otherPods)].flat(),
    );
    manifests.write('alpha-secret.yaml', tlsSecret('alpha-tls', alpha.cert, alpha.key));
    manifests.write('beta-secret.yaml', tlsSecret('beta-tls', beta.cert, beta.key));
    manifests.write('open-secret.yaml', tlsSecret('open-tls', open.cert, open.key));
    manifests.write(
      'alpha.yaml',
      ingress('alpha', {
        host: ALPHA,
        tls: [{ hosts: [ALPHA], secretName: 'alpha-tls' }],
        paths: [{ path: '/', service: 'alpha-svc' }],
      }),
    );
    manifests.write(
      'beta.yaml',
      ingress('beta', {
        host: BETA,
        tls: [{ hosts: [BETA], secretName: 'beta-tls' }],
        paths: [{ path: '/', service: 'beta-svc' }],
      }),
    );
    manifests.write(
      'nosecret.yaml',
      ingress('nosecret', {
        host: NOSECRET,
        tls: [{ hosts: [NOSECRET], secretName: 'missing-secret' }],
        paths: [{ path: '/', service: 'other-svc' }],
      }),
    );
    manifests.write(
      'open.yaml',
      ingress('open', {
        host: OPEN,
        annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
        tls: [{ hosts: [OPEN], secretName: 'open-tls' }],
        paths: [{ path: '/', service: 'other-svc' }],
      }),
    );
    manifests.write('mixed.yaml', [
      ingress('mixed', {
        host: MIXED,
        tls: [{ hosts: [MIXED], secretName: 'alpha-tls' }],
        paths: [{ path: '/', service: 'alpha-svc' }],
      }),
      ingress('mixed-open', {
        host: MIXED,
        annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
        tls: [{ hosts: [MIXED], secretName: 'alpha-tls' }],
        paths: [{ path: '/plain', service: 'other-svc' }],
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(alphaPods, betaPods, otherPods);
      manifests?.cleanup();
    },
  );

  it('serves each host with its own certificate, chosen by SNI', async function () {
    const alphaReply = await ctl!.https(ALPHA, '/a');
    const betaReply = await ctl!.https(BETA, '/b');
    assert.equal(alphaReply.status, 200);
    assert.equal(alphaReply.pod?.pod, 'alpha-pod');
    assert.equal(alphaReply.cert?.subject.CN, ALPHA);
    assert.equal(alphaReply.cert?.subjectaltname, `DNS:${ALPHA}`);
    assert.equal(alphaReply.cert?.fingerprint256, fingerprint(alpha.cert));
    assert.equal(betaReply.status, 200);
    assert.equal(betaReply.pod?.pod, 'beta-pod');
    assert.equal(betaReply.cert?.subject.CN, BETA);
    assert.equal(betaReply.cert?.subjectaltname, `DNS:${BETA}`);
    assert.equal(betaReply.cert?.fingerprint256, fingerprint(beta.cert));
  });

  it('a host whose Secret is missing gets the self-signed default certificate and still serves', async function () {
    const reply = await ctl!.https(NOSECRET, '/x');
    assert.equal(reply.status, 200);
    assert.equal(reply.pod?.pod, 'other-pod');
    assert.equal(reply.cert?.subject.CN, FAKE_CN);
    assert.equal(reply.cert?.subject.O, 'ingress-templater');
    assert.notEqual(reply.cert?.fingerprint256, fingerprint(alpha.cert));
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some((p) => p.includes('nosecret.yaml') && p.includes('Secret default/missing-secret not found')),
      problems.join('\n'),
    );
  });

  it('an unknown SNI name, or none, gets the default certificate', async function () {
    const reply = await ctl!.https('unknown.example.net', '/');
    assert.equal(reply.status, 404);
    assert.equal(reply.cert?.subject.CN, FAKE_CN);
    const bare = await ctl!.https(ALPHA, '/', { servername: null });
    assert.equal(bare.cert?.subject.CN, FAKE_CN);
  });

  it('plain HTTP to a TLS host answers 308 to https, without a port (as ingress-nginx)', async function () {
    for (const host of [ALPHA, BETA, NOSECRET]) {
      const reply = await ctl!.http(host, '/some/path?q=a%20b');
      assert.equal(reply.status, 308, `${host}: ${reply.status}`);
      assert.equal(reply.headers.location, `https://${host}/some/path?q=a%20b`);
      assert.equal(reply.pod, undefined, 'the redirect comes from nginx, not the pod');
    }
  });

  it('ssl-redirect: "false" on an Ingress serves its hosts over plain HTTP as well', async function () {
    const plain = await ctl!.http(OPEN, '/plain');
    assert.equal(plain.status, 200);
    assert.equal(plain.pod?.pod, 'other-pod');
    assert.equal(plain.pod?.path, '/plain');
    const secure = await ctl!.https(OPEN, '/secure');
    assert.equal(secure.status, 200);
    assert.equal(secure.cert?.subject.CN, OPEN);
    // only that Ingress: the others still redirect
    assert.equal((await ctl!.http(ALPHA, '/')).status, 308);
  });

  it('a host whose Ingresses differ: each path keeps its own (the redirect is per location there)', async function () {
    const plain = await ctl!.http(MIXED, '/plain/x');
    assert.equal(plain.status, 200);
    assert.equal(plain.pod?.pod, 'other-pod');
    for (const requestPath of ['/', '/elsewhere', '/plainer']) {
      const reply = await ctl!.http(MIXED, requestPath);
      assert.equal(reply.status, 308, requestPath);
      // ingress-nginx's target drops a trailing "/": "/" becomes nothing
      assert.equal(reply.headers.location, `https://${MIXED}${requestPath === '/' ? '' : requestPath}`);
    }
    assert.equal((await ctl!.https(MIXED, '/elsewhere')).pod?.pod, 'alpha-pod');
  });

  it('redirects answered before any location leave no warning in the error log', function () {
    const log = fs.readFileSync(path.join(ctl!.prefix, 'logs', 'error.log'), 'utf8');
    assert.deepEqual(
      log.split('\n').filter((l) => /uninitialized/.test(l)),
      [],
    );
  });

  it('a renewed certificate in the Secret is served after the reload; the old key file is removed', async function () {
    const sslDir = path.join(ctl!.prefix, 'ssl');
    const alphaFiles = () => fs.readdirSync(sslDir).filter((f) => f.startsWith('default_alpha-tls-'));
    const oldFiles = alphaFiles();
    assert.equal(oldFiles.length, 1, `files: ${fs.readdirSync(sslDir).join(', ')}`);
    for (const name of fs.readdirSync(sslDir).filter((n) => n.endsWith('.pem'))) {
      assert.equal(fs.statSync(path.join(sslDir, name)).mode & 0o777, 0o600, `${name} holds a private key`);
    }
    const renewed = makeCert(ALPHA);
    const reloads = await ctl!.metric('reloads_total');
    manifests.write('alpha-secret.yaml', tlsSecret('alpha-tls', renewed.cert, renewed.key));
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(async () => (await ctl!.https(ALPHA, '/')).cert?.fingerprint256 === fingerprint(renewed.cert), {
      what: 'the renewed certificate',
    });
    const now = alphaFiles();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], oldFiles[0]);
  });
});
