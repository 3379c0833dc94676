// One plan for every command (src/plan.ts): `render` with run's flags prints, byte for byte, the config
// the running controller gave nginx, on manifests that use everything that needs I/O at the edges or
// that once differed between the two: an ExternalName and an auth-url host resolved by DNS, snippets
// tested by nginx (one of them refused), a canary, a TLS Secret, a settings ConfigMap.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeCert } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, configMap, ingress, service, tlsSecret } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';

describe('e2e: render prints what run applies (one plan)', function () {
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('plan');
    pods = await startPods([
      { name: 'web-pod', address: '127.0.0.121' },
      { name: 'canary-pod', address: '127.0.0.122' },
    ]);
    const tls = makeCert('shop.example.com');
    manifests.write(
      'settings.yaml',
      configMap('ingress-templater', 'default', { 'allow-snippet-annotations': 'true' }),
    );
    manifests.write('apps.yaml', [
      ...backend('web', { port: pods.port, specs: [pods.specs[0]!] }),
      ...backend('web-v2', { port: pods.port, specs: [pods.specs[1]!] }),
      service('outside', { type: 'ExternalName', externalName: 'localhost', ports: [{ port: pods.port }] }),
      tlsSecret('shop-tls', tls.cert, tls.key),
    ]);
    manifests.write('ingresses.yaml', [
      ingress('shop', {
        host: 'shop.example.com',
        tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
        annotations: {
          [`${ANNOTATION}configuration-snippet`]: 'add_header X-Snippet yes;',
          [`${ANNOTATION}auth-url`]: `http://localhost:${pods.port}/auth`,
        },
        paths: [
          { path: '/', service: 'web' },
          { path: '/out', service: 'outside', port: pods.port },
        ],
      }),
      ingress('shop-canary', {
        host: 'shop.example.com',
        annotations: { [`${ANNOTATION}canary`]: 'true', [`${ANNOTATION}canary-weight`]: '50' },
        paths: [{ path: '/', service: 'web-v2' }],
      }),
      // nginx refuses this snippet (add_header needs two arguments): run and render both leave it out
      ingress('broken', {
        host: 'broken.example.com',
        annotations: { [`${ANNOTATION}configuration-snippet`]: 'add_header X-Only-One;' },
        paths: [{ path: '/', service: 'web' }],
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', 'default/ingress-templater'] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  it("render with run's flags gives the text nginx runs, byte for byte", async function () {
    this.timeout(30_000);
    const live = fs.readFileSync(path.join(ctl!.prefix, 'nginx.conf'), 'utf8');
    // the preview resolved, tested and planned the same things: they are in the text
    assert.match(live, /auth-url host addresses: .*127\.0\.0\.1/);
    assert.match(live, /ssl_certificate "[^"]*\/ssl\/default_shop-tls-[0-9a-f]{16}\.pem";/);
    assert.match(live, /snippet-location-default_shop-/);
    assert.doesNotMatch(live, /snippet-location-default_broken-/);
    const result = await runCli(
      [
        'render',
        '--manifests',
        manifests.dir,
        '--nginx-prefix',
        ctl!.prefix,
        '--configmap',
        'default/ingress-templater',
        '--listen-address',
        '127.0.0.1',
        '--status-address',
        '127.0.0.1',
        '--http-port',
        String(ctl!.ports.http),
        '--https-port',
        String(ctl!.ports.https),
        '--status-port',
        String(ctl!.ports.status),
        '--internal-port',
        String(ctl!.ports.internal),
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(result.code, 2, `render exits 2 (manifests rejected) for the refused snippet\n${result.stderr}`);
    assert.match(result.stderr, /Ingress default\/broken .*nginx -t refused the snippet/);
    assert.ok(result.stdout === live, `render differs from the live config:\n${firstDifference(result.stdout, live)}`);
    assert.equal(result.stdout, live);
  });
});

function firstDifference(rendered: string, live: string): string {
  const la = rendered.split('\n');
  const lb = live.split('\n');
  const line = la.findIndex((l, n) => l !== lb[n]);
  return `line ${line + 1}:\n  render: ${JSON.stringify(la[line])}\n  live:   ${JSON.stringify(lb[line])}`;
}
