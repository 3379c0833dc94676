// The fallback for an nginx without ngx_lua: endpoints rendered into upstream blocks (an endpoint change
// reloads), chosen with --balancer static or detected by --balancer auto from what `nginx -V` reports.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricKey, startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { whoAnswers } from '../helpers/http.js';
import { ManifestDir, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

// the walkthrough's pod names; a fourth pod joins in the endpoint change
const HOSTNAMES = [
  { name: 'hostnames-8548b869d7-9qk6b', address: '127.0.2.11' },
  { name: 'hostnames-8548b869d7-wzksp', address: '127.0.2.12' },
  { name: 'hostnames-8548b869d7-bvlw8', address: '127.0.2.13' },
];
const NEWCOMER = { name: 'hostnames-8548b869d7-n3wpd', address: '127.0.2.14' };

/** The nginx executable the controller would run by default: the first `nginx` on PATH. */
function realNginx(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir || '.', 'nginx');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return fs.realpathSync(file);
    } catch {
      /* not here */
    }
  }
  throw new Error('nginx is not on PATH');
}

function writeManifests(manifests: ManifestDir, pods: Pods, ready: { address: string }[]): void {
  manifests.write('hostnames.yaml', [
    service('hostnames', { ports: [{ name: 'default', port: 80, targetPort: pods.port }] }),
    ingress('hostnames', { paths: [{ path: '/', service: 'hostnames', port: 'default' }] }),
    // a Service without any endpoints
    service('empty-svc', { ports: [{ port: 80, targetPort: pods.port }] }),
    ingress('empty', { host: 'empty.example.com', paths: [{ path: '/', service: 'empty-svc' }] }),
  ]);
  manifests.write(
    'hostnames-endpoints.yaml',
    endpoints('hostnames', { ready: ready.map((p) => p.address), port: pods.port, portName: 'default' }),
  );
}

const sorted = (xs: string[]) => [...xs].sort();

