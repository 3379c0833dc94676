// API credentials against a real kube-apiserver (RBAC on): every way a user points the controller at a cluster
// must give a GET of /api/v1/namespaces that the API server authenticates and authorises.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type ApiConfig, loadApiConfig, SERVICE_ACCOUNT_DIR } from '../../../src/sources/kubernetes/config.js';
import { TestCluster } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/ports.js';

async function get(config: ApiConfig, pathname: string): Promise<{ status: number; body: string }> {
  const response = await config.request(pathname, { timeoutMs: 5000 });
  let body = '';
  response.setEncoding('utf8');
  for await (const chunk of response) body += chunk;
  return { status: response.statusCode ?? 0, body };
}

async function assertListsNamespaces(config: ApiConfig): Promise<void> {
  const { status, body } = await get(config, '/api/v1/namespaces');
  assert.equal(status, 200, body);
  const list = JSON.parse(body) as { kind: string; items: { metadata: { name: string } }[] };
  assert.equal(list.kind, 'NamespaceList');
  assert.ok(
    list.items.some((item) => item.metadata.name === 'kube-system'),
    body.slice(0, 300),
  );
}

function writeKubeconfig(file: string, cluster: object, user?: object, extra: object = {}): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster }],
    users: user ? [{ name: 'someone', user }] : [],
    contexts: [{ name: 'test', context: { cluster: 'test', ...(user ? { user: 'someone' } : {}) } }],
    'current-context': 'test',
    ...extra,
  };
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

