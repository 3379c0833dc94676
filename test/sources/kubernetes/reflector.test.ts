// The reflector against a real kube-apiserver and etcd (test/helpers/cluster.ts), driven with kubectl as an
// operator would; faults come from a TCP proxy of ours in front of the API server and from compacting etcd.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { loadApiConfig } from '../../../src/sources/kubernetes/config.js';
import type { ApiConfig } from '../../../src/sources/kubernetes/config.js';
import {
  type KubeObject,
  Reflector,
  type ReflectorConsumer,
  type ReflectorOptions,
  type ReflectorProblem,
} from '../../../src/sources/kubernetes/reflector.js';
import { configFrom, plainConfig } from '../../helpers/api-config.js';
import { TestCluster } from '../../helpers/cluster.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { waitFor } from '../../helpers/wait.js';

interface Call {
  op: 'replace' | 'upsert' | 'remove';
  names: string[];
}

const nameOf = (object: KubeObject) => object.metadata?.name ?? '?';

/** The consumer side: records every call and keeps the resulting set, as the store would. */
class Recorder implements ReflectorConsumer {
  readonly calls: Call[] = [];
  readonly objects = new Map<string, KubeObject>();
  readonly problems: ReflectorProblem[] = [];
  syncedCalls = 0;
  lastVersion = '';

  replace(objects: KubeObject[]): void {
    this.calls.push({ op: 'replace', names: objects.map(nameOf).sort() });
    this.objects.clear();
    for (const object of objects) this.objects.set(nameOf(object), object);
  }

  upsert(object: KubeObject): void {
    this.lastVersion = object.metadata?.resourceVersion ?? '';
    this.calls.push({ op: 'upsert', names: [nameOf(object)] });
    this.objects.set(nameOf(object), object);
  }

  remove(object: KubeObject): void {
    this.lastVersion = object.metadata?.resourceVersion ?? '';
    this.calls.push({ op: 'remove', names: [nameOf(object)] });
    this.objects.delete(nameOf(object));
  }

  synced(): void {
    this.syncedCalls++;
  }

  names(): string[] {
    return [...this.objects.keys()].sort();
  }

  data(name: string): unknown {
    return (this.objects.get(name) as { data?: Record<string, string> } | undefined)?.data?.value;
  }
}

function apiConfig(file: string): ApiConfig {
  return loadApiConfig({ kubeconfig: file });
}

function configMapList(namespace: string, names: string[]): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: names.map((name) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace },
      data: { value: 'v1' },
    })),
  });
}

