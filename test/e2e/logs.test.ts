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
  [key: string]: unknown;
}

/** A controller with its stderr and stdout kept apart (RunningController.log() has both). */
interface Logged {
  ctl: RunningController;
  stderr: () => string;
  stdout: () => string;
}

async function startLogged(options: StartOptions): Promise<Logged> {
  const ctl = await startController({ ...options, waitReady: false });
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
  } catch (err) {
    await ctl.stop();
    throw err;
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
function records(logged: Logged): Record_[] {
  const all = lines(logged.stderr());
  assert.ok(all.length > 0, 'the controller logged something');
  return all.map((line) => {
    let record: Record_;
    try {
      record = JSON.parse(line) as Record_;
    } catch {
      assert.fail(`a stderr line that is not JSON: ${line}`);
    }
    assert.equal(typeof record, 'object', line);
    assert.ok(record !== null && !Array.isArray(record), line);
    assert.equal(typeof record.time, 'string', `time in ${line}`);
    assert.match(record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(Math.abs(Date.parse(record.time) - Date.now()) < 10 * 60_000, `a current time in ${line}`);
    assert.ok(LEVELS.includes(record.level), `level in ${line}`);
    assert.equal(typeof record.msg, 'string', `msg in ${line}`);
    assert.ok(record.msg.length > 0, line);
    return record;
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
    let manifests: ManifestDir;
    let logged: Logged | undefined;

    before(async function () {
      this.timeout(30_000);
      manifests = new ManifestDir('logs-json');
      app(manifests);
      appEndpoints(manifests, 2);
      bad(manifests);
      // a small server-name hash bucket: fine for short hosts, nginx -t refuses LONG_HOST
      manifests.write(
        'settings.yaml',
        configMap('settings', 'ingress-templater', { 'server-name-hash-bucket-size': '32' }),
      );
      logged = await startLogged({
        manifests: manifests.dir,
        extraArgs: ['--log-format', 'json', '--configmap', 'ingress-templater/settings'],
      });
    });

    stopAfter(
      () => logged?.ctl,
      () => manifests?.cleanup(),
    );

    it('every stderr line is a JSON object with time, level and msg; the start names the balancer', async function () {
      const all = records(logged!);
      const [start] = all.filter((r) => r.event === 'start');
      assert.ok(start, 'a start record');
      assert.equal(start.level, 'info');
      assert.equal(start.balancer, 'lua');
      assert.equal(start.manifests, manifests.dir);
      assert.match(start.msg, /lua balancer/);
      assert.equal(logged!.stdout(), '', 'nothing on stdout');
    });

    it('the nginx start is logged once, with event "nginx_started" and the config hash', async function () {
      const hash = (await logged!.ctl.status()).configHash!;
      assert.match(hash, /^[0-9a-f]{64}$/);
      const started = ofEvent(logged!, 'nginx_started');
      assert.equal(started.length, 1, JSON.stringify(started));
      assert.equal(started[0]!.hash, hash);
      assert.equal(started[0]!.level, 'info');
      assert.ok(started[0]!.msg.includes(hash.slice(0, 12)), started[0]!.msg);
      assert.equal(typeof started[0]!.servers, 'number');
      assert.equal(typeof started[0]!.backends, 'number');
      assert.equal(ofEvent(logged!, 'reload').length, 0, 'no reload yet');
    });

    it('a rejected manifest is logged once with file, object and field, not again on later syncs', async function () {
      const first = ofEvent(logged!, 'manifest_problem');
      assert.equal(first.length, 1, JSON.stringify(first));
      const problem = first[0]!;
      assert.equal(problem.level, 'error');
      assert.equal(problem.file, 'bad.yaml');
      assert.equal(problem.object, 'Ingress default/bad');
      assert.equal(problem.field, 'spec.rules[0].host');
      assert.equal(typeof problem.line, 'number');
      assert.ok(
        problem.msg.startsWith(`error: bad.yaml:${problem.line} Ingress default/bad spec.rules[0].host: `),
        problem.msg,
      );
      assert.ok(problem.msg.includes(JSON.stringify(BAD_HOST)), problem.msg);
      // three syncs that rebuild everything (endpoint changes, each pushed): the problem is still there, unlogged
      for (const ready of [1, 2, 1]) {
        const pushes = await logged!.ctl.metric('endpoint_pushes_total');
        appEndpoints(manifests, ready);
        await logged!.ctl.waitForPush(pushes);
      }
      await logged!.ctl.settle();
      assert.equal(ofEvent(logged!, 'manifest_problem').length, 1, 'still logged once');
      assert.ok(
        (await logged!.ctl.status()).problems.some((s) => s.includes('bad.yaml')),
        'and still reported on /status',
      );
      assert.equal(await logged!.ctl.metric('rejected_manifests'), 1);
      // fixed, then broken again: a new appearance, logged again (once)
      const reloads = await logged!.ctl.metric('reloads_total');
      bad(manifests, 'bad.example.com');
      await logged!.ctl.waitForReload(reloads);
      await logged!.ctl.waitFor(async () => (await logged!.ctl.metric('rejected_manifests')) === 0, {
        what: 'no rejected manifest',
      });
      bad(manifests);
      const errors = () => ofEvent(logged!, 'manifest_problem').filter((r) => r.level === 'error');
      await logged!.ctl.waitFor(() => errors().length === 2, { what: 'the problem logged again' });
      await logged!.ctl.settle();
      assert.equal(errors().length, 2);
      assert.equal(errors()[1]!.msg, problem.msg);
      // plus, this time, a warning that the Ingress accepted from that file before stays in service
      const kept = ofEvent(logged!, 'manifest_problem').filter((r) => r.level === 'warn');
      assert.equal(kept.length, 1, JSON.stringify(kept));
      assert.equal(kept[0]!.file, 'bad.yaml');
      assert.equal(kept[0]!.object, 'Ingress default/bad');
      assert.match(kept[0]!.msg, /kept the last good version/);
    });

    it('a reload is logged once, with event "reload" and the new hash', async function () {
      const before = await logged!.ctl.settle();
      const reloadsLogged = ofEvent(logged!, 'reload').length;
      app(manifests, ['/', '/more']);
      await logged!.ctl.waitForReload(before.get(metricKey('reloads_total'))!);
      await logged!.ctl.settle();
      const hash = (await logged!.ctl.status()).configHash!;
      const reloads = ofEvent(logged!, 'reload');
      assert.equal(reloads.length, reloadsLogged + 1, JSON.stringify(reloads.slice(reloadsLogged)));
      const reload = reloads.at(-1)!;
      assert.equal(reload.hash, hash);
      assert.equal(reload.level, 'info');
      assert.ok(reload.msg.includes(`reloaded with config ${hash.slice(0, 12)}`), reload.msg);
      assert.equal(
        records(logged!).filter((x) => x.hash === hash && (x.event === 'reload' || x.event === 'nginx_started')).length,
        1,
      );
    });

    it('a config nginx -t rejects is logged with event "config_test_failed", with nginx\'s reason and the config kept', async function () {
      const live = (await logged!.ctl.status()).configHash!;
      const failures = await logged!.ctl.metric('reload_failures_total', { reason: 'config_test' });
      manifests.write('long.yaml', ingress('long', { host: LONG_HOST, paths: [{ path: '/', service: 'app-svc' }] }));
      await logged!.ctl.waitFor(() => ofEvent(logged!, 'config_test_failed').length > 0, {
        what: 'a config_test_failed record',
      });
      const [failed] = ofEvent(logged!, 'config_test_failed');
      assert.equal(failed!.level, 'error');
      assert.equal(failed!.kept, live);
      // (nginx names no config line for this error, so no Ingress can be named)
      assert.match(failed!.msg, /^nginx -t rejected the candidate: .*could not build server_names_hash/);
      assert.ok(failed!.msg.endsWith(`; still serving config ${live.slice(0, 12)}`), failed!.msg);
      assert.ok((await logged!.ctl.metric('reload_failures_total', { reason: 'config_test' })) > failures);
      assert.equal((await logged!.ctl.status()).configHash, live, 'the old config keeps serving');
      assert.equal((await logged!.ctl.http(HOST, '/more')).pod?.pod.startsWith('logs-'), true);
      manifests.remove('long.yaml');
      await logged!.ctl.waitFor(async () => (await logged!.ctl.metric('config_last_reload_successful')) === 1, {
        what: 'the next sync succeeding',
      });
    });

    it('after all that, still nothing but JSON records on stderr, nothing on stdout', async function () {
      await logged!.ctl.settle();
      const events = new Set(records(logged!).map((r) => r.event));
      for (const event of ['start', 'nginx_started', 'manifest_problem', 'reload', 'config_test_failed'])
        assert.ok(events.has(event), `a ${event} record`);
      assert.equal(logged!.stdout(), '');
    });
  });

  // The error that ends `run` (here the status port taken, EADDRINUSE) is one more record of the log,
  // in its format, not plain text on stderr (src/cli.ts main()).
  describe('a fatal error at start with --log-format json', function () {
    it('is a JSON record too', async function () {
      const manifests = new ManifestDir('logs-fatal');
      const prefix = `${manifests.dir}-prefix`;
      const taken = net.createServer();
      try {
        app(manifests);
        const port = await freePort();
        await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', () => resolve()));
        const result = await runCli([
          'run',
          '--manifests',
          manifests.dir,
          '--log-format',
          'json',
          '--status-port',
          String(port),
          '--nginx-prefix',
          prefix,
        ]);
        assert.notEqual(result.code, 0);
        const all = records({ ctl: undefined as never, stderr: () => result.stderr, stdout: () => result.stdout });
        assert.ok(
          all.some((x) => x.level === 'error' && /EADDRINUSE/.test(x.msg)),
          result.stderr,
        );
      } finally {
        taken.close();
        manifests.cleanup();
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    });
  });

  describe('the default (--log-format auto) with stderr not a terminal', function () {
    let manifests: ManifestDir;
    let logged: Logged | undefined;

    before(async function () {
      this.timeout(30_000);
      manifests = new ManifestDir('logs-auto');
      app(manifests);
      appEndpoints(manifests, 2);
      bad(manifests);
      logged = await startLogged({ manifests: manifests.dir });
    });

    stopAfter(
      () => logged?.ctl,
      () => manifests?.cleanup(),
    );

    it('logs JSON records, as --log-format json does', async function () {
      await logged!.ctl.settle();
      const all = records(logged!);
      assert.equal(all.filter((r) => r.event === 'start').length, 1);
      assert.equal(all.filter((r) => r.event === 'nginx_started').length, 1);
      const problems = all.filter((r) => r.event === 'manifest_problem');
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.file, 'bad.yaml');
    });
  });

  describe('--log-format text', function () {
    let manifests: ManifestDir;
    let logged: Logged | undefined;

    before(async function () {
      this.timeout(30_000);
      manifests = new ManifestDir('logs-text');
      app(manifests);
      appEndpoints(manifests, 2);
      bad(manifests);
      logged = await startLogged({ manifests: manifests.dir, extraArgs: ['--log-format', 'text'] });
    });

    stopAfter(
      () => logged?.ctl,
      () => manifests?.cleanup(),
    );

    it('logs one human-readable line per record, none of them JSON', async function () {
      await logged!.ctl.settle();
      const all = lines(logged!.stderr());
      assert.ok(all.length >= 3, logged!.stderr());
      for (const line of all) {
        assert.ok(!line.trimStart().startsWith('{'), `not JSON: ${line}`);
        assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info |warn |error) \S/, line);
      }
      const hash = (await logged!.ctl.status()).configHash!;
      const find = (re: RegExp) => all.filter((line) => re.test(line));
      assert.equal(find(/ info {2}nginx .* lua balancer; .*event="start"/).length, 1, logged!.stderr());
      assert.equal(
        find(new RegExp(` info  nginx started with config ${hash.slice(0, 12)} .*event="nginx_started" hash="${hash}"`))
          .length,
        1,
        logged!.stderr(),
      );
      const problem = find(/ error error: bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host: /);
      assert.equal(problem.length, 1, logged!.stderr());
      assert.match(
        problem[0]!,
        /event="manifest_problem" file="bad\.yaml" line=\d+ object="Ingress default\/bad" field="spec\.rules\[0\]\.host"$/,
      );
    });

    it('an unknown --log-format is a usage error (exit 64)', async function () {
      const result = await runCli(['run', '--manifests', manifests.dir, '--log-format', 'yaml']);
      assert.equal(result.code, 64);
      assert.match(result.stderr, /--log-format must be auto, json or text, got "yaml"/);
    });
  });
});
