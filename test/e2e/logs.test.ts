// The controller's log on stderr: JSON lines (--log-format json, and the default when stderr is not a
// terminal, as for any child process) with time, level, msg and fields naming what a record concerns;
// each event logged when it happens, a rejected manifest once when it appears (not on every sync);
// --log-format text for people.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { runCli } from '../helpers/cli.js';
import {
  metricKey,
  startController,
  stopAfter,
  type RunningController,
  type StartOptions,
} from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';
import { freePort } from '../helpers/ports.js';

const HOST = 'logs.example.com';
const LONG_HOST = 'a-rather-long-host-name-to-overflow-the-hash-bucket.example.com';
const BAD_HOST = 'bad.example.com;';
const LEVELS = ['info', 'warn', 'error'];

interface Record_ {
  time: string;
  level: string;
  msg: string;
  event?: string;
  [k: string]: unknown;
}

/** A controller with its stderr and stdout kept apart (RunningController.log() has both). */
interface Logged {
  ctl: RunningController;
  stderr: () => string;
  stdout: () => string;
}

async function startLogged(o: StartOptions): Promise<Logged> {
  const ctl = await startController({ ...o, waitReady: false });
  // attached before the event loop runs again: no output can have been read yet
  let stderr = '';
  let stdout = '';
  ctl.child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  ctl.child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  try {
    await ctl.waitReady();
  } catch (e) {
    await ctl.stop();
    throw e;
  }
  return { ctl, stderr: () => stderr, stdout: () => stdout };
}

/** Complete lines only: the last one may still be being written. */
function lines(text: string): string[] {
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l !== '');
}

/** Every stderr line parsed, failing on any line that is not a JSON log record. */
function records(l: Logged): Record_[] {
  const all = lines(l.stderr());
  assert.ok(all.length > 0, 'the controller logged something');
  return all.map((line) => {
    let r: Record_;
    try {
      r = JSON.parse(line) as Record_;
    } catch {
      assert.fail(`a stderr line that is not JSON: ${line}`);
    }
    assert.equal(typeof r, 'object', line);
    assert.ok(r !== null && !Array.isArray(r), line);
    assert.equal(typeof r.time, 'string', `time in ${line}`);
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(Math.abs(Date.parse(r.time) - Date.now()) < 10 * 60_000, `a current time in ${line}`);
    assert.ok(LEVELS.includes(r.level), `level in ${line}`);
    assert.equal(typeof r.msg, 'string', `msg in ${line}`);
    assert.ok(r.msg.length > 0, line);
    return r;
  });
}

const ofEvent = (l: Logged, event: string) => records(l).filter((r) => r.event === event);

