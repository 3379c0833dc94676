// The container image in API mode against a real kube-apiserver: the image's own Node (Debian bookworm's
// 18, older than this machine's) runs client-node's credentials (an exec plugin, the hardest of them), the
// list/watch loop and the endpoint push.
// It runs as the image runs in deploy/ (read-only root, no capabilities, uid 101), on the host network so
// that it reaches the API server and serves on loopback. Needs root, podman and the image that
// scripts/image-smoke.sh builds (CI=true builds it before the tests); skipped when they are not there.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestCluster } from '../helpers/cluster.js';
import { applyDeployRbac, deployRbac } from '../helpers/deploy-rbac.js';
import { request } from '../helpers/http.js';
import { endpointSlice, ingress, type Obj, service, yamlDocs, ingressClass } from '../helpers/manifests.js';
import { PodNetwork } from '../helpers/pod-network.js';
import { type Pods, closeAll, podSpecs, startPods } from '../helpers/pods.js';
import { freePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const TAG = 'localhost/ingress-templater:test';
const PODMAN_ENV = '/var/tmp/ingress-templater-image/podman.env'; // scripts/image-build.sh writes it
const HOST = 'image.api.test';
// the controller runs as deploy/'s ServiceAccount, with the roles `kubectl kustomize deploy/` renders
const rbac = deployRbac();

/** podman's environment as the image build left it, or null when there is no image to test. */
function podmanEnvironment(): NodeJS.ProcessEnv | null {
  if (process.getuid?.() !== 0 || !fs.existsSync(PODMAN_ENV)) return null;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const match of fs.readFileSync(PODMAN_ENV, 'utf8').matchAll(/^export (\w+)="([^"]*)"$/gm)) {
    env[match[1]!] = match[2]!;
  }
  try {
    execFileSync('podman', ['image', 'exists', TAG], { env, stdio: 'ignore' });
    return env;
  } catch {
    return null;
  }
}

