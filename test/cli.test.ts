// src/cli.ts in process: main(argv) -> exit code, for what needs no nginx (option parsing, the environment,
// usage errors, the exit code of each failure). test/e2e/cli.test.ts runs the built CLI as a process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManifestDir } from './helpers/manifests.js';

type Main = (argv: string[]) => Promise<number>;

const VERSION = (
  JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const NO_NGINX = path.join(os.tmpdir(), 'no-such-nginx-binary');
const PREFIX = path.join(os.tmpdir(), 'itp-cli-unit-prefix');

/** Runs main with stdout and stderr captured (and nothing written to the real ones). */
async function runMain(main: Main, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((chunk: string) => {
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

describe('cli (main in process)', function () {
  this.timeout(30_000);
  let main: Main;
  const savedEnv = new Map<string, string | undefined>();

  before(async () => {
    // cli.ts runs main(process.argv) when loaded: give it an argv that only prints the version
    const argv = process.argv;
    const exitCode = process.exitCode;
    process.argv = [argv[0]!, 'ingress-templater', '--version'];
    try {
      main = (await runImport()).main;
    } finally {
      process.argv = argv;
      process.exitCode = exitCode;
    }
  });

  async function runImport(): Promise<{ main: Main }> {
    let loaded: { main: Main } | undefined;
    const { stdout } = await runMain(async () => {
      loaded = (await import('../src/cli.js')) as { main: Main };
      return 0;
    }, []);
    assert.equal(stdout, `${VERSION}\n`, 'loading the module ran main(--version)');
    return loaded!;
  }

  beforeEach(() => {
    for (const key of Object.keys(process.env).filter((name) => name.startsWith('INGRESS_TEMPLATER_'))) {
      savedEnv.set(key, process.env[key]);
      delete process.env[key];
    }
  });
  afterEach(() => {
    for (const key of Object.keys(process.env).filter((name) => name.startsWith('INGRESS_TEMPLATER_')))
      delete process.env[key];
    for (const [key, value] of savedEnv) if (value !== undefined) process.env[key] = value;
    savedEnv.clear();
  });

  describe('no command to run', () => {
    it('--version prints the package version, exit 0', async () => {
      assert.deepEqual(await runMain(main, ['--version']), { code: 0, stdout: `${VERSION}\n`, stderr: '' });
      assert.equal((await runMain(main, ['-v'])).stdout, `${VERSION}\n`);
    });

    it('--help prints the usage with every option and the exit codes, exit 0', async () => {
      const { code, stdout, stderr } = await runMain(main, ['--help']);
      assert.equal(code, 0);
      assert.equal(stderr, '');
      assert.ok(stdout.startsWith(`ingress-templater ${VERSION}: `), stdout.slice(0, 80));
      for (const flag of ['--manifests', '--http-port', '--nginx-prefix', '--balancer', '--configmap', '--log-format'])
        assert.match(stdout, new RegExp(`^  ${flag} `, 'm'), flag);
      assert.match(stdout, /^ {2}--http-port +HTTP listen port \[80\]$/m);
      assert.match(stdout, /Exit codes: 0 ok, .*2 manifests rejected, 3 nginx -t failed, .*64 usage/);
    });

    it('no command at all: the usage, exit 64', async () => {
      const { code, stdout } = await runMain(main, []);
      assert.equal(code, 64);
      assert.match(stdout, /^Usage:$/m);
    });
  });

  describe('usage errors: exit 64 and one line naming what is wrong', () => {
    const usage = async (argv: string[], message: RegExp) => {
      const { code, stdout, stderr } = await runMain(main, argv);
      assert.equal(code, 64, stderr);
      assert.equal(stdout, '');
      assert.match(stderr, /^UsageError: .*\n$/);
      assert.match(stderr, message);
    };

    it('an unknown command or flag', async () => {
      await usage(['deploy'], /unknown command "deploy"; see --help/);
      await usage(['render', '--no-such-flag'], /no-such-flag/);
    });

    it('a port out of range or not a number', async () => {
      await usage(['render', '--http-port', '70000'], /--http-port must be an integer 1-65535, got "70000"/);
      await usage(['render', '--https-port', '44x'], /--https-port must be an integer 1-65535, got "44x"/);
      await usage(['render', '--internal-port', '0'], /--internal-port must be an integer 1-65535/);
    });

    it('a balancer, ConfigMap, pod IP, boolean or format of the wrong shape', async () => {
      await usage(['render', '--balancer', 'magic'], /--balancer must be auto, lua or static, got "magic"/);
      await usage(['render', '--configmap', 'settings'], /--configmap must be NAMESPACE\/NAME, got "settings"/);
      await usage(
        ['render', '--default-ssl-certificate', 'Infra/Cert'],
        /--default-ssl-certificate must be NAMESPACE\/NAME, got "Infra\/Cert"/,
      );
      await usage(['render', '--pod-ip', '10.0.0.1,pod-a'], /--pod-ip .* must list IP addresses, got "pod-a"/);
      await usage(
        ['render', '--watch-ingress-without-class=yes'],
        /--watch-ingress-without-class must be true or false/,
      );
      await usage(
        ['render', '--format', 'yaml', '--nginx-binary', NO_NGINX],
        /--format must be nginx or json, got "yaml"/,
      );
      await usage(['describe', 'a/b/c'], /describe takes NAMESPACE\/NAME or NAME, got "a\/b\/c"/);
      // run says it through its logger
      const run = await runMain(main, ['run', '--kubeconfig', '/nonexistent', '--disable-sync-events=yes']);
      assert.equal(run.code, 64, run.stderr);
      assert.match(run.stderr, /UsageError: --disable-sync-events must be true or false/);
    });

    it('a manifests directory that does not exist', async () => {
      const missing = path.join(os.tmpdir(), 'itp-cli-unit-no-such-dir');
      await usage(
        ['render', '--manifests', missing, '--nginx-binary', NO_NGINX],
        new RegExp(`manifests directory ${missing} does not exist`),
      );
    });

    it('every flag can come from the environment (INGRESS_TEMPLATER_<NAME>); the command line wins', async () => {
      process.env.INGRESS_TEMPLATER_HTTP_PORT = 'eighty';
      await usage(['render'], /--http-port must be an integer 1-65535, got "eighty"/);
      process.env.INGRESS_TEMPLATER_BALANCER = 'magic';
      await usage(['render', '--http-port', '8080'], /--balancer must be auto, lua or static, got "magic"/);
    });
  });

  describe('render without nginx', () => {
    let manifests: ManifestDir;
    beforeEach(() => {
      manifests = new ManifestDir('cli-unit');
    });
    afterEach(() => {
      manifests.cleanup();
    });

    const render = (...extra: string[]) =>
      runMain(main, [
        'render',
        '--manifests',
        manifests.dir,
        '--nginx-binary',
        NO_NGINX,
        '--nginx-prefix',
        PREFIX,
        '--balancer',
        'static',
        ...extra,
      ]);

    it('prints the config for the flags given, from the environment too, exit 0', async () => {
      manifests.write('app.yaml', [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'app', namespace: 'default' },
          spec: { ports: [{ port: 80 }] },
        },
      ]);
      process.env.INGRESS_TEMPLATER_HTTPS_PORT = '8443';
      const { code, stdout, stderr } = await render('--http-port', '8080');
      assert.equal(code, 0, stderr);
      assert.match(stdout, /listen 8080/);
      assert.match(stdout, /listen 8443 ssl/);
      assert.ok(stdout.includes(path.join(PREFIX, 'ssl', 'default.pem')), 'the prefix given');
    });

    it('a bare true/false flag is true, as ingress-nginx (Go) read its boolean flags; =false and a spaced false too', async () => {
      manifests.write('classless.yaml', [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'classless', namespace: 'default' },
          spec: { rules: [{ host: 'classless.cli.test' }] },
        },
      ]);
      const served = async (...flags: string[]) => {
        const { code, stdout, stderr } = await render(...flags);
        assert.equal(code, 0, stderr);
        return stdout.includes('classless.cli.test');
      };
      assert.equal(await served('--watch-ingress-without-class=false'), false);
      assert.equal(await served('--watch-ingress-without-class', 'false'), false);
      assert.equal(await served('--watch-ingress-without-class=false', '--watch-ingress-without-class'), true);
      assert.equal(await served('--watch-ingress-without-class', '--http-port', '8080'), true);
    });

    it('rejected manifests: the problems on stderr, the config without them on stdout, exit 2', async () => {
      manifests.write('bad.yaml', [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'bad', namespace: 'default' },
          spec: {
            rules: [
              {
                host: 'Not A Host',
                http: {
                  paths: [
                    { path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } },
                  ],
                },
              },
            ],
          },
        },
      ]);
      const { code, stdout, stderr } = await render();
      assert.equal(code, 2, stderr);
      assert.match(stderr, /^error: bad\.yaml:\d+ Ingress default\/bad spec\.rules\[0\]\.host: /m);
      assert.match(stderr, /^ManifestsRejectedError: 1 problem\(s\) in the manifests; the output leaves them out$/m);
      assert.match(stdout, /^http \{$/m);
    });
  });
});
