// Ingress status against a real control plane (test/helpers/cluster.ts): the leader of the controller's
// replicas (a Lease in POD_NAMESPACE) writes the --publish-service Service's load balancer address on every
// Ingress it serves, and only there; two replicas both serve traffic while one writes; stopping the leader
// hands the Lease over at once and the other keeps the status right; the last replica removes the address on
// shutdown; --publish-status-address publishes a fixed list. The controller runs as deploy/'s ServiceAccount
// with exactly the roles `kubectl kustomize deploy/` renders (test/helpers/deploy-rbac.ts), its Lease named as there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricKey, type RunningController, startController, stopAfter } from '../helpers/controller.js';
import { TestCluster } from '../helpers/cluster.js';
import { applyDeployRbac, deployRbac } from '../helpers/deploy-rbac.js';
import { endpointSlice, ingress, type Obj, service, yamlDocs, ingressClass } from '../helpers/manifests.js';
import { PodNetwork } from '../helpers/pod-network.js';
import { type Pods, closeAll, podSpecs, startPods } from '../helpers/pods.js';
import { waitFor } from '../helpers/wait.js';

const RBAC = deployRbac();
const NAMESPACE = RBAC.namespace; // POD_NAMESPACE: the Lease and the publish Service live here
const LEASE = 'ingress-templater-leader'; // deploy/'s --election-id, the one name its Role lets the Lease have
const PUBLISH = 'ingress-templater'; // the LoadBalancer Service in front of the replicas
const CONTROLLER_USER = RBAC.user;
const TTL_SECONDS = 4;
// the replicas' pod addresses as the publish Service's EndpointSlice names them
const POD_IPS: Record<string, string> = { 'replica-a': '10.244.0.11', 'replica-b': '10.244.0.12' };

const INGRESS_CLASS = ingressClass();