describe('e2e: logs', function () {
  let pods: Pods;
  const app = (m: ManifestDir, paths: string[] = ['/']) =>
    m.write('app.yaml', [
      service('app-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
      ingress('app', { host: HOST, paths: paths.map((p) => ({ path: p, service: 'app-svc' })) }),
    ]);
  const appEndpoints = (m: ManifestDir, n: number) =>
    m.write(
      'app-endpoints.yaml',
      endpoints('app-svc', { ready: pods.specs.slice(0, n).map((s) => s.address), port: pods.port }),
    );
  const bad = (m: ManifestDir, host = BAD_HOST) =>
    m.write('bad.yaml', ingress('bad', { host, paths: [{ path: '/', service: 'app-svc' }] }));

  before(async function () {
    pods = await startPods(podSpecs('logs', '127.0.7.', 2));
  });

  after(async function () {
    await closeAll(pods);
  });

  describe('--log-format json', function () {
    let m: ManifestDir;
    let l: Logged | undefined;

    before(async function () {
      this.timeout(30_000);
      m = new ManifestDir('logs-json');
      app(m);
      appEndpoints(m, 2);
      bad(m);
      // a small server-name hash bucket: fine for short hosts, nginx -t refuses LONG_HOST
      m.write('settings.yaml', configMap('settings', 'ingress-templater', { 'server-name-hash-bucket-size': '32' }));
      l = await startLogged({
        manifests: m.dir,
        extraArgs: ['--log-format', 'json', '--configmap', 'ingress-templater/settings'],
      });
    });

    stopAfter(
      () => l?.ctl,
      () => m?.cleanup(),
    );

    it('every stderr line is a JSON object with time, level and msg; the start names the balancer', async function () {
      const all = records(l!);
      const [start] = all.filter((r) => r.event === 'start');
      assert.ok(start, 'a start record');
      assert.equal(start.level, 'info');
      assert.equal(start.balancer, 'lua');
      assert.equal(start.manifests, m.dir);
      assert.match(start.msg, /lua balancer/);
      assert.equal(l!.stdout(), '', 'nothing on stdout');
    });

    it('the nginx start is logged once, with event "nginx_started" and the config hash', async function () {
      const hash = (await l!.ctl.status()).configHash!;
      assert.match(hash, /^[0-9a-f]{64}$/);
      const started = ofEvent(l!, 'nginx_started');
      assert.equal(started.length, 1, JSON.stringify(started));
      assert.equal(started[0]!.hash, hash);
      assert.equal(started[0]!.level, 'info');
      assert.ok(started[0]!.msg.includes(hash.slice(0, 12)), started[0]!.msg);
      assert.equal(typeof started[0]!.servers, 'number');
      assert.equal(typeof started[0]!.backends, 'number');
      assert.equal(ofEvent(l!, 'reload').length, 0, 'no reload yet');
    });

    it('a rejected manifest is logged once with file, object and field, not again on later syncs', async function () {
      const first = ofEvent(l!, 'manifest_problem');
      assert.equal(first.length, 1, JSON.stringify(first));
      const p = first[0]!;
      assert.equal(p.level, 'error');
      assert.equal(p.file, 'bad.yaml');
      assert.equal(p.object, 'Ingress default/bad');
      assert.equal(p.field, 'spec.rules[0].host');
      assert.equal(typeof p.line, 'number');
      assert.ok(p.msg.startsWith(`error: bad.yaml:${p.line} Ingress default/bad spec.rules[0].host: `), p.msg);
      assert.ok(p.msg.includes(JSON.stringify(BAD_HOST)), p.msg);
      // three syncs that rebuild everything (endpoint changes, each pushed): the problem is still there, unlogged
      for (const n of [1, 2, 1]) {
        const pushes = await l!.ctl.metric('endpoint_pushes_total');
        appEndpoints(m, n);
        await l!.ctl.waitForPush(pushes);
      }
      await l!.ctl.settle();
      assert.equal(ofEvent(l!, 'manifest_problem').length, 1, 'still logged once');
      assert.ok(
        (await l!.ctl.status()).problems.some((s) => s.includes('bad.yaml')),
        'and still reported on /status',
      );
      assert.equal(await l!.ctl.metric('rejected_manifests'), 1);
      // fixed, then broken again: a new appearance, logged again (once)
      const reloads = await l!.ctl.metric('reloads_total');
      bad(m, 'bad.example.com');
      await l!.ctl.waitForReload(reloads);
      await l!.ctl.waitFor(async () => (await l!.ctl.metric('rejected_manifests')) === 0, {
        what: 'no rejected manifest',
      });
      bad(m);
      const errors = () => ofEvent(l!, 'manifest_problem').filter((r) => r.level === 'error');
      await l!.ctl.waitFor(() => errors().length === 2, { what: 'the problem logged again' });
      await l!.ctl.settle();
      assert.equal(errors().length, 2);
      assert.equal(errors()[1]!.msg, p.msg);
      // plus, this time, a warning that the Ingress accepted from that file before stays in service
      const kept = ofEvent(l!, 'manifest_problem').filter((r) => r.level === 'warn');
      assert.equal(kept.length, 1, JSON.stringify(kept));
      assert.equal(kept[0]!.file, 'bad.yaml');
      assert.equal(kept[0]!.object, 'Ingress default/bad');
      assert.match(kept[0]!.msg, /kept the last good version/);
    });

    it('a reload is logged once, with event "reload" and the new hash', async function () {
      const before = await l!.ctl.settle();
      const reloadsLogged = ofEvent(l!, 'reload').length;
      app(m, ['/', '/more']);
      await l!.ctl.waitForReload(before.get(metricKey('reloads_total'))!);
      await l!.ctl.settle();
      const hash = (await l!.ctl.status()).configHash!;
      const reloads = ofEvent(l!, 'reload');
      assert.equal(reloads.length, reloadsLogged + 1, JSON.stringify(reloads.slice(reloadsLogged)));
      const r = reloads.at(-1)!;
      assert.equal(r.hash, hash);
      assert.equal(r.level, 'info');
      assert.ok(r.msg.includes(`reloaded with config ${hash.slice(0, 12)}`), r.msg);
      assert.equal(
        records(l!).filter((x) => x.hash === hash && (x.event === 'reload' || x.event === 'nginx_started')).length,
        1,
      );
    });

    it('a config nginx -t rejects is logged with event "config_test_failed", with nginx\'s reason and the config kept', async function () {
      const live = (await l!.ctl.status()).configHash!;
      const failures = await l!.ctl.metric('reload_failures_total', { reason: 'config_test' });
      m.write('long.yaml', ingress('long', { host: LONG_HOST, paths: [{ path: '/', service: 'app-svc' }] }));
      await l!.ctl.waitFor(() => ofEvent(l!, 'config_test_failed').length > 0, { what: 'a config_test_failed record' });
      const [f] = ofEvent(l!, 'config_test_failed');
      assert.equal(f!.level, 'error');
      assert.equal(f!.kept, live);
      // (nginx names no config line for this error, so no Ingress can be named)
      assert.match(f!.msg, /^nginx -t rejected the candidate: .*could not build server_names_hash/);
      assert.ok(f!.msg.endsWith(`; still serving config ${live.slice(0, 12)}`), f!.msg);
      assert.ok((await l!.ctl.metric('reload_failures_total', { reason: 'config_test' })) > failures);
      assert.equal((await l!.ctl.status()).configHash, live, 'the old config keeps serving');
      assert.equal((await l!.ctl.http(HOST, '/more')).pod?.pod.startsWith('logs-'), true);
      m.remove('long.yaml');
      await l!.ctl.waitFor(async () => (await l!.ctl.metric('config_last_reload_successful')) === 1, {
        what: 'the next sync succeeding',
      });
    });

    it('after all that, still nothing but JSON records on stderr, nothing on stdout', async function () {
      await l!.ctl.settle();
      const events = new Set(records(l!).map((r) => r.event));
      for (const e of ['start', 'nginx_started', 'manifest_problem', 'reload', 'config_test_failed'])
        assert.ok(events.has(e), `a ${e} record`);
      assert.equal(l!.stdout(), '');
    });
  });

  // The error that ends `run` (here the status port taken, EADDRINUSE) is one more record of the log,
  // in its format, not plain text on stderr (src/cli.ts main()).
  describe('a fatal error at start with --log-format json', function () {
    it('is a JSON record too', async function () {
      const m = new ManifestDir('logs-fatal');
      const prefix = `${m.dir}-prefix`;
      const taken = net.createServer();
      try {
        app(m);
        const port = await freePort();
        await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', () => resolve()));
        const r = await runCli([
          'run',
          '--manifests',
          m.dir,
          '--log-format',
          'json',
          '--status-port',
          String(port),
          '--nginx-prefix',
          prefix,
        ]);
        assert.notEqual(r.code, 0);
        const all = records({ ctl: undefined as never, stderr: () => r.stderr, stdout: () => r.stdout });
        assert.ok(
          all.some((x) => x.level === 'error' && /EADDRINUSE/.test(x.msg)),
          r.stderr,
        );
      } finally {
        taken.close();
        m.cleanup();
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    });
  });

  describe('the default (--log-format auto) with stderr not a terminal', function () {
    let m: ManifestDir;
    let l: Logged | undefined;

    before(async function () {
      this.timeout(30_000);
      m = new ManifestDir('logs-auto');
      app(m);
      appEndpoints(m, 2);
      bad(m);
      l = await startLogged({ manifests: m.dir });
    });

    stopAfter(
      () => l?.ctl,
      () => m?.cleanup(),
    );

    it('logs JSON records, as --log-format json does', async function () {
      await l!.ctl.settle();
      const all = records(l!);
      assert.equal(all.filter((r) => r.event === 'start').length, 1);
      assert.equal(all.filter((r) => r.event === 'nginx_started').length, 1);
      const problems = all.filter((r) => r.event === 'manifest_problem');
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.file, 'bad.yaml');
    });
  });

  describe('--log-format text', function () {
    let m: ManifestDir;
    let l: Logged | undefined;

    before(async function () {
      this.timeout(30_000);
      m = new ManifestDir('logs-text');
      app(m);
      appEndpoints(m, 2);
      bad(m);
      l = await startLogged({ manifests: m.dir, extraArgs: ['--log-format', 'text'] });
    });

    stopAfter(
      () => l?.ctl,
      () => m?.cleanup(),
    );

    it('logs one human-readable line per record, none of them JSON', async function () {
      await l!.ctl.settle();
      const all = lines(l!.stderr());
      assert.ok(all.length >= 3, l!.stderr());
      for (const line of all) {
        assert.ok(!line.trimStart().startsWith('{'), `not JSON: ${line}`);
        assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info |warn |error) \S/, line);
      }
      const hash = (await l!.ctl.status()).configHash!;
      const find = (re: RegExp) => all.filter((line) => re.test(line));
      assert.equal(find(/ info {2}nginx .* lua balancer; .*event="start"/).length, 1, l!.stderr());
      assert.equal(
        find(new RegExp(` info  nginx started with config ${hash.slice(0, 12)} .*event="nginx_started" hash="${hash}"`))
          .length,
        1,
        l!.stderr(),
      );
      const problem = find(/ error error: bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host: /);
      assert.equal(problem.length, 1, l!.stderr());
      assert.match(
        problem[0]!,
        /event="manifest_problem" file="bad\.yaml" line=\d+ object="Ingress default\/bad" field="spec\.rules\[0\]\.host"$/,
      );
    });

    it('an unknown --log-format is a usage error (exit 64)', async function () {
      const r = await runCli(['run', '--manifests', m.dir, '--log-format', 'yaml']);
      assert.equal(r.code, 64);
      assert.match(r.stderr, /--log-format must be auto, json or text, got "yaml"/);
    });
  });
});
