// One Ingress's status write against a scripted API server, through the real ApiConfig (a kubeconfig to
// http://127.0.0.1, as kubectl proxy serves): read, PUT to the status subresource with the resourceVersion
// read, and on a 409 (here a label changed between the read and the write) read again and write again,
// keeping the other change.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jsonCall } from '../../src/publish/api-call.js';
import { runBounded, STATUS_WRITERS, writeIngressStatus } from '../../src/publish/ingress-status.js';
import { type ApiConfig, loadApiConfig } from '../../src/sources/kubernetes/config.js';

interface Seen {
  method: string;
  url: string;
  body?: { metadata?: { resourceVersion?: string; labels?: Record<string, string> }; status?: unknown };
}

/** An API server that answers each request with the next scripted reply, and records what it was sent. */
class ScriptedServer {
  readonly seen: Seen[] = [];
  private server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => {
      text += chunk;
    });
    request.on('end', () => {
      this.seen.push({ method: request.method!, url: request.url!, ...(text ? { body: JSON.parse(text) } : {}) });
      const [status, body] = this.replies.shift() ?? [500, { message: 'no reply scripted' }];
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
  });
  replies: [number, unknown][] = [];
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itp-status-unit-'));

  async start(): Promise<ApiConfig> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    const file = path.join(this.dir, 'kubeconfig');
    fs.writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'proxy', cluster: { server: `http://127.0.0.1:${port}` } }],
        contexts: [{ name: 'proxy', context: { cluster: 'proxy' } }],
        'current-context': 'proxy',
      }),
    );
    return loadApiConfig({ kubeconfig: file, env: {} });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const ingressAt = (resourceVersion: string, labels: Record<string, string>, status: unknown = {}) => ({
  metadata: { name: 'web', namespace: 'shop', resourceVersion, labels },
  spec: { rules: [{ host: 'web.example.com' }] },
  status,
});
const listOf = (...items: unknown[]) => ({ kind: 'IngressList', apiVersion: 'networking.k8s.io/v1', items });
const conflict = { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' };

describe('publish/ingress-status: one Ingress status write', () => {
  let server: ScriptedServer;
  let api: ApiConfig;
  beforeEach(async () => {
    server = new ScriptedServer();
    api = await server.start();
  });
  afterEach(async () => {
    api.close();
    await server.stop();
  });

  it('a 409 between the read and the write: read again and write with the new resourceVersion, keeping the change', async () => {
    const address = [{ ip: '192.0.2.1' }];
    server.replies = [
      [200, listOf(ingressAt('10', { app: 'web' }))],
      [409, conflict],
      [200, listOf(ingressAt('11', { app: 'web', team: 'shop' }))], // kubectl label, meanwhile
      [200, { ...ingressAt('12', { app: 'web', team: 'shop' }), status: { loadBalancer: { ingress: address } } }],
    ];
    const conflicts = { count: 0 };
    const done = await writeIngressStatus(jsonCall(api), 'shop/web', address, conflicts);
    assert.deepEqual(done, { outcome: 'written', addresses: address });
    assert.equal(conflicts.count, 1);
    assert.deepEqual(
      server.seen.map((request) => `${request.method} ${decodeURIComponent(request.url)}`),
      [
        'GET /apis/networking.k8s.io/v1/namespaces/shop/ingresses?fieldSelector=metadata.name=web',
        'PUT /apis/networking.k8s.io/v1/namespaces/shop/ingresses/web/status',
        'GET /apis/networking.k8s.io/v1/namespaces/shop/ingresses?fieldSelector=metadata.name=web',
        'PUT /apis/networking.k8s.io/v1/namespaces/shop/ingresses/web/status',
      ],
    );
    const [first, second] = [server.seen[1]!.body!, server.seen[3]!.body!];
    assert.equal(first.metadata?.resourceVersion, '10');
    assert.equal(second.metadata?.resourceVersion, '11', 'the version read again');
    assert.deepEqual(second.metadata?.labels, { app: 'web', team: 'shop' }, 'the concurrent change kept');
    assert.deepEqual(second.status, { loadBalancer: { ingress: address } });
  });

  it('a status that already agrees is not written; a missing Ingress is gone; removing writes an empty loadBalancer', async () => {
    const address = [{ ip: '192.0.2.1' }];
    server.replies = [[200, listOf(ingressAt('10', {}, { loadBalancer: { ingress: address } }))]];
    assert.deepEqual(await writeIngressStatus(jsonCall(api), 'shop/web', address), {
      outcome: 'unchanged',
      addresses: address,
    });
    server.replies = [[200, listOf()]];
    assert.deepEqual(await writeIngressStatus(jsonCall(api), 'shop/web', address), { outcome: 'gone' });
    server.replies = [
      [200, listOf(ingressAt('10', {}, { loadBalancer: { ingress: address } }))],
      [200, ingressAt('11', {}, { loadBalancer: {} })],
    ];
    assert.deepEqual(await writeIngressStatus(jsonCall(api), 'shop/web', []), { outcome: 'written', addresses: [] });
    assert.deepEqual(server.seen.at(-1)!.body!.status, { loadBalancer: {} });
    assert.equal(server.seen.filter((request) => request.method === 'PUT').length, 1);
  });

  it('gives up after repeated conflicts, and on any other error, naming the Ingress', async () => {
    server.replies = Array.from({ length: 5 }, () => [
      [200, listOf(ingressAt('10', {}))],
      [409, conflict],
    ]).flat() as [number, unknown][];
    await assert.rejects(writeIngressStatus(jsonCall(api), 'shop/web', [{ ip: '192.0.2.1' }]), /shop\/web.*409/);
    assert.equal(server.seen.length, 10);
    server.replies = [[403, { kind: 'Status', code: 403, message: 'forbidden' }]];
    await assert.rejects(
      writeIngressStatus(jsonCall(api), 'shop/web', []),
      /read Ingress shop\/web: HTTP 403: forbidden/,
    );
  });
});

describe('publish/ingress-status: writes run at most STATUS_WRITERS at once', () => {
  it('thousands of Ingresses: never more than the limit in flight, all done, failures counted', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    const failed = await runBounded(
      Array.from({ length: 1000 }, (_, index) => index),
      STATUS_WRITERS,
      async (item) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        done.push(item);
        return item % 100 !== 0;
      },
    );
    assert.equal(most, STATUS_WRITERS);
    assert.equal(STATUS_WRITERS, 10, "ingress-nginx's pool");
    assert.equal(done.length, 1000);
    assert.equal(failed, 10);
  });

  it('no new write starts once told to stop (leadership lost, the shutdown deadline)', async () => {
    let started = 0;
    await runBounded(
      Array.from({ length: 100 }, (_, index) => index),
      3,
      async () => {
        started++;
        await new Promise((resolve) => setImmediate(resolve));
        return true;
      },
      () => started < 20,
    );
    assert.ok(started >= 20 && started < 23, `${started} started`);
  });
});
