// Resilience: bad input is rejected and reported while the last good config keeps serving; configs that
// nginx -t refuses are not applied; no-op writes cause no reload; bursts coalesce; ConfigMap volume
// updates are seen; a killed nginx comes back; SIGTERM leaves nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, configMap, deployment, ingress } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';
import { children, isAlive, pgrepCommandLine } from '../helpers/processes.js';
import { sleep } from '../helpers/wait.js';

const BASE = 'base.example.com';
const LONG_HOST = 'a-rather-long-host-name-to-overflow-the-hash-bucket.example.com';
const CONFIG_TEST = metricKey('reload_failures_total', { reason: 'config_test' });

/**
 * A controller on a copy of the bundled templates whose server partial answers locations without a
 * backend with `replacement` instead of "return 503;" (a template bug that shows only for those), and one
 * working route on BASE. Returns the handles a describe block needs; cleanup() removes what it made.
 */
async function brokenTemplateController(label: string, replacement: string, pods: Pods) {
  const manifests = new ManifestDir(label);
  const templates = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-templates-'));
  fs.cpSync(path.join(REPO, 'templates'), templates, { recursive: true });
  const partial = path.join(templates, 'partials', 'server.hbs');
  const text = fs.readFileSync(partial, 'utf8');
  const broken = text.replace('{{else}}\n            return 503;\n', `{{else}}\n            ${replacement}\n`);
  assert.notEqual(broken, text, 'the partial changed');
  fs.writeFileSync(partial, broken);
  manifests.write('base.yaml', [
    ...backend('base-svc', { port: pods.port, specs: [pods.specs[0]!] }),
    ingress('base', { host: BASE, paths: [{ path: '/', service: 'base-svc' }] }),
  ]);
  const ctl = await startController({ manifests: manifests.dir, extraArgs: ['--template-dir', templates] });
  return {
    m: manifests,
    ctl,
    cleanup: () => {
      manifests.cleanup();
      fs.rmSync(templates, { recursive: true, force: true });
    },
  };
}

