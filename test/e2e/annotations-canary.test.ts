// Canary annotations through the controller, real nginx (Lua balancer) and real pods: a canary Ingress
// for the same host+path as a main Ingress takes a share of its traffic by weight, header, header value,
// header pattern or cookie; changing those is an endpoint push, never a reload; an invalid value is
// reported naming the annotation and the canary is simply not applied while the main keeps serving; a
// canary without a main Ingress is reported and not served; the static balancer reports canaries.
import assert from 'node:assert/strict';
import { metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import type { Reply } from '../helpers/http.js';
import { ManifestDir, backend, ingress } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';

const HOST = 'canary.example.com';
const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const MAIN = 'default_web-v1_80';
const ALT = 'default_web-v2_80';

const side = (r: Reply) => (r.pod ? r.pod.pod.replace(/-\d+$/, '') : `status ${r.status}`);

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) out[value] = (out[value] ?? 0) + 1;
  return out;
}

const canaryIngress = (annotations: Record<string, string>, o: { host?: string; name?: string } = {}) =>
  ingress(o.name ?? 'web-canary', {
    host: o.host ?? HOST,
    paths: [{ path: '/', service: 'web-v2' }],
    annotations: { [`${ANNOTATION}canary`]: 'true', ...annotations },
  });

describe('e2e: canary annotations (Lua balancer)', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let main: Pods; // "main-1", "main-2"
  let alt: Pods; // "canary-1"

  /** `requests` requests (4 at a time) to HOST; how many each side answered. */
  async function sides(requests: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
    const out: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < requests) {
        next++;
        out.push(side(await ctl!.http(HOST, '/app', { headers })));
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    return count(out);
  }

  /** Write the canary Ingress and wait until nginx acknowledged the push it causes. */
  let written = '';
  async function applyCanary(annotations: Record<string, string>): Promise<void> {
    if (JSON.stringify(annotations) === written) return; // unchanged: nothing to push
    const pushes = await ctl!.metric('endpoint_pushes_total');
    manifests.write('canary.yaml', canaryIngress(annotations));
    written = JSON.stringify(annotations);
    await ctl!.waitForPush(pushes);
  }

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('canary');
    main = await startPods(podSpecs('main', '127.0.9.1', 2));
    alt = await startPods(podSpecs('canary', '127.0.9.2', 1));
    manifests.write('main.yaml', [
      ...backend('web-v1', main),
      ...backend('web-v2', alt),
      ingress('web', { host: HOST, paths: [{ path: '/', service: 'web-v1' }] }),
    ]);
    manifests.write('canary.yaml', canaryIngress({ [`${ANNOTATION}canary-weight`]: '0' }));
    written = JSON.stringify({ [`${ANNOTATION}canary-weight`]: '0' });
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(main, alt);
      manifests?.cleanup();
    },
  );

  it('a canary Ingress gets no locations and is no path conflict; its backend rides on the main one (weight 0: all main)', async () => {
    const status = await ctl!.status();
    assert.deepEqual(status.problems, [], status.problems.join('\n'));
    assert.doesNotMatch(ctl!.nginxConf(), /web-canary|web-v2/, 'nothing of the canary in nginx.conf');
    const held = (await ctl!.luaBackend(MAIN)) as unknown as { canary?: unknown };
    assert.deepEqual(held.canary, { backend: ALT, weight: 0, weightTotal: 100 });
    assert.equal((await ctl!.luaBackend(ALT)).endpoints.length, 1);
    assert.deepEqual(await sides(100), { main: 100 });
  });

  it('weight 100 sends everything to the canary: a push, no reload, the same nginx.conf', async () => {
    const before = await ctl!.settle();
    const conf = ctl!.nginxConf();
    await applyCanary({ [`${ANNOTATION}canary-weight`]: '100' });
    assert.deepEqual(await sides(100), { canary: 100 });
    const after = await ctl!.settle();
    assert.equal(after.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')), 'no reload');
    assert.ok(
      after.get(metricKey('endpoint_pushes_total'))! > before.get(metricKey('endpoint_pushes_total'))!,
      'pushed',
    );
    assert.equal(ctl!.nginxConf(), conf);
  });

  it('weight 30 sends between 20% and 40% of 300 requests to the canary; back to 0 shifts it all back, still without a reload', async () => {
    const before = await ctl!.settle();
    await applyCanary({ [`${ANNOTATION}canary-weight`]: '30' });
    const split = await sides(300);
    assert.equal((split.main ?? 0) + (split.canary ?? 0), 300, JSON.stringify(split));
    assert.ok(split.canary! >= 60 && split.canary! <= 120, `canary answered ${split.canary} of 300`);
    await applyCanary({ [`${ANNOTATION}canary-weight`]: '0' });
    assert.deepEqual(await sides(50), { main: 50 });
    assert.equal((await ctl!.settle()).get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));
  });

  it('canary-by-header: "always" -> canary, "never" -> main, other values fall through to the weight', async () => {
    await applyCanary({ [`${ANNOTATION}canary-by-header`]: 'X-Canary' });
    assert.deepEqual(await sides(20, { 'x-canary': 'always' }), { canary: 20 });
    assert.deepEqual(await sides(20, { 'x-canary': 'never' }), { main: 20 });
    assert.deepEqual(await sides(20, { 'x-canary': 'perhaps' }), { main: 20 });
    await applyCanary({ [`${ANNOTATION}canary-by-header`]: 'X-Canary', [`${ANNOTATION}canary-weight`]: '100' });
    assert.deepEqual(await sides(20, { 'x-canary': 'never' }), { main: 20 });
    assert.deepEqual(await sides(20, { 'x-canary': 'perhaps' }), { canary: 20 });
    assert.deepEqual(await sides(20), { canary: 20 });
  });

  it('canary-by-header-value: only that value routes to the canary', async () => {
    await applyCanary({
      [`${ANNOTATION}canary-by-header`]: 'X-Version',
      [`${ANNOTATION}canary-by-header-value`]: 'v2',
    });
    assert.deepEqual(await sides(20, { 'x-version': 'v2' }), { canary: 20 });
    assert.deepEqual(await sides(20, { 'x-version': 'v3' }), { main: 20 });
    assert.deepEqual(await sides(20, { 'x-version': 'always' }), { main: 20 });
    assert.deepEqual(await sides(20), { main: 20 });
  });

  it('canary-by-header-pattern: values matching the regex route to the canary', async () => {
    await applyCanary({
      [`${ANNOTATION}canary-by-header`]: 'X-User',
      [`${ANNOTATION}canary-by-header-pattern`]: '^(beta|qa)-[0-9]+$',
    });
    assert.deepEqual(await sides(20, { 'x-user': 'beta-17' }), { canary: 20 });
    assert.deepEqual(await sides(20, { 'x-user': 'qa-3' }), { canary: 20 });
    assert.deepEqual(await sides(20, { 'x-user': 'beta-x' }), { main: 20 });
    assert.deepEqual(await sides(20, { 'x-user': 'prod-1' }), { main: 20 });
  });

  it('canary-by-cookie: "always" / "never"; the header rule comes first', async () => {
    await applyCanary({
      [`${ANNOTATION}canary-by-cookie`]: 'use_canary',
      [`${ANNOTATION}canary-by-header`]: 'X-Canary',
    });
    assert.deepEqual(await sides(20, { cookie: 'session=1; use_canary=always' }), { canary: 20 });
    assert.deepEqual(await sides(20, { cookie: 'use_canary=whatever' }), { main: 20 });
    assert.deepEqual(await sides(20, { cookie: 'use_canary=always', 'x-canary': 'never' }), { main: 20 });
    await applyCanary({
      [`${ANNOTATION}canary-by-cookie`]: 'use_canary',
      [`${ANNOTATION}canary-by-header`]: 'X-Canary',
      [`${ANNOTATION}canary-weight`]: '100',
    });
    assert.deepEqual(await sides(20, { cookie: 'use_canary=never' }), { main: 20 });
    assert.deepEqual(await sides(20, { cookie: 'use_canary=never', 'x-canary': 'always' }), { canary: 20 });
  });

  for (const bad of ['150', 'abc']) {
    it(`an invalid canary-weight ("${bad}") is reported naming the annotation; the canary is not applied and the main keeps serving`, async () => {
      await applyCanary({ [`${ANNOTATION}canary-weight`]: '100' });
      assert.deepEqual(await sides(10), { canary: 10 });
      const before = await ctl!.settle();
      await applyCanary({ [`${ANNOTATION}canary-weight`]: bad });
      const problems = (await ctl!.status()).problems;
      const mine = problems.filter((p) => p.includes('canary-weight'));
      assert.equal(mine.length, 1, problems.join('\n'));
      assert.match(
        mine[0]!,
        new RegExp(
          `^error: .*Ingress default/web-canary metadata\\.annotations\\["nginx\\.ingress\\.kubernetes\\.io/canary-weight"\\]: invalid value "${bad}".*the canary is not applied, the main Ingress keeps serving`,
        ),
      );
      assert.match(ctl!.log(), /canary-weight.*invalid value/, 'logged');
      assert.deepEqual(await sides(60), { main: 60 }, 'no canary, and no 503 either');
      assert.equal(((await ctl!.luaBackend(MAIN)) as unknown as { canary?: unknown }).canary, undefined);
      assert.equal((await ctl!.settle()).get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));
      // fixed: applied again
      await applyCanary({ [`${ANNOTATION}canary-weight`]: '100' });
      assert.deepEqual(await sides(10), { canary: 10 });
      assert.deepEqual((await ctl!.status()).problems, []);
    });
  }

  it('a canary without a main Ingress for its host is reported and not served', async () => {
    const syncs = await ctl!.metric('syncs_total');
    manifests.write(
      'lost.yaml',
      canaryIngress({ [`${ANNOTATION}canary-weight`]: '100' }, { host: 'lost.example.com', name: 'lost-canary' }),
    );
    await ctl!.waitForSync(syncs);
    const problem = await ctl!.waitFor(
      async () => (await ctl!.status()).problems.find((p) => p.includes('lost-canary')),
      { what: 'the lost canary reported' },
    );
    assert.match(
      problem,
      /^error: .*Ingress default\/lost-canary spec\.rules\[0\]\.http\.paths\[0\]\.path: no main Ingress routes lost\.example\.com Prefix \//,
    );
    const reply = await ctl!.http('lost.example.com', '/app');
    assert.equal(reply.status, 404, 'the host has no rules: nothing serves it');
    assert.equal(reply.pod, undefined);
    assert.deepEqual(await sides(10), { canary: 10 }, 'the other canary is untouched');
    manifests.remove('lost.yaml');
  });
});

describe('e2e: canary annotations with the static balancer', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let main: Pods;
  let alt: Pods;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('canary-static');
    main = await startPods(podSpecs('main', '127.0.9.3', 2));
    alt = await startPods(podSpecs('canary', '127.0.9.4', 1));
    manifests.write('all.yaml', [
      ...backend('web-v1', main),
      ...backend('web-v2', alt),
      ingress('web', { host: HOST, paths: [{ path: '/', service: 'web-v1' }] }),
      canaryIngress({ [`${ANNOTATION}canary-weight`]: '100' }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--balancer', 'static'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(main, alt);
      manifests?.cleanup();
    },
  );

  it('reports that canaries need the Lua balancer and serves the main backend', async () => {
    const problems = (await ctl!.status()).problems;
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^warning: .*Ingress default\/web-canary: canary routing needs the Lua balancer/);
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) answers.push(side(await ctl!.http(HOST, '/app')));
    assert.deepEqual(count(answers), { main: 20 });
    assert.doesNotMatch(ctl!.nginxConf(), /web-v2/, 'no upstream for the canary');
  });
});