describe('e2e: Ingress status from the leader of two replicas (real kube-apiserver and etcd)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let pods: Pods;
  let emptyDir: string;
  const network = new PodNetwork();
  const replicas = new Map<string, RunningController>();
  const apply = (...documents: Obj[]) => cluster.kubectl(['apply', '-f', '-'], { input: yamlDocs(documents) });
  const route = (name: string, host: string, className = 'nginx') =>
    ingress(name, { host, className, paths: [{ path: '/', service: 'web', port: 'http' }] });
  /** the addresses `kubectl get ingress` shows, as "ip-or-hostname,..." */
  const addressOf = (name: string) =>
    cluster.kubectl(['get', 'ingress', name, '-n', 'default', '-o', 'jsonpath={.status.loadBalancer.ingress}']).trim();
  const shown = (name: string) => {
    const text = addressOf(name);
    const list = text ? (JSON.parse(text) as { ip?: string; hostname?: string }[]) : [];
    return list.map((entry) => entry.ip ?? entry.hostname).join(',');
  };
  const holder = () =>
    cluster.kubectl(['get', 'lease', LEASE, '-n', NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}']).trim();
  const setLoadBalancer = (...ips: string[]) =>
    cluster.kubectl([
      'patch',
      'service',
      PUBLISH,
      '-n',
      NAMESPACE,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } }),
    ]);
  const statusWrites = (ctl: RunningController) =>
    ctl
      .log()
      .split('\n')
      .filter((line) => line.includes('"event":"ingress_status"'));
  const start = async (name: string, publish: string[]) => {
    const ctl = await startController({
      manifests: emptyDir,
      extraArgs: [
        '--kubeconfig',
        cluster.kubeconfig(cluster.users[0]),
        ...publish,
        '--election-id',
        LEASE,
        '--election-ttl',
        `${TTL_SECONDS}s`,
        '--pod-ip',
        POD_IPS[name] ?? '10.244.0.99',
        '--log-format',
        'json',
      ],
      env: { POD_NAME: name, POD_NAMESPACE: NAMESPACE },
      readyTimeoutMs: 30_000,
    });
    replicas.set(name, ctl);
    return ctl;
  };
  const served = async (ctl: RunningController, host: string) => (await ctl.http(host, '/')).pod?.pod;

  before(async function () {
    this.timeout(180_000);
    cluster = new TestCluster({ users: [CONTROLLER_USER] });
    await cluster.start();
    applyDeployRbac(cluster, RBAC);
    pods = await startPods(podSpecs('status', '127.0.62.1', 1));
    const podIPs = network.route(pods.specs.map((spec) => spec.address));
    emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-status-manifests-'));
    apply(
      INGRESS_CLASS,
      service('web', { ports: [{ name: 'http', port: 80, targetPort: pods.port }] }),
      endpointSlice('web-1', 'web', {
        endpoints: [{ ip: podIPs[0]!, ready: true }],
        port: pods.port,
        portName: 'http',
      }),
      route('web', 'web.status.test'),
      route('leaving', 'leaving.status.test'),
      route('theirs', 'theirs.status.test', 'other'),
      ingress('fallback', { className: 'nginx', defaultBackend: { service: 'web', port: 'http' } }),
      service(PUBLISH, { namespace: NAMESPACE, type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] }),
      // the replicas behind the publish Service, as the EndpointSlice controller would list them
      publishSlice('replica-a', 'replica-b'),
    );
    setLoadBalancer('203.0.113.10');
  });
  const publishSlice = (...names: string[]) =>
    endpointSlice(`${PUBLISH}-1`, PUBLISH, {
      namespace: NAMESPACE,
      endpoints: names.map((name) => ({ ip: POD_IPS[name]!, ready: true })),
      port: 80,
      portName: 'http',
    });
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [name, ctl] of replicas) process.stderr.write(`\n--- ${name} log:\n${ctl.log().slice(-4000)}\n`);
  });
  stopAfter(
    () => undefined,
    async () => {
      for (const ctl of replicas.values()) if (!ctl.hasExited) await ctl.stop();
      await closeAll(pods);
      network.close();
      await cluster?.stop();
      fs.rmSync(emptyDir, { recursive: true, force: true });
    },
  );

  it("--publish-service: the LoadBalancer Service's address appears on every Ingress served, a default-backend-only one included", async () => {
    const first = await start('replica-a', ['--publish-service', `${NAMESPACE}/${PUBLISH}`]);
    await waitFor(() => holder() === 'replica-a', { timeoutMs: 10_000, what: 'replica-a holding the Lease' });
    for (const name of ['web', 'leaving', 'fallback']) {
      await waitFor(() => shown(name) === '203.0.113.10', {
        timeoutMs: 15_000,
        what: `the address on Ingress ${name}`,
      });
    }
    assert.equal(await served(first, 'web.status.test'), 'status-1');
    assert.equal(shown('theirs'), '', "another class's Ingress gets no address");
    const writes = statusWrites(first).length;
    assert.equal(writes, 3, `one write per served Ingress:\n${statusWrites(first).join('\n')}`);
  });

  it('two replicas: both serve traffic, only the Lease holder writes status, and an address change reaches every Ingress', async () => {
    const first = replicas.get('replica-a')!;
    const second = await start('replica-b', ['--publish-service', `${NAMESPACE}/${PUBLISH}`]);
    assert.equal(await served(first, 'web.status.test'), 'status-1');
    assert.equal(await served(second, 'web.status.test'), 'status-1');
    await waitFor(() => /"event":"leader_observed"[^\n]*"leader":"replica-a"/.test(second.log()), {
      timeoutMs: 10_000,
      what: 'replica-b seeing replica-a lead',
    });
    assert.equal(holder(), 'replica-a');
    const before = await Promise.all([first.settle(500), second.settle(500)]);
    setLoadBalancer('203.0.113.11');
    for (const name of ['web', 'leaving', 'fallback']) {
      await waitFor(() => shown(name) === '203.0.113.11', { timeoutMs: 15_000, what: `the new address on ${name}` });
    }
    // the writes come back to both replicas as Ingress watch events (a sync each), but nothing they route
    // changed: no model is built again (the duration of the last build stays the same), not even the endpoint
    // fast path runs (an empty change would take it), nothing is reloaded
    const after = await Promise.all([first.settle(1000), second.settle(1000)]);
    for (const [index, metrics] of after.entries()) {
      const was = before[index]!;
      assert.ok(metrics.get(metricKey('syncs_total'))! > was.get(metricKey('syncs_total'))!, 'the events arrived');
      for (const metric of ['build_render_seconds', 'endpoint_syncs_total', 'reloads_total'])
        assert.equal(metrics.get(metricKey(metric)), was.get(metricKey(metric)), `${metric} unchanged`);
    }
    // the log arrives through a pipe: a moment after the API shows the writes
    await waitFor(() => statusWrites(first).length === 6, {
      timeoutMs: 5000,
      what: 'the leader logging 3 more writes',
    });
    assert.deepEqual(statusWrites(second), [], 'the other replica wrote nothing');
    const managers = cluster
      .kubectl(['get', 'ingress', 'web', '-n', 'default', '--show-managed-fields', '-o', 'json'])
      .match(/"subresource": "status"/g);
    assert.equal(managers?.length, 1, 'one status field manager');
  });

  it('an Ingress that leaves the class loses the address; one that joins gets it', async () => {
    cluster.kubectl([
      'patch',
      'ingress',
      'leaving',
      '-n',
      'default',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { ingressClassName: 'other' } }),
    ]);
    cluster.kubectl([
      'patch',
      'ingress',
      'theirs',
      '-n',
      'default',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { ingressClassName: 'nginx' } }),
    ]);
    await waitFor(() => shown('leaving') === '', { timeoutMs: 15_000, what: 'the address removed from leaving' });
    await waitFor(() => shown('theirs') === '203.0.113.11', { timeoutMs: 15_000, what: 'the address on theirs' });
    assert.equal(shown('web'), '203.0.113.11');
  });

  it('the leader stops: the Lease is handed over at once, the addresses stay (another replica serves), and the new leader follows the Service', async () => {
    const first = replicas.get('replica-a')!;
    const second = replicas.get('replica-b')!;
    const stopped = Date.now();
    await first.stopChecked();
    assert.match(first.log(), /other replicas still serve[^\n]*"event":"ingress_status_kept"/);
    assert.match(first.log(), /"event":"leader_released"/);
    // replica-a's pod is gone: the EndpointSlice controller drops it from the publish Service
    apply(publishSlice('replica-b'));
    await waitFor(() => holder() === 'replica-b', {
      timeoutMs: TTL_SECONDS * 1000,
      what: 'replica-b holding the Lease',
    });
    const takeover = Date.now() - stopped;
    assert.ok(takeover < TTL_SECONDS * 1000, `taken over in ${takeover} ms`);
    assert.equal(shown('web'), '203.0.113.11', 'the address stayed through the handover');
    setLoadBalancer('203.0.113.12');
    for (const name of ['web', 'theirs', 'fallback']) {
      await waitFor(() => shown(name) === '203.0.113.12', {
        timeoutMs: 15_000,
        what: `the address from replica-b on ${name}`,
      });
    }
    assert.equal(shown('leaving'), '');
    await waitFor(() => statusWrites(second).length >= 3, { timeoutMs: 5000, what: 'replica-b logging its writes' });
    assert.equal(await served(second, 'web.status.test'), 'status-1');
  });

  it('the last replica stops: it removes the address from every Ingress (--update-status-on-shutdown)', async () => {
    const second = replicas.get('replica-b')!;
    await second.stopChecked();
    assert.match(second.log(), /"event":"ingress_status_clear"/);
    for (const name of ['web', 'theirs', 'fallback']) assert.equal(shown(name), '', `no address left on ${name}`);
    assert.equal(holder(), '', 'the Lease released');
  });

  it('--publish-status-address: a fixed list of IPs and host names, written by the new leader on every Ingress', async () => {
    const third = await start('replica-c', ['--publish-status-address', '198.51.100.5, lb.status.test']);
    await waitFor(() => holder() === 'replica-c', { timeoutMs: 10_000, what: 'replica-c holding the Lease' });
    for (const name of ['web', 'theirs', 'fallback']) {
      await waitFor(() => shown(name) === '198.51.100.5,lb.status.test', {
        timeoutMs: 15_000,
        what: `the fixed list on ${name}`,
      });
    }
    assert.equal(shown('leaving'), '');
    assert.equal(await served(third, 'web.status.test'), 'status-1');
    // ingress-nginx's order: by hostname, then IP (an entry without a hostname first)
    assert.equal(addressOf('web'), JSON.stringify([{ ip: '198.51.100.5' }, { hostname: 'lb.status.test' }]));
  });
});
