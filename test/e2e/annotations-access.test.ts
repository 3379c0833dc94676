// Access-control annotations through the controller, real nginx and real pods on loopback: source-range
// allow/deny lists (403), rate limits (limit-rps with its burst, limit-connections: 503), CORS (preflight
// answered 204 by nginx, headers on normal responses, origins matched exactly or by a one-label wildcard),
// and invalid values: a bad CIDR denies only its own Ingress's paths (an allow list fails closed); limit-rps
// -1 is ignored with a warning and the Ingress is served without a limit, as ingress-nginx did.
import assert from 'node:assert/strict';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startDelayedPod, startPods, type DelayedPod, type Pods } from '../helpers/pods.js';
import { sleep } from '../helpers/wait.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';

describe('e2e: access annotations (source ranges, rate limits, CORS)', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let echo: Pods;
  let holding: DelayedPod | undefined; // holds every request 1500 ms: concurrent connections for limit-connections

  const site = (name: string, host: string, annotations: Record<string, string>, service = 'echo') =>
    ingress(name, { host, paths: [{ path: '/', service }], annotations });

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('ann-access');
    echo = await startPods([{ name: 'echo-1', address: '127.0.51.1' }]);
    holding = await startDelayedPod('holding', '127.0.51.2', () => 1500);
    manifests.write('services.yaml', [
      ...backend('echo', echo),
      service('holding', { ports: [{ port: 80, targetPort: holding.port }] }),
      endpoints('holding', { ready: ['127.0.51.2'], port: holding.port }),
    ]);
    manifests.write('ingresses.yaml', [
      site('allow-me', 'allow.test', { [`${ANNOTATION}whitelist-source-range`]: '10.0.0.0/8, 127.0.0.1/32' }),
      site('allow-v6', 'allow-v6.test', { [`${ANNOTATION}allowlist-source-range`]: '::1/128,127.0.0.1' }),
      site('allow-others', 'allow-others.test', { [`${ANNOTATION}whitelist-source-range`]: '10.0.0.0/8,192.0.2.0/24' }),
      site('deny-me', 'deny.test', { [`${ANNOTATION}denylist-source-range`]: '127.0.0.0/8' }),
      site('deny-others', 'deny-others.test', { [`${ANNOTATION}denylist-source-range`]: '10.0.0.0/8' }),
      site('rps', 'rps.test', { [`${ANNOTATION}limit-rps`]: '1', [`${ANNOTATION}limit-burst-multiplier`]: '1' }),
      site('conn', 'conn.test', { [`${ANNOTATION}limit-connections`]: '1' }, 'holding'),
      site('conn-free', 'conn-free.test', {}, 'holding'),
      site('cors', 'cors.test', {
        [`${ANNOTATION}enable-cors`]: 'true',
        [`${ANNOTATION}cors-allow-origin`]: 'https://app.example.com, http://*.example.org:8080',
        [`${ANNOTATION}cors-expose-headers`]: 'X-Pod',
        [`${ANNOTATION}cors-max-age`]: '600',
      }),
      // CORS's "if" blocks must not lose the location's other rules
      site('cors-guarded', 'cors-guarded.test', {
        [`${ANNOTATION}enable-cors`]: 'true',
        [`${ANNOTATION}cors-allow-origin`]: 'https://app.example.com',
        [`${ANNOTATION}whitelist-source-range`]: '10.0.0.0/8',
      }),
      site('cors-limited', 'cors-limited.test', {
        [`${ANNOTATION}enable-cors`]: 'true',
        [`${ANNOTATION}limit-rps`]: '1',
        [`${ANNOTATION}limit-burst-multiplier`]: '1',
        [`${ANNOTATION}proxy-body-size`]: '1k',
      }),
      site('cors-star', 'cors-star.test', {
        [`${ANNOTATION}enable-cors`]: 'true',
        [`${ANNOTATION}cors-allow-credentials`]: 'false',
        [`${ANNOTATION}cors-allow-methods`]: 'GET, POST',
        [`${ANNOTATION}cors-allow-headers`]: 'DNT, User-Agent',
      }),
    ]);
    manifests.write('invalid.yaml', [
      site('bad-cidr', 'bad-cidr.test', { [`${ANNOTATION}whitelist-source-range`]: '127.0.0.1/32,10.0.0.0/33' }),
      site('bad-rps', 'bad-rps.test', { [`${ANNOTATION}limit-rps`]: '-1' }),
    ]);
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(echo);
      await holding?.close();
      manifests?.cleanup();
    },
  );

  it('whitelist-source-range / allowlist-source-range: a listed client gets through, others get 403', async () => {
    for (const host of ['allow.test', 'allow-v6.test']) {
      const reply = await ctl!.http(host, '/');
      assert.equal(reply.status, 200, host);
      assert.equal(reply.pod?.pod, 'echo-1');
    }
    const refused = await ctl!.http('allow-others.test', '/');
    assert.equal(refused.status, 403);
    assert.equal(refused.pod, undefined);
  });

  it('denylist-source-range: 127.0.0.0/8 gives 403 to this client; a list without it lets it through', async () => {
    const refused = await ctl!.http('deny.test', '/');
    assert.equal(refused.status, 403);
    assert.equal(refused.pod, undefined);
    assert.equal((await ctl!.http('deny-others.test', '/')).status, 200);
  });

  it('limit-rps 1 with a burst of 1: a quick burst gets 503 after two requests; a second later it passes again', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await ctl!.http('rps.test', '/')).status);
    assert.deepEqual(statuses.slice(0, 2), [200, 200], statuses.join(' '));
    assert.ok(
      statuses.slice(2).every((s) => s === 503),
      statuses.join(' '),
    );
    await sleep(2100);
    assert.equal((await ctl!.http('rps.test', '/')).status, 200);
    // another Ingress is not limited
    const free: number[] = [];
    for (let i = 0; i < 6; i++) free.push((await ctl!.http('allow.test', '/')).status);
    assert.ok(
      free.every((s) => s === 200),
      free.join(' '),
    );
  });

  it('limit-connections 1: a second concurrent request gets 503 while the first is served', async () => {
    const [first, second] = await Promise.all([
      ctl!.http('conn.test', '/'),
      sleep(300).then(() => ctl!.http('conn.test', '/')),
    ]);
    assert.equal(first.status, 200);
    assert.equal(first.pod?.pod, 'holding');
    assert.equal(second.status, 503);
    // without the annotation both are served
    const both = await Promise.all([
      ctl!.http('conn-free.test', '/'),
      sleep(300).then(() => ctl!.http('conn-free.test', '/')),
    ]);
    assert.deepEqual(
      both.map((r) => r.status),
      [200, 200],
    );
  });

  it('CORS preflight from an allowed origin: 204 from nginx with the CORS headers, the pod never sees it', async () => {
    const hits = echo.hits.get('echo-1') ?? 0;
    const reply = await ctl!.http('cors.test', '/api', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(reply.status, 204);
    assert.equal(reply.pod, undefined);
    assert.equal(echo.hits.get('echo-1') ?? 0, hits);
    assert.equal(reply.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(reply.headers['access-control-allow-credentials'], 'true');
    assert.equal(reply.headers['access-control-allow-methods'], 'GET, PUT, POST, DELETE, PATCH, OPTIONS');
    assert.equal(
      reply.headers['access-control-allow-headers'],
      'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
    );
    assert.equal(reply.headers['access-control-expose-headers'], 'X-Pod');
    assert.equal(reply.headers['access-control-max-age'], '600');
    // a one-label wildcard origin with its port
    const wild = await ctl!.http('cors.test', '/', {
      method: 'OPTIONS',
      headers: { origin: 'http://shop.example.org:8080' },
    });
    assert.equal(wild.status, 204);
    assert.equal(wild.headers['access-control-allow-origin'], 'http://shop.example.org:8080');
  });

  it('CORS on normal responses: headers for an allowed origin, none for others; OPTIONS from others reaches the pod', async () => {
    const ok = await ctl!.http('cors.test', '/api', { headers: { origin: 'https://app.example.com' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.pod?.pod, 'echo-1');
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(ok.headers['access-control-expose-headers'], 'X-Pod');
    for (const origin of [
      'https://evil.example.com',
      'https://app.example.com.evil.net',
      'http://a.b.example.org:8080',
      'http://shop.example.org',
      'http://app.example.com',
    ]) {
      const reply = await ctl!.http('cors.test', '/api', { headers: { origin } });
      assert.equal(reply.status, 200, origin);
      assert.equal(reply.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(reply.headers['access-control-allow-methods'], undefined, origin);
      const pre = await ctl!.http('cors.test', '/api', { method: 'OPTIONS', headers: { origin } });
      assert.equal(pre.pod?.pod, 'echo-1', `OPTIONS from ${origin} is the backend's business`);
    }
    assert.equal((await ctl!.http('cors.test', '/api')).headers['access-control-allow-origin'], undefined);
  });

  // ingress-nginx test/e2e/annotations/cors.go "should allow headers for cors"
  it('CORS with the default origin "*": every response carries it, credentials as configured', async () => {
    const reply = await ctl!.http('cors-star.test', '/');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-allow-origin'], '*');
    assert.equal(reply.headers['access-control-allow-methods'], 'GET, POST');
    assert.equal(reply.headers['access-control-allow-headers'], 'DNT, User-Agent');
    assert.equal(reply.headers['access-control-allow-credentials'], undefined);
    const pre = await ctl!.http('cors-star.test', '/', {
      method: 'OPTIONS',
      headers: { origin: 'https://anything.example' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.equal(pre.headers['access-control-max-age'], '1728000');
  });

  it('CORS together with a source range, a rate limit and a body size: those still apply to requests CORS matched', async () => {
    const origin = { origin: 'https://app.example.com' };
    const refused = await ctl!.http('cors-guarded.test', '/', { headers: origin });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['access-control-allow-origin'], 'https://app.example.com');
    // as in ingress-nginx, nginx answers the preflight before the access phase (the backend is not reached)
    assert.equal((await ctl!.http('cors-guarded.test', '/', { method: 'OPTIONS', headers: origin })).status, 204);
    const big = await ctl!.http('cors-limited.test', '/', { method: 'POST', body: 'x'.repeat(2000), headers: origin });
    assert.equal(big.status, 413);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await ctl!.http('cors-limited.test', '/', { headers: origin })).status);
    assert.ok(statuses.includes(503) && statuses[0] === 200, statuses.join(' '));
  });

  it('a bad CIDR denies only its own Ingress (503); limit-rps -1 is ignored (served, no limit); both reported', async () => {
    assert.equal((await ctl!.http('bad-cidr.test', '/')).status, 503);
    assert.equal((await ctl!.http('bad-rps.test', '/')).status, 200);
    const problems = (await ctl!.status()).problems;
    const has = (ing: string, key: string, value: string, severity = 'error') =>
      assert.ok(
        problems.some(
          (p) =>
            p.startsWith(`${severity}:`) &&
            p.includes(`Ingress ${NS}/${ing}`) &&
            p.includes(`${ANNOTATION}${key}`) &&
            p.includes(value),
        ),
        `${ing} ${key} not reported:\n${problems.join('\n')}`,
      );
    has('bad-cidr', 'whitelist-source-range', '"127.0.0.1/32,10.0.0.0/33"');
    has('bad-rps', 'limit-rps', '"-1"', 'warning');
    assert.doesNotMatch(ctl!.nginxConf(), /10\.0\.0\.0\/33|bad-rps\/rps/);
    // everything else keeps working
    assert.equal((await ctl!.http('allow.test', '/')).status, 200);
  });
});
