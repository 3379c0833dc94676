// Tenant isolation through the real controller and nginx (issue 10, items 1, 2 and 10): one namespace's
// objects never change what another namespace's hosts serve: their certificate or their traffic.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { makeCert, type KeyPair } from '../helpers/certs.js';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, configMap, ingress, tlsSecret } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

const VICTIM = 'shop.example.com'; // namespace team-a, Secret web-tls
const ATTACKER = 'evil.example.com'; // namespace team, Secret a-web-tls: "team-a-web-tls" both, once
const CANARY_HOST = 'pay.example.com'; // namespace billing; a canary of namespace evil aims at it
const MISMATCH = 'wrong.example.com'; // its Secret's certificate names another host
const FAKE_CN = 'Ingress Templater Fake Certificate';
const ANNOTATION = 'nginx.ingress.kubernetes.io/';

const fingerprint = (pem: string) => new crypto.X509Certificate(pem).fingerprint256;

describe('security: tenant isolation (real controller and nginx)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let victimPods: Pods, attackerPods: Pods, payPods: Pods, evilPods: Pods;
  let victimCert: KeyPair, attackerCert: KeyPair, otherCert: KeyPair;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('isolation');
    victimCert = makeCert(VICTIM);
    // the attacker's certificate names the victim's host too: served there, it would be trusted by
    // clients that trust its issuer
    attackerCert = makeCert([ATTACKER, VICTIM]);
    otherCert = makeCert('other.example.com');
    victimPods = await startPods([{ name: 'victim-pod', address: '127.0.0.111' }]);
    attackerPods = await startPods([{ name: 'attacker-pod', address: '127.0.0.112' }]);
    payPods = await startPods([{ name: 'pay-pod', address: '127.0.0.113' }]);
    evilPods = await startPods([{ name: 'evil-canary-pod', address: '127.0.0.114' }]);
    manifests.write('victim.yaml', [
      ...backend('web', victimPods, { namespace: 'team-a' }),
      tlsSecret('web-tls', victimCert.cert, victimCert.key, 'team-a'),
      ingress('shop', {
        namespace: 'team-a',
        host: VICTIM,
        tls: [{ hosts: [VICTIM], secretName: 'web-tls' }],
        paths: [{ path: '/', service: 'web' }],
      }),
    ]);
    manifests.write('attacker.yaml', [
      ...backend('web', attackerPods, { namespace: 'team' }),
      tlsSecret('a-web-tls', attackerCert.cert, attackerCert.key, 'team'),
      ingress('evil', {
        namespace: 'team',
        host: ATTACKER,
        tls: [{ hosts: [ATTACKER], secretName: 'a-web-tls' }],
        paths: [{ path: '/', service: 'web' }],
      }),
    ]);
    manifests.write('pay.yaml', [
      ...backend('pay', payPods, { namespace: 'billing' }),
      ingress('pay', { namespace: 'billing', host: CANARY_HOST, paths: [{ path: '/', service: 'pay' }] }),
    ]);
    manifests.write('canary.yaml', [
      ...backend('grab', evilPods, { namespace: 'evil' }),
      ingress('takeover', {
        namespace: 'evil',
        host: CANARY_HOST,
        annotations: { [`${ANNOTATION}canary`]: 'true', [`${ANNOTATION}canary-weight`]: '100' },
        paths: [{ path: '/', service: 'grab' }],
      }),
    ]);
    manifests.write('mismatch.yaml', [
      tlsSecret('wrong-tls', otherCert.cert, otherCert.key, 'team-a'),
      ingress('wrong', {
        namespace: 'team-a',
        host: MISMATCH,
        tls: [{ hosts: [MISMATCH], secretName: 'wrong-tls' }],
        paths: [{ path: '/', service: 'web' }],
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', 'default/ingress-templater'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(victimPods, attackerPods, payPods, evilPods);
      manifests?.cleanup();
    },
  );

  it("Secrets team-a/web-tls and team/a-web-tls: each host is served its own namespace's certificate", async function () {
    const victim = await ctl!.https(VICTIM, '/');
    assert.equal(victim.status, 200);
    assert.equal(victim.pod?.pod, 'victim-pod');
    assert.equal(
      victim.cert?.fingerprint256,
      fingerprint(victimCert.cert),
      'the victim host serves its own certificate',
    );
    const attacker = await ctl!.https(ATTACKER, '/');
    assert.equal(attacker.pod?.pod, 'attacker-pod');
    assert.equal(attacker.cert?.fingerprint256, fingerprint(attackerCert.cert));
  });

  it("a canary-weight 100 of namespace evil on another namespace's host takes none of its traffic, and is reported", async function () {
    for (let i = 0; i < 20; i++) {
      const reply = await ctl!.http(CANARY_HOST, `/r${i}`);
      assert.equal(reply.status, 200);
      assert.equal(reply.pod?.pod, 'pay-pod', `request ${i} went to ${reply.pod?.pod}`);
    }
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some(
        (p) =>
          p.includes('Ingress evil/takeover') &&
          p.includes('of another namespace') &&
          p.includes('allow-cross-namespace-canary'),
      ),
      problems.join('\n'),
    );
  });

  it('with allow-cross-namespace-canary: "true" in the settings ConfigMap, the old behaviour: the canary takes the traffic', async function () {
    this.timeout(30_000);
    manifests.write(
      'settings.yaml',
      configMap('ingress-templater', 'default', { 'allow-cross-namespace-canary': 'true' }),
    );
    try {
      await ctl!.waitFor(async () => (await ctl!.http(CANARY_HOST, '/')).pod?.pod === 'evil-canary-pod', {
        what: 'the canary takes over',
      });
    } finally {
      manifests.remove('settings.yaml');
    }
    await ctl!.waitFor(async () => (await ctl!.http(CANARY_HOST, '/')).pod?.pod === 'pay-pod', {
      what: 'back to the main backend',
    });
  });

  it('a certificate that does not name its host is not served for it: the default certificate is, and the Ingress is told why', async function () {
    const reply = await ctl!.https(MISMATCH, '/');
    assert.equal(reply.status, 200);
    assert.equal(reply.cert?.subject.CN, FAKE_CN);
    assert.notEqual(reply.cert?.fingerprint256, fingerprint(otherCert.cert));
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some(
        (p) =>
          p.includes('Ingress team-a/wrong') &&
          p.includes('spec.tls[0].hosts[0]') &&
          p.includes(`does not name host ${MISMATCH}`),
      ),
      problems.join('\n'),
    );
  });
});
