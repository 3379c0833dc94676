// Sidecar mode: an nginx started by the test itself, the controller (`run --sidecar`) beside it on a
// shared prefix, as two containers of one pod. The controller writes nginx.conf before any nginx runs,
// finds the nginx through its pid file and internal port, reloads it (SIGHUP, or a reload command),
// pushes endpoints to it, notices it going away and coming back, and never stops it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dumpLogOnFailure, metricKey, type RunningController } from '../helpers/controller.js';
import { request, whoAnswers } from '../helpers/http.js';
import { ManifestDir, backend, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';
import { tryConnect } from '../helpers/ports.js';
import { isAlive, pgrepCommandLine, readPidFile } from '../helpers/processes.js';
import { TestNginx, startSidecarController, stopSidecarAfter } from '../helpers/sidecar.js';

const HOST = 'side.example.com';
const APP = 'default_app-svc_80';

const sorted = (xs: string[]) => [...xs].sort();

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) out[value] = (out[value] ?? 0) + 1;
  return out;
}

/** The config hash nginx.conf names in its header, or undefined while there is no such file. */
function confHash(prefix: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(prefix, 'nginx.conf'), 'utf8');
  } catch {
    return undefined;
  }
  return /^# config-hash ([0-9a-f]{64})$/m.exec(text)?.[1];
}

/** Write a file the way the controller does (temporary name, then rename). */
function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Every JSON log record of the controller with this event. */
function events(ctl: RunningController, event: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of ctl.log().split('\n')) {
    if (!line.startsWith('{')) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // the last line, still being written
    }
    if (record.event === event) out.push(record);
  }
  return out;
}