describe('e2e: the container image in API mode (real kube-apiserver, podman)', function () {
  this.timeout(60_000);
  const env = podmanEnvironment();
  const name = `ingress-templater-api-${process.pid}`;
  let cluster: TestCluster;
  let pods: Pods;
  let dir: string;
  let started = false;
  const network = new PodNetwork();
  let podIPs: string[] = [];
  let ports: { http: number; https: number; status: number; internal: number };
  const podman = (...args: string[]) => execFileSync('podman', args, { env: env!, encoding: 'utf8', stdio: 'pipe' });
  const apply = (...documents: Obj[]) => cluster.kubectl(['apply', '-f', '-'], { input: yamlDocs(documents) });
  const slice = (addresses: string[]) =>
    endpointSlice('web-1', 'web', {
      endpoints: addresses.map((ip) => ({ ip, ready: true })),
      port: pods.port,
      portName: 'http',
    });
  const podOf = async () => {
    const reply = await request(ports.http, HOST, '/');
    return reply.pod?.pod ?? `status ${reply.status}`;
  };
  // the controller logs on stderr, nginx's lines pass through it: podman logs gives both
  const logs = () => {
    const result = spawnSync('podman', ['logs', name], { env: env!, encoding: 'utf8' });
    return `${result.stdout}${result.stderr}`;
  };

  before(async function () {
    if (!env) this.skip();
    this.timeout(180_000);
    cluster = new TestCluster({ users: [rbac.user] });
    await cluster.start();
    applyDeployRbac(cluster, rbac);
    pods = await startPods(podSpecs('image', '127.0.64.1', 2));
    podIPs = network.route(pods.specs.map((spec) => spec.address));
    apply(
      ingressClass(),
      service('web', { ports: [{ name: 'http', port: 80, targetPort: pods.port }] }),
      slice([podIPs[0]!]),
      ingress('web', { host: HOST, className: 'nginx', paths: [{ path: '/', service: 'web', port: 'http' }] }),
    );
    // the kubeconfig as a user mounts it: readable by the image's uid 101, the CA inside it
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-image-api-'));
    const config = JSON.parse(fs.readFileSync(cluster.kubeconfig(cluster.users[0]), 'utf8'));
    const cluster0 = config.clusters[0].cluster;
    cluster0['certificate-authority-data'] = fs.readFileSync(cluster0['certificate-authority']).toString('base64');
    delete cluster0['certificate-authority'];
    // the user's credentials from an exec plugin, as cloud kubeconfigs have them: client-node on the image's Node
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: config.users[0].user.token },
    };
    fs.writeFileSync(path.join(dir, 'credential-plugin'), `#!/bin/sh\necho '${JSON.stringify(credential)}'\n`, {
      mode: 0o755,
    });
    config.users[0].user = {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/etc/ingress-templater/credential-plugin',
        interactiveMode: 'Never',
      },
    };
    fs.writeFileSync(path.join(dir, 'kubeconfig'), JSON.stringify(config), { mode: 0o644 });
    fs.chmodSync(dir, 0o755);
    for (const sub of ['state', 'tmp']) fs.mkdirSync(path.join(dir, sub), { mode: 0o777 });
    for (const sub of ['state', 'tmp']) fs.chmodSync(path.join(dir, sub), 0o777);
    const [http, https, status, internal] = await freePorts(4);
    ports = { http: http!, https: https!, status: status!, internal: internal! };
    podman(
      ...['run', '-d', '--name', name, '--network=host', '--read-only', '--read-only-tmpfs=false'],
      ...['--cap-drop=ALL', '--security-opt=no-new-privileges', '--no-healthcheck'],
      ...['-v', `${path.join(dir, 'state')}:/var/run/ingress-templater`, '-v', `${path.join(dir, 'tmp')}:/tmp`],
      ...['-v', `${path.join(dir, 'kubeconfig')}:/etc/ingress-templater/kubeconfig:ro`],
      ...['-v', `${path.join(dir, 'credential-plugin')}:/etc/ingress-templater/credential-plugin:ro`],
      ...['-e', 'INGRESS_TEMPLATER_LISTEN_ADDRESS=127.0.0.1', '-e', 'INGRESS_TEMPLATER_STATUS_ADDRESS=127.0.0.1'],
      ...['-e', `INGRESS_TEMPLATER_HTTP_PORT=${ports.http}`, '-e', `INGRESS_TEMPLATER_HTTPS_PORT=${ports.https}`],
      ...['-e', `INGRESS_TEMPLATER_STATUS_PORT=${ports.status}`],
      ...['-e', `INGRESS_TEMPLATER_INTERNAL_PORT=${ports.internal}`],
      TAG,
      ...['--kubeconfig', '/etc/ingress-templater/kubeconfig'],
    );
    started = true;
    const healthy = async () => (await request(ports.status, '127.0.0.1', '/healthz').catch(() => null))?.status;
    await waitFor(async () => (await healthy()) === 200, { timeoutMs: 60_000, what: 'the image ready' }).catch(
      (error: Error) => {
        throw new Error(`${error.message}; its log:\n${logs()}`);
      },
    );
  });

  after(async function () {
    this.timeout(60_000);
    if (started) {
      try {
        podman('rm', '-f', '-t', '5', name);
      } catch {
        // already gone
      }
    }
    if (pods) await closeAll(pods);
    network.close();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs on the image's Node with an exec credential plugin and serves the Ingress the API holds", async () => {
    const version = podman(
      'run',
      '--rm',
      '--network=none',
      '--no-healthcheck',
      '--entrypoint',
      'node',
      TAG,
      '--version',
    ).trim();
    assert.match(version, /^v\d+\./);
    assert.equal(await podOf(), 'image-1', `served through the image (node ${version})`);
    assert.match(logs(), /watching the Kubernetes API/);
  });

  it('an EndpointSlice change reaches the Lua balancer of the image without a reload', async () => {
    const reloadsBefore = (logs().match(/"event":"reload"/g) ?? []).length;
    apply(slice([podIPs[1]!]));
    await waitFor(async () => (await podOf()) === 'image-2', { timeoutMs: 15_000, what: 'the new pod answering' });
    assert.equal((logs().match(/"event":"reload"/g) ?? []).length, reloadsBefore);
  });
});
