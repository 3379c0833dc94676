// The one-shot commands of the built CLI: render, validate, --version, --help, usage errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
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
    bad.write('good.yaml', [...backend('good-svc', fakePods), ingress('good', { host: 'good.example.com', paths: [{ path: '/', service: 'good-svc' }] })]);
    bad.write('nested/bad.yaml', ingress('bad', { host: 'bad.example.com;', paths: [{ path: '/', service: 'good-svc' }] }));
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
    bad?.cleanup();
  });

  describe('render', function () {
    it('prints the config for the examples and exits 0', async function () {
      const r = await runCli(['render', '--manifests', EXAMPLES, '--nginx-prefix', path.join(tmp, 'prefix'), '--http-port', '18080', '--https-port', '18443']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ {4}## start server cafe\.example\.com$/m);
      assert.match(r.stdout, /^ {4}## end server cafe\.example\.com$/m);
      assert.match(r.stdout, /^# config-hash [0-9a-f]{64}$/m);
      // the walkthrough's endpoints and the listen ports asked for
      for (const ip of ['127.0.0.11', '127.0.0.12', '127.0.0.13']) assert.match(r.stdout, new RegExp(`server ${ip.replace(/\./g, '\\.')}:9376;`));
      assert.match(r.stdout, /listen 18080 default_server;/);
      assert.match(r.stdout, /listen 18443 ssl/);
      assert.match(r.stdout, /location = "\/tea" \{/);
      assert.doesNotMatch(r.stderr, /error/);
      assert.equal(fs.existsSync(path.join(tmp, 'prefix')), false, 'render writes nothing to the prefix');
    });

    it('--out writes the same config to a file; environment variables set flags', async function () {
      const out = path.join(tmp, 'out.conf');
      const env = { INGRESS_TEMPLATER_HTTP_PORT: '18081', INGRESS_TEMPLATER_HTTPS_PORT: '18444' };
      const r = await runCli(['render', '--manifests', EXAMPLES, '--nginx-prefix', path.join(tmp, 'prefix'), '--out', out], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      const text = fs.readFileSync(out, 'utf8');
      assert.match(text, /## start server cafe\.example\.com/);
      assert.match(text, /listen 18081 default_server;/);
      assert.match(text, /listen 18444 ssl/);
      const printed = await runCli(['render', '--manifests', EXAMPLES, '--nginx-prefix', path.join(tmp, 'prefix')], { env });
      assert.equal(printed.code, 0, printed.stderr);
      assert.equal(text, printed.stdout);
    });

    it('exits non-zero and names the file and field of a rejected manifest; the rest is still rendered', async function () {
      const r = await runCli(['render', '--manifests', bad.dir, '--nginx-prefix', path.join(tmp, 'prefix')]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: nested\/bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host: .*"bad\.example\.com;"/m);
      assert.match(r.stderr, /ManifestsRejectedError: 1 problem\(s\) in the manifests/);
      assert.match(r.stdout, /## start server good\.example\.com/);
      assert.doesNotMatch(r.stdout, /bad\.example\.com/);
    });
  });

  describe('validate', function () {
    it('exits 0 for examples/manifests (schema checks and nginx -t pass)', async function () {
      const r = await runCli(['validate', '--manifests', EXAMPLES]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /ok: manifests accepted and nginx -t passed \(config [0-9a-f]{12}\)/);
    });

    it('exits non-zero for a directory with a rejected manifest, naming it', async function () {
      const r = await runCli(['validate', '--manifests', bad.dir]);
      assert.notEqual(r.code, 0);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /nested\/bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host/);
      assert.doesNotMatch(r.stderr, /^ok:/m);
    });

    it('exits 3 when the manifests are fine but nginx -t rejects the config', async function () {
      const m = new ManifestDir('cli-configtest');
      try {
        m.write('settings.yaml', configMap('settings', 'ingress-templater', { 'server-name-hash-bucket-size': '32' }));
        m.write('long.yaml', [...backend('svc', fakePods), ingress('long', {
          host: 'a-rather-long-host-name-to-overflow-the-hash-bucket.example.com', paths: [{ path: '/', service: 'svc' }],
        })]);
        const r = await runCli(['validate', '--manifests', m.dir, '--configmap', 'ingress-templater/settings']);
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, /ConfigTestError: nginx -t rejected the candidate: .*server_names_hash/);
        const ok = await runCli(['validate', '--manifests', m.dir]);
        assert.equal(ok.code, 0, `without the setting the same manifests pass: ${ok.stderr}`);
      } finally {
        m.cleanup();
      }
    });
  });

  describe('flags', function () {
    it('--version prints the package version', async function () {
      const r = await runCli(['--version']);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `${VERSION}\n`);
      assert.equal((await runCli(['-v'])).stdout, `${VERSION}\n`);
    });

    it('--help prints the usage with every command and flag', async function () {
      const r = await runCli(['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^ingress-templater ${VERSION.replace(/\./g, '\\.')}`));
      assert.match(r.stdout, /^Usage:$/m);
      for (const word of ['render', 'validate', 'run', '--manifests', '--http-port', '--https-port', '--status-port', '--internal-port', '--nginx-prefix', '--template-dir', '--configmap', '--min-wait', '--max-wait', 'INGRESS_TEMPLATER_']) {
        assert.ok(r.stdout.includes(word), `help mentions ${word}`);
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
      const r = await runCli(['render', '--manifests', path.join(tmp, 'does-not-exist')]);
      assert.equal(r.code, 64);
      assert.match(r.stderr, /does not exist/);
    });
  });
});
