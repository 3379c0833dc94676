// The ConfigMap's service-upstream through the controller and real nginx: "true" makes every Ingress
// proxy to its Services' ClusterIPs (a loopback address where a "pod" stands in for kube-proxy), and an
// Ingress's service-upstream: "false" keeps the pod endpoints.
import assert from 'node:assert/strict';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, configMap, endpoints, ingress, service } from '../helpers/manifests.js';
import { closeAll, startPods, type Pods } from '../helpers/pods.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const NS = 'default';
const CLUSTER_IP = '127.0.113.9';
const ENDPOINT = '127.0.113.10';

describe('e2e: settings ConfigMap service-upstream', function () {
  this.timeout(60_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;

  before(async function () {
    this.timeout(60_000);
    manifests = new ManifestDir('service-upstream-settings');
    pods = await startPods([
      { name: 'cluster-ip', address: CLUSTER_IP },
      { name: 'endpoint', address: ENDPOINT },
    ]);
    manifests.write('services.yaml', [
      service('web', { clusterIP: CLUSTER_IP, ports: [{ port: pods.port, targetPort: pods.port }] }),
      endpoints('web', { ready: [ENDPOINT], port: pods.port }),
      service('other', { clusterIP: CLUSTER_IP, ports: [{ port: pods.port, targetPort: pods.port }] }),
      endpoints('other', { ready: [ENDPOINT], port: pods.port }),
    ]);
    manifests.write('settings.yaml', configMap('settings', NS, { 'service-upstream': 'true' }));
    manifests.write('ingresses.yaml', [
      ingress('default-on', { host: 'on.test', paths: [{ path: '/', service: 'web', port: pods.port }] }),
      ingress('opted-out', {
        host: 'off.test',
        paths: [{ path: '/', service: 'other', port: pods.port }],
        annotations: { [`${ANNOTATION}service-upstream`]: 'false' },
      }),
    ]);
    ctl = await startController({ manifests: manifests.dir, extraArgs: ['--configmap', `${NS}/settings`] });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  it('service-upstream: "true" in the ConfigMap: requests go to the ClusterIP', async () => {
    // ingress-nginx test/e2e/annotations/serviceupstream.go "should use the Service Cluster IP and Port"
    for (let count = 0; count < 4; count++) assert.equal((await ctl!.http('on.test', '/')).pod?.pod, 'cluster-ip');
  });

  it('an Ingress with service-upstream: "false" keeps its endpoints', async () => {
    // ingress-nginx test/e2e/annotations/serviceupstream.go "should not use the Service Cluster IP and Port"
    for (let count = 0; count < 4; count++) assert.equal((await ctl!.http('off.test', '/')).pod?.pod, 'endpoint');
  });
});
