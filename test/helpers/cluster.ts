// A real control plane on loopback for the tests, started the way controller-runtime's envtest starts one:
// etcd and kube-apiserver (built from their official Go modules by scripts/cluster-build.sh), no kubelet,
// scheduler or nodes. Tests write Services, EndpointSlices, Secrets and Ingresses themselves, as the control
// plane would. Authentication: static bearer tokens and client certificates signed by the cluster CA;
// authorization: RBAC only, so a token without a binding can do nothing.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

export interface ClusterUser {
  name: string;
  token: string;
  groups: string[];
}

export interface ClusterOptions {
  /** users besides the admin (group system:masters), each with a static bearer token */
  users?: { name: string; groups?: string[] }[];
  /** false turns the API server's watch cache off, so an etcd compaction reaches the watches (410 Gone) */
  watchCache?: boolean;
  /** more kube-apiserver flags, appended (the benchmark's audit log: bench/kubernetes.ts) */
  apiserverArgs?: string[];
}

/** Builds (once, cached by version) and returns the directory holding etcd and kube-apiserver. */
export function clusterBinaries(): string {
  const out = execFileSync('bash', [path.join(REPO, 'scripts/cluster-build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop()!;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, the API server's serving certificate (127.0.0.1, localhost) and the service-account key pair. */
function makePki(dir: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-days', '2', '-subj', '/CN=test-cluster-ca', '-out', 'ca.crt'],
    dir,
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'apiserver.key'], dir);
  openssl(['req', '-new', '-key', 'apiserver.key', '-subj', '/CN=kube-apiserver', '-out', 'apiserver.csr'], dir);
  fs.writeFileSync(
    path.join(dir, 'apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'apiserver.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
    ].concat(['-extfile', 'apiserver.ext', '-out', 'apiserver.crt']),
    dir,
  );
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class TestCluster {
  // made on first use, not in the constructor: tests build their clusters at describe time, and a skipped
  // describe (no binaries on the machine) must not leave an empty directory in /tmp
  private madeDir: string | null = null;
  apiPort = 0;
  etcdPort = 0;
  private etcdPeerPort = 0;
  private etcd: ChildProcess | null = null;
  private apiserver: ChildProcess | null = null;
  readonly admin: ClusterUser = { name: 'test-admin', token: 'admin-token', groups: ['system:masters'] };
  readonly users: ClusterUser[];

  constructor(private readonly options: ClusterOptions = {}) {
    this.users = (options.users ?? []).map((user, index) => ({
      name: user.name,
      token: `token-${index}-${user.name.replace(/[^a-z0-9]/g, '-')}`,
      groups: user.groups ?? [],
    }));
  }

  get dir(): string {
    this.madeDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'itp-cluster-'));
    return this.madeDir;
  }

  get server(): string {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  async start(): Promise<void> {
    const binaries = clusterBinaries();
    makePki(this.dir);
    const tokens = [this.admin, ...this.users].map(
      (user) => `${user.token},${user.name},${user.name},"${user.groups.join(',')}"`,
    );
    fs.writeFileSync(path.join(this.dir, 'tokens.csv'), `${tokens.join('\n')}\n`);
    [this.etcdPort, this.etcdPeerPort, this.apiPort] = await freePorts(3);
    await this.startEtcd(binaries);
    await this.startApiserver(binaries);
  }

  private logFile(name: string): number {
    return fs.openSync(path.join(this.dir, `${name}.log`), 'a');
  }

  private async startEtcd(binaries: string): Promise<void> {
    const log = this.logFile('etcd');
    this.etcd = spawn(
      path.join(binaries, 'etcd'),
      [
        `--data-dir=${path.join(this.dir, 'etcd-data')}`,
        `--listen-client-urls=http://127.0.0.1:${this.etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${this.etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${this.etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${this.etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${this.etcdPeerPort}`,
        '--unsafe-no-fsync',
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    await this.waitFor(
      async () => (await plainGet(`http://127.0.0.1:${this.etcdPort}/health`)).includes('true'),
      'etcd',
    );
  }

  private async startApiserver(binaries: string): Promise<void> {
    const log = this.logFile('kube-apiserver');
    const file = (name: string) => path.join(this.dir, name);
    this.apiserver = spawn(
      path.join(binaries, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${this.apiPort}`,
        `--tls-cert-file=${file('apiserver.crt')}`,
        `--tls-private-key-file=${file('apiserver.key')}`,
        `--client-ca-file=${file('ca.crt')}`,
        `--token-auth-file=${file('tokens.csv')}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=https://kubernetes.default.svc`,
        `--service-account-key-file=${file('sa.pub')}`,
        `--service-account-signing-key-file=${file('sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        `--watch-cache=${this.options.watchCache ?? true}`,
        `--cert-dir=${file('cert-dir')}`,
        ...(this.options.apiserverArgs ?? []),
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    await this.waitFor(async () => (await this.get('/readyz')) === 'ok', 'kube-apiserver');
  }

  /** GET path with the admin token; the body as text. */
  get(pathname: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const request = https.get(
        {
          host: '127.0.0.1',
          port: this.apiPort,
          path: pathname,
          ca: fs.readFileSync(path.join(this.dir, 'ca.crt')),
          headers: { authorization: `Bearer ${this.admin.token}` },
          timeout: 2000,
        },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => resolve(body));
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', reject);
    });
  }

  private async waitFor(ready: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (await ready().catch(() => false)) return;
      const process = what === 'etcd' ? this.etcd : this.apiserver;
      if (process && process.exitCode !== null) {
        throw new Error(`${what} exited with ${process.exitCode}: see ${path.join(this.dir, `${what}.log`)}`);
      }
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${ms} ms: see ${this.dir}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** A kubeconfig for user (default: the admin) authenticating with its bearer token; its path. */
  kubeconfig(user: ClusterUser = this.admin, server = this.server): string {
    const file = path.join(this.dir, `kubeconfig-${user.name.replace(/[^a-z0-9-]/g, '-')}`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority': path.join(this.dir, 'ca.crt') } }],
      users: [{ name: user.name, user: { token: user.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: user.name } }],
      'current-context': 'test',
    };
    fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
    return file;
  }

  /** Runs the machine's kubectl as user (default: the admin); its stdout. */
  kubectl(args: string[], options: { user?: ClusterUser; input?: string } = {}): string {
    return execFileSync('kubectl', ['--kubeconfig', this.kubeconfig(options.user), ...args], {
      encoding: 'utf8',
      input: options.input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  /** Stops the API server (SIGTERM, as a control-plane upgrade does) and starts it again on the same port. */
  async restartApiserver(downMs = 0): Promise<void> {
    const child = this.apiserver;
    if (child) {
      child.kill('SIGTERM');
      await waitForExit(child, 10_000);
    }
    this.apiserver = null;
    if (downMs) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.startApiserver(clusterBinaries());
  }

  /** Stops the API server, then etcd (SIGTERM, then SIGKILL after 5 s), and removes the directory. */
  async stop(): Promise<void> {
    for (const child of [this.apiserver, this.etcd]) {
      if (!child) continue;
      child.kill('SIGTERM');
      await waitForExit(child, 5000);
    }
    this.apiserver = null;
    this.etcd = null;
    if (this.madeDir !== null) fs.rmSync(this.madeDir, { recursive: true, force: true });
    this.madeDir = null;
  }
}

function plainGet(url: string): Promise<string> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then((response) => response.text());
}
