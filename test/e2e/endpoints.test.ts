// Zero-reload endpoint updates (the Lua balancer, through the controller with real traffic): endpoint
// changes are pushed to nginx, never rendered, so they cause no reload; Ingress changes still reload and
// keep the pushed endpoints; a killed nginx gets them pushed again; the internal API refuses bad input
// and stays on loopback; empty and dead backends; the balancing annotations; readiness.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { backendName } from '../../src/model/backends.js';
import { metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { request, whoAnswers, type Reply } from '../helpers/http.js';
import { ManifestDir, backend, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';
import { freePort, holdPort, localNonLoopbackIPv4, tryConnect } from '../helpers/ports.js';
import { children, isAlive } from '../helpers/processes.js';
import { sleep } from '../helpers/wait.js';

const FLIP = 'flip.example.com';
const STABLE = 'stable.example.com';
const ANNOTATION = 'nginx.ingress.kubernetes.io/';

const answerOf = (r: Reply) => (r.pod ? r.pod.pod : `status ${r.status}`);

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) out[value] = (out[value] ?? 0) + 1;
  return out;
}

function percentile(sorted: number[], percent: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((percent / 100) * sorted.length) - 1)]!;
}

/** The text between "## start server HOST" and "## end server HOST" of a rendered nginx.conf. */
function serverBlock(conf: string, host: string): string {
  const start = conf.indexOf(`## start server ${host}\n`);
  const end = conf.indexOf(`## end server ${host}\n`);
  assert.ok(start >= 0 && end > start, `server ${host} in nginx.conf`);
  return conf.slice(start, end);
}

