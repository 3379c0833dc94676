// --default-ssl-certificate NS/NAME: the TLS Secret served wherever the generated self-signed certificate
// would be (the catch-all, clients without SNI, unknown names, hosts whose own certificate is missing or names
// another host), checked with a real TLS client against real nginx; an unusable Secret falls back to the
// generated certificate with a warning, and serving goes on.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { makeCert, type KeyPair } from '../helpers/certs.js';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, ingress, tlsSecret } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

const OWN = 'own.example.com'; // its own certificate
const NOSECRET = 'nosecret.example.com'; // spec.tls names a Secret that does not exist
const FOREIGN = 'foreign.example.com'; // its Secret's certificate names another host
const PLAIN = 'plain.example.com'; // no spec.tls at all
const FAKE_CN = 'Ingress Templater Fake Certificate';

const fingerprint = (pem: string) => new crypto.X509Certificate(pem).fingerprint256;

describe('e2e: --default-ssl-certificate (directory mode)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;
  let fallback: KeyPair, own: KeyPair, notFoo: KeyPair;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('default-ssl-certificate');
    fallback = makeCert('default.example.org');
    own = makeCert(OWN);
    notFoo = makeCert('not.foreign.example.com');
    pods = await startPods([{ name: 'web-pod', address: '127.0.0.94' }]);
    manifests.write('services.yaml', backend('web-svc', pods));
    manifests.write('fallback-secret.yaml', tlsSecret('fallback-cert', fallback.cert, fallback.key, 'infra'));
    manifests.write('own-secret.yaml', tlsSecret('own-tls', own.cert, own.key));
    manifests.write('foreign-secret.yaml', tlsSecret('foreign-tls', notFoo.cert, notFoo.key));
    manifests.write('ingresses.yaml', [
      // ingress-nginx's NewSingleCatchAllIngress: spec.defaultBackend and no rules
      ingress('catch-all', { defaultBackend: { service: 'web-svc' } }),
      ingress('own', {
        host: OWN,
        tls: [{ hosts: [OWN], secretName: 'own-tls' }],
        paths: [{ path: '/', service: 'web-svc' }],
      }),
      ingress('nosecret', {
        host: NOSECRET,
        tls: [{ hosts: [NOSECRET], secretName: 'missing-secret' }],
        paths: [{ path: '/', service: 'web-svc' }],
      }),
      ingress('foreign', {
        host: FOREIGN,
        tls: [{ hosts: [FOREIGN], secretName: 'foreign-tls' }],
        paths: [{ path: '/', service: 'web-svc' }],
      }),
      ingress('plain', { host: PLAIN, paths: [{ path: '/', service: 'web-svc' }] }),
    ]);
    ctl = await startController({
      manifests: manifests.dir,
      extraArgs: ['--default-ssl-certificate', 'infra/fallback-cert'],
    });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  // ingress-nginx test/e2e/settings/default_ssl_certificate.go "uses default ssl certificate for catch-all ingress"
  it('the catch-all and clients without SNI get the Secret of the flag', async function () {
    const bare = await ctl!.https(OWN, '/', { servername: null });
    assert.equal(bare.cert?.fingerprint256, fingerprint(fallback.cert));
    const unknown = await ctl!.https('unknown.example.net', '/x');
    assert.equal(unknown.status, 200, 'the catch-all Ingress answers an unknown name');
    assert.equal(unknown.pod?.pod, 'web-pod');
    assert.equal(unknown.cert?.fingerprint256, fingerprint(fallback.cert));
  });

  it('a host with its own certificate keeps it', async function () {
    const reply = await ctl!.https(OWN, '/');
    assert.equal(reply.status, 200);
    assert.equal(reply.cert?.fingerprint256, fingerprint(own.cert));
  });

  it('a host whose Secret is missing, or has no TLS section, gets the Secret of the flag and serves', async function () {
    for (const host of [NOSECRET, PLAIN]) {
      const reply = await ctl!.https(host, '/y');
      assert.equal(reply.status, 200, host);
      assert.equal(reply.pod?.pod, 'web-pod', host);
      assert.equal(reply.cert?.fingerprint256, fingerprint(fallback.cert), host);
    }
  });

  // ingress-nginx test/e2e/settings/default_ssl_certificate.go "uses default ssl certificate for host based ingress when configured certificate does not match host"
  it('a host whose certificate names another host gets the Secret of the flag', async function () {
    const reply = await ctl!.https(FOREIGN, '/');
    assert.equal(reply.status, 200);
    assert.equal(reply.cert?.fingerprint256, fingerprint(fallback.cert));
  });

  it('an unusable or missing Secret: the generated certificate, a warning, and it comes back when fixed', async function () {
    this.timeout(40_000);
    // a key that belongs to another certificate
    manifests.write('fallback-secret.yaml', tlsSecret('fallback-cert', fallback.cert, own.key, 'infra'));
    await ctl!.waitFor(async () => (await ctl!.https(NOSECRET, '/')).cert?.subject.CN === FAKE_CN, {
      what: 'the generated certificate after the Secret broke',
    });
    assert.match(ctl!.log(), /--default-ssl-certificate[^\n]*not a usable TLS certificate/);
    // the reload done: no old worker left with the Secret's certificate
    await ctl!.settle();
    const bare = await ctl!.https(OWN, '/', { servername: null });
    assert.equal(bare.cert?.subject.CN, FAKE_CN);
    assert.equal((await ctl!.https(OWN, '/')).cert?.fingerprint256, fingerprint(own.cert));
    manifests.remove('fallback-secret.yaml');
    await ctl!.waitFor(async () => /fallback-cert not found; the generated/.test(ctl!.log()), {
      what: 'the warning about the missing Secret',
    });
    await ctl!.settle();
    assert.equal((await ctl!.https(NOSECRET, '/')).cert?.subject.CN, FAKE_CN);
    manifests.write('fallback-secret.yaml', tlsSecret('fallback-cert', fallback.cert, fallback.key, 'infra'));
    await ctl!.waitFor(
      async () => (await ctl!.https(NOSECRET, '/')).cert?.fingerprint256 === fingerprint(fallback.cert),
      { what: 'the Secret of the flag again' },
    );
  });
});