describe('e2e: resilience', function () {
  let pods: Pods;

  before(async function () {
    pods = await startPods([
      { name: 'base-pod', address: '127.0.0.111' },
      { name: 'new-pod', address: '127.0.0.112' },
    ]);
  });

  after(async function () {
    await closeAll(pods);
  });

  const served = async (ctl: RunningController, host: string, requestPath = '/') => {
    const reply = await ctl.http(host, requestPath);
    return reply.pod ? reply.pod.pod : `status ${reply.status}`;
  };

  describe('bad and no-op input, bursts, volumes, nginx crash (one controller)', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('resilience');
      manifests.write('base.yaml', [
        ...backend('base-svc', { port: pods.port, specs: [pods.specs[0]!] }),
        ingress('base', { host: BASE, paths: [{ path: '/', service: 'base-svc' }] }),
      ]);
      ctl = await startController({ manifests: manifests.dir });
    });

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    it('rejects a new file with invalid YAML, reports it, and keeps the routes answering', async function () {
      const before = await ctl!.settle();
      assert.equal(before.get(metricKey('rejected_manifests')), 0);
      manifests.write('broken.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\n  labels: [unclosed\n');
      const problems = await ctl!.waitFor(
        async () => {
          const status = await ctl!.status();
          return status.problems.some((p) => p.includes('broken.yaml') && p.includes('invalid YAML'))
            ? status.problems
            : undefined;
        },
        { what: 'the YAML error on /status' },
      );
      assert.ok(
        problems.some((p) => p.startsWith('error: broken.yaml:')),
        problems.join('\n'),
      );
      const after = await ctl!.settle();
      assert.equal(after.get(metricKey('rejected_manifests')), 1);
      assert.equal(after.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')), 'nothing to reload');
      assert.equal(await served(ctl!, BASE), 'base-pod');
      assert.equal(await ctl!.healthz(), 200);

      manifests.remove('broken.yaml');
      await ctl!.waitFor(async () => (await ctl!.metric('rejected_manifests')) === 0, {
        what: 'rejected_manifests back to 0',
      });
      assert.deepEqual((await ctl!.status()).problems, []);
    });

    it('rejects an Ingress whose host contains ";", naming file and field; the other routes keep answering', async function () {
      const reloads = (await ctl!.settle()).get(metricKey('reloads_total'));
      manifests.write(
        'evil.yaml',
        ingress('evil', { host: 'evil.example.com;', paths: [{ path: '/', service: 'base-svc' }] }),
      );
      const problems = await ctl!.waitFor(
        async () => {
          const status = await ctl!.status();
          return status.problems.some((p) => p.includes('evil.yaml')) ? status.problems : undefined;
        },
        { what: 'the rejected Ingress on /status' },
      );
      const line = problems.find((p) => p.includes('evil.yaml'))!;
      assert.match(line, /^error: evil\.yaml:\d+ Ingress default\/evil spec\.rules\[0\]\.host: /);
      assert.match(line, /"evil\.example\.com;"/);
      await ctl!.waitFor(async () => (await ctl!.metric('rejected_manifests')) === 1, { what: 'rejected_manifests 1' });
      assert.equal((await ctl!.settle()).get(metricKey('reloads_total')), reloads);
      assert.equal(await served(ctl!, BASE), 'base-pod');
      assert.equal(await served(ctl!, 'evil.example.com'), 'status 404');
      assert.doesNotMatch(fs.readFileSync(path.join(ctl!.prefix, 'nginx.conf'), 'utf8'), /evil/);

      manifests.remove('evil.yaml');
      await ctl!.waitFor(async () => (await ctl!.metric('rejected_manifests')) === 0, {
        what: 'rejected_manifests back to 0',
      });
    });

    it('a file that changes nothing for nginx (a Deployment, the same content again) causes no reload', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      manifests.write('deployment.yaml', deployment('web', 3));
      await ctl!.waitForSync(before.get(metricKey('syncs_total'))!);
      let now = await ctl!.settle();
      assert.equal(now.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));

      // same bytes, new inode and mtime
      manifests.write('base.yaml', manifests.read('base.yaml'));
      await ctl!.waitForSync(now.get(metricKey('syncs_total'))!);
      now = await ctl!.settle();
      assert.equal(now.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));
      assert.equal(now.get(CONFIG_TEST), before.get(CONFIG_TEST));
      assert.equal((await ctl!.status()).configHash, hash);
      assert.equal(await served(ctl!, BASE), 'base-pod');
    });

    it('a burst of 20 Ingress files is applied with at most 2 reloads', async function () {
      const reloads = (await ctl!.settle()).get(metricKey('reloads_total'))!;
      // ~5 ms apart (as a deploy tool writes them): well inside --min-wait 50, so one sync should see all
      for (let i = 1; i <= 20; i++) {
        manifests.write(
          `burst/burst-${i}.yaml`,
          ingress(`burst-${i}`, { host: `burst-${i}.example.com`, paths: [{ path: '/', service: 'base-svc' }] }),
        );
        await sleep(5);
      }
      await ctl!.waitFor(async () => (await served(ctl!, 'burst-20.example.com')) === 'base-pod', {
        what: 'burst-20 routed',
      });
      // the reloads done: no old worker left to take a connection with an earlier config
      const after = (await ctl!.settle()).get(metricKey('reloads_total'))!;
      for (let i = 1; i <= 20; i++)
        assert.equal(await served(ctl!, `burst-${i}.example.com`), 'base-pod', `burst-${i}`);
      assert.ok(after - reloads >= 1 && after - reloads <= 2, `${after - reloads} reloads for the burst`);
    });

    it('picks up a ConfigMap-volume style update (..data symlink swapped atomically with rename)', async function () {
      const vol = manifests.path('volume');
      const routes = (route: string) =>
        [
          'apiVersion: networking.k8s.io/v1',
          'kind: Ingress',
          'metadata:',
          '  name: from-volume',
          'spec:',
          '  rules:',
          '    - host: volume.example.com',
          '      http:',
          '        paths:',
          `          - path: ${route}`,
          '            pathType: Prefix',
          '            backend:',
          '              service:',
          '                name: base-svc',
          '                port:',
          '                  number: 80',
          '',
        ].join('\n');
      const generation = (stamp: string, route: string) => {
        const dir = path.join(vol, `..${stamp}`);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'routes.yaml'), routes(route));
        return path.basename(dir);
      };
      // as the kubelet lays out a ConfigMap volume
      const first = generation('2026_11_27_10_00_00.000000001', '/v1');
      fs.symlinkSync(first, path.join(vol, '..data'));
      fs.symlinkSync(path.join('..data', 'routes.yaml'), path.join(vol, 'routes.yaml'));
      await ctl!.waitFor(async () => (await served(ctl!, 'volume.example.com', '/v1')) === 'base-pod', {
        what: 'the first generation routed',
      });
      assert.equal(await served(ctl!, 'volume.example.com', '/v2'), 'status 404');

      // an update: new generation, a new link renamed over ..data, old generation removed
      const second = generation('2026_11_27_10_05_00.000000002', '/v2');
      fs.symlinkSync(second, path.join(vol, '..data_tmp'));
      fs.renameSync(path.join(vol, '..data_tmp'), path.join(vol, '..data'));
      fs.rmSync(path.join(vol, first), { recursive: true });
      await ctl!.waitFor(async () => (await served(ctl!, 'volume.example.com', '/v2')) === 'base-pod', {
        what: 'the second generation routed',
      });
      await ctl!.waitFor(async () => (await served(ctl!, 'volume.example.com', '/v1')) === 'status 404', {
        what: '/v1 gone',
      });
      assert.deepEqual((await ctl!.status()).problems, []);
    });

    it('restarts nginx killed with SIGKILL: healthz back to 200, traffic back, nginx_restarts_total counted', async function () {
      this.timeout(30_000);
      // idle first, so the restart is the supervisor's own (after its backoff), not a sync's
      const restarts = (await ctl!.settle()).get(metricKey('nginx_restarts_total'))!;
      const master = (await ctl!.status()).nginxPid!;
      assert.ok(master > 1 && isAlive(master));
      const workers = await children(master);
      assert.ok(workers.length >= 1, 'nginx has workers');
      ctl!.track(workers);
      process.kill(master, 'SIGKILL');
      await ctl!.waitFor(async () => (await ctl!.healthz()) === 503, { what: 'healthz 503 while nginx is down' });
      await ctl!.waitFor(async () => (await ctl!.healthz()) === 200, { timeoutMs: 15_000, what: 'healthz 200 again' });
      const status = await ctl!.status();
      assert.ok(status.nginxPid && status.nginxPid !== master, `new master ${status.nginxPid}`);
      assert.equal(await ctl!.metric('nginx_restarts_total'), restarts + 1);
      await ctl!.waitFor(async () => (await served(ctl!, BASE)) === 'base-pod', { what: 'traffic back' });
      // the old workers must not survive their master: they would hold the ports and serve a stale config
      assert.deepEqual(workers.filter(isAlive), []);

      // the new nginx is under control: a change is applied to it
      const reloads = await ctl!.metric('reloads_total');
      manifests.write('after-restart.yaml', [
        ...backend('new-svc', { port: pods.port, specs: [pods.specs[1]!] }),
        ingress('after-restart', { host: 'after.example.com', paths: [{ path: '/', service: 'new-svc' }] }),
      ]);
      await ctl!.waitForReload(reloads);
      await ctl!.waitFor(async () => (await served(ctl!, 'after.example.com')) === 'new-pod', {
        what: 'a route added after the restart',
      });
    });
    it('a change while nginx is down is written for its restart, which serves it without a reload; the restart is counted once', async function () {
      this.timeout(30_000);
      const before = await ctl!.settle();
      const restarts = before.get(metricKey('nginx_restarts_total'))!;
      const master = (await ctl!.status()).nginxPid!;
      ctl!.track(await children(master));
      process.kill(master, 'SIGKILL');
      await ctl!.waitFor(async () => (await ctl!.healthz()) === 503, { what: 'healthz 503 while nginx is down' });
      // the sync finds nginx waiting out its restart backoff (2 s by now: the last nginx died young) and
      // does not cut it short: it tests and writes the config, and the restart reads it
      manifests.write(
        'while-down.yaml',
        ingress('while-down', { host: 'down.example.com', paths: [{ path: '/', service: 'base-svc' }] }),
      );
      await ctl!.waitFor(() => ctl!.log().includes('"event":"waiting_for_restart"'), {
        what: 'the config written for the restart',
      });
      await ctl!.waitFor(async () => (await ctl!.healthz()) === 200, { timeoutMs: 15_000, what: 'healthz 200 again' });
      const pid = (await ctl!.status()).nginxPid;
      assert.ok(pid && pid !== master);
      // the restarted nginx runs the new text: adopted, its endpoints pushed, no reload
      assert.equal(await served(ctl!, 'down.example.com'), 'base-pod');
      assert.equal(await served(ctl!, BASE), 'base-pod');
      assert.match(ctl!.log(), /"event":"adopted"/);
      const now = await ctl!.settle(1500);
      assert.equal(now.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));
      assert.equal(now.get(metricKey('nginx_restarts_total')), restarts + 1);
      assert.equal((await ctl!.status()).nginxPid, pid);
      manifests.remove('while-down.yaml');
    });
  });

  describe('a candidate nginx -t rejects (settings ConfigMap with a small server-name-hash-bucket-size)', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('bucket');
      manifests.write(
        'settings.yaml',
        configMap('settings', 'ingress-templater', { 'server-name-hash-bucket-size': '32' }),
      );
      manifests.write('base.yaml', [
        ...backend('base-svc', { port: pods.port, specs: [pods.specs[0]!] }),
        ingress('base', { host: BASE, paths: [{ path: '/', service: 'base-svc' }] }),
      ]);
      ctl = await startController({
        manifests: manifests.dir,
        extraArgs: ['--configmap', 'ingress-templater/settings'],
      });
    });

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    it('keeps the old config serving, counts reload_failures_total{reason="config_test"} and reports the error', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      assert.equal(before.get(metricKey('config_last_reload_successful')), 1);
      manifests.write('long.yaml', ingress('long', { host: LONG_HOST, paths: [{ path: '/', service: 'base-svc' }] }));
      await ctl!.waitFor(
        async () => (await ctl!.metric('reload_failures_total', { reason: 'config_test' })) > before.get(CONFIG_TEST)!,
        { what: 'a config_test failure' },
      );
      const after = await ctl!.settle();
      assert.equal(after.get(CONFIG_TEST), before.get(CONFIG_TEST)! + 1);
      assert.equal(after.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));
      assert.equal(after.get(metricKey('config_last_reload_successful')), 0);
      assert.equal(
        after.get(metricKey('config_info', { hash: hash! })),
        1,
        'config_info still names the running config',
      );
      const status = await ctl!.status();
      assert.equal(status.configHash, hash);
      assert.match(status.lastError ?? '', /nginx -t rejected the candidate: .*server_names_hash/);
      assert.match(ctl!.log(), /server_names_hash.*still serving config/);
      // nginx still runs the last good config
      assert.equal(await ctl!.healthz(), 200);
      assert.equal(await served(ctl!, BASE), 'base-pod');
      assert.equal(await served(ctl!, LONG_HOST), 'status 404');
    });

    it('applies the change once the setting allows it', async function () {
      const reloads = (await ctl!.settle()).get(metricKey('reloads_total'))!;
      manifests.write(
        'settings.yaml',
        configMap('settings', 'ingress-templater', { 'server-name-hash-bucket-size': '128' }),
      );
      await ctl!.waitForReload(reloads);
      await ctl!.waitFor(async () => (await served(ctl!, LONG_HOST)) === 'base-pod', { what: 'the long host routed' });
      const status = await ctl!.status();
      assert.equal(status.lastError, null);
      assert.equal(await ctl!.metric('config_last_reload_successful'), 1);
      assert.equal(await served(ctl!, BASE), 'base-pod');
    });

    it('needs no reload when the offending change is reverted: the running config is the desired one', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      // 133 characters: more than a 128-byte bucket holds
      const tooLong = `${'a'.repeat(60)}.${'b'.repeat(60)}.example.com`;
      manifests.write('long-2.yaml', ingress('long-2', { host: tooLong, paths: [{ path: '/', service: 'base-svc' }] }));
      await ctl!.waitFor(
        async () => (await ctl!.metric('reload_failures_total', { reason: 'config_test' })) > before.get(CONFIG_TEST)!,
        { what: 'a config_test failure' },
      );
      assert.equal(await served(ctl!, tooLong), 'status 404');
      const syncs = (await ctl!.settle()).get(metricKey('syncs_total'))!;
      manifests.remove('long-2.yaml');
      await ctl!.waitForSync(syncs);
      const after = await ctl!.settle();
      assert.equal(after.get(CONFIG_TEST), before.get(CONFIG_TEST)! + 1, 'the reverted config is not tested again');
      assert.equal(after.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));
      assert.equal((await ctl!.status()).configHash, hash);
      assert.equal(await served(ctl!, LONG_HOST), 'base-pod');
      assert.equal(await served(ctl!, BASE), 'base-pod');
    });
  });

  describe('a template error caught by nginx -t (custom --template-dir)', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;
    let cleanup = () => {};

    before(async function () {
      this.timeout(60_000);
      ({
        m: manifests,
        ctl,
        cleanup,
      } = await brokenTemplateController('template', 'e2e_no_such_directive on;\n            return 503;', pods));
    });

    stopAfter(
      () => ctl,
      () => cleanup(),
    );

    it('reports the error naming the Ingress behind the bad line; the old routes keep answering', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      manifests.write(
        'orphan.yaml',
        ingress('orphan', { host: 'orphan.example.com', paths: [{ path: '/', service: 'no-such-svc' }] }),
      );
      await ctl!.waitFor(
        async () => (await ctl!.metric('reload_failures_total', { reason: 'config_test' })) > before.get(CONFIG_TEST)!,
        { what: 'a config_test failure' },
      );
      const status = await ctl!.status();
      assert.match(
        status.lastError ?? '',
        /^nginx -t rejected the candidate: Ingress default\/orphan, server orphan\.example\.com, line \d+: .*unknown directive "e2e_no_such_directive"/,
      );
      assert.equal(status.configHash, hash);
      const after = await ctl!.settle();
      assert.equal(after.get(metricKey('reloads_total')), before.get(metricKey('reloads_total')));
      assert.equal(await served(ctl!, BASE), 'base-pod');
      assert.equal(await served(ctl!, 'orphan.example.com'), 'status 404');
      assert.equal(await ctl!.healthz(), 200);
    });
  });

  describe('a template that throws while rendering (custom --template-dir)', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;
    let cleanup = () => {};

    before(async function () {
      this.timeout(60_000);
      // a helper refusing its value, only for locations without a backend: rendering throws there
      ({
        m: manifests,
        ctl,
        cleanup,
      } = await brokenTemplateController('template-throw', 'return {{num "not a number"}};', pods));
    });

    stopAfter(
      () => ctl,
      () => cleanup(),
    );

    it('is one sync_failed record with its stack, counted as reason "plan"; the loop goes on and the old routes keep answering', async function () {
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      manifests.write(
        'orphan.yaml',
        ingress('orphan', { host: 'orphan.example.com', paths: [{ path: '/', service: 'no-such-svc' }] }),
      );
      await ctl!.waitFor(
        async () =>
          (await ctl!.metric('reload_failures_total', { reason: 'plan' })) >
          before.get(metricKey('reload_failures_total', { reason: 'plan' }))!,
        { what: 'a plan failure' },
      );
      const record = ctl!
        .log()
        .split('\n')
        .filter((l) => l.includes('"event":"sync_failed"'))
        .map((l) => JSON.parse(l) as Record<string, string>)[0];
      assert.ok(record, ctl!.log());
      assert.equal(record.reason, 'plan');
      assert.match(record.msg!, /rendering failed: refusing to render "not a number" with \{\{num\}\}/);
      assert.match(record.stack!, /TemplateError/);
      const status = await ctl!.status();
      assert.equal(status.configHash, hash);
      assert.equal(await ctl!.healthz(), 200);
      assert.equal(await served(ctl!, BASE), 'base-pod');
      // the loop is alive: the next change is planned and applied
      manifests.remove('orphan.yaml');
      const reloads = (await ctl!.settle()).get(metricKey('reloads_total'))!;
      manifests.write('later.yaml', [
        ...backend('later-svc', { port: pods.port, specs: [pods.specs[0]!] }),
        ingress('later', { host: 'later.example.com', paths: [{ path: '/', service: 'later-svc' }] }),
      ]);
      await ctl!.waitForReload(reloads);
      assert.equal(await served(ctl!, 'later.example.com'), 'base-pod');
    });
  });

  describe('/healthz before the first config is applied', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    it('is 503 while nginx -t rejects every config, and 200 once a good one is applied', async function () {
      manifests = new ManifestDir('unready');
      manifests.write(
        'settings.yaml',
        configMap('settings', 'ingress-templater', { 'server-name-hash-bucket-size': '32' }),
      );
      manifests.write('base.yaml', [
        ...backend('base-svc', { port: pods.port, specs: [pods.specs[0]!] }),
        ingress('base', { host: BASE, paths: [{ path: '/', service: 'base-svc' }] }),
      ]);
      manifests.write('long.yaml', ingress('long', { host: LONG_HOST, paths: [{ path: '/', service: 'base-svc' }] }));
      ctl = await startController({
        manifests: manifests.dir,
        extraArgs: ['--configmap', 'ingress-templater/settings'],
        waitReady: false,
      });
      await ctl.waitFor(async () => (await ctl!.metric('reload_failures_total', { reason: 'config_test' })) >= 1, {
        what: 'the first config rejected',
      });
      assert.equal(await ctl.healthz(), 503);
      const status = await ctl.status();
      assert.equal(status.ready.ok, false);
      assert.match(status.ready.reason, /no configuration applied/);
      assert.equal(status.nginxPid, null);
      assert.match(status.lastError ?? '', /server_names_hash/);
      assert.equal(await ctl.metric('reloads_total'), 0);
      assert.equal((await ctl.metrics()).has(metricKey('config_info', {})), false);
      await assert.rejects(ctl.http(BASE, '/'), /ECONNREFUSED/, 'nginx is not listening');

      manifests.remove('long.yaml');
      await ctl.waitReady();
      assert.equal(await served(ctl, BASE), 'base-pod');
      assert.equal(await ctl.metric('reloads_total'), 1);
    });
  });

  describe('SIGTERM', function () {
    let manifests: ManifestDir | undefined;
    let ctl: RunningController | undefined;

    after(async function () {
      this.timeout(30_000);
      try {
        await ctl?.stop();
      } finally {
        manifests?.cleanup();
      }
    });

    it('makes the controller exit 0 and stop nginx: no master, no worker, no pid file left', async function () {
      manifests = new ManifestDir('sigterm');
      manifests.write('base.yaml', [
        ...backend('base-svc', { port: pods.port, specs: [pods.specs[0]!] }),
        ingress('base', { host: BASE, paths: [{ path: '/', service: 'base-svc' }] }),
      ]);
      ctl = await startController({ manifests: manifests.dir });
      assert.equal(await served(ctl, BASE), 'base-pod');
      const master = (await ctl.status()).nginxPid!;
      const workers = await children(master);
      assert.ok(workers.length >= 1);
      const pidFile = path.join(ctl.prefix, 'nginx.pid');
      assert.equal(Number(fs.readFileSync(pidFile, 'utf8').trim()), master);

      ctl.child.kill('SIGTERM');
      const exit = await ctl.exited;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.match(ctl.log(), /SIGTERM: stopping nginx gracefully/);
      assert.deepEqual([master, ...workers].filter(isAlive), [], 'nginx processes left');
      assert.deepEqual(await pgrepCommandLine(ctl.prefix), []);
      assert.equal(fs.existsSync(pidFile), false, 'nginx removed its pid file');
      await assert.rejects(ctl.http(BASE, '/'), /ECONNREFUSED/);
      const result = await ctl.stop();
      assert.deepEqual(result.leftovers, []);
    });
  });
});
