// The applier (src/nginx/apply.ts) over a real nginx supervised by NginxProcess on a loopback port:
// nginx -t, swap, reload, proof by hash, rollback of the file, adoption, and the cleanup that follows.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigTestError, NginxError } from '../../src/errors.js';
import type { Certificate, ManagedFile } from '../../src/model/index.js';
import { Applier } from '../../src/nginx/apply.js';
import { probeBinary, type NginxBinary } from '../../src/nginx/binary.js';
import { fetchHash } from '../../src/nginx/confirm.js';
import { preparePrefix } from '../../src/nginx/files.js';
import { NginxProcess, type NginxHandle } from '../../src/nginx/process.js';
import { childPids } from '../../src/nginx/workers.js';
import { certificateFile, filesDir } from '../../src/render/index.js';
import { hashConfig, killGroup, nginxOnPrefix } from '../helpers/hash-nginx.js';
import { NGINX, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import { freePort } from '../helpers/ports.js';
import { isAlive } from '../helpers/processes.js';

function cert(name: string, pem: string): Certificate {
  return { name, pem, hash: crypto.createHash('sha256').update(pem).digest('hex'), notAfter: '2030-01-01T00:00:00Z' };
}
const managed = (name: string): ManagedFile => ({ name, content: `${name}\n`, mode: 0o600 });

/** An nginx that is never up (an external one not started yet): start() does nothing. */
class AbsentNginx extends EventEmitter implements NginxHandle {
  readonly running = false;
  readonly pid = undefined;
  restarts = 0;
  starts = 0;
  readonly startedOnRequest = false;
  readonly settledHash = null;
  readonly whileDown = { event: 'waiting_for_nginx', waiting: 'waiting', applied: true };
  start(): void {
    this.starts++;
  }
  reload(): boolean {
    return false;
  }
  noteConfirmed(): void {}
  async stop(): Promise<void> {}
  terminate(): void {}
}

describe('nginx/apply', function () {
  this.timeout(20_000);
  let bin: NginxBinary;
  let prefix: string;
  let port: number;
  let proc: NginxProcess | undefined;
  const pids: number[] = [];

  before(async () => {
    bin = await probeBinary(NGINX);
  });
  beforeEach(async () => {
    prefix = tempNginxPrefix('itp-apply-');
    await preparePrefix(prefix);
    port = await freePort();
  });
  afterEach(async () => {
    await proc?.stop(2000);
    proc = undefined;
    for (const pid of pids.splice(0)) killGroup(pid);
    assert.equal(nginxOnPrefix(prefix), false, 'every nginx on the prefix is gone');
    fs.rmSync(prefix, { recursive: true, force: true });
  });

  function supervised(): NginxProcess {
    proc = new NginxProcess({
      bin,
      prefix,
      conf: path.join(prefix, 'nginx.conf'),
      log: () => undefined,
      minBackoffMs: 100,
    });
    proc.on('started', (pid: number) => pids.push(pid));
    return proc;
  }
  const conf = (hash: string, extra = '') => hashConfig(prefix, port, hash, extra);
  const ssl = () => fs.readdirSync(path.join(prefix, 'ssl')).sort();

  it('starts nginx on the first config, skips an unchanged one, reloads the same master onto a new one and only then removes stale files', async () => {
    const nginx = supervised();
    const applier = new Applier({ bin, prefix, internalPort: port, process: nginx });
    const certA = cert('default_a', 'PEM-A');
    assert.equal(await applier.apply(conf('h1'), 'h1', [certA], [managed('f1')]), 'started');
    assert.equal(await fetchHash(port), 'h1');
    assert.deepEqual(applier.live, { text: conf('h1'), hash: 'h1' });
    assert.equal(fs.readFileSync(applier.confPath, 'utf8'), conf('h1'));
    assert.equal(fs.existsSync(`${applier.confPath}.candidate`), false, 'the candidate is removed after nginx -t');
    assert.ok(applier.lastTestSeconds! > 0 && applier.lastReloadSeconds! > 0);
    const master = nginx.pid!;

    assert.equal(await applier.apply(conf('h1'), 'h1', [certA], [managed('f1')]), 'unchanged');

    const oldWorkers = await childPids(master);
    const certB = cert('default_b', 'PEM-B');
    assert.equal(await applier.apply(conf('h2'), 'h2', [certB], [managed('f2')]), 'reloaded');
    assert.equal(nginx.pid, master, 'a reload, not a restart');
    assert.equal(await fetchHash(port), 'h2');
    for (const worker of oldWorkers) {
      let cmdline = '';
      try {
        if (isAlive(worker)) cmdline = fs.readFileSync(`/proc/${worker}/cmdline`, 'utf8');
      } catch {
        /* gone meanwhile */
      }
      assert.ok(cmdline === '' || cmdline.includes('shutting down'), `old worker ${worker} retired: ${cmdline}`);
    }
    assert.deepEqual(
      ssl(),
      [path.basename(certificateFile(prefix, certB))],
      'the old certificate goes once the new config is live',
    );
    assert.deepEqual(fs.readdirSync(filesDir(prefix)), ['f2']);
    assert.deepEqual(applier.live, { text: conf('h2'), hash: 'h2' });
  });

  it('a config nginx -t refuses: ConfigTestError, the live file and nginx untouched, old files kept', async () => {
    const nginx = supervised();
    const applier = new Applier({ bin, prefix, internalPort: port, process: nginx });
    const certA = cert('default_a', 'PEM-A');
    await applier.apply(conf('h1'), 'h1', [certA], [managed('f1')]);
    const master = nginx.pid!;
    const bad = conf('h2', 'no_such_directive on;');
    await assert.rejects(
      applier.apply(bad, 'h2', [cert('default_b', 'PEM-B')], [managed('f2')]),
      (e: Error) => e instanceof ConfigTestError && /unknown directive "no_such_directive"/.test(e.message),
    );
    assert.equal(fs.readFileSync(applier.confPath, 'utf8'), conf('h1'));
    assert.equal(fs.existsSync(`${applier.confPath}.candidate`), false);
    assert.equal(await fetchHash(port), 'h1');
    assert.equal(nginx.pid, master);
    assert.equal(applier.live?.hash, 'h1');
    assert.ok(ssl().includes(path.basename(certificateFile(prefix, certA))), "the live config's certificate is kept");
    assert.ok(fs.readdirSync(filesDir(prefix)).includes('f1'));
    // the next good config still goes through
    assert.equal(await applier.apply(conf('h3'), 'h3', [certA]), 'reloaded');
    assert.equal(await fetchHash(port), 'h3');
  });

  it('a reload nginx does not confirm: NginxError naming the hash, the previous file put back for a restart', async () => {
    const nginx = supervised();
    const applier = new Applier({ bin, prefix, internalPort: port, process: nginx, confirmTimeoutMs: 500 });
    await applier.apply(conf('h1'), 'h1', []);
    // valid for nginx -t, but it will never report the hash the controller expects
    const lying = conf('something-else');
    await assert.rejects(
      applier.apply(lying, 'h2aaaaaaaaaaaaaaaa', []),
      (e: Error) =>
        e instanceof NginxError && e.message.startsWith('nginx did not confirm config h2aaaaaaaaaa within the timeout'),
    );
    assert.equal(fs.readFileSync(applier.confPath, 'utf8'), conf('h1'), 'what was live is on disk again');
    assert.equal(applier.live?.hash, 'h1');
  });

  it('adopts an nginx already running this very config without a reload; force re-checks it', async () => {
    const nginx = supervised();
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), conf('h1'));
    nginx.start(); // a restarted controller finding its nginx up (ours restarted from the last file written)
    const master = nginx.pid!;
    const applier = new Applier({ bin, prefix, internalPort: port, process: nginx });
    assert.equal(await applier.apply(conf('h1'), 'h1', []), 'adopted');
    const workers = await childPids(master);
    assert.equal(await applier.apply(conf('h1'), 'h1', [], [], true), 'adopted');
    assert.deepEqual(await childPids(master), workers, 'no reload: the same workers');
    assert.equal(await applier.confirmLive(2000), true);
    // running something else: not adopted, reloaded onto the text asked for
    const other = new Applier({ bin, prefix, internalPort: port, process: nginx });
    assert.equal(await other.apply(conf('h2'), 'h2', []), 'reloaded');
    assert.equal(await fetchHash(port), 'h2');
    assert.equal(await applier.confirmLive(300), false, 'the first applier no longer runs what it thinks is live');
  });

  it('an nginx not up yet: the config is written and left pending for it to read when it starts', async () => {
    const absent = new AbsentNginx();
    const applier = new Applier({ bin, prefix, internalPort: port, process: absent });
    assert.equal(await applier.confirmLive(100), false, 'nothing live');
    assert.equal(await applier.apply(conf('h1'), 'h1', []), 'pending');
    assert.equal(absent.starts, 1);
    assert.equal(fs.readFileSync(applier.confPath, 'utf8'), conf('h1'));
    assert.equal(applier.live, null, 'nothing confirmed');
    assert.equal(await applier.apply(conf('h1'), 'h1', []), 'unchanged', 'still waiting for it');
    assert.equal(absent.starts, 1);
    assert.equal(await applier.apply(conf('h2'), 'h2', []), 'pending');
    assert.equal(fs.readFileSync(applier.confPath, 'utf8'), conf('h2'));
  });
});
