// Which Ingresses a controller serves, decided by their class, against a real kube-apiserver and etcd: the
// cases of ingress-nginx's test/e2e/settings/ingress_class.go, each controller started with the flags of
// that case (ingress-nginx's defaults where the case has none: --watch-ingress-without-class=false), and the
// Ingresses changed with the real kubectl (a class added, removed, moved between the annotation and
// spec.ingressClassName). Also a controller whose RBAC lacks IngressClasses: it starts and serves by the
// annotation, as ingress-nginx did.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestCluster } from '../helpers/cluster.js';
import { type RunningController, startController, stopAfter } from '../helpers/controller.js';
import { applyDeployRbac, deployRbac } from '../helpers/deploy-rbac.js';
import { endpointSlice, ingress, ingressClass, type Obj, service, yamlDocs } from '../helpers/manifests.js';
import { PodNetwork } from '../helpers/pod-network.js';
import { type Pods, closeAll, podSpecs, startPods } from '../helpers/pods.js';
import { waitFor } from '../helpers/wait.js';

const LEGACY = 'kubernetes.io/ingress.class';
const OTHER_CLASS = 'test-new-ingress-class'; // an IngressClass of controller k8s.io/other-class
const OTHER_CONTROLLER = 'k8s.io/other-class';
const NO_CLASS_READER = 'no-ingressclass-reader';

/** The Ingresses of the test, by host: how each names its class. */
const ROUTES: Record<string, { className?: string; annotation?: string }> = {
  'spec-nginx.class.test': { className: 'nginx' },
  'ann-nginx.class.test': { annotation: 'nginx' },
  'ann-testclass.class.test': { annotation: 'testclass' },
  'ann-testclass123.class.test': { annotation: 'testclass123' },
  'spec-other.class.test': { className: OTHER_CLASS },
  'no-class.class.test': {},
};

