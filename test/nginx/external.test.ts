// An nginx the controller does not run (src/nginx/external.ts, sidecar mode): a real nginx started by the
// test with a pid file, and a loopback server playing nginx's internal port where only that is visible.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from '../../src/log.js';
import { ExternalNginx } from '../../src/nginx/external.js';
import { hashConfig, killGroup } from '../helpers/hash-nginx.js';
import { NGINX, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import { freePort } from '../helpers/ports.js';
import { isAlive, readPidFile } from '../helpers/processes.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('nginx/external', function () {
  this.timeout(20_000);
  let prefix: string;
  let port: number;
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = (level, msg, fields) => {
    lines.push({ level, msg, fields });
  };
  const handles: ExternalNginx[] = [];
  const nginxes: ChildProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    prefix = tempNginxPrefix('itp-external-');
    port = await freePort();
    lines.length = 0;
  });
  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.stop();
    for (const child of nginxes.splice(0)) killGroup(child.pid);
    for (const close of closers.splice(0)) await close();
    fs.rmSync(prefix, { recursive: true, force: true });
  });

  function watch(overrides: Partial<ConstructorParameters<typeof ExternalNginx>[0]> = {}): ExternalNginx {
    const handle = new ExternalNginx({
      pidFile: path.join(prefix, 'nginx.pid'),
      internalPort: port,
      log,
      pollMs: 50,
      ...overrides,
    });
    handles.push(handle);
    return handle;
  }

  /** nginx as the other container would run it: daemon off, its own pid file in the prefix. */
  async function startNginx(hash: string): Promise<ChildProcess> {
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), hashConfig(prefix, port, hash));
    const child = spawn(
      NGINX,
      ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'],
      { stdio: 'ignore', detached: true },
    );
    nginxes.push(child);
    await waitFor(() => readPidFile(path.join(prefix, 'nginx.pid')) === child.pid, {
      timeoutMs: 5000,
      what: 'the pid file',
    });
    return child;
  }

  it('finds nginx by its pid file, reloads it by SIGHUP, notices it go and a new master come', async () => {
    const nginx = watch();
    const started: number[] = [];
    let exits = 0;
    nginx.on('started', (id: number) => started.push(id));
    nginx.on('exited', () => {
      exits++;
    });
    await sleep(120);
    assert.equal(nginx.running, false, 'no nginx yet');
    assert.equal(nginx.reload(), false, 'no master to signal');
    const first = await startNginx('one');
    await waitFor(() => nginx.running && nginx.settledHash === 'one', { timeoutMs: 5000, what: 'hash one settled' });
    assert.equal(nginx.pid, first.pid);
    assert.deepEqual(started, [first.pid]);
    assert.ok(lines.some((l) => l.fields?.event === 'external_nginx_up' && l.fields.pid === first.pid));

    fs.writeFileSync(path.join(prefix, 'nginx.conf'), hashConfig(prefix, port, 'two'));
    assert.equal(nginx.reload(), true);
    await waitFor(() => nginx.settledHash === 'two', { timeoutMs: 5000, what: 'hash two after SIGHUP' });
    assert.equal(nginx.pid, first.pid, 'same master');
    assert.equal(isAlive(first.pid!), true);

    first.kill('SIGQUIT');
    await waitFor(() => !nginx.running, { timeoutMs: 5000, what: 'nginx noticed gone' });
    assert.equal(exits, 1);
    assert.equal(nginx.hash, null);
    const second = await startNginx('two');
    await waitFor(() => nginx.pid === second.pid, { timeoutMs: 5000, what: 'the new master' });
    assert.deepEqual(started, [first.pid, second.pid]);
    assert.equal(nginx.restarts, 1);
    await nginx.stop();
    await sleep(150);
    assert.equal(isAlive(second.pid!), true, 'sidecar mode never stops the nginx it serves');
  });

  describe('with only the internal port visible (no shared process namespace)', () => {
    async function hashServer(state: { body: string }) {
      const server = http.createServer((_req, res) => res.end(state.body));
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      const close = () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        });
      closers.push(close);
      return { server, close };
    }

    it('an answering port is a running nginx with a made-up identity; a hash counts as settled only after two polls agree', async () => {
      const state = { body: 'old' };
      await hashServer(state);
      // polls only when asked (start()), so the test sees each one
      const nginx = watch({ pollMs: 1_000_000, pidFile: path.join(prefix, 'none.pid') });
      await waitFor(() => nginx.hash === 'old', { timeoutMs: 5000, what: 'first poll' });
      assert.equal(nginx.settledHash, null, 'one poll is not settled');
      nginx.start();
      await waitFor(() => nginx.settledHash === 'old', { timeoutMs: 5000, what: 'second poll' });
      assert.equal(nginx.running, true);
      assert.ok(nginx.pid! < 0, `identity ${nginx.pid} is not a pid`);
      assert.equal(nginx.reload(), false, 'no pid to signal and no command');
      state.body = 'new';
      nginx.start();
      await waitFor(() => nginx.hash === 'new', { timeoutMs: 5000, what: 'a poll seeing new' });
      assert.equal(nginx.settledHash, 'old', 'one poll during a reload may reach an old or a new worker');
      nginx.start();
      await waitFor(() => nginx.settledHash === 'new', { timeoutMs: 5000, what: 'the poll after' });
      nginx.noteConfirmed('confirmed');
      assert.equal(nginx.settledHash, 'confirmed');
    });

    it('the port going silent is nginx gone; answering again is a new instance', async () => {
      const first = await hashServer({ body: 'h' });
      const nginx = watch({ pidFile: path.join(prefix, 'none.pid') });
      const ids: number[] = [];
      nginx.on('started', (id: number) => ids.push(id));
      await waitFor(() => nginx.running, { timeoutMs: 5000 });
      await first.close();
      await waitFor(() => !nginx.running, { timeoutMs: 5000, what: 'gone' });
      await hashServer({ body: 'h' });
      await waitFor(() => nginx.running, { timeoutMs: 5000, what: 'back' });
      assert.equal(ids.length, 2);
      assert.notEqual(ids[0], ids[1]);
      assert.equal(nginx.restarts, 1);
    });
  });

  it('a reload command runs through the shell instead of a signal; its failure is logged with its output', async () => {
    const marker = path.join(prefix, 'reloaded');
    const nginx = watch({ reloadCommand: `echo reload >> ${marker}` });
    assert.equal(nginx.reload(), true, 'even with no nginx seen: the command knows how to reach it');
    await waitFor(() => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === 'reload\n', {
      timeoutMs: 5000,
      what: 'the command',
    });
    const failing = watch({ reloadCommand: 'echo cannot reach nginx >&2; exit 3' });
    assert.equal(failing.reload(), true);
    await waitFor(() => lines.find((l) => l.fields?.event === 'reload_command_failed'), {
      timeoutMs: 5000,
      what: 'the failure logged',
    });
    assert.ok(lines.some((l) => l.level === 'error' && l.msg === 'reload command failed (exit 3): cannot reach nginx'));
  });

  it('a pid file naming a dead process, with nothing on the port, is no nginx', async () => {
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    fs.writeFileSync(path.join(prefix, 'nginx.pid'), `${dead.pid}\n`);
    const nginx = watch();
    await sleep(200);
    assert.equal(nginx.running, false);
    assert.equal(nginx.reload(), false);
  });
});