/** etcd's current revision, then a physical compaction at it, through etcd's v3 HTTP gateway. */
async function compactEtcd(etcdPort: number): Promise<number> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`http://127.0.0.1:${etcdPort}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `${path}: ${text}`);
    return JSON.parse(text) as { header: { revision: string } };
  };
  const revision = Number((await post('/v3/kv/range', { key: 'AA==' })).header.revision);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sources/kubernetes/reflector against a real API server', function () {
  this.timeout(60_000);
  const cluster = new TestCluster({ users: [{ name: 'outsider' }] });
  const reflectors: Reflector[] = [];
  const proxies: TcpProxy[] = [];

  before(async function () {
    this.timeout(120_000);
    await cluster.start();
  });

  afterEach(async () => {
    await Promise.all(reflectors.splice(0).map((reflector) => reflector.stop()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  after(async function () {
    this.timeout(30_000);
    await cluster.stop();
  });

  function reflect(namespace: string, recorder: Recorder, options: Partial<ReflectorOptions> = {}): Reflector {
    const reflector = new Reflector(
      {
        api: apiConfig(cluster.kubeconfig()),
        path: `/api/v1/namespaces/${namespace}/configmaps`,
        initialBackoffMs: 100,
        maxBackoffMs: 1000,
        onProblem: (problem) => recorder.problems.push(problem),
        ...options,
      },
      recorder,
    );
    reflectors.push(reflector);
    reflector.start();
    return reflector;
  }

  it('lists what exists, then delivers create, update and delete made with kubectl', async () => {
    cluster.kubectl(['create', 'namespace', 'basic']);
    cluster.kubectl(['apply', '-f', '-'], { input: configMapList('basic', ['one', 'two']) });
    const recorder = new Recorder();
    const reflector = reflect('basic', recorder);
    await reflector.whenSynced();
    assert.deepEqual(recorder.calls, [{ op: 'replace', names: ['one', 'two'] }]);
    assert.equal(recorder.syncedCalls, 1);
    assert.equal(recorder.objects.get('one')?.kind, 'ConfigMap', 'list items get the kind of their list');
    assert.equal(recorder.objects.get('one')?.apiVersion, 'v1');
    assert.ok(Number(reflector.resourceVersion) > 0);

    cluster.kubectl(['-n', 'basic', 'create', 'configmap', 'three', '--from-literal=value=new']);
    await waitFor(() => recorder.data('three') === 'new', { what: 'three added' });
    cluster.kubectl(['-n', 'basic', 'patch', 'configmap', 'one', '-p', '{"data":{"value":"v2"}}']);
    await waitFor(() => recorder.data('one') === 'v2', { what: 'one modified' });
    cluster.kubectl(['-n', 'basic', 'delete', 'configmap', 'two']);
    await waitFor(() => !recorder.objects.has('two'), { what: 'two deleted' });

    assert.deepEqual(recorder.calls.slice(1), [
      { op: 'upsert', names: ['three'] },
      { op: 'upsert', names: ['one'] },
      { op: 'remove', names: ['two'] },
    ]);
    assert.equal(recorder.objects.get('three')?.kind, 'ConfigMap');
    assert.equal(reflector.listCount, 1);
    assert.equal(reflector.resourceVersion, recorder.lastVersion, 'the version of the last event');
  });

  it('pages a list with limit and continue and hands all the pages over in one replace', async () => {
    cluster.kubectl(['create', 'namespace', 'paged']);
    const names = Array.from({ length: 23 }, (_, index) => `cm-${String(index).padStart(2, '0')}`);
    cluster.kubectl(['apply', '-f', '-'], { input: configMapList('paged', names) });
    const recorder = new Recorder();
    const reflector = reflect('paged', recorder, { pageSize: 5 });
    await reflector.whenSynced();
    assert.equal(reflector.listRequests, 5, '23 objects at 5 a page');
    assert.equal(reflector.listCount, 1);
    assert.deepEqual(recorder.calls, [{ op: 'replace', names }]);
  });

  it('selects by label', async () => {
    cluster.kubectl(['create', 'namespace', 'selected']);
    cluster.kubectl(['apply', '-f', '-'], { input: configMapList('selected', ['in', 'out']) });
    cluster.kubectl(['-n', 'selected', 'label', 'configmap', 'in', 'pick=yes']);
    const recorder = new Recorder();
    const reflector = reflect('selected', recorder, { labelSelector: 'pick=yes' });
    await reflector.whenSynced();
    assert.deepEqual(recorder.names(), ['in']);
    cluster.kubectl(['-n', 'selected', 'label', 'configmap', 'out', 'pick=yes']);
    await waitFor(() => recorder.objects.has('out'), { what: 'out selected once labelled' });
  });

  it('resumes a watch the server ended from the last resourceVersion: no relist, no change missed', async () => {
    cluster.kubectl(['create', 'namespace', 'resume']);
    const recorder = new Recorder();
    const reflector = reflect('resume', recorder, { watchTimeoutSeconds: 2 });
    await reflector.whenSynced();
    // changes for about 7 s, across at least three watch ends, some of them while a watch reconnects
    const deadline = Date.now() + 7000;
    let count = 0;
    while (Date.now() < deadline) {
      cluster.kubectl(['-n', 'resume', 'create', 'configmap', `cm-${count}`, `--from-literal=value=${count}`]);
      count++;
      await sleep(150);
    }
    const expected = Array.from({ length: count }, (_, index) => `cm-${index}`).sort();
    await waitFor(() => recorder.names().length === count, { what: `${count} configmaps` });
    assert.deepEqual(recorder.names(), expected);
    assert.ok(reflector.watchRequests >= 4, `watches: ${reflector.watchRequests}`);
    assert.equal(reflector.listCount, 1, 'a watch that ended is resumed, not relisted');
    assert.equal(recorder.calls.filter((call) => call.op === 'upsert').length, count, 'each change once');
    assert.deepEqual(recorder.problems, []);
  });

  it('resumes after the connection is cut in the middle of a watch, without a relist', async () => {
    cluster.kubectl(['create', 'namespace', 'cut']);
    const proxy = new TcpProxy(cluster.apiPort);
    proxies.push(proxy);
    await proxy.open();
    const recorder = new Recorder();
    const reflector = reflect('cut', recorder, {
      api: apiConfig(cluster.kubeconfig(cluster.admin, proxy.url)),
    });
    await reflector.whenSynced();
    cluster.kubectl(['-n', 'cut', 'create', 'configmap', 'before']);
    await waitFor(() => recorder.objects.has('before'));
    proxy.cut();
    cluster.kubectl(['-n', 'cut', 'create', 'configmap', 'after']);
    await waitFor(() => recorder.objects.has('after'), { what: 'the change made while cut' });
    assert.equal(reflector.listCount, 1);
    assert.ok(reflector.watchRequests >= 2);
  });

  it('backs off while the API server is unreachable, then recovers with no relist', async () => {
    cluster.kubectl(['create', 'namespace', 'outage']);
    cluster.kubectl(['apply', '-f', '-'], { input: configMapList('outage', ['kept']) });
    const proxy = new TcpProxy(cluster.apiPort);
    proxies.push(proxy);
    await proxy.open();
    const recorder = new Recorder();
    const reflector = reflect('outage', recorder, {
      api: apiConfig(cluster.kubeconfig(cluster.admin, proxy.url)),
      initialBackoffMs: 100,
      maxBackoffMs: 800,
    });
    await reflector.whenSynced();
    await proxy.refuse();
    cluster.kubectl(['-n', 'outage', 'create', 'configmap', 'during', '--from-literal=value=x']);
    cluster.kubectl(['-n', 'outage', 'delete', 'configmap', 'kept']);
    await waitFor(() => recorder.problems.length >= 4, { what: 'failed attempts reported', timeoutMs: 15_000 });
    const refusedAttempts = reflector.watchRequests;
    await sleep(1500);
    // the delay grows and is capped: at most a handful of attempts in 1.5 s with the cap at 800 ms
    assert.ok(reflector.watchRequests - refusedAttempts <= 6, `${reflector.watchRequests - refusedAttempts} attempts`);
    assert.ok(recorder.problems.every((problem) => problem.retryInMs <= 800));
    assert.ok(
      recorder.problems.some((problem) => /ECONNREFUSED/.test(problem.message)),
      recorder.problems[0]?.message,
    );
    assert.deepEqual(recorder.names(), ['kept'], 'the last known set stays while the server is away');

    await proxy.open();
    await waitFor(() => recorder.names().join() === 'during', { what: 'caught up after the outage' });
    assert.equal(reflector.listCount, 1, 'the resourceVersion was still valid: no relist');
    assert.deepEqual(
      recorder.calls.slice(1).map((call) => `${call.op} ${call.names}`),
      ['upsert during', 'remove kept'],
    );
  });

  it('stop() aborts the watch at once and nothing is delivered after it', async () => {
    cluster.kubectl(['create', 'namespace', 'stopping']);
    const recorder = new Recorder();
    const reflector = reflect('stopping', recorder);
    await reflector.whenSynced();
    cluster.kubectl(['-n', 'stopping', 'create', 'configmap', 'seen']);
    await waitFor(() => recorder.objects.has('seen'));
    const started = Date.now();
    await reflector.stop();
    assert.ok(Date.now() - started < 500, `stop took ${Date.now() - started} ms`);
    const callsAtStop = recorder.calls.length;
    cluster.kubectl(['-n', 'stopping', 'create', 'configmap', 'unseen']);
    await sleep(1000);
    assert.equal(recorder.calls.length, callsAtStop);
    assert.deepEqual(recorder.problems, [], 'stopping is not a problem');
  });

  it('works through a plain http server (kubectl proxy)', async () => {
    cluster.kubectl(['create', 'namespace', 'plain']);
    cluster.kubectl(['apply', '-f', '-'], { input: configMapList('plain', ['listed']) });
    const kubectlProxy = spawn('kubectl', ['--kubeconfig', cluster.kubeconfig(), 'proxy', '--port=0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let output = '';
        kubectlProxy.stdout.setEncoding('utf8');
        kubectlProxy.stdout.on('data', (chunk: string) => {
          output += chunk;
          const served = /127\.0\.0\.1:(\d+)/.exec(output);
          if (served) resolve(Number(served[1]));
        });
        kubectlProxy.once('exit', (code) => reject(new Error(`kubectl proxy exited with ${code}: ${output}`)));
      });
      const recorder = new Recorder();
      const reflector = reflect('plain', recorder, {
        api: apiConfig(cluster.kubeconfig(cluster.admin, `http://127.0.0.1:${port}`)),
      });
      await reflector.whenSynced();
      assert.deepEqual(recorder.names(), ['listed']);
      cluster.kubectl(['-n', 'plain', 'create', 'configmap', 'watched']);
      await waitFor(() => recorder.objects.has('watched'), { what: 'an event through kubectl proxy' });
      await reflector.stop();
    } finally {
      kubectlProxy.kill();
    }
  });

  it('authenticates with an exec credential plugin and with a client certificate', async () => {
    cluster.kubectl(['create', 'namespace', 'credentials']);
    cluster.kubectl(['apply', '-f', '-'], { input: configMapList('credentials', ['secret-ish']) });
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: cluster.admin.token },
    };
    // a client certificate for the admin group, signed by the cluster's CA
    const pki = (args: string[]) => execFileSync('openssl', args, { cwd: cluster.dir, stdio: 'ignore' });
    pki(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'client.key']);
    pki(['req', '-new', '-key', 'client.key', '-subj', '/O=system:masters/CN=cert-admin', '-out', 'client.csr']);
    pki(
      ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-days',
        '1',
        '-out',
        'client.crt',
      ]),
    );
    const users = {
      exec: { exec: { apiVersion: credential.apiVersion, command: 'echo', args: [JSON.stringify(credential)] } },
      certificate: {
        'client-certificate': path.join(cluster.dir, 'client.crt'),
        'client-key': path.join(cluster.dir, 'client.key'),
      },
    };
    for (const [name, user] of Object.entries(users)) {
      const api = configFrom({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'test',
            cluster: { server: cluster.server, 'certificate-authority': path.join(cluster.dir, 'ca.crt') },
          },
        ],
        users: [{ name, user }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: name } }],
        'current-context': 'test',
      });
      const recorder = new Recorder();
      const reflector = reflect('credentials', recorder, { api });
      await reflector.whenSynced();
      assert.deepEqual(recorder.names(), ['secret-ish'], name);
      assert.deepEqual(recorder.problems, [], name);
    }
  });

  it('keeps retrying a user RBAC forbids, reporting 403, and never throws', async () => {
    const recorder = new Recorder();
    const outsider = cluster.users[0]!;
    const reflector = reflect('default', recorder, { api: apiConfig(cluster.kubeconfig(outsider)) });
    await waitFor(() => recorder.problems.length >= 2, { what: 'two failed lists' });
    assert.equal(recorder.problems[0]?.statusCode, 403);
    assert.equal(recorder.problems[0]?.phase, 'list');
    assert.equal(reflector.synced, false);
    assert.deepEqual(recorder.calls, []);
  });
});

