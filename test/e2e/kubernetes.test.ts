// The controller against a real control plane (etcd and kube-apiserver on loopback, test/helpers/cluster.ts):
// run --kubeconfig lists and watches the API, serves what kubectl applies, pushes EndpointSlice changes to
// the Lua balancer without a reload, follows creates and deletes, serves TLS from Secrets, and survives
// a restarted API server, dropped watches, an outage and a 410 Gone. No kubelet: the test writes the
// EndpointSlices of its loopback pods itself, as the control plane would. The controller runs as the
// ServiceAccount of deploy/ with exactly the roles `kubectl kustomize deploy/` renders, and nothing more.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCert, type KeyPair } from '../helpers/certs.js';
import { TestCluster } from '../helpers/cluster.js';
import {
  type Metrics,
  metricKey,
  REPO,
  type RunningController,
  startController,
  stopAfter,
} from '../helpers/controller.js';
import { applyDeployRbac, deployRbac, renderDeploy } from '../helpers/deploy-rbac.js';
import { endpointSlice, ingress, type Obj, service, yamlDocs, ingressClass } from '../helpers/manifests.js';
import { PodNetwork } from '../helpers/pod-network.js';
import { type Pods, closeAll, podSpecs, startPods } from '../helpers/pods.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { sleep, waitFor } from '../helpers/wait.js';

const HOST = 'web.api.test';
const OTHER = 'other.api.test';
const SECURE = 'secure.api.test';
const FOREIGN = 'foreign.api.test';
const MARKER = 'marker.api.test';
const OUTSIDE = 'outside.api.test';
// the settings ConfigMap deploy/ renders and its Deployment names (--configmap)
const SETTINGS = 'ingress-templater/ingress-templater-settings';
// what the controller watches in API mode, each with its own list and watch
const KINDS = ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Secret', 'ConfigMap'];

const INGRESS_CLASS = ingressClass();

const fingerprint = (pem: string) => new crypto.X509Certificate(pem).fingerprint256;

/** The test's objects, for a cluster and its pods: a Service (port 80 named http), its slice, an Ingress. */
class Objects {
  constructor(
    private readonly cluster: TestCluster,
    private readonly pods: () => Pods,
  ) {}

  apply(...documents: Obj[]): void {
    this.cluster.kubectl(['apply', '-f', '-'], { input: yamlDocs(documents) });
  }

  service(name: string, namespace?: string): Obj {
    return service(name, { namespace, ports: [{ name: 'http', port: 80, targetPort: this.pods().port }] });
  }

  slice(name: string, addresses: string[], namespace?: string): Obj {
    return endpointSlice(`${name}-1`, name, {
      namespace,
      endpoints: addresses.map((ip) => ({ ip, ready: true })),
      port: this.pods().port,
      portName: 'http',
    });
  }

  /** An Ingress of class nginx routing host to the Service of the same name (or options.service). */
  route(name: string, host: string, options: { namespace?: string; service?: string; tlsSecret?: string } = {}) {
    return ingress(name, {
      host,
      namespace: options.namespace,
      className: 'nginx',
      paths: [{ path: '/', service: options.service ?? name, port: 'http' }],
      ...(options.tlsSecret ? { tls: [{ hosts: [host], secretName: options.tlsSecret }] } : {}),
    });
  }
}

/** Which pod answered host through controller, or "status N" when none did. */
async function podVia(controller: RunningController, host: string): Promise<string> {
  const reply = await controller.http(host, '/');
  return reply.pod ? reply.pod.pod : `status ${reply.status}`;
}

/** The metric's sample for each watched kind. */
function perKind(metrics: Metrics, name: string): Record<string, number | undefined> {
  return Object.fromEntries(KINDS.map((kind) => [kind, metrics.get(metricKey(name, { kind }))]));
}

/** Requests to host in a loop until stopped; every answer that is not one of the pods is a failure. */
function steadyTraffic(controller: RunningController, host: string, pods: RegExp) {
  const failures: string[] = [];
  let sent = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      sent++;
      const pod = await podVia(controller, host).catch((err: Error) => `error ${err.message}`);
      if (!pods.test(pod)) failures.push(pod);
    }
  })();
  return {
    async stop(): Promise<{ sent: number; failures: string[] }> {
      running = false;
      await loop;
      return { sent, failures };
    },
  };
}

