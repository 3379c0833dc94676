// What the Ingresses and the settings name, fetched by name from a real API server: the controller lists
// only kubernetes.io/tls Secrets as a kind, so an Opaque basic-auth Secret and the ConfigMap of
// proxy-set-headers arrive through watches of their own (src/sources/kubernetes/api-source.ts). Shown through
// nginx: the password the Secret holds is asked for, its rotation is followed, the ConfigMap's header reaches
// the pod, and a Secret that stops being named is no longer needed. The Secret of --default-ssl-certificate,
// Opaque here so that only its watch by name can bring it, becomes the certificate served without SNI.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RunningController, startController, stopAfter } from '../helpers/controller.js';
import { TestCluster } from '../helpers/cluster.js';
import { applyDeployRbac, deployRbac } from '../helpers/deploy-rbac.js';
import { makeCert } from '../helpers/certs.js';
import { configMap, endpointSlice, ingress, type Obj, service, yamlDocs, ingressClass } from '../helpers/manifests.js';
import { PodNetwork } from '../helpers/pod-network.js';
import { type Pods, closeAll, podSpecs, startPods } from '../helpers/pods.js';
import { waitFor } from '../helpers/wait.js';

const HOST = 'guarded.api.test';
// the controller runs as deploy/'s ServiceAccount, with the roles `kubectl kustomize deploy/` renders
const rbac = deployRbac();

const NS = 'default';
// an htpasswd line for user "alice" in the {SHA} form nginx's auth_basic reads
const htpasswd = (password: string) => `alice:{SHA}${crypto.createHash('sha1').update(password).digest('base64')}\n`;

const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` });

function opaqueSecret(name: string, password: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace: NS },
    data: { auth: Buffer.from(htpasswd(password)).toString('base64') },
  };
}

describe('e2e: Secrets and ConfigMaps named by Ingresses, fetched by name (real kube-apiserver)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let ctl: RunningController | undefined;
  let pods: Pods;
  let emptyDir: string;
  const network = new PodNetwork();
  const apply = (...documents: Obj[]) => cluster.kubectl(['apply', '-f', '-'], { input: yamlDocs(documents) });
  const guarded = (secretName: string | null) =>
    ingress('guarded', {
      host: HOST,
      className: 'nginx',
      paths: [{ path: '/', service: 'web', port: 'http' }],
      ...(secretName
        ? {
            annotations: {
              'nginx.ingress.kubernetes.io/auth-type': 'basic',
              'nginx.ingress.kubernetes.io/auth-secret': secretName,
            },
          }
        : {}),
    });
  const statusWith = async (password: string | null) =>
    (await ctl!.http(HOST, '/', { headers: password === null ? {} : basic(password) })).status;

  before(async function () {
    this.timeout(180_000);
    cluster = new TestCluster({ users: [rbac.user] });
    await cluster.start();
    applyDeployRbac(cluster, rbac);
    pods = await startPods(podSpecs('ref', '127.0.62.1', 1));
    const [podIP] = network.route(pods.specs.map((spec) => spec.address));
    emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-e2e-api-refs-'));
    apply(
      ingressClass(),
      configMap('settings', NS, { 'proxy-set-headers': `${NS}/custom-headers` }),
      configMap('custom-headers', NS, { 'X-Team': 'payments' }),
      opaqueSecret('users', 'first'),
      service('web', { ports: [{ name: 'http', port: 80, targetPort: pods.port }] }),
      endpointSlice('web-1', 'web', { endpoints: [{ ip: podIP!, ready: true }], port: pods.port, portName: 'http' }),
      guarded('users'),
    );
    ctl = await startController({
      manifests: emptyDir,
      extraArgs: [
        '--kubeconfig',
        cluster.kubeconfig(cluster.users[0]),
        '--configmap',
        `${NS}/settings`,
        '--default-ssl-certificate',
        `${NS}/fallback-cert`,
      ],
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

  it('an Opaque basic-auth Secret guards the Ingress from the first config on', async () => {
    assert.equal(await statusWith(null), 401);
    assert.equal(await statusWith('wrong'), 401);
    assert.equal(await statusWith('first'), 200);
  });

  it("the settings' proxy-set-headers ConfigMap is read by name: its header reaches the pod", async () => {
    const reply = await ctl!.http(HOST, '/', { headers: basic('first') });
    assert.equal(reply.pod?.headers['x-team'], 'payments');
  });

  it('a rotated password is followed through the watch of that one Secret', async () => {
    apply(opaqueSecret('users', 'second'));
    // both at once: for a moment after the reload an old worker may still answer with the old file
    await waitFor(async () => (await statusWith('second')) === 200 && (await statusWith('first')) === 401, {
      timeoutMs: 15_000,
      what: 'new password, and the old one refused',
    });
    await ctl!.settle();
    assert.equal(await statusWith('first'), 401);
  });

  it('an Ingress that names another Secret: served once it exists, the old one no longer matters', async () => {
    apply(guarded('admins'));
    // a Secret named but missing: the Ingress is denied (503), as when its Secret is missing in manifests
    await waitFor(async () => (await statusWith('second')) === 503, { timeoutMs: 15_000, what: 'denied' });
    apply(opaqueSecret('admins', 'third'));
    await waitFor(async () => (await statusWith('third')) === 200, { timeoutMs: 15_000, what: 'the new Secret' });
    cluster.kubectl(['delete', 'secret', 'users', '-n', NS]);
    apply(guarded(null));
    await waitFor(async () => (await statusWith(null)) === 200, { timeoutMs: 15_000, what: 'unguarded' });
  });

  it('--default-ssl-certificate: its Secret, created later, is fetched by name and served to clients without SNI', async () => {
    const generated = await ctl!.https(HOST, '/', { servername: null });
    assert.equal(generated.cert?.subject.CN, 'Ingress Templater Fake Certificate', 'missing: the generated one');
    const fallback = makeCert('fallback.api.test');
    apply({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'fallback-cert', namespace: NS },
      data: {
        'tls.crt': Buffer.from(fallback.cert).toString('base64'),
        'tls.key': Buffer.from(fallback.key).toString('base64'),
      },
    });
    const wanted = new crypto.X509Certificate(fallback.cert).fingerprint256;
    await waitFor(async () => (await ctl!.https(HOST, '/', { servername: null })).cert?.fingerprint256 === wanted, {
      timeoutMs: 15_000,
      what: 'the Secret of --default-ssl-certificate served',
    });
  });
});
