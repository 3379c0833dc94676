// Faults of the controller itself, with real nginx and pods on loopback: killed with SIGKILL and restarted
// beside an nginx that keeps running (sidecar mode), and a full disk under the nginx prefix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dumpLogOnFailure,
  metricKey,
  startController,
  stopAfter,
  type RunningController,
} from '../helpers/controller.js';
import { whoAnswers } from '../helpers/http.js';
import { Load } from '../helpers/load.js';
import { ManifestDir, backend, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';
import { isAlive } from '../helpers/processes.js';
import { TestNginx, startSidecarController } from '../helpers/sidecar.js';
import { sleep } from '../helpers/wait.js';

const HOST = 'ctl.example.com';
const RELOADS = metricKey('reloads_total');

/** Every JSON log record of the controller with this event. */
function events(ctl: RunningController, event: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of ctl.log().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.event === event) out.push(record);
    } catch {
      // the last line, still being written
    }
  }
  return out;
}

/** Files under dir (recursive), relative. */
function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

describe('e2e faults: the controller', function () {
  let pods: Pods; // c-1..c-3

  before(async function () {
    pods = await startPods([
      { name: 'c-1', address: '127.0.8.1' },
      { name: 'c-2', address: '127.0.8.2' },
      { name: 'c-3', address: '127.0.8.3' },
    ]);
  });

  after(async function () {
    await closeAll(pods);
  });

  const specs = (...names: string[]) => pods.specs.filter((s) => names.includes(s.name));

  describe('killed with SIGKILL and restarted while the sidecar nginx keeps running', function () {
    let manifests: ManifestDir;
    let prefix: string;
    let first: RunningController | undefined;
    let second: RunningController | undefined;
    let nginx: TestNginx | undefined;

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('faults-kill');
      prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-faults-kill-'));
      manifests.write('app.yaml', [
        service('app-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
        ingress('app', { host: HOST, paths: [{ path: '/', service: 'app-svc' }] }),
      ]);
      manifests.write(
        'endpoints.yaml',
        endpoints('app-svc', { ready: specs('c-1', 'c-2').map((s) => s.address), port: pods.port }),
      );
      first = await startSidecarController({ manifests: manifests.dir, prefix });
      await first.waitFor(() => fs.existsSync(path.join(prefix, 'nginx.conf')), { what: 'nginx.conf written' });
      nginx = await TestNginx.start(prefix);
      await first.waitReady();
    });

    afterEach(function () {
      dumpLogOnFailure(this, second ?? first);
      if (this.currentTest?.state === 'failed' && nginx)
        process.stderr.write(`--- test nginx output:\n${nginx.log().slice(-2000)}\n---\n`);
    });

    after(async function () {
      this.timeout(60_000);
      try {
        // the test's nginx first: a controller's stop counts what runs on the prefix as its leftovers
        await nginx?.stopChecked();
        await second?.stopChecked();
      } finally {
        await first?.stop();
        manifests?.cleanup();
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    });

    it('nginx serves throughout; the restarted controller adopts it without a reload (same master and workers, reloads_total 0, "adopted" logged), then drives it again', async function () {
      this.timeout(60_000);
      assert.deepEqual([...(await whoAnswers(2, () => first!.http(HOST, '/')))].sort(), ['c-1', 'c-2']);
      await first!.settle();
      const hash = (await first!.status()).configHash!;
      const conf = fs.readFileSync(path.join(prefix, 'nginx.conf'), 'utf8');
      const workers = await nginx!.workers();
      const load = new Load(
        { port: first!.ports.http, host: HOST, path: '/during-restart' },
        { fresh: 2, keepAlive: 2 },
      );
      let stats;
      try {
        await first!.waitFor(() => load.count > 100, { what: 'the load running' });
        first!.child.kill('SIGKILL');
        assert.deepEqual(await first!.waitForExit(10_000), { code: null, signal: 'SIGKILL' });
        // a while with no controller at all
        const count = load.count;
        await sleep(1000);
        assert.ok(load.count > count + 100, 'nginx kept answering without a controller');

        second = await startSidecarController({ manifests: manifests.dir, prefix, ports: first!.ports });
        await second.waitReady();
        await second.waitFor(() => events(second!, 'adopted').length > 0, { what: 'the adopted log record' });
        await sleep(300);
      } finally {
        stats = await load.stop();
      }
      assert.deepEqual(
        stats.failures,
        [],
        `${stats.failures.length} of ${stats.requests} requests failed (${stats.retries} re-sent)`,
      );
      const [adopted] = events(second!, 'adopted');
      assert.equal(adopted!.hash, hash);
      assert.match(String(adopted!.msg), /adopted without a reload/);
      const now = await second!.settle();
      assert.equal(now.get(RELOADS), 0, 'reloads_total 0');
      assert.equal(events(second!, 'reload').length, 0);
      assert.equal(nginx!.hasExited, false);
      assert.equal((await second!.status()).nginxPid, nginx!.pid);
      assert.deepEqual(await nginx!.workers(), workers, 'the same workers: nginx was not reloaded');
      assert.equal(fs.readFileSync(path.join(prefix, 'nginx.conf'), 'utf8'), conf, 'nginx.conf untouched');
      assert.equal((await second!.status()).configHash, hash);
      assert.equal(await second!.healthz(), 200);

      // the new controller is in charge: an endpoint change is pushed (no reload), an Ingress change reloads
      manifests.write(
        'endpoints.yaml',
        endpoints('app-svc', { ready: specs('c-3').map((s) => s.address), port: pods.port }),
      );
      await second!.waitFor(async () => (await second!.http(HOST, '/')).pod?.pod === 'c-3', { what: 'c-3 answering' });
      assert.equal((await second!.settle()).get(RELOADS), 0);
      assert.deepEqual(await nginx!.workers(), workers);
      manifests.write(
        'extra.yaml',
        ingress('extra', { host: 'extra.ctl.example.com', paths: [{ path: '/', service: 'app-svc' }] }),
      );
      await second!.waitForReload(0);
      await second!.waitFor(async () => (await second!.http('extra.ctl.example.com', '/')).pod?.pod === 'c-3', {
        what: 'the new route',
      });
      await second!.waitFor(async () => (await nginx!.workers()).every((p) => !workers.includes(p)), {
        what: 'new workers after the reload',
      });
      await second!.waitFor(() => workers.every((p) => !isAlive(p)), {
        timeoutMs: 15_000,
        what: 'the old workers gone',
      });
    });
  });

  describe('disk full under the nginx prefix (a small tmpfs)', function () {
    let manifests: ManifestDir | undefined;
    let mnt: string | undefined;
    let mounted = false;
    let ctl: RunningController | undefined;
    let prefix: string;
    let filler: string;

    before(async function () {
      this.timeout(60_000);
      if (process.getuid?.() !== 0) {
        process.stdout.write('      (skipped: mounting a tmpfs needs root)\n');
        this.skip();
      }
      mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-faults-tmpfs-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', mnt], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        mounted = true;
      } catch (err) {
        process.stdout.write(
          `      (skipped: cannot mount a tmpfs: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()})\n`,
        );
        this.skip();
      }
      prefix = path.join(mnt, 'prefix');
      filler = path.join(mnt, 'filler');
      fs.mkdirSync(prefix);
      manifests = new ManifestDir('faults-disk');
      manifests.write('base.yaml', [
        ...backend('base-svc', { port: pods.port, specs: specs('c-1') }),
        ingress('base', { host: HOST, paths: [{ path: '/', service: 'base-svc' }] }),
      ]);
      ctl = await startController({ manifests: manifests.dir, prefix });
    });

    stopAfter(
      () => ctl,
      () => {
        manifests?.cleanup();
        if (mounted) execFileSync('umount', [mnt!]);
        if (mnt) fs.rmSync(mnt, { recursive: true, force: true });
      },
    );

    /** Write until the file system says ENOSPC; returns the bytes written. */
    function fill(): number {
      const fd = fs.openSync(filler, 'w');
      let total = 0;
      try {
        for (let chunk = 1 << 20; chunk >= 512; ) {
          try {
            total += fs.writeSync(fd, Buffer.alloc(chunk));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
            chunk >>= 1;
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return total;
    }

    it('an Ingress change while the disk is full: not applied, reported naming the file, the old config intact and serving, nothing half-written left behind', async function () {
      this.timeout(30_000);
      assert.equal((await ctl!.http(HOST, '/')).pod?.pod, 'c-1');
      const before = await ctl!.settle();
      const hash = (await ctl!.status()).configHash;
      const conf = ctl!.nginxConf();
      const files = listFiles(prefix).filter((f) => !f.startsWith('logs/'));
      // a full disk is the filesystem's failure, not nginx's
      const failed = () => ctl!.metric('reload_failures_total', { reason: 'filesystem' });
      const failures = await failed();
      const filled = fill();
      assert.ok(filled > 0);

      manifests!.write(
        'full.yaml',
        ingress('full', { host: 'full.example.com', paths: [{ path: '/', service: 'base-svc' }] }),
      );
      await ctl!.waitFor(async () => (await failed()) > failures, { what: 'a failed apply counted' });
      const status = await ctl!.status();
      assert.match(status.lastError ?? '', /ENOSPC/);
      assert.ok((status.lastError ?? '').includes(prefix), `the error names the file: ${status.lastError}`);
      assert.equal(status.configHash, hash);
      const after = await ctl!.settle();
      assert.equal(after.get(RELOADS), before.get(RELOADS));
      assert.equal(after.get(metricKey('config_last_reload_successful')), 0);
      assert.ok(
        events(ctl!, 'apply_failed').some(
          (e) =>
            /ENOSPC/.test(String(e.msg)) &&
            e.reason === 'filesystem' &&
            String(e.msg).includes(`still serving config ${hash!.slice(0, 12)}`),
        ),
        'apply_failed logged',
      );
      assert.equal(
        after.get(metricKey('reload_failures_total', { reason: 'not_confirmed' })),
        before.get(metricKey('reload_failures_total', { reason: 'not_confirmed' })),
      );
      assert.equal(ctl!.nginxConf(), conf, 'nginx.conf intact');
      assert.deepEqual(
        listFiles(prefix).filter((f) => !f.startsWith('logs/')),
        files,
        'no partial or temporary file left in the prefix',
      );
      assert.equal((await ctl!.http(HOST, '/')).pod?.pod, 'c-1');
      assert.equal((await ctl!.http('full.example.com', '/')).status, 404);
      assert.equal(await ctl!.healthz(), 200, 'nginx runs the confirmed config');
    });

    it('space freed: the next change applies (with the one that failed)', async function () {
      this.timeout(30_000);
      fs.rmSync(filler);
      const reloads = (await ctl!.settle()).get(RELOADS)!;
      manifests!.write(
        'later.yaml',
        ingress('later', { host: 'later.example.com', paths: [{ path: '/', service: 'base-svc' }] }),
      );
      await ctl!.waitForReload(reloads);
      assert.equal((await ctl!.http('later.example.com', '/')).pod?.pod, 'c-1');
      assert.equal((await ctl!.http('full.example.com', '/')).pod?.pod, 'c-1');
      const status = await ctl!.status();
      assert.equal(status.lastError, null);
      assert.equal(await ctl!.metric('config_last_reload_successful'), 1);
      assert.equal(await ctl!.healthz(), 200);
    });
  });
});
