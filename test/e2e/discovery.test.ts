// Service discovery end to end: Endpoints, EndpointSlices, headless and ExternalName Services, readiness.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { request, whoAnswers } from '../helpers/http.js';
import { ManifestDir, endpointSlice, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';

// the pod names and addresses of examples/manifests/hostnames.yaml
const HOSTNAMES = [
  { name: 'hostnames-8548b869d7-9qk6b', address: '127.0.0.11' },
  { name: 'hostnames-8548b869d7-wzksp', address: '127.0.0.12' },
  { name: 'hostnames-8548b869d7-bvlw8', address: '127.0.0.13' },
];

describe('e2e: service discovery', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let hostnames: Pods, headless: Pods, local: Pods, named: Pods, eps: Pods, slice: Pods;

  const sliceEndpoints = (second: { ready?: boolean; terminating?: boolean }) =>
    endpointSlice('slice-svc-x1', 'slice-svc', {
      port: slice.port,
      portName: 'web',
      endpoints: [
        { ip: '127.0.0.71', ready: true },
        { ip: '127.0.0.72', ...second },
      ],
    });

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('discovery');
    hostnames = await startPods(HOSTNAMES);
    headless = await startPods(podSpecs('headless', '127.0.0.4', 2));
    local = await startPods([{ name: 'local-1', address: '127.0.0.1' }]);
    named = await startPods(podSpecs('named', '127.0.0.5', 2));
    eps = await startPods(podSpecs('eps', '127.0.0.6', 2));
    slice = await startPods(podSpecs('slice', '127.0.0.7', 2));

    // the walkthrough's file as it is, with the pods' port in place of 9376
    const example = fs.readFileSync(path.join(REPO, 'examples/manifests/hostnames.yaml'), 'utf8');
    assert.match(example, /9376/);
    manifests.write('hostnames.yaml', example.replace(/\b9376\b/g, String(hostnames.port)));

    manifests.write('headless.yaml', [
      service('headless-svc', { clusterIP: 'None', ports: [{ name: 'http', port: 8080, targetPort: headless.port }] }),
      endpoints('headless-svc', { ready: headless.specs.map((s) => s.address), port: headless.port, portName: 'http' }),
      ingress('headless', {
        host: 'headless.example.com',
        paths: [{ path: '/', service: 'headless-svc', port: 8080 }],
      }),
    ]);
    manifests.write('external.yaml', [
      service('local-svc', {
        type: 'ExternalName',
        externalName: 'localhost',
        ports: [{ port: 80, targetPort: local.port }],
      }),
      ingress('external', { host: 'external.example.com', paths: [{ path: '/', service: 'local-svc', port: 80 }] }),
      // no ports at all, as the walkthrough (../shared/seed) writes an ExternalName Service: the Ingress's port
      service('portless-svc', { type: 'ExternalName', externalName: 'localhost', ports: [] }),
      ingress('portless', {
        host: 'portless.example.com',
        paths: [{ path: '/', service: 'portless-svc', port: local.port }],
      }),
      // the Ingress names the Service port by its name
      service('named-ext-svc', {
        type: 'ExternalName',
        externalName: 'localhost',
        ports: [{ name: 'http', port: 80, targetPort: local.port }],
      }),
      ingress('named-ext', {
        host: 'named-ext.example.com',
        paths: [{ path: '/', service: 'named-ext-svc', port: 'http' }],
      }),
      // a fully qualified name with its trailing dot
      service('dotted-svc', {
        type: 'ExternalName',
        externalName: 'localhost.',
        ports: [{ port: 80, targetPort: local.port }],
      }),
      ingress('dotted', { host: 'dotted.example.com', paths: [{ path: '/', service: 'dotted-svc', port: 80 }] }),
    ]);
    // Service port "web" targets the container port named "http"; the slice lists that port under the
    // Service port's name with the resolved number. A second port must not be mixed up with it.
    manifests.write('named.yaml', [
      service('named-svc', {
        ports: [
          { name: 'metrics', port: 9090, targetPort: 'metrics' },
          { name: 'web', port: 80, targetPort: 'http' },
        ],
      }),
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'named-svc-a1b2c',
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': 'named-svc' },
        },
        addressType: 'IPv4',
        ports: [
          { name: 'metrics', port: 1, protocol: 'TCP' },
          { name: 'web', port: named.port, protocol: 'TCP' },
        ],
        endpoints: named.specs.map((s) => ({ addresses: [s.address], conditions: { ready: true } })),
      },
      ingress('named', { host: 'named.example.com', paths: [{ path: '/', service: 'named-svc', port: 'web' }] }),
    ]);
    manifests.write('eps.yaml', [
      service('eps-svc', { ports: [{ port: 80, targetPort: eps.port }] }),
      ingress('eps', { host: 'eps.example.com', paths: [{ path: '/', service: 'eps-svc' }] }),
    ]);
    manifests.write(
      'eps-endpoints.yaml',
      endpoints('eps-svc', { ready: ['127.0.0.61', '127.0.0.62'], port: eps.port }),
    );
    manifests.write('slice.yaml', [
      service('slice-svc', { ports: [{ name: 'web', port: 80, targetPort: 'http' }] }),
      ingress('slice', { host: 'slice.example.com', paths: [{ path: '/', service: 'slice-svc' }] }),
    ]);
    manifests.write('slice-endpoints.yaml', sliceEndpoints({ ready: true }));

    ctl = await startController({ manifests: manifests.dir });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(hostnames, headless, local, named, eps, slice);
      manifests?.cleanup();
    },
  );

  it('accepts every manifest (no problems reported)', async function () {
    const status = await ctl!.status();
    assert.deepEqual(status.problems, []);
    assert.equal(status.ready.ok, true);
    assert.equal(await ctl!.metric('rejected_manifests'), 0);
  });

  it('exports the running config hash: /status, /metrics, nginx.conf and nginx itself agree', async function () {
    const hash = (await ctl!.status()).configHash!;
    assert.match(hash, /^[0-9a-f]{64}$/);
    const metrics = await ctl!.metrics();
    assert.equal(metrics.get(metricKey('config_info', { hash })), 1);
    assert.equal(metrics.get(metricKey('config_hash')), parseInt(hash.slice(0, 13), 16));
    assert.equal(metrics.get(metricKey('reloads_total')), 1, 'one start, no reload yet');
    assert.equal(metrics.get(metricKey('config_last_reload_successful')), 1);
    assert.match(
      fs.readFileSync(path.join(ctl!.prefix, 'nginx.conf'), 'utf8'),
      new RegExp(`^# config-hash ${hash}$`, 'm'),
    );
    const fromNginx = await request(ctl!.ports.internal, '127.0.0.1', '/configuration/hash');
    assert.equal(fromNginx.body, hash);
  });

  it('hostnames: three consecutive requests reach the three pods (round robin across workers)', async function () {
    // a host-less rule matches any Host
    const seen = await whoAnswers(3, () => ctl!.http('127.0.0.1', '/'));
    assert.deepEqual([...seen].sort(), HOSTNAMES.map((p) => p.name).sort(), `answers: ${seen.join(', ')}`);
    const again = await whoAnswers(3, () => ctl!.http('whatever.example.org', '/x'));
    assert.deepEqual([...again].sort(), HOSTNAMES.map((p) => p.name).sort(), `answers: ${again.join(', ')}`);
  });

  it('hostnames: the pod sees the request path and the client Host header', async function () {
    const reply = await ctl!.http('walkthrough.test', '/some/path?q=1');
    assert.equal(reply.status, 200);
    assert.ok(reply.pod, reply.body);
    assert.equal(reply.pod.path, '/some/path?q=1');
    assert.equal(reply.pod.host, 'walkthrough.test');
    assert.ok(HOSTNAMES.some((p) => p.name === reply.pod!.pod));
  });

  it('headless Service (clusterIP: None) with Endpoints balances over its pods', async function () {
    const seen = await whoAnswers(4, () => ctl!.http('headless.example.com', '/'));
    assert.deepEqual([...new Set(seen)].sort(), ['headless-1', 'headless-2'], `answers: ${seen.join(', ')}`);
  });

  it('ExternalName Service pointing at localhost reaches the backend on 127.0.0.1', async function () {
    // if localhost also resolved to ::1, nginx would get a refusal there and retry on 127.0.0.1
    for (let i = 0; i < 3; i++) {
      const reply = await ctl!.http('external.example.com', `/ext/${i}`);
      assert.equal(reply.status, 200, reply.body);
      assert.equal(reply.pod?.pod, 'local-1');
      assert.equal(reply.pod?.path, `/ext/${i}`);
    }
  });

  it("ExternalName Service without ports: the Ingress's numeric port is dialled, as ingress-nginx did", async function () {
    const reply = await ctl!.http('portless.example.com', '/x');
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.pod?.pod, 'local-1');
  });

  // ingress-nginx test/e2e/servicebackend/service_externalname.go "should return 200 for service type=ExternalName using a port name"
  it('ExternalName Service whose port the Ingress names: reached', async function () {
    const reply = await ctl!.http('named-ext.example.com', '/by-name');
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.pod?.pod, 'local-1');
  });

  // ingress-nginx test/e2e/servicebackend/service_externalname.go "should return 200 for service type=ExternalName using FQDN with trailing dot"
  it('ExternalName with a trailing dot (a fully qualified name): reached', async function () {
    const reply = await ctl!.http('dotted.example.com', '/dotted');
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.pod?.pod, 'local-1');
  });

  // ingress-nginx test/e2e/servicebackend/service_externalname.go "should return status 502 for service type=ExternalName with an invalid host"
  it('ExternalName that does not resolve: 503 (ingress-nginx: 502), reported; the others are served', async function () {
    // a name no resolver knows (.invalid is reserved for that, RFC 6761)
    manifests.write('nowhere.yaml', [
      service('nowhere-svc', {
        type: 'ExternalName',
        externalName: 'nowhere.invalid',
        ports: [{ port: 80, targetPort: local.port }],
      }),
      ingress('nowhere', { host: 'nowhere.example.com', paths: [{ path: '/', service: 'nowhere-svc', port: 80 }] }),
    ]);
    await ctl!.waitFor(async () => (await ctl!.status()).problems.some((problem) => problem.includes('nowhere-svc')), {
      what: 'nowhere-svc read and reported',
    });
    // the problem is known at plan time, the server once nginx has reloaded
    await ctl!.waitFor(async () => (await ctl!.http('nowhere.example.com', '/')).status === 503, {
      what: 'nowhere.example.com served, with 503',
    });
    const problems = (await ctl!.status()).problems;
    assert.ok(
      problems.some((problem) => problem.includes('nowhere-svc') && problem.includes('nowhere.invalid')),
      problems.join('\n'),
    );
    assert.equal((await ctl!.http('external.example.com', '/')).status, 200);
    manifests.remove('nowhere.yaml');
    await ctl!.waitFor(async () => !(await ctl!.status()).problems.some((problem) => problem.includes('nowhere-svc')), {
      what: 'nowhere-svc gone',
    });
    await ctl!.settle();
  });

  // ingress-nginx test/e2e/servicebackend/service_externalname.go "should update the external name after a service update"
  // ingress-nginx test/e2e/servicebackend/service_externalname.go "should sync ingress on external name service addition/deletion"
  it('ExternalName Service added after its Ingress, changed, then deleted: 503, served, served elsewhere, 503', async function () {
    // its ExternalName Service comes later
    manifests.write(
      'late.yaml',
      ingress('late', { host: 'late.example.com', paths: [{ path: '/', service: 'late-svc', port: 80 }] }),
    );
    // the catch-all of hostnames.yaml answers until nginx has the late host (503: its Service is missing)
    await ctl!.waitFor(async () => (await ctl!.http('late.example.com', '/')).status === 503, {
      what: 'the late host served, with 503',
    });
    const write = (externalName: string) =>
      manifests.write(
        'late-ext.yaml',
        service('late-svc', { type: 'ExternalName', externalName, ports: [{ port: 80, targetPort: local.port }] }),
      );
    write('nowhere.invalid');
    await ctl!.waitFor(
      async () =>
        (await ctl!.status()).problems.some((problem) => problem.includes('"nowhere.invalid" does not resolve')),
      { what: 'late-svc read and reported' },
    );
    // the reload done: no old worker left with the config before the late host
    await ctl!.settle();
    assert.equal((await ctl!.http('late.example.com', '/')).status, 503);
    write('localhost');
    await ctl!.waitFor(async () => (await ctl!.http('late.example.com', '/')).pod?.pod === 'local-1', {
      what: 'late-svc served once its name resolves',
    });
    manifests.remove('late-ext.yaml');
    await ctl!.waitFor(async () => (await ctl!.http('late.example.com', '/')).status === 503, {
      what: 'late-svc gone',
    });
    manifests.remove('late.yaml');
    await ctl!.waitFor(async () => !(await ctl!.status()).problems.some((problem) => problem.includes('late-svc')), {
      what: 'the late Ingress gone',
    });
    await ctl!.settle();
  });

  it('EndpointSlice with a named targetPort: the port listed under the Service port name is used', async function () {
    const seen = await whoAnswers(4, () => ctl!.http('named.example.com', '/'));
    assert.deepEqual([...new Set(seen)].sort(), ['named-1', 'named-2'], `answers: ${seen.join(', ')}`);
  });

  describe('readiness', function () {
    const leaves = async (host: string, pod: string) => {
      // after the push, keep asking until a run of answers no longer includes the pod
      await ctl!.waitFor(
        async () => {
          const seen = await whoAnswers(6, () => ctl!.http(host, '/'));
          return seen.every((s) => s !== pod && !s.startsWith('status')) ? seen : undefined;
        },
        { what: `${pod} to leave the rotation of ${host}` },
      );
    };
    const comesBack = async (host: string, pod: string) => {
      await ctl!.waitFor(async () => (await whoAnswers(4, () => ctl!.http(host, '/'))).includes(pod), {
        what: `${pod} back in ${host}`,
      });
    };

    // In Lua mode an endpoint-only change is pushed to nginx, never rendered: the push is what to wait
    // for, and nginx must not reload. The helper runs fn, then checks no reload happened meanwhile.
    const withoutReload = async (fn: () => Promise<void>) => {
      const reloads = (await ctl!.settle()).get(metricKey('reloads_total'))!;
      const workers = await ctl!.workerPids();
      await fn();
      assert.equal(
        (await ctl!.settle()).get(metricKey('reloads_total')),
        reloads,
        'an endpoint-only change must not reload nginx',
      );
      assert.deepEqual(await ctl!.workerPids(), workers, 'the same nginx workers serve');
    };

    it('Endpoints: an address moved to notReadyAddresses leaves the rotation and comes back when ready (pushed, no reload)', async function () {
      assert.deepEqual([...new Set(await whoAnswers(4, () => ctl!.http('eps.example.com', '/')))].sort(), [
        'eps-1',
        'eps-2',
      ]);
      await withoutReload(async () => {
        let pushes = await ctl!.metric('endpoint_pushes_total');
        manifests.write(
          'eps-endpoints.yaml',
          endpoints('eps-svc', { ready: ['127.0.0.61'], notReady: ['127.0.0.62'], port: eps.port }),
        );
        pushes = await ctl!.waitForPush(pushes);
        await leaves('eps.example.com', 'eps-2');
        assert.deepEqual((await ctl!.luaBackend('default_eps-svc_80')).endpoints, [
          { address: '127.0.0.61', port: eps.port },
        ]);
        manifests.write(
          'eps-endpoints.yaml',
          endpoints('eps-svc', { ready: ['127.0.0.61', '127.0.0.62'], port: eps.port }),
        );
        await ctl!.waitForPush(pushes);
        await comesBack('eps.example.com', 'eps-2');
      });
    });

    it('EndpointSlice: ready: false and terminating: true take an endpoint out; ready brings it back (pushed, no reload)', async function () {
      assert.deepEqual([...new Set(await whoAnswers(4, () => ctl!.http('slice.example.com', '/')))].sort(), [
        'slice-1',
        'slice-2',
      ]);
      await withoutReload(async () => {
        let pushes = await ctl!.metric('endpoint_pushes_total');
        manifests.write('slice-endpoints.yaml', sliceEndpoints({ ready: false }));
        pushes = await ctl!.waitForPush(pushes);
        await leaves('slice.example.com', 'slice-2');

        manifests.write('slice-endpoints.yaml', sliceEndpoints({ ready: true }));
        pushes = await ctl!.waitForPush(pushes);
        await comesBack('slice.example.com', 'slice-2');

        // terminating without an explicit ready (the API's default is ready): still not for new traffic
        manifests.write('slice-endpoints.yaml', sliceEndpoints({ terminating: true }));
        pushes = await ctl!.waitForPush(pushes);
        await leaves('slice.example.com', 'slice-2');

        manifests.write('slice-endpoints.yaml', sliceEndpoints({ ready: true, terminating: false }));
        await ctl!.waitForPush(pushes);
        await comesBack('slice.example.com', 'slice-2');
      });
    });

    it('an Ingress change still reloads nginx', async function () {
      const reloads = (await ctl!.settle()).get(metricKey('reloads_total'))!;
      manifests.write('eps.yaml', [
        service('eps-svc', { ports: [{ port: 80, targetPort: eps.port }] }),
        ingress('eps', {
          host: 'eps.example.com',
          paths: [
            { path: '/', service: 'eps-svc' },
            { path: '/more', service: 'slice-svc' },
          ],
        }),
      ]);
      await ctl!.waitForReload(reloads);
      await ctl!.waitFor(async () => (await ctl!.http('eps.example.com', '/more')).pod?.pod.startsWith('slice-'), {
        what: '/more routed to slice-svc',
      });
      assert.ok((await ctl!.http('eps.example.com', '/')).pod?.pod.startsWith('eps-'));
    });
  });
});