describe('e2e: zero-reload endpoint updates (Lua balancer)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let flip: Pods; // two pod sets of three, one port: the Endpoints alternate between them
  let stable: Pods;
  const setA = () => flip.specs.slice(0, 3);
  const setB = () => flip.specs.slice(3);
  const flipEndpoints = (set: { address: string }[]) =>
    endpoints('flip-svc', { ready: set.map((s) => s.address), port: flip.port });
  const stableIngress = (extra: { path: string; service: string }[] = []) =>
    ingress('stable', {
      host: STABLE,
      paths: [
        { path: '/', service: 'stable-svc' },
        { path: '/empty', service: 'empty-svc' },
        { path: '/retry', service: 'retry-svc' },
        ...extra,
      ],
    });

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('endpoints');
    flip = await startPods([...podSpecs('flip-a', '127.0.1.1', 3), ...podSpecs('flip-b', '127.0.1.2', 3)]);
    stable = await startPods(podSpecs('stable', '127.0.1.3', 2));
    manifests.write('flip.yaml', [
      service('flip-svc', { ports: [{ port: 80, targetPort: flip.port }] }),
      ingress('flip', { host: FLIP, paths: [{ path: '/', service: 'flip-svc' }] }),
    ]);
    manifests.write('flip-endpoints.yaml', flipEndpoints(setA()));
    manifests.write('stable.yaml', [
      ...backend('stable-svc', stable),
      // empty-svc: its only address is not ready; retry-svc: one address where nothing listens
      service('empty-svc', { ports: [{ port: 80, targetPort: stable.port }] }),
      endpoints('empty-svc', { ready: [], notReady: ['127.0.1.39'], port: stable.port }),
      service('retry-svc', { ports: [{ port: 80, targetPort: stable.port }] }),
      endpoints('retry-svc', { ready: ['127.0.1.41', ...stable.specs.map((s) => s.address)], port: stable.port }),
    ]);
    manifests.write('stable-ingress.yaml', stableIngress());
    // no endpoints, and a Host the internal API would accept: what a client sends must still get 503
    manifests.write(
      'vault.yaml',
      ingress('vault', {
        host: 'vault.example.com',
        paths: [{ path: '/', service: 'empty-svc' }],
        annotations: { [`${ANNOTATION}upstream-vhost`]: '127.0.0.1' },
      }),
    );
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(flip, stable);
      manifests?.cleanup();
    },
  );

  it('runs the Lua balancer: ready only after the first push, which metrics count', async function () {
    assert.match(ctl!.log(), /lua balancer/);
    assert.equal(await ctl!.healthz(), 200);
    const metrics = await ctl!.metrics();
    assert.ok(metrics.get(metricKey('endpoint_pushes_total'))! >= 1, 'endpoint_pushes_total >= 1');
    assert.ok(
      metrics.get(metricKey('endpoint_convergence_seconds_count'))! >= 1,
      'endpoint_convergence_seconds_count >= 1',
    );
    assert.equal(metrics.get(metricKey('endpoint_push_failures_total')), 0);
    assert.equal(metrics.get(metricKey('reloads_total')), 1, 'the start only');
    // the endpoints live in nginx's shared dict, not in the config
    const conf = ctl!.nginxConf();
    for (const spec of [...flip.specs, ...stable.specs])
      assert.ok(!conf.includes(spec.address), `${spec.address} must not be rendered`);
    assert.deepEqual(
      (await ctl!.luaBackend('default_flip-svc_80')).endpoints,
      setA().map((s) => ({ address: s.address, port: flip.port })),
    );
    assert.deepEqual((await ctl!.luaBackend('default_empty-svc_80')).endpoints, []);
  });

  it('100 consecutive endpoint changes: zero reloads, the same nginx workers, traffic follows every change', async function () {
    this.timeout(180_000);
    const before = await ctl!.settle();
    const master = (await ctl!.status()).nginxPid!;
    const workers = await ctl!.workerPids();
    assert.ok(workers.length >= 1, 'nginx has workers');
    const times: number[] = [];
    for (let i = 1; i <= 100; i++) {
      const next = i % 2 === 1 ? setB() : setA();
      const names = new Set(next.map((s) => s.name));
      const written = process.hrtime.bigint();
      manifests.write('flip-endpoints.yaml', flipEndpoints(next));
      // poll until the new set answers
      const deadline = Date.now() + 10_000;
      let last = '';
      for (;;) {
        last = answerOf(await ctl!.http(FLIP, `/change/${i}`));
        if (names.has(last)) break;
        if (Date.now() > deadline || ctl!.hasExited) {
          throw new Error(
            `change ${i}: the new set ${[...names].join(',')} did not answer within 10 s; last answer ${last}\n${ctl!.log().slice(-2000)}`,
          );
        }
        await sleep(2);
      }
      times.push(Number(process.hrtime.bigint() - written) / 1e6);
      // from then on only the new set answers, in turn (round robin across both workers)
      const run = await whoAnswers(3, () => ctl!.http(FLIP, `/after/${i}`));
      assert.deepEqual([...run].sort(), [...names].sort(), `change ${i}: answers after it ${run.join(', ')}`);
    }
    const after = await ctl!.settle();
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `      endpoint change -> traffic on the new pods, 100 changes: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`,
    );

    assert.equal(
      after.get(metricKey('reloads_total')),
      before.get(metricKey('reloads_total')),
      'no reload for endpoint changes',
    );
    assert.equal(
      after.get(metricKey('reload_failures_total', { reason: 'config_test' })),
      before.get(metricKey('reload_failures_total', { reason: 'config_test' })),
    );
    assert.equal((await ctl!.status()).nginxPid, master, 'the same nginx master');
    assert.deepEqual(await ctl!.workerPids(), workers, 'the same nginx workers');
    const pushes = after.get(metricKey('endpoint_pushes_total'))! - before.get(metricKey('endpoint_pushes_total'))!;
    assert.ok(pushes >= 100, `${pushes} pushes for 100 changes`);
    const observed =
      after.get(metricKey('endpoint_convergence_seconds_count'))! -
      before.get(metricKey('endpoint_convergence_seconds_count'))!;
    assert.ok(observed >= 100, `${observed} convergence observations for 100 changes`);
    assert.equal(after.get(metricKey('endpoint_push_failures_total')), 0);
  });

  it('an Ingress change (a path added) still reloads; the old paths keep answering through the reload, no 503', async function () {
    this.timeout(30_000);
    const before = await ctl!.settle();
    const workers = await ctl!.workerPids();
    // steady traffic on the old paths for the whole change
    let stop = false;
    const seen: string[] = [];
    const loop = async (host: string) => {
      while (!stop) seen.push(`${host} ${answerOf(await ctl!.http(host, '/'))}`);
    };
    const traffic = Promise.all([loop(FLIP), loop(STABLE)]);
    try {
      manifests.write('stable-ingress.yaml', stableIngress([{ path: '/added', service: 'flip-svc' }]));
      await ctl!.waitForReload(before.get(metricKey('reloads_total'))!);
      // right after the reload: the old paths answer from their pods
      assert.ok((await ctl!.http(STABLE, '/')).pod?.pod.startsWith('stable-'));
      assert.ok((await ctl!.http(FLIP, '/')).pod?.pod.startsWith('flip-a'));
      await ctl!.waitFor(async () => (await ctl!.http(STABLE, '/added')).pod?.pod.startsWith('flip-a'), {
        what: '/added routed',
      });
      // the controller pushes the whole set again after a reload
      await ctl!.waitForPush(before.get(metricKey('endpoint_pushes_total'))!);
      const count0 = seen.length;
      await ctl!.waitFor(() => seen.length >= count0 + 20, { what: 'more traffic after the reload' });
    } finally {
      stop = true;
      await traffic;
    }
    const bad = seen.filter((s) => !/ (stable|flip-a)-\d$/.test(s));
    assert.deepEqual(bad, [], `${bad.length} of ${seen.length} requests did not reach a pod`);
    assert.ok(seen.length >= 40, `${seen.length} requests during the change`);
    const now = await ctl!.workerPids();
    assert.ok(
      now.some((p) => !workers.includes(p)),
      'a reload starts new workers',
    );
    assert.equal(
      (await ctl!.settle()).get(metricKey('reloads_total')),
      before.get(metricKey('reloads_total'))! + 1,
      'one reload',
    );
  });

  const post = (body: string, headers: Record<string, string> = {}, host = '127.0.0.1') =>
    request(ctl!.ports.internal, host, '/configuration/backends', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const trafficAnswers = async () => {
    assert.match(answerOf(await ctl!.http(FLIP, '/')), /^flip-a-\d$/);
    assert.match(answerOf(await ctl!.http(STABLE, '/')), /^stable-\d$/);
  };

  it('internal API: refuses a malformed payload with 400 and stores nothing, an invalid backend alone with 207; traffic keeps answering', async function () {
    const version = (await ctl!.luaBackends()).version;
    const cases: [string, RegExp][] = [
      ['{"backends":[{"name":"x"', /./],
      ['{"backends":[{"name":"Bad Name","endpoints":[]}]}', /backends\[0\]\.name/],
      ['{"backends":[],"extra":1}', /extra/],
      ['[]', /./],
    ];
    for (const [body, why] of cases) {
      const reply = await post(body);
      assert.equal(reply.status, 400, `${body}: ${reply.status} ${reply.body}`);
      assert.match(JSON.parse(reply.body).error, why, body);
      await trafficAnswers();
    }
    assert.equal((await ctl!.luaBackends()).version, version, 'nothing stored');
    assert.equal(await ctl!.healthz(), 200);
    // an invalid backend is refused alone (207) and keeps its endpoints
    const flipName = backendName('default', 'flip-svc', 80);
    const flipBefore = await ctl!.luaBackend(flipName);
    const refused = await request(ctl!.ports.internal, '127.0.0.1', '/configuration/backends', {
      method: 'PATCH',
      body: JSON.stringify({ backends: [{ name: flipName, endpoints: [{ address: '999.1.1.1', port: 80 }] }] }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(refused.status, 207, refused.body);
    assert.match(JSON.parse(refused.body).refused[0].error, /backends\[0\]\.endpoints\[0\]\.address/);
    assert.deepEqual(await ctl!.luaBackend(flipName), flipBefore);
    await trafficAnswers();
  });

  it('internal API: answers 403 to a non-loopback Host header (DNS rebinding) and to a foreign Origin; nothing changes', async function () {
    const version = (await ctl!.luaBackends()).version;
    for (const host of [
      'evil.example.com',
      `evil.example.com:${ctl!.ports.internal}`,
      '127.0.0.1.evil.example.com',
      '10.0.0.1',
    ]) {
      const get = await request(ctl!.ports.internal, host, '/configuration/backends');
      assert.equal(get.status, 403, `GET with Host ${host}: ${get.body}`);
      // a valid payload that would empty every backend, were it accepted
      const reply = await post('{"backends":[]}', {}, host);
      assert.equal(reply.status, 403, `POST with Host ${host}: ${reply.body}`);
    }
    const cross = await post('{"backends":[]}', { origin: 'http://evil.example.com' });
    assert.equal(cross.status, 403, cross.body);
    assert.equal((await ctl!.luaBackends()).version, version, 'nothing stored');
    await trafficAnswers();
  });

  it('internal API: listens on 127.0.0.1 only: nginx.conf says so, other local addresses are refused', async function () {
    const port = ctl!.ports.internal;
    const listens = ctl!.nginxConf().match(new RegExp(`^\\s*listen\\s+\\S*:${port}\\b[^;]*;`, 'gm')) ?? [];
    // 127.0.0.2 is the server that only answers 503 (backends without endpoints), never the API
    assert.deepEqual(
      listens.map((l) => l.trim()),
      [`listen 127.0.0.2:${port};`, `listen 127.0.0.1:${port};`],
    );
    assert.doesNotMatch(
      ctl!.nginxConf(),
      new RegExp(`listen\\s+(\\*:)?${port}\\b`),
      'no wildcard listen on the internal port',
    );
    assert.equal(await tryConnect('127.0.0.1', port), 'connected', 'the internal port answers on 127.0.0.1');
    assert.equal(await tryConnect('127.0.0.3', port), 'ECONNREFUSED', 'another loopback address');
    const api = await request(port, '127.0.0.1', '/configuration/backends', { address: '127.0.0.2' });
    assert.equal(api.status, 503, 'no API on 127.0.0.2: only the 503 answer');
    assert.equal(api.headers['x-ingress-templater'], 'backend-unavailable');
    const local = localNonLoopbackIPv4();
    if (local) {
      assert.equal(await tryConnect(local, port), 'ECONNREFUSED', `this machine's address ${local}`);
    } else {
      console.log('      (no non-loopback IPv4 address on this machine: that connect check is skipped)');
    }
  });

  it("a backend without ready endpoints answers 503 at once (from nginx's own internal server, no other connect)", async function () {
    const conf = serverBlock(ctl!.nginxConf(), STABLE);
    // in Lua mode the location still proxies: endpoints may arrive later without a reload
    assert.match(conf, /set \$proxy_upstream_name "default_empty-svc_80";\s*proxy_pass http:\/\/upstream_balancer;/);
    assert.doesNotMatch(conf, /location @|error_page/, 'no named location or error_page per server for it');
    for (let i = 0; i < 5; i++) {
      const started = process.hrtime.bigint();
      const reply = await ctl!.http(STABLE, '/empty');
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      assert.equal(reply.status, 503, reply.body);
      assert.equal(reply.headers['x-ingress-templater'], 'backend-unavailable');
      assert.equal(reply.pod, undefined);
      assert.ok(ms < 200, `503 took ${ms.toFixed(1)} ms`);
    }
    assert.doesNotMatch(
      fs.readFileSync(path.join(ctl!.prefix, 'logs', 'error.log'), 'utf8'),
      /127\.0\.1\.39/,
      'the not-ready address was never contacted',
    );
  });

  it('the internal API is never reachable through a server: a proxied request gets 503 whatever its URI and Host', async function () {
    const version = (await ctl!.luaBackends()).version;
    for (const [method, requestPath, body] of [
      ['POST', '/configuration/backends', '{"backends":[]}'],
      ['PATCH', '/configuration/backends', '{"removed":["default_stable-svc_80"]}'],
      ['GET', '/configuration/backends', undefined],
      ['GET', '/configuration/hash', undefined],
      ['GET', '/healthz', undefined],
    ] as const) {
      const reply = await ctl!.http('vault.example.com', requestPath, {
        method,
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      assert.equal(reply.status, 503, `${method} ${requestPath}: ${reply.status} ${reply.body}`);
      assert.equal(reply.headers['x-ingress-templater'], 'backend-unavailable', `${method} ${requestPath}`);
      assert.doesNotMatch(reply.body, /backends|version|ok/, `${method} ${requestPath}`);
    }
    assert.equal((await ctl!.luaBackends()).version, version, 'nothing stored');
    assert.match(answerOf(await ctl!.http(STABLE, '/')), /^stable-\d$/);
    // the controller itself still gets its answers there
    assert.equal((await request(ctl!.ports.internal, '127.0.0.1', '/configuration/hash')).status, 200);
  });

  it('an endpoint that refuses connections, alongside live pods: 30 GETs all succeed (retried on another endpoint)', async function () {
    // nothing may listen there, or the test would prove nothing
    assert.equal(await tryConnect('127.0.1.41', stable.port), 'ECONNREFUSED');
    const answers = await whoAnswers(30, () => ctl!.http(STABLE, '/retry'));
    assert.deepEqual(
      answers.filter((a) => !/^stable-\d$/.test(a)),
      [],
      answers.join(', '),
    );
    assert.deepEqual(Object.keys(count(answers)).sort(), ['stable-1', 'stable-2']);
    // the access log shows the refused first tries followed by a pod: the retry really happened
    const log = path.join(ctl!.prefix, 'logs', 'access.log');
    const dead = `127.0.1.41:${stable.port}`;
    const retried = await ctl!.waitFor(
      () => {
        const lines = fs
          .readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.includes('[default_retry-svc_80]'));
        const matching = lines.filter((l) => l.includes(`${dead}, 127.0.1.3`));
        return lines.length >= 30 && matching.length ? matching : undefined;
      },
      { what: 'retried requests in the access log' },
    );
    assert.ok(retried.length >= 3, `${retried.length} retried requests`);
  });

  it('nginx killed with SIGKILL: restarted, endpoints pushed again, healthz 200 again, traffic back', async function () {
    this.timeout(30_000);
    const before = await ctl!.settle();
    const master = (await ctl!.status()).nginxPid!;
    const workers = await children(master);
    ctl!.track(workers);
    process.kill(master, 'SIGKILL');
    await ctl!.waitFor(async () => (await ctl!.healthz()) === 503, { what: 'healthz 503 while nginx is down' });
    await ctl!.waitFor(async () => (await ctl!.healthz()) === 200, { timeoutMs: 15_000, what: 'healthz 200 again' });
    // ready means pushed: the very next requests are served, no 503 from an empty shared dict
    assert.match(answerOf(await ctl!.http(FLIP, '/')), /^flip-a-\d$/);
    assert.match(answerOf(await ctl!.http(STABLE, '/')), /^stable-\d$/);
    const after = await ctl!.metrics();
    assert.ok(
      after.get(metricKey('endpoint_pushes_total'))! > before.get(metricKey('endpoint_pushes_total'))!,
      'endpoints pushed again',
    );
    assert.equal(after.get(metricKey('nginx_restarts_total')), before.get(metricKey('nginx_restarts_total'))! + 1);
    const status = await ctl!.status();
    assert.ok(status.nginxPid && status.nginxPid !== master);
    assert.deepEqual([master, ...workers].filter(isAlive), [], 'the killed nginx left nothing behind');
    assert.deepEqual(
      (await ctl!.luaBackend('default_flip-svc_80')).endpoints,
      setA().map((a) => ({ address: a.address, port: flip.port })),
    );
    // and endpoint changes keep flowing to the new nginx without a reload
    const reloads = after.get(metricKey('reloads_total'))!;
    manifests.write('flip-endpoints.yaml', flipEndpoints(setB()));
    await ctl!.waitFor(async () => /^flip-b-\d$/.test(answerOf(await ctl!.http(FLIP, '/'))), {
      what: 'set B answering',
    });
    assert.equal((await ctl!.settle()).get(metricKey('reloads_total')), reloads);
  });
});

describe('e2e: load-balancing annotations through the controller (Lua balancer)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;
  const PODS = ['lb-1', 'lb-2', 'lb-3'];
  const site = (name: string, annotations?: Record<string, string>) => [
    ...backend(`${name}-svc`, pods),
    ingress(name, {
      host: `${name}.example.com`,
      paths: [{ path: '/', service: `${name}-svc` }],
      ...(annotations ? { annotations } : {}),
    }),
  ];
  const who = async (name: string, p = '/', headers: Record<string, string> = {}) =>
    answerOf(await ctl!.http(`${name}.example.com`, p, { headers }));
  const many = async (requests: number, name: string) => {
    const out: string[] = [];
    for (let i = 0; i < requests; i++) out.push(await who(name, `/${i}`));
    return out;
  };
  // a strict rotation: every window of 3 consecutive answers holds the 3 pods
  const rotates = (seq: string[]) => seq.every((_, i) => i + 3 > seq.length || new Set(seq.slice(i, i + 3)).size === 3);

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('balance');
    pods = await startPods(podSpecs('lb', '127.0.1.5', 3));
    manifests.write('settings.yaml', configMap('settings', 'ingress-templater', { 'load-balance': 'random' }));
    manifests.write('rr.yaml', site('rr', { [`${ANNOTATION}load-balance`]: 'round_robin' }));
    manifests.write('random.yaml', site('random', { [`${ANNOTATION}load-balance`]: 'random' }));
    manifests.write('ewma.yaml', site('ewma', { [`${ANNOTATION}load-balance`]: 'ewma' }));
    manifests.write('chash.yaml', site('chash', { [`${ANNOTATION}upstream-hash-by`]: '$request_uri' }));
    manifests.write(
      'sticky.yaml',
      site('sticky', { [`${ANNOTATION}affinity`]: 'cookie', [`${ANNOTATION}session-cookie-name`]: 'route' }),
    );
    manifests.write('plain.yaml', site('plain'));
    manifests.write('bad.yaml', site('bad', { [`${ANNOTATION}load-balance`]: 'fastest' }));
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', 'ingress-templater/settings'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  it('load-balance: round_robin (over a ConfigMap default of random): 9 requests, each of 3 pods exactly 3 times', async function () {
    assert.equal((await ctl!.luaBackend('default_rr-svc_80')).loadBalance, 'round_robin');
    const seq = await many(9, 'rr');
    assert.deepEqual(count(seq), { 'lb-1': 3, 'lb-2': 3, 'lb-3': 3 }, seq.join(', '));
    assert.ok(rotates(seq), seq.join(', '));
  });

  it('load-balance: random: 300 requests over 3 pods, each between 60 and 140, not a rotation', async function () {
    this.timeout(60_000);
    assert.equal((await ctl!.luaBackend('default_random-svc_80')).loadBalance, 'random');
    const seq = await many(300, 'random');
    const counts = count(seq);
    assert.deepEqual(Object.keys(counts).sort(), PODS, seq.slice(0, 20).join(', '));
    for (const pod of PODS)
      assert.ok(counts[pod]! >= 60 && counts[pod]! <= 140, `${pod}: ${counts[pod]} of 300 (${JSON.stringify(counts)})`);
    assert.ok(!rotates(seq), 'a random sequence is not a strict rotation');
  });

  it('load-balance: ewma: traffic flows, and log_by_lua is rendered for that location only', async function () {
    assert.equal((await ctl!.luaBackend('default_ewma-svc_80')).loadBalance, 'ewma');
    const seq = await many(30, 'ewma');
    assert.deepEqual(
      seq.filter((s) => !PODS.includes(s)),
      [],
      seq.join(', '),
    );
    const conf = ctl!.nginxConf();
    assert.equal(conf.match(/log_by_lua_block/g)?.length, 1, 'one log_by_lua in the whole config');
    assert.match(
      serverBlock(conf, 'ewma.example.com'),
      /set \$proxy_upstream_name "default_ewma-svc_80";\s*log_by_lua_block \{[^}]*\}\s*proxy_pass http:\/\/upstream_balancer;/,
    );
    for (const other of ['rr', 'random', 'chash', 'sticky', 'plain'])
      assert.doesNotMatch(serverBlock(conf, `${other}.example.com`), /log_by_lua/, other);
  });

  it('upstream-hash-by: "$request_uri": the same URI always reaches the same pod, 20 URIs reach several', async function () {
    const backend = await ctl!.luaBackend('default_chash-svc_80');
    assert.equal(backend.loadBalance, 'chash');
    assert.equal(backend.hashBy, '$request_uri');
    const first = new Map<string, string>();
    for (let i = 0; i < 20; i++) first.set(`/item/${i}`, await who('chash', `/item/${i}`));
    assert.deepEqual(
      [...first.values()].filter((s) => !PODS.includes(s)),
      [],
    );
    for (let round = 0; round < 2; round++) {
      for (const [uri, pod] of first) assert.equal(await who('chash', uri), pod, `${uri} moved`);
    }
    assert.ok(new Set(first.values()).size >= 2, `20 URIs all on ${[...new Set(first.values())].join(', ')}`);
  });

  it('affinity: cookie, session-cookie-name "route": the first answer sets route=, the cookie sticks to one pod', async function () {
    const backend = await ctl!.luaBackend('default_sticky-svc_80');
    assert.equal(backend.affinity?.name, 'route');
    assert.match(serverBlock(ctl!.nginxConf(), 'sticky.example.com'), /rewrite_by_lua_block/);
    assert.doesNotMatch(serverBlock(ctl!.nginxConf(), 'plain.example.com'), /rewrite_by_lua_block/);
    const reply = await ctl!.http('sticky.example.com', '/');
    assert.ok(reply.pod, reply.body);
    const setCookie = (reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('route='));
    assert.ok(setCookie, `Set-Cookie: ${JSON.stringify(reply.headers['set-cookie'])}`);
    assert.match(setCookie, /^route=[^;]+; Path=\/; HttpOnly/);
    const cookie = setCookie.split(';')[0]!;
    const sticky: string[] = [];
    for (let i = 0; i < 20; i++) sticky.push(await who('sticky', `/s/${i}`, { cookie }));
    assert.deepEqual(new Set(sticky), new Set([reply.pod.pod]), `with ${cookie}: ${sticky.join(', ')}`);
    // without the cookie the backend's algorithm (the ConfigMap's random) spreads the requests
    const loose: string[] = [];
    for (let i = 0; i < 20; i++) loose.push(await who('sticky', `/l/${i}`));
    assert.ok(new Set(loose).size >= 2, `without the cookie: ${loose.join(', ')}`);
  });

  it('an invalid annotation value (load-balance: "fastest") is reported naming the Ingress and the annotation, and ignored: the default balancing serves it, as ingress-nginx', async function () {
    const problems = (await ctl!.status()).problems;
    const line = problems.find((p) => p.includes('Ingress default/bad '));
    assert.ok(line, problems.join('\n'));
    assert.match(
      line,
      /^warning: bad\.yaml:\d+ Ingress default\/bad metadata\.annotations\["nginx\.ingress\.kubernetes\.io\/load-balance"\]: invalid value "fastest".*ignored, its default applies/,
    );
    assert.equal(problems.length, 1, problems.join('\n'));
    // served with the default balancing, as ingress-nginx ignored an invalid value
    const seq = await many(6, 'bad');
    assert.deepEqual(
      seq.filter((s) => !PODS.includes(s)),
      [],
      seq.join(', '),
    );
    const ok = await many(3, 'plain');
    assert.deepEqual(
      ok.filter((s) => !PODS.includes(s)),
      [],
      ok.join(', '),
    );
  });

  it('the ConfigMap load-balance sets the default: random, then round_robin once the ConfigMap says so', async function () {
    this.timeout(30_000);
    assert.equal((await ctl!.luaBackend('default_plain-svc_80')).loadBalance, 'random');
    const before = await many(60, 'plain');
    assert.ok(!rotates(before), 'random: not a strict rotation');
    manifests.write('settings.yaml', configMap('settings', 'ingress-templater', { 'load-balance': 'round_robin' }));
    await ctl!.waitFor(async () => (await ctl!.luaBackend('default_plain-svc_80')).loadBalance === 'round_robin', {
      what: 'plain-svc round_robin',
    });
    const seq = await many(9, 'plain');
    assert.deepEqual(count(seq), { 'lb-1': 3, 'lb-2': 3, 'lb-3': 3 }, seq.join(', '));
    // annotations still win over the new default
    assert.equal((await ctl!.luaBackend('default_random-svc_80')).loadBalance, 'random');
    assert.equal((await ctl!.luaBackend('default_bad-svc_80')).loadBalance, 'round_robin');
  });
});

