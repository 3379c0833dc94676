// Faults on the nginx side, with real nginx and pods on loopback: reloads under a steady request load, and
// nginx unable to take endpoint pushes for a while (its workers stopped with SIGSTOP).
import assert from 'node:assert/strict';
import { metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { Load } from '../helpers/load.js';
import { ManifestDir, backend, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';
import { isAlive } from '../helpers/processes.js';
import { sleep } from '../helpers/wait.js';

const HOST = 'load.example.com';
const RELOADS = metricKey('reloads_total');

describe('e2e faults: nginx', function () {
  let pods: Pods; // load-1, load-2: the route under load; new-pod: where an endpoint change moves it

  before(async function () {
    pods = await startPods([
      { name: 'load-1', address: '127.0.7.1' },
      { name: 'load-2', address: '127.0.7.2' },
      { name: 'new-pod', address: '127.0.7.3' },
    ]);
  });

  after(async function () {
    await closeAll(pods);
  });

  const specs = (...names: string[]) => pods.specs.filter((s) => names.includes(s.name));

  describe('reloads under load', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('faults-load');
      manifests.write('svc.yaml', backend('load-svc', { port: pods.port, specs: specs('load-1', 'load-2') }));
      manifests.write('ingress.yaml', ingress('load', { host: HOST, paths: [{ path: '/', service: 'load-svc' }] }));
      ctl = await startController({ manifests: manifests.dir });
    });

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    it('10 reloads during a steady GET loop: zero failed requests on new connections, and on keep-alive connections with a client that re-sends only requests whose reused connection closed before any response byte (as browsers and Go do)', async function () {
      this.timeout(90_000);
      const before = await ctl!.settle();
      const workers0 = await ctl!.workerPids();
      const load = new Load({ port: ctl!.ports.http, host: HOST, path: '/steady' }, { fresh: 4, keepAlive: 4 });
      let stats;
      const t0 = Date.now();
      try {
        await ctl!.waitFor(() => load.count > 200, { what: 'the load running' });
        let reloads = before.get(RELOADS)!;
        for (let i = 1; i <= 10; i++) {
          // each change touches the Ingress under load itself: its server block is rendered anew
          manifests.write(
            'ingress.yaml',
            ingress('load', {
              host: HOST,
              paths: [
                { path: '/', service: 'load-svc' },
                { path: `/extra-${i}`, service: 'load-svc' },
              ],
            }),
          );
          reloads = await ctl!.waitForReload(reloads, 15_000);
          const count = load.count;
          await ctl!.waitFor(() => load.count > count + 50, { what: 'requests after the reload' });
        }
        await sleep(300);
      } finally {
        stats = await load.stop();
      }
      const after = await ctl!.settle();
      const elapsed = Date.now() - t0;
      process.stdout.write(
        `      (${stats.requests} requests in ${elapsed} ms over ${after.get(RELOADS)! - before.get(RELOADS)!} reloads; ` +
          `${stats.retries} keep-alive requests re-sent after their idle connection was closed by an old worker; ${stats.failures.length} failed)\n`,
      );
      assert.deepEqual(stats.failures, [], `${stats.failures.length} of ${stats.requests} requests failed`);
      assert.equal(after.get(RELOADS)! - before.get(RELOADS)!, 10, 'one reload per change');
      assert.ok(stats.requests > 1000, `${stats.requests} requests`);
      assert.ok(
        (stats.byPod.get('load-1') ?? 0) > 0 && (stats.byPod.get('load-2') ?? 0) > 0,
        JSON.stringify([...stats.byPod]),
      );
      // the reloads really replaced the workers, and the old ones are gone
      await ctl!.waitFor(() => workers0.every((p) => !isAlive(p)), {
        timeoutMs: 15_000,
        what: 'the first workers gone',
      });
      assert.equal(await ctl!.healthz(), 200);
      assert.equal((await ctl!.http(HOST, '/extra-10/x')).status, 200);
    });
  });

  describe('nginx cannot take endpoint pushes (workers stopped with SIGSTOP)', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;
    let stopped: number[] = [];

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('faults-push');
      manifests.write('svc.yaml', [
        service('load-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
        ingress('load', { host: HOST, paths: [{ path: '/', service: 'load-svc' }] }),
      ]);
      manifests.write(
        'endpoints.yaml',
        endpoints('load-svc', { ready: specs('load-1').map((s) => s.address), port: pods.port }),
      );
      ctl = await startController({ manifests: manifests.dir });
    });

    // never leave a stopped process behind, whatever happened
    const resume = () => {
      for (const pid of stopped) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      stopped = [];
    };
    afterEach(resume);
    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    it('an endpoint change while the workers are stopped: the push fails (counted, logged) and is retried; once they run again the change is applied without a reload', async function () {
      this.timeout(60_000);
      assert.equal((await ctl!.http(HOST, '/')).pod?.pod, 'load-1');
      const before = await ctl!.settle();
      const failures = before.get(metricKey('endpoint_push_failures_total'))!;
      const pushes = before.get(metricKey('endpoint_pushes_total'))!;
      const workers = await ctl!.workerPids();
      assert.ok(workers.length >= 1);
      stopped = workers;
      for (const pid of workers) process.kill(pid, 'SIGSTOP');
      // a request sent now waits in the listen queue: it must be answered once the workers run again
      const pending = ctl!.http(HOST, '/queued', { timeoutMs: 30_000 });
      const stoppedAt = Date.now();
      manifests.write(
        'endpoints.yaml',
        endpoints('load-svc', { ready: specs('new-pod').map((s) => s.address), port: pods.port }),
      );
      // the pusher gives up on an attempt after 5 s without an answer, then retries with backoff
      await ctl!.waitFor(async () => (await ctl!.metric('endpoint_push_failures_total')) > failures, {
        timeoutMs: 15_000,
        what: 'a failed push counted',
      });
      const during = await ctl!.metrics();
      const health = await ctl!.healthz();
      assert.equal(
        during.get(metricKey('endpoint_pushes_total')),
        pushes,
        'no push acknowledged while the workers are stopped',
      );
      assert.ok(ctl!.log().includes('"event":"push_failed"'), 'push_failed logged');
      assert.match(ctl!.log(), /endpoint push failed: no answer within 5000 ms; retrying/);
      const heldFor = Date.now() - stoppedAt;
      resume();

      await ctl!.waitForPush(pushes, 15_000);
      await ctl!.waitFor(async () => (await ctl!.http(HOST, '/')).pod?.pod === 'new-pod', {
        what: 'the new endpoint answering',
      });
      const queued = await pending;
      assert.equal(queued.status, 200, 'the request queued while nginx was stopped was answered');
      const after = await ctl!.settle();
      process.stdout.write(
        `      (workers stopped ${heldFor} ms; push failures ${after.get(metricKey('endpoint_push_failures_total'))! - failures}; /healthz answered ${health} meanwhile)\n`,
      );
      assert.equal(after.get(RELOADS), before.get(RELOADS), 'no reload');
      assert.deepEqual((await ctl!.luaBackend('default_load-svc_80')).endpoints, [
        { address: '127.0.7.3', port: pods.port },
      ]);
      assert.equal(await ctl!.healthz(), 200);
      // settled: no push keeps failing
      assert.equal(
        (await ctl!.metrics()).get(metricKey('endpoint_push_failures_total')),
        after.get(metricKey('endpoint_push_failures_total')),
      );
    });

    it('an endpoint change reverted while the workers are stopped: once they run again nginx holds the reverted set, not the change queued before', async function () {
      this.timeout(60_000);
      manifests.write(
        'endpoints.yaml',
        endpoints('load-svc', { ready: specs('load-1').map((s) => s.address), port: pods.port }),
      );
      await ctl!.waitFor(async () => (await ctl!.http(HOST, '/')).pod?.pod === 'load-1', { what: 'load-1 answering' });
      const before = await ctl!.settle();
      const failures = before.get(metricKey('endpoint_push_failures_total'))!;
      const workers = await ctl!.workerPids();
      stopped = workers;
      for (const pid of workers) process.kill(pid, 'SIGSTOP');
      manifests.write(
        'endpoints.yaml',
        endpoints('load-svc', { ready: specs('load-2').map((s) => s.address), port: pods.port }),
      );
      await ctl!.waitFor(async () => (await ctl!.metric('endpoint_push_failures_total')) > failures, {
        timeoutMs: 15_000,
        what: 'the change failing',
      });
      // back to what nginx acknowledged last; the timed-out pushes of the change still wait in nginx's queue
      manifests.write(
        'endpoints.yaml',
        endpoints('load-svc', { ready: specs('load-1').map((s) => s.address), port: pods.port }),
      );
      await ctl!.waitFor(async () => (await ctl!.metric('endpoint_push_failures_total')) > failures + 1, {
        timeoutMs: 15_000,
        what: 'the retry failing too',
      });
      resume();
      await ctl!.settle(1000);
      // every request queued while the workers were stopped has been processed by now
      assert.deepEqual((await ctl!.luaBackend('default_load-svc_80')).endpoints, [
        { address: '127.0.7.1', port: pods.port },
      ]);
      for (let i = 0; i < 5; i++) assert.equal((await ctl!.http(HOST, '/')).pod?.pod, 'load-1');
      assert.equal(await ctl!.healthz(), 200);
    });
  });
});
