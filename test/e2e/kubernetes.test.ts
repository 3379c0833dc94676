// The controller against a real control plane (etcd and kube-apiserver on loopback, test/helpers/cluster.ts):
// run --kubeconfig lists and watches the API, serves what kubectl applies, pushes EndpointSlice changes to
// the Lua balancer without a reload, and follows creates and deletes. No kubelet: the test writes the
// EndpointSlices of its loopback pods itself, as the control plane would.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricKey, REPO, type RunningController, startController, stopAfter } from '../helpers/controller.js';
import { TestCluster } from '../helpers/cluster.js';
import { endpointSlice, ingress, type Obj, service, yamlDocs } from '../helpers/manifests.js';
import { PodNetwork } from '../helpers/pod-network.js';
import { type Pods, closeAll, podSpecs, startPods } from '../helpers/pods.js';
import { waitFor } from '../helpers/wait.js';

const HOST = 'web.api.test';
// the controller runs as deploy/api-rbac.yaml's ServiceAccount, with that role and nothing more
const CONTROLLER_USER = {
  name: 'system:serviceaccount:ingress-templater:ingress-templater',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ingress-templater'],
};
const OTHER = 'other.api.test';

const INGRESS_CLASS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'nginx' },
  spec: { controller: 'ingress-templater.dev/controller' },
};

describe('e2e: the Kubernetes API source (real kube-apiserver and etcd)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let ctl: RunningController | undefined;
  let pods: Pods;
  let emptyDir: string;
  const network = new PodNetwork();
  let podIPs: string[] = []; // the pods' addresses as the API holds them (routed to their loopback addresses)
  const apply = (...documents: Obj[]) => cluster.kubectl(['apply', '-f', '-'], { input: yamlDocs(documents) });
  // the test's objects: a Service (port 80, named http, to the pods' port), its slice of ready pods, an Ingress
  const webService = (name: string) => service(name, { ports: [{ name: 'http', port: 80, targetPort: pods.port }] });
  const slice = (name: string, addresses: string[]) =>
    endpointSlice(`${name}-1`, name, {
      endpoints: addresses.map((ip) => ({ ip, ready: true })),
      port: pods.port,
      portName: 'http',
    });
  const route = (name: string, host: string) =>
    ingress(name, { host, className: 'nginx', paths: [{ path: '/', service: name, port: 'http' }] });
  const podOf = async (host: string) => {
    const reply = await ctl!.http(host, '/');
    return reply.pod ? reply.pod.pod : `status ${reply.status}`;
  };

  before(async function () {
    this.timeout(180_000);
    cluster = new TestCluster({ users: [CONTROLLER_USER, { name: 'nobody' }] });
    await cluster.start();
    cluster.kubectl([
      'apply',
      '-f',
      path.join(REPO, 'deploy/namespace.yaml'),
      '-f',
      path.join(REPO, 'deploy/api-rbac.yaml'),
    ]);
    pods = await startPods(podSpecs('api', '127.0.61.1', 4));
    podIPs = network.route(pods.specs.map((spec) => spec.address));
    emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-api-manifests-'));
    apply(INGRESS_CLASS, webService('web'), slice('web', [podIPs[0]!, podIPs[1]!]), route('web', HOST));
    ctl = await startController({
      manifests: emptyDir,
      extraArgs: ['--kubeconfig', cluster.kubeconfig(cluster.users[0])],
      readyTimeoutMs: 30_000,
    });
  });
  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      network.close();
      await cluster?.stop();
      fs.rmSync(emptyDir, { recursive: true, force: true });
    },
  );

  it('serves what the API holds: the Ingress routes to the ready endpoints of its EndpointSlice', async () => {
    const answered = new Set<string>();
    await waitFor(
      async () => {
        answered.add(await podOf(HOST));
        return answered.has('api-1') && answered.has('api-2');
      },
      { timeoutMs: 15_000, what: 'both pods of the slice answering' },
    );
    assert.deepEqual(
      [...answered].filter((pod) => pod.startsWith('status')),
      [],
    );
  });

  it('an EndpointSlice change is pushed to the Lua balancer: the new pods answer, and nginx is not reloaded', async () => {
    const reloads = await ctl!.metric('reloads_total');
    apply(slice('web', [podIPs[2]!, podIPs[3]!]));
    await waitFor(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 8; i++) seen.add(await podOf(HOST));
        return [...seen].every((pod) => pod === 'api-3' || pod === 'api-4');
      },
      { timeoutMs: 15_000, what: 'only the new pods answering' },
    );
    const metrics = await ctl!.metrics();
    assert.equal(metrics.get(metricKey('reloads_total')), reloads, 'no reload for an endpoint change');
  });

  it('an Ingress created through kubectl is served, and deleting it takes its host away', async () => {
    apply(webService('other'), slice('other', [podIPs[0]!]), route('other', OTHER));
    await waitFor(async () => (await podOf(OTHER)) === 'api-1', { timeoutMs: 15_000, what: 'the new host served' });
    cluster.kubectl(['delete', 'ingress', 'other', '--namespace', 'default']);
    await waitFor(async () => (await podOf(OTHER)) === 'status 404', { timeoutMs: 15_000, what: 'the host gone' });
    assert.match(await podOf(HOST), /^api-[34]$/, 'the other host keeps answering');
  });

  it('an API server restart: traffic keeps flowing from the last good state, and changes after it still arrive', async () => {
    const failures: string[] = [];
    let sent = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        sent++;
        const pod = await podOf(HOST).catch((err: Error) => `error ${err.message}`);
        if (!/^api-[34]$/.test(pod)) failures.push(pod);
      }
    })();
    try {
      await cluster.restartApiserver(2000);
    } finally {
      running = false;
      await traffic;
    }
    assert.ok(sent > 20, `requests sent during the restart: ${sent}`);
    assert.deepEqual(failures, [], 'no request failed while the API server was away');
    apply(slice('web', [podIPs[0]!]));
    await waitFor(async () => (await podOf(HOST)) === 'api-1', {
      timeoutMs: 30_000,
      what: 'a change made after the restart served (the watches came back)',
    });
  });

  it("a user without deploy/api-rbac.yaml's role is refused by the API server: never ready, the 403 logged", async () => {
    const denied = await startController({
      manifests: emptyDir,
      extraArgs: ['--kubeconfig', cluster.kubeconfig(cluster.users[1])],
      waitReady: false,
    });
    try {
      await waitFor(() => /"event":"api_watch_failed"[^\n]*"status":403/.test(denied.log()), {
        timeoutMs: 15_000,
        what: 'a 403 in the log',
      });
      assert.equal(await denied.healthz(), 503, 'not ready without its lists');
    } finally {
      await denied.stop();
    }
  });
});