describe('e2e: /healthz with the internal port taken (Lua balancer)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let blocker: net.Server | undefined;
  let pods: Pods;

  before(async function () {
    pods = await startPods([{ name: 'taken-1', address: '127.0.1.61' }]);
  });

  stopAfter(
    () => ctl,
    async () => {
      await new Promise<void>((resolve) => (blocker?.listening ? blocker.close(() => resolve()) : resolve()));
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  it('nginx cannot bind 127.0.0.1:<internal port>: not confirmed, nothing pushed, /healthz stays 503', async function () {
    this.timeout(30_000);
    const port = await freePort();
    blocker = await holdPort(port); // another process holds the port
    manifests = new ManifestDir('taken');
    manifests.write('site.yaml', [
      ...backend('taken-svc', pods),
      ingress('taken', { host: 'taken.example.com', paths: [{ path: '/', service: 'taken-svc' }] }),
    ]);
    ctl = await startController({ manifests: manifests.dir, ports: { internal: port }, waitReady: false });
    await ctl.waitFor(() => new RegExp(`bind\\(\\) to 127\\.0\\.0\\.1:${port} failed`).test(ctl!.log()), {
      what: 'nginx reporting the bind failure',
    });
    // the first start gives up (nginx retries bind for ~2.5 s, then exits) and is counted as not confirmed
    await ctl.waitFor(async () => (await ctl!.metric('reload_failures_total', { reason: 'not_confirmed' })) >= 1, {
      timeoutMs: 20_000,
      what: 'the start not confirmed',
    });
    assert.equal(await ctl.healthz(), 503);
    const status = await ctl.status();
    assert.equal(status.ready.ok, false);
    assert.equal(status.configHash, null);
    assert.match(status.lastError ?? '', /did not confirm/);
    const metrics = await ctl.metrics();
    assert.equal(metrics.get(metricKey('reloads_total')), 0);
    assert.equal(metrics.get(metricKey('endpoint_pushes_total')), 0);
    assert.equal(metrics.get(metricKey('config_last_reload_successful')), 0);
    // still 503 after nginx's restart attempt, which fails the same way
    await ctl.waitFor(async () => (await ctl!.metric('nginx_restarts_total')) >= 1, {
      timeoutMs: 10_000,
      what: 'a restart attempt',
    });
    assert.equal(await ctl.healthz(), 503);
  });

  // The port frees up while nginx waits out its restart backoff, with no sync waiting for it: the next
  // restart must be confirmed and filled with endpoints although no manifest changes.
  it('recovers on its own once the port is free, also when no sync is waiting for nginx any more', async function () {
    this.timeout(90_000);
    // each start ends in one exit, then one not_confirmed (the first start's sync, or the sync that
    // follows each restart, gives up); free the port once both counts agree and the last exit's
    // backoff has more than a second to run: nginx is down then, and nothing waits for it
    await ctl!.waitFor(
      async () => {
        const exits = ctl!
          .log()
          .split('\n')
          .filter((l) => l.includes('"event":"nginx_exited"'));
        const failures = await ctl!.metric('reload_failures_total', { reason: 'not_confirmed' });
        const last =
          exits.length > 0 ? (JSON.parse(exits[exits.length - 1]!) as { time: string; msg: string }) : undefined;
        const backoff = Number(/restarting in (\d+) ms/.exec(last?.msg ?? '')?.[1] ?? 0);
        return exits.length >= 2 && failures >= exits.length && Date.parse(last!.time) + backoff - Date.now() > 1000;
      },
      { timeoutMs: 45_000, what: 'nginx down in its restart backoff after its sync gave up' },
    );
    assert.equal(await ctl!.healthz(), 503);
    await new Promise<void>((resolve) => blocker!.close(() => resolve()));
    await ctl!.waitFor(async () => (await ctl!.healthz()) === 200, {
      timeoutMs: 60_000,
      what: 'healthz 200 after the port is free',
    });
    assert.ok((await ctl!.metric('endpoint_pushes_total')) >= 1);
    assert.equal(answerOf(await ctl!.http('taken.example.com', '/')), 'taken-1');
  });
});