/** etcd's current revision, then a physical compaction at it, through etcd's v3 HTTP gateway. */
async function compactEtcd(etcdPort: number): Promise<number> {
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`http://127.0.0.1:${etcdPort}${route}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `${route}: ${text}`);
    return JSON.parse(text) as { header: { revision: string } };
  };
  const revision = Number((await post('/v3/kv/range', { key: 'AA==' })).header.revision);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

describe('e2e: the Kubernetes API source (real kube-apiserver and etcd, the RBAC of deploy/)', function () {
  this.timeout(60_000);
  const rbac = deployRbac();
  let cluster: TestCluster;
  let ctl: RunningController | undefined;
  let pods: Pods;
  let emptyDir: string;
  let certDir: string;
  const network = new PodNetwork();
  let podIPs: string[] = []; // the pods' addresses as the API holds them (routed to their loopback addresses)
  let objects: Objects;
  const podOf = (host: string) => podVia(ctl!, host);
  const controllerArgs = (user = cluster.users[0]) => [
    '--kubeconfig',
    cluster.kubeconfig(user),
    '--configmap',
    SETTINGS,
  ];

  before(async function () {
    this.timeout(180_000);
    cluster = new TestCluster({ users: [rbac.user, { name: 'nobody' }] });
    await cluster.start();
    applyDeployRbac(cluster, rbac);
    objects = new Objects(cluster, () => pods);
    // deploy/'s settings ConfigMap, as its Deployment names it
    objects.apply(...renderDeploy().filter((document) => document.kind === 'ConfigMap'));
    pods = await startPods(podSpecs('api', '127.0.61.1', 4));
    podIPs = network.route(pods.specs.map((spec) => spec.address));
    emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-api-manifests-'));
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-api-certs-'));
    objects.apply(
      INGRESS_CLASS,
      objects.service('web'),
      objects.slice('web', [podIPs[0]!, podIPs[1]!]),
      objects.route('web', HOST),
    );
    ctl = await startController({ manifests: emptyDir, extraArgs: controllerArgs(), readyTimeoutMs: 30_000 });
  });
  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      network.close();
      await cluster?.stop();
      if (emptyDir) fs.rmSync(emptyDir, { recursive: true, force: true });
      if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
    },
  );

  it('deploy/ grants exactly the verbs the controller uses; the API server refuses it the rest', () => {
    const rules = (kind: string) =>
      (rbac.documents.find((document) => document.kind === kind)!.rules as Obj[]).flatMap((rule) =>
        (rule.resources as string[]).map((resource) => {
          const names = rule.resourceNames ? `/${(rule.resourceNames as string[]).join(',')}` : '';
          const group = (rule.apiGroups as string[]).join(',');
          return `${group || 'core'}:${resource}${names} ${(rule.verbs as string[]).join(',')}`;
        }),
      );
    assert.deepEqual(rules('ClusterRole').sort(), [
      'core:configmaps list,watch',
      'core:events create,patch',
      'core:secrets list,watch',
      'core:services list,watch',
      'discovery.k8s.io:endpointslices list,watch',
      'networking.k8s.io:ingressclasses list,watch',
      'networking.k8s.io:ingresses list,watch',
      'networking.k8s.io:ingresses/status update',
    ]);
    assert.deepEqual(rules('Role').sort(), [
      'coordination.k8s.io:leases create',
      'coordination.k8s.io:leases/ingress-templater-leader get,update',
    ]);
    // the API server's own answer (SubjectAccessReview) for the controller's user
    const can = (args: string[]) => {
      const impersonate = ['--as', rbac.user.name, ...rbac.user.groups.flatMap((group) => ['--as-group', group])];
      try {
        return cluster.kubectl(['auth', 'can-i', ...args, ...impersonate]).trim();
      } catch (error) {
        return String((error as { stdout?: string }).stdout).trim();
      }
    };
    const ns = ['-n', rbac.namespace];
    const granted = [
      ['watch', 'ingresses.networking.k8s.io', '-A'],
      ['list', 'endpointslices.discovery.k8s.io', '-n', 'default'],
      ['update', 'ingresses.networking.k8s.io', '--subresource=status', '-n', 'default'],
      ['create', 'events', '-n', 'default'],
      ['watch', 'configmaps', '-n', 'default'],
      ['update', 'leases.coordination.k8s.io/ingress-templater-leader', ...ns],
      ['create', 'leases.coordination.k8s.io', ...ns],
    ];
    const refused = [
      ['get', 'secrets/web-tls', '-n', 'default'],
      ['update', 'ingresses.networking.k8s.io', '-n', 'default'],
      ['get', 'configmaps/ingress-templater-settings', ...ns],
      ['update', 'configmaps/ingress-templater-settings', ...ns],
      ['get', 'leases.coordination.k8s.io/another-lease', ...ns],
      ['delete', 'leases.coordination.k8s.io/ingress-templater-leader', ...ns],
      ['create', 'pods', '-n', 'default'],
    ];
    assert.deepEqual(
      granted.map((args) => `${args.join(' ')}: ${can(args)}`),
      granted.map((args) => `${args.join(' ')}: yes`),
    );
    assert.deepEqual(
      refused.map((args) => `${args.join(' ')}: ${can(args)}`),
      refused.map((args) => `${args.join(' ')}: no`),
    );
  });

  it('deploy/ (API mode), deploy/configmap-volume/ and the sidecar Pod: rendered offline, accepted by the API server', () => {
    for (const dir of ['deploy', 'deploy/configmap-volume']) {
      const rendered = renderDeploy(path.join(REPO, dir));
      const out = cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: yamlDocs(rendered) });
      assert.match(out, /deployment\.apps\/ingress-templater (created|configured|unchanged) \(server dry run\)/);
    }
    const sidecar = cluster.kubectl(['apply', '--dry-run=server', '-f', path.join(REPO, 'deploy/sidecar.yaml')]);
    assert.match(sidecar, /pod\/ingress-templater-sidecar created \(server dry run\)/);
  });

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
    objects.apply(objects.slice('web', [podIPs[2]!, podIPs[3]!]));
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
    objects.apply(objects.service('other'), objects.slice('other', [podIPs[0]!]), objects.route('other', OTHER));
    await waitFor(async () => (await podOf(OTHER)) === 'api-1', { timeoutMs: 15_000, what: 'the new host served' });
    cluster.kubectl(['delete', 'ingress', 'other', '--namespace', 'default']);
    await waitFor(async () => (await podOf(OTHER)) === 'status 404', { timeoutMs: 15_000, what: 'the host gone' });
    assert.match(await podOf(HOST), /^api-[34]$/, 'the other host keeps answering');
  });

  it('TLS from a kubernetes.io/tls Secret made with kubectl: served for its host, and a rotated Secret is served', async () => {
    const secret = (pair: KeyPair, extra: string[] = []) => {
      const crt = path.join(certDir, 'tls.crt');
      const key = path.join(certDir, 'tls.key');
      fs.writeFileSync(crt, pair.cert);
      fs.writeFileSync(key, pair.key, { mode: 0o600 });
      return cluster.kubectl([
        'create',
        'secret',
        'tls',
        'web-tls',
        '-n',
        'default',
        '--cert',
        crt,
        '--key',
        key,
        ...extra,
      ]);
    };
    const served = async () => {
      const reply = await ctl!.https(SECURE, '/');
      return reply.status === 200 && /^api-[34]$/.test(reply.pod?.pod ?? '') ? reply.cert?.fingerprint256 : undefined;
    };
    // ten answers in a row: for a moment after a reload an old worker may still take a connection with the
    // previous config (nginx's graceful handover)
    const servedSteadily = async (cert: string) => {
      for (let count = 0; count < 10; count++) if ((await served()) !== fingerprint(cert)) return false;
      return true;
    };
    const first = makeCert(SECURE);
    secret(first);
    objects.apply(objects.route('secure', SECURE, { service: 'web', tlsSecret: 'web-tls' }));
    await waitFor(() => servedSteadily(first.cert), {
      timeoutMs: 20_000,
      what: "the Secret's certificate served for its host",
    });
    const reply = await ctl!.https(SECURE, '/');
    assert.equal(reply.cert?.subject.CN, SECURE);
    assert.equal(reply.cert?.subjectaltname, `DNS:${SECURE}`);

    // rotation as cert-manager or an operator does it: the same Secret, a new key pair
    const second = makeCert(SECURE);
    const manifest = secret(second, ['--dry-run=client', '-o', 'yaml']);
    cluster.kubectl(['apply', '-f', '-'], { input: manifest });
    await waitFor(() => servedSteadily(second.cert), {
      timeoutMs: 20_000,
      what: 'the rotated certificate served',
    });
  });

  it('an Ingress of another class is not served (its IngressClass names another controller)', async () => {
    const foreignClass = ingressClass('another', 'example.com/another-controller');
    // one apply, the foreign Ingress first: once the marker is served, the foreign one has been seen too
    objects.apply(
      foreignClass,
      ingress('foreign', { host: FOREIGN, className: 'another', paths: [{ path: '/', service: 'web', port: 'http' }] }),
      objects.route('marker', MARKER, { service: 'web' }),
    );
    await waitFor(async () => /^api-[34]$/.test(await podOf(MARKER)), { timeoutMs: 15_000, what: 'the marker served' });
    assert.equal(await podOf(FOREIGN), 'status 404');
    assert.doesNotMatch(fs.readFileSync(path.join(ctl!.prefix, 'nginx.conf'), 'utf8'), /foreign/);
  });

  it('with --watch-namespace, an Ingress in another namespace is not served (the unscoped controller serves it)', async () => {
    cluster.kubectl(['create', 'namespace', 'outside']);
    objects.apply(
      objects.service('elsewhere', 'outside'),
      objects.slice('elsewhere', [podIPs[1]!], 'outside'),
      objects.route('elsewhere', OUTSIDE, { namespace: 'outside' }),
    );
    await waitFor(async () => (await podOf(OUTSIDE)) === 'api-2', {
      timeoutMs: 15_000,
      what: 'the outside Ingress served by the controller watching every namespace',
    });
    const scoped = await startController({
      manifests: emptyDir,
      extraArgs: [...controllerArgs(), '--watch-namespace', 'default'],
      readyTimeoutMs: 30_000,
    });
    try {
      // ready: every kind of its namespace listed and served
      assert.match(await podVia(scoped, HOST), /^api-[34]$/);
      assert.equal(await podVia(scoped, OUTSIDE), 'status 404');
      assert.match(scoped.log(), /"event":"api_source"[^\n]*"namespace":"default"/);
    } finally {
      await scoped.stop();
    }
  });

  it('an API server restart: traffic keeps flowing from the last good state, and changes after it still arrive', async () => {
    const traffic = steadyTraffic(ctl!, HOST, /^api-[34]$/);
    let result: { sent: number; failures: string[] };
    try {
      await cluster.restartApiserver(2000);
    } finally {
      result = await traffic.stop();
    }
    assert.ok(result.sent > 20, `requests sent during the restart: ${result.sent}`);
    assert.deepEqual(result.failures, [], 'no request failed while the API server was away');
    objects.apply(objects.slice('web', [podIPs[0]!]));
    await waitFor(async () => (await podOf(HOST)) === 'api-1', {
      timeoutMs: 30_000,
      what: 'a change made after the restart served (the watches came back)',
    });
  });

  it("a user without deploy/'s roles is refused by the API server: never ready, the 403 logged", async () => {
    const denied = await startController({
      manifests: emptyDir,
      extraArgs: controllerArgs(cluster.users[1]),
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

describe('e2e: the Kubernetes API source through faults (a TCP proxy before the API server, watch cache off)', function () {
  this.timeout(60_000);
  const rbac = deployRbac();
  let cluster: TestCluster;
  let proxy: TcpProxy;
  let ctl: RunningController | undefined;
  let pods: Pods;
  let emptyDir: string;
  const network = new PodNetwork();
  let podIPs: string[] = [];
  let objects: Objects;
  const podOf = (host: string) => podVia(ctl!, host);
  const lists = async () => perKind(await ctl!.metrics(), 'api_lists_total');
  const watches = async () => perKind(await ctl!.metrics(), 'api_watches_total');

  before(async function () {
    this.timeout(180_000);
    // watch cache off: an etcd compaction reaches the watches as 410 Gone (the cache would answer from memory)
    cluster = new TestCluster({ users: [rbac.user], watchCache: false });
    await cluster.start();
    applyDeployRbac(cluster, rbac);
    objects = new Objects(cluster, () => pods);
    objects.apply(...renderDeploy().filter((document) => document.kind === 'ConfigMap'));
    pods = await startPods(podSpecs('fault', '127.0.63.1', 4));
    podIPs = network.route(pods.specs.map((spec) => spec.address));
    emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-api-faults-'));
    objects.apply(
      INGRESS_CLASS,
      objects.service('web'),
      objects.slice('web', [podIPs[0]!, podIPs[1]!]),
      objects.route('web', HOST),
      objects.service('other'),
      objects.slice('other', [podIPs[2]!]),
      objects.route('other', OTHER),
    );
    proxy = new TcpProxy(cluster.apiPort);
    await proxy.open();
    ctl = await startController({
      manifests: emptyDir,
      extraArgs: ['--kubeconfig', cluster.kubeconfig(cluster.users[0], proxy.url), '--configmap', SETTINGS],
      readyTimeoutMs: 30_000,
    });
  });
  stopAfter(
    () => ctl,
    async () => {
      await proxy?.close();
      await closeAll(pods);
      network.close();
      await cluster?.stop();
      if (emptyDir) fs.rmSync(emptyDir, { recursive: true, force: true });
    },
  );

  it('every kind listed once at the start, and its watch running', async () => {
    await waitFor(async () => (await podOf(HOST)).startsWith('fault-'), { what: 'served' });
    assert.deepEqual(await lists(), Object.fromEntries(KINDS.map((kind) => [kind, 1])));
    for (const [kind, count] of Object.entries(await watches())) assert.ok(count! >= 1, `${kind}: ${count} watches`);
  });

  it('every connection cut: the watches resume from where they were, with no relist, and changes after arrive', async () => {
    const listsBefore = await lists();
    const watchesBefore = await watches();
    proxy.cut();
    objects.apply(objects.slice('web', [podIPs[3]!]));
    await waitFor(async () => (await podOf(HOST)) === 'fault-4', {
      timeoutMs: 15_000,
      what: 'a change made after the cut served',
    });
    await waitFor(async () => Object.entries(await watches()).every(([kind, count]) => count! > watchesBefore[kind]!), {
      timeoutMs: 15_000,
      what: 'every kind watching again',
    });
    assert.deepEqual(await lists(), listsBefore, 'no kind listed again');
  });

  it('an outage (new connections refused for 3 s): no request fails, no relist, and changes after it arrive', async () => {
    const listsBefore = await lists();
    const traffic = steadyTraffic(ctl!, HOST, /^fault-4$/);
    let result: { sent: number; failures: string[] };
    try {
      await proxy.refuse();
      await sleep(3000);
      await proxy.open();
    } finally {
      result = await traffic.stop();
    }
    assert.ok(result.sent > 20, `requests sent during the outage: ${result.sent}`);
    assert.deepEqual(result.failures, [], 'no request failed while the API server was unreachable');
    objects.apply(objects.slice('web', [podIPs[0]!]));
    await waitFor(async () => (await podOf(HOST)) === 'fault-1', {
      timeoutMs: 30_000,
      what: 'a change made after the outage served',
    });
    assert.deepEqual(await lists(), listsBefore, 'no kind listed again');
  });

  it("410 Gone (etcd compacted past the watches' version): one relist per kind, what was deleted meanwhile is gone, the rest serves without a reload", async () => {
    await ctl!.settle();
    const listsBefore = await lists();
    const reloads = await ctl!.metric('reloads_total');
    const traffic = steadyTraffic(ctl!, HOST, /^fault-1$/);
    let result: { sent: number; failures: string[] };
    try {
      // while the controller cannot reach the API server: other's slice deleted, then a compaction past it.
      // Not right at the delete: etcd keeps a tombstone at the compaction revision but not the value before
      // it, which the API server needs for a DELETE event, so a watch from just before it gets a 500
      // ("etcd event received with PrevKv=nil") instead of 410. One more write puts the compaction past it.
      await proxy.refuse();
      cluster.kubectl(['delete', 'endpointslice', 'other-1', '--namespace', 'default']);
      cluster.kubectl(['create', 'configmap', 'after-the-delete', '--namespace', 'default']);
      await compactEtcd(cluster.etcdPort);
      await proxy.open();
      await waitFor(async () => Object.entries(await lists()).every(([kind, count]) => count! > listsBefore[kind]!), {
        timeoutMs: 30_000,
        what: 'every kind listed again after its 410',
      });
      await waitFor(async () => (await podOf(OTHER)) === 'status 503', {
        timeoutMs: 15_000,
        what: "the deleted slice's pod no longer served",
      });
    } finally {
      result = await traffic.stop();
    }
    assert.deepEqual(result.failures, [], 'the host whose objects did not change kept answering');
    assert.ok(result.sent > 5, `requests sent: ${result.sent}`);
    const settled = await ctl!.settle();
    assert.deepEqual(
      perKind(settled, 'api_lists_total'),
      Object.fromEntries(KINDS.map((kind) => [kind, listsBefore[kind]! + 1])),
      'exactly one relist per kind',
    );
    assert.equal(settled.get(metricKey('reloads_total')), reloads, 'the relists reloaded nothing');
    assert.equal(await podOf(HOST), 'fault-1');
  });
});
