// The walkthrough's cafe Ingress (v1 and the legacy extensions/v1beta1 form), path matching rules, and
// wildcard hosts, against real nginx and real pods.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { whoAnswers } from '../helpers/http.js';
import { ManifestDir, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

// the pods of examples/manifests/cafe.yaml
const TEA = ['tea-7d57856c44-lwbnp', 'tea-7d57856c44-x8k2d'];
const COFFEE = ['coffee-7dbb5795f6-vglbv', 'coffee-7dbb5795f6-tz9qm'];
const CAFE = 'cafe.example.com';

const example = (rel: string) => fs.readFileSync(path.join(REPO, 'examples', rel), 'utf8');

describe('e2e: cafe Ingress and path matching', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let cafe: Pods, matching: Pods;

  /** cafe.yaml with the pods' port in place of 8080 */
  const cafeYaml = () => {
    const text = example('manifests/cafe.yaml');
    assert.match(text, /\b8080\b/);
    return text.replace(/\b8080\b/g, String(cafe.port));
  };

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('cafe');
    cafe = await startPods([
      { name: TEA[0]!, address: '127.0.0.21' },
      { name: TEA[1]!, address: '127.0.0.22' },
      { name: COFFEE[0]!, address: '127.0.0.31' },
      { name: COFFEE[1]!, address: '127.0.0.32' },
    ]);
    matching = await startPods([
      { name: 'prefix-pod', address: '127.0.0.81' },
      { name: 'exact-pod', address: '127.0.0.82' },
      { name: 'bar-pod', address: '127.0.0.83' },
      { name: 'wild-pod', address: '127.0.0.84' },
    ]);
    manifests.write('cafe.yaml', cafeYaml());
    manifests.write('cafe-secret.yaml', example('manifests/cafe-secret.yaml'));

    const svc = (name: string, address: string) => [
      service(name, { ports: [{ port: 80, targetPort: matching.port }] }),
      endpoints(name, { ready: [address], port: matching.port }),
    ];
    manifests.write(
      'matching-services.yaml',
      [
        svc('prefix-svc', '127.0.0.81'),
        svc('exact-svc', '127.0.0.82'),
        svc('bar-svc', '127.0.0.83'),
        svc('wild-svc', '127.0.0.84'),
      ].flat(),
    );
    manifests.write(
      'precedence.yaml',
      ingress('precedence', {
        host: 'paths.example.com',
        paths: [
          { path: '/foo', pathType: 'Prefix', service: 'prefix-svc' },
          { path: '/foo', pathType: 'Exact', service: 'exact-svc' },
          { path: '/foo/bar', pathType: 'Prefix', service: 'bar-svc' },
          { path: '/exact-only', pathType: 'Exact', service: 'exact-svc' },
          { path: '/trail/', pathType: 'Prefix', service: 'prefix-svc' },
        ],
      }),
    );
    manifests.write(
      'wildcard.yaml',
      ingress('wildcard', { host: '*.example.com', paths: [{ path: '/', service: 'wild-svc' }] }),
    );

    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(cafe, matching);
      manifests?.cleanup();
    },
  );

  const pod = async (host: string, requestPath: string, https = false) => {
    const reply = https ? await ctl!.https(host, requestPath) : await ctl!.http(host, requestPath);
    return reply.pod ? reply.pod.pod : `status ${reply.status}`;
  };

  /** The walkthrough's checks; run for the v1 Ingress and again for the legacy one. */
  async function checkCafe(): Promise<void> {
    const tea = await whoAnswers(4, () => ctl!.https(CAFE, '/tea'));
    assert.deepEqual([...new Set(tea)].sort(), [...TEA].sort(), `/tea answered by ${tea.join(', ')}`);
    const coffee = await whoAnswers(4, () => ctl!.https(CAFE, '/coffee'));
    assert.deepEqual([...new Set(coffee)].sort(), [...COFFEE].sort(), `/coffee answered by ${coffee.join(', ')}`);

    const deep = await ctl!.https(CAFE, '/coffee/x');
    assert.equal(deep.status, 200);
    assert.ok(COFFEE.includes(deep.pod?.pod ?? ''), deep.body);
    assert.equal(deep.pod?.path, '/coffee/x', 'the pod sees the original URI');
    assert.equal(deep.pod?.host, CAFE);
    assert.ok(TEA.includes(await pod(CAFE, '/tea/green', true)));

    // Prefix matching is element-wise: /teapot is not under /tea
    assert.equal(await pod(CAFE, '/teapot', true), 'status 404');
    assert.equal(await pod(CAFE, '/unknown', true), 'status 404');
    assert.equal(await pod(CAFE, '/', true), 'status 404');

    // the host has TLS: plain HTTP is redirected to HTTPS (no port, as ingress-nginx)
    const reply = await ctl!.http(CAFE, '/tea?x=1');
    assert.equal(reply.status, 308);
    assert.equal(reply.headers.location, `https://${CAFE}/tea?x=1`);
  }

  it('v1 Ingress: /tea -> tea pods, /coffee and /coffee/x -> coffee pods, /teapot and unknown paths 404, HTTP redirects', async function () {
    assert.deepEqual((await ctl!.status()).problems, []);
    await checkCafe();
  });

  it('serves cafe.example.com with the certificate of Secret cafe-secret', async function () {
    const reply = await ctl!.https(CAFE, '/tea');
    assert.equal(reply.cert?.subject.CN, CAFE);
    assert.equal(reply.cert?.subjectaltname, `DNS:${CAFE}`);
  });

  it('Exact beats Prefix for the same path; the longest prefix wins; matching is by path element', async function () {
    const host = 'paths.example.com';
    assert.equal(await pod(host, '/foo'), 'exact-pod');
    assert.equal(await pod(host, '/foo/'), 'prefix-pod');
    assert.equal(await pod(host, '/foo/x'), 'prefix-pod');
    assert.equal(await pod(host, '/foo/bar'), 'bar-pod');
    assert.equal(await pod(host, '/foo/bar/baz'), 'bar-pod');
    assert.equal(await pod(host, '/foo/barista'), 'prefix-pod');
    assert.equal(await pod(host, '/foobar'), 'status 404');
    assert.equal(await pod(host, '/exact-only'), 'exact-pod');
    assert.equal(await pod(host, '/exact-only/x'), 'status 404');
    assert.equal(await pod(host, '/exact-onlyx'), 'status 404');
    // Prefix "/trail/" is the same as "/trail": a trailing slash does not matter
    assert.equal(await pod(host, '/trail'), 'prefix-pod');
    assert.equal(await pod(host, '/trail/x'), 'prefix-pod');
    assert.equal(await pod(host, '/trailer'), 'status 404');
  });

  it('a wildcard host *.example.com matches exactly one label; exact hosts win over it', async function () {
    assert.equal(await pod('a.example.com', '/'), 'wild-pod');
    assert.equal(await pod('other.example.com', '/any/path'), 'wild-pod');
    assert.equal(await pod('a.b.example.com', '/'), 'status 404');
    assert.equal(await pod('example.com', '/'), 'status 404');
    // hosts with their own rules are not taken over by the wildcard, even for paths they do not route
    assert.equal(await pod('paths.example.com', '/nothing-here'), 'status 404');
    assert.equal(await pod(CAFE, '/nothing-here', true), 'status 404');
    assert.ok(TEA.includes(await pod(CAFE, '/tea', true)));
  });

  it("legacy form: the walkthrough's extensions/v1beta1 Ingress, exactly as written, routes the same", async function () {
    const legacy = example('legacy/cafe-ingress-v1beta1.yaml');
    assert.match(legacy, /apiVersion: extensions\/v1beta1/);
    const reloads = await ctl!.metric('reloads_total');
    const before = (await ctl!.status()).configHash;
    // the v1 Ingress goes, the legacy one comes: both define default/cafe-ingress
    const withoutIngress = cafeYaml()
      .split(/^---$/m)
      .filter((doc) => !/^kind: Ingress$/m.test(doc))
      .join('---');
    assert.doesNotMatch(withoutIngress, /kind: Ingress/);
    manifests.write('cafe.yaml', withoutIngress);
    manifests.write('cafe-ingress-v1beta1.yaml', legacy);
    await ctl!.waitForReload(reloads);
    await ctl!.waitFor(
      () =>
        fs
          .readFileSync(path.join(ctl!.prefix, 'nginx.conf'), 'utf8')
          .includes('# ingress default/cafe-ingress ImplementationSpecific /tea'),
      { what: 'the legacy Ingress in nginx.conf' },
    );
    await ctl!.waitFor(async () => (await ctl!.healthz()) === 200, { what: 'healthz 200' });
    const status = await ctl!.status();
    assert.notEqual(status.configHash, before);
    assert.deepEqual(
      status.problems.filter((p) => p.startsWith('error')),
      [],
    );
    await checkCafe();
  });
});