describe('Kubernetes API configuration (real kube-apiserver)', function () {
  this.timeout(120_000);
  const cluster = new TestCluster({ users: [{ name: 'nobody' }] });
  const opened: ApiConfig[] = [];
  const load = (options: Parameters<typeof loadApiConfig>[0]) => {
    const config = loadApiConfig(options);
    opened.push(config);
    return config;
  };
  const file = (name: string) => path.join(cluster.dir, name);
  const caCluster = () => ({ server: cluster.server, 'certificate-authority': file('ca.crt') });

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    for (const config of opened) config.close();
    await cluster.stop();
  });

  it('a bearer token from --kubeconfig, and the same file from KUBECONFIG', async () => {
    const kubeconfig = cluster.kubeconfig();
    const config = load({ kubeconfig, env: {} });
    assert.equal(config.server, cluster.server);
    await assertListsNamespaces(config);
    await assertListsNamespaces(load({ env: { KUBECONFIG: `${kubeconfig}${path.delimiter}` } }));
  });

  it('a watch streams through the same request: events arrive while the response is open, until aborted', async () => {
    const config = load({ kubeconfig: cluster.kubeconfig() });
    const list = JSON.parse((await get(config, '/api/v1/namespaces')).body) as {
      metadata: { resourceVersion: string };
    };
    const abort = new AbortController();
    const response = await config.request(
      `/api/v1/namespaces?watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`,
      { signal: abort.signal },
    );
    assert.equal(response.statusCode, 200);
    response.setEncoding('utf8');
    let text = '';
    const added = new Promise<void>((resolve) => {
      response.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('"name":"watched-one"')) resolve();
      });
    });
    response.on('error', () => undefined); // the abort below
    cluster.kubectl(['create', 'namespace', 'watched-one']);
    await added;
    const event = JSON.parse(text.split('\n').find((line) => line.includes('watched-one'))!) as { type: string };
    assert.equal(event.type, 'ADDED');
    abort.abort();
  });

  it('one kept-alive connection serves request after request (no TLS handshake per list page)', async () => {
    const config = load({ kubeconfig: cluster.kubeconfig() });
    const ports: number[] = [];
    for (let round = 0; round < 3; round++) {
      const response = await config.request('/api/v1/namespaces?limit=1');
      ports.push(response.socket.localPort!);
      for await (const _ of response);
    }
    assert.equal(new Set(ports).size, 1, `local ports ${ports.join(', ')}`);
  });

  it('the credentials are what the API server judges: a token without a binding is forbidden', async () => {
    const config = load({ kubeconfig: cluster.kubeconfig(cluster.users[0]), env: {} });
    assert.equal((await get(config, '/api/v1/namespaces')).status, 403);
    const wrong = writeKubeconfig(file('kc-wrong-token'), caCluster(), { token: 'not-a-token' });
    assert.equal((await get(load({ kubeconfig: wrong }), '/api/v1/namespaces')).status, 401);
  });

  it('a client certificate signed by the cluster CA (relative paths, from the kubeconfig directory)', async () => {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: cluster.dir, stdio: 'pipe' });
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'client.key']);
    run(['req', '-new', '-key', 'client.key', '-subj', '/CN=cert-admin/O=system:masters', '-out', 'client.csr']);
    run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-days', '1', '-out', 'client.crt']);
    const kubeconfig = writeKubeconfig(
      file('kc-cert'),
      { server: cluster.server, 'certificate-authority': 'ca.crt' },
      { 'client-certificate': 'client.crt', 'client-key': 'client.key' },
    );
    await assertListsNamespaces(load({ kubeconfig }));
    // the same certificate as data, as kubeadm and cloud CLIs write it
    const data = (name: string) => fs.readFileSync(file(name)).toString('base64');
    const inline = writeKubeconfig(
      file('kc-cert-data'),
      { server: cluster.server, 'certificate-authority-data': data('ca.crt') },
      { 'client-certificate-data': data('client.crt'), 'client-key-data': data('client.key') },
    );
    await assertListsNamespaces(load({ kubeconfig: inline }));
  });

  it('an exec credential plugin printing an ExecCredential with a token', async () => {
    const plugin = file('credential-plugin.sh');
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: cluster.admin.token },
    };
    fs.writeFileSync(
      plugin,
      `#!/bin/sh\necho "$1" >> "${file('plugin-runs')}"\necho '${JSON.stringify(credential)}'\n`,
      {
        mode: 0o755,
      },
    );
    const kubeconfig = writeKubeconfig(file('kc-exec'), caCluster(), {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, args: ['ran'], interactiveMode: 'Never' },
    });
    await assertListsNamespaces(load({ kubeconfig }));
    assert.match(fs.readFileSync(file('plugin-runs'), 'utf8'), /ran/);

    const failing = file('failing-plugin.sh');
    fs.writeFileSync(failing, '#!/bin/sh\necho "token expired, run login" >&2\nexit 1\n', { mode: 0o755 });
    const broken = writeKubeconfig(file('kc-exec-failing'), caCluster(), {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: failing },
    });
    await assert.rejects(get(load({ kubeconfig: broken }), '/api/v1/namespaces'), (err: Error) => {
      assert.match(err.message, /kc-exec-failing .*credentials: token expired, run login/);
      return true;
    });
  });

  it('plain http on loopback, as the real kubectl proxy serves it', async () => {
    const proxy: ChildProcess = spawn(
      'kubectl',
      ['--kubeconfig', cluster.kubeconfig(), 'proxy', '--port=0', '--address=127.0.0.1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        proxy.stdout!.setEncoding('utf8');
        proxy.stdout!.on('data', (chunk: string) => {
          out += chunk;
          const match = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        proxy.once('exit', (code) => reject(new Error(`kubectl proxy exited with ${code}: ${out}`)));
      });
      // kubectl proxy's kubeconfig: a server and nothing else
      const kubeconfig = writeKubeconfig(file('kc-proxy'), { server: `http://127.0.0.1:${port}` });
      const config = load({ kubeconfig });
      assert.equal(config.server, `http://127.0.0.1:${port}`);
      await assertListsNamespaces(config);
    } finally {
      proxy.kill('SIGTERM');
    }
  });

  it("in-cluster: the service account's token, CA and namespace under a directory prefix", async () => {
    cluster.kubectl(['create', 'serviceaccount', 'reader', '-n', 'kube-system']);
    cluster.kubectl([
      'create',
      'clusterrolebinding',
      'reader-view',
      '--clusterrole=cluster-admin',
      '--serviceaccount=kube-system:reader',
    ]);
    const token = cluster.kubectl(['create', 'token', 'reader', '-n', 'kube-system']).trim();
    const prefix = file('pod-root');
    const dir = path.join(prefix, SERVICE_ACCOUNT_DIR);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'token'), token);
    fs.copyFileSync(file('ca.crt'), path.join(dir, 'ca.crt'));
    fs.writeFileSync(path.join(dir, 'namespace'), 'kube-system');
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(cluster.apiPort) };
    const before = process.env.KUBERNETES_SERVICE_HOST;
    const config = load({ env, serviceAccountPrefix: prefix });
    assert.equal(process.env.KUBERNETES_SERVICE_HOST, before);
    assert.equal(config.server, cluster.server);
    assert.equal(config.namespace, 'kube-system');
    assert.match(config.origin, /in-cluster/);
    await assertListsNamespaces(config);
    // KUBECONFIG wins over the pod's service account
    const viaFile = load({
      env: { ...env, KUBECONFIG: cluster.kubeconfig(cluster.users[0]) },
      serviceAccountPrefix: prefix,
    });
    assert.equal((await get(viaFile, '/api/v1/namespaces')).status, 403);
  });

  it("in-cluster: a rotated token file is read again after client-node's 60 s, as client-go does", async () => {
    const prefix = file('pod-rotating');
    const dir = path.join(prefix, SERVICE_ACCOUNT_DIR);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'token'), 'an-expired-token');
    fs.copyFileSync(file('ca.crt'), path.join(dir, 'ca.crt'));
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(cluster.apiPort) };
    const config = load({ env, serviceAccountPrefix: prefix });
    assert.equal(config.namespace, undefined);
    assert.equal((await get(config, '/api/v1/namespaces')).status, 401);
    fs.writeFileSync(path.join(dir, 'token'), cluster.admin.token);
    assert.equal((await get(config, '/api/v1/namespaces')).status, 401, 'read again before 60 s');
    // client-node's FileAuth compares new Date() with its last read: 61 s later, as it sees it
    const RealDate = Date;
    const later = class extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length) super(...(args as [string]));
        else super(RealDate.now() + 61_000);
      }
    } as DateConstructor;
    globalThis.Date = later;
    try {
      await assertListsNamespaces(config);
    } finally {
      globalThis.Date = RealDate;
    }
  });

  describe('errors name the file and the field', () => {
    it('no configuration at all, or a pod without its token', () => {
      assert.throws(
        () => loadApiConfig({ env: {}, serviceAccountPrefix: file('nowhere') }),
        /no Kubernetes API configuration.*not in a pod/,
      );
      assert.throws(
        () => loadApiConfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, serviceAccountPrefix: file('nowhere') }),
        /KUBERNETES_SERVICE_HOST is set but .*nowhere\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token does not exist/,
      );
    });

    it('a missing file', () => {
      const missing = file('no-such-kubeconfig');
      assert.throws(() => loadApiConfig({ kubeconfig: missing }), {
        message: `kubeconfig ${missing} (from --kubeconfig): cannot read: ENOENT`,
      });
      assert.throws(() => loadApiConfig({ env: { KUBECONFIG: missing } }), /\(from KUBECONFIG\): cannot read: ENOENT/);
    });

    it('a context, cluster or user that is not there; a server that is missing or not a URL', () => {
      const bad = writeKubeconfig(file('kc-bad-context'), caCluster(), { token: 't' }, { 'current-context': 'foo' });
      assert.throws(() => loadApiConfig({ kubeconfig: bad }), {
        message: `kubeconfig ${bad}: current-context 'foo' not found in contexts`,
      });
      const good = cluster.kubeconfig();
      assert.throws(() => loadApiConfig({ kubeconfig: good, context: 'other' }), {
        message: `kubeconfig ${good}: context 'other' not found in contexts`,
      });
      const noCluster = writeKubeconfig(
        file('kc-no-cluster'),
        caCluster(),
        { token: 't' },
        {
          contexts: [{ name: 'test', context: { cluster: 'elsewhere', user: 'someone' } }],
        },
      );
      assert.throws(
        () => loadApiConfig({ kubeconfig: noCluster }),
        /kc-no-cluster: context 'test': cluster 'elsewhere' not found in clusters/,
      );
      const noUser = writeKubeconfig(
        file('kc-no-user'),
        caCluster(),
        { token: 't' },
        {
          contexts: [{ name: 'test', context: { cluster: 'test', user: 'ghost' } }],
        },
      );
      assert.throws(
        () => loadApiConfig({ kubeconfig: noUser }),
        /kc-no-user: context 'test': user 'ghost' not found in users/,
      );
      const noServer = writeKubeconfig(file('kc-no-server'), { 'certificate-authority': 'ca.crt' });
      assert.throws(
        () => loadApiConfig({ kubeconfig: noServer }),
        /kc-no-server: clusters\[0\]\.cluster\.server is missing/,
      );
      const notUrl = writeKubeconfig(file('kc-not-url'), { server: 'localhost:6443' });
      assert.throws(
        () => loadApiConfig({ kubeconfig: notUrl }),
        /kc-not-url \(context test\): cluster 'test': server "localhost:6443" is neither https nor http/,
      );
      fs.writeFileSync(file('kc-not-yaml'), 'clusters: [unclosed\n');
      assert.throws(() => loadApiConfig({ kubeconfig: file('kc-not-yaml') }), /^Error: kubeconfig .*kc-not-yaml: /);
    });

    it('an unreachable server: the request fails naming the server', async () => {
      const port = await freePort();
      const kubeconfig = writeKubeconfig(
        file('kc-unreachable'),
        { server: `https://127.0.0.1:${port}`, 'certificate-authority': file('ca.crt') },
        { token: cluster.admin.token },
      );
      await assert.rejects(get(load({ kubeconfig }), '/api/v1/namespaces'), {
        message: `GET https://127.0.0.1:${port}/api/v1/namespaces: connect ECONNREFUSED 127.0.0.1:${port}`,
      });
    });
  });
});