describe('e2e: Ingress classes against the API (ingress-nginx settings/ingress_class.go)', function () {
  this.timeout(90_000);
  const rbac = deployRbac();
  let cluster: TestCluster;
  let pods: Pods;
  let emptyDir: string;
  const network = new PodNetwork();
  const running: RunningController[] = [];

  const route = (host: string, spec: { className?: string; annotation?: string }): Obj =>
    ingress(host.split('.')[0]!, {
      host,
      ...(spec.className ? { className: spec.className } : {}),
      ...(spec.annotation ? { annotations: { [LEGACY]: spec.annotation } } : {}),
      paths: [{ path: '/', service: 'web', port: 'http' }],
    });

  /** A controller with these flags besides the kubeconfig; stopped after the test. */
  async function controller(flags: string[], user = cluster.users[0]): Promise<RunningController> {
    const ctl = await startController({
      manifests: emptyDir,
      extraArgs: ['--kubeconfig', cluster.kubeconfig(user), '--update-status=false', ...flags],
      readyTimeoutMs: 30_000,
    });
    running.push(ctl);
    return ctl;
  }

  /** The status of a request to each host, once ctl's answers have settled on `expected`. */
  async function expectServed(ctl: RunningController, expected: Record<string, number>): Promise<void> {
    const answers = async () =>
      Object.fromEntries(
        await Promise.all(Object.keys(expected).map(async (host) => [host, (await ctl.http(host, '/')).status])),
      );
    let last: Record<string, number> = {};
    try {
      await waitFor(
        async () => {
          last = await answers();
          return JSON.stringify(last) === JSON.stringify(expected);
        },
        { timeoutMs: 15_000, what: 'the hosts served as expected' },
      );
    } catch {
      assert.deepEqual(last, expected);
    }
  }

  before(async function () {
    this.timeout(180_000);
    cluster = new TestCluster({ users: [rbac.user, { name: NO_CLASS_READER }] });
    await cluster.start();
    applyDeployRbac(cluster, rbac);
    // deploy/'s ClusterRole less IngressClasses, for a second user (a namespace-scoped installation)
    const clusterRole = rbac.documents.find((document) => document.kind === 'ClusterRole')!;
    const rules = (clusterRole.rules as { resources: string[] }[])
      .map((rule) => ({ ...rule, resources: rule.resources.filter((resource) => resource !== 'ingressclasses') }))
      .filter((rule) => rule.resources.length > 0);
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NO_CLASS_READER };
    cluster.kubectl(['apply', '-f', '-'], {
      input: yamlDocs([
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: NO_CLASS_READER }, rules },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: NO_CLASS_READER },
          roleRef,
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: NO_CLASS_READER }],
        },
      ]),
    });
    pods = await startPods(podSpecs('class', '127.0.66.1', 1));
    const [podIP] = network.route(pods.specs.map((spec) => spec.address));
    emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-class-'));
    cluster.kubectl(['apply', '-f', '-'], {
      input: yamlDocs([
        ingressClass('nginx'),
        ingressClass(OTHER_CLASS, OTHER_CONTROLLER),
        service('web', { ports: [{ name: 'http', port: 80, targetPort: pods.port }] }),
        endpointSlice('web-1', 'web', {
          endpoints: [{ ip: podIP!, ready: true }],
          port: pods.port,
          portName: 'http',
        }),
        ...Object.entries(ROUTES).map(([host, spec]) => route(host, spec)),
      ]),
    });
  });

  afterEach(async () => {
    for (const ctl of running.splice(0)) await ctl.stopChecked();
  });

  stopAfter(
    () => undefined,
    async () => {
      for (const ctl of running.splice(0)) await ctl.stop();
      await closeAll(pods);
      network.close();
      await cluster?.stop();
      if (emptyDir) fs.rmSync(emptyDir, { recursive: true, force: true });
    },
  );

  // ingress-nginx test/e2e/settings/ingress_class.go "should ignore Ingress with a different class annotation"
  // ingress-nginx test/e2e/settings/ingress_class.go "should accept both Ingresses with default IngressClassName and IngressClass annotation"
  // ingress-nginx test/e2e/settings/ingress_class.go "should ignore Ingress without IngressClass configuration"
  it('default flags: its class by spec.ingressClassName or the annotation; another class, or none, is not served', async () => {
    const ctl = await controller(['--watch-ingress-without-class=false']);
    await expectServed(ctl, {
      'spec-nginx.class.test': 200,
      'ann-nginx.class.test': 200,
      'ann-testclass.class.test': 404,
      'spec-other.class.test': 404,
      'no-class.class.test': 404,
    });
  });

  // ingress-nginx test/e2e/settings/ingress_class.go "should delete Ingress when class is removed"
  // ingress-nginx test/e2e/settings/ingress_class.go "should serve Ingress when class is added"
  // ingress-nginx test/e2e/settings/ingress_class.go "should serve Ingress when class is updated between annotation and ingressClassName"
  it('a class removed stops the serving, a class added starts it, a class moved between annotation and spec keeps it', async () => {
    const ctl = await controller(['--watch-ingress-without-class=false']);
    const removeSpecClass = ['patch', 'ingress', 'spec-nginx', '--type=json', '-p'];
    await expectServed(ctl, { 'spec-nginx.class.test': 200, 'ann-nginx.class.test': 200 });
    cluster.kubectl([...removeSpecClass, '[{"op":"remove","path":"/spec/ingressClassName"}]']);
    cluster.kubectl(['annotate', 'ingress', 'ann-nginx', `${LEGACY}-`]);
    await expectServed(ctl, { 'spec-nginx.class.test': 404, 'ann-nginx.class.test': 404 });
    // added the other way round: spec-nginx by the annotation, ann-nginx by spec.ingressClassName
    cluster.kubectl(['annotate', 'ingress', 'spec-nginx', `${LEGACY}=nginx`]);
    cluster.kubectl(['patch', 'ingress', 'ann-nginx', '--type=merge', '-p', '{"spec":{"ingressClassName":"nginx"}}']);
    await expectServed(ctl, { 'spec-nginx.class.test': 200, 'ann-nginx.class.test': 200 });
    // and back: each moved between the annotation and the spec in one update, served throughout at the end
    cluster.kubectl([
      'patch',
      'ingress',
      'spec-nginx',
      '--type=merge',
      '-p',
      `{"metadata":{"annotations":{"${LEGACY}":null}},"spec":{"ingressClassName":"nginx"}}`,
    ]);
    cluster.kubectl([
      'patch',
      'ingress',
      'ann-nginx',
      '--type=merge',
      '-p',
      `{"metadata":{"annotations":{"${LEGACY}":"nginx"}},"spec":{"ingressClassName":null}}`,
    ]);
    await expectServed(ctl, { 'spec-nginx.class.test': 200, 'ann-nginx.class.test': 200 });
    const current = JSON.parse(cluster.kubectl(['get', 'ingress', 'spec-nginx', 'ann-nginx', '-o', 'json'])) as {
      items: { spec: { ingressClassName?: string }; metadata: { annotations?: Record<string, string> } }[];
    };
    assert.deepEqual(
      current.items.map((item) => [item.spec.ingressClassName ?? null, item.metadata.annotations?.[LEGACY] ?? null]),
      [
        ['nginx', null], // spec-nginx: by spec.ingressClassName again
        [null, 'nginx'], // ann-nginx: by the annotation again
      ],
    );
  });

  // ingress-nginx test/e2e/settings/ingress_class.go "should ignore Ingress with no class and accept the correctly configured Ingresses"
  it('--ingress-class testclass --controller-class k8s.io/other-class: the annotation and that controller class', async () => {
    const ctl = await controller([
      '--ingress-class',
      'testclass',
      '--controller-class',
      OTHER_CONTROLLER,
      '--watch-ingress-without-class=false',
    ]);
    await expectServed(ctl, {
      'ann-testclass.class.test': 200,
      'spec-other.class.test': 200,
      'no-class.class.test': 404,
      'spec-nginx.class.test': 404,
      'ann-nginx.class.test': 404,
    });
  });

  // ingress-nginx test/e2e/settings/ingress_class.go "should watch Ingress with no class and ignore ingress with a different class"
  it('--watch-ingress-without-class: an Ingress without a class is served, one of another class is not', async () => {
    const ctl = await controller(['--watch-ingress-without-class']);
    await expectServed(ctl, { 'no-class.class.test': 200, 'ann-testclass.class.test': 404 });
  });

  // ingress-nginx test/e2e/settings/ingress_class.go "should watch Ingress that uses the class name even if spec is different"
  it('a class named by --ingress-class is served even when its IngressClass names another controller', async () => {
    // ingress-nginx needed --ingress-class-by-name for this; here the name alone always counts (README)
    const ctl = await controller(['--ingress-class', OTHER_CLASS, '--watch-ingress-without-class=false']);
    await expectServed(ctl, {
      'spec-other.class.test': 200,
      'spec-nginx.class.test': 200, // its IngressClass names our controller
      'ann-testclass123.class.test': 404,
    });
  });

  // ingress-nginx test/e2e/settings/ingress_class.go "should watch Ingress with correct annotation"
  // ingress-nginx test/e2e/settings/ingress_class.go "should ignore Ingress with only IngressClassName"
  it('without permission to list IngressClasses: starts, warns, and serves by the annotation', async () => {
    const user = cluster.users.find((candidate) => candidate.name === NO_CLASS_READER)!;
    const ctl = await controller(['--ingress-class', 'testclass', '--watch-ingress-without-class=false'], user);
    await expectServed(ctl, {
      'ann-testclass.class.test': 200,
      'spec-nginx.class.test': 404,
      'spec-other.class.test': 404,
    });
    assert.match(ctl.log(), /"event":"ingressclass_forbidden"/);
  });
});
