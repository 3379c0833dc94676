// The one-shot commands of the built CLI: render, validate, --version, --help, usage errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { REPO } from '../helpers/controller.js';
import { ManifestDir, backend, configMap, ingress } from '../helpers/manifests.js';

const EXAMPLES = path.join(REPO, 'examples', 'manifests');
const VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
// render and validate only need addresses: no pod has to run
const fakePods = { port: 8080, specs: [{ name: 'p', address: '127.0.0.5' }] };

describe('e2e: CLI', function () {
  let tmp: string;
  let bad: ManifestDir;

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-cli-'));
    bad = new ManifestDir('cli-bad');
    bad.write('good.yaml', [
      ...backend('good-svc', fakePods),
      ingress('good', { host: 'good.example.com', paths: [{ path: '/', service: 'good-svc' }] }),
    ]);
    bad.write(
      'nested/bad.yaml',
      ingress('bad', { host: 'bad.example.com;', paths: [{ path: '/', service: 'good-svc' }] }),
    );
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
    bad?.cleanup();
  });

  describe('render', function () {
    const renderExamples = (...extra: string[]) =>
      runCli([
        'render',
        '--manifests',
        EXAMPLES,
        '--nginx-prefix',
        path.join(tmp, 'prefix'),
        '--http-port',
        '18080',
        '--https-port',
        '18443',
        ...extra,
      ]);
    const common = (result: CliResult) => {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^ {4}## start server cafe\.example\.com$/m);
      assert.match(result.stdout, /^ {4}## end server cafe\.example\.com$/m);
      assert.match(result.stdout, /^# config-hash [0-9a-f]{64}$/m);
      // the listen ports asked for
      assert.match(result.stdout, /listen 18080 default_server reuseport;/);
      assert.match(result.stdout, /listen 18443 ssl/);
      assert.match(result.stdout, /location = "\/tea" \{/);
      assert.doesNotMatch(result.stderr, /error/);
      assert.equal(fs.existsSync(path.join(tmp, 'prefix')), false, 'render writes nothing to the prefix');
    };

    it('--balancer static: prints the config for the examples with the endpoints in upstream blocks', async function () {
      const result = await renderExamples('--balancer', 'static');
      common(result);
      // the walkthrough's endpoints, each in its Service's upstream, which the locations proxy to
      for (const ip of ['127.0.0.11', '127.0.0.12', '127.0.0.13'])
        assert.match(result.stdout, new RegExp(`server ${ip.replace(/\./g, '\\.')}:9376;`));
      assert.match(result.stdout, /upstream default_hostnames_80 \{[^}]*server 127\.0\.0\.11:9376;[^}]*\}/);
      assert.match(result.stdout, /proxy_pass http:\/\/default_hostnames_80;/);
      assert.match(
        result.stdout,
        /upstream default_tea-svc_80 \{[^}]*server 127\.0\.0\.21:8080;[^}]*server 127\.0\.0\.22:8080;/,
      );
      assert.doesNotMatch(result.stdout, /_by_lua|upstream_balancer|lua_shared_dict/);
    });

    it('by default (nginx here has ngx_lua) prints the Lua balancer and no endpoint address at all', async function () {
      const result = await renderExamples();
      common(result);
      assert.match(result.stdout, /balancer_by_lua_block/);
      assert.match(result.stdout, /lua_shared_dict ingress_templater /);
      assert.match(result.stdout, /location = \/configuration\/backends \{/);
      // every proxied location goes through the one Lua-balanced upstream
      const proxies = result.stdout.match(/proxy_pass [^;]*;/g) ?? [];
      assert.ok(proxies.length >= 5, proxies.join('\n'));
      assert.deepEqual([...new Set(proxies)], ['proxy_pass http://upstream_balancer;']);
      assert.match(result.stdout, /set \$proxy_upstream_name "default_hostnames_80";/);
      // endpoints are pushed, never rendered: none of the examples' pod addresses, no upstream per Service
      for (const ip of [
        '127.0.0.11',
        '127.0.0.12',
        '127.0.0.13',
        '127.0.0.21',
        '127.0.0.22',
        '127.0.0.31',
        '127.0.0.32',
      ]) {
        assert.ok(!result.stdout.includes(ip), `${ip} must not be in the Lua-mode config`);
      }
      assert.doesNotMatch(result.stdout, /:9376\b/);
      assert.deepEqual(
        result.stdout.match(/^\s*upstream \S+/gm)?.map((l) => l.trim()),
        ['upstream upstream_balancer'],
      );
      // and it is what --balancer lua renders
      const lua = await renderExamples('--balancer', 'lua');
      assert.equal(lua.code, 0, lua.stderr);
      assert.equal(lua.stdout, result.stdout);
    });

    it('--out writes the same config to a file; environment variables set flags', async function () {
      const out = path.join(tmp, 'out.conf');
      const env = { INGRESS_TEMPLATER_HTTP_PORT: '18081', INGRESS_TEMPLATER_HTTPS_PORT: '18444' };
      const result = await runCli(
        ['render', '--manifests', EXAMPLES, '--nginx-prefix', path.join(tmp, 'prefix'), '--out', out],
        { env },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, '');
      const text = fs.readFileSync(out, 'utf8');
      assert.match(text, /## start server cafe\.example\.com/);
      assert.match(text, /listen 18081 default_server reuseport;/);
      assert.match(text, /listen 18444 ssl/);
      const printed = await runCli(['render', '--manifests', EXAMPLES, '--nginx-prefix', path.join(tmp, 'prefix')], {
        env,
      });
      assert.equal(printed.code, 0, printed.stderr);
      assert.equal(text, printed.stdout);
    });

    it('exits non-zero and names the file and field of a rejected manifest; the rest is still rendered', async function () {
      const result = await runCli(['render', '--manifests', bad.dir, '--nginx-prefix', path.join(tmp, 'prefix')]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /^error: nested\/bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host: .*"bad\.example\.com;"/m,
      );
      assert.match(result.stderr, /ManifestsRejectedError: 1 problem\(s\) in the manifests/);
      assert.match(result.stdout, /## start server good\.example\.com/);
      assert.doesNotMatch(result.stdout, /bad\.example\.com/);
    });
  });

  describe('validate', function () {
    it('exits 0 for examples/manifests (schema checks and nginx -t pass)', async function () {
      const result = await runCli(['validate', '--manifests', EXAMPLES]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /ok: manifests accepted and nginx -t passed \(config [0-9a-f]{12}\)/);
    });

    it('exits non-zero for a directory with a rejected manifest, naming it', async function () {
      const result = await runCli(['validate', '--manifests', bad.dir]);
      assert.notEqual(result.code, 0);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /nested\/bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host/);
      assert.doesNotMatch(result.stderr, /^ok:/m);
    });

    it('exits 3 when the manifests are fine but nginx -t rejects the config', async function () {
      const manifests = new ManifestDir('cli-configtest');
      try {
        manifests.write(
          'settings.yaml',
          configMap('settings', 'ingress-templater', { 'server-name-hash-bucket-size': '32' }),
        );
        manifests.write('long.yaml', [
          ...backend('svc', fakePods),
          ingress('long', {
            host: 'a-rather-long-host-name-to-overflow-the-hash-bucket.example.com',
            paths: [{ path: '/', service: 'svc' }],
          }),
        ]);
        const result = await runCli([
          'validate',
          '--manifests',
          manifests.dir,
          '--configmap',
          'ingress-templater/settings',
        ]);
        assert.equal(result.code, 3, result.stderr);
        assert.match(result.stderr, /ConfigTestError: nginx -t rejected the candidate: .*server_names_hash/);
        const ok = await runCli(['validate', '--manifests', manifests.dir]);
        assert.equal(ok.code, 0, `without the setting the same manifests pass: ${ok.stderr}`);
      } finally {
        manifests.cleanup();
      }
    });
  });

  describe('flags', function () {
    it('--version prints the package version', async function () {
      const result = await runCli(['--version']);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `${VERSION}\n`);
      assert.equal((await runCli(['-v'])).stdout, `${VERSION}\n`);
    });

    it('--help prints the usage with every command and flag', async function () {
      const result = await runCli(['--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^ingress-templater ${VERSION.replace(/\./g, '\\.')}`));
      assert.match(result.stdout, /^Usage:$/m);
      for (const word of [
        'render',
        'validate',
        'run',
        '--manifests',
        '--http-port',
        '--https-port',
        '--status-port',
        '--internal-port',
        '--nginx-prefix',
        '--template-dir',
        '--configmap',
        '--min-wait',
        '--max-wait',
        'INGRESS_TEMPLATER_',
      ]) {
        assert.ok(result.stdout.includes(word), `help mentions ${word}`);
      }
      assert.equal((await runCli(['render', '-h'])).code, 0);
    });

    it('usage errors exit 64: no command, an unknown command, an unknown flag, a bad port', async function () {
      const none = await runCli([]);
      assert.equal(none.code, 64);
      assert.match(none.stdout, /Usage:/);
      const unknown = await runCli(['serve']);
      assert.equal(unknown.code, 64);
      assert.match(unknown.stderr, /unknown command "serve"/);
      const flag = await runCli(['render', '--no-such-flag']);
      assert.equal(flag.code, 64);
      assert.match(flag.stderr, /UsageError/);
      const port = await runCli(['render', '--manifests', EXAMPLES, '--http-port', 'eighty']);
      assert.equal(port.code, 64);
      assert.match(port.stderr, /--http-port must be an integer 1-65535, got "eighty"/);
    });

    it('render exits 64 when the manifests directory does not exist', async function () {
      const result = await runCli(['render', '--manifests', path.join(tmp, 'does-not-exist')]);
      assert.equal(result.code, 64);
      assert.match(result.stderr, /does not exist/);
    });
  });
});