describe('e2e: sidecar mode (an nginx started by the test, the controller beside it)', function () {
  let pods: Pods; // side-1..4: the app's endpoints are chosen among them
  let fresh: Pods; // the backend of the route an Ingress change adds

  const appFiles = (m: ManifestDir, extraPath: boolean) =>
    m.write('app.yaml', [
      service('app-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      ingress('app', {
        host: HOST,
        paths: [{ path: '/', service: 'app-svc' }, ...(extraPath ? [{ path: '/fresh', service: 'fresh-svc' }] : [])],
      }),
    ]);
  const appEndpoints = (m: ManifestDir, which: number[]) =>
    m.write(
      'app-endpoints.yaml',
      endpoints('app-svc', { ready: which.map((i) => pods.specs[i - 1]!.address), port: pods.port }),
    );
  const names = (which: number[]) => which.map((i) => `side-${i}`);
  const healthz = (ctl: RunningController) => request(ctl.ports.status, '127.0.0.1', '/healthz');
  const backends = async (ctl: RunningController) => {
    const reply = await request(ctl.ports.status, '127.0.0.1', '/backends');
    assert.equal(reply.status, 200, reply.body);
    return JSON.parse(reply.body) as { source: string; backends: Record<string, string[]> };
  };
  const addrs = (which: number[]) => which.map((i) => `${pods.specs[i - 1]!.address}:${pods.port}`);

  before(async function () {
    pods = await startPods(podSpecs('side', '127.0.5.', 4));
    fresh = await startPods(podSpecs('fresh', '127.0.5.2', 1));
  });

  after(async function () {
    await closeAll(pods, fresh);
  });

  describe('SIGHUP reloads, endpoint pushes, restarts of the external nginx', function () {
    let manifests: ManifestDir;
    let prefix: string;
    let ctl: RunningController | undefined;
    let nginx: TestNginx | undefined;
    let hash: string; // the config the controller wrote first

    before(function () {
      manifests = new ManifestDir('sidecar');
      prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-sidecar-'));
      appFiles(manifests, false);
      appEndpoints(manifests, [1, 2, 3]);
      manifests.write('fresh.yaml', backend('fresh-svc', fresh));
    });

    afterEach(function () {
      dumpLogOnFailure(this, ctl);
      if (this.currentTest?.state === 'failed' && nginx)
        process.stderr.write(`--- test nginx output:\n${nginx.log().slice(-2000)}\n---\n`);
    });

    stopSidecarAfter(() => ({ ctl, nginx, manifests, prefix }));

    it('before any nginx runs: writes nginx.conf into the shared prefix, /healthz 503, nothing listens', async function () {
      ctl = await startSidecarController({ manifests: manifests.dir, prefix });
      hash = await ctl.waitFor(() => confHash(prefix), { what: `${prefix}/nginx.conf with a config hash` });
      await ctl.waitFor(() => events(ctl!, 'waiting_for_nginx').length > 0, {
        what: 'the waiting_for_nginx log record',
      });
      const [waiting] = events(ctl, 'waiting_for_nginx');
      assert.equal(waiting!.hash, hash);
      const conf = fs.readFileSync(path.join(prefix, 'nginx.conf'), 'utf8');
      // the external nginx writes its pid where the controller looks, and finds the Lua code in the prefix
      assert.ok(conf.includes(`pid "${prefix}/nginx.pid";`), 'pid directive names the shared pid file');
      assert.ok(conf.includes(`lua_package_path "${prefix}/lua/?.lua;;";`), 'Lua code is read from the shared prefix');
      assert.ok(
        fs.existsSync(path.join(prefix, 'lua', 'ingress_templater', 'balancer.lua')),
        'Lua code copied into the prefix',
      );
      // a while later (the controller idle): still not ready, and the controller started no nginx itself
      await ctl.settle();
      const reply = await healthz(ctl);
      assert.equal(reply.status, 503);
      assert.equal(reply.body, 'no configuration applied yet\n');
      const status = await ctl.status();
      assert.equal(status.configHash, null);
      assert.equal(status.nginxPid, null);
      assert.deepEqual(
        (await pgrepCommandLine(prefix)).filter((p) => p !== ctl!.pid),
        [],
        'no process but the controller on the prefix',
      );
      assert.equal(await tryConnect('127.0.0.1', ctl.ports.http), 'ECONNREFUSED');
      assert.equal(await ctl.metric('reloads_total'), 0);
    });

    it('the test starts nginx from that file: /healthz 200, traffic round robin over the 3 pods', async function () {
      nginx = await TestNginx.start(prefix);
      await ctl!.waitReady();
      const reply = await healthz(ctl!);
      assert.equal(reply.body, `ok ${hash}\n`);
      const status = await ctl!.status();
      assert.equal(status.nginxPid, nginx.pid, 'the controller found the master through the pid file');
      assert.equal(status.configHash, hash);
      assert.ok(
        events(ctl!, 'external_nginx_up').some((r) => r.pid === nginx!.pid),
        'external_nginx_up logged with the master pid',
      );
      // the Lua balancer got the endpoints: three requests, three pods; six requests, two each
      assert.deepEqual(sorted(await whoAnswers(3, () => ctl!.http(HOST, '/rr'))), names([1, 2, 3]));
      assert.deepEqual(count(await whoAnswers(6, () => ctl!.http(HOST, '/rr'))), {
        'side-1': 2,
        'side-2': 2,
        'side-3': 2,
      });
      const answer = await backends(ctl!);
      assert.equal(answer.source, 'nginx');
      assert.deepEqual(sorted(answer.backends[APP]!), sorted(addrs([1, 2, 3])));
    });

    it('an Ingress change: the controller reloads the external nginx (same master, new workers), the new route answers', async function () {
      const before = await ctl!.settle();
      const reloads = before.get(metricKey('reloads_total'))!;
      const oldWorkers = await nginx!.workers();
      assert.ok(oldWorkers.length >= 1, 'nginx has workers');
      assert.match(
        (await ctl!.http(HOST, '/fresh/x')).pod?.pod ?? 'no pod',
        /^side-[123]$/,
        'before the change /fresh goes to the / route',
      );
      appFiles(manifests, true);
      await ctl!.waitForReload(reloads);
      const newHash = confHash(prefix)!;
      assert.notEqual(newHash, hash);
      assert.match(fs.readFileSync(path.join(prefix, 'nginx.conf'), 'utf8'), /location "\/fresh\/" \{/);
      // reloaded, not restarted: the same master, the pid file unchanged, new workers
      assert.equal(nginx!.hasExited, false);
      assert.equal(readPidFile(path.join(prefix, 'nginx.pid')), nginx!.pid);
      assert.equal((await ctl!.status()).nginxPid, nginx!.pid);
      const newWorkers = await ctl!.waitFor(
        async () => {
          const workers = await nginx!.workers();
          return workers.length >= 1 && workers.every((p) => !oldWorkers.includes(p)) ? workers : undefined;
        },
        { what: 'only new workers under the same master' },
      );
      assert.ok(newWorkers.length >= 1);
      const reply = await ctl!.http(HOST, '/fresh/x');
      assert.equal(reply.pod?.pod, 'fresh-1');
      assert.equal(reply.pod?.path, '/fresh/x');
      await ctl!.waitFor(async () => (await healthz(ctl!)).body === `ok ${newHash}\n`, {
        what: `/healthz ok ${newHash}`,
      });
      assert.ok(
        events(ctl!, 'reload').some((e) => e.hash === newHash),
        'the reload is logged with the new hash',
      );
      hash = newHash;
    });

    it('an endpoint change is pushed to the external nginx without a reload', async function () {
      const before = await ctl!.settle();
      const workers = await nginx!.workers();
      appEndpoints(manifests, [2, 3, 4]);
      await ctl!.waitForPush(before.get(metricKey('endpoint_pushes_total'))!);
      await ctl!.waitFor(async () => (await ctl!.http(HOST, '/wait')).pod?.pod === 'side-4', {
        what: 'side-4 answering',
      });
      assert.deepEqual(sorted(await whoAnswers(3, () => ctl!.http(HOST, '/rr'))), names([2, 3, 4]));
      const after = await ctl!.settle();
      assert.equal(after.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')), 'no reload');
      assert.deepEqual(await nginx!.workers(), workers, 'the same workers');
      assert.equal(confHash(prefix), hash, 'nginx.conf unchanged');
      assert.deepEqual(sorted((await backends(ctl!)).backends[APP]!), sorted(addrs([2, 3, 4])));
    });

    it('the test stops its nginx (SIGQUIT): /healthz 503 "nginx is not running"; the controller waits', async function () {
      const stopped = nginx!;
      nginx = undefined;
      await stopped.stopChecked();
      const reply = await ctl!.waitFor(
        async () => {
          const health = await healthz(ctl!);
          return health.status === 503 ? health : undefined;
        },
        { what: '/healthz 503' },
      );
      assert.equal(reply.body, 'nginx is not running\n');
      assert.equal((await ctl!.status()).nginxPid, null);
      assert.ok(events(ctl!, 'external_nginx_down').length >= 1, 'external_nginx_down logged');
      assert.equal(ctl!.hasExited, false);
      assert.equal(await tryConnect('127.0.0.1', ctl!.ports.http), 'ECONNREFUSED');
    });

    it('an endpoint change while it is down, then the test restarts nginx: the endpoints are pushed again, /healthz 200, traffic back', async function () {
      const down = await ctl!.settle();
      const pushes = down.get(metricKey('endpoint_pushes_total'))!;
      const syncs = down.get(metricKey('syncs_total'))!;
      appEndpoints(manifests, [1, 4]);
      await ctl!.waitForSync(syncs);
      const idle = await ctl!.settle();
      assert.equal(idle.get(metricKey('endpoint_pushes_total')), pushes, 'nothing to push to');
      assert.equal((await healthz(ctl!)).status, 503);

      nginx = await TestNginx.start(prefix);
      await ctl!.waitReady();
      const after = await ctl!.metrics();
      assert.ok(after.get(metricKey('endpoint_pushes_total'))! > pushes, 'endpoints pushed to the new nginx');
      assert.ok(after.get(metricKey('nginx_restarts_total'))! >= 1, 'the restart is counted');
      assert.equal((await ctl!.status()).nginxPid, nginx.pid);
      assert.equal((await healthz(ctl!)).body, `ok ${hash}\n`);
      // a new master starts with an empty shared dict: only the push can have told it about side-1 and side-4
      assert.deepEqual(count(await whoAnswers(4, () => ctl!.http(HOST, '/rr'))), { 'side-1': 2, 'side-4': 2 });
      assert.equal((await ctl!.http(HOST, '/fresh/')).pod?.pod, 'fresh-1');
      assert.deepEqual(sorted((await backends(ctl!)).backends[APP]!), sorted(addrs([1, 4])));
    });

    it("an nginx reloaded onto a config that is not the controller's: /healthz 503 naming both hashes", async function () {
      const file = path.join(prefix, 'nginx.conf');
      const ours = fs.readFileSync(file, 'utf8');
      const other = crypto.createHash('sha256').update("someone else's config").digest('hex');
      // the same config under another hash: what an nginx serves at /configuration/hash is all that differs
      writeFileAtomic(file, ours.split(hash).join(other));
      nginx!.signal('SIGHUP');
      const reply = await ctl!.waitFor(
        async () => {
          const health = await healthz(ctl!);
          return health.status === 503 ? health : undefined;
        },
        { what: '/healthz 503' },
      );
      assert.equal(reply.body, `the external nginx runs config ${other.slice(0, 12)}, not ${hash.slice(0, 12)}\n`);
      assert.deepEqual((await ctl!.status()).ready, { ok: false, reason: reply.body.trim() });
      // the controller's own config back in place: ready again
      writeFileAtomic(file, ours);
      nginx!.signal('SIGHUP');
      await ctl!.waitReady();
      assert.equal((await healthz(ctl!)).body, `ok ${hash}\n`);
    });

    // A single status poll mid-reload may reach an old or a new worker; readiness must trust only a
    // confirmed reload or two polls that agree (ExternalNginx.settledHash), and pushes in flight after the
    // first one must not count (src/sync/readiness.ts).
    it('/healthz stays 200 through a reload of the external nginx', async function () {
      await ctl!.waitReady();
      const before = await ctl!.settle();
      const reloads = before.get(metricKey('reloads_total'))!;
      const answers: string[] = [];
      let reloadedAt = 0;
      let stop = false;
      const sampler = (async () => {
        while (!stop) {
          const reply = await healthz(ctl!);
          answers.push(`${reply.status} ${reply.body.trim()}${reloadedAt ? ' (after the reload)' : ''}`);
        }
      })();
      try {
        manifests.write(
          'extra.yaml',
          ingress('extra', { host: 'extra.example.com', paths: [{ path: '/', service: 'fresh-svc' }] }),
        );
        await ctl!.waitForReload(reloads);
        reloadedAt = Date.now();
        await ctl!.waitFor(() => Date.now() - reloadedAt > 1000, { what: '1 s of samples after the reload' });
      } finally {
        stop = true;
        await sampler;
      }
      assert.deepEqual(
        answers.filter((a) => !a.startsWith('200 ')),
        [],
        `${answers.length} answers`,
      );
      hash = confHash(prefix)!;
    });

    // After confirmLive() fails, the sync must apply even though the rendered hash equals applier.live:
    // nginx runs another file, so apply() is forced (src/sync/apply-lane.ts, src/nginx/apply.ts).
    it("an nginx restarted from a config that is not the controller's gets the controller's config back", async function () {
      this.timeout(60_000);
      const file = path.join(prefix, 'nginx.conf');
      const ours = fs.readFileSync(file, 'utf8');
      const other = crypto.createHash('sha256').update('an old config').digest('hex');
      const stopped = nginx!;
      nginx = undefined;
      await stopped.stopChecked();
      await ctl!.waitFor(async () => (await healthz(ctl!)).status === 503, { what: '/healthz 503' });
      writeFileAtomic(file, ours.split(hash).join(other));
      nginx = await TestNginx.start(prefix);
      await ctl!.waitReady(30_000);
      assert.equal(confHash(prefix), hash);
      assert.equal(fs.readFileSync(file, 'utf8'), ours);
      assert.equal((await healthz(ctl!)).body, `ok ${hash}\n`);
    });

    it("SIGTERM: the controller exits 0 and leaves the test's nginx running and serving", async function () {
      const master = nginx!.pid;
      const workers = await nginx!.workers();
      ctl!.child.kill('SIGTERM');
      const exit = await ctl!.waitForExit(15_000);
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(
        events(ctl!, 'stop').some((e) => e.signal === 'SIGTERM' && /external nginx keeps running/.test(String(e.msg))),
        'stop logged',
      );
      assert.equal(nginx!.hasExited, false);
      assert.ok(isAlive(master));
      assert.equal(readPidFile(path.join(prefix, 'nginx.pid')), master);
      assert.deepEqual(await nginx!.workers(), workers, 'the same workers');
      assert.equal(await tryConnect('127.0.0.1', ctl!.ports.status), 'ECONNREFUSED');
      // nginx keeps serving what it was given, endpoints included
      assert.deepEqual(count(await whoAnswers(4, () => ctl!.http(HOST, '/rr'))), { 'side-1': 2, 'side-4': 2 });
      // and the test stops it: a clean quit, nothing left behind
      const stopped = nginx!;
      nginx = undefined;
      await stopped.stopChecked();
      assert.equal(isAlive(master), false);
      assert.deepEqual(workers.filter(isAlive), []);
      const result = await ctl!.stop();
      assert.deepEqual(result.leftovers, []);
    });
  });

  describe('--reload-command', function () {
    let manifests: ManifestDir;
    let prefix: string;
    let marker: string;
    let ctl: RunningController | undefined;
    let nginx: TestNginx | undefined;

    const commandRuns = () =>
      fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0;

    before(async function () {
      this.timeout(30_000);
      manifests = new ManifestDir('sidecar-cmd');
      prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-sidecar-cmd-'));
      marker = path.join(prefix, 'reload-command.log');
      appFiles(manifests, false);
      appEndpoints(manifests, [1, 2, 3]);
      manifests.write('fresh.yaml', backend('fresh-svc', fresh));
      // a command that leaves a trace, then reloads nginx by its pid file
      const command = `echo reload >> '${marker}' && kill -HUP "$(cat '${path.join(prefix, 'nginx.pid')}')"`;
      ctl = await startSidecarController({
        manifests: manifests.dir,
        prefix,
        extraArgs: ['--reload-command', command],
      });
      await ctl.waitFor(() => confHash(prefix), { what: 'nginx.conf written' });
    });

    afterEach(function () {
      dumpLogOnFailure(this, ctl);
    });

    stopSidecarAfter(() => ({ ctl, nginx, manifests, prefix }));

    it('reloads the external nginx through the command: same master, new workers, the new route answers', async function () {
      assert.equal(commandRuns(), 0, 'no nginx yet, nothing to reload');
      nginx = await TestNginx.start(prefix);
      await ctl!.waitReady();
      assert.deepEqual(sorted(await whoAnswers(3, () => ctl!.http(HOST, '/rr'))), names([1, 2, 3]));
      const before = await ctl!.settle();
      const runs = commandRuns();
      const oldWorkers = await nginx.workers();
      appFiles(manifests, true);
      await ctl!.waitForReload(before.get(metricKey('reloads_total'))!);
      assert.equal(commandRuns(), runs + 1, 'the reload command ran once');
      assert.equal(nginx.hasExited, false);
      assert.equal((await ctl!.status()).nginxPid, nginx.pid);
      await ctl!.waitFor(
        async () => {
          const workers = await nginx!.workers();
          return workers.length >= 1 && workers.every((p) => !oldWorkers.includes(p));
        },
        { what: 'only new workers under the same master' },
      );
      assert.equal((await ctl!.http(HOST, '/fresh/y')).pod?.pod, 'fresh-1');
      await ctl!.waitFor(async () => (await healthz(ctl!)).body === `ok ${confHash(prefix)}\n`, {
        what: '/healthz ok with the new hash',
      });
      assert.equal(events(ctl!, 'reload_command_failed').length, 0);
    });
  });
});
