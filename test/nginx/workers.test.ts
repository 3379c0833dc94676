import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { childPids, waitMasterUp, waitRetired } from '../../src/nginx/workers.js';
import { NGINX, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import { freePort, holdPort } from '../helpers/ports.js';
import { sleep } from '../helpers/wait.js';

/** An nginx master (daemon off) on 127.0.0.1:port, and a promise of how it ended. */
function startNginx(prefix: string, port: number): { child: ChildProcess; ended: Promise<string> } {
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `pid ${prefix}/nginx.pid;\nerror_log ${prefix}/logs/error.log;\nevents {}\n` +
      `http { access_log off; server { listen 127.0.0.1:${port}; return 204; } }\n`,
  );
  const child = spawn(NGINX, ['-p', prefix, '-c', conf, '-g', 'daemon off; master_process on;'], {
    stdio: 'ignore',
    detached: true,
  });
  const ended = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
  );
  return { child, ended };
}

describe('nginx/workers', () => {
  it('lists the children of a process and waits for them to go', async () => {
    const parent = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let kids: number[] = [];
      for (let i = 0; i < 100 && kids.length < 2; i++) {
        kids = await childPids(parent.pid);
        if (kids.length < 2) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(kids.length, 2);
      assert.equal(await waitRetired(kids, 50), false, 'live children that are not shutting down');
      for (const pid of kids) process.kill(pid, 'SIGKILL');
      assert.equal(await waitRetired(kids, 2000), true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('returns no children for no master', async () => {
    assert.deepEqual(await childPids(undefined), []);
    assert.deepEqual(await childPids(1), []);
  });

  describe('waitMasterUp, with a real nginx whose port is taken while it starts', function () {
    this.timeout(20_000);
    const started: ChildProcess[] = [];
    const prefixes: string[] = [];
    const holders: net.Server[] = [];

    afterEach(async function () {
      for (const child of started.splice(0))
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      for (const holder of holders.splice(0)) await new Promise((r) => holder.close(r));
      for (const prefix of prefixes.splice(0)) fs.rmSync(prefix, { recursive: true, force: true });
    });

    async function blockedNginx() {
      const port = await freePort();
      holders.push(await holdPort(port)); // nginx keeps retrying its bind (5 tries, 0.5 s apart)
      const prefix = tempNginxPrefix('it-workers-');
      prefixes.push(prefix);
      const nginx = startNginx(prefix, port);
      started.push(nginx.child);
      return nginx;
    }

    it('why it exists: a SIGHUP to a master that is still binding its ports ends it', async function () {
      const { child, ended } = await blockedNginx();
      await sleep(200); // well inside the ~2.5 s of bind retries
      child.kill('SIGHUP');
      assert.equal(await ended, 'SIGHUP');
    });

    it('returns only once the master has workers; a SIGHUP then reloads it', async function () {
      const { child, ended } = await blockedNginx();
      const alive = () => child.exitCode === null && child.signalCode === null;
      const t0 = Date.now();
      assert.deepEqual(await waitMasterUp(child.pid, 400, alive), [], 'no workers while the port is taken');
      assert.ok(Date.now() - t0 >= 400, 'waited out its timeout');
      assert.ok(alive(), 'nginx still retrying its bind');
      await new Promise((r) => holders.pop()!.close(r));
      const workers = await waitMasterUp(child.pid, 5000, alive);
      assert.ok(workers.length >= 1, 'workers once the port is free');
      child.kill('SIGHUP');
      // the old worker retires, a new one comes, the master stays
      assert.equal(await waitRetired(workers, 5000), true);
      let fresh: number[] = [];
      for (let i = 0; i < 100 && fresh.length === 0; i++) {
        fresh = (await childPids(child.pid)).filter((w) => !workers.includes(w));
        if (fresh.length === 0) await sleep(20);
      }
      assert.ok(fresh.length >= 1, `a new worker after ${workers}`);
      assert.ok(alive(), `nginx ended: ${await Promise.race([ended, sleep(0).then(() => 'running')])}`);
    });

    it('returns [] at once when the master dies', async function () {
      const { child } = await blockedNginx();
      const alive = () => child.exitCode === null && child.signalCode === null;
      const waiting = waitMasterUp(child.pid, 10_000, alive);
      child.kill('SIGKILL');
      const t0 = Date.now();
      assert.deepEqual(await waiting, []);
      assert.ok(Date.now() - t0 < 2000);
    });
  });
});
