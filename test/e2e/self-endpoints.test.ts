// Security review items 5 and 6, through a real controller and nginx (Lua balancer):
// - no manifest makes nginx proxy a client to the controller's own listeners (status server with every
//   tenant's problems and endpoints, nginx's internal API, its own http port), whatever address spelling
//   an Endpoints object, an ExternalName or a service-upstream ClusterIP uses; the status server itself
//   refuses proxied requests;
// - one tenant's Service with more endpoints than the limit is refused by itself (it keeps its previous
//   endpoints, reported, counted in a metric) and another Service's endpoint change still lands.
import assert from 'node:assert/strict';
import { backendName } from '../../src/model/backends.js';
import { MAX_ENDPOINTS } from '../../src/model/endpoint-policy.js';
import { metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { request, type Reply } from '../helpers/http.js';
import { ManifestDir, backend, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
// what the status server's pages contain; none of it may reach a client through nginx
const STATUS_TEXT = /"problems"|"configHash"|"nginxPid"|"backends"|"source"|ingress_templater_|^ok /m;

describe('e2e: endpoints naming the controller itself; one Service over the endpoint limit', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods; // a-1, a-2 (Service big), b-1, b-2 (Service small)

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('self-endpoints');
    pods = await startPods([...podSpecs('a', '127.0.3.1', 2), ...podSpecs('b', '127.0.3.2', 2)]);
    const groupA = pods.specs.filter((s) => s.name.startsWith('a'));
    manifests.write('big.yaml', [
      ...backend('big-svc', { port: pods.port, specs: groupA }),
      ingress('big', { host: 'big.example.com', paths: [{ path: '/', service: 'big-svc' }] }),
    ]);
    manifests.write('small.yaml', [
      service('small-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      ingress('small', { host: 'small.example.com', paths: [{ path: '/', service: 'small-svc' }] }),
    ]);
    manifests.write(
      'small-endpoints.yaml',
      endpoints('small-svc', { ready: [pods.specs.find((s) => s.name === 'b-1')!.address], port: pods.port }),
    );
    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  const problems = async () => (await ctl!.status()).problems.join('\n');

  it('Endpoints, ExternalNames and ClusterIPs naming the status port, internal API or http port in any spelling: 503, nothing of the controller leaks, reported', async function () {
    this.timeout(60_000);
    const { status, internal, http } = ctl!.ports;
    // [name, Service, its Endpoints (or none), the Endpoints/Service field the problem must name]
    const grabs: [string, Record<string, unknown>, Record<string, unknown> | null, string][] = [
      [
        'status-v4',
        service('status-v4', { ports: [{ port: 80, targetPort: status }] }),
        endpoints('status-v4', { ready: ['127.0.0.1'], port: status }),
        'Endpoints default/status-v4 subsets[0].addresses[0].ip',
      ],
      [
        'status-mapped',
        service('status-mapped', { ports: [{ port: 80, targetPort: status }] }),
        endpoints('status-mapped', { ready: ['::ffff:127.0.0.1'], port: status }),
        'Endpoints default/status-mapped subsets[0].addresses[0].ip',
      ],
      [
        'status-other',
        service('status-other', { ports: [{ port: 80, targetPort: status }] }),
        endpoints('status-other', { ready: ['0:0:0:0:0:ffff:127.0.0.1'], port: status }),
        'Endpoints default/status-other subsets[0].addresses[0].ip',
      ],
      [
        'status-any',
        service('status-any', { ports: [{ port: 80, targetPort: status }] }),
        endpoints('status-any', { ready: ['0.0.0.0'], port: status }),
        'Endpoints default/status-any subsets[0].addresses[0].ip',
      ],
      [
        'api',
        service('api', { ports: [{ port: 80, targetPort: internal }] }),
        endpoints('api', { ready: ['127.0.0.1'], port: internal }),
        'Endpoints default/api subsets[0].addresses[0].ip',
      ],
      [
        'unavailable',
        service('unavailable', { ports: [{ port: 80, targetPort: internal }] }),
        endpoints('unavailable', { ready: ['127.0.0.2'], port: internal }),
        'Endpoints default/unavailable subsets[0].addresses[0].ip',
      ],
      [
        'loop',
        service('loop', { ports: [{ port: 80, targetPort: http }] }),
        endpoints('loop', { ready: ['127.0.0.1'], port: http }),
        'Endpoints default/loop subsets[0].addresses[0].ip',
      ],
      [
        'ext-ip',
        service('ext-ip', {
          type: 'ExternalName',
          externalName: '127.0.0.1',
          ports: [{ port: 80, targetPort: status }],
        }),
        null,
        'Service default/ext-ip spec.externalName',
      ],
      [
        'ext-name',
        service('ext-name', {
          type: 'ExternalName',
          externalName: 'localhost',
          ports: [{ port: 80, targetPort: status }],
        }),
        null,
        'Service default/ext-name spec.externalName',
      ],
      [
        'cluster',
        service('cluster', { clusterIP: '127.0.0.1', ports: [{ port: status }] }),
        endpoints('cluster', { ready: ['127.0.3.1'], port: pods.port }),
        'Service default/cluster spec.clusterIP',
      ],
    ];
    for (const [name, svc, eps] of grabs) {
      const port = name === 'cluster' ? status : 80;
      manifests.write(`grab-${name}.yaml`, [
        svc,
        ...(eps ? [eps] : []),
        ingress(`grab-${name}`, {
          host: `${name}.grab.example.com`,
          paths: [{ path: '/', service: name, port }],
          // upstream-vhost: a Host the status server and the internal API would take for their own
          annotations: {
            [`${ANNOTATION}upstream-vhost`]: '127.0.0.1',
            ...(name === 'cluster' ? { [`${ANNOTATION}service-upstream`]: 'true' } : {}),
          },
        }),
      ]);
    }
    // nginx runs the config that routes every grab host
    await ctl!.waitFor(
      async () => {
        const conf = ctl!.nginxConf();
        const hash = /^# config-hash (\w+)$/m.exec(conf)?.[1];
        return (
          grabs.every(([name]) => conf.includes(`${name}.grab.example.com`)) &&
          hash !== undefined &&
          (await ctl!.status()).configHash === hash
        );
      },
      { timeoutMs: 20_000, what: 'every grab host routed' },
    );
    for (const [name] of grabs) {
      for (const urlPath of ['/status', '/backends', '/metrics', '/healthz', '/configuration/backends']) {
        const reply: Reply = await ctl!.http(`${name}.grab.example.com`, urlPath);
        assert.equal(reply.status, 503, `${name} ${urlPath}: ${reply.status} ${reply.body.slice(0, 200)}`);
        assert.doesNotMatch(reply.body, STATUS_TEXT, `${name} ${urlPath}`);
      }
    }
    let lastProblems = '';
    await ctl!
      .waitFor(
        async () => {
          const current = await problems();
          lastProblems = current;
          return grabs.every(([, , , where]) => current.includes(where));
        },
        { timeoutMs: 20_000, what: 'every refused endpoint reported' },
      )
      .catch((err: Error) => {
        throw new Error(
          `${err.message}; missing: ${grabs
            .filter(([, , , w]) => !lastProblems.includes(w))
            .map(([n]) => n)
            .join(', ')}`,
        );
      });
    const reported = await problems();
    for (const [name, , , where] of grabs) {
      assert.match(
        reported,
        new RegExp(`error: \\S+ ${where.replace(/[.[\]/]/g, '\\$&')}: .*left out.*Ingress default/grab-${name} `),
        name,
      );
    }
    assert.ok((await ctl!.metric('endpoints_refused')) >= grabs.length, 'endpoints_refused counts them');
    // nothing reached the status server or the API: still ready, the other routes still answer
    assert.equal(await ctl!.healthz(), 200);
    assert.match((await ctl!.http('big.example.com', '/')).pod?.pod ?? '', /^a-\d$/);
  });

  it('the status server refuses proxied requests (403) and still answers probes and scrapes', async function () {
    const port = ctl!.ports.status;
    const proxied: Record<string, string>[] = [
      { 'x-forwarded-for': '192.0.2.1' },
      { 'x-request-id': 'abc' },
      { 'x-real-ip': '192.0.2.1' },
      { 'x-forwarded-host': 'a.example.com' },
      { forwarded: 'for=192.0.2.1' },
      { via: '1.1 nginx' },
    ];
    for (const headers of proxied) {
      for (const urlPath of ['/status', '/backends', '/metrics', '/healthz']) {
        const reply = await request(port, '127.0.0.1', urlPath, { headers });
        assert.equal(reply.status, 403, `${JSON.stringify(headers)} ${urlPath}: ${reply.status}`);
        assert.doesNotMatch(reply.body, STATUS_TEXT);
      }
    }
    for (const host of ['evil.example.com', 'upstream_balancer', `grab.example.com:${port}`, '10.0.0.1']) {
      const reply = await request(port, host, '/status');
      assert.equal(reply.status, 403, `Host ${host}: ${reply.status}`);
    }
    // kubelet probes and Prometheus scrapes: Host is the address they connected to, or localhost
    for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `localhost:${port}`]) {
      assert.equal((await request(port, host, '/healthz')).status, 200, `Host ${host}`);
      assert.equal((await request(port, host, '/metrics')).status, 200, `Host ${host}`);
    }
  });

  it(`a Service with ${MAX_ENDPOINTS + 1} endpoints keeps its previous ones and is reported; another Service's endpoint change still lands`, async function () {
    this.timeout(60_000);
    const big = backendName('default', 'big-svc', 80);
    const small = backendName('default', 'small-svc', 80);
    const groupA = pods.specs.filter((s) => s.name.startsWith('a')).map((s) => s.address);
    const before = (await ctl!.luaBackend(big)).endpoints;
    assert.deepEqual(
      before.map((e) => e.address),
      groupA,
    );
    // the two real pods plus addresses nothing listens on, 10,001 in all
    const fakes = Array.from(
      { length: MAX_ENDPOINTS + 1 - groupA.length },
      (_, i) => `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    );
    const syncs = await ctl!.metric('syncs_total');
    manifests.write('big-endpoints.yaml', endpoints('big-svc', { ready: [...groupA, ...fakes], port: pods.port }));
    await ctl!.waitForSync(syncs);

    // then another tenant's endpoint change: b-1 -> b-2, and a real request reaches b-2
    manifests.write(
      'small-endpoints.yaml',
      endpoints('small-svc', { ready: [pods.specs.find((s) => s.name === 'b-2')!.address], port: pods.port }),
    );
    await ctl!.waitFor(async () => (await ctl!.http('small.example.com', '/')).pod?.pod === 'b-2', {
      timeoutMs: 10_000,
      what: 'small-svc answered by b-2',
    });

    await ctl!.waitFor(async () => (await problems()).includes('more than the limit'), {
      timeoutMs: 20_000,
      what: 'the big Service reported',
    });
    const reported = await problems();
    assert.match(
      reported,
      /Service default\/big-svc spec\.ports: port 80 has 10001 ready endpoints, more than the limit of 10000; backend \S+ keeps its previous 2 endpoint\(s\)/,
    );
    assert.match(
      reported,
      /Ingress default\/big spec\.rules\[0\]\.http\.paths\[0\]\.backend: Service default\/big-svc port 80 has 10001 ready endpoints/,
    );
    assert.deepEqual(
      (await ctl!.luaBackend(small)).endpoints.map((e) => e.address),
      [pods.specs.find((s) => s.name === 'b-2')!.address],
    );

    // the big Service keeps its previous endpoints, in nginx and in traffic
    assert.deepEqual((await ctl!.luaBackend(big)).endpoints, before);
    for (let i = 0; i < 4; i++) assert.match((await ctl!.http('big.example.com', '/')).pod?.pod ?? '', /^a-\d$/);
    const metrics = await ctl!.metrics();
    assert.equal(metrics.get(metricKey('backends_refused', { by: 'controller' })), 1);
    assert.equal(metrics.get(metricKey('endpoint_push_failing')), 0);
    assert.equal(metrics.get(metricKey('endpoint_push_failures_total')), 0, 'no push was refused');
    assert.equal(await ctl!.healthz(), 200, "one tenant's Service does not make the controller unready");

    // back under the limit: the new endpoints land and the problem goes
    manifests.write('big-endpoints.yaml', endpoints('big-svc', { ready: [groupA[0]!], port: pods.port }));
    await ctl!.waitFor(async () => (await ctl!.luaBackend(big)).endpoints.length === 1, {
      timeoutMs: 10_000,
      what: 'big-svc down to one endpoint',
    });
    await ctl!.waitFor(async () => !(await problems()).includes('more than the limit'), {
      timeoutMs: 10_000,
      what: 'the problem cleared',
    });
    assert.equal(await ctl!.metric('backends_refused', { by: 'controller' }), 0);
  });

  it('pushes that keep failing (nginx workers stopped) make /healthz 503 with the reason and set endpoint_push_failing; both recover', async function () {
    this.timeout(90_000);
    const b1 = pods.specs.find((s) => s.name === 'b-1')!;
    const workers = await ctl!.workerPids();
    for (const pid of workers) process.kill(pid, 'SIGSTOP');
    try {
      // the push of this change gets no answer (5 s timeout), nor do its retries
      manifests.write('small-endpoints.yaml', endpoints('small-svc', { ready: [b1.address], port: pods.port }));
      await ctl!.waitFor(async () => (await ctl!.metric('endpoint_push_failing')) === 1, {
        timeoutMs: 20_000,
        what: 'endpoint_push_failing 1',
      });
      const reply = await ctl!.waitFor(
        async () => {
          const health = await request(ctl!.ports.status, '127.0.0.1', '/healthz');
          return health.status === 503 ? health : undefined;
        },
        { timeoutMs: 30_000, what: 'healthz 503' },
      );
      assert.match(reply.body, /^endpoint pushes to nginx failing for \d+ s: /);
    } finally {
      for (const pid of workers) process.kill(pid, 'SIGCONT');
    }
    await ctl!.waitFor(async () => (await ctl!.healthz()) === 200, { timeoutMs: 20_000, what: 'ready again' });
    assert.equal(await ctl!.metric('endpoint_push_failing'), 0);
    await ctl!.waitFor(async () => (await ctl!.http('small.example.com', '/')).pod?.pod === 'b-1', {
      timeoutMs: 10_000,
      what: 'the change landed',
    });
  });
});
