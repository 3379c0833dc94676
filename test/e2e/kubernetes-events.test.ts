// Kubernetes Events about Ingresses (src/publish/events.ts) against a real control plane (etcd and kube-apiserver
// on loopback, test/helpers/cluster.ts), read back as an operator reads them: real `kubectl describe ingress`
// and `kubectl get events`. The controller runs as deploy/'s ServiceAccount with exactly the roles `kubectl
// kustomize deploy/` renders (events: create and patch), beside a second one whose role lacks events altogether.
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
import { sleep, waitFor } from '../helpers/wait.js';

const GOOD = 'good.events.test';
const WEB = 'web.events.test';
const NEVER = 'never.events.test';
const POD_NAME = 'ingress-templater-events-0';
// an allow list that cannot be read: refused, and (failing closed) its Ingress answers 503
const ALLOWLIST = 'nginx.ingress.kubernetes.io/allowlist-source-range';
const READ_TIMEOUT = 'nginx.ingress.kubernetes.io/proxy-read-timeout';

const RBAC = deployRbac();
// the second user: deploy/'s reading and writing verbs without events
const READ = ['list', 'watch'];
const rulesWithoutEvents = [
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: READ },
  { apiGroups: [''], resources: ['services', 'secrets', 'configmaps'], verbs: READ },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
const roleWithoutEvents = (user: string): Obj[] => [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: user },
    rules: rulesWithoutEvents,
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: user },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  },
];

const INGRESS_CLASS = ingressClass();

interface KubeEvent {
  metadata: { name: string };
  involvedObject: { kind: string; namespace: string; name: string; uid?: string; apiVersion?: string };
  type: string;
  reason: string;
  message: string;
  count: number;
  source: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

describe('e2e: Kubernetes Events about Ingresses (real kube-apiserver, kubectl describe)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let ctl: RunningController | undefined;
  let pods: Pods;
  let emptyDir: string;
  const network = new PodNetwork();
  let podIPs: string[] = [];
  const kubectl = (...args: string[]) => cluster.kubectl(args);
  const apply = (...documents: Obj[]) => cluster.kubectl(['apply', '-f', '-'], { input: yamlDocs(documents) });
  const backend = (name: string, ip: string) => [
    service(name, { ports: [{ name: 'http', port: 80, targetPort: pods.port }] }),
    endpointSlice(`${name}-1`, name, { endpoints: [{ ip, ready: true }], port: pods.port, portName: 'http' }),
  ];
  const route = (name: string, host: string, annotations?: Record<string, string>, pathText = '/') =>
    ingress(name, {
      host,
      className: 'nginx',
      annotations,
      paths: [
        {
          path: pathText,
          pathType: pathText === '/' ? 'Prefix' : 'ImplementationSpecific',
          service: name,
          port: 'http',
        },
      ],
    });
  const answer = async (host: string) => {
    const reply = await ctl!.http(host, '/');
    return reply.pod ? reply.pod.pod : `status ${reply.status}`;
  };
  /** The Events about one Ingress, as the API holds them, oldest first. */
  const eventsOf = (name: string, type?: string): KubeEvent[] => {
    const selector = `involvedObject.kind=Ingress,involvedObject.name=${name}${type ? `,type=${type}` : ''}`;
    const list = JSON.parse(kubectl('get', 'events', '-n', 'default', '--field-selector', selector, '-o', 'json'));
    return (list.items as (KubeEvent & { metadata: { creationTimestamp: string } })[]).sort((left, right) =>
      left.metadata.creationTimestamp.localeCompare(right.metadata.creationTimestamp),
    );
  };
  /** The Events section of `kubectl describe ingress NAME`: its rows, header and rule lines left out. */
  const describedEvents = (name: string): string[] => {
    const text = kubectl('describe', 'ingress', name, '-n', 'default');
    const section = text.slice(text.indexOf('\nEvents:') + '\nEvents:'.length);
    return section
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^Type\s+Reason/.test(line) && !/^-+\s/.test(line));
  };
  const uidOf = (name: string) => kubectl('get', 'ingress', name, '-n', 'default', '-o', 'jsonpath={.metadata.uid}');
  const syncs = async () => (await ctl!.metrics()).get(metricKey('syncs_total')) ?? 0;

