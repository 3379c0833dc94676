// The paths that keep the controller fast as the cluster grows, through the built CLI, real nginx and
// real pods, on a generated cluster of 300 Ingresses (bench/generate.ts): an endpoint change reads the
// one file that changed and patches one backend (no directory rescan, no rebuild, no render, no reload,
// a PATCH of that backend); endpoint changes are never held back by the minimum interval between
// reloads; a burst of 100 new Ingress files becomes at most 2 reloads. Speed itself is measured in
// bench/scale.ts, not here.
import assert from 'node:assert/strict';
import path from 'node:path';
import { endpointsDoc, generateCluster, writeAtomic, type GeneratedApp } from '../../bench/generate.js';
import { startController, stopAfter, type RunningController } from '../helpers/controller.js';
import { ManifestDir, backend, ingress } from '../helpers/manifests.js';
import { closeAll, podSpecs, startPods, type Pods } from '../helpers/pods.js';
import YAML from 'yaml';

describe('e2e: scale paths (300 generated Ingresses)', function () {
  this.timeout(90_000);
  let manifests: ManifestDir;
  let ctl: RunningController | undefined;
  let pods: Pods;
  let apps: GeneratedApp[];

  // an app's Endpoints (or EndpointSlice) pointing at one of our pods
  const pointAt = (app: GeneratedApp, address: string) => {
    const doc = endpointsDoc(app, [address]) as Record<string, unknown>;
    const text = YAML.stringify(doc).replace(/port: 8080/g, `port: ${pods.port}`);
    writeAtomic(path.join(manifests.dir, app.endpointsFile), text);
  };
  // plain-HTTP apps: every 5th host is TLS and redirects
  const plainApps = () => apps.filter((a) => !/app-\d*[05]\./.test(a.host) && a.host.startsWith(`${a.name}.`));
  const answerOf = async (host: string) => (await ctl!.http(host, '/')).pod?.pod ?? 'none';

  before(async function () {
    this.timeout(90_000);
    manifests = new ManifestDir('scale');
    pods = await startPods(podSpecs('pod', '127.0.60.', 2));
    apps = generateCluster(manifests.dir, { ingresses: 300, endpoints: 3000 });
    const [first] = plainApps();
    pointAt(first!, pods.specs[0]!.address);
    ctl = await startController({
      manifests: manifests.dir,
      readyTimeoutMs: 60_000,
      extraArgs: ['--min-reload-interval', '1000'],
    });
    await ctl.waitFor(async () => (await answerOf(first!.host)) === 'pod-1', {
      timeoutMs: 20_000,
      what: 'the first app served by pod-1',
    });
  });

  stopAfter(
    () => ctl,
    async () => {
      await closeAll(pods);
      manifests?.cleanup();
    },
  );

  it('an endpoint change reads one file and patches one backend: no rescan, no rebuild, no reload', async () => {
    const plain = plainApps().slice(1);
    const chosen = [...plain.filter((a) => a.slice).slice(0, 2), ...plain.filter((a) => !a.slice).slice(0, 2)]; // EndpointSlice and Endpoints apps
    await ctl!.settle();
    const before = await ctl!.metrics();
    for (const [index, app] of chosen.entries()) {
      const pod = pods.specs[index % 2]!;
      pointAt(app, pod.address);
      await ctl!.waitFor(async () => (await answerOf(app.host)) === pod.name, {
        timeoutMs: 10_000,
        what: `${app.host} served by ${pod.name}`,
      });
    }
    const after = await ctl!.settle();
    const delta = (name: string) =>
      (after.get(`ingress_templater_${name}`) ?? 0) - (before.get(`ingress_templater_${name}`) ?? 0);
    assert.equal(delta('reloads_total'), 0, 'no reload');
    assert.equal(delta('manifest_full_scans_total'), 0, 'only the named files were read');
    assert.ok(
      delta('endpoint_syncs_total') >= chosen.length,
      `every change took the endpoint path (${delta('endpoint_syncs_total')})`,
    );
    assert.equal(
      after.get('ingress_templater_build_render_seconds'),
      before.get('ingress_templater_build_render_seconds'),
      'no model build or render since',
    );
    assert.ok(
      delta('endpoint_patches_total') >= chosen.length,
      `patches, not full pushes (${delta('endpoint_patches_total')})`,
    );
    // nginx holds exactly what the files say for those backends, and the others are untouched
    const lua = new Map((await ctl!.luaBackends()).backends.map((b) => [b.name, b]));
    for (const [index, app] of chosen.entries()) {
      assert.deepEqual(lua.get(`${app.namespace}_${app.name}_80`)?.endpoints, [
        { address: pods.specs[index % 2]!.address, port: pods.port },
      ]);
    }
    const untouched = apps.at(-1)!;
    assert.equal(lua.get(`${untouched.namespace}_${untouched.name}_80`)?.endpoints.length, 10);
  });

  it('endpoint changes are pushed while a reload waits for the minimum interval', async () => {
    await ctl!.settle();
    // a reload now, then at once an Ingress change (its reload must wait 1 s) and an endpoint change
    const reloads = await ctl!.metric('reloads_total');
    manifests.write('extra/first.yaml', [
      ...backend('first-svc', pods),
      ingress('first', { host: 'first.example.com', paths: [{ path: '/', service: 'first-svc' }] }),
    ]);
    await ctl!.waitForReload(reloads);
    manifests.write('extra/second.yaml', [
      ingress('second', { host: 'second.example.com', paths: [{ path: '/', service: 'first-svc' }] }),
    ]);
    const app = plainApps()[6]!;
    pointAt(app, pods.specs[1]!.address);
    await ctl!.waitFor(async () => (await answerOf(app.host)) === 'pod-2', {
      timeoutMs: 10_000,
      what: `${app.host} served by pod-2`,
    });
    const second = await ctl!.http('second.example.com', '/');
    const reloadsNow = await ctl!.metric('reloads_total');
    // unless this machine was so slow that the interval passed meanwhile, the new host is not served yet
    if (reloadsNow === reloads + 1)
      assert.notEqual(second.pod?.pod, 'pod-1', 'the second Ingress waits for its reload');
    await ctl!.waitForReload(reloads + 1);
    await ctl!.waitFor(async () => (await ctl!.http('second.example.com', '/')).status === 200, {
      timeoutMs: 10_000,
      what: 'second.example.com served',
    });
  });

  it('100 Ingress files written in a burst cause at most 2 reloads, and all are served', async () => {
    await ctl!.settle();
    const reloads = await ctl!.metric('reloads_total');
    for (let i = 0; i < 100; i++) {
      manifests.write(`burst/ing-${i}.yaml`, [
        ingress(`burst-${i}`, { host: `burst-${i}.example.com`, paths: [{ path: '/', service: 'first-svc' }] }),
      ]);
    }
    await ctl!.waitFor(
      async () => {
        for (const index of [0, 50, 99])
          if ((await ctl!.http(`burst-${index}.example.com`, '/')).status !== 200) return false;
        return true;
      },
      { timeoutMs: 30_000, what: 'burst hosts served' },
    );
    await ctl!.settle(1500);
    const total = (await ctl!.metric('reloads_total')) - reloads;
    assert.ok(total >= 1 && total <= 2, `reloads for the burst: ${total}`);
    for (let i = 0; i < 100; i++)
      assert.equal((await ctl!.http(`burst-${i}.example.com`, '/')).status, 200, `burst-${i}`);
  });
});
