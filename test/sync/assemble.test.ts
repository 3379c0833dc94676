// src/sync/assemble.ts: run's controller from its options, in this process, over a real nginx: it serves
// the first config, says so on the status server, and stops nginx with it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Controller } from '../../src/controller.js';
import { assembleController } from '../../src/sync/assemble.js';
import type { ControllerOptions } from '../../src/sync/assemble.js';
import { NGINX, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import { freePorts } from '../helpers/ports.js';
import { isAlive } from '../helpers/processes.js';
import { CONTROLLER } from '../helpers/resources.js';
import { recordingLog } from '../helpers/sync-fakes.js';

const MANIFEST = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{port: 9}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  rules:
  - host: a.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`;

describe('sync/assemble', function () {
  this.timeout(30_000);
  let prefix: string;
  let manifests: string;
  let controller: Controller | null = null;
  const recorded = recordingLog();

  async function options(): Promise<ControllerOptions> {
    const [http, https, status, internal] = await freePorts(4);
    return {
      manifests,
      prefix,
      listenAddress: '127.0.0.1',
      httpPort: http!,
      httpsPort: https!,
      statusAddress: '127.0.0.1',
      statusPort: status!,
      internalPort: internal!,
      podIPs: [],
      classes: { ingressClass: 'nginx', controllerClass: CONTROLLER, watchWithoutClass: true },
      nginxBinary: NGINX,
      minWaitMs: 10,
      maxWaitMs: 250,
      minReloadIntervalMs: 500,
      balancer: 'auto',
      resolveIntervalMs: 30_000,
      version: 'test',
      log: recorded.log,
    };
  }

  beforeEach(() => {
    prefix = tempNginxPrefix('itp-assemble-');
    manifests = path.join(prefix, 'manifests');
    fs.mkdirSync(manifests);
    fs.writeFileSync(path.join(manifests, 'web.yaml'), MANIFEST);
    recorded.records.length = 0;
  });
  afterEach(async () => {
    await controller?.stop(2000);
    controller = null;
    fs.rmSync(prefix, { recursive: true, force: true });
  });

  it('starts nginx with the first config and answers on the status server; stop() ends nginx', async () => {
    const given = await options();
    controller = await assembleController(given);
    await controller.start();
    const base = `http://127.0.0.1:${given.statusPort}`;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200, await health.text());
    const status = (await (await fetch(`${base}/status`)).json()) as { configHash: string; nginxPid: number };
    assert.match(status.configHash, /^[0-9a-f]{64}$/);
    assert.ok(isAlive(status.nginxPid));
    assert.deepEqual(
      recorded.records
        .map((record) => record.fields.event)
        .filter((event) => event === 'start' || event === 'nginx_started'),
      ['start', 'nginx_started'],
    );
    const backends = (await (await fetch(`${base}/backends`)).json()) as { backends: Record<string, string[]> };
    assert.deepEqual(backends.backends.default_web_80, ['127.0.0.1:9']);
    await controller.stop(2000);
    controller = null;
    assert.equal(isAlive(status.nginxPid), false);
  });
});