describe('sources/kubernetes/reflector: 410 Gone answered by one relist (watch cache off)', function () {
  this.timeout(60_000);
  const cluster = new TestCluster({ watchCache: false });
  let reflector: Reflector | null = null;
  let proxy: TcpProxy | null = null;

  before(async function () {
    this.timeout(120_000);
    await cluster.start();
  });

  after(async function () {
    this.timeout(30_000);
    await reflector?.stop();
    await proxy?.close();
    await cluster.stop();
  });

  it('relists once after etcd was compacted past its version and replaces the set atomically', async () => {
    cluster.kubectl(['create', 'namespace', 'gone']);
    cluster.kubectl(['apply', '-f', '-'], { input: configMapList('gone', ['stays', 'changes', 'deleted']) });
    proxy = new TcpProxy(cluster.apiPort);
    await proxy.open();
    const recorder = new Recorder();
    reflector = new Reflector(
      {
        api: apiConfig(cluster.kubeconfig(cluster.admin, proxy.url)),
        path: '/api/v1/namespaces/gone/configmaps',
        initialBackoffMs: 100,
        maxBackoffMs: 500,
        onProblem: (problem) => recorder.problems.push(problem),
      },
      recorder,
    );
    reflector.start();
    await reflector.whenSynced();
    const versionBefore = Number(reflector.resourceVersion);

    // while the reflector cannot reach the server: a delete, an update, a create, then a compaction past them
    await proxy.refuse();
    cluster.kubectl(['-n', 'gone', 'delete', 'configmap', 'deleted']);
    cluster.kubectl(['-n', 'gone', 'patch', 'configmap', 'changes', '-p', '{"data":{"value":"v2"}}']);
    cluster.kubectl(['-n', 'gone', 'create', 'configmap', 'created', '--from-literal=value=new']);
    const compactedAt = await compactEtcd(cluster.etcdPort);
    assert.ok(compactedAt > versionBefore, `compacted at ${compactedAt}, watching from ${versionBefore}`);
    await proxy.open();

    await waitFor(() => reflector!.listCount === 2, { what: 'a relist after 410', timeoutMs: 20_000 });
    await waitFor(() => recorder.calls.length === 2, { what: 'the relist handed over' });
    assert.deepEqual(recorder.calls, [
      { op: 'replace', names: ['changes', 'deleted', 'stays'] },
      { op: 'replace', names: ['changes', 'created', 'stays'] },
    ]);
    assert.equal(recorder.data('changes'), 'v2');
    assert.equal(recorder.data('stays'), 'v1');
    assert.ok(Number(reflector.resourceVersion) >= compactedAt);

    // watching again from the relist's version: events flow, and no further relist
    cluster.kubectl(['-n', 'gone', 'delete', 'configmap', 'stays']);
    await waitFor(() => !recorder.objects.has('stays'), { what: 'a watch event after the relist' });
    assert.equal(reflector.listCount, 2, 'one list at the start, one per 410');
    assert.equal(recorder.syncedCalls, 1, 'synced once, at the first list');
  });
});