describe('e2e: static balancer (nginx without ngx_lua)', function () {
  let pods: Pods;

  before(async function () {
    pods = await startPods([...HOSTNAMES, NEWCOMER]);
  });

  after(async function () {
    await closeAll(pods);
  });

  describe('--balancer static', function () {
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;

    before(async function () {
      this.timeout(60_000);
      manifests = new ManifestDir('static');
      writeManifests(manifests, pods, HOSTNAMES);
      ctl = await startController({ manifests: manifests.dir, extraArgs: ['--balancer', 'static'] });
    });

    stopAfter(
      () => ctl,
      () => manifests?.cleanup(),
    );

    it('renders upstream blocks with the pod addresses and no Lua', async function () {
      assert.match(ctl!.log(), /static balancer/);
      const conf = ctl!.nginxConf();
      const upstream = /upstream default_hostnames_80 \{([^}]*)\}/.exec(conf)?.[1] ?? '';
      assert.deepEqual(
        upstream.match(/server \S+;/g),
        HOSTNAMES.map((p) => `server ${p.address}:${pods.port};`),
      );
      assert.match(upstream, /zone default_hostnames_80 /);
      assert.match(conf, /proxy_pass http:\/\/default_hostnames_80;/);
      assert.doesNotMatch(conf, /_by_lua|upstream_balancer|lua_shared_dict|\/configuration\/backends/);
      const metrics = await ctl!.metrics();
      assert.equal(metrics.get(metricKey('endpoint_pushes_total')), 0, 'nothing is pushed in static mode');
      assert.equal(metrics.get(metricKey('reloads_total')), 1);
    });

    it('hostnames: three consecutive requests reach the three pods (round robin across workers)', async function () {
      for (const host of ['127.0.0.1', 'any.example.org']) {
        const seen = await whoAnswers(3, () => ctl!.http(host, '/'));
        assert.deepEqual(sorted(seen), sorted(HOSTNAMES.map((p) => p.name)), `answers: ${seen.join(', ')}`);
      }
    });

    it('a Service without endpoints answers 503; the others keep answering', async function () {
      const reply = await ctl!.http('empty.example.com', '/');
      assert.equal(reply.status, 503);
      assert.equal(reply.pod, undefined);
      assert.match(ctl!.nginxConf(), /# ingress default\/empty Prefix \/\s*location "\/" \{[^}]*return 503;/);
      assert.ok((await ctl!.http('127.0.0.1', '/')).pod);
    });

    it('an endpoint change reloads nginx (new workers) and traffic follows', async function () {
      this.timeout(30_000);
      const before = await ctl!.settle();
      const workers = await ctl!.workerPids();
      manifests.write(
        'hostnames-endpoints.yaml',
        endpoints('hostnames', { ready: [NEWCOMER.address], port: pods.port, portName: 'default' }),
      );
      await ctl!.waitForReload(before.get(metricKey('reloads_total'))!);
      assert.match(
        ctl!.nginxConf(),
        new RegExp(
          `upstream default_hostnames_80 \\{[^}]*server ${NEWCOMER.address.replace(/\./g, '\\.')}:${pods.port};`,
        ),
      );
      // old workers finish gracefully; once they are gone only the newcomer answers
      await ctl!.waitFor(
        async () => {
          const seen = await whoAnswers(6, () => ctl!.http('127.0.0.1', '/'));
          return seen.every((s) => s === NEWCOMER.name) ? seen : undefined;
        },
        { what: 'only the newcomer answering' },
      );
      const now = await ctl!.workerPids();
      assert.ok(
        now.some((p) => !workers.includes(p)),
        'new workers after the reload',
      );
      const after = await ctl!.settle();
      assert.equal(after.get(metricKey('reloads_total')), before.get(metricKey('reloads_total'))! + 1);
      assert.equal(after.get(metricKey('endpoint_pushes_total')), 0);

      // and back to the three pods: another reload
      manifests.write(
        'hostnames-endpoints.yaml',
        endpoints('hostnames', { ready: HOSTNAMES.map((p) => p.address), port: pods.port, portName: 'default' }),
      );
      await ctl!.waitForReload(after.get(metricKey('reloads_total'))!);
      await ctl!.waitFor(
        async () => {
          const seen = await whoAnswers(3, () => ctl!.http('127.0.0.1', '/'));
          return sorted(seen).join() === sorted(HOSTNAMES.map((p) => p.name)).join() ? seen : undefined;
        },
        { what: 'the three pods in turn again' },
      );
    });
  });

  describe('--balancer auto with an nginx whose -V shows no Lua modules', function () {
    let tmp: string;
    let wrapper: string;
    let manifests: ManifestDir;
    let ctl: RunningController | undefined;

    before(async function () {
      this.timeout(60_000);
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-nolua-'));
      const modules = path.join(tmp, 'modules'); // exists, holds no ngx_lua
      fs.mkdirSync(modules);
      const real = realNginx();
      wrapper = path.join(tmp, 'nginx');
      // the real nginx for everything but -V, which reports the modules directory above instead
      fs.writeFileSync(
        wrapper,
        [
          '#!/bin/sh',
          'if [ "$#" -eq 1 ] && [ "$1" = "-V" ]; then',
          `  '${real}' -V 2>&1 | sed -e 's#--modules-path=[^ ]*##' -e 's#--add-module=[^ ]*lua[^ ]*##g' -e 's#^configure arguments:#configure arguments: --modules-path=${modules}#' >&2`,
          '  exit 0',
          'fi',
          `exec '${real}' "$@"`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      // the wrapper does what it should: nginx's own -V, the modules path replaced
      const stdout = execFileSync(wrapper, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(stdout, '', '-V prints to stderr, as nginx does');
      const out = execFileSync('sh', ['-c', `'${wrapper}' -V 2>&1`], { encoding: 'utf8' });
      assert.match(out, /^nginx version: nginx\//m);
      assert.equal(out.match(/--modules-path=\S+/g)?.join(), `--modules-path=${modules}`);

      manifests = new ManifestDir('nolua');
      writeManifests(manifests, pods, HOSTNAMES);
      ctl = await startController({ manifests: manifests.dir, extraArgs: ['--nginx-binary', wrapper] });
    });

    stopAfter(
      () => ctl,
      () => {
        manifests?.cleanup();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
      },
    );

    it('falls back to the static balancer, says so, renders upstream blocks with the pod addresses, and serves', async function () {
      assert.match(ctl!.log(), /static balancer/);
      assert.doesNotMatch(ctl!.log(), /lua balancer/);
      const conf = ctl!.nginxConf();
      assert.doesNotMatch(conf, /load_module|_by_lua|lua_shared_dict|upstream_balancer/);
      const upstream = /upstream default_hostnames_80 \{([^}]*)\}/.exec(conf)?.[1] ?? '';
      assert.deepEqual(
        upstream.match(/server \S+;/g),
        HOSTNAMES.map((p) => `server ${p.address}:${pods.port};`),
      );
      const seen = await whoAnswers(3, () => ctl!.http('127.0.0.1', '/'));
      assert.deepEqual(sorted(seen), sorted(HOSTNAMES.map((p) => p.name)), `answers: ${seen.join(', ')}`);
      assert.equal((await ctl!.http('empty.example.com', '/')).status, 503);
      assert.equal(await ctl!.metric('endpoint_pushes_total'), 0);
      assert.equal(await ctl!.healthz(), 200);
    });

    it('--balancer lua with that nginx refuses to start (exit 5), naming ngx_lua', async function () {
      this.timeout(30_000);
      const lua = await startController({
        manifests: manifests.dir,
        extraArgs: ['--nginx-binary', wrapper, '--balancer', 'lua'],
        waitReady: false,
      });
      try {
        const exit = await lua.waitForExit(15_000);
        assert.deepEqual(exit, { code: 5, signal: null }, lua.log());
        assert.match(lua.log(), /--balancer lua needs ngx_lua/);
      } finally {
        const result = await lua.stop();
        assert.deepEqual(result.leftovers, []);
      }
    });
  });
});