  before(async function () {
    this.timeout(180_000);
    cluster = new TestCluster({ users: [RBAC.user, { name: 'no-events-controller' }] });
    await cluster.start();
    applyDeployRbac(cluster, RBAC);
    apply(...roleWithoutEvents('no-events-controller'));
    pods = await startPods(podSpecs('ev', '127.0.63.1', 2));
    podIPs = network.route(pods.specs.map((spec) => spec.address));
    emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-events-manifests-'));
    apply(
      INGRESS_CLASS,
      ...backend('good', podIPs[0]!),
      ...backend('web', podIPs[1]!),
      route('good', GOOD),
      route('web', WEB, { [ALLOWLIST]: 'lots' }),
    );
    ctl = await startEventsController();
  });
  async function startEventsController(): Promise<RunningController> {
    // the downward API's POD_NAME, which names the replica in each Event (source.host, reportingInstance)
    process.env.POD_NAME = POD_NAME;
    try {
      return await startController({
        manifests: emptyDir,
        extraArgs: ['--kubeconfig', cluster.kubeconfig(cluster.users[0])],
        readyTimeoutMs: 30_000,
      });
    } finally {
      delete process.env.POD_NAME;
    }
  }
  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      network.close();
      await cluster?.stop();
      fs.rmSync(emptyDir, { recursive: true, force: true });
    },
  );

  it('an Ingress with a refused annotation gets one Warning Event, shown by kubectl describe and get events', async () => {
    const [warning] = await waitFor(() => eventsOf('web', 'Warning').length > 0 && eventsOf('web', 'Warning'), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'a Warning Event about Ingress web',
    });
    assert.equal(eventsOf('web', 'Warning').length, 1);
    assert.equal(warning!.reason, 'AnnotationParsingFailed');
    assert.match(
      warning!.message,
      /^metadata\.annotations\["nginx\.ingress\.kubernetes\.io\/allowlist-source-range"\]: /,
    );
    assert.match(warning!.message, /invalid value "lots"/);
    assert.equal(warning!.count, 1);
    assert.deepEqual(warning!.involvedObject, {
      kind: 'Ingress',
      namespace: 'default',
      name: 'web',
      uid: uidOf('web'),
      apiVersion: 'networking.k8s.io/v1',
    });
    assert.deepEqual(warning!.source, { component: 'ingress-templater', host: POD_NAME });
    assert.equal(warning!.reportingComponent, 'ingress-templater');
    assert.equal(warning!.reportingInstance, POD_NAME);

    // what a kubectl user reads: Type, Reason, Age, From (kubectl describe shows source.component), Message
    const rows = describedEvents('web');
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(
      rows[0]!,
      /^Warning\s+AnnotationParsingFailed\s+\S+\s+ingress-templater\s+metadata\.annotations\["nginx\.ingress\.kubernetes\.io\/allowlist-source-range"\]: invalid value "lots"/,
    );
    const listed = kubectl('get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=web');
    assert.match(listed, /Warning\s+AnnotationParsingFailed\s+ingress\/web\s+metadata\.annotations/);

    // the refused annotation denies web's paths; the Ingress beside it serves
    assert.equal(await answer(WEB), 'status 503');
    assert.equal(await answer(GOOD), 'ev-1');
    // no Sync on start: the Ingresses served from the first config are not news
    assert.deepEqual(eventsOf('good'), []);
  });

  it('more syncs (other objects touched) write no second Event', async () => {
    const before = await syncs();
    apply(
      endpointSlice('good-1', 'good', {
        endpoints: [
          { ip: podIPs[0]!, ready: true },
          { ip: podIPs[1]!, ready: false },
        ],
        port: pods.port,
        portName: 'http',
      }),
    );
    apply(
      service('good', {
        ports: [
          { name: 'http', port: 80, targetPort: pods.port },
          { name: 'other', port: 81 },
        ],
      }),
    );
    apply(backend('good', podIPs[0]!)[1]!);
    await waitFor(async () => (await syncs()) >= before + 3, { timeoutMs: 15_000, what: 'three more syncs' });
    await sleep(1000); // what the recorder would write, written
    const warnings = eventsOf('web', 'Warning');
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(warnings[0]!.count, 1);
    assert.equal(describedEvents('web').length, 1);
    assert.equal(await answer(GOOD), 'ev-1');
  });

  it('fixing the Ingress writes no new Warning but a Normal Sync, and it serves', async () => {
    apply(route('web', WEB));
    await waitFor(async () => (await answer(WEB)) === 'ev-2', { timeoutMs: 15_000, what: 'web served once fixed' });
    const [sync] = await waitFor(() => eventsOf('web', 'Normal').length > 0 && eventsOf('web', 'Normal'), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'a Normal Sync about Ingress web',
    });
    assert.equal(sync!.reason, 'Sync');
    assert.equal(sync!.involvedObject.uid, uidOf('web'));
    await sleep(500);
    assert.equal(eventsOf('web', 'Normal').length, 1);
    const warnings = eventsOf('web', 'Warning');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.count, 1);
    const rows = describedEvents('web');
    assert.equal(rows.length, 2, rows.join('\n'));
    assert.ok(
      rows.some((row) => /^Normal\s+Sync\s+/.test(row)),
      rows.join('\n'),
    );
  });

  it('broken differently: a second Warning; broken as before again: the first one counted twice', async () => {
    apply(route('web', WEB, { [READ_TIMEOUT]: 'soon' }));
    await waitFor(() => eventsOf('web', 'Warning').length === 2, {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'a second Warning about Ingress web',
    });
    const [first, second] = eventsOf('web', 'Warning');
    assert.match(second!.message, /proxy-read-timeout"\]: invalid value "soon"/);
    assert.notEqual(second!.metadata.name, first!.metadata.name);
    assert.equal(await answer(GOOD), 'ev-1', 'the good Ingress keeps serving');

    apply(route('web', WEB, { [ALLOWLIST]: 'lots' }));
    await waitFor(() => eventsOf('web', 'Warning').find((event) => event.count === 2), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'the first Warning counted again (PATCH)',
    });
    const warnings = eventsOf('web', 'Warning');
    assert.equal(warnings.length, 2, JSON.stringify(warnings));
    assert.equal(warnings.find((event) => event.count === 2)!.metadata.name, first!.metadata.name);
    // kubectl shows the repeat in the Age column: "5s (x2 over 20s)"
    assert.ok(
      describedEvents('web').some((row) => /^Warning\s+AnnotationParsingFailed\s+\S+ \(x2 over \S+\)/.test(row)),
      describedEvents('web').join('\n'),
    );
    assert.equal(await answer(WEB), 'status 503');
    assert.equal(await answer(GOOD), 'ev-1');
  });

  it('an Ingress the schema refuses from its creation (never in the store) is named by its uid', async () => {
    apply(...backend('never', podIPs[0]!), route('never', NEVER, undefined, '/a;b'));
    const [warning] = await waitFor(() => eventsOf('never', 'Warning').length > 0 && eventsOf('never', 'Warning'), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'a Warning Event about Ingress never',
    });
    assert.equal(warning!.reason, 'Rejected');
    assert.match(warning!.message, /^spec\.rules\[0\]\.http\.paths\[0\]\.path: /);
    assert.equal(warning!.involvedObject.uid, uidOf('never'));
    const rows = describedEvents('never');
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(rows[0]!, /^Warning\s+Rejected\s+/);
    assert.equal(await answer(NEVER), 'status 404');
  });

  it('a restart with the problem still there: one new Warning (what was written is not remembered), no Sync', async () => {
    const before = eventsOf('web', 'Warning');
    await ctl!.stop();
    ctl = undefined;
    ctl = await startEventsController();
    await waitFor(() => eventsOf('web', 'Warning').length === before.length + 1, {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'the Warning written again by the new process',
    });
    await sleep(1000);
    const after = eventsOf('web', 'Warning');
    assert.equal(after.length, before.length + 1);
    const added = after.find((event) => !before.some((old) => old.metadata.name === event.metadata.name))!;
    assert.match(added.message, /allowlist-source-range"\]: invalid value "lots"/);
    assert.equal(added.count, 1);
    assert.deepEqual(eventsOf('good'), [], 'the Ingresses it serves from its first config are no news');
    assert.equal(eventsOf('never', 'Warning').length, 2, "never's Warning, written again");
    assert.equal(await answer(GOOD), 'ev-1');
  });

  it('without create on events (403): said once, not tried again for a while, and syncing goes on', async () => {
    const denied = await startController({
      manifests: emptyDir,
      extraArgs: ['--kubeconfig', cluster.kubeconfig(cluster.users[1])],
      readyTimeoutMs: 30_000,
    });
    try {
      const forbidden = () => denied.log().match(/"event":"events_forbidden"/g)?.length ?? 0;
      await waitFor(() => forbidden() === 1, { timeoutMs: 15_000, what: 'the 403 logged' });
      assert.match(denied.log(), /"msg":"events: the API refuses .*create and patch on events/);
      // changes keep arriving and being served; the refused Events are not tried again
      apply(route('web', WEB, { [READ_TIMEOUT]: 'later' }));
      apply(
        ingress('good', { host: GOOD, className: 'nginx', paths: [{ path: '/v2', service: 'web', port: 'http' }] }),
      );
      await waitFor(async () => (await denied.http(GOOD, '/v2')).pod?.pod === 'ev-2', {
        timeoutMs: 15_000,
        what: 'a change served by the controller without events',
      });
      assert.equal(forbidden(), 1);
      assert.equal(await denied.healthz(), 200);
    } finally {
      await denied.stop();
    }
  });
});