/** A scripted HTTP server standing in for the API server, for the faults a real one will not make on demand. */
describe('sources/kubernetes/reflector against scripted faults', function () {
  this.timeout(20_000);
  let server: http.Server;
  let reflector: Reflector | null = null;
  const requests: { url: string; at: number }[] = [];
  let answer: (url: URL, response: http.ServerResponse) => void = () => undefined;

  before(async () => {
    server = http.createServer((request, response) => {
      requests.push({ url: request.url ?? '', at: Date.now() });
      answer(new URL(request.url ?? '/', 'http://fake'), response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await reflector?.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('restarts a list whose continue token expired, honours Retry-After on a 429, follows bookmarks', async () => {
    const port = (server.address() as AddressInfo).port;
    const item = (name: string, version: string) => ({ metadata: { name, resourceVersion: version } });
    let watches = 0;
    answer = (url, response) => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(body));
      };
      if (url.searchParams.get('watch') !== '1') {
        const token = url.searchParams.get('continue');
        const list = { apiVersion: 'v1', kind: 'ConfigMapList' };
        if (token === 'old') return json(410, { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' });
        if (token === 'fresh')
          return json(200, { ...list, metadata: { resourceVersion: '20' }, items: [item('b', '9')] });
        // the first list's first page hands out a token that will have expired; the second list's a fresh one
        const next = requests.filter((request) => !request.url.includes('watch=1')).length === 1 ? 'old' : 'fresh';
        return json(200, { ...list, metadata: { resourceVersion: '10', continue: next }, items: [item('a', '5')] });
      }
      watches++;
      if (watches === 1) return json(429, { kind: 'Status', code: 429, message: 'slow down' }, { 'retry-after': '1' });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(`${JSON.stringify({ type: 'ADDED', object: item('c', '21') })}\n`);
      response.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '30' } } })}\n`,
      );
    };
    const api = plainConfig(`http://127.0.0.1:${port}`);
    const recorder = new Recorder();
    reflector = new Reflector(
      {
        api,
        path: '/api/v1/configmaps',
        pageSize: 1,
        initialBackoffMs: 50,
        onProblem: (problem) => recorder.problems.push(problem),
      },
      recorder,
    );
    reflector.start();
    await waitFor(() => reflector!.resourceVersion === '30', { what: 'the watch events after the 429' });
    assert.deepEqual(recorder.calls, [
      { op: 'replace', names: ['a', 'b'] },
      { op: 'upsert', names: ['c'] },
    ]);
    assert.equal(reflector.listCount, 2, 'the expired token restarted the list');
    assert.equal(reflector.listRequests, 4);
    const watchTimes = requests.filter((request) => request.url.includes('watch=1')).map((request) => request.at);
    assert.equal(watchTimes.length, 2);
    assert.ok(watchTimes[1]! - watchTimes[0]! >= 950, `retried after ${watchTimes[1]! - watchTimes[0]!} ms`);
    assert.ok(requests[4]!.url.includes('resourceVersion=20'), requests[4]!.url);
    assert.ok(requests[4]!.url.includes('allowWatchBookmarks=true'));
    const tooMany = recorder.problems.find((problem) => problem.statusCode === 429);
    assert.equal(tooMany?.retryInMs, 1000);
    assert.equal(recorder.lastVersion, '21', 'a bookmark moves the version on and reaches no consumer');
  });

  it('backs off after a watch ERROR event, then relists as client-go does; survives a consumer that throws', async () => {
    await reflector?.stop();
    requests.length = 0;
    const port = (server.address() as AddressInfo).port;
    let watches = 0;
    answer = (url, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') !== '1') {
        response.end(JSON.stringify({ kind: 'ConfigMapList', metadata: { resourceVersion: '5' }, items: [] }));
        return;
      }
      watches++;
      const event = (type: string, object: unknown) => response.write(`${JSON.stringify({ type, object })}\n`);
      if (watches === 1) {
        event('ERROR', { kind: 'Status', code: 500, message: 'etcd is having a bad day' });
        return;
      }
      event('ADDED', { metadata: { name: 'poison', resourceVersion: '6' } });
      event('ADDED', { metadata: { name: 'fine', resourceVersion: '7' } });
    };
    const api = plainConfig(`http://127.0.0.1:${port}`);
    const recorder = new Recorder();
    const upsert = recorder.upsert.bind(recorder);
    recorder.upsert = (object) => {
      if (object.metadata?.name === 'poison') throw new Error('cannot digest this');
      upsert(object);
    };
    reflector = new Reflector(
      {
        api,
        path: '/api/v1/configmaps',
        initialBackoffMs: 300,
        onProblem: (problem) => recorder.problems.push(problem),
      },
      recorder,
    );
    reflector.start();
    await waitFor(() => recorder.objects.has('fine'), { what: 'the event after the one that threw' });
    const serverError = recorder.problems.find((problem) => problem.statusCode === 500);
    assert.ok(serverError && serverError.retryInMs >= 300, JSON.stringify(recorder.problems));
    const watchTimes = requests.filter((request) => request.url.includes('watch=1')).map((request) => request.at);
    assert.ok(watchTimes[1]! - watchTimes[0]! >= 290, `watched again after ${watchTimes[1]! - watchTimes[0]!} ms`);
    assert.ok(recorder.problems.some((problem) => problem.message === 'consumer: cannot digest this'));
    assert.equal(reflector.resourceVersion, '7');
    // the server's own error on that version: watching it again might fail forever, a list cannot
    assert.equal(reflector.listCount, 2);
    const order = requests.map((request) => (request.url.includes('watch=1') ? 'watch' : 'list'));
    assert.deepEqual(order.slice(0, 4), ['list', 'watch', 'list', 'watch']);
  });

  it('a watch answered with an HTTP 500 relists after the wait; a 429 watches the same version again', async () => {
    await reflector?.stop();
    requests.length = 0;
    const port = (server.address() as AddressInfo).port;
    let watches = 0;
    answer = (url, response) => {
      if (url.searchParams.get('watch') !== '1') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'ConfigMapList', metadata: { resourceVersion: '5' }, items: [] }));
        return;
      }
      watches++;
      const status = (code: number) => {
        response.writeHead(code, {
          'content-type': 'application/json',
          ...(code === 429 ? { 'retry-after': '0' } : {}),
        });
        response.end(JSON.stringify({ kind: 'Status', code, message: `answered ${code}` }));
      };
      if (watches === 1) return status(429);
      if (watches === 2) return status(500);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(
        `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'late', resourceVersion: '9' } } })}\n`,
      );
    };
    const recorder = new Recorder();
    reflector = new Reflector(
      { api: plainConfig(`http://127.0.0.1:${port}`), path: '/api/v1/configmaps', initialBackoffMs: 50 },
      recorder,
    );
    reflector.start();
    await waitFor(() => recorder.objects.has('late'), { what: 'the watch after the relist' });
    const order = requests.map((request) => (request.url.includes('watch=1') ? 'watch' : 'list'));
    assert.deepEqual(order.slice(0, 5), ['list', 'watch', 'watch', 'list', 'watch']);
    assert.equal(reflector.listCount, 2);
  });
});
