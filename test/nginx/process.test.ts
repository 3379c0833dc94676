// The nginx supervisor (src/nginx/process.ts) running a real nginx on a loopback port: start, reload,
// unexpected exit and restart with backoff, graceful stop, and reaping an nginx left by a killed controller.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../src/log.js';
import { probeBinary, type NginxBinary } from '../../src/nginx/binary.js';
import { fetchHash, waitForHash } from '../../src/nginx/confirm.js';
import { NginxProcess, reapStale } from '../../src/nginx/process.js';
import { childPids } from '../../src/nginx/workers.js';
import { hashConfig, killGroup, nginxOnPrefix } from '../helpers/hash-nginx.js';
import { NGINX, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import { freePort } from '../helpers/ports.js';
import { isAlive } from '../helpers/processes.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('nginx/process', function () {
  this.timeout(20_000);
  let bin: NginxBinary;
  let prefix: string;
  let conf: string;
  let port: number;
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = (level, msg, fields) => {
    lines.push({ level, msg, fields });
  };
  const procs: NginxProcess[] = [];
  const pids: number[] = [];

  before(async () => {
    bin = await probeBinary(NGINX);
  });
  beforeEach(async () => {
    prefix = tempNginxPrefix('itp-process-');
    conf = path.join(prefix, 'nginx.conf');
    port = await freePort();
    lines.length = 0;
  });
  afterEach(async () => {
    for (const nginx of procs.splice(0)) await nginx.stop(2000);
    for (const pid of pids.splice(0)) killGroup(pid);
    assert.equal(nginxOnPrefix(prefix), false, 'every nginx on the prefix is gone');
    fs.rmSync(prefix, { recursive: true, force: true });
  });

  function supervise(overrides: Partial<ConstructorParameters<typeof NginxProcess>[0]> = {}): NginxProcess {
    const nginx = new NginxProcess({ bin, prefix, conf, log, ...overrides });
    nginx.on('started', (pid: number) => pids.push(pid));
    procs.push(nginx);
    return nginx;
  }

  it('starts nginx, reloads it by SIGHUP on the same master, forwards its log, and stops it gracefully', async () => {
    fs.writeFileSync(conf, hashConfig(prefix, port, 'one'));
    const nginx = supervise();
    const exited: unknown[] = [];
    nginx.on('exited', (...a) => exited.push(a));
    assert.equal(nginx.reload(), false, 'nothing to reload yet');
    nginx.start();
    assert.equal(nginx.running, true);
    const pid = nginx.pid!;
    assert.deepEqual(pids, [pid]);
    assert.equal(await waitForHash(port, 'one', 5000), true);
    nginx.start(); // a second start while running is nothing
    assert.equal(nginx.pid, pid);
    fs.writeFileSync(conf, hashConfig(prefix, port, 'two'));
    assert.equal(nginx.reload(), true);
    assert.equal(await waitForHash(port, 'two', 5000), true);
    assert.equal(nginx.pid, pid, 'same master');
    await waitFor(
      () => lines.some((l) => /nginx: .*signal 1 \(SIGHUP\) received/.test(l.msg) && l.fields?.source === 'nginx'),
      { timeoutMs: 5000, what: 'the SIGHUP notice' },
    );
    const workers = await childPids(pid);
    await nginx.stop();
    assert.equal(nginx.running, false);
    assert.equal(isAlive(pid), false);
    for (const worker of workers) assert.equal(isAlive(worker), false, `worker ${worker}`);
    assert.equal(await fetchHash(port), null);
    assert.deepEqual(exited, [], 'a stop is not an unexpected exit');
    nginx.start();
    assert.equal(nginx.running, false, 'no start after stop');
  });

  it("restarts nginx that died, after a backoff that doubles up to its maximum, and ends the dead master's workers", async () => {
    fs.writeFileSync(conf, hashConfig(prefix, port, 'h'));
    const nginx = supervise({ minBackoffMs: 200, maxBackoffMs: 400 });
    const events: { what: string; at: number; pid?: number }[] = [];
    nginx.on('started', (pid: number) => events.push({ what: 'started', at: Date.now(), pid }));
    nginx.on('exited', () => events.push({ what: 'exited', at: Date.now() }));
    nginx.start();
    const restartAfterKill = async (kills: number) => {
      assert.equal(await waitForHash(port, 'h', 5000), true);
      const pid = nginx.pid!;
      const workers = await childPids(pid);
      assert.ok(workers.length >= 1);
      process.kill(pid, 'SIGKILL'); // the master only: its workers are orphaned, holding the port
      await waitFor(() => events.filter((e) => e.what === 'started').length === kills + 1, {
        timeoutMs: 5000,
        what: `restart ${kills}`,
      });
      await waitFor(() => workers.every((w) => !isAlive(w)), {
        timeoutMs: 2000,
        what: `orphaned workers ${workers} to end`,
      });
      const exited = events.filter((e) => e.what === 'exited')[kills - 1]!;
      const started = events.filter((e) => e.what === 'started')[kills]!;
      assert.notEqual(started.pid, pid);
      return started.at - exited.at;
    };
    const first = await restartAfterKill(1);
    const second = await restartAfterKill(2);
    const third = await restartAfterKill(3);
    assert.ok(first >= 190 && first < 350, `first restart after ${first} ms (200)`);
    assert.ok(second >= 390 && second < 600, `second after ${second} ms (400)`);
    assert.ok(third >= 390 && third < 600, `third after ${third} ms (capped at 400)`);
    assert.equal(nginx.restarts, 3);
    assert.equal(await waitForHash(port, 'h', 5000), true, 'serving again');
    assert.ok(
      lines.some((l) => l.level === 'error' && l.fields?.event === 'nginx_exited' && /signal SIGKILL/.test(l.msg)),
    );
  });

  it('a start during the backoff waits for it; a stop during the backoff cancels the restart', async () => {
    fs.writeFileSync(conf, hashConfig(prefix, port, 'h'));
    const nginx = supervise({ minBackoffMs: 300 });
    nginx.start();
    assert.equal(await waitForHash(port, 'h', 5000), true);
    const exited = new Promise((r) => nginx.once('exited', r));
    process.kill(nginx.pid!, 'SIGKILL');
    await exited;
    nginx.start();
    assert.equal(nginx.running, false, 'the start was left to the pending restart');
    await sleep(100);
    assert.equal(nginx.running, false);
    await nginx.stop();
    await sleep(400);
    assert.equal(nginx.running, false, 'no restart after stop');
    assert.equal(nginx.restarts, 0);
  });

  it('stop escalates to SIGTERM when nginx does not quit gracefully in time', async () => {
    // a worker busy with a slow upstream keeps a graceful quit waiting
    const slow = await freePort();
    const hold = (await import('node:net')).createServer(() => undefined);
    await new Promise<void>((r) => hold.listen(slow, '127.0.0.1', r));
    try {
      fs.writeFileSync(
        conf,
        hashConfig(prefix, port, 'h', `location / { proxy_pass http://127.0.0.1:${slow}; proxy_read_timeout 60s; }`),
      );
      const nginx = supervise();
      nginx.start();
      assert.equal(await waitForHash(port, 'h', 5000), true);
      const req = (await import('node:http')).get({ host: '127.0.0.1', port, path: '/', agent: false });
      req.on('error', () => undefined);
      await sleep(200);
      const t0 = Date.now();
      await nginx.stop(300);
      const took = Date.now() - t0;
      assert.ok(took >= 300 && took < 3000, `stopped after ${took} ms`);
      assert.ok(lines.some((l) => l.level === 'warn' && /did not quit within 300 ms/.test(l.msg)));
      req.destroy();
    } finally {
      hold.close();
    }
  });

  describe('reapStale', () => {
    it('stops an nginx left running on this prefix, found by its pid file', async () => {
      fs.writeFileSync(conf, hashConfig(prefix, port, 'left'));
      const child = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'], {
        stdio: 'ignore',
        detached: true,
      });
      pids.push(child.pid!);
      assert.equal(await waitForHash(port, 'left', 5000), true);
      await reapStale(prefix, log);
      assert.equal(isAlive(child.pid!), false);
      assert.ok(lines.some((l) => l.level === 'warn' && l.msg.includes(`pid ${child.pid}`)));
    });

    it('leaves alone a pid file naming a process that is not nginx on this prefix, and no pid file at all', async () => {
      await reapStale(prefix, log); // none
      const other = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
      pids.push(other.pid!);
      fs.writeFileSync(path.join(prefix, 'nginx.pid'), `${other.pid}\n`);
      await reapStale(prefix, log);
      assert.equal(isAlive(other.pid!), true);
      fs.writeFileSync(path.join(prefix, 'nginx.pid'), 'garbage');
      await reapStale(prefix, log);
      assert.deepEqual(lines, []);
    });
  });
});
